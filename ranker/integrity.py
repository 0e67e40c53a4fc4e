"""Integrity: voters who look like bots, with the evidence, for the organiser to review.

The signals are kept online by the projection (:mod:`ranker.signals`); this use case reads
them out for the voters the rules flag, with the numbers behind each reason, so an organiser
can decide and void with one click (``Voting.void_voter``, replayed like any other event).
"""

from __future__ import annotations

import math

import msgspec

from ranker.repository import ProjectionRepository
from ranker.surveys import check_owner

__all__ = ["FlaggedVoter", "Integrity"]


class FlaggedVoter(msgspec.Struct, frozen=True, kw_only=True):
    """A voter the rules flag, and the evidence."""

    voter: str
    group: str | None
    answers: int
    """Answers that count now (after undo, supersede or void)."""
    voided: bool
    reasons: list[str]
    """``against_crowd``, ``side_bias``, ``fast``, ``burst`` (see :mod:`ranker.signals`)."""
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


class Integrity:
    """Integrity use cases over the projection repository."""

    def __init__(self, repo: ProjectionRepository) -> None:
        self.repo = repo

    def flagged(
        self, survey_id: str, *, organiser: str | None = None, include_voided: bool = False
    ) -> list[FlaggedVoter]:
        """Flagged voters, most suspicious first (most reasons, then lowest agreement)."""
        with self.repo.lock:
            proj = self.repo.get(survey_id)
            check_owner(proj, organiser)
            out = []
            for info in proj.voters.values():
                reasons = proj.signals.reasons(info.index)
                if not reasons or (info.voided and not include_voided):
                    continue
                s = proj.signals.by_voter[info.index]
                out.append(
                    FlaggedVoter(
                        voter=info.id,
                        group=info.group,
                        answers=len(info.answers),
                        voided=info.voided,
                        reasons=reasons,
                        agreement_log_lr=round(s.loglr, 3),
                        agreement_z=round(s.agreement_z, 2),
                        left_share=round(s.left / s.decisive, 3) if s.decisive else 0.0,
                        side_z=round(s.side_z, 2),
                        fast_share=round(s.fast_share, 3),
                        fastest_10_answers_s=None if math.isinf(s.burst_s) else s.burst_s,
                    )
                )
        out.sort(key=lambda f: (-len(f.reasons), f.agreement_z))
        return out
