"""Adaptive defaults of ``bt``: the prior strength from the evidence, the side advantage by test.

``prior_strength="auto"``: the prior precision ``lam`` maximises the Laplace approximation of
the marginal likelihood (MacKay's evidence framework) under a weak Gamma hyperprior; the
search runs inside the Newton iteration of the fit (:class:`EvidenceSearch` is its
``retune`` hook). ``side_advantage="auto"``: the left-side advantage ``h`` is kept only when
a score test of ``h = 0`` rejects it (:func:`side_score`). The maths and the measurements
are in ``docs/models.md`` ("Adaptive prior strength and side advantage").
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import scipy.linalg
import scipy.optimize

from algorithms._bt_fit import DENSE_MAX, _HessOp, dense_hessian, laplace_var, newton, pcg
from algorithms._bt_objective import Problem, _Eval, objective, scatter
from algorithms.base import FloatArray

__all__ = [
    "AUTO",
    "HYPER_ITEMS",
    "LAM_BASE",
    "LAM_MAX",
    "LAM_MIN",
    "REESTIMATE_GROWTH",
    "SIDE_SHARE",
    "SIDE_Z",
    "STEP_TOL",
    "BTAdaptive",
    "EvidenceSearch",
    "is_auto",
    "predict_lam",
    "side_score",
    "side_score_bordered",
]

#: The parameter value that asks for the adaptive rule.
AUTO = "auto"
#: Prior precision before the first vote, and the mode of the hyperprior on ``lam``.
LAM_BASE = 0.5
#: Weight of the hyperprior, in items: ``lam = (gamma + k) / (|s|^2 + k / LAM_BASE)``.
HYPER_ITEMS = 2.0
#: Floor and ceiling of the learnt ``lam`` (prior sd of the scores 10 and 0.1).
LAM_MIN = 0.01
LAM_MAX = 100.0
#: A lazy refit re-estimates ``lam`` (and the side decision) once the votes have grown by
#: this share since the last estimate; in between it keeps them.
REESTIMATE_GROWTH = 0.1
#: The side advantage is kept when ``|h| / sd(h) >= SIDE_Z`` (score test at ``h = 0``) ...
SIDE_Z = 3.0
#: ... and the votes identify it apart from the scores: the information on ``h`` left once
#: the scores are fitted is at least this share of the information on ``h`` alone.
SIDE_SHARE = 0.5

#: Newton's step tolerance for every fit of ``bt``.
STEP_TOL = 1e-4
#: Relative precision of a learnt ``lam``: tight up to ``_DENSE_ITEMS`` items (cheap, and
#: warm refits then equal cold fits), looser above (``lam`` matters less with more data).
_LAM_TOL_DENSE = 1e-6
_LAM_TOL = 1e-3
_DENSE_ITEMS = 400

_START = 1.0  # predict lam once Newton steps are at most this large
_TRUST = 1e-2  # a check after a Newton step this small can settle lam
_REFRESH = 0.5  # recompute approximate variances after the scores moved this much
_MAX_UPDATES = 60
_MAX_LOG_STEP = 2.0  # lam changes by at most e^2 per update


def is_auto(value: object) -> bool:
    """Is a parameter value the string ``"auto"``?"""
    return isinstance(value, str) and value == AUTO


def predict_lam(lam: float, s: FloatArray, var: FloatArray) -> float:
    """The fixed point of the evidence update, predicted from one point near the MAP.

    At the MAP ``s`` for ``lam`` with item variances ``var`` (diagonal of ``H^-1``), item
    ``i`` carries data curvature ``a_i = 1/var_i - lam``; for another ``lam'`` the diagonal
    model ``var_i' = 1/(a_i + lam')``, ``s_i' = s_i (a_i + lam)/(a_i + lam')`` (ridge
    shrinkage) gives ``gamma' = n - lam' sum(var')`` and the update ``(gamma' + k) /
    (|s'|^2 + k/LAM_BASE)``; its fixed point ``lam'`` is found by Brent's method on
    ``log lam'`` within ``[LAM_MIN, LAM_MAX]``. At ``lam' = lam`` the model is exact, so
    iterating (refit at ``lam'``, predict again) converges to MacKay's fixed point; the
    diagonal model only makes each step long.
    """
    n = s.shape[0]
    prec = 1.0 / var
    a = np.maximum(prec - lam, 0.0)
    s2 = s * s * prec * prec  # s_i'^2 (a_i + lam')^2
    kk, prior = HYPER_ITEMS, HYPER_ITEMS / LAM_BASE

    def phi(u: float) -> float:
        new = math.exp(u)
        inv = 1.0 / (a + new)
        gamma = n - new * float(np.add.reduce(inv))
        spread = float(np.dot(s2, inv * inv))
        return math.log((gamma + kk) / (spread + prior)) - u

    lo, hi = math.log(LAM_MIN), math.log(LAM_MAX)
    if phi(lo) <= 0.0:
        return LAM_MIN
    if phi(hi) >= 0.0:
        return LAM_MAX
    return math.exp(scipy.optimize.brentq(phi, lo, hi, xtol=1e-12, rtol=1e-12))


class EvidenceSearch:
    """``retune`` hook of :func:`algorithms._bt_fit.newton` that learns ``lam``.

    The Laplace evidence of ``lam`` is stationary (neglecting the change of ``H`` with
    ``s``, MacKay 1992) where, with a ``Gamma`` hyperprior of weight ``k = HYPER_ITEMS``,

        lam = (gamma + k) / (|s|^2 + k / LAM_BASE),   gamma = n - lam tr(H^-1)_ss.

    Once Newton steps are at most ``_START`` the hook predicts that fixed point from the
    current iterate (:func:`predict_lam`) and moves ``lam`` there (at most a factor
    ``e^2`` at a time; secant steps between consecutive predictions made near the MAP);
    Newton then re-converges ``s``. ``lam`` has settled when the
    prediction is within ``tol`` (relative) of it after a Newton step of at most ``_TRUST``;
    later tiny steps are not checked again.

    The variances are exact (Cholesky of ``H``) up to ``exact_max`` items, and recomputed at
    every check. Above, they are the Neumann approximation of
    :func:`algorithms._bt_fit.laplace_var` (the graph taken as connected; items without
    votes are exact either way), computed once and then moved to a new ``lam`` on the
    diagonal (``1/(1/var + lam' - lam)``) unless the scores moved by more than ``_REFRESH``
    since: the curvature of the votes changes little near the MAP.

    Parameters
    ----------
    exact_max
        Up to this many items the variances are exact.
    tol
        Relative precision of ``lam`` (on ``log lam``).
    """

    def __init__(self, exact_max: int, tol: float) -> None:
        self.exact_max = exact_max
        self.tol = tol
        self.updates = 0
        self.checks = 0
        self.problem: Problem | None = None
        self._settled = False
        self._var: FloatArray | None = None  # item variances at lam = self._var_lam
        self._var_lam = 0.0
        self._moved = 0.0  # sum of Newton step sizes since self._var was computed
        self._last: tuple[float, float] | None = None  # (log lam, phi) at the last check

    def variances(self, p: Problem, x: FloatArray, ev: _Eval) -> FloatArray:
        """Diagonal of ``H^-1`` for the items at ``x`` (exact, or the approximation)."""
        approx = p.n_items > self.exact_max
        if self._var is None or not approx or self._moved > _REFRESH:
            self._var = laplace_var(p, x, self.exact_max, ev=ev, components=False)
            self._var_lam, self._moved = p.lam, 0.0
            return self._var
        return self._shifted(self._var, p.lam)

    def _shifted(self, var: FloatArray, lam: float) -> FloatArray:
        return np.asarray(1.0 / (1.0 / var + (lam - self._var_lam)), dtype=np.float64)

    def view_variances(self, p: Problem) -> FloatArray | None:
        """The approximate item variances moved to ``p.lam`` (``None`` when exact or none)."""
        if self._var is None or p.n_items <= self.exact_max:
            return None
        return self._shifted(self._var, p.lam)

    def __call__(self, p: Problem, x: FloatArray, ev: _Eval, size: float) -> Problem | None:
        self.problem = p
        self._moved += size
        if size > _START or self.updates >= _MAX_UPDATES:
            return None
        if self._settled and size <= _TRUST:
            return None
        self.checks += 1
        var = self.variances(p, x, ev)
        u = math.log(p.lam)
        phi = math.log(predict_lam(p.lam, x[: p.n_items], var)) - u
        if abs(phi) <= self.tol:
            self._settled = size <= _TRUST
            return None
        self._settled = False
        step = phi
        last = self._last
        if last is not None and size <= _TRUST and last[0] != u and last[1] != phi:
            # the prediction is off by a roughly constant factor of the distance left:
            # a secant step on phi(log lam) removes it
            secant = -phi * (u - last[0]) / (phi - last[1])
            if 0.0 < secant / phi < 10.0:
                step = secant
        self._last = (u, phi) if size <= _TRUST else None
        step = min(max(step, -_MAX_LOG_STEP), _MAX_LOG_STEP)
        self.updates += 1
        self.problem = dataclasses.replace(p, lam=p.lam * math.exp(step))
        return self.problem


def side_score(p: Problem, x: FloatArray, ev: _Eval) -> tuple[float, float, FloatArray]:
    """Score test of ``h = 0`` at the MAP without the side advantage, and a step with it.

    ``p`` is the problem without ``h``; ``x``, ``ev`` its MAP and the evaluation there.
    Adding ``h`` borders the Hessian ``A`` with ``b = dgrad/dh`` (per item: the curvature of
    its left votes minus that of its right votes; for ``tau``: ``sum k``) and
    ``c = sum w + lam_h``, and the gradient in ``h`` is ``g_h = sum fd``. The statistic is
    one Newton step in ``h`` over its posterior sd, ``z = -g_h / sqrt(c - b' A^-1 b)`` (the
    score test); the step itself is the starting point of the fit with ``h``. The edges must
    be the votes themselves (``edges.unit``): merged edges (``(i, j)`` with ``(j, i)``) have
    lost their sides; use :func:`side_score_bordered` on the problem with ``h`` then.
    Returns ``(z, share, x with h)``: ``share = (c - b' A^-1 b) / c`` is the part of the
    information on ``h`` that the scores do not absorb (near 1 when every item is seen on
    both sides, near 0 when ``h`` is confounded with the scores), ``h`` at index ``n_items``.
    """
    if not p.edges.unit:
        raise ValueError("side_score needs the votes as edges; use side_score_bordered")
    n = p.n_items
    x1 = np.insert(x, n, 0.0)
    e = p.edges
    g = float(np.add.reduce(ev.fd))
    b = np.empty(p.size)
    b[:n] = scatter(e.left, ev.w, n) - scatter(e.right, ev.w, n)
    if p.davidson:
        b[-1] = float(ev.k.sum()) if ev.k is not None else 0.0
    v = _solve_hessian(p, ev, b)
    c = float(np.add.reduce(ev.w)) + p.lam_extra
    schur = max(c - float(np.dot(b, v)), 1e-300)
    dh = -g / schur
    x1[n] = dh
    x1[:n] -= dh * v[:n]
    if p.davidson:
        x1[-1] -= dh * v[-1]
    return dh * math.sqrt(schur), schur / c, x1


def side_score_bordered(p: Problem, x: FloatArray) -> tuple[float, float, FloatArray]:
    """:func:`side_score` on the problem with ``h`` (``p``, ordered edges) at ``x`` (``h = 0``)."""
    n = p.n_items
    ev = objective(p, x, need_value=False)
    unit = np.zeros(p.size)
    unit[n] = 1.0
    col = _solve_hessian(p, ev, unit)
    g = float(ev.grad[n])
    var = max(float(col[n]), 1e-300)
    c = float(np.add.reduce(ev.w)) + p.lam_extra
    return -g * math.sqrt(var), 1.0 / (var * c), x - g * col


def _solve_hessian(p: Problem, ev: _Eval, b: FloatArray) -> FloatArray:
    """``H^-1 b``: dense Cholesky, or CG to 5% (``z`` needs ``b' H^-1 b``, a small
    correction to ``c``, only roughly; the step is refined by Newton if ``h`` is kept)."""
    if p.size <= DENSE_MAX:
        return np.asarray(scipy.linalg.cho_solve(scipy.linalg.cho_factor(dense_hessian(p, ev)), b))
    return pcg(_HessOp(p, ev), b, rtol=0.05)


class BTAdaptive:
    """The adaptive rules of :class:`algorithms.bt.BTModel` (a mixin, like ``BTUncertainty``):
    when to re-estimate, the MAP with ``lam`` learnt, and the side decision."""

    # provided by BTModel
    prior_strength: float | str
    side_advantage: bool | str
    exact_max: int
    _n: int
    _m: int
    _m_est: int
    _lam: float
    _side: bool

    def _ensure_fit(self) -> None:
        raise NotImplementedError

    def _problem(
        self, weight: FloatArray | None = None, side: bool | None = None, lam: float | None = None
    ) -> Problem:
        raise NotImplementedError

    def _x(self, p: Problem) -> FloatArray:
        raise NotImplementedError

    @property
    def fitted_prior_strength(self) -> float:
        """The prior precision ``lam`` in use (learnt when ``prior_strength="auto"``)."""
        self._ensure_fit()
        return self._lam

    @property
    def fitted_side_advantage(self) -> bool:
        """Whether the side advantage ``h`` is in use (decided when ``side_advantage="auto"``)."""
        self._ensure_fit()
        return self._side

    @property
    def _adaptive(self) -> bool:
        return is_auto(self.prior_strength) or is_auto(self.side_advantage)

    def _due(self) -> bool:
        """Is a new estimate of ``lam`` / the side decision due (votes grew enough)?"""
        m, last = self._m, self._m_est
        return m > 0 and (last == 0 or m >= last * (1.0 + REESTIMATE_GROWTH))

    def _newton(
        self, p: Problem, x0: FloatArray
    ) -> tuple[Problem, FloatArray, _Eval, FloatArray | None]:
        """The MAP of ``p``; with ``prior_strength="auto"`` ``lam`` is learnt on the way.

        Also returns the search's approximate item variances at the final ``lam`` when it
        has them (large problems; else ``None``), for the posterior view."""
        if not is_auto(self.prior_strength):
            x, _, ev = newton(p, x0, step_tol=STEP_TOL)
            return p, x, ev, None
        dense = self._n <= _DENSE_ITEMS
        search = EvidenceSearch(
            exact_max=min(self.exact_max, _DENSE_ITEMS),
            tol=_LAM_TOL_DENSE if dense else _LAM_TOL,
        )
        x, _, ev = newton(p, x0, step_tol=STEP_TOL, retune=search)
        p = search.problem or p
        return p, x, ev, search.view_variances(p)

    def _estimate(self) -> tuple[Problem, FloatArray, _Eval, FloatArray | None]:
        """Learn ``lam`` and decide the side advantage (each when ``"auto"``), and fit."""
        if not is_auto(self.side_advantage):
            p = self._problem(side=self._side)
            return self._newton(p, self._x(p))
        p0 = self._problem(side=False)
        p0, x, ev, var = self._newton(p0, self._x(p0))
        if p0.edges.unit:  # the votes themselves: test h on them
            z, share, x1 = side_score(p0, x, ev)
        else:  # merged (i, j) with (j, i): test on the votes with their sides
            p1 = self._problem(side=True, lam=p0.lam)
            z, share, x1 = side_score_bordered(p1, np.insert(x, self._n, 0.0))
        if abs(z) < SIDE_Z or share < SIDE_SHARE:
            return p0, x, ev, var
        return self._newton(self._problem(side=True, lam=p0.lam), x1)
