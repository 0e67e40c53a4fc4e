"""Numerics of ``crowd-bt`` (:mod:`algorithms.crowd_bt`): the grid of reliabilities, the
empirical Bayes Beta prior and the E-step of its EM fit, vectorised over votes.

A voter with reliability ``r`` gives the answer whose model probability is ``q`` with
probability ``½ + (q - ½) r``; each voter's likelihood is tabulated on
:data:`RELIABILITY_GRID`, so integrals over ``r`` are sums. The maths is in
``docs/models.md`` (Crowd-BT).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import scipy.sparse
from scipy.special import betainc, logsumexp

from algorithms.base import FloatArray, IntArray

__all__ = [
    "HONEST",
    "RELIABILITY_GRID",
    "EStep",
    "e_step",
    "fit_reliability_prior",
    "log_prior_params",
    "reliability_masses",
    "voter_loglik",
]

#: Carelessness ``u = 1 - r`` nodes: 0 (honest) and 23 steps of x1.37 from 0.001 to 1
#: (fine near honest, where near-deterministic voters live; coarse near random).
_U = np.concatenate([[0.0], np.geomspace(1e-3, 1.0, 23)])
RELIABILITY_GRID: FloatArray = 1.0 - _U
"""The reliabilities ``r`` on which each voter's posterior is computed (1 first, 0 last)."""
_EDGES = np.concatenate([[0.0], 0.5 * (_U[1:] + _U[:-1]), [1.0]])
#: Bounds of ``(log a, log b)`` of the Beta prior of ``r``, and the start grid of its fit.
#: ``a >= 1``: the prior density stays finite at ``r = 0``, i.e. no a-priori spike of purely
#: random voters (see ``docs/models.md``: on ~20 votes per voter such a spike snapped voters
#: with their own taste to ``r ≈ 0``).
_BOUNDS = ((0.0, 9.0), (-9.0, 6.0))
_STARTS = [(x, y) for x in np.linspace(0.0, 8.0, 5) for y in np.linspace(-8.0, 5.0, 8)]
#: The prior before any voter is seen, "Beta(1, 0)": all mass at ``r = 1`` (plain ``bt``).
HONEST = (1.0, 0.0)
_CHUNK = 1 << 15


def reliability_masses(a: float, b: float) -> FloatArray:
    """Masses of ``Beta(a, b)`` on the cells of :data:`RELIABILITY_GRID` (they sum to 1).

    >>> m = reliability_masses(1.0, 1e-4)  # nearly all mass at r = 1
    >>> bool(m[0] > 0.99), round(float(m.sum()), 12)
    (True, 1.0)
    """
    # r ~ Beta(a, b)  <=>  u = 1 - r ~ Beta(b, a)
    cdf = betainc(b, a, _EDGES)
    return np.asarray(np.maximum(np.diff(cdf), 1e-300), dtype=np.float64)


def _prior_objective(t: FloatArray, lik: FloatArray, honest: float) -> float:
    """Minus the log marginal likelihood of ``(log a, log b)``, up to a constant (``lik`` is
    each voter's likelihood on the grid divided by its maximum)."""
    mass = reliability_masses(math.exp(t[0]), math.exp(t[1]))
    evidence = np.maximum(lik @ mass, 1e-300)
    return -float(np.log(evidence).sum() + honest * math.log(mass[0]))


def fit_reliability_prior(
    ll: FloatArray, honest: float = 1.0, start: tuple[float, float] | None = None
) -> tuple[float, float]:
    """Empirical Bayes ``Beta(a, b)`` prior of the reliabilities; returns ``(a, b)``.

    Maximises ``Σ_k log Σ_q π_q(a, b) exp(ll[k, q]) + honest · log π_0(a, b)`` where
    ``ll[k, q]`` is voter ``k``'s log-likelihood at reliability ``RELIABILITY_GRID[q]``,
    ``π_q`` the prior's mass on cell ``q`` and ``honest`` counts imaginary voters known to
    be honest (the hyperprior). Projected Newton in ``(log a, log b)`` from ``start``, or
    without it from the best point of a coarse grid (the objective is flat near "all
    honest", where a local method alone would stay).

    >>> honest_crowd = np.zeros((5, len(RELIABILITY_GRID)))
    >>> honest_crowd[:, 1:] = -5.0  # every voter's answers favour r = 1
    >>> a, b = fit_reliability_prior(honest_crowd)
    >>> bool(reliability_masses(a, b)[0] > 0.99)
    True
    """
    if ll.shape[0] == 0:
        return HONEST
    lik = np.exp(ll - ll.max(axis=1, keepdims=True))

    def f(t: FloatArray) -> float:
        return _prior_objective(t, lik, honest)

    if start is None:
        start = min(_STARTS, key=lambda t: f(np.asarray(t)))
    t = _newton_2d(f, np.asarray(start, dtype=np.float64))
    return math.exp(float(t[0])), math.exp(float(t[1]))


def _newton_2d(f: Callable[[FloatArray], float], t: FloatArray, tol: float = 1e-8) -> FloatArray:
    """Minimise a smooth ``f`` of two variables within :data:`_BOUNDS`: Newton steps with
    central-difference derivatives (a coordinate at its bound, pushed outwards, is held),
    backtracking; a gradient step where the Hessian is not positive definite."""
    lo, hi = np.array([b[0] for b in _BOUNDS]), np.array([b[1] for b in _BOUNDS])
    t = np.clip(t, lo, hi)
    ft = f(t)
    h = 1e-4
    for _ in range(100):
        fp = np.array([f(t + h * e) for e in np.eye(2)])
        fm = np.array([f(t - h * e) for e in np.eye(2)])
        g = (fp - fm) / (2.0 * h)
        hess = np.diag((fp - 2.0 * ft + fm) / (h * h))
        up, side = np.array([h, h]), np.array([h, -h])
        hess[0, 1] = hess[1, 0] = (f(t + up) - f(t + side) - f(t - side) + f(t - up)) / (4 * h * h)
        free = ~(((t <= lo) & (g > 0.0)) | ((t >= hi) & (g < 0.0)))
        if not free.any():
            break
        step = np.zeros(2)
        sub, gf = hess[np.ix_(free, free)], g[free]
        if np.all(np.linalg.eigvalsh(sub) > 0.0):
            step[free] = -np.linalg.solve(sub, gf)
        else:
            step[free] = -gf / max(float(np.abs(gf).max()), 1e-12)
        scale, tn, fn = 1.0, t, ft
        while scale > 1e-10:
            tn = np.clip(t + scale * step, lo, hi)
            fn = f(tn)
            if fn <= ft:
                break
            scale *= 0.5
        if fn > ft:
            break
        moved = float(np.abs(tn - t).max())
        t, ft = tn, fn
        if moved <= tol:
            break
    return t


def log_prior_params(ab: tuple[float, float]) -> tuple[float, float]:
    """``(log a, log b)`` inside the bounds of the prior fit (a warm start)."""
    (alo, ahi), (blo, bhi) = _BOUNDS
    a, b = (math.log(max(x, 1e-300)) for x in ab)
    return min(max(a, alo), ahi), min(max(b, blo), bhi)


class EStep(NamedTuple):
    """What an E-step of ``crowd-bt`` learns at given scores."""

    prior: tuple[float, float]
    """The empirical Bayes ``Beta(a, b)`` of the reliabilities."""
    reliability: FloatArray
    """Each voter's posterior mean reliability ``E[r_k]``."""
    mean_reliability: float
    """The prior's mean ``r̄`` (for unknown voters)."""
    weight: FloatArray
    """Each vote's posterior probability of having been answered by the model."""


def voter_loglik(q: FloatArray, codes: IntArray, n_voters: int) -> FloatArray:
    """``ll[k, g] = Σ_{v of voter k} log(½ + (q_v - ½) r_g)`` on :data:`RELIABILITY_GRID`.

    >>> ll = voter_loglik(np.array([0.9, 0.9, 0.5]), np.array([0, 0, 1]), 2)
    >>> ll.shape, bool(ll[0, 0] > ll[0, -1]), float(ll[1, 0]) == float(ll[1, -1])
    ((2, 24), True, True)
    """
    grid = RELIABILITY_GRID
    ll = np.zeros((n_voters, grid.shape[0]))
    if q.size == 0:
        return ll
    by_voter = scipy.sparse.csr_matrix(
        (np.ones(q.shape[0]), (codes, np.arange(q.shape[0]))), shape=(n_voters, q.shape[0])
    )
    for lo in range(0, q.shape[0], _CHUNK):  # chunks of votes bound the (votes, grid) arrays
        sl = slice(lo, lo + _CHUNK)
        lik = np.log(np.maximum(0.5 + np.multiply.outer(q[sl] - 0.5, grid), 1e-300))
        ll += by_voter[:, sl] @ lik
    return ll


def e_step(
    q: FloatArray,
    decisive: np.ndarray,
    codes: IntArray,
    n_voters: int,
    honest: float,
    start: tuple[float, float] | None,
) -> EStep:
    """The E-step at given scores.

    ``q`` is each vote's model probability of the answer given, ``decisive`` marks the
    votes won by one side (a tie says nothing about its voter), ``codes`` the voter of each
    vote (``-1``: anonymous). Each voter's posterior on the grid is exact; the prior is
    :func:`fit_reliability_prior` (from ``start``); a decisive vote's weight is
    ``E[r q / (½ + (q - ½) r)]`` under its voter's posterior, ``r̄ q / (½ + (q - ½) r̄)`` for
    an anonymous one, and a tie weighs its voter's ``E[r]`` (``r̄`` when anonymous).
    """
    grid = RELIABILITY_GRID
    known = decisive & (codes >= 0)
    kq, kc = q[known], codes[known]
    ll = voter_loglik(kq, kc, n_voters)
    voting = np.bincount(kc, minlength=n_voters) > 0
    prior = fit_reliability_prior(ll[voting], float(honest), start)
    logm = np.log(reliability_masses(*prior))
    post = ll + logm
    post -= logsumexp(post, axis=1, keepdims=True)
    np.exp(post, out=post)
    rel = np.asarray(post @ grid, dtype=np.float64)
    rbar = float(np.exp(logm) @ grid)
    w = np.append(rel, rbar)[codes]
    anon = decisive & (codes < 0)
    rq = rbar * q[anon]
    den = rq + 0.5 * (1.0 - rbar)
    w[anon] = np.divide(rq, den, out=np.ones_like(rq), where=den > 0.0)
    wk = np.empty(kq.shape[0])
    for lo in range(0, kq.shape[0], _CHUNK):
        sl = slice(lo, lo + _CHUNK)
        num = np.multiply.outer(kq[sl], grid)
        den = 0.5 + np.multiply.outer(kq[sl] - 0.5, grid)
        share = np.divide(num, den, out=np.ones_like(num), where=den > 0.0)
        wk[sl] = np.einsum("vq,vq->v", post[kc[sl]], share)
    w[known] = wk
    return EStep(prior, rel, rbar, np.asarray(w, dtype=np.float64))
