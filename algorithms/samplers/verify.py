"""Verification pairs: now and then a *clear* pair for a voter whose answers do not yet tell
"answers like the crowd" from "answers at random".

An adaptive sampler shows close pairs (the crowd's model predicts ``p`` near ½), where a coin
answers almost as a person would: on them no test tells a random clicker from a person (the
expected log likelihood ratio of a coin against the model is ``½ log 4 p (1 - p)`` per answer,
-0.04 at ``p = 0.6``). On a clear pair (``p = σ(2.4) = 0.92``) it is -0.51, and +0.42 for a
voter who answers as the model predicts: a few such pairs decide what forty close ones cannot
(gold questions of crowdsourcing, asked only of those who need them).

The evidence of each voter is counted online, one O(1) step per answer, with the sampler's
own posterior *before* the answer updates it: ``L = sum log(2 p_chosen)`` over the voter's
decisive answers, ``p`` the predictive probability ``σ(κ (μ_l - μ_r))`` (``κ² = 1 / (1 + π v /
8)``). It is Wald's sequential probability ratio test of "the crowd's model" against "a fair
coin", with the integrity rule's false-positive rate ``ALPHA`` (1 %) and the conventional power
``1 - BETA`` (80 %): the evidence is decided once ``L >= HUMAN = log((1 - ALPHA) / BETA)``
(1.60: the model explains the answers 5 times better than a coin) or ``L <= COIN = -log((1 -
BETA) / ALPHA)`` (-4.38). While it is undecided and the voter has given at least
``verify_from`` decisive answers, a share ``verify`` of the voter's picks are the sampler's
*exploration* pairs (a random item and the item nearest ``dist = 2.4`` from it, the pairs that
carry the most information about the scale of the scores, so the votes are not wasted on the
ranking) instead of the usual share ``explore``. Everything else is unchanged, and each pick's
selection probability stays exact (the share is a function of the voter's evidence at the pick).

The running ``L`` only decides whom to probe; whether a voter is *flagged* is decided by the
integrity rule (``ranker.signals``) with the crowd's model as it is then, on the pairs the
voter was actually shown, so its stated false-positive rate holds with or without probes.

>>> from algorithms import create_model, create_sampler
>>> s = create_sampler("adaptive", seed=0, verify=0.5, verify_from=0)
>>> s.undecided("ann")
True
>>> s.observe(0, 1, 1.0, voter="ann")
>>> s.evidence["ann"]
(1, 0.0)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from algorithms.samplers.base import Sampler
from algorithms.samplers.types import VoterId, voter_key

__all__ = ["ALPHA", "BETA", "COIN", "HUMAN", "Verification"]

ALPHA = 0.01
"""Share of voters answering like the crowd's model that the integrity rule flags."""
BETA = 0.2
"""Share of coins the sequential test may leave undecided-for-the-coin (power 80 %)."""
HUMAN = math.log((1.0 - ALPHA) / BETA)
"""Evidence (log likelihood ratio model : coin) past which a voter is no longer probed."""
COIN = -math.log((1.0 - BETA) / ALPHA)
"""Evidence below which a voter is no longer probed (the coin is the better explanation)."""


class Verification(Sampler):
    """Per-voter running evidence and the probe decision (see the module docstring); mixed
    into samplers that have exploration pairs (``adaptive``, ``settle``)."""

    verify: float = 0.0
    verify_from: int = 20

    def _check_verify(self, verify: float, verify_from: int) -> None:
        if not 0.0 <= float(verify) <= 1.0:
            raise ValueError(f"verify must be in [0, 1], got {verify!r}")
        if int(verify_from) != verify_from or verify_from < 0:
            raise ValueError(f"verify_from must be an int >= 0, got {verify_from!r}")
        self.verify = float(verify)
        self.verify_from = int(verify_from)
        self.evidence: dict[VoterId, tuple[int, float]] = {}
        """Per voter: decisive answers observed and ``L``."""

    def set_verify(self, verify: float, verify_from: int | None = None) -> None:
        """Switch verification pairs on (``verify``: the share of an undecided voter's picks,
        from ``verify_from`` decisive answers on) or off (0): a survey's settings changed. The
        evidence counted so far is kept."""
        evidence = self.evidence
        self._check_verify(verify, self.verify_from if verify_from is None else verify_from)
        self.evidence = evidence

    def undecided(self, voter: VoterId | None) -> bool:
        """Whether ``voter``'s next pick is probed with share ``verify``."""
        if self.verify == 0.0 or voter is None:
            return False
        n, lr = self.evidence.get(voter, (0, 0.0))
        return n >= self.verify_from and COIN < lr < HUMAN

    def observe(
        self, left: int, right: int, outcome: float | None, voter: VoterId | None = None
    ) -> None:
        key = voter_key(voter)
        if key is not None and outcome is not None and outcome in (0.0, 1.0):
            li, ri = int(left), int(right)
            if li != ri and li >= 0 and ri >= 0:
                self._grow(max(li, ri) + 1)
                k2, d = self._guide_shrink(li, ri)
                d *= math.sqrt(k2)
                # log 2 p_chosen with p_left = σ(d): log 2 - log(1 + e^{∓d})
                gain = math.log(2.0) - float(np.logaddexp(0.0, -d if outcome == 1.0 else d))
                n, lr = self.evidence.get(key, (0, 0.0))
                self.evidence[key] = (n + 1, lr + gain)
        super().observe(left, right, outcome, voter)

    def _extra_state(self) -> dict[str, Any]:
        out = super()._extra_state()
        out["evidence"] = [[v, n, lr] for v, (n, lr) in self.evidence.items()]
        return out

    def _load_extra_state(self, data: dict[str, Any]) -> None:
        super()._load_extra_state(data)
        self.evidence = {v: (int(n), float(lr)) for v, n, lr in data.get("evidence", [])}
