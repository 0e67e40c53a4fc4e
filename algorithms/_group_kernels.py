"""Dense Cholesky kernels of ``group-bt``'s exact path, as plain loops (numba).

The matrices are small (at most ``exact_max`` parameters, 400 by default) and factorised many
times per fit (every Newton step of every point of the search for ``sigma``). LAPACK through a
multi-threaded OpenBLAS is erratic at these sizes when the cores are busy: on the two-core
development machine under load a 160-parameter fit took 0.6 to 11 s with the default BLAS
threads against 0.15 s with one (``time-bt`` measured the same, see
:mod:`algorithms._time_bt_kernels`). These loops run single-threaded, at the same speed
whatever else the machine does.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray

__all__ = ["back_solve_rows", "cholesky", "cholesky_solve", "inverse_factor_t"]


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})  # type: ignore[untyped-decorator,unused-ignore]
def _cholesky(a: NDArray[np.float64]) -> tuple[NDArray[np.float64], float, int]:
    n = a.shape[0]
    chol = np.zeros((n, n))
    logdet = 0.0
    for j in range(n):
        acc = a[j, j]
        for k in range(j):
            acc -= chol[j, k] * chol[j, k]
        if not acc > 0.0:
            return chol, 0.0, j + 1
        d = math.sqrt(acc)
        chol[j, j] = d
        logdet += 2.0 * math.log(d)
        for i in range(j + 1, n):
            acc = a[i, j]
            for k in range(j):
                acc -= chol[i, k] * chol[j, k]
            chol[i, j] = acc / d
    return chol, logdet, 0


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})  # type: ignore[untyped-decorator,unused-ignore]
def _solve(chol: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    n = chol.shape[0]
    y = np.empty(n)
    for i in range(n):  # L y = b
        acc = b[i]
        for k in range(i):
            acc -= chol[i, k] * y[k]
        y[i] = acc / chol[i, i]
    x = np.empty(n)
    for i in range(n - 1, -1, -1):  # L^T x = y
        acc = y[i]
        for k in range(i + 1, n):
            acc -= chol[k, i] * x[k]
        x[i] = acc / chol[i, i]
    return x


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})  # type: ignore[untyped-decorator,unused-ignore]
def _inverse_t(chol: NDArray[np.float64]) -> NDArray[np.float64]:
    n = chol.shape[0]
    # X = L^-1 (lower), stored transposed: xt[j, i] = X[i, j], so each sum runs over a row
    xt = np.zeros((n, n))
    for j in range(n):
        xt[j, j] = 1.0 / chol[j, j]
        for i in range(j + 1, n):
            acc = 0.0
            for k in range(j, i):
                acc -= chol[i, k] * xt[j, k]
            xt[j, i] = acc / chol[i, i]
    return xt


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})  # type: ignore[untyped-decorator,unused-ignore]
def _back_solve_rows(upper: NDArray[np.float64], z: NDArray[np.float64]) -> NDArray[np.float64]:
    m, n = z.shape
    out = np.empty((m, n))
    for r in range(m):  # U x = z[r] with U = L^T (rows contiguous)
        for i in range(n - 1, -1, -1):
            acc = z[r, i]
            for k in range(i + 1, n):
                acc -= upper[i, k] * out[r, k]
            out[r, i] = acc / upper[i, i]
    return out


def cholesky(a: NDArray[np.float64]) -> tuple[NDArray[np.float64], float]:
    """Lower Cholesky factor of a symmetric positive definite ``a`` and ``log det a``."""
    chol, logdet, info = _cholesky(np.ascontiguousarray(a, dtype=np.float64))
    if info:
        raise np.linalg.LinAlgError(f"Hessian not positive definite (pivot {info})")
    return chol, float(logdet)


def cholesky_solve(chol: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    """``x`` with ``L L^T x = b``."""
    return np.asarray(_solve(chol, np.ascontiguousarray(b, dtype=np.float64)))


def inverse_factor_t(chol: NDArray[np.float64]) -> NDArray[np.float64]:
    """``X^T`` for ``X = L^-1``: row ``a`` of the result is column ``a`` of ``L^-1``, so
    ``(L L^T)^-1[a, b]`` is the dot product of rows ``a`` and ``b``."""
    return np.asarray(_inverse_t(chol))


def back_solve_rows(chol: NDArray[np.float64], z: NDArray[np.float64]) -> NDArray[np.float64]:
    """``L^-T z_r`` for every row ``z_r`` of ``z``: draws with covariance ``(L L^T)^-1`` from
    standard normal rows."""
    upper = np.ascontiguousarray(chol.T)
    return np.asarray(_back_solve_rows(upper, np.ascontiguousarray(z, dtype=np.float64)))
