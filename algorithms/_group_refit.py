"""The batch fit of ``group-bt`` (:mod:`algorithms.group_bt`): the MAP problem at a spread
``sigma``, warm starts, and the empirical Bayes search for ``sigma``.

A mixin of :class:`algorithms.group_bt.GroupBT`, kept apart so each module fits on a few
screens; the numerics are :mod:`algorithms._group_fit`'s.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.optimize

from algorithms._bt_fit import Problem, aggregate
from algorithms._group_cov import Covariance
from algorithms._group_fit import (
    Fit,
    GroupProblem,
    fit_map,
    layout,
    log_evidence,
    vote_nodes,
)
from algorithms.base import FloatArray, IntArray

if TYPE_CHECKING:
    from algorithms.bt import BTModel

__all__ = ["REESTIMATE_GROWTH", "SPREAD_GRID", "GroupFields", "GroupRefit"]

#: Between-group standard deviations tried when ``group_spread`` is learnt (then refined by a
#: parabola through the best grid point and its neighbours, in ``log sigma``).
SPREAD_GRID: tuple[float, ...] = tuple(float(v) for v in np.geomspace(0.02, 4.0, 9))

#: A lazy refit searches for ``sigma`` again once the votes have grown by this share since
#: the last search (as ``bt`` re-estimates its prior strength); in between it keeps ``sigma``.
REESTIMATE_GROWTH = 0.1
#: Precision of the search for ``sigma`` (in ``log sigma``: about 3%).
_LOG_SIGMA_TOL = 0.03


class GroupFields:
    """The fitted state of ``GroupBT`` that its mixins read and write (declarations only)."""

    ties: str
    exact_max: int
    group_spread: float | None
    _bt: BTModel
    _n: int
    _m: int
    _n_groups: int
    _n_ties: int
    _n_fit: int
    _m_est: int
    _lam: float
    _side: bool
    _s: FloatArray
    _t: FloatArray
    _h: float
    _tau: float
    _sigma: float
    _mean: FloatArray
    _var: FloatArray
    _cache: dict[str, Any]


class GroupRefit(GroupFields):
    """``_refit`` and what it needs; needs the state of ``GroupBT``.

    (The problem at a spread, the warm start, the search for ``sigma``, the fit's
    parameters.)
    """

    def _votes(self) -> tuple[IntArray, IntArray, FloatArray, IntArray]:
        raise NotImplementedError

    def _covariance(self) -> Covariance:
        raise NotImplementedError

    def _problem(self, sigma: float, like: GroupProblem | None = None) -> GroupProblem:
        """The MAP problem at ``sigma`` (group nodes exist only when ``sigma > 0``); the
        votes' part is taken from ``like`` when given (it depends only on ``sigma > 0``)."""
        if like is None:
            left, right, out, group = self._votes()
            lay = layout(left, right, group, self._n, self._n_groups, sigma > 0.0)
            el, er = vote_nodes(lay, left, right, group)
            edges = aggregate(el, er, out, lay.n_nodes, ordered=self._side)
            davidson = self.ties == "davidson" and self._n_ties > 0
            like = GroupProblem(
                Problem(edges, lay.n_nodes, 0.0, self._side, davidson),
                lay,
                self._lam,
                sigma,
                int(self.exact_max),
            )
        return GroupProblem(like.lik, like.lay, self._lam, sigma, int(self.exact_max), like.shared)

    def _x(self, gp: GroupProblem, s: FloatArray, t: FloatArray, tau: float) -> FloatArray:
        lay = gp.lay
        parts = [s, t[lay.t_group, lay.t_item]]
        if gp.lik.side:
            parts.append(np.array([self._h]))
        if gp.lik.davidson:
            parts.append(np.array([tau]))
        return np.concatenate(parts)

    def _start(self, gp: GroupProblem) -> FloatArray:
        """Warm start: the last grouped fit where there is one, else the pooled fit."""
        t = np.tile(self._s, (self._n_groups, 1))
        rows = min(self._t.shape[0], self._n_groups)
        t[:rows] = self._t[:rows]
        tau = self._tau
        if gp.lik.davidson and not math.isfinite(tau):  # the first ties: bt's tie parameter
            tau = math.log(self._bt.tie_param)
        return self._x(gp, self._s, t, tau)

    def _refit(self) -> None:
        bt = self._bt
        bt.refit()
        self._lam = bt.fitted_prior_strength
        self._side = bt.fitted_side_advantage
        m, group = self._m, self._votes()[3]
        learn = self.group_spread is None and np.unique(group).shape[0] >= 2
        if learn:
            due = self._sigma == 0.0 or m >= self._m_est * (1.0 + REESTIMATE_GROWTH)
            sigma = -1.0 if due else self._sigma  # -1: search
        elif self.group_spread is not None and np.any(group >= 0):
            sigma = float(self.group_spread)
        else:
            sigma = 0.0
        if sigma == 0.0 or self._sigma == 0.0:  # start from the pooled fit
            nu = bt.tie_param
            self._s = bt.scores()
            self._h = bt.side_effect
            self._tau = math.log(nu) if nu > 0.0 else -math.inf
            self._t = np.tile(self._s, (self._n_groups, 1))
        if sigma == 0.0:  # no group deviations: the pooled fit is the fit
            gp = self._problem(0.0)
            x = self._x(gp, self._s, self._t, self._tau)
        elif sigma < 0.0:
            sigma, fit, gp = self._search()
            x = fit.x
            self._m_est = m
        else:
            gp = self._problem(sigma)
            x = fit_map(gp, self._start(gp), evidence=False).x
        self._set_x(gp, x, sigma)
        self._n_fit = m
        self._cache = {"gp": gp}
        # re-sync the Gaussian view to the MAP and the Laplace variances
        self._mean[:] = self._s
        n = self._n
        self._var[:] = self._covariance().entries(np.arange(n), np.arange(n))

    def _search(self) -> tuple[float, Fit, GroupProblem]:
        """Maximise ``log evidence + log sigma`` over :data:`SPREAD_GRID` (each point
        warm-started from the previous), then by bounded Brent search in ``log sigma``
        between the best grid point's neighbours."""
        base = self._problem(SPREAD_GRID[0])
        tried: list[tuple[float, float, Fit, GroupProblem]] = []  # (criterion, sigma, ...)
        x = self._start(base)

        def criterion(sig: float) -> float:
            nonlocal x
            gp = self._problem(sig, base)
            fit = fit_map(gp, x)
            x = fit.x
            crit = log_evidence(gp, fit) + math.log(sig)
            tried.append((crit, sig, fit, gp))
            return crit

        grid = [criterion(sig) for sig in SPREAD_GRID]
        k = int(np.argmax(grid))
        if 0 < k < len(SPREAD_GRID) - 1:
            x = tried[k][2].x
            scipy.optimize.minimize_scalar(
                lambda u: -criterion(math.exp(u)),
                bounds=(math.log(SPREAD_GRID[k - 1]), math.log(SPREAD_GRID[k + 1])),
                method="bounded",
                options={"xatol": _LOG_SIGMA_TOL},
            )
        _, sigma, fit, gp = max(tried, key=lambda row: row[0])
        return sigma, fit, gp

    def _set_x(self, gp: GroupProblem, x: FloatArray, sigma: float) -> None:
        lay, n = gp.lay, self._n
        self._s = x[:n].copy()
        self._t = np.tile(self._s, (self._n_groups, 1))
        self._t[lay.t_group, lay.t_item] = x[n : lay.n_nodes]
        self._h = float(x[lay.n_nodes]) if gp.lik.side else 0.0
        self._tau = float(x[-1]) if gp.lik.davidson else -math.inf
        self._sigma = float(sigma)
