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
