"""The online path of ``crowd-bt`` (:mod:`algorithms.crowd_bt`): between refits each vote moves
the Gaussian view by one ``bt`` Newton step, weighted by the probability that the vote was
answered by the model at its voter's reliability as of the last refit (the crowd's mean for a
new voter). O(1) per vote; the scalar path writes through memoryviews, as ``bt``'s does.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from scipy.special import expit

from algorithms.base import FloatArray, IntArray, as_votes

if TYPE_CHECKING:
    from algorithms.crowd_bt import CrowdBT

__all__ = ["plugin_weights", "update_one"]


def update_one(model: CrowdBT, i: int, j: int, y: float, voter: int | str | None) -> None:
    """Absorb one vote: store it and move the Gaussian view by one Newton step weighted by
    ``P(answered by the model | outcome)`` at the voter's reliability of the last refit."""
    n = model._n
    if not (0 <= i < n and 0 <= j < n) or i == j or not (0.0 <= y <= 1.0):
        as_votes(i, j, y, n)  # raises the standard message
    k = -1
    if voter is not None:
        k = model._voter_index.get(voter, -1)
        if k < 0:
            model._register([voter])
            k = len(model._voter_index) - 1
    m = model._m
    if m == len(model._cmv):
        model._alloc_votes(max(16, 2 * m))
    model._lmv[m], model._rmv[m], model._omv[m], model._cmv[m] = i, j, y, k
    model._m = m + 1
    if y == 0.5:
        model._n_ties += 1
    mean, var = model._mmv, model._vmv
    d = mean[i] - mean[j] + model._h
    r = model._rbar if k < 0 else float(model._rel[k])
    tau = model._tau
    e = math.exp(-abs(d))
    hi, lo = 1.0 / (1.0 + e), e / (1.0 + e)
    pw, pl = (hi, lo) if d >= 0.0 else (lo, hi)  # σ(d), σ(-d) without cancellation
    if tau == -math.inf:
        g, c = y - pw, pw * pl
    else:
        a = 0.5 * d
        big = max(abs(a), tau)
        ew, el = math.exp(a - big), math.exp(-a - big)
        tot = ew + el + math.exp(tau - big)
        dw, dl = ew / tot, el / tot
        g, c = 0.5 * ((2.0 * y - 1.0) - (dw - dl)), 0.25 * (dw + dl - (dw - dl) ** 2)
    if y == 1.0 or y == 0.0:
        q = r * (pw if y == 1.0 else pl)
        den = q + 0.5 * (1.0 - r)
        w = q / den if den > 0.0 else 1.0
    else:
        w = r
    model._wmv[m] = w
    vi = 1.0 / (1.0 / var[i] + w * c)
    vj = 1.0 / (1.0 / var[j] + w * c)
    var[i], var[j] = vi, vj
    mean[i] += vi * w * g
    mean[j] -= vj * w * g


def plugin_weights(model: CrowdBT, d: FloatArray, y: FloatArray, codes: IntArray) -> FloatArray:
    """``P(answered by the model | outcome)`` with each voter's mean reliability."""
    rel = np.append(model._rel, model._rbar)  # code -1 reads the crowd's mean
    r = rel[codes]
    rq = r * np.where(y == 1.0, expit(d), expit(-d))
    den = rq + 0.5 * (1.0 - r)
    w = np.divide(rq, den, out=np.ones_like(den), where=den > 0.0)
    return np.asarray(np.where((y == 1.0) | (y == 0.0), w, r), dtype=np.float64)
