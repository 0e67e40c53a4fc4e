"""Solvers of the Bradley-Terry MAP problem of :mod:`algorithms._bt_objective` (which
explains the objective and the parameter vector ``x = [s, (h), (tau)]``).

:func:`newton` is a damped Newton iteration: Cholesky of the dense Hessian for small problems,
inexact Newton-CG (:func:`pcg`, matrix-free Hessian-vector products) above
:data:`DENSE_MAX` parameters. :func:`initial_scores` is its cold start and
:func:`laplace_var` the Laplace posterior variances at the minimiser.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.linalg
import scipy.linalg.lapack
import scipy.sparse
import scipy.sparse.csgraph

# The problem and the objective are re-exported: crowd-bt, group-bt and tests import them here.
from algorithms._bt_objective import Edges as Edges
from algorithms._bt_objective import Problem as Problem
from algorithms._bt_objective import _dot as _dot
from algorithms._bt_objective import _Eval as _Eval
from algorithms._bt_objective import _norm as _norm
from algorithms._bt_objective import _sum
from algorithms._bt_objective import aggregate as aggregate
from algorithms._bt_objective import edge_step as edge_step
from algorithms._bt_objective import objective as objective
from algorithms._bt_objective import scatter as scatter
from algorithms.base import FloatArray

__all__ = ["Edges", "Problem", "aggregate", "laplace_var", "newton", "objective"]

#: Above this many parameters the Newton system is solved by preconditioned CG.
DENSE_MAX = 400


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
        delta = np.take(vs, e.left, out=p.buf("h0"), mode="clip")
        delta -= np.take(vs, e.right, out=p.buf("h1"), mode="clip")
        if p.side:
            delta += v[ni]
        q = np.multiply(ev.w, delta, out=p.buf("h1"))
        if p.davidson and ev.k is not None:
            q += ev.k * v[-1]
        out = np.empty(p.size)
        out[:ni] = scatter(e.left, q, ni) - scatter(e.right, q, ni) + p.lam * vs
        if p.side:
            out[ni] = q.sum() + p.lam_extra * v[ni]
        if p.davidson:
            kd = _dot(ev.k, delta) if ev.k is not None else 0.0
            out[-1] = kd + (ev.htt + p.lam_extra) * v[-1]
        return out


def pcg(op: _HessOp, b: FloatArray, rtol: float, maxiter: int = 500) -> FloatArray:
    """Preconditioned conjugate gradients for ``H x = b``, starting at 0.

    Preconditioner: Jacobi plus a coarse correction on the constant vector of the items
    (``H_ss 1 = lam 1`` exactly: the Laplacian part vanishes), which removes the one
    isolated small eigenvalue that Jacobi leaves behind.
    """
    inv = 1.0 / op.diag
    ni = op.ni
    coarse = 1.0 / (op.p.lam * ni)

    def precond(r: FloatArray) -> FloatArray:
        z = r * inv
        z[:ni] += coarse * _sum(r[:ni])
        return z

    x = np.zeros_like(b)
    r = b.copy()
    z = precond(r)
    d = z.copy()
    rz = _dot(r, z)
    stop = rtol * _norm(b)
    for _ in range(maxiter):
        if _norm(r) <= stop:
            break
        hd = op(d)
        alpha = rz / _dot(d, hd)
        x += alpha * d
        r -= alpha * hd
        z = precond(r)
        rz_new = _dot(r, z)
        d = z + (rz_new / rz) * d
        rz = rz_new
    return x


def _solve(p: Problem, ev: _Eval, g: FloatArray, rtol: float) -> FloatArray:
    if p.size <= DENSE_MAX:
        hess = dense_hessian(p, ev)
        return np.asarray(scipy.linalg.cho_solve(scipy.linalg.cho_factor(hess), -g))
    return pcg(_HessOp(p, ev), -g, rtol)


#: ``retune(p, x, ev, size)`` of :func:`newton`: called after every accepted step (``size``
#: its largest component, ``ev`` the evaluation at ``x`` or one tiny step before it); returns
#: the problem with new hyperparameters, or ``None`` to keep ``p``.
Retune = Callable[[Problem, FloatArray, _Eval, float], Problem | None]


def newton(
    p: Problem,
    x0: FloatArray,
    step_tol: float = 1e-4,
    max_iter: int = 100,
    retune: Retune | None = None,
) -> tuple[FloatArray, int, _Eval]:
    """Damped Newton (Cholesky for small problems, inexact Newton-CG for large).

    Stops after a full step whose largest component is below ``step_tol``: Newton
    converges quadratically, so the remaining error is of order ``step_tol**2``.
    A full step ``p`` is accepted without computing the objective when the directional
    derivative at the new point is still <= 0 (by convexity the objective then decreased
    along the whole step), or, for steps of at most 1 in every score, when it is below half
    the Newton decrement (the objective, locally close to quadratic, still decreased by
    about a quarter of it); otherwise Armijo backtracking on the objective value.
    Returns the minimiser, the number of Newton iterations and the last evaluation
    (at the minimiser, or one step of size <= ``step_tol`` before it).

    ``retune`` may change the prior precision ``lam`` between steps (the empirical Bayes
    search of :mod:`algorithms._bt_auto`): the gradient is moved to the new ``lam`` (the
    vote terms and their curvature do not depend on it) and the iteration goes on; it stops
    only after a step <= ``step_tol`` that ``retune`` leaves alone. The caller's hook knows
    the final problem.
    """
    x = np.array(x0, dtype=np.float64, copy=True)
    ev = objective(p, x, need_value=False)
    g0 = max(_norm(ev.grad), 1e-300)
    for it in range(1, max_iter + 1):
        gnorm = _norm(ev.grad)
        if gnorm == 0.0:
            q = retune(p, x, ev, 0.0) if retune is not None else None
            if q is None:
                return x, it - 1, ev
            p = _moved(p, q, x, ev)
            continue
        rtol = min(0.03, np.sqrt(gnorm / g0), gnorm)
        step = _solve(p, ev, ev.grad, max(rtol, 1e-12))
        size = float(np.max(np.abs(step)))
        if size <= step_tol:
            x += step
            q = retune(p, x, ev, size) if retune is not None else None
            if q is None:
                return x, it, ev
            p = q
            ev = objective(p, x, need_value=False)
            continue
        big_step = size > 1.0
        xn = x + step
        evn = objective(p, xn, need_value=False)
        dec = -_dot(ev.grad, step)
        slope = _dot(evn.grad, step)
        if slope > 0.0 and (big_step or slope > 0.5 * dec):
            f0 = objective(p, x).value
            t = 1.0
            while True:
                evn = objective(p, xn)
                if evn.value <= f0 - 1e-4 * t * dec or t < 1e-12:
                    break
                t *= 0.5
                xn = x + t * step
        x, ev = xn, evn
        if retune is not None:
            q = retune(p, x, ev, size)
            if q is not None:
                p = _moved(p, q, x, ev)
    return x, max_iter, ev


def _moved(p: Problem, q: Problem, x: FloatArray, ev: _Eval) -> Problem:
    """Move ``ev`` (gradient, value) from the prior precision of ``p`` to that of ``q``."""
    s = x[: p.n_items]
    dlam = q.lam - p.lam
    ev.grad[: p.n_items] += dlam * s
    ev.value += 0.5 * dlam * _dot(s, s)
    return q


def initial_scores(p: Problem) -> FloatArray:
    """Cold-start point: each item's smoothed log win/loss ratio, shrunk toward the prior.

    ``s_i = log((w_i + 1/2) / (l_i + 1/2)) * g_i / (g_i + 5 / lam)`` with ``g_i`` games,
    ``w_i`` wins (a tie counts one half) and ``l_i = g_i - w_i``. On random comparison graphs
    this saves about two of the six Newton iterations a start at zero needs.
    """
    e = p.edges
    ni = p.n_items
    games = scatter(e.left, e.n, ni) + scatter(e.right, e.n, ni)
    wins = scatter(e.left, e.y, ni) + scatter(e.right, e.n - e.y, ni)
    ratio = np.log((wins + 0.5) / (games - wins + 0.5))
    return np.asarray(ratio * games / (games + 5.0 / p.lam), dtype=np.float64)


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
    ``tau`` is ignored on this path. ``components=False`` skips the search for components
    (treats the graph as connected: cheaper, used for the posterior view). ``ev`` may pass
    a ready evaluation at (or one tiny Newton step next to) ``x``.
    """
    ev = ev if ev is not None else objective(p, x)
    ni = p.n_items
    if ni <= exact_max:
        # Cholesky, then LAPACK's inverse from the factor (potri): ~n^3 flops in all
        chol, info = scipy.linalg.lapack.dpotrf(dense_hessian(p, ev), lower=1)
        if info != 0:
            raise np.linalg.LinAlgError(f"Hessian not positive definite (potrf info={info})")
        inv, info = scipy.linalg.lapack.dpotri(chol, lower=1)
        if info != 0:
            raise np.linalg.LinAlgError(f"Hessian inversion failed (potri info={info})")
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
