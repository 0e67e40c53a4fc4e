"""``time-bt``'s choice of hyperparameters (empirical Bayes) and the fit as a whole.

:func:`fit_time_bt` chooses the prior strength ``lam``, the drift ``sigma`` and whether to keep
the side advantage when they are ``"auto"``, then returns the MAP (:class:`FitResult`);
:func:`latest_posterior` gives the Laplace (co)variances of the latest scores. Up to
:data:`~algorithms._time_bt_fit.EXACT_ITEMS` items the criterion is the Laplace evidence
(:mod:`algorithms._time_bt_fit`); above, the likelihood of held-out votes under Newton-CG fits
(:mod:`algorithms._time_bt_large`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from algorithms._bt_objective import Problem, aggregate, objective
from algorithms._time_bt_fit import (
    EXACT_ITEMS,
    Buckets,
    Hyper,
    Setup,
    evaluate,
    expand,
    factor,
    log_evidence,
    make_buckets,
    make_setup,
    start_point,
)
from algorithms._time_bt_large import Precond, approx_latest_var, newton_cg
from algorithms.base import FloatArray, IntArray

__all__ = ["DEFAULT_PRIOR_STRENGTH", "FitResult", "fit_time_bt", "latest_posterior"]

BoolArray = NDArray[np.bool_]

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
#: Above ``EXACT_ITEMS`` the search holds out about one vote in ``HOLDOUT``.
HOLDOUT = 5


def _log_hyperprior(lam: float) -> float:
    z = (math.log(lam) - math.log(DEFAULT_PRIOR_STRENGTH)) / LOG_LAM_SD
    return -0.5 * z * z


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


def _solve_at(st: Setup, hy: Hyper, x0: FloatArray) -> tuple[FloatArray, float]:
    """The MAP (Newton-CG, cheaper than factorising at every Newton step) and its log
    evidence (one block factorisation at the MAP)."""
    x, _ = newton_cg(st, hy, x0)
    kap = hy.kappa(st.gaps) if st.T > 1 else np.zeros(0)
    f, _, ev = evaluate(st, hy, kap, x)
    return x, log_evidence(st, hy, f, factor(st, hy, kap, x, ev))


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
    return _Criterion(
        make=lambda b, side: make_setup(left, right, out, n, b, side, davidson),
        start=start_point,
        solve=_solve_at,
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
    xd = [expand(x, n, 1, T)]
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


def _result(x: FloatArray, st: Setup, hy: Hyper, buckets: Buckets, score: float) -> FitResult:
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
    tr = ~test

    def make(b: Buckets, side: bool) -> tuple[Setup, Problem]:
        st = make_setup(
            left[tr], right[tr], out[tr], n, Buckets(b.index[tr], b.times), side, davidson
        )
        bt = b.index[test]
        T = b.count
        edges = aggregate(bt * n + left[test], bt * n + right[test], out[test], n * T, ordered=side)
        return st, Problem(edges, n * T, 0.0, side, davidson, lam_extra=0.0)

    def solve(prob: tuple[Setup, Problem], hy: Hyper, x0: FloatArray) -> tuple[FloatArray, float]:
        x, _ = newton_cg(prob[0], hy, x0)
        return x, -objective(prob[1], x).value

    return _Criterion(
        make=make, start=lambda prob, lam: start_point(prob[0], lam), solve=solve, hyperprior=False
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
    x, _ = newton_cg(st, hy, start_point(st, hy.lam))
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
) -> tuple[Setup, Hyper]:
    """The problem and hyperparameters of a fit (one bucket when ``sigma == 0``)."""
    buckets = make_buckets(time, n, width, exact=n <= EXACT_ITEMS)
    if sigma == 0.0:
        buckets = Buckets(np.zeros(left.size, dtype=np.int64), buckets.times[-1:])
    span = float(buckets.times[-1] - buckets.times[0])
    return make_setup(left, right, out, n, buckets, side, davidson), Hyper(lam, sigma**2 * span)


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
    _, _, ev = evaluate(st, hy, kap, x)
    if n > EXACT_ITEMS:
        return approx_latest_var(Precond(st, hy, kap, x[: n * st.T].reshape(st.T, n), ev.w)), None
    fac = factor(st, hy, kap, x, ev)
    cov = fac.sinv[-1].copy()
    if fac.border_v is not None and fac.border_m is not None:
        vl = fac.border_v[-1]
        cov += vl @ np.linalg.solve(fac.border_m, vl.T)
    return np.diag(cov).copy(), cov
