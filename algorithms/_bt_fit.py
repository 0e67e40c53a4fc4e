"""Numerical core of the Bradley-Terry model: objective, Newton solver, Laplace variances.

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

from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.sparse
import scipy.sparse.csgraph
import scipy.special

from algorithms.base import FloatArray, IntArray

__all__ = ["Edges", "Problem", "aggregate", "laplace_var", "newton", "objective"]

#: Above this many parameters the Newton system is solved by preconditioned CG.
DENSE_MAX = 400


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


@dataclass(frozen=True)
class Problem:
    """A MAP problem: edges, number of items, prior precisions and which extras exist."""

    edges: Edges
    n_items: int
    lam: float
    side: bool
    davidson: bool
    lam_extra: float = 1e-2

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
    c = w * outcome
    t = w * (outcome == 0.5)
    m = left.shape[0]
    if m == 0 or n_items * n_items > 4 * m:
        return Edges(left, right, w, c, t)
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


def objective(p: Problem, x: FloatArray, need_hess: bool = True) -> _Eval:
    """Penalised negative log-likelihood, its gradient and the Hessian pieces at ``x``."""
    e = p.edges
    ni = p.n_items
    s = x[:ni]
    h = x[ni] if p.side else 0.0
    tau = x[-1] if p.davidson else -np.inf
    d = s[e.left] - s[e.right]
    if p.side:
        d += h
    k: FloatArray | None = None
    htt = 0.0
    gt = 0.0
    if not p.davidson:
        # logistic loss in d: N softplus(d) - Y d, with Y = N y the (fractional) wins
        sig = scipy.special.expit(d)
        val = float(e.n @ np.logaddexp(0.0, d) - e.y @ d)
        fd = e.n * sig - e.y
        w = e.n * sig * (1.0 - sig)
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
        val = float(e.n @ (big + np.log(tot)) - c @ a - tau * e.t.sum())
        fd = 0.5 * (e.n * m - c)
        w = 0.25 * e.n * (pw + pl - m * m)
        npt = e.n * pt
        gt = float(npt.sum() - e.t.sum())
        k = -0.5 * npt * m
        htt = float(npt @ (1.0 - pt))
    grad = np.empty(p.size)
    grad[:ni] = scatter(e.left, fd, ni) - scatter(e.right, fd, ni) + p.lam * s
    val += 0.5 * p.lam * float(s @ s)
    if p.side:
        grad[ni] = fd.sum() + p.lam_extra * h
        val += 0.5 * p.lam_extra * h * h
    if p.davidson:
        grad[-1] = gt + p.lam_extra * tau
        val += 0.5 * p.lam_extra * tau * tau
    return _Eval(val, grad, w, k, htt)


def _coupling(p: Problem, ev: _Eval) -> tuple[FloatArray | None, FloatArray | None]:
    e = p.edges
    ni = p.n_items
    bh = scatter(e.left, ev.w, ni) - scatter(e.right, ev.w, ni) if p.side else None
    bt = None
    if p.davidson and ev.k is not None:
        bt = scatter(e.left, ev.k, ni) - scatter(e.right, ev.k, ni)
    return bh, bt


def dense_hessian(p: Problem, ev: _Eval) -> FloatArray:
    """The full Hessian as a dense matrix (for small problems)."""
    e = p.edges
    ni = p.n_items
    adj = scatter(e.left * ni + e.right, ev.w, ni * ni).reshape(ni, ni)
    adj = adj + adj.T
    hess = np.zeros((p.size, p.size))
    hess[:ni, :ni] = -adj
    hess[np.arange(ni), np.arange(ni)] = adj.sum(axis=1) + p.lam
    bh, bt = _coupling(p, ev)
    if p.side and bh is not None:
        hess[:ni, ni] = hess[ni, :ni] = bh
        hess[ni, ni] = ev.w.sum() + p.lam_extra
    if p.davidson:
        if bt is not None:
            hess[:ni, -1] = hess[-1, :ni] = bt
        if p.side and ev.k is not None:
            hess[ni, -1] = hess[-1, ni] = ev.k.sum()
        hess[-1, -1] = ev.htt + p.lam_extra
    return hess


class _HessOp:
    """Hessian-vector products and the Jacobi diagonal, vectorised over edges."""

    def __init__(self, p: Problem, ev: _Eval) -> None:
        e = p.edges
        ni = p.n_items
        self.p, self.ev, self.ni = p, ev, ni
        self.bh, self.bt = _coupling(p, ev)
        diag = np.empty(p.size)
        diag[:ni] = scatter(e.left, ev.w, ni) + scatter(e.right, ev.w, ni) + p.lam
        self.wsum = float(ev.w.sum())
        self.ksum = float(ev.k.sum()) if ev.k is not None else 0.0
        if p.side:
            diag[ni] = self.wsum + p.lam_extra
        if p.davidson:
            diag[-1] = ev.htt + p.lam_extra
        self.diag = diag

    def __call__(self, v: FloatArray) -> FloatArray:
        p, ev, ni, e = self.p, self.ev, self.ni, self.p.edges
        vs = v[:ni]
        delta = vs[e.left] - vs[e.right]
        if p.side:
            delta += v[ni]
        q = ev.w * delta
        if p.davidson and ev.k is not None:
            q += ev.k * v[-1]
        out = np.empty(p.size)
        out[:ni] = scatter(e.left, q, ni) - scatter(e.right, q, ni) + p.lam * vs
        if p.side:
            out[ni] = q.sum() + p.lam_extra * v[ni]
        if p.davidson:
            kd = float(ev.k @ delta) if ev.k is not None else 0.0
            out[-1] = kd + (ev.htt + p.lam_extra) * v[-1]
        return out


def pcg(op: _HessOp, b: FloatArray, rtol: float, maxiter: int = 500) -> FloatArray:
    """Jacobi-preconditioned conjugate gradients for ``H x = b``."""
    inv = 1.0 / op.diag
    x = b * inv  # one Jacobi step as the start
    r = b - op(x)
    z = r * inv
    d = z.copy()
    rz = float(r @ z)
    stop = rtol * float(np.linalg.norm(b))
    for _ in range(maxiter):
        if float(np.linalg.norm(r)) <= stop:
            break
        hd = op(d)
        alpha = rz / float(d @ hd)
        x += alpha * d
        r -= alpha * hd
        z = r * inv
        rz_new = float(r @ z)
        d = z + (rz_new / rz) * d
        rz = rz_new
    return x


def _solve(p: Problem, ev: _Eval, g: FloatArray, rtol: float) -> FloatArray:
    if p.size <= DENSE_MAX:
        hess = dense_hessian(p, ev)
        return np.asarray(scipy.linalg.cho_solve(scipy.linalg.cho_factor(hess), -g))
    return pcg(_HessOp(p, ev), -g, rtol)


def newton(
    p: Problem, x0: FloatArray, step_tol: float = 1e-4, max_iter: int = 100
) -> tuple[FloatArray, int, _Eval]:
    """Damped Newton (Cholesky for small problems, inexact Newton-CG for large).

    Stops after a full step whose largest component is below ``step_tol``: Newton
    converges quadratically, so the remaining error is of order ``step_tol**2``.
    Returns the minimiser, the number of Newton iterations and the last evaluation
    (at the minimiser, or one step of size <= ``step_tol`` before it).
    """
    x = np.array(x0, dtype=np.float64, copy=True)
    ev = objective(p, x)
    g0 = max(float(np.linalg.norm(ev.grad)), 1e-300)
    for it in range(1, max_iter + 1):
        gnorm = float(np.linalg.norm(ev.grad))
        if gnorm == 0.0:
            return x, it - 1, ev
        rtol = min(0.1, np.sqrt(gnorm / g0), gnorm)
        step = _solve(p, ev, ev.grad, max(rtol, 1e-12))
        if float(np.max(np.abs(step))) <= step_tol:
            x += step
            return x, it, ev
        dec = -float(ev.grad @ step)
        t = 1.0
        while True:
            xn = x + t * step
            evn = objective(p, xn)
            if evn.value <= ev.value - 1e-4 * t * dec or t < 1e-12:
                break
            t *= 0.5
        x, ev = xn, evn
    return x, max_iter, ev


def laplace_var(
    p: Problem,
    x: FloatArray,
    exact_max: int = 2000,
    ev: _Eval | None = None,
    components: bool = True,
) -> FloatArray:
    """Diagonal of the inverse Hessian (the Laplace posterior variances) of the items.

    Exact (Cholesky inverse of the full Hessian, including ``h`` and ``tau``) when
    ``n_items <= exact_max``. Otherwise the approximation documented in
    ``docs/models.md``: with ``H = L + lam I`` (``L`` the weighted Laplacian of the
    comparison graph) and ``D = diag(H)``, a second-order Neumann series around ``D``,
    ``1 / D_i + sum_j w_ij^2 / (D_i^2 D_j)``, in which the slowly converging constant mode
    of each connected component ``c`` (eigenvalue exactly ``lam``) is replaced by its exact
    contribution: ``+ 1 / (n_c lam) - mean_c(1 / D) / n_c``. The coupling with ``h`` and
    ``tau`` is ignored on this path.
    """
    ev = objective(p, x)
    ni = p.n_items
    if ni <= exact_max:
        hess = dense_hessian(p, ev)
        cf = scipy.linalg.cho_factor(hess, lower=True)
        inv = scipy.linalg.cho_solve(cf, np.eye(p.size))
        return np.asarray(np.diag(inv)[:ni], dtype=np.float64).copy()
    e = p.edges
    deg = scatter(e.left, ev.w, ni) + scatter(e.right, ev.w, ni)
    dd = deg + p.lam
    w2 = ev.w * ev.w
    second = scatter(e.left, w2 / dd[e.right], ni) + scatter(e.right, w2 / dd[e.left], ni)
    approx = 1.0 / dd + second / (dd * dd)
    if components:
        ncomp, label = scipy.sparse.csgraph.connected_components(
            scipy.sparse.coo_matrix((np.ones(e.left.shape[0]), (e.left, e.right)), shape=(ni, ni)),
            directed=True,
            connection="weak",
        )
    else:
        ncomp, label = 1, np.zeros(ni, dtype=np.int64)
    size = np.bincount(label, minlength=ncomp).astype(np.float64)
    mean_inv = scatter(label, 1.0 / dd, ncomp) / size
    const = 1.0 / (size * p.lam) - mean_inv / size
    return np.asarray(approx + const[label], dtype=np.float64)
