"""Integrity: voters who look like bots, with the evidence, for the organiser to review.

The projection counts the online signals (:mod:`ranker.signals`); this use case adds each
voter's agreement with the crowd's current model (vectorised over the counted answers, outside
the lock) and reads out the voters the rules flag, with the numbers behind each reason, so an
organiser can decide and void with one click (``Voting.void_voter``, replayed like any other
event). Agreement covers counted answers only: a voided voter's answers no longer count.
"""

from __future__ import annotations

import math

import msgspec
import numpy as np

from ranker.repository import ProjectionRepository
from ranker.signals import agreement, reasons
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
        with self.repo.lock:  # copy under the lock, compute outside it
            proj = self.repo.get(survey_id)
            check_owner(proj, organiser)
            voters = [
                (info.id, info.index, info.group, len(info.answers), info.voided)
                for info in proj.voters.values()
                if not info.voided or include_voided
            ]
            signals = dict(proj.signals.by_voter)
            rows = [r for r in proj.votes if r.active and r.y is not None]
            mean = np.array(proj.model.posterior().mean, dtype=np.float64)
        cols = np.array([(r.voter, r.left, r.right) for r in rows], dtype=np.int64).reshape(-1, 3)
        y = np.array([r.y for r in rows], dtype=np.float64)
        agree = agreement(cols[:, 0], cols[:, 1], cols[:, 2], y, mean)
        out = []
        for vid, index, group, answers, voided in voters:
            s = signals.get(index)
            if s is None:
                continue
            a = agree.get(index)
            why = reasons(s, None if a is None else a.z)
            if not why:
                continue
            out.append(
                FlaggedVoter(
                    voter=vid,
                    group=group,
                    answers=answers,
                    voided=voided,
                    reasons=why,
                    agreement_log_lr=round(a.log_lr, 3) if a else 0.0,
                    agreement_z=round(a.z, 2) if a else 0.0,
                    left_share=round(s.left / s.decisive, 3) if s.decisive else 0.0,
                    side_z=round(s.side_z, 2),
                    fast_share=round(s.fast_share, 3),
                    fastest_10_answers_s=None if math.isinf(s.burst_s) else s.burst_s,
                )
            )
        out.sort(key=lambda f: (-len(f.reasons), f.agreement_z))
        return out
