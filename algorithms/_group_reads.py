"""Reads of the ``group-bt`` model: group scores, their intervals and group differences.

A mixin of :class:`algorithms.group_bt.GroupBT`, kept apart so each module fits on a few
screens. Every read uses the Laplace covariance of the fit (:class:`~algorithms._group_fit.
Covariance`); an inactive ``(group, item)`` pair (no votes of the group on the item) has the
overall score plus a deviation with its prior variance ``sigma^2``, independent of the rest.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import scipy.special
from numpy.typing import NDArray

from algorithms._gauss import z_value
from algorithms._group_cov import Covariance
from algorithms.base import FloatArray, IntArray

__all__ = ["GroupDifference", "GroupReads"]


class GroupDifference(NamedTuple):
    """Per-item difference of two groups' scores (log-odds scale) and its uncertainty."""

    diff: FloatArray
    """Posterior mean of ``t_g - t_h``."""
    low: FloatArray
    high: FloatArray
    prob_positive: FloatArray
    """``P(t_g > t_h | votes)``; ``1 - prob_positive`` is the chance of the other sign."""
    credible: NDArray[np.bool_]
    """The interval at ``level`` excludes 0."""


class GroupReads:
    """Group scores, intervals, differences and joint draws; needs the state of ``GroupBT``."""

    # provided by GroupBT
    _n: int
    _s: FloatArray
    _t: FloatArray
    _sigma: float

    def _ensure_fit(self) -> None:
        raise NotImplementedError

    def _covariance(self) -> Covariance:
        raise NotImplementedError

    def _slots(self, g: int) -> tuple[IntArray, FloatArray]:
        """Node of each item's group score (the overall node when inactive) and the extra
        variance of an inactive deviation (``sigma^2``)."""
        n = self._n
        items = np.arange(n)
        if g == -1:
            return items, np.zeros(n)
        cov = self._covariance()
        node = cov.gp.lay.node[g] if g < cov.gp.lay.n_groups else np.full(n, -1)
        inactive = node < 0
        return np.where(inactive, items, node), np.where(inactive, self._sigma**2, 0.0)

    def _check_group(self, g: Any, name: str = "group") -> int:
        if isinstance(g, bool) or not isinstance(g, int | np.integer) or g < -1:
            raise ValueError(f"{name} must be an integer >= -1 (-1: overall), got {g!r}")
        return int(g)

    def group_scores(self, group: int) -> FloatArray:
        """Scores of one group (``-1``: the overall scores). A group without votes on an
        item, or a group never seen, has the overall score there."""
        g = self._check_group(group)
        self._ensure_fit()
        row = self._t[g] if 0 <= g < self._t.shape[0] else self._s
        return np.array(row, dtype=np.float64)

    def intervals(self, level: float = 0.95) -> tuple[FloatArray, FloatArray]:
        """Per-item Laplace interval ``s ± z sd`` of the overall scores at ``level``."""
        return self.group_intervals(-1, level)

    def group_intervals(self, group: int, level: float = 0.95) -> tuple[FloatArray, FloatArray]:
        """Per-item Laplace interval of one group's scores at ``level``."""
        g = self._check_group(group)
        z = z_value(level)
        mean = self.group_scores(g)
        a, noise = self._slots(g)
        half = z * np.sqrt(self._covariance().entries(a, a) + noise)
        return mean - half, mean + half

    def group_sd(self, group: int) -> FloatArray:
        """Posterior standard deviation of one group's scores (``-1``: the overall scores)."""
        g = self._check_group(group)
        self._ensure_fit()
        a, noise = self._slots(g)
        return np.asarray(np.sqrt(self._covariance().entries(a, a) + noise), dtype=np.float64)

    def sample_group_scores(
        self, group: int, size: int, seed: int | np.random.Generator | None = None
    ) -> FloatArray:
        """Joint draws of one group's scores (``-1``: the overall scores), shape ``(size,
        items)``: correlated when the covariance is exact, else independent per item; an
        inactive deviation is drawn from its prior ``N(0, sigma^2)``."""
        g = self._check_group(group)
        self._ensure_fit()
        if g == -1 or self._sigma == 0.0:  # the group scores are the overall scores
            return self.sample_scores(size, seed)
        rng = np.random.default_rng(seed)
        n = self._n
        a, noise = self._slots(g)
        cov = self._covariance()
        if cov.chol is not None:
            z = rng.standard_normal((size, cov.chol.shape[0]))
            dev = cov.draws(z)[:, a]
        else:
            dev = rng.standard_normal((size, n)) * np.sqrt(cov.entries(a, a))
        dev += rng.standard_normal((size, n)) * np.sqrt(noise)
        return np.asarray(self.group_scores(g) + dev, dtype=np.float64)

    def group_difference(self, group: int, other: int = -1, level: float = 0.95) -> GroupDifference:
        """Per-item ``t_group - t_other`` with its interval at ``level`` and the posterior
        probability that it is positive (``other=-1``: the deviation from the overall score).

        ``credible`` marks the items whose interval excludes 0: the differences worth
        showing. Intervals of differences use the joint posterior (the shared votes and the
        common overall score make group scores correlated).
        """
        g, h = self._check_group(group), self._check_group(other, "other")
        z = z_value(level)
        diff = self.group_scores(g) - self.group_scores(h)
        if g == h:
            zero = np.zeros(self._n)
            return GroupDifference(zero, zero, zero.copy(), np.full(self._n, 0.5), zero > 0)
        (a, na), (b, nb) = self._slots(g), self._slots(h)
        cov = self._covariance()
        var = cov.entries(a, a) + cov.entries(b, b) - 2.0 * cov.entries(a, b) + na + nb
        sd = np.sqrt(np.maximum(var, 0.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            zz = np.where(sd > 0.0, diff / sd, np.sign(diff) * np.inf)
        low, high = diff - z * sd, diff + z * sd
        credible = (low > 0.0) | (high < 0.0)
        return GroupDifference(diff, low, high, np.asarray(scipy.special.ndtr(zz)), credible)

    def sample_scores(self, size: int, seed: int | np.random.Generator | None = None) -> FloatArray:
        """Joint draws of the overall scores (correlated when the covariance is exact)."""
        self._ensure_fit()
        rng = np.random.default_rng(seed)
        n = self._n
        cov = self._covariance()
        if cov.chol is not None:  # all parameters jointly, keep the overall scores
            z = rng.standard_normal((size, cov.chol.shape[0]))
            return np.asarray(self._s + cov.draws(z)[:, :n], dtype=np.float64)
        z = rng.standard_normal((size, n))
        var = cov.entries(np.arange(n), np.arange(n))
        return np.asarray(self._s + z * np.sqrt(var), dtype=np.float64)
