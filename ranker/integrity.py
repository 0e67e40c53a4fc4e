"""Integrity: voters who look like bots, with the evidence, for the organiser to review.

The projection counts the online signals (:mod:`ranker.signals`); this use case adds each
voter's agreement with the crowd's current model (vectorised over the counted answers, outside
the lock) and reads out the voters the rules flag, with the numbers behind each reason, so an
organiser can decide and void with one click (``Voting.void_voter``, replayed like any other
event). Agreement covers counted answers only: a voided voter's answers no longer count.

Many voters from one client address (a pseudonym of it, kept from each voter's first answer)
are evidence only when their answers, pooled, disagree with the crowd (``shared_client``): a
class or a ward behind one address answers like everyone else and is not flagged for it.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import msgspec
import numpy as np
from numpy.typing import NDArray

from algorithms import BTModel, PairwiseModel
from ranker.projection import Projection
from ranker.repository import ProjectionRepository
from ranker.rules import FLAGGED_WEIGHT
from ranker.signals import Agreement, VoterSignals, agreement, reasons, same_client
from ranker.surveys import check_owner

__all__ = ["Crowd", "Evidence", "FlaggedVoter", "Integrity", "down_weight", "judge"]


class FlaggedVoter(msgspec.Struct, frozen=True, kw_only=True):
    """A voter the rules flag, and the evidence."""

    voter: str
    group: str | None
    answers: int
    """Answers that count now (after undo, supersede or void)."""
    voided: bool
    reasons: list[str]
    """``against_crowd``, ``side_bias``, ``fast``, ``burst``, ``shared_client`` (see
    :mod:`ranker.signals`)."""
    agreement_log_lr: float
    """log of (likelihood of the voter's choices under the crowd's model / under a coin)."""
    agreement_z: float
    """Standard deviations the agreement is below (-) what a voter following the crowd's
    model would reach."""
    left_share: float
    side_z: float
    fast_share: float
    """Share of timed answers given in under 0.4 s."""
    fastest_10_answers_s: float | None
    """Shortest time the voter took for 10 answers in a row (``None``: fewer than 10)."""
    client: str | None = None
    """Pseudonym of the client address the voter started from (``None``: unknown)."""
    client_voters: int = 0
    """Voters (this one included) who started from the same client address within 10 minutes
    of this one (0: address unknown)."""
    client_agreement_z: float | None = None
    """Agreement with the crowd of all that address's voters' answers pooled (as
    ``agreement_z``; ``None``: address unknown or no decisive answer)."""
    agreement_p: float = 0.5
    """Probability that a voter answering as the crowd's model predicts, on the same pairs,
    agrees with it this little or less (``against_crowd`` flags 0.01 or less)."""


class Evidence(NamedTuple):
    """What the rules found about one voter (see :func:`judge`)."""

    reasons: list[str]
    agreement: Agreement | None
    client_voters: int
    client_agreement: Agreement | None


class Crowd(NamedTuple):
    """What judging voters needs, copied from a projection (cheap: O(voters))."""

    signals: dict[int, VoterSignals]
    client_of: dict[int, str | None]
    joined_of: dict[int, float | None]

    @classmethod
    def of(cls, proj: Projection) -> Crowd:
        voters = proj.voters.values()
        return cls(
            dict(proj.signals.by_voter),
            {v.index: v.client for v in voters},
            {v.index: v.joined for v in voters},
        )


def judge(
    crowd: Crowd,
    voter: NDArray[np.int64],
    left: NDArray[np.int64],
    right: NDArray[np.int64],
    y: NDArray[np.float64],
    mean: NDArray[np.float64],
) -> dict[int, Evidence]:
    """Every voter's evidence against the counted answers (``voter``, ``left``, ``right``,
    ``y``: ties and skips may be in or out) and the crowd's scores ``mean``."""
    index = list(crowd.client_of)
    near_k = same_client([crowd.client_of[v] for v in index], [crowd.joined_of[v] for v in index])
    near = dict(zip(index, near_k.tolist(), strict=True))
    cols = np.stack([voter, left, right], axis=1) if voter.size else np.zeros((0, 3), np.int64)
    agree = agreement(voter, left, right, y, mean)
    pooled, decisive = _by_client(crowd.client_of, crowd.signals, cols, y, mean)
    out = {}
    for v, s in crowd.signals.items():
        a = agree.get(v)
        c = crowd.client_of.get(v)
        ca = pooled.get(c) if c is not None else None
        cd = decisive.get(c, 0) if c is not None else 0
        why = reasons(s, a, near.get(v, 0), ca, cd)
        out[v] = Evidence(why, a, near.get(v, 0), ca)
    return out


def down_weight(model: PairwiseModel, crowd: Crowd) -> int:
    """Count the answers of the voters the rules flag (against ``model``'s own votes and
    scores) at :data:`~ranker.rules.FLAGGED_WEIGHT` in ``model`` (a ``bt`` copy with bounded
    influence, which keeps its votes' voters; other models are left alone); returns how many
    voters. One pass: the flags are judged against the crowd's model with everyone in it."""
    if not isinstance(model, BTModel) or model.influence_cap is None:
        return 0
    left, right, y, voter = model.vote_arrays()
    known = voter >= 0
    mean = np.asarray(model.posterior().mean, dtype=np.float64)
    found = judge(crowd, voter[known], left[known], right[known], y[known], mean)
    flagged = {v: FLAGGED_WEIGHT for v, e in found.items() if e.reasons}
    if flagged:
        model.set_voter_weights(flagged)
    return len(flagged)


class Integrity:
    """Integrity use cases over the projection repository."""

    def __init__(self, repo: ProjectionRepository) -> None:
        self.repo = repo

    def flagged(
        self, survey_id: str, *, organiser: str | None = None, include_voided: bool = False
    ) -> list[FlaggedVoter]:
        """Flagged voters, most suspicious first (most reasons, then lowest agreement)."""
        with self.repo.lock:  # copy under the lock, compute outside it
            proj = self.repo.get(survey_id)
            check_owner(proj, organiser)
            crowd = Crowd.of(proj)
            voters = [
                (info.id, info.index, info.group, len(info.answers), info.voided)
                for info in proj.voters.values()
                if not info.voided or include_voided
            ]
            rows = [r for r in proj.votes if r.active and r.y is not None]
            mean = np.array(proj.model.posterior().mean, dtype=np.float64)
        cols = np.array([(r.voter, r.left, r.right) for r in rows], dtype=np.int64).reshape(-1, 3)
        y = np.array([r.y for r in rows], dtype=np.float64)
        found = judge(crowd, cols[:, 0], cols[:, 1], cols[:, 2], y, mean)
        out = []
        for vid, index, group, answers, voided in voters:
            e = found.get(index)
            if e is None or not e.reasons:
                continue
            s, a, ca = crowd.signals[index], e.agreement, e.client_agreement
            out.append(
                FlaggedVoter(
                    voter=vid,
                    group=group,
                    answers=answers,
                    voided=voided,
                    reasons=e.reasons,
                    agreement_log_lr=round(a.log_lr, 3) if a else 0.0,
                    agreement_z=round(a.z, 2) if a else 0.0,
                    agreement_p=round(a.p, 5) if a else 0.5,
                    left_share=round(s.left / s.decisive, 3) if s.decisive else 0.0,
                    side_z=round(s.side_z, 2),
                    fast_share=round(s.fast_share, 3),
                    fastest_10_answers_s=None if math.isinf(s.burst_s) else s.burst_s,
                    client=crowd.client_of.get(index),
                    client_voters=e.client_voters,
                    client_agreement_z=None if ca is None else round(ca.z, 2),
                )
            )
        out.sort(key=lambda f: (-len(f.reasons), f.agreement_z))
        return out


def _by_client(
    client_of: dict[int, str | None],
    signals: dict[int, VoterSignals],
    cols: NDArray[np.int64],
    y: NDArray[np.float64],
    mean: NDArray[np.float64],
) -> tuple[dict[str, Agreement], dict[str, int]]:
    """Agreement of each client address's voters' answers pooled, and their decisive answers."""
    names = sorted({c for c in client_of.values() if c is not None})
    if not names or cols.shape[0] == 0:
        return {}, {}
    code = {c: k for k, c in enumerate(names)}
    size = max(client_of) + 1
    of_voter = np.full(size, -1, dtype=np.int64)
    for v, c in client_of.items():
        if c is not None:
            of_voter[v] = code[c]
    grp = of_voter[cols[:, 0]]
    keep = grp >= 0
    a = agreement(grp[keep], cols[keep, 1], cols[keep, 2], y[keep], mean)
    decisive: dict[str, int] = {}
    for v, c in client_of.items():
        if c is not None and v in signals:
            decisive[c] = decisive.get(c, 0) + signals[v].decisive
    return {names[k]: x for k, x in a.items()}, decisive
