"""The Laplace posterior covariance of a ``group-bt`` fit (:mod:`algorithms._group_fit`'s
MAP): exact up to ``exact_max`` parameters, the arrow-block approximation above. Kept apart
from the fit so each module fits on a few screens; the reads are :mod:`algorithms._group_reads`.
"""

from __future__ import annotations

import numpy as np

from algorithms._bt_fit import _HessOp, objective, scatter
from algorithms._group_fit import GroupProblem, _Arrow, _second_order
from algorithms._group_kernels import back_solve_rows, cholesky, inverse_factor_t
from algorithms.base import FloatArray, IntArray

__all__ = ["Covariance"]


class Covariance:
    """Laplace posterior covariance ``H^-1`` of the nodes at a MAP point.

    Exact (Cholesky and the inverse factor) up to ``exact_max`` parameters; above, the
    arrow-block inverse (entries only between nodes of the same item; others read as 0)
    plus, in place of the blocks' share of them, the two slow modes the votes do not
    determine: the common level of all scores (variance ``1 / (n lam)``) and each group's
    own level (``sigma^2 / n_g`` between the ``n_g`` scores of group ``g``).
    """

    def __init__(self, gp: GroupProblem, x: FloatArray, var: FloatArray | None = None) -> None:
        self.gp = gp
        self.chol: FloatArray | None = None
        self.var = var  # given: the problem has no group nodes and these are the variances
        if var is not None:
            return
        if gp.dense:
            self.chol = cholesky(gp.hessian(x))[0]
            self.xt = inverse_factor_t(self.chol)  # H^-1 [a, b] = xt[a] . xt[b]
        else:
            ev = objective(gp.lik, x, need_value=False)
            ar = self.arrow = _Arrow(gp, _HessOp(gp.lik, ev).diag)
            self.second = _second_order(gp, ev, ar)[1]
            n, lay = gp.lay.n_items, gp.lay
            self.level = 1.0 / (n * gp.lam) - float(np.mean(1.0 / ar.schur)) / n
            # each group's own level: the votes leave it to the prior (variance sigma^2 / n_g)
            size = np.bincount(lay.t_group, minlength=lay.n_groups).astype(np.float64)
            share = scatter(lay.t_group, 1.0 / ar.c, lay.n_groups) / np.maximum(size, 1.0)
            own = (gp.sigma**2 - share) / np.maximum(size, 1.0)
            self.group_level = np.maximum(own, 0.0)

    def item_of(self, a: IntArray) -> IntArray:
        n = self.gp.lay.n_items
        return np.where(a < n, a, self.gp.lay.t_item[np.maximum(a - n, 0)])

    def entries(self, a: IntArray, b: IntArray) -> FloatArray:
        """``Cov(x_a, x_b)`` for node index arrays ``a``, ``b`` (of the same items)."""
        if self.chol is not None:
            return np.asarray(np.add.reduce(self.xt[a] * self.xt[b], axis=1), dtype=np.float64)
        if self.var is not None:  # only overall scores, one per item: a = b
            return np.asarray(self.var[a], dtype=np.float64)
        ar, lay = self.arrow, self.gp.lay
        n = lay.n_items
        inv_schur = 1.0 / ar.schur[self.item_of(a)]
        second = np.where(a == b, self.second[a], 0.0)
        if lay.t_item.size == 0:
            return np.asarray(inv_schur + second + self.level, dtype=np.float64)
        ka, kb = np.maximum(a - n, 0), np.maximum(b - n, 0)
        ua = np.where(a < n, 1.0, ar.u[ka])
        ub = np.where(b < n, 1.0, ar.u[kb])
        own = np.where((a == b) & (a >= n), 1.0 / ar.c[ka], 0.0)
        ga = np.where(a >= n, lay.t_group[ka], -1)
        gb = np.where(b >= n, lay.t_group[kb], -2)
        level = np.where(ga == gb, self.group_level[np.maximum(ga, 0)], 0.0)
        return np.asarray(ua * ub * inv_schur + own + second + level + self.level, dtype=np.float64)

    def draws(self, z: FloatArray) -> FloatArray:
        """Rows of ``z`` (standard normal, one column per parameter) turned into draws of
        ``N(0, H^-1)`` (exact path only)."""
        assert self.chol is not None
        return back_solve_rows(self.chol, z)
