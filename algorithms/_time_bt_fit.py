"""Numerical core of ``time-bt``: time buckets, the block-tridiagonal Newton solver, the
Laplace evidence and the empirical-Bayes choice of the prior strength and the drift.

Parameters: the scores ``S[b, i]`` of item ``i`` in time bucket ``b`` (flattened bucket-major,
node ``b * n + i``), then the optional left-side advantage ``h`` and Davidson ``tau``. The votes
of bucket ``b`` compare nodes of bucket ``b``; the negative log-likelihood, its gradient and the
per-vote curvatures come from :func:`algorithms._bt_fit.objective` (with no prior on the nodes).
The prior is a Gaussian random walk per item: ``S[a_i, i] ~ N(0, 1 / lam)`` at the item's first
bucket ``a_i`` and ``S[b, i] - S[b - 1, i] ~ N(0, sigma^2 (t_b - t_{b-1}))``. Its precision
couples bucket ``b`` only with ``b - 1`` and ``b + 1``, through a multiple of the identity, so
the Hessian of the nodes is block-tridiagonal with ``n x n`` blocks (the comparison graph of one
bucket on the diagonal, ``-kappa_b I`` beside it). It is factorised block by block (the
information form of the Kalman filter): ``T`` dense ``n x n`` Cholesky factorisations, never a
matrix of size ``n T``. See ``docs/models.md`` for the maths and the measurements behind it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from algorithms._bt_fit import Problem, _Eval, aggregate, initial_scores, objective, scatter
from algorithms._time_bt_kernels import block_factor, block_solve
from algorithms.base import FloatArray, IntArray

BoolArray = NDArray[np.bool_]

__all__ = [
    "DEFAULT_PRIOR_STRENGTH",
    "EXACT_ITEMS",
    "Buckets",
    "FitResult",
    "Hyper",
    "fit_time_bt",
    "latest_posterior",
    "make_buckets",
]

#: Centre of the weak hyperprior on ``log lam`` (and the strength of an empty model): the
#: fixed default of ``bt`` (chosen by cross-validation, ``docs/models.md``).
DEFAULT_PRIOR_STRENGTH = 0.5
#: Standard deviation of the hyperprior ``log lam ~ N(log 0.5, 1.5^2)``: a floor for tiny
#: surveys, negligible once there are a few hundred votes.
LOG_LAM_SD = 1.5
LAM_BOUNDS = (1e-2, 1e2)
#: Search range of ``D = sigma^2 * span``, the drift variance accumulated over the whole span.
DRIFT_BOUNDS = (1e-3, 30.0)
#: The drift is kept only when it raises the log evidence by more than this (nats) over static
#: scores: a Bayes factor of ``e``. The best of a grid of drifts beats ``D = 0`` by chance half
#: the time when there is no drift (by ``chi2_1 / 2``); this margin makes it about 8%.
DRIFT_MARGIN = 1.0
#: ``"auto"`` buckets: about this many votes per bucket per item (at least ``MIN_BUCKET_VOTES``
#: per bucket), at most ``MAX_BUCKETS`` buckets and ``FLOP_BUDGET / n^3`` buckets.
VOTES_PER_ITEM_BUCKET = 0.5
MIN_BUCKET_VOTES = 10
MAX_BUCKETS = 100
FLOP_BUDGET = 4e8
#: Above ``EXACT_ITEMS`` the search holds out about one vote in ``HOLDOUT``.
HOLDOUT = 5
#: Up to this many items the exact path (dense ``n x n`` blocks); above it Newton-CG.
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
class _Setup:
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


def _setup(
    left: IntArray,
    right: IntArray,
    out: FloatArray,
    n: int,
    buckets: Buckets,
    side: bool,
    davidson: bool,
) -> _Setup:
    T = buckets.count
    b = buckets.index
    edges = aggregate(b * n + left, b * n + right, out, n * T, ordered=side)
    p = Problem(edges, n * T, 0.0, side, davidson, lam_extra=LAM_EXTRA)
    eb, el, er = edges.left // n, edges.left % n, edges.right % n
    anchor = np.full(n, T - 1, dtype=np.int64)
    np.minimum.at(anchor, el, eb)
    np.minimum.at(anchor, er, eb)
    key = (eb * n + el) * n + er
    return _Setup(n, np.diff(buckets.times), anchor, p, key, int(np.sum(out == 0.5)), left.size)


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
class _Factor:
    """Block factorisation of the Hessian at one point."""

    sinv: FloatArray  # (T, n, n) inverses of the Schur complements
    kappa: FloatArray
    logdet: float  # of the whole (bordered) Hessian
    border_v: FloatArray | None  # (T, n, k) = A^-1 B
    border_m: FloatArray | None  # (k, k) Schur complement of the border

    def solve_a(self, r: FloatArray) -> FloatArray:
        """``A^-1 r`` for ``r`` of shape ``(T, n, k)`` (A: the block-tridiagonal part)."""
        return block_solve(self.sinv, self.kappa, r)


def _prior(
    s: FloatArray, st: _Setup, hy: Hyper, kap: FloatArray
) -> tuple[float, FloatArray, FloatArray]:
    """Random-walk prior: value, gradient ``(T, n)`` and Hessian diagonal ``(T, n)``."""
    n = st.n
    items = np.arange(n)
    sa = s[st.anchor, items]
    val = 0.5 * hy.lam * float(sa @ sa)
    grad = np.zeros_like(s)
    diag = np.zeros_like(s)
    grad[st.anchor, items] = hy.lam * sa
    diag[st.anchor, items] = hy.lam
    if kap.size:
        diff = s[1:] - s[:-1]
        val += 0.5 * float(kap @ np.einsum("bi,bi->b", diff, diff))
        kd = kap[:, None] * diff
        grad[1:] += kd
        grad[:-1] -= kd
        diag[1:] += kap[:, None]
        diag[:-1] += kap[:, None]
    return val, grad, diag


def _evaluate(
    st: _Setup, hy: Hyper, kap: FloatArray, x: FloatArray, need_value: bool = True
) -> tuple[float, FloatArray, _Eval]:
    n, T = st.n, st.T
    ev = objective(st.p, x, need_value=need_value)
    s = x[: n * T].reshape(T, n)
    pv, pg, _ = _prior(s, st, hy, kap)
    grad = ev.grad.copy()
    grad[: n * T] += pg.ravel()
    return ev.value + pv, grad, ev


def _factor(st: _Setup, hy: Hyper, kap: FloatArray, x: FloatArray, ev: _Eval) -> _Factor:
    """Factorise the Hessian at ``x`` (``ev``: the objective's evaluation there)."""
    n, T, p = st.n, st.T, st.p
    w = ev.w
    s = x[: n * T].reshape(T, n)
    _, _, pdiag = _prior(s, st, hy, kap)
    adj = scatter(st.key, w, T * n * n).reshape(T, n, n)
    blocks = -(adj + adj.transpose(0, 2, 1))
    diag_idx = np.arange(n)
    blocks[:, diag_idx, diag_idx] = -blocks.sum(axis=2) + pdiag
    sinv, logdet = block_factor(blocks, kap)
    fac = _Factor(sinv, kap, logdet, None, None)
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


def _step(st: _Setup, fac: _Factor, grad: FloatArray) -> FloatArray:
    """The Newton step ``-H^-1 grad`` from a factorisation."""
    n, T = st.n, st.T
    gs = grad[: n * T].reshape(T, n, 1)
    u = fac.solve_a(gs)[:, :, 0]
    if fac.border_v is None or fac.border_m is None:
        return -u.ravel()
    v = fac.border_v
    ge = grad[n * T :]
    de = np.linalg.solve(fac.border_m, -ge + np.einsum("bik,bi->k", v, u))
    ds = -u - np.einsum("bik,k->bi", v, de)
    return np.concatenate([ds.ravel(), de])


def _newton(
    st: _Setup, hy: Hyper, x0: FloatArray, step_tol: float = 1e-6, max_iter: int = 60
) -> tuple[FloatArray, float, _Factor]:
    """Damped Newton with Armijo backtracking; returns the MAP, ``F`` there and the last
    factorisation (at the MAP, or one step of at most ``step_tol`` before it)."""
    kap = hy.kappa(st.gaps) if st.T > 1 else np.zeros(0)
    x = x0.copy()
    f, g, ev = _evaluate(st, hy, kap, x)
    fac = _factor(st, hy, kap, x, ev)
    for _ in range(max_iter):
        step = _step(st, fac, g)
        if float(np.max(np.abs(step), initial=0.0)) <= step_tol:
            x = x + step
            f, g, ev = _evaluate(st, hy, kap, x)
            return x, f, fac
        dec = -float(g @ step)
        t = 1.0
        while True:
            xn = x + t * step
            fn, gn, evn = _evaluate(st, hy, kap, xn)
            if fn <= f - 1e-4 * t * dec or t < 1e-10:
                break
            t *= 0.5
        x, f, g, ev = xn, fn, gn, evn
        fac = _factor(st, hy, kap, x, ev)
    return x, f, fac


def _log_evidence(st: _Setup, hy: Hyper, f: float, fac: _Factor) -> float:
    """Laplace approximation of ``log p(votes | lam, D)``: ``-F + log|P| / 2 - log|H| / 2``."""
    n = st.n
    logp = n * math.log(hy.lam) + st.extras * math.log(LAM_EXTRA)
    if st.T > 1:
        logp += n * float(np.sum(np.log(fac.kappa)))
    return -f + 0.5 * logp - 0.5 * fac.logdet


def _log_hyperprior(lam: float) -> float:
    z = (math.log(lam) - math.log(DEFAULT_PRIOR_STRENGTH)) / LOG_LAM_SD
    return -0.5 * z * z


def _start(st: _Setup, lam: float) -> FloatArray:
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


def _expand(x: FloatArray, n: int, t_from: int, t_to: int) -> FloatArray:
    """Carry a solution to another bucket count: the latest scores broadcast to every bucket."""
    if t_from == t_to:
        return x.copy()
    last = x[(t_from - 1) * n : t_from * n]
    return np.concatenate([np.tile(last, t_to), x[t_from * n :]])


def _maximise(
    f: Callable[[float], float], start: float, step: float, lo: float, hi: float
) -> tuple[float, float]:
    """Maximise a (roughly unimodal) function of one variable on ``[lo, hi]``.

    Walks uphill from ``start`` in steps of ``step`` until the value falls, then places one
    more point at the vertex of the parabola through the best point and its two neighbours.
    Deterministic; returns ``(argmax, max)`` over the points evaluated.
    """
    seen: dict[float, float] = {}

    def val(u: float) -> float:
        u = min(max(u, lo), hi)
        if u not in seen:
            seen[u] = f(u)
        return seen[u]

    start = min(max(start, lo), hi)
    best = start
    val(start)
    for direction in (1.0, -1.0):
        u = start
        while True:
            nxt = min(max(u + direction * step, lo), hi)
            if nxt == u or val(nxt) <= val(u):
                break
            u = nxt
        if u != start:
            best = u
            break
    a, c = best - step, best + step
    if lo <= a and c <= hi:
        fa, fb, fc = val(a), val(best), val(c)
        den = fa - 2.0 * fb + fc
        if den < 0.0:
            vertex = best + 0.5 * step * (fa - fc) / den
            val(vertex)
    u_best = max(seen, key=lambda k: seen[k])
    return u_best, seen[u_best]


@dataclass(frozen=True)
class FitResult:
    """What one ``time-bt`` refit learns."""

    lam: float
    sigma: float  # drift sd per unit of time (0: static)
    side: bool
    h: float
    tau: float  # -inf without Davidson ties
    times: FloatArray  # (T,)
    s: FloatArray  # (T, n)
    score: float  # the search criterion there: log evidence, or held-out log-likelihood


def _solve_at(st: _Setup, hy: Hyper, x0: FloatArray) -> tuple[FloatArray, float, _Factor, float]:
    x, f, fac = _newton(st, hy, x0)
    return x, f, fac, _log_evidence(st, hy, f, fac)


@dataclass(frozen=True)
class _Criterion:
    """How the search scores a hyperparameter point (higher is better).

    ``make(buckets, side)`` builds a problem, ``start(problem, lam)`` its cold start, and
    ``solve(problem, hyper, x0)`` returns the MAP and the score. ``hyperprior``: add the
    weak hyperprior of ``lam`` to the score while searching ``lam``.
    """

    make: Callable[[Buckets, bool], Any]
    start: Callable[[Any, float], FloatArray]
    solve: Callable[[Any, Hyper, FloatArray], tuple[FloatArray, float]]
    hyperprior: bool


def _evidence_criterion(
    left: IntArray, right: IntArray, out: FloatArray, n: int, davidson: bool
) -> _Criterion:
    def solve(st: _Setup, hy: Hyper, x0: FloatArray) -> tuple[FloatArray, float]:
        x, _, _, le = _solve_at(st, hy, x0)
        return x, le

    return _Criterion(
        make=lambda b, side: _setup(left, right, out, n, b, side, davidson),
        start=_start,
        solve=solve,
        hyperprior=True,
    )


def _search(
    crit: _Criterion,
    buckets: Buckets,
    n: int,
    m: int,
    *,
    lam: float | None,
    sigma: float | None,
    side: bool | None,
) -> tuple[Any, Hyper, FloatArray, float]:
    """Choose the ``None`` hyperparameters: ``lam`` on the static model first (with and without
    ``h`` when ``side=None``: the side with the higher score is kept), then the drift ``D =
    sigma^2 * span`` by a walk over a log grid, kept only if it beats ``D = 0`` by
    :data:`DRIFT_MARGIN`, then ``lam`` again at that drift. Each point is warm-started from
    the previous MAP. Returns the problem, the hyperparameters, the MAP and its score."""
    T = buckets.count
    lam0 = DEFAULT_PRIOR_STRENGTH if lam is None else lam
    one = Buckets(np.zeros(m, dtype=np.int64), buckets.times[-1:])
    span = float(buckets.times[-1] - buckets.times[0])
    fixed_d = None if sigma is None else sigma * sigma * span

    def search_lam(
        prob: Any, x0: FloatArray, drift: float, start: float, step: float
    ) -> tuple[float, FloatArray, float]:
        if lam is not None:
            x, val = crit.solve(prob, Hyper(lam, drift), x0)
            return lam, x, val
        xs = [x0]

        def value(u: float) -> float:
            xs[0], val = crit.solve(prob, Hyper(math.exp(u), drift), xs[0])
            return val + (_log_hyperprior(math.exp(u)) if crit.hyperprior else 0.0)

        u, _ = _maximise(value, math.log(start), step, *map(math.log, LAM_BOUNDS))
        x, val = crit.solve(prob, Hyper(math.exp(u), drift), xs[0])
        return math.exp(u), x, val

    # 1. the static model: lam and the side advantage
    best: tuple[float, Any, float, FloatArray, bool] | None = None
    for with_side in [True, False] if side is None else [side]:
        prob = crit.make(one, with_side)
        lam_s, x, val = search_lam(prob, crit.start(prob, lam0), 0.0, lam0, 0.7)
        if best is None or val > best[0]:
            best = (val, prob, lam_s, x, with_side)
    assert best is not None
    val, prob, lam_s, x, with_side = best
    if T == 1 or fixed_d == 0.0:
        return prob, Hyper(lam_s, 0.0), x, val
    # 2. the drift, then lam again at that drift
    dyn = crit.make(buckets, with_side)
    xd = [_expand(x, n, 1, T)]
    if fixed_d is None:

        def value(u: float) -> float:
            xd[0], val_d = crit.solve(dyn, Hyper(lam_s, math.exp(u)), xd[0])
            return val_d

        u, val_d = _maximise(value, math.log(0.1), 1.15, *map(math.log, DRIFT_BOUNDS))
        if val_d <= val + DRIFT_MARGIN:
            return prob, Hyper(lam_s, 0.0), x, val
        drift = math.exp(u)
    else:
        drift = fixed_d
    lam_d, x, val = search_lam(dyn, xd[0], drift, lam_s, 0.35)
    return dyn, Hyper(lam_d, drift), x, val


def _result(x: FloatArray, st: _Setup, hy: Hyper, buckets: Buckets, score: float) -> FitResult:
    n, T = st.n, buckets.count
    span = float(buckets.times[-1] - buckets.times[0])
    k = n * st.T
    s = x[:k].reshape(st.T, n)
    if st.T != T:
        s = np.broadcast_to(s[-1], (T, n)).copy()
    return FitResult(
        lam=hy.lam,
        sigma=math.sqrt(hy.drift / span) if hy.drift > 0.0 and span > 0.0 else 0.0,
        side=st.p.side,
        h=float(x[k]) if st.p.side else 0.0,
        tau=float(x[-1]) if st.p.davidson else -math.inf,
        times=buckets.times,
        s=s,
        score=score,
    )


def _holdout(left: IntArray, right: IntArray, bucket: IntArray) -> BoolArray:
    """Every ``HOLDOUT``-th vote or so, by a hash of the vote itself (not its position, so
    that the order of a batch changes nothing)."""
    with np.errstate(over="ignore"):
        key = left.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        key ^= right.astype(np.uint64) * np.uint64(0xC2B2AE3D27D4EB4F)
        key ^= bucket.astype(np.uint64) * np.uint64(0x165667B19E3779F9)
        key ^= key >> np.uint64(29)
        key *= np.uint64(0xBF58476D1CE4E5B9)
        key ^= key >> np.uint64(32)
    return np.asarray(key % np.uint64(HOLDOUT) == 0)


def _heldout_criterion(
    left: IntArray, right: IntArray, out: FloatArray, n: int, davidson: bool, test: BoolArray
) -> _Criterion:
    """Many items: the MAP of the training votes by Newton-CG, scored by the log-likelihood of
    the held-out votes (no log-determinant needed)."""
    from algorithms._time_bt_large import newton_cg

    tr = ~test

    def make(b: Buckets, side: bool) -> tuple[_Setup, Problem]:
        st = _setup(left[tr], right[tr], out[tr], n, Buckets(b.index[tr], b.times), side, davidson)
        bt = b.index[test]
        T = b.count
        edges = aggregate(bt * n + left[test], bt * n + right[test], out[test], n * T, ordered=side)
        return st, Problem(edges, n * T, 0.0, side, davidson, lam_extra=0.0)

    def solve(prob: tuple[_Setup, Problem], hy: Hyper, x0: FloatArray) -> tuple[FloatArray, float]:
        x, _ = newton_cg(prob[0], hy, x0)
        return x, -objective(prob[1], x).value

    return _Criterion(
        make=make, start=lambda prob, lam: _start(prob[0], lam), solve=solve, hyperprior=False
    )


def fit_time_bt(
    left: IntArray,
    right: IntArray,
    out: FloatArray,
    time: FloatArray,
    n: int,
    *,
    lam: float | None,
    sigma: float | None,
    width: float | None,
    side: bool | None,
    davidson: bool,
) -> FitResult:
    """MAP of the time-aware model; ``None`` hyperparameters are chosen from the data
    (:func:`_search`). A pure function of the votes.

    Up to :data:`EXACT_ITEMS` items: the exact path (block factorisations), and the search
    maximises the Laplace evidence times a weak hyperprior on ``lam``. Above: Newton-CG
    (:mod:`algorithms._time_bt_large`), and the search maximises the log-likelihood of about
    one vote in :data:`HOLDOUT` held out of the fit; then the MAP of all votes.
    """
    exact = n <= EXACT_ITEMS
    buckets = make_buckets(time, n, width, exact=exact)
    lam0 = DEFAULT_PRIOR_STRENGTH if lam is None else lam
    if left.size == 0:
        T = buckets.count
        return FitResult(
            lam0, 0.0, bool(side), 0.0, -math.inf, buckets.times, np.zeros((T, n)), 0.0
        )
    hyper_free = lam is None or sigma is None or side is None
    if exact:
        crit = _evidence_criterion(left, right, out, n, davidson)
        st, hy, x, score = _search(crit, buckets, n, left.size, lam=lam, sigma=sigma, side=side)
        return _result(x, st, hy, buckets, score)
    from algorithms._time_bt_large import newton_cg

    test = _holdout(left, right, buckets.index)
    score = 0.0
    if hyper_free and test.any() and not test.all():
        crit = _heldout_criterion(left, right, out, n, davidson, test)
        prob, hy, _, score = _search(crit, buckets, n, left.size, lam=lam, sigma=sigma, side=side)
        with_side = prob[0].p.side
    else:
        with_side = bool(side)
        hy = Hyper(lam0, (sigma or 0.0) ** 2 * float(buckets.times[-1] - buckets.times[0]))
    span = float(buckets.times[-1] - buckets.times[0])
    sig = math.sqrt(hy.drift / span) if hy.drift > 0.0 and span > 0.0 else 0.0
    st, hy = _final_setup(left, right, out, time, n, width, davidson, hy.lam, sig, with_side)
    x, _ = newton_cg(st, hy, _start(st, hy.lam))
    return _result(x, st, hy, buckets, score)


def _final_setup(
    left: IntArray,
    right: IntArray,
    out: FloatArray,
    time: FloatArray,
    n: int,
    width: float | None,
    davidson: bool,
    lam: float,
    sigma: float,
    side: bool,
) -> tuple[_Setup, Hyper]:
    """The problem and hyperparameters of a fit (one bucket when ``sigma == 0``)."""
    buckets = make_buckets(time, n, width, exact=n <= EXACT_ITEMS)
    if sigma == 0.0:
        buckets = Buckets(np.zeros(left.size, dtype=np.int64), buckets.times[-1:])
    span = float(buckets.times[-1] - buckets.times[0])
    return _setup(left, right, out, n, buckets, side, davidson), Hyper(lam, sigma**2 * span)


def latest_posterior(
    left: IntArray,
    right: IntArray,
    out: FloatArray,
    time: FloatArray,
    n: int,
    width: float | None,
    davidson: bool,
    fit: FitResult,
) -> tuple[FloatArray, FloatArray | None]:
    """Laplace variances ``(n,)`` and, on the exact path, covariance ``(n, n)`` of the latest
    scores at a fitted MAP, with ``h`` and ``tau`` integrated out.

    Exact path: the last Schur complement's inverse plus the border's correction. Above
    :data:`EXACT_ITEMS`: :func:`algorithms._time_bt_large.approx_latest_var`, no covariance.
    A deterministic function of the votes and ``fit``.
    """
    st, hy = _final_setup(left, right, out, time, n, width, davidson, fit.lam, fit.sigma, fit.side)
    parts = [fit.s[-st.T :].ravel()]
    if fit.side:
        parts.append(np.array([fit.h]))
    if st.p.davidson:
        parts.append(np.array([fit.tau]))
    x = np.concatenate(parts)
    kap = hy.kappa(st.gaps) if st.T > 1 else np.zeros(0)
    _, _, ev = _evaluate(st, hy, kap, x)
    if n > EXACT_ITEMS:
        from algorithms._time_bt_large import _Precond, approx_latest_var

        return approx_latest_var(_Precond(st, hy, kap, x[: n * st.T].reshape(st.T, n), ev.w)), None
    fac = _factor(st, hy, kap, x, ev)
    cov = fac.sinv[-1].copy()
    if fac.border_v is not None and fac.border_m is not None:
        vl = fac.border_v[-1]
        cov += vl @ np.linalg.solve(fac.border_m, vl.T)
    return np.diag(cov).copy(), cov
