"""Uncertainty of the ``bt`` model: Laplace and bootstrap intervals, joint posterior draws.

A mixin of :class:`algorithms.bt.BTModel`, kept apart so each module fits on a few screens;
the maths is in ``docs/models.md`` and the numerics in :mod:`algorithms._bt_fit`
and :mod:`algorithms._bt_objective`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg
import scipy.special

from algorithms._bt_fit import dense_hessian, laplace_var, newton
from algorithms._bt_objective import Problem
from algorithms._bt_objective import objective as _objective
from algorithms.base import FloatArray

__all__ = ["BTUncertainty"]

_INTERVAL_METHODS = ("laplace", "bootstrap")


class BTUncertainty:
    """Reads of the posterior uncertainty; needs the fitted state of ``BTModel``."""

    # provided by BTModel
    _s: FloatArray
    _n: int
    _m: int
    _lam: float
    _cache: dict[str, Any]
    exact_max: int
    n_boot: int

    def _ensure(self) -> None:
        raise NotImplementedError

    def _ensure_fit(self) -> None:
        raise NotImplementedError

    def _problem(self, weight: FloatArray | None = None) -> Problem:
        raise NotImplementedError

    def _full_x(self, p: Problem) -> FloatArray:
        raise NotImplementedError

    def _laplace_var(self, p: Problem | None = None) -> FloatArray:
        if "var" not in self._cache:
            p = p or self._problem()
            self._cache["var"] = laplace_var(p, self._full_x(p), self.exact_max)
        return np.asarray(self._cache["var"])

    def intervals(
        self, level: float = 0.95, method: str = "laplace", seed: int | None = 0
    ) -> tuple[FloatArray, FloatArray]:
        """Per-item ``(low, high)`` interval of the score at ``level``.

        ``method="laplace"`` (default): MAP ± z sd with the Laplace variances.
        ``method="bootstrap"``: percentile interval of ``n_boot`` seeded refits on votes
        resampled with replacement, each warm-started from the MAP.
        """
        if not (isinstance(level, float | int) and 0.0 < level < 1.0):
            raise ValueError(f"level must be in (0, 1), got {level!r}")
        if method not in _INTERVAL_METHODS:
            raise ValueError(f"method must be one of {_INTERVAL_METHODS}, got {method!r}")
        self._ensure_fit()
        if method == "bootstrap":
            draws = self.bootstrap_scores(self.n_boot, seed)
            q = (1.0 - level) / 2.0
            lo, hi = np.quantile(draws, [q, 1.0 - q], axis=0)
            return np.asarray(lo), np.asarray(hi)
        z = float(scipy.special.ndtri(0.5 + level / 2.0))
        sd = np.sqrt(self._laplace_var())
        return self._s - z * sd, self._s + z * sd

    def score_sd(self) -> FloatArray:
        """Laplace posterior standard deviation of each score."""
        self._ensure_fit()
        return np.sqrt(self._laplace_var())

    @property
    def level_var(self) -> float:
        """Posterior variance of the common level (the mean score), ``1 / (n lam)``.

        ``H 1 = lam 1`` exactly (the vote terms of the Hessian are a Laplacian, and the
        border for ``h``/``tau`` sums to zero), so ``var(s_i - mean(s)) = var(s_i) -
        level_var``: what comparisons between items see.
        """
        self._ensure()
        return 1.0 / (max(self._n, 1) * self._lam)

    def bootstrap_scores(
        self, n_boot: int, seed: int | np.random.Generator | None = 0
    ) -> FloatArray:
        """``(n_boot, n_items)`` MAP scores refitted on votes resampled with replacement."""
        self._ensure_fit()
        rng = np.random.default_rng(seed)
        m = self._m
        p0 = self._problem()
        x0 = self._full_x(p0)
        out = np.empty((n_boot, self._n))
        for b in range(n_boot):
            weight = (
                np.bincount(rng.integers(0, m, m), minlength=m).astype(np.float64) if m else None
            )
            p = self._problem(weight)
            x, _, _ = newton(p, x0)
            out[b] = x[: self._n]
        return out

    def sample_scores(self, size: int, seed: int | np.random.Generator | None = None) -> FloatArray:
        """Joint draws from the Laplace posterior ``N(MAP, H^-1)``.

        Exact Cholesky sampling when ``n_items <= exact_max``; above, independent draws
        with the approximate Laplace variances (correlations ignored).
        """
        self._ensure_fit()
        rng = np.random.default_rng(seed)
        n = self._n
        if n > self.exact_max:
            var = self._laplace_var()
            return np.asarray(self._s + rng.standard_normal((size, n)) * np.sqrt(var))
        if "chol" not in self._cache:
            p = self._problem()
            hess = dense_hessian(p, _objective(p, self._full_x(p)))
            self._cache["chol"] = scipy.linalg.cholesky(hess, lower=True)
        chol = self._cache["chol"]
        z = rng.standard_normal((chol.shape[0], size))
        x = scipy.linalg.solve_triangular(chol, z, lower=True, trans="T")
        return np.asarray(self._s + x[:n].T, dtype=np.float64)

    def log_likelihood(self) -> float:
        """Penalised log-likelihood (log posterior up to a constant) at the current fit."""
        self._ensure_fit()
        p = self._problem()
        return -_objective(p, self._full_x(p)).value
