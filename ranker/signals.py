"""Signals that a voter may not be an honest person.

Counted online, one O(1) step per answer and no model work on the answer path
(:meth:`Signals.observe`): the **side** of each decisive answer, **speed** (answers given in
under 0.4 s: reading two ideas takes longer) and **bursts** (the shortest time in which the
voter gave 10 answers in a row). **Agreement with the crowd** is computed when someone asks
(:func:`agreement`, vectorised over the voters' counted answers), with the crowd's model as it
is *then*, not as it was early in the survey:

``loglr = sum log(p_chosen / 0.5)`` is the log likelihood ratio of the voter's decisive
answers under the crowd's model against a fair coin. By the Neyman-Pearson lemma the most
powerful test of "answers like the crowd" against "answers at random" (or against the crowd)
rejects when ``loglr`` is small, so the rule is that test at a stated false-positive rate:
``agreement_p`` is the probability that a voter whose answers follow the crowd's model, on the
very pairs this voter was shown, would have a ``loglr`` this low or lower, and ``against_crowd``
asks ``agreement_p <= AGAINST_ALPHA`` (1%: about one honest voter in a hundred, whatever the
pairs; fewer when voters agree with the model more than it predicts). The sum has a heavy left
tail (an honest upset on a lopsided pair costs much), so ``agreement_p`` is computed exactly
enough, by simulating ``EXACT_DRAWS`` voters on the same pairs (seeded per voter: the same
answers give the same p), for every voter the normal approximation puts below ``-SCREEN_Z``
(the normal one overstated the evidence: at 20-40 answers it flagged 1-2% of honest voters at a
nominal 0.13%). Past ``EXACT_MAX`` answers the normal approximation is used.
A voter who is merely noisier than the model predicts but clearly better than a coin (real
people differ: a potato-weighing assessor right 85% of the time where the crowd's model expects
92%, over 190 answers) is unlikely under the model too, so the flag also asks that the coin
explain the answers at least as well as the crowd's model does (``log_lr <= 0``: the Bayes
factor favours the coin).
``agreement_z`` is the descriptive score: standard deviations below (-) what a voter following
the model would reach (mean ``E = p log 2p + (1 - p) log 2(1 - p)`` per answer, variance
``p (1 - p) log(p / (1 - p))^2``). A coin-clicker drifts below zero by ``0.5 log(4 p (1 -
p))`` per answer, little when the sampler shows close pairs: against 40 answers at random on a
50-idea survey with the adaptive sampler, this test at 1% finds about half on those pairs alone
(no test can do much better there). So a survey shows a voter whose evidence is still undecided
a few clear pairs from their ``AGAINST_MIN``-th answer (``verify_voters``, on by default;
:mod:`algorithms.samplers.verify`), and with them it finds 84% (``python -m
benchmarks.manipulation``); the test itself is unchanged.

Rules (:func:`reasons`): ``against_crowd`` after ``AGAINST_MIN`` decisive answers with
``agreement_p <= AGAINST_ALPHA`` and ``log_lr <= 0`` (:attr:`Agreement.against`); ``side_bias``
after ``MIN_ANSWERS`` with a binomial z of the left share beyond ``SIDE_Z`` (sides are
randomised, so an honest voter's z is standard normal); ``fast`` when half of ten or more timed
answers are under ``FAST_MS``; ``burst`` for 10 answers within ``BURST_S``; ``shared_client``
when at least ``CLIENT_MIN`` voters started from the voter's client address (a pseudonym of it)
within ``CLIENT_WINDOW_S`` of each other *and* the answers of all that address's voters, pooled,
disagree with the crowd (the same test over at least ``AGAINST_MIN`` decisive answers). Many
voters behind one address is normal for a school, a ward or an office, whose people answer like
anyone else: the address alone flags nobody, and it never blocks anyone (:func:`same_client`). A
voter who sincerely disagrees with the majority is flagged too: the evidence goes to the
organiser, who decides (nothing is voided automatically).

>>> s = Signals()
>>> for k in range(40):
...     s.observe(0, left_won=True, ts=float(k), response_ms=150)
>>> reasons(s.by_voter[0], Agreement(log_lr=-30.0, z=-5.0, p=1e-6))
['against_crowd', 'side_bias', 'fast']
"""

from __future__ import annotations

import math

import msgspec
import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr

__all__ = [
    "AGAINST_ALPHA",
    "AGAINST_MIN",
    "AGAINST_Z",
    "BURST",
    "CLIENT_MIN",
    "CLIENT_WINDOW_S",
    "FAST_MS",
    "MIN_ANSWERS",
    "Agreement",
    "Signals",
    "VoterSignals",
    "agreement",
    "reasons",
    "same_client",
]

MIN_ANSWERS = 20
"""Decisive answers a voter needs before side bias can flag them."""
AGAINST_MIN = 20
"""Decisive answers a voter needs before disagreement with the crowd can flag them (the test's
false-positive rate holds at any number; fewer answers only give it less power)."""
AGAINST_ALPHA = 0.01
"""Share of voters answering like the crowd's model whom ``against_crowd`` flags."""
FAST_MS = 400
"""An answer faster than this (ms from showing the pair) is too fast to have read it."""
BURST = 10
"""Answers in a row whose shortest span is watched."""
BURST_S = 5.0
SIDE_Z = 4.0
AGAINST_Z = 2.326
"""``-AGAINST_Z`` is the normal quantile of ``AGAINST_ALPHA`` (for reading ``agreement_z``)."""
SCREEN_Z = 1.0
"""Voters with a normal ``agreement_z`` below ``-SCREEN_Z`` get the exact ``agreement_p``."""
EXACT_DRAWS = 4000
EXACT_MAX = 400
CLIENT_MIN = 10
"""Voters from one client address within ``CLIENT_WINDOW_S`` before the address is looked at."""
CLIENT_WINDOW_S = 600.0


class VoterSignals(msgspec.Struct):
    """One voter's running signals (see the module docstring)."""

    decisive: int = 0
    left: int = 0
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
    def fast_share(self) -> float:
        return 0.0 if self.timed == 0 else self.fast / self.timed


class Signals:
    """Every voter's online signals, by voter index."""

    def __init__(self) -> None:
        self.by_voter: dict[int, VoterSignals] = {}

    def observe(
        self, voter: int, *, left_won: bool | None, ts: float, response_ms: int | None
    ) -> None:
        """One answer: ``left_won`` ``None`` for a tie or a skip."""
        s = self.by_voter.get(voter)
        if s is None:
            s = self.by_voter[voter] = VoterSignals()
        if left_won is not None:
            s.decisive += 1
            s.left += left_won
        if response_ms is not None:
            s.timed += 1
            s.fast += response_ms < FAST_MS
        recent = s.recent
        recent.append(ts)
        if len(recent) > BURST:
            del recent[0]
        if len(recent) == BURST:
            s.burst_s = min(s.burst_s, recent[-1] - recent[0])


class Agreement(msgspec.Struct, frozen=True):
    """A voter's agreement with the crowd (see the module docstring)."""

    log_lr: float
    z: float
    p: float = 0.5
    """Lower-tail probability of ``log_lr`` for a voter following the crowd's model."""

    @property
    def against(self) -> bool:
        """The ``against_crowd`` test: unlikely for a voter following the crowd's model
        (``p <= AGAINST_ALPHA``) *and* no better explained by it than by a coin
        (``log_lr <= 0``)."""
        return self.p <= AGAINST_ALPHA and self.log_lr <= 0.0


def agreement(
    voter: NDArray[np.int64],
    left: NDArray[np.int64],
    right: NDArray[np.int64],
    y: NDArray[np.float64],
    mean: NDArray[np.float64],
) -> dict[int, Agreement]:
    """Per voter index, the agreement of their decisive answers (``y`` 1 or 0; ties are left
    out) with a model whose scores are ``mean``; vectorised over the answers.

    >>> import numpy as np
    >>> a = agreement(np.array([0, 0, 1, 1]), np.array([0, 0, 0, 0]), np.array([1, 1, 1, 1]),
    ...               np.array([1.0, 1.0, 0.0, 0.0]), np.array([2.0, 0.0]))
    >>> a[0].log_lr > 0 > a[1].log_lr
    True
    """
    keep = y != 0.5
    voter, left, right, y = voter[keep], left[keep], right[keep], y[keep]
    if voter.size == 0:
        return {}
    p = 1.0 / (1.0 + np.exp(-(mean[left] - mean[right])))
    p = np.clip(p, 1e-6, 1 - 1e-6)
    q = 1 - p
    gain_left, gain_right = np.log(2 * p), np.log(2 * q)
    gain = np.where(y > 0.5, gain_left, gain_right)
    size = int(voter.max()) + 1
    lr = np.bincount(voter, gain, size)
    expected = np.bincount(voter, p * gain_left + q * gain_right, size)
    var = np.bincount(voter, p * q * np.log(p / q) ** 2, size)
    count = np.bincount(voter, minlength=size)
    order = np.argsort(voter, kind="stable")  # each voter's answers, contiguous
    start = np.concatenate([[0], np.cumsum(count)])
    out = {}
    for v in np.unique(voter).tolist():
        sd = math.sqrt(var[v])
        z = 0.0 if sd == 0 else (lr[v] - expected[v]) / sd
        if z < -SCREEN_Z and count[v] <= EXACT_MAX:
            rows = order[start[v] : start[v + 1]]
            pv = _lower_tail(float(lr[v]), p[rows], gain_left[rows], gain_right[rows], v)
        else:
            pv = float(ndtr(z))
        out[v] = Agreement(float(lr[v]), float(z), pv)
    return out


def _lower_tail(
    observed: float,
    p: NDArray[np.float64],
    gain_left: NDArray[np.float64],
    gain_right: NDArray[np.float64],
    seed: int,
) -> float:
    """P(log_lr <= observed) for answers drawn from the model on these pairs, by
    ``EXACT_DRAWS`` simulated voters (seeded by the voter and the answers' number)."""
    rng = np.random.default_rng([seed, p.shape[0]])
    left = rng.random((EXACT_DRAWS, p.shape[0])) < p
    sims = np.where(left, gain_left, gain_right).sum(axis=1)
    return float((1 + np.count_nonzero(sims <= observed + 1e-9)) / (EXACT_DRAWS + 1))


def same_client(client: list[str | None], joined: list[float | None]) -> NDArray[np.int64]:
    """Per voter, how many voters (this one included) started from the same client within
    ``CLIENT_WINDOW_S`` of them (0: client unknown); sorted per client, O(v log v).

    >>> same_client(["a", "a", "b", "a", None], [0.0, 100.0, 50.0, 5000.0, 1.0]).tolist()
    [2, 2, 1, 1, 0]
    """
    out = np.zeros(len(client), dtype=np.int64)
    by: dict[str, list[int]] = {}
    for k, c in enumerate(client):
        if c is not None and joined[k] is not None:
            by.setdefault(c, []).append(k)
    for members in by.values():
        idx = np.array(members, dtype=np.int64)
        t = np.array([joined[k] for k in members], dtype=np.float64)
        order = np.sort(t)
        lo = np.searchsorted(order, t - CLIENT_WINDOW_S, side="left")
        hi = np.searchsorted(order, t + CLIENT_WINDOW_S, side="right")
        out[idx] = hi - lo
    return out


def reasons(
    s: VoterSignals,
    agreement: Agreement | None = None,
    client_voters: int = 0,
    client_agreement: Agreement | None = None,
    client_decisive: int = 0,
) -> list[str]:
    """Why a voter looks like a bot (empty: nothing suspicious)."""
    out = []
    if agreement is not None and s.decisive >= AGAINST_MIN and agreement.against:
        out.append("against_crowd")
    if s.decisive >= MIN_ANSWERS and abs(s.side_z) >= SIDE_Z:
        out.append("side_bias")
    if s.timed >= 10 and s.fast_share >= 0.5:
        out.append("fast")
    if s.burst_s < BURST_S:
        out.append("burst")
    if (
        client_voters >= CLIENT_MIN
        and client_agreement is not None
        and client_decisive >= AGAINST_MIN
        and client_agreement.against
    ):
        out.append("shared_client")
    return out
