"""Reads of :class:`algorithms.time_bt.TimeBT` at a time and from the posterior.

A mixin of ``TimeBT``, kept apart so each module fits on a few screens: scores interpolated
between buckets, Laplace intervals and joint draws of the latest scores, and predictions with
the drift's variance integrated out (probit approximation). See ``docs/models.md``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import scipy.special
from numpy.typing import ArrayLike

from algorithms._gauss import z_value
from algorithms._time_bt_params import vote_times
from algorithms._time_bt_search import FitResult
from algorithms.base import FloatArray, VoteContext

__all__ = ["TimeBTReads"]


class TimeBTReads:
    """``scores_at``, ``intervals``, ``sample_scores`` and ``predict``; needs ``TimeBT``."""

    # provided by TimeBT
    _n: int
    _fit: FitResult
    _last_var: FloatArray

    if TYPE_CHECKING:

        def _ensure_fit(self) -> None: ...
        def _latest_cov(self) -> FloatArray | None: ...

    def scores_at(self, t: float) -> FloatArray:
        """Scores at time ``t``: interpolated linearly between bucket times (the posterior
        mean of a random walk between two buckets), constant before the first and after the
        last bucket."""
        self._ensure_fit()
        f = self._fit
        if f.times.shape[0] == 1 or not math.isfinite(t):
            return np.array(f.s[-1], dtype=np.float64)
        k = int(np.clip(np.searchsorted(f.times, t) - 1, 0, f.times.shape[0] - 2))
        a = float(np.clip((t - f.times[k]) / (f.times[k + 1] - f.times[k]), 0.0, 1.0))
        return np.asarray((1.0 - a) * f.s[k] + a * f.s[k + 1], dtype=np.float64)

    def intervals(self, level: float = 0.95) -> tuple[FloatArray, FloatArray]:
        """Laplace interval of the latest scores at ``level``."""
        z = z_value(level)
        self._ensure_fit()
        half = z * np.sqrt(self._last_var)
        s = self._fit.s[-1]
        return s - half, s + half

    def sample_scores(self, size: int, seed: int | np.random.Generator | None = None) -> FloatArray:
        """Joint draws of the latest scores from the Laplace posterior (with correlations)."""
        self._ensure_fit()
        rng = np.random.default_rng(seed)
        cov = self._latest_cov()
        z = rng.standard_normal((size, self._n))
        if cov is None:  # no votes, or many items: independent draws
            return np.asarray(self._fit.s[-1] + z * np.sqrt(self._last_var), dtype=np.float64)
        chol = np.linalg.cholesky(cov)
        return np.asarray(self._fit.s[-1] + z @ chol.T, dtype=np.float64)

    def predict(
        self,
        left: ArrayLike,
        right: ArrayLike,
        voter: ArrayLike | None = None,
        context: VoteContext | None = None,
    ) -> FloatArray:
        """``P(left wins | decisive)`` with the scores at each vote's time and ``h``.

        Between buckets the scores are interpolated; a vote outside the fitted span (e.g.
        later than the training votes) uses the nearest bucket's scores, with the drift's
        variance ``2 sigma^2 |t - t_end|`` of the difference integrated out (probit
        approximation); inside, the Brownian bridge's variance likewise.
        """
        self._ensure_fit()
        li = np.atleast_1d(np.asarray(left, dtype=np.int64))
        ri = np.atleast_1d(np.asarray(right, dtype=np.int64))
        tt = vote_times(context, li.shape[0])
        f = self._fit
        times, s = f.times, f.s
        if times.shape[0] == 1:
            d = s[0, li] - s[0, ri] + f.h
            grow = np.zeros_like(d)
        else:
            tq = np.where(np.isnan(tt), times[-1], tt)
            k = np.clip(np.searchsorted(times, tq) - 1, 0, times.shape[0] - 2)
            t0, t1 = times[k], times[k + 1]
            a = np.clip((tq - t0) / (t1 - t0), 0.0, 1.0)
            d = (1.0 - a) * (s[k, li] - s[k, ri]) + a * (s[k + 1, li] - s[k + 1, ri]) + f.h
            inside = (tq - t0) * (t1 - tq) / (t1 - t0)
            outside = np.maximum(times[0] - tq, 0.0) + np.maximum(tq - times[-1], 0.0)
            grow = np.maximum(inside, 0.0) + outside
        var = 2.0 * f.sigma**2 * grow
        return np.asarray(scipy.special.expit(d / np.sqrt(1.0 + np.pi * var / 8.0)))
