"""Bounded influence for ``bt``: one voter's push on any one item is capped.

A mixin of :class:`algorithms.bt.BTModel`. With ``influence_cap = c`` the model keeps each
vote's voter and fits a vote in which ``i`` beat ``j`` with the weight

``w = min(1, c_v / up[v, i], c_v / down[v, j])``,   ``c_v = max(c, 2 T_v / k_v)``

where ``up[v, i]`` is how many of the model's votes by voter ``v`` have item ``i`` winning (or
tying), ``down[v, j]`` how many have ``j`` losing (a tie counts for both items), ``T_v`` the
voter's votes and ``k_v`` the distinct items they are about. A voter who picks an item at most
``c_v`` times, and passes it over at most ``c_v`` times, counts in full; one who picks one item
again and again (a ballot harvester pushing it) weighs, *for* that item, as ``c_v`` answers
however many they give: ``sum w <= c_v`` for every voter, item and direction, so no voter pushes
an item up (or down) by more than ``c_v`` answers' worth. ``2 T_v / k_v`` is the voter's fair
share: what answering about each item they compared alike gives each one. It lifts the cap only
for voters who answer many pairs among the items they saw (a panel member comparing every pair
of 6 ideas answers 5 times about each, and the best idea wins all 5; capped at 3, four such
members could no longer tell the ideas apart), never for one whose answers pile up on one item,
which is what pushing it takes: a voter answering only pairs with item ``i`` (``k_v = T_v + 1``
opponents and ``i``) has a share below 2. To count ``a`` answers for ``i`` in full, a voter must
answer ``a (a + 1) / 2`` pairs in all, as many as every pair among ``i`` and ``a`` opponents: a
whole panel's work. The two
directions are counted apart because only one of them pushes: an honest voter shown the same
close items again and again picks them sometimes and not others, and a cap on all their answers
about an item weighed them down for nothing (with the adaptive sampler and 20 answers each over
50 ideas, a cap of 3 on all answers took 2.9% of honest voters' weight, on each direction 0.6%;
``python -m benchmarks.manipulation``). Votes without a voter (``voter=None`` or ``-1``) weigh
1; without outcomes every vote counts in both directions (the cap on all answers about an item).
The weights are recomputed at a refit, vectorised (one ``bincount`` or ``unique`` over the few
votes past the cap), and skipped, with no cost to the fit, while no voter passes ``c`` on any
item and direction.

>>> import numpy as np
>>> from algorithms._bt_influence import influence_weights
>>> voter, left, right = np.array([0, 0, 0, 1]), np.array([0, 0, 0, 1]), np.array([1, 2, 3, 2])
>>> influence_weights(voter, left, right, n=4, cap=2.0, out=np.ones(4)).tolist()
[0.6666666666666666, 0.6666666666666666, 0.6666666666666666, 1.0]
>>> influence_weights(voter, left, right, n=4, cap=2.0, out=np.array([1.0, 0.0, 1.0, 1.0])) is None
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from algorithms.base import FloatArray, IntArray

__all__ = ["DEFAULT_INFLUENCE_CAP", "BTInfluence", "influence_weights"]

DEFAULT_INFLUENCE_CAP = 3.0
"""The cap the ranker service uses: one voter weighs at most as 3 answers for any one idea
(and 3 against it)."""

_BUCKETS = 1 << 20  # voter x item keys are first counted in this many hashed buckets


def influence_weights(
    voter: IntArray,
    left: IntArray,
    right: IntArray,
    n: int,
    cap: float,
    out: FloatArray | None = None,
) -> FloatArray | None:
    """Per vote ``min(1, c_v / up[v, winner], c_v / down[v, loser])`` with ``c_v = max(cap, 2
    T_v / k_v)`` (1 where ``voter < 0``;
    ``out`` the left item's outcomes, 1, 0 or 0.5; ``None``: count every vote in both
    directions); ``None`` when every weight is 1.

    O(votes) with bincounts: keys ``v * n + i`` are counted in hashed buckets first (a bucket
    holds at least its keys' counts, so a bucket within the cap clears all its keys); only the
    keys of buckets past the cap are counted exactly (``unique`` on that small subset).
    """
    known = voter >= 0
    if not known.any():
        return None
    v = voter[known]
    keys = np.concatenate([v * n + left[known], v * n + right[known]])
    size = (int(v.max()) + 1) * n
    if out is not None:  # key 2k: the item won or tied; 2k + 1: it lost
        y = out[known]
        keys = 2 * keys + np.concatenate([y < 0.5, y > 0.5])
        size *= 2
    buckets = keys % _BUCKETS if size > _BUCKETS else keys
    counts = np.bincount(buckets, minlength=min(size, _BUCKETS))
    over = counts[buckets] > cap
    if not over.any():
        return None
    per = np.zeros(keys.shape[0], dtype=np.int64)  # 0: within the cap
    _, inverse, exact = np.unique(keys[over], return_inverse=True, return_counts=True)
    per[over] = exact[inverse]
    k = v.shape[0]
    # each voter's own cap: at least their fair share 2 T_v / k_v (T_v votes about k_v distinct
    # items: what answering about each of them alike gives each), so a panel member who
    # compares every pair is not capped, and one whose answers pile up on one item is
    # (counted only for the voters past the cap: a few, whatever the votes)
    for_past = np.isin(v, np.unique(np.concatenate([v, v])[over]))
    of_past = np.concatenate([for_past, for_past])  # keys hold both ends of each vote
    items_of = np.unique(keys[of_past] // (2 if out is not None else 1)) // n
    mine = np.full(k, float(cap))
    share = 2.0 * np.bincount(v[for_past]) / np.maximum(np.bincount(items_of), 1)
    mine[for_past] = np.maximum(cap, share[v[for_past]])
    w = np.ones(voter.shape[0], dtype=np.float64)
    w[known] = mine / np.maximum(np.maximum(per[:k], per[k:]), mine)
    if np.all(w == 1.0):
        return None
    return w


class BTInfluence:
    """The voter buffer and the influence weights; needs the state of ``BTModel``."""

    # provided by BTModel
    influence_cap: float | None
    _n: int
    _m: int
    _n_fit: int
    _left: IntArray
    _right: IntArray
    _out: FloatArray

    def _check_cap(self) -> None:
        cap = self.influence_cap
        if cap is not None and (
            isinstance(cap, bool)
            or not isinstance(cap, int | float | np.integer | np.floating)
            or not (0.0 < float(cap) < math.inf)
        ):
            raise ValueError(f"influence_cap must be None or a finite number > 0, got {cap!r}")

    def _reset_voters(self) -> None:
        self._cap_voter: IntArray = np.full(
            16 if self.influence_cap is not None else 0, -1, np.int64
        )
        self._cap_at = -1  # votes when the weights were computed
        self._cap_w: FloatArray | None = None
        self._voter_scale: dict[int, float] = {}

    def _note_voters(self, voter: Any, k: int) -> None:
        """Record the voters of the last ``k`` votes (``None``: unknown)."""
        if self.influence_cap is None:
            return
        m = self._m
        if self._cap_voter.shape[0] < m:
            grown = np.full(max(16, 2 * m), -1, dtype=np.int64)
            grown[: self._cap_voter.shape[0]] = self._cap_voter
            self._cap_voter = grown
        if voter is None:
            self._cap_voter[m - k : m] = -1
            return
        v = np.asarray(voter, dtype=np.int64).reshape(-1)
        if v.shape[0] != k:
            raise ValueError(f"voter must name one voter per vote: {v.shape[0]} for {k} votes")
        self._cap_voter[m - k : m] = np.maximum(v, -1)

    def set_voter_weights(self, weights: Mapping[int, float]) -> None:
        """Scale every vote of the voters named (index -> weight in ``(0, 1]``) on top of the
        cap, e.g. to count flagged voters a tenth; an empty mapping undoes it. Needs an
        ``influence_cap`` (the votes' voters are kept only then). Not part of the state."""
        if self.influence_cap is None:
            raise ValueError("set_voter_weights needs influence_cap (voters are not kept)")
        for v, w in weights.items():
            if not 0.0 < float(w) <= 1.0:
                raise ValueError(f"voter weights must be in (0, 1], got {w!r} for voter {v!r}")
        self._voter_scale = {int(v): float(w) for v, w in weights.items()}
        self._cap_at = -1
        self._n_fit = -1  # refit at the next read

    def vote_arrays(self) -> tuple[IntArray, IntArray, FloatArray, IntArray]:
        """Copies of the votes: ``(left, right, outcome, voter)`` (voter -1: unknown; all -1
        without an ``influence_cap``)."""
        m = self._m
        voter = self._cap_voter[:m].copy() if self.influence_cap is not None else None
        if voter is None or voter.shape[0] < m:
            voter = np.full(m, -1, dtype=np.int64)
        return self._left[:m].copy(), self._right[:m].copy(), self._out[:m].copy(), voter

    def _influence(self) -> FloatArray | None:
        """The influence weights of the current votes (cached until votes or items change)."""
        cap = self.influence_cap
        if cap is None:
            return None
        if self._cap_at != self._m:
            m = self._m
            left, right = self._left[:m], self._right[:m]
            voter = self._cap_voter[:m]
            w = influence_weights(voter, left, right, self._n, float(cap), self._out[:m])
            if self._voter_scale:
                codes = np.fromiter(self._voter_scale, dtype=np.int64)
                scale = np.fromiter(self._voter_scale.values(), dtype=np.float64)
                hit = np.isin(voter, codes)
                if hit.any():
                    lookup = dict(zip(codes.tolist(), scale.tolist(), strict=True))
                    w = np.ones(m) if w is None else w
                    w[hit] *= np.array([lookup[v] for v in voter[hit].tolist()])
            self._cap_w = w
            self._cap_at = m
        return self._cap_w
