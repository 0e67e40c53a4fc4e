"""Block-tridiagonal factorisation and solves of ``time-bt``'s exact path, as plain loops (numba).

The blocks are small (``n <= 200`` items) and there are many of them (one per time bucket,
each depending on the previous one). LAPACK through a multi-threaded OpenBLAS is erratic at
these sizes when the cores are busy: a 58 x 58 inverse (``potri``, ``potrs`` with 58
right-hand sides) took from 0.02 to 70 ms on the two-core development machine under load, and
a whole fit went from 0.3 s (one BLAS thread) to 20 s. These loops run single-threaded, in
about ``2 n^3 / 3`` flops per block, at the same speed whatever else the machine does.

The matrix is ``A`` with diagonal blocks ``D_b`` and off-diagonal blocks ``-kappa_b I``
between buckets ``b`` and ``b + 1``. Block elimination: ``S_0 = D_0``, ``S_b = D_b - kappa_{b-1}^2
S_{b-1}^-1``; ``log |A| = sum_b log |S_b|``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray

__all__ = ["block_factor", "block_solve"]


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})  # type: ignore[untyped-decorator,unused-ignore]
def _block_factor(
    blocks: NDArray[np.float64], kap: NDArray[np.float64]
) -> tuple[NDArray[np.float64], float, int]:
    nb, n, _ = blocks.shape
    sinv = np.empty_like(blocks)
    s = np.empty((n, n))
    chol = np.zeros((n, n))
    inv_t = np.zeros((n, n))  # (L^-1)^T, upper triangular, so every sum runs over a row
    logdet = 0.0
    for b in range(nb):
        if b == 0:
            s[:, :] = blocks[0]
        else:
            k2 = kap[b - 1] * kap[b - 1]
            for i in range(n):
                for j in range(n):
                    s[i, j] = blocks[b, i, j] - k2 * sinv[b - 1, i, j]
        # Cholesky s = L L^T (lower)
        for j in range(n):
            acc = s[j, j]
            for k in range(j):
                acc -= chol[j, k] * chol[j, k]
            if not acc > 0.0:
                return sinv, 0.0, b + 1
            d = math.sqrt(acc)
            chol[j, j] = d
            logdet += 2.0 * math.log(d)
            for i in range(j + 1, n):
                acc = s[i, j]
                for k in range(j):
                    acc -= chol[i, k] * chol[j, k]
                chol[i, j] = acc / d
        # X = L^-1 (lower), stored transposed: inv_t[j, i] = X[i, j]
        for j in range(n):
            inv_t[j, j] = 1.0 / chol[j, j]
            for i in range(j + 1, n):
                acc = 0.0
                for k in range(j, i):
                    acc -= chol[i, k] * inv_t[j, k]
                inv_t[j, i] = acc / chol[i, i]
        # S^-1 = X^T X: (i, j) = sum_{k >= max(i, j)} X[k, i] X[k, j]
        for i in range(n):
            for j in range(i + 1):
                acc = 0.0
                for k in range(i, n):
                    acc += inv_t[i, k] * inv_t[j, k]
                sinv[b, i, j] = acc
                sinv[b, j, i] = acc
    return sinv, logdet, 0


def block_factor(
    blocks: NDArray[np.float64], kap: NDArray[np.float64]
) -> tuple[NDArray[np.float64], float]:
    """``(S_b^-1 for every bucket, log |A|)``; ``LinAlgError`` if ``A`` is not positive
    definite."""
    sinv, logdet, bad = _block_factor(
        np.ascontiguousarray(blocks, dtype=np.float64), np.ascontiguousarray(kap, np.float64)
    )
    if bad:
        raise np.linalg.LinAlgError(f"time-bt Hessian not positive definite (block {bad - 1})")
    return sinv, float(logdet)


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})  # type: ignore[untyped-decorator,unused-ignore]
def _block_solve(
    sinv: NDArray[np.float64], kap: NDArray[np.float64], r: NDArray[np.float64]
) -> NDArray[np.float64]:
    nb, n, m = r.shape
    y = r.copy()
    for b in range(1, nb):
        for i in range(n):
            for c in range(m):
                acc = 0.0
                for k in range(n):
                    acc += sinv[b - 1, i, k] * y[b - 1, k, c]
                y[b, i, c] += kap[b - 1] * acc
    x = np.empty_like(y)
    rhs = np.empty((n, m))
    for b in range(nb - 1, -1, -1):
        for k in range(n):
            for c in range(m):
                rhs[k, c] = y[b, k, c] + (kap[b] * x[b + 1, k, c] if b < nb - 1 else 0.0)
        for i in range(n):
            for c in range(m):
                acc = 0.0
                for k in range(n):
                    acc += sinv[b, i, k] * rhs[k, c]
                x[b, i, c] = acc
    return x


def block_solve(
    sinv: NDArray[np.float64], kap: NDArray[np.float64], r: NDArray[np.float64]
) -> NDArray[np.float64]:
    """``A^-1 r`` for ``r`` of shape ``(T, n, k)`` from :func:`block_factor`'s inverses."""
    return np.asarray(
        _block_solve(sinv, np.ascontiguousarray(kap, np.float64), np.ascontiguousarray(r)),
        dtype=np.float64,
    )
