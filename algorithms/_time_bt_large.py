"""``time-bt``'s MAP: Newton-CG on the block-tridiagonal Hessian, never factorised.

Factorising the Hessian costs ``T n^3`` (dense ``n x n`` blocks); that is paid once per
hyperparameter point for the evidence on the exact path, and never above
:data:`algorithms._time_bt_fit.EXACT_ITEMS` items. Every Newton step is solved by conjugate
gradients with Hessian-vector products by gather/scatter over the votes (:class:`_HessOp` of
``bt``) plus the random-walk prior, preconditioned by

* each item's own time chain, exactly: a tridiagonal system per item (the vote curvature on the
  diagonal, ``-kappa`` beside it), solved for all items at once by one vectorised Thomas sweep
  over the buckets;
* plus a coarse correction on the per-bucket constant vectors (the common level of each bucket,
  which the votes do not see: ``H (1_b) = Q (1_b)`` exactly), a ``T x T`` tridiagonal solve.

Above ``EXACT_ITEMS``, variances of the latest scores: each item's chain on its own (``1 / last
pivot`` of the Thomas sweep) with the common level's contribution replaced by its exact value,
as ``bt``'s large path.
"""

from __future__ import annotations

import math

import numpy as np

from algorithms._bt_fit import _HessOp
from algorithms._bt_objective import _dot, _norm, scatter
from algorithms._time_bt_fit import Hyper, Setup, evaluate, prior_terms
from algorithms.base import FloatArray

__all__ = ["Precond", "approx_latest_var", "newton_cg"]


# vector dots without BLAS (np.add.reduce), as in bt: a multi-threaded BLAS ``dot`` of 60k
# numbers took 9 ms on a busy two-core machine


def _pivots(diag: FloatArray, off: FloatArray) -> FloatArray:
    """Forward-elimination pivots of symmetric tridiagonal systems along the first axis
    (``diag`` on the diagonal, ``-off`` beside it); ``1 / piv[-1]`` is the last diagonal
    element of the inverse."""
    piv = np.empty_like(diag)
    piv[0] = diag[0]
    for b in range(1, diag.shape[0]):
        piv[b] = diag[b] - off[b - 1] ** 2 / piv[b - 1]
    return piv


def _tri_solve(off: FloatArray, piv: FloatArray, r: FloatArray) -> FloatArray:
    """Solve the tridiagonal systems of :func:`_pivots` for ``r`` (Thomas algorithm)."""
    T = piv.shape[0]
    y = r.copy()
    for b in range(1, T):
        y[b] += off[b - 1] * y[b - 1] / piv[b - 1]
    x = np.empty_like(y)
    x[T - 1] = y[T - 1] / piv[T - 1]
    for b in range(T - 2, -1, -1):
        x[b] = (y[b] + off[b] * x[b + 1]) / piv[b]
    return x


class Precond:
    """Per-item tridiagonal chains plus the per-bucket level (coarse) correction."""

    def __init__(self, st: Setup, hy: Hyper, kap: FloatArray, s: FloatArray, w: FloatArray):
        n, T, p = st.n, st.T, st.p
        e = p.edges
        _, _, pdiag = prior_terms(s, st, hy, kap)
        diag = (scatter(e.left, w, n * T) + scatter(e.right, w, n * T)).reshape(T, n) + pdiag
        self.n, self.T, self.kap = n, T, kap
        self.piv = _pivots(diag, kap)
        # coarse: Z' Q Z with Z the per-bucket indicators, a T x T chain of weights n kappa
        cdiag = hy.lam * np.bincount(st.anchor, minlength=T).astype(np.float64)
        cdiag[1:] += n * kap
        cdiag[:-1] += n * kap
        self.coarse_off = n * kap
        self.coarse_piv = _pivots(cdiag, self.coarse_off)
        k = st.extras
        self.extra_diag = np.ones(k)
        if p.side:
            self.extra_diag[0] = float(w.sum()) + p.lam_extra
        if p.davidson:
            self.extra_diag[-1] = 1.0  # replaced by the caller (needs htt)

    def __call__(self, r: FloatArray) -> FloatArray:
        n, T = self.n, self.T
        rs = r[: n * T].reshape(T, n)
        z = _tri_solve(self.kap, self.piv, rs)
        z += _tri_solve(self.coarse_off, self.coarse_piv, rs.sum(axis=1))[:, None]
        return np.concatenate([z.ravel(), r[n * T :] / self.extra_diag])


def _cg(
    matvec: object, precond: Precond, b: FloatArray, rtol: float, maxiter: int = 500
) -> FloatArray:
    mv = matvec  # callable: FloatArray -> FloatArray
    x = np.zeros_like(b)
    r = b.copy()
    z = precond(r)
    d = z.copy()
    rz = _dot(r, z)
    stop = rtol * _norm(b)
    for _ in range(maxiter):
        if _norm(r) <= stop:
            break
        hd = mv(d)  # type: ignore[operator]
        alpha = rz / _dot(d, hd)
        x += alpha * d
        r -= alpha * hd
        z = precond(r)
        rz_new = _dot(r, z)
        d = z + (rz_new / rz) * d
        rz = rz_new
    return x


def newton_cg(
    st: Setup, hy: Hyper, x0: FloatArray, step_tol: float = 1e-6, max_iter: int = 60
) -> tuple[FloatArray, Precond]:
    """Damped inexact Newton-CG; returns the MAP and the preconditioner built there."""
    n, T = st.n, st.T
    kap = hy.kappa(st.gaps) if T > 1 else np.zeros(0)
    x = x0.copy()
    f, g, ev = evaluate(st, hy, kap, x)
    g0 = max(_norm(g), 1e-300)
    for _ in range(max_iter):
        gnorm = _norm(g)
        op = _HessOp(st.p, ev)
        pre = Precond(st, hy, kap, x[: n * T].reshape(T, n), ev.w)
        if st.p.davidson:
            pre.extra_diag[-1] = op.diag[-1]

        def matvec(v: FloatArray, op: _HessOp = op) -> FloatArray:
            out = op(v)
            out[: n * T] += prior_terms(v[: n * T].reshape(T, n), st, hy, kap)[1].ravel()
            return out

        step = _cg(matvec, pre, -g, max(min(0.03, math.sqrt(gnorm / g0), gnorm), 1e-12))
        if float(np.max(np.abs(step), initial=0.0)) <= step_tol:
            return x + step, pre
        dec = -_dot(g, step)
        t = 1.0
        while True:
            xn = x + t * step
            fn, gn, evn = evaluate(st, hy, kap, xn)
            if fn <= f - 1e-4 * t * dec or t < 1e-10:
                break
            t *= 0.5
        x, f, g, ev = xn, fn, gn, evn
    return x, Precond(st, hy, kap, x[: n * T].reshape(T, n), ev.w)


def approx_latest_var(pre: Precond) -> FloatArray:
    """Approximate Laplace variances of the latest scores: each item's chain alone, with the
    common level's contribution (about ``mean / n``) replaced by its exact value."""
    v = 1.0 / pre.piv[-1]
    return np.asarray(v + 1.0 / pre.coarse_piv[-1] - v.mean() / pre.n, dtype=np.float64)
