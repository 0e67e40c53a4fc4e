"""Votes of ``bt`` in growable buffers, and the per-vote Gaussian view of its posterior.

A mixin of :class:`algorithms.bt.BTModel`, kept apart so each module fits on a few screens.
Between refits :meth:`BTVotes.posterior` moves with each vote by one diagonal Newton
(Gaussian) step per item, in pure-Python scalar maths on memoryviews for single votes and
vectorised for batches; see ``docs/models.md`` ("The O(1)-per-vote posterior view").
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from algorithms._bt_objective import edge_step, scatter
from algorithms.base import FloatArray, IntArray, Posterior

__all__ = ["BTVotes"]


class BTVotes:
    """Vote buffers and the O(1)-per-vote posterior view; needs the state of ``BTModel``."""

    # provided by BTModel
    _ready: bool
    _n: int
    _m: int
    _n_ties: int
    _h: float
    _tau: float
    _mean: FloatArray
    _var: FloatArray
    _left: IntArray
    _right: IntArray
    _out: FloatArray

    def _ensure(self) -> None:
        raise NotImplementedError

    def _alloc_votes(self, cap: int) -> None:
        left: IntArray = np.zeros(cap, dtype=np.int64)
        right: IntArray = np.zeros(cap, dtype=np.int64)
        out: FloatArray = np.zeros(cap, dtype=np.float64)
        if hasattr(self, "_left"):
            m = self._m
            left[:m] = self._left[:m]
            right[:m] = self._right[:m]
            out[:m] = self._out[:m]
        self._left, self._right, self._out = left, right, out
        self._lmv: Any = left.data
        self._rmv: Any = right.data
        self._omv: Any = out.data

    def _bind_views(self) -> None:
        self._mmv: Any = self._mean.data
        self._vmv: Any = self._var.data

    # memoryviews cannot be pickled: drop them and rebind (copy.deepcopy, pickle)
    _VIEWS = ("_lmv", "_rmv", "_omv", "_mmv", "_vmv")

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in self._VIEWS}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if self._ready:
            self._lmv = self._left.data
            self._rmv = self._right.data
            self._omv = self._out.data
            self._bind_views()

    def _update_one(self, i: int, j: int, y: float) -> None:
        n = self._n
        if not (0 <= i < n and 0 <= j < n):
            raise ValueError(f"item index out of range for n_items={n}: left={i}, right={j}")
        if i == j:
            raise ValueError("an item cannot be compared with itself (left == right)")
        if not (0.0 <= y <= 1.0):
            raise ValueError("outcome must be in [0, 1]: 1 left wins, 0 right wins, 0.5 tie")
        m = self._m
        if m == len(self._lmv):
            self._alloc_votes(max(16, 2 * m))
        self._lmv[m] = i
        self._rmv[m] = j
        self._omv[m] = y
        self._m = m + 1
        if y == 0.5:
            self._n_ties += 1
        # one diagonal Newton step on the Gaussian view
        mean = self._mmv
        var = self._vmv
        d = mean[i] - mean[j] + self._h
        tau = self._tau
        if tau == -math.inf:
            if d >= 0.0:
                p = 1.0 / (1.0 + math.exp(-d))
            else:
                e = math.exp(d)
                p = e / (1.0 + e)
            g = y - p
            w = p * (1.0 - p)
        else:
            a = 0.5 * d
            big = max(abs(a), tau)
            ew = math.exp(a - big)
            el = math.exp(-a - big)
            tot = ew + el + math.exp(tau - big)
            pw = ew / tot
            pl = el / tot
            mm = pw - pl
            g = 0.5 * ((2.0 * y - 1.0) - mm)
            w = 0.25 * (pw + pl - mm * mm)
        vi = 1.0 / (1.0 / var[i] + w)
        vj = 1.0 / (1.0 / var[j] + w)
        var[i] = vi
        var[j] = vj
        mean[i] += vi * g
        mean[j] -= vj * g

    def _append(self, li: IntArray, ri: IntArray, yy: FloatArray) -> None:
        m, k = self._m, li.shape[0]
        if m + k > len(self._lmv):
            cap = max(16, len(self._lmv))
            while cap < m + k:
                cap *= 2
            self._alloc_votes(cap)
        self._left[m : m + k] = li
        self._right[m : m + k] = ri
        self._out[m : m + k] = yy
        self._m = m + k
        self._n_ties += int(np.count_nonzero(yy == 0.5))

    def _batch_step(self, li: IntArray, ri: IntArray, yy: FloatArray) -> None:
        """Vectorised diagonal Newton step of the Gaussian view over a whole batch."""
        if li.size == 0:
            return
        n = self._n
        d = self._mean[li] - self._mean[ri] + self._h
        g, w = edge_step(d, yy, self._tau)
        grad = scatter(li, g, n) - scatter(ri, g, n)
        curv = scatter(li, w, n) + scatter(ri, w, n)
        self._var[:] = 1.0 / (1.0 / self._var + curv)
        self._mean += self._var * grad

    def posterior(self) -> Posterior:
        self._ensure()
        mean = self._mean.view()
        var = self._var.view()
        mean.flags.writeable = False
        var.flags.writeable = False
        return Posterior(mean=mean, var=var)
