"""Signals that a voter may not be an honest person: computed online, one O(1) step per answer.

The projection feeds every counted answer to :meth:`Signals.observe` *before* the model
learns from it, with the crowd model's probability that the left idea wins. Per voter it keeps:

* **agreement with the crowd versus chance**: ``loglr = sum log(p_chosen / 0.5)``, the log
  likelihood ratio of the voter's decisive answers under the crowd's model against a fair
  coin. A voter who answers as the crowd's model predicts gains on average
  ``E = p log 2p + (1 - p) log 2(1 - p)`` per answer (variance
  ``p (1 - p) log(p / (1 - p))^2``); a random clicker drifts below zero (by
  ``0.5 log(4 p (1 - p))``), and someone voting against the crowd falls fast. Flagged when
  the voter's total is ``AGAINST_Z`` standard deviations below what such a voter would reach
  (``agreement_z``) after at least ``AGAINST_MIN`` decisive answers. The crowd's model is
  itself an estimate (and early in a survey a poor one), so the threshold is strict: in
  ``python -m benchmarks.manipulation`` a 2-sigma rule after 20 answers flagged 15% of honest
  voters. A voter who sincerely disagrees with the majority is flagged too: the
  evidence is shown to the organiser, who decides (nothing is voided automatically).
* **side bias**: the share of decisive answers for the left idea, as a binomial z-score
  (sides are randomised, so an honest voter's z is standard normal). Flagged beyond 4.
* **speed**: the share of answers given in under 0.4 s (reading two ideas takes longer).
  Flagged when at least half of ten or more timed answers are that fast.
* **bursts**: the shortest time in which the voter gave 10 answers in a row. Flagged under
  5 s.

Every rule waits for enough answers (``MIN_ANSWERS``) before it can flag, so a new voter is
never flagged on a handful of answers. The thresholds are the defaults of
``python -m benchmarks.manipulation``, which measures how many bots and how many honest
voters they flag.

>>> s = Signals()
>>> for k in range(40):
...     s.observe(0, left_won=True, p_left=0.2, ts=float(k), response_ms=150)
>>> sorted(s.reasons(0))
['against_crowd', 'fast', 'side_bias']
"""

from __future__ import annotations

import math
from collections import deque

import msgspec

__all__ = ["AGAINST_Z", "BURST", "FAST_MS", "MIN_ANSWERS", "Signals", "VoterSignals"]

MIN_ANSWERS = 20
"""Decisive answers a voter needs before side bias can flag them."""
AGAINST_MIN = 30
"""Decisive answers a voter needs before disagreement with the crowd can flag them."""
FAST_MS = 400
"""An answer faster than this (ms from showing the pair) is too fast to have read it."""
BURST = 10
"""Answers in a row whose shortest span is watched."""
BURST_S = 5.0
SIDE_Z = 4.0
AGAINST_Z = 3.0


class VoterSignals(msgspec.Struct):
    """One voter's running signals (see the module docstring)."""

    decisive: int = 0
    left: int = 0
    loglr: float = 0.0
    expected: float = 0.0  # sum of E over the decisive answers
    variance: float = 0.0  # sum of their variances
    timed: int = 0
    fast: int = 0
    burst_s: float = math.inf
    recent: list[float] = msgspec.field(default_factory=list)  # last BURST timestamps

    @property
    def side_z(self) -> float:
        """Binomial z-score of the left share (0 with no decisive answer)."""
        n = self.decisive
        return 0.0 if n == 0 else (self.left - n / 2) / math.sqrt(n / 4)

    @property
    def agreement_z(self) -> float:
        """How many standard deviations the voter's agreement is above (+) or below (-)
        that of a voter who answers as the crowd's model predicts."""
        sd = math.sqrt(self.variance)
        return 0.0 if sd == 0 else (self.loglr - self.expected) / sd

    @property
    def fast_share(self) -> float:
        return 0.0 if self.timed == 0 else self.fast / self.timed


class Signals:
    """Every voter's signals, by voter index."""

    def __init__(self) -> None:
        self.by_voter: dict[int, VoterSignals] = {}

    def observe(
        self,
        voter: int,
        *,
        left_won: bool | None,
        p_left: float,
        ts: float,
        response_ms: int | None,
    ) -> None:
        """One answer: ``left_won`` ``None`` for a tie or a skip; ``p_left`` the crowd
        model's probability that the left idea wins, before this answer."""
        s = self.by_voter.get(voter)
        if s is None:
            s = self.by_voter[voter] = VoterSignals()
        if left_won is not None:
            s.decisive += 1
            p = min(max(p_left, 1e-6), 1 - 1e-6)
            q = 1 - p
            s.expected += p * math.log(2 * p) + q * math.log(2 * q)
            s.variance += p * q * math.log(p / q) ** 2
            if left_won:
                s.left += 1
                s.loglr += math.log(2 * p)
            else:
                s.loglr += math.log(2 * (1 - p))
        if response_ms is not None:
            s.timed += 1
            s.fast += response_ms < FAST_MS
        window = deque(s.recent, maxlen=BURST)
        window.append(ts)
        s.recent = list(window)
        if len(window) == BURST:
            s.burst_s = min(s.burst_s, window[-1] - window[0])

    def reasons(self, voter: int) -> list[str]:
        """Why a voter looks like a bot (empty: nothing suspicious)."""
        s = self.by_voter.get(voter)
        if s is None:
            return []
        out = []
        if s.decisive >= AGAINST_MIN and s.agreement_z <= -AGAINST_Z:
            out.append("against_crowd")
        if s.decisive >= MIN_ANSWERS and abs(s.side_z) >= SIDE_Z:
            out.append("side_bias")
        if s.timed >= 10 and s.fast_share >= 0.5:
            out.append("fast")
        if s.burst_s < BURST_S:
            out.append("burst")
        return out
