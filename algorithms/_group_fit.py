"""Numerical core of the ``group-bt`` model: layout, MAP fit, Laplace evidence, covariances.

The stacked parameter vector is ``x = [s_0 .. s_{n-1}, t_0 .. t_{K-1}, (h), (tau)]``: the
overall item scores ``s``, then one *group score* ``t_k = s_i + d_{g,i}`` per **active**
``(group g, item i)`` pair (one with at least one vote of group ``g`` on item ``i``), then
the optional side advantage and Davidson log tie parameter. In this parametrisation every
vote is an ordinary Bradley-Terry edge (between two nodes of its group, or between two
overall scores for a vote without a group), so the likelihood, its gradient and Hessian
pieces are those of :mod:`algorithms._bt_fit` on an extended item set; only the Gaussian
prior differs:

    E(x) = (lam / 2) |s|^2 + (lam_g / 2) sum_k (t_k - s_{item(k)})^2,   lam_g = 1 / sigma^2,

a weighted "star" Laplacian linking each group score to its overall score, plus ``lam`` on
the overall scores. Inactive pairs are not parameters: their deviation keeps its prior
``N(0, sigma^2)``, independent of everything else (it cancels from the evidence).

Up to ``DENSE_MAX`` parameters the Newton systems are solved by dense Cholesky, above by
Newton-CG with a per-item "arrow" block preconditioner (each overall score with its group
scores) plus a coarse correction on the block-constant vectors. Up to ``exact_max``
parameters the log-determinant (evidence) and the covariance (intervals) are exact (one
Cholesky at the MAP); above, they come from the arrow blocks alone (the vote graph's
off-diagonal terms are dropped).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from algorithms._bt_fit import (
    DENSE_MAX,
    Problem,
    _dot,
    _Eval,
    _HessOp,
    _norm,
    dense_hessian,
    objective,
    scatter,
)
from algorithms._group_kernels import cholesky, cholesky_solve
from algorithms.base import FloatArray, IntArray

__all__ = ["GroupProblem", "Layout", "fit_map", "layout", "log_evidence"]


@dataclass(frozen=True)
class Layout:
    """Which group scores are parameters (the nodes after the ``n`` overall scores)."""

    n_items: int
    n_groups: int
    t_item: IntArray  # item of each group node
    t_group: IntArray  # group of each group node
    node: IntArray  # (n_groups, n_items): node index of (g, i), or -1 when inactive

    @property
    def n_nodes(self) -> int:
        return self.n_items + int(self.t_item.shape[0])


def layout(
    left: IntArray, right: IntArray, group: IntArray, n_items: int, n_groups: int, grouped: bool
) -> Layout:
    """The active ``(group, item)`` pairs of the votes (none when not ``grouped``)."""
    node = np.full((n_groups, n_items), -1, dtype=np.int64)
    empty = np.zeros(0, dtype=np.int64)
    if not grouped or n_groups == 0:
        return Layout(n_items, n_groups, empty, empty, node)
    has = group >= 0
    keys = np.concatenate([group[has] * n_items + left[has], group[has] * n_items + right[has]])
    uniq = np.unique(keys)
    t_group, t_item = uniq // n_items, uniq % n_items
    node[t_group, t_item] = n_items + np.arange(uniq.shape[0])
    return Layout(n_items, n_groups, t_item, t_group, node)


def vote_nodes(
    lay: Layout, left: IntArray, right: IntArray, group: IntArray
) -> tuple[IntArray, IntArray]:
    """The two nodes each vote compares: its group's scores, else the overall scores."""
    if lay.t_item.shape[0] == 0:
        return left, right
    g = np.maximum(group, 0)
    has = group >= 0
    return (
        np.where(has, lay.node[g, left], left).astype(np.int64),
        np.where(has, lay.node[g, right], right).astype(np.int64),
    )


@dataclass(frozen=True)
class GroupProblem:
    """A MAP problem: the likelihood (``lik``, prior-free) and the hierarchical prior."""

    lik: Problem  # over all nodes, with lam = 0
    lay: Layout
    lam: float
    sigma: float  # between-group sd; 0 means no group nodes
    exact_max: int
    #: what depends only on the votes, shared by the problems of one search (same ``lik``)
    shared: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    counts: IntArray = field(init=False)  # group nodes per item

    def __post_init__(self) -> None:
        cnt = np.bincount(self.lay.t_item, minlength=self.lay.n_items).astype(np.int64)
        object.__setattr__(self, "counts", cnt)

    @property
    def lam_g(self) -> float:
        return 1.0 / (self.sigma * self.sigma) if self.sigma > 0.0 else math.inf

    @property
    def dense(self) -> bool:
        return self.lik.size <= self.exact_max

    def prior_value(self, x: FloatArray) -> float:
        n, k = self.lay.n_items, self.lay.t_item
        s = x[:n]
        val = 0.5 * self.lam * _dot(s, s)
        if k.shape[0]:
            dev = x[n : self.lay.n_nodes] - s[k]
            val += 0.5 * self.lam_g * _dot(dev, dev)
        return val

    def prior_apply(self, v: FloatArray) -> FloatArray:
        """``P v`` (also the prior gradient at ``x = v``), zero on ``h`` and ``tau``."""
        n, nn, k = self.lay.n_items, self.lay.n_nodes, self.lay.t_item
        out = np.zeros_like(v)
        out[:n] = self.lam * v[:n]
        if k.shape[0]:
            dev = self.lam_g * (v[n:nn] - v[:n][k])
            out[n:nn] = dev
            out[:n] -= scatter(k, dev, n)
        return out

    def prior_dense(self) -> FloatArray:
        size, n, nn = self.lik.size, self.lay.n_items, self.lay.n_nodes
        mat = np.zeros((size, size))
        idx = np.arange(n)
        mat[idx, idx] = self.lam
        if nn > n:
            lg, t = self.lam_g, np.arange(n, nn)
            mat[idx, idx] += lg * self.counts
            mat[t, t] = lg
            mat[t, self.lay.t_item] = mat[self.lay.t_item, t] = -lg
        return mat

    def prior_logdet(self) -> float:
        """``log det`` of the prior precision of the nodes (``h``, ``tau`` left out)."""
        n, kk = self.lay.n_items, self.lay.t_item.shape[0]
        return n * math.log(self.lam) + (kk * math.log(self.lam_g) if kk else 0.0)

    def value(self, x: FloatArray) -> float:
        return objective(self.lik, x).value + self.prior_value(x)

    def hessian(self, x: FloatArray) -> FloatArray:
        return dense_hessian(self.lik, objective(self.lik, x, need_value=False)) + (
            self.prior_dense()
        )


class _Arrow:
    """The per-item blocks of the Hessian: each overall score with its group scores.

    With ``a_i = H[s_i, s_i]``, ``c_k = H[t_k, t_k]`` and ``H[s_i, t_k] = -lam_g`` the block
    is an arrow matrix; its Schur complement ``S_i = a_i - sum_k lam_g^2 / c_k`` gives the
    determinant ``S_i prod_k c_k`` and the inverse ``u_a u_b / S_i + [a = b = t_k] / c_k``
    with ``u = 1`` on ``s_i`` and ``u_k = lam_g / c_k``.
    """

    def __init__(self, gp: GroupProblem, diag_lik: FloatArray) -> None:
        n, nn, k = gp.lay.n_items, gp.lay.n_nodes, gp.lay.t_item
        lg = gp.lam_g if nn > n else 0.0
        self.n, self.nn, self.k = n, nn, k
        self.c = diag_lik[n:nn] + lg
        self.u = lg / self.c if nn > n else self.c
        a = diag_lik[:n] + gp.lam + lg * gp.counts
        self.schur = a - scatter(k, lg * self.u, n)
        self.extra = diag_lik[nn:]

    def logdet(self) -> float:
        return float(np.sum(np.log(self.schur)) + np.sum(np.log(self.c)))

    def var(self) -> FloatArray:
        """Diagonal of the blocks' inverse, per node."""
        return np.concatenate([1.0 / self.schur, 1.0 / self.c + self.u**2 / self.schur[self.k]])

    def solve(self, r: FloatArray) -> FloatArray:
        n, nn, k = self.n, self.nn, self.k
        z = np.empty_like(r)
        rt = r[n:nn]
        zs = (r[:n] + scatter(k, self.u * rt, n)) / self.schur
        z[:n] = zs
        z[n:nn] = rt / self.c + self.u * zs[k]
        z[nn:] = r[nn:] / self.extra
        return z


def _pcg(gp: GroupProblem, op: _HessOp, arrow: _Arrow, b: FloatArray, rtol: float) -> FloatArray:
    """Solve ``H z = b`` by CG, preconditioned by the arrow blocks plus a coarse correction
    on the block-constant vectors (the overall scores, each group's scores)."""

    def hv(v: FloatArray) -> FloatArray:
        return op(v) + gp.prior_apply(v)

    lay = gp.lay
    label = np.concatenate([np.zeros(lay.n_items, dtype=np.int64), 1 + lay.t_group])
    nb = 1 + lay.n_groups
    basis = np.zeros((gp.lik.size, nb))
    basis[np.arange(lay.n_nodes), label] = 1.0
    basis = basis[:, np.flatnonzero(basis.sum(axis=0))]
    # (G+1) x (G+1): tiny, so numpy's BLAS-backed products cost nothing here
    coarse = np.linalg.inv(basis.T @ np.column_stack([hv(c) for c in basis.T]))
    cols = [np.flatnonzero(c) for c in basis.T]

    def precond(r: FloatArray) -> FloatArray:
        z = arrow.solve(r)
        proj = np.array([np.add.reduce(r[c]) for c in cols])
        for c, v in zip(cols, coarse @ proj, strict=True):
            z[c] += v
        return z

    z = np.zeros_like(b)
    r = b.copy()
    p = precond(r)
    d = p.copy()
    rz = _dot(r, p)
    stop = rtol * _norm(b)
    for _ in range(1000):
        if _norm(r) <= stop:
            break
        hd = hv(d)
        alpha = rz / _dot(d, hd)
        z += alpha * d
        r -= alpha * hd
        p = precond(r)
        rz_new = _dot(r, p)
        d = p + (rz_new / rz) * d
        rz = rz_new
    return z


@dataclass
class Fit:
    """A MAP point with what the evidence needs: the penalised objective and ``log det H``."""

    x: FloatArray
    value: float
    logdet: float


def _second_order(gp: GroupProblem, ev: _Eval, arrow: _Arrow) -> tuple[float, FloatArray]:
    """Second-order corrections for the vote couplings between items that the arrow blocks
    leave out. With ``H = B - W`` (``B`` the blocks, ``W_ab = w_ab`` the summed curvature of
    the votes between nodes ``a`` and ``b``) and ``V`` the diagonal of ``B^-1``:
    ``log det H ~ log det B - sum_{a<b} w_ab^2 V_a V_b`` and
    ``(H^-1)_aa ~ V_a + V_a^2 sum_b w_ab^2 V_b`` (the Neumann series, as ``bt``'s large path).
    Returns the log-determinant term and the variance term per node."""
    pairs = gp.shared.get("pairs")
    if pairs is None:
        e, nn = gp.lik.edges, gp.lay.n_nodes
        lo, hi = np.minimum(e.left, e.right), np.maximum(e.left, e.right)
        key, inv = np.unique(lo * nn + hi, return_inverse=True)
        pairs = gp.shared["pairs"] = (inv.ravel(), key // nn, key % nn)
    inv, a, b = pairs
    nn = gp.lay.n_nodes
    w = scatter(inv, ev.w, a.shape[0])
    v = arrow.var()
    w2 = w * w
    extra = v * v * (scatter(a, w2 * v[b], nn) + scatter(b, w2 * v[a], nn))
    return -float(np.sum(w2 * v[a] * v[b])), extra


def _logdet(gp: GroupProblem, ev: _Eval) -> float:
    """``log det H`` from ``ev``: exact up to ``exact_max`` parameters, else the arrow blocks
    with the second-order term of the couplings between items."""
    if gp.dense:
        return cholesky(dense_hessian(gp.lik, ev) + gp.prior_dense())[1]
    arrow = _Arrow(gp, _HessOp(gp.lik, ev).diag)
    return arrow.logdet() + _second_order(gp, ev, arrow)[0]


def fit_map(
    gp: GroupProblem,
    x0: FloatArray,
    evidence: bool = True,
    step_tol: float = 1e-4,
    max_iter: int = 100,
) -> Fit:
    """Damped Newton on the penalised objective: Cholesky up to ``DENSE_MAX`` parameters,
    above Newton-CG.

    Stops after a full step whose largest component is at most ``step_tol`` (the remaining
    error is then of order ``step_tol**2``); otherwise Armijo backtracking. With
    ``evidence``, ``log det H`` is taken at the point before that last tiny step (else NaN).
    """
    x = np.array(x0, dtype=np.float64, copy=True)
    ev = objective(gp.lik, x)
    f0 = ev.value + gp.prior_value(x)
    for _ in range(max_iter):
        grad = ev.grad + gp.prior_apply(x)
        logdet = math.nan
        if gp.lik.size <= DENSE_MAX:
            chol, full_logdet = cholesky(dense_hessian(gp.lik, ev) + gp.prior_dense())
            step = cholesky_solve(chol, -grad)
            if gp.dense:  # the exact log-determinant comes for free
                logdet = full_logdet
        else:
            op = _HessOp(gp.lik, ev)
            rtol = max(min(0.03, _norm(grad)), 1e-12)
            step = _pcg(gp, op, _Arrow(gp, op.diag), -grad, rtol)
        if float(np.max(np.abs(step), initial=0.0)) <= step_tol:
            x += step
            if evidence and math.isnan(logdet):
                logdet = _logdet(gp, ev)
            return Fit(x, gp.value(x), logdet)
        dec = -_dot(grad, step)
        t = 1.0
        while True:  # Armijo backtracking; the evaluation at the accepted point is reused
            xn = x + t * step
            evn = objective(gp.lik, xn)
            fn = evn.value + gp.prior_value(xn)
            if fn <= f0 - 1e-4 * t * dec or t < 1e-12:
                break
            t *= 0.5
        x, ev, f0 = xn, evn, fn
    return Fit(x, f0, _logdet(gp, ev) if evidence else math.nan)


def log_evidence(gp: GroupProblem, fit: Fit) -> float:
    """Laplace approximation of ``log p(votes | lam, sigma)`` up to a constant.

    ``-F(x*) - log det(H) / 2 + log det(P) / 2``: ``F`` the penalised objective at the MAP,
    ``H`` its Hessian, ``P`` the prior precision of the nodes.
    """
    return -fit.value - 0.5 * fit.logdet + 0.5 * gp.prior_logdet()
