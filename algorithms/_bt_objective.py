"""Objective of the Bradley-Terry model: votes as edges, the MAP problem, and the penalised
negative log-likelihood with its gradient and curvature (solved in :mod:`algorithms._bt_fit`).

Everything here is vectorised over votes (``np.bincount`` scatters, fancy-index gathers).
The parameter vector is ``x = [s_0 .. s_{n-1}, (h), (tau)]``: item scores, then the
optional left-side advantage ``h`` and the optional Davidson log tie parameter
``tau = log(nu)``.

Per vote with ``d = s_l - s_r + h`` and ``a = d / 2`` the negative log-likelihood is

    f = N * Z(a, tau) - C * a - T * tau,   Z = log(exp(a) + exp(-a) + exp(tau))

where ``N`` is the vote weight, ``C = N * (2y - 1)`` and ``T = N * [y == 0.5]``. Without
Davidson ties ``exp(tau) = 0`` and ``f`` is the ordinary logistic loss with a possibly
fractional outcome ``y`` (``ties="half"`` counts a tie as half a win each).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import scipy.special

from algorithms.base import FloatArray, IntArray

__all__ = ["Edges", "Problem", "aggregate", "edge_step", "objective", "scatter"]


# Reductions without BLAS: on a shared, busy machine a threaded ddot can cost more than
# the whole elementwise pass, and these are memory-bound anyway.
def _sum(a: FloatArray) -> float:
    return float(np.add.reduce(a))


def _dot(a: FloatArray, b: FloatArray) -> float:
    return float(np.add.reduce(np.multiply(a, b)))


def _norm(a: FloatArray) -> float:
    return math.sqrt(_dot(a, a))


def scatter(index: IntArray, weights: FloatArray, size: int) -> FloatArray:
    """``out[k] = sum(weights[index == k])`` (``np.bincount``, typed as float)."""
    return np.bincount(index, weights, size).astype(np.float64, copy=False)


@dataclass(frozen=True)
class Edges:
    """Votes, possibly aggregated: per edge weight ``N``, left wins ``Y`` (a tie counts
    one half) and ties ``T``."""

    left: IntArray
    right: IntArray
    n: FloatArray
    y: FloatArray
    t: FloatArray
    unit: bool = field(default=False)  # every weight N is exactly 1


@dataclass(frozen=True)
class Problem:
    """A MAP problem: edges, number of items, prior precisions and which extras exist."""

    edges: Edges
    n_items: int
    lam: float
    side: bool
    davidson: bool
    lam_extra: float = 1e-2
    #: scratch buffers of one edge-length each, reused across evaluations
    work: dict[str, FloatArray] = field(default_factory=dict, compare=False, repr=False)

    def buf(self, name: str) -> FloatArray:
        """A reusable scratch array with one slot per edge."""
        arr = self.work.get(name)
        if arr is None:
            arr = self.work[name] = np.empty(self.edges.left.shape[0])
        return arr

    @property
    def size(self) -> int:
        return self.n_items + int(self.side) + int(self.davidson)


def aggregate(
    left: IntArray,
    right: IntArray,
    outcome: FloatArray,
    n_items: int,
    weight: FloatArray | None = None,
    ordered: bool = True,
) -> Edges:
    """Turn votes into edges, merging duplicate pairs when the key space is small.

    With ``ordered=False`` (no side advantage) ``(i, j)`` and ``(j, i)`` are merged too,
    turning ``Y`` into ``N - Y`` (the likelihood is symmetric under ``d -> -d``).
    """
    w = np.ones(left.shape[0]) if weight is None else weight
    c = outcome if weight is None else w * outcome
    t = (outcome == 0.5).astype(np.float64) if weight is None else w * (outcome == 0.5)
    m = left.shape[0]
    if m == 0 or n_items * n_items > 4 * m:
        return Edges(left, right, w, c, t, unit=weight is None)
    if ordered:
        key = left * n_items + right
    else:
        flip = left > right
        key = np.where(flip, right * n_items + left, left * n_items + right)
        c = np.where(flip, w - c, c)
    size = n_items * n_items
    nn = scatter(key, w, size)
    keep = np.flatnonzero(nn)
    cc = scatter(key, c, size)[keep]
    tt = scatter(key, t, size)[keep]
    return Edges(keep // n_items, keep % n_items, nn[keep], cc, tt)


@dataclass
class _Eval:
    value: float
    grad: FloatArray
    w: FloatArray  # per-edge d^2 f / dd^2
    k: FloatArray | None  # per-edge d^2 f / dd dtau
    htt: float  # sum of d^2 f / dtau^2
    fd: FloatArray  # per-edge df / dd (its sum is df / dh)


def objective(p: Problem, x: FloatArray, need_value: bool = True) -> _Eval:
    """Penalised negative log-likelihood, its gradient and the Hessian pieces at ``x``.

    With ``need_value=False`` the value is left as NaN (saves a log per vote on the
    logistic path; the Newton iteration mostly does without it).
    """
    e = p.edges
    ni = p.n_items
    s = x[:ni]
    h = x[ni] if p.side else 0.0
    tau = x[-1] if p.davidson else -np.inf
    d = np.take(s, e.left)
    d -= np.take(s, e.right, out=p.buf("t0"), mode="clip")
    if p.side:
        d += h
    k: FloatArray | None = None
    htt = 0.0
    gt = 0.0
    if not p.davidson:
        # logistic loss in d: N softplus(d) - Y d, with Y = N y the (fractional) wins.
        # Few passes, in place: sig = 1 / (1 + exp(-d)) (exp may overflow to inf: sig = 0,
        # correct), w = N sig (1 - sig), fd = N sig - Y.
        val = math.nan
        if need_value:
            soft = np.negative(np.abs(d))  # softplus(d) = max(d, 0) + log1p(exp(-|d|))
            np.exp(soft, out=soft)
            np.log1p(soft, out=soft)
            soft += np.maximum(d, 0.0)
            val = (_sum(soft) if e.unit else _dot(e.n, soft)) - _dot(e.y, d)
        sig = p.buf("t0")
        np.negative(d, out=sig)
        with np.errstate(over="ignore"):
            np.exp(sig, out=sig)
        sig += 1.0
        np.reciprocal(sig, out=sig)
        w = np.subtract(1.0, sig)
        w *= sig
        if e.unit:
            fd = np.subtract(sig, e.y, out=d)
        else:
            w *= e.n
            fd = np.multiply(sig, e.n, out=d)
            fd -= e.y
    else:
        a = 0.5 * d
        big = np.maximum(np.abs(a), tau)
        ew = np.exp(a - big)
        el = np.exp(-a - big)
        et = np.exp(tau - big)
        tot = ew + el + et
        inv = 1.0 / tot
        pw = ew * inv
        pl = el * inv
        pt = et * inv
        m = pw - pl
        c = 2.0 * e.y - e.n
        val = _dot(e.n, big + np.log(tot)) - _dot(c, a) - tau * _sum(e.t)
        fd = 0.5 * (e.n * m - c)
        w = 0.25 * e.n * (pw + pl - m * m)
        npt = e.n * pt
        gt = float(npt.sum() - e.t.sum())
        k = -0.5 * npt * m
        htt = _dot(npt, 1.0 - pt)
    grad = np.empty(p.size)
    grad[:ni] = scatter(e.left, fd, ni) - scatter(e.right, fd, ni) + p.lam * s
    val += 0.5 * p.lam * _dot(s, s)
    if p.side:
        grad[ni] = fd.sum() + p.lam_extra * h
        val += 0.5 * p.lam_extra * h * h
    if p.davidson:
        grad[-1] = gt + p.lam_extra * tau
        val += 0.5 * p.lam_extra * tau * tau
    return _Eval(val, grad, w, k, htt, fd)


def edge_step(d: FloatArray, y: FloatArray, tau: float) -> tuple[FloatArray, FloatArray]:
    """Per-vote log-likelihood gradient and curvature in ``d`` (vectorised)."""
    if not math.isfinite(tau):
        sig = scipy.special.expit(d)
        return y - sig, sig * (1.0 - sig)
    a = 0.5 * d
    big = np.maximum(np.abs(a), tau)
    ew = np.exp(a - big)
    el = np.exp(-a - big)
    et = np.exp(tau - big)
    inv = 1.0 / (ew + el + et)
    pw, pl = ew * inv, el * inv
    mm = pw - pl
    return 0.5 * ((2.0 * y - 1.0) - mm), 0.25 * (pw + pl - mm * mm)
