"""Fused loops for the partner search (numba), so a pick costs one pass over the
candidates instead of a dozen temporary numpy arrays.

``top_gain`` returns the ``t`` best partners of item ``i`` by ``pair_gain`` (see
:mod:`algorithms.samplers.gain`), best first; ``-1`` pads when fewer exist.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray

LAMBDA2 = math.pi / 8.0


@njit(cache=True, nogil=True)  # type: ignore[untyped-decorator,unused-ignore]
def _top_gain(
    mu: NDArray[np.float64],
    var: NDArray[np.float64],
    i: int,
    cand: NDArray[np.int64],
    use_cand: bool,
    active: NDArray[np.bool_],
    use_active: bool,
    t: int,
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    best_j = np.full(t, -1, dtype=np.int64)
    best_g = np.full(t, -np.inf)
    mi = mu[i]
    vi = var[i]
    m = cand.shape[0] if use_cand else mu.shape[0]
    for q in range(m):
        j = cand[q] if use_cand else q
        if j == i or (use_active and not active[j]):
            continue
        vij = var[j] + vi
        k2 = 1.0 / (1.0 + LAMBDA2 * vij)
        d = mu[j] - mi
        # cheap upper bound first: 2 + 2 cosh(x) >= 4 + x^2
        if vij * k2 / (4.0 + d * d * k2) <= best_g[t - 1]:
            continue
        g = vij * k2 / (2.0 + 2.0 * math.cosh(d * math.sqrt(k2)))
        if g > best_g[t - 1]:
            # insertion into the short sorted list (skip duplicates from sampled candidates)
            dup = False
            for r in range(t):
                if best_j[r] == j:
                    dup = True
                    break
            if dup:
                continue
            r = t - 1
            while r > 0 and best_g[r - 1] < g:
                best_g[r] = best_g[r - 1]
                best_j[r] = best_j[r - 1]
                r -= 1
            best_g[r] = g
            best_j[r] = j
    return best_j, best_g


_EMPTY_I = np.zeros(0, dtype=np.int64)
_EMPTY_B = np.zeros(0, dtype=np.bool_)


def top_gain(
    mu: NDArray[np.float64],
    var: NDArray[np.float64],
    i: int,
    cand: NDArray[np.int64] | None,
    active: NDArray[np.bool_] | None,
    t: int = 8,
) -> tuple[list[int], list[float]]:
    """The ``t`` best partners of ``i`` (active, ``!= i``) by gain, with their gains."""
    js, gs = _top_gain(
        mu,
        var,
        int(i),
        _EMPTY_I if cand is None else cand,
        cand is not None,
        _EMPTY_B if active is None else active,
        active is not None,
        int(t),
    )
    jl: list[int] = js.tolist()
    gl: list[float] = gs.tolist()
    k = jl.index(-1) if -1 in jl else len(jl)
    return jl[:k], gl[:k]


@njit(cache=True, nogil=True)  # type: ignore[untyped-decorator,unused-ignore]
def _exact_scan(
    mu: NDArray[np.float64],
    var: NDArray[np.float64],
    idx: NDArray[np.int64],
    gx: NDArray[np.float64],
    gw: NDArray[np.float64],
    t: int,
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    best_a = np.full(t, -1, dtype=np.int64)
    best_b = np.full(t, -1, dtype=np.int64)
    best_g = np.full(t, -np.inf)
    m = idx.shape[0]
    q = gx.shape[0]
    for ia in range(m):
        a = idx[ia]
        for ib in range(ia + 1, m):
            b = idx[ib]
            d0 = mu[a] - mu[b]
            sd = math.sqrt(2.0 * (var[a] + var[b]))
            pm = 0.0
            hm = 0.0
            for k in range(q):
                d = d0 + sd * gx[k]
                # log(1 + e^{-d}) and log(1 + e^{d}), stable
                if d > 0:
                    l1 = math.log1p(math.exp(-d))
                    l2 = d + l1
                else:
                    l2 = math.log1p(math.exp(d))
                    l1 = l2 - d
                p = math.exp(-l1)
                pm += gw[k] * p
                hm += gw[k] * (p * l1 + (1.0 - p) * l2)
            pm = min(max(pm, 1e-300), 1.0 - 1e-16)
            g = -(pm * math.log(pm) + (1.0 - pm) * math.log1p(-pm)) - hm
            if g > best_g[t - 1]:
                r = t - 1
                while r > 0 and best_g[r - 1] < g:
                    best_g[r] = best_g[r - 1]
                    best_a[r] = best_a[r - 1]
                    best_b[r] = best_b[r - 1]
                    r -= 1
                best_g[r] = g
                best_a[r] = a
                best_b[r] = b
    return best_a, best_b, best_g


def exact_scan(
    mu: NDArray[np.float64],
    var: NDArray[np.float64],
    idx: NDArray[np.int64],
    gx: NDArray[np.float64],
    gw: NDArray[np.float64],
    t: int = 8,
) -> list[tuple[int, int]]:
    """The ``t`` pairs of items in ``idx`` with the largest exact mutual information."""
    a, b, g = _exact_scan(mu, var, idx, gx, gw, int(t))
    return [(int(x), int(y)) for x, y, z in zip(a, b, g, strict=True) if x >= 0 and z > -np.inf]


@njit(cache=True, nogil=True)  # type: ignore[untyped-decorator,unused-ignore]
def _nearest_at_distance(
    mu: NDArray[np.float64],
    i: int,
    dist: float,
    active: NDArray[np.bool_],
    use_active: bool,
) -> int:
    mi = mu[i]
    best = -1
    best_s = -np.inf
    for j in range(mu.shape[0]):
        if j == i or (use_active and not active[j]):
            continue
        s = -abs(abs(mu[j] - mi) - dist)
        if s > best_s:  # strict: the first of equal scores wins, as np.argmax
            best_s = s
            best = j
    return best


def nearest_at_distance(
    mu: NDArray[np.float64], i: int, dist: float, active: NDArray[np.bool_] | None
) -> int:
    """The active ``j != i`` whose mean is nearest to ``dist`` away from ``mu[i]``
    (the argmax of ``-||mu_j - mu_i| - dist|``, first on ties); ``-1`` if none."""
    return int(
        _nearest_at_distance(
            mu, int(i), float(dist), _EMPTY_B if active is None else active, active is not None
        )
    )


@njit(cache=True, nogil=True)  # type: ignore[untyped-decorator,unused-ignore]
def _insert(best_v: NDArray[np.float64], best_i: NDArray[np.int64], v: float, i: int) -> None:
    """Insert ``(v, i)`` into the descending list ``best_v`` (if it beats the last entry)."""
    t = best_v.shape[0]
    if not v > best_v[t - 1]:
        return
    r = t - 1
    while r > 0 and best_v[r - 1] < v:
        best_v[r] = best_v[r - 1]
        best_i[r] = best_i[r - 1]
        r -= 1
    best_v[r] = v
    best_i[r] = i


@njit(cache=True, nogil=True)  # type: ignore[untyped-decorator,unused-ignore]
def boundary_pairs(
    mu: NDArray[np.float64],
    var: NDArray[np.float64],
    active: NDArray[np.bool_],
    use_active: bool,
    k: int,
    c: int,
    delta: float,
    t: int,
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """The ``t`` boundary pairs ``(i in top k, j outside)`` with the largest risk
    ``(mu_j - mu_i - delta) / sqrt(var_i + var_j)``, best first, among the top ``k`` by
    ``mu`` and the ``c`` outsiders with the highest ``mu + 2 sd`` (``-1`` pads)."""
    n = mu.shape[0]
    top_v = np.full(k, -np.inf)
    top_i = np.full(k, -1, dtype=np.int64)
    for q in range(n):
        if use_active and not active[q]:
            continue
        _insert(top_v, top_i, mu[q], q)
    inside = np.zeros(n, dtype=np.bool_)
    for r in range(k):
        if top_i[r] >= 0:
            inside[top_i[r]] = True
    out_v = np.full(c, -np.inf)
    out_i = np.full(c, -1, dtype=np.int64)
    for q in range(n):
        if inside[q] or (use_active and not active[q]):
            continue
        _insert(out_v, out_i, mu[q] + 2.0 * math.sqrt(var[q]), q)
    best_r = np.full(t, -np.inf)
    best_p = np.full(t, -1, dtype=np.int64)
    for a in range(k):
        i = top_i[a]
        if i < 0:
            continue
        for b in range(c):
            j = out_i[b]
            if j < 0:
                continue
            _insert(best_r, best_p, (mu[j] - mu[i] - delta) / math.sqrt(var[i] + var[j]), a * c + b)
    ii = np.full(t, -1, dtype=np.int64)
    jj = np.full(t, -1, dtype=np.int64)
    for r in range(t):
        p = best_p[r]
        if p >= 0:
            ii[r] = top_i[p // c]
            jj[r] = out_i[p % c]
    return ii, jj, best_r
