"""Numerical core of ``time-bt``: time buckets, the MAP problem, and the block-tridiagonal
factorisation of its Hessian behind the Laplace evidence and the posterior covariance.

Parameters: the scores ``S[b, i]`` of item ``i`` in time bucket ``b`` (flattened bucket-major,
node ``b * n + i``), then the optional left-side advantage ``h`` and Davidson ``tau``. The votes
of bucket ``b`` compare nodes of bucket ``b``; the negative log-likelihood, its gradient and the
per-vote curvatures come from :func:`algorithms._bt_objective.objective` (no prior on the nodes).
The prior is a Gaussian random walk per item: ``S[a_i, i] ~ N(0, 1 / lam)`` at the item's first
bucket ``a_i`` and ``S[b, i] - S[b - 1, i] ~ N(0, sigma^2 (t_b - t_{b-1}))``. Its precision
couples bucket ``b`` only with ``b - 1`` and ``b + 1``, through a multiple of the identity, so
the Hessian of the nodes is block-tridiagonal with ``n x n`` blocks (the comparison graph of one
bucket on the diagonal, ``-kappa_b I`` beside it). It is factorised block by block (the
information form of the Kalman filter, :mod:`algorithms._time_bt_kernels`): ``T`` dense
``n x n`` factorisations, never a matrix of size ``n T``. The MAP itself is found by Newton-CG
(:mod:`algorithms._time_bt_large`), which needs no factorisation; the choice of the
hyperparameters is in :mod:`algorithms._time_bt_search`; ``docs/models.md`` has the maths and
the measurements.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from algorithms._bt_fit import initial_scores
from algorithms._bt_objective import Problem, _dot, _Eval, aggregate, objective, scatter
from algorithms._time_bt_kernels import block_factor, block_solve
from algorithms.base import FloatArray, IntArray

__all__ = [
    "EXACT_ITEMS",
    "LAM_EXTRA",
    "Buckets",
    "Factor",
    "Hyper",
    "Setup",
    "evaluate",
    "expand",
    "factor",
    "log_evidence",
    "make_buckets",
    "make_setup",
    "prior_terms",
    "start_point",
]

#: ``"auto"`` buckets: about this many votes per bucket per item (at least ``MIN_BUCKET_VOTES``
#: per bucket), at most ``MAX_BUCKETS`` buckets and ``FLOP_BUDGET / n^3`` buckets.
VOTES_PER_ITEM_BUCKET = 0.5
MIN_BUCKET_VOTES = 10
MAX_BUCKETS = 100
FLOP_BUDGET = 1e8
#: Up to this many items the exact path (evidence and covariance from dense ``n x n`` blocks);
#: above, held-out votes choose the hyperparameters and the variances are approximate.
EXACT_ITEMS = 200
#: Prior precision of ``h`` and ``tau`` (as in ``bt``).
LAM_EXTRA = 1e-2


@dataclass(frozen=True)
class Buckets:
    """Time buckets: the bucket of each vote and the representative time of each bucket."""

    index: IntArray
    times: FloatArray

    @property
    def count(self) -> int:
        return int(self.times.shape[0])


def make_buckets(
    time: FloatArray, n_items: int, width: float | None, exact: bool = True
) -> Buckets:
    """Group the votes into time buckets; votes without a time (NaN) join the last one.

    ``width=None`` (``"auto"``): equal-count buckets whose boundaries fall between distinct
    times, about ``max(MIN_BUCKET_VOTES, n_items / 2)`` votes each, at most ``MAX_BUCKETS``
    and, on the exact path (``exact``), at most ``FLOP_BUDGET / n_items^3`` of them. A number:
    buckets ``floor((t - t_min) / width)``, empty ones dropped (merging them is exact under a
    random walk). A bucket's time is the mean time of its votes.
    """
    m = time.shape[0]
    timed = np.isfinite(time)
    if not timed.any():
        return Buckets(np.zeros(m, dtype=np.int64), np.zeros(1))
    tt = time[timed]
    uniq, inverse, counts = np.unique(tt, return_inverse=True, return_counts=True)
    if width is None:
        target = max(float(MIN_BUCKET_VOTES), VOTES_PER_ITEM_BUCKET * n_items)
        cap = int(FLOP_BUDGET / max(n_items, 1) ** 3) if exact else MAX_BUCKETS
        k = int(min(MAX_BUCKETS, max(cap, 1), max(tt.shape[0] // target, 1), uniq.shape[0]))
        mid = np.cumsum(counts) - 0.5 * counts  # rank of each distinct time's middle vote
        label = np.minimum((mid * k / tt.shape[0]).astype(np.int64), k - 1)
    else:
        label = np.floor((uniq - uniq[0]) / width).astype(np.int64)
    _, label = np.unique(label, return_inverse=True)  # drop empty buckets
    bucket_of_timed = label[inverse].astype(np.int64)
    count = int(bucket_of_timed.max()) + 1
    times = scatter(bucket_of_timed, tt, count) / np.bincount(bucket_of_timed, minlength=count)
    index = np.full(m, count - 1, dtype=np.int64)
    index[timed] = bucket_of_timed
    return Buckets(index, times)


@dataclass
class Setup:
    """One MAP problem shape: ``T`` buckets of ``n`` items, with or without ``h``."""

    n: int
    gaps: FloatArray  # (T - 1,) time between consecutive buckets
    anchor: IntArray  # (n,) first bucket with a vote of each item (T - 1 if none)
    p: Problem
    key: IntArray  # per edge: b n^2 + i n + j, to build the dense blocks
    n_ties: int
    m: int

    @property
    def T(self) -> int:
        return int(self.gaps.shape[0]) + 1

    @property
    def extras(self) -> int:
        return int(self.p.side) + int(self.p.davidson)


def make_setup(
    left: IntArray,
    right: IntArray,
    out: FloatArray,
    n: int,
    buckets: Buckets,
    side: bool,
    davidson: bool,
) -> Setup:
    T = buckets.count
    b = buckets.index
    edges = aggregate(b * n + left, b * n + right, out, n * T, ordered=side)
    p = Problem(edges, n * T, 0.0, side, davidson, lam_extra=LAM_EXTRA)
    eb, el, er = edges.left // n, edges.left % n, edges.right % n
    anchor = np.full(n, T - 1, dtype=np.int64)
    np.minimum.at(anchor, el, eb)
    np.minimum.at(anchor, er, eb)
    key = (eb * n + el) * n + er
    return Setup(n, np.diff(buckets.times), anchor, p, key, int(np.sum(out == 0.5)), left.size)


@dataclass(frozen=True)
class Hyper:
    """Prior strength ``lam`` and drift ``D = sigma^2 * span`` (0: static scores)."""

    lam: float
    drift: float

    def kappa(self, gaps: FloatArray) -> FloatArray:
        """Random-walk precision of each gap, ``1 / (sigma^2 (t_b - t_{b-1}))``."""
        span = float(gaps.sum())
        return np.asarray(span / (self.drift * gaps), dtype=np.float64)


@dataclass
class Factor:
    """Block factorisation of the Hessian at one point."""

    sinv: FloatArray  # (T, n, n) inverses of the Schur complements
    kappa: FloatArray
    logdet: float  # of the whole (bordered) Hessian
    border_v: FloatArray | None  # (T, n, k) = A^-1 B
    border_m: FloatArray | None  # (k, k) Schur complement of the border

    def solve_a(self, r: FloatArray) -> FloatArray:
        """``A^-1 r`` for ``r`` of shape ``(T, n, k)`` (A: the block-tridiagonal part)."""
        return block_solve(self.sinv, self.kappa, r)


def prior_terms(
    s: FloatArray, st: Setup, hy: Hyper, kap: FloatArray
) -> tuple[float, FloatArray, FloatArray]:
    """Random-walk prior: value, gradient ``(T, n)`` and Hessian diagonal ``(T, n)``."""
    n = st.n
    items = np.arange(n)
    sa = s[st.anchor, items]
    val = 0.5 * hy.lam * _dot(sa, sa)
    grad = np.zeros_like(s)
    diag = np.zeros_like(s)
    grad[st.anchor, items] = hy.lam * sa
    diag[st.anchor, items] = hy.lam
    if kap.size:
        diff = s[1:] - s[:-1]
        val += 0.5 * _dot(kap, np.einsum("bi,bi->b", diff, diff))
        kd = kap[:, None] * diff
        grad[1:] += kd
        grad[:-1] -= kd
        diag[1:] += kap[:, None]
        diag[:-1] += kap[:, None]
    return val, grad, diag


def evaluate(
    st: Setup, hy: Hyper, kap: FloatArray, x: FloatArray, need_value: bool = True
) -> tuple[float, FloatArray, _Eval]:
    n, T = st.n, st.T
    ev = objective(st.p, x, need_value=need_value)
    s = x[: n * T].reshape(T, n)
    pv, pg, _ = prior_terms(s, st, hy, kap)
    grad = ev.grad.copy()
    grad[: n * T] += pg.ravel()
    return ev.value + pv, grad, ev


def factor(st: Setup, hy: Hyper, kap: FloatArray, x: FloatArray, ev: _Eval) -> Factor:
    """Factorise the Hessian at ``x`` (``ev``: the objective's evaluation there)."""
    n, T, p = st.n, st.T, st.p
    w = ev.w
    s = x[: n * T].reshape(T, n)
    _, _, pdiag = prior_terms(s, st, hy, kap)
    adj = scatter(st.key, w, T * n * n).reshape(T, n, n)
    blocks = -(adj + adj.transpose(0, 2, 1))
    diag_idx = np.arange(n)
    blocks[:, diag_idx, diag_idx] = -blocks.sum(axis=2) + pdiag
    sinv, logdet = block_factor(blocks, kap)
    fac = Factor(sinv, kap, logdet, None, None)
    k = st.extras
    if k:
        e = p.edges
        cols = []
        corner = np.zeros((k, k))
        if p.side:
            cols.append(scatter(e.left, w, n * T) - scatter(e.right, w, n * T))
            corner[0, 0] = float(w.sum()) + p.lam_extra
        if p.davidson:
            kk = ev.k
            assert kk is not None
            cols.append(scatter(e.left, kk, n * T) - scatter(e.right, kk, n * T))
            corner[-1, -1] = ev.htt + p.lam_extra
            if p.side:
                corner[0, 1] = corner[1, 0] = float(kk.sum())
        bmat = np.stack(cols, axis=1).reshape(T, n, k)
        v = fac.solve_a(bmat)
        mm = corner - np.einsum("bik,bil->kl", bmat, v)
        fac.border_v, fac.border_m = v, mm
        fac.logdet += float(np.linalg.slogdet(mm)[1])
    return fac


def log_evidence(st: Setup, hy: Hyper, f: float, fac: Factor) -> float:
    """Laplace approximation of ``log p(votes | lam, D)``: ``-F + log|P| / 2 - log|H| / 2``."""
    n = st.n
    logp = n * math.log(hy.lam) + st.extras * math.log(LAM_EXTRA)
    if st.T > 1:
        logp += n * float(np.sum(np.log(fac.kappa)))
    return -f + 0.5 * logp - 0.5 * fac.logdet


def start_point(st: Setup, lam: float) -> FloatArray:
    """Cold start: smoothed log win ratios per node (as ``bt``), ``h = 0``, ``tau`` from
    the tie rate."""
    pl = Problem(st.p.edges, st.p.n_items, lam, st.p.side, st.p.davidson)
    parts = [initial_scores(pl)]
    if st.p.side:
        parts.append(np.zeros(1))
    if st.p.davidson:
        rate = min(max(st.n_ties / max(st.m, 1), 1e-6), 0.99)
        parts.append(np.array([math.log(2.0 * rate / (1.0 - rate))]))
    return np.concatenate(parts)


def expand(x: FloatArray, n: int, t_from: int, t_to: int) -> FloatArray:
    """Carry a solution to another bucket count: the latest scores broadcast to every bucket."""
    if t_from == t_to:
        return x.copy()
    last = x[(t_from - 1) * n : t_from * n]
    return np.concatenate([np.tile(last, t_to), x[t_from * n :]])
