"""Ideas and their moderation, comments and flags.

Organisers add, import, edit, approve, reject, retire and reinstate ideas; participants
submit ideas (``pending`` until approved when the survey moderates them, at most
``limits.ideas_per_voter`` each, counted atomically in the store), comment on ideas and
flag them. Each change is one event, decided and appended through
:meth:`ranker.repository.ProjectionRepository.write`, so a refusal (closed survey, voided
voter, used-up quota) never leaves an event in the log.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from ranker import events as ev
from ranker.domain import Comment, Flag, Idea, Voter
from ranker.errors import (
    IdeaNotFound,
    IdeasNotAllowed,
    InvalidInput,
    LimitReached,
    SurveyClosed,
    VoterVoided,
)
from ranker.projection import Projection
from ranker.repository import ProjectionRepository
from ranker.rules import REASON_MAX, IdeaStatus, check_text
from ranker.surveys import check_owner

__all__ = ["Ideas", "check_idea", "check_participant"]


def check_idea(proj: Projection, idea_id: object) -> Idea:
    """The idea ``idea_id`` of the projection's survey (any status); else ``idea_not_found``."""
    if not isinstance(idea_id, int) or isinstance(idea_id, bool):
        raise IdeaNotFound(f"no idea {idea_id!r}")
    if not 0 <= idea_id < len(proj.ideas):
        raise IdeaNotFound(f"no idea {idea_id} in survey {proj.survey_id}")
    return proj.ideas[idea_id]


def check_participant(proj: Projection, voter: Voter) -> None:
    """Refuse a participant's write: survey not open (``survey_closed``) or the voter voided
    (``voter_voided``)."""
    assert proj.survey is not None
    if proj.survey.status != "open":
        raise SurveyClosed(f"survey is {proj.survey.status}")
    info = proj.voters.get(voter.id)
    if info is not None and info.voided:
        raise VoterVoided("this voter was voided by the organiser")


def _added(proj: Projection, first: int, texts: list[str]) -> list[Idea]:
    """Our ideas among those added since index ``first`` (other workers may have added some
    in between: ours are the ones with our texts, in order)."""
    mine: list[Idea] = []
    want = list(texts)
    for idea in proj.ideas[first:]:
        if want and idea.text == want[0]:
            mine.append(idea)
            want.pop(0)
    return mine


class Ideas:
    """Idea, moderation, comment and flag use cases."""

    def __init__(self, repo: ProjectionRepository, clock: Callable[[], float] = time.time) -> None:
        self.repo = repo
        self.clock = clock

    # -- reading ------------------------------------------------------------------------
    def get(self, survey_id: str, idea_id: int) -> Idea:
        """One idea (any status)."""
        return check_idea(self.repo.get(survey_id), idea_id)

    def all(self, survey_id: str, status: IdeaStatus | None = None) -> list[Idea]:
        """Ideas in id order, optionally of one status."""
        ideas = self.repo.get(survey_id).ideas
        return [i for i in ideas if status is None or i.status == status]

    # -- organisers -------------------------------------------------------------------
    def add(self, survey_id: str, text: str, *, organiser: str | None = None) -> Idea:
        """An organiser's idea (active at once)."""
        return self.import_many(survey_id, [text], organiser=organiser)[0]

    def import_many(
        self, survey_id: str, texts: Iterable[str], *, organiser: str | None = None
    ) -> list[Idea]:
        """Add many organiser ideas; every text is checked before any is added."""
        with self.repo.lock:
            proj = self.repo.get(survey_id)
            survey = check_owner(proj, organiser)
            limit = survey.limits.idea_max_chars
            clean = [check_text(f"ideas[{i}]", t, limit) for i, t in enumerate(texts)]
            first = len(proj.ideas)
            for t in clean:
                self.repo.write(survey_id, self._organiser_idea(t, organiser))
            return _added(proj, first, clean)

    def _organiser_idea(self, text: str, organiser: str | None) -> Callable[[Projection], ev.Event]:
        def decide(proj: Projection) -> ev.Event:
            check_owner(proj, organiser)
            return ev.IdeaAdded(ts=self.clock(), text=text)

        return decide

    def edit(
        self, survey_id: str, idea_id: int, text: str, *, organiser: str | None = None
    ) -> Idea:
        """Change an idea's text; its votes are kept."""

        def decide(proj: Projection) -> ev.Event:
            survey = check_owner(proj, organiser)
            check_idea(proj, idea_id)
            clean = check_text("idea", text, survey.limits.idea_max_chars)
            return ev.IdeaEdited(ts=self.clock(), idea=idea_id, text=clean)

        proj, _ = self.repo.write(survey_id, decide)
        return proj.ideas[idea_id]

    def set_status(
        self,
        survey_id: str,
        idea_id: int,
        status: IdeaStatus,
        *,
        reason: str = "",
        organiser: str | None = None,
    ) -> Idea:
        """Moderate (``active`` / ``rejected``), retire or reinstate an idea."""
        if status not in ("pending", "active", "rejected", "retired"):
            raise InvalidInput(f"unknown idea status {status!r}", field="status")
        reason = check_text("reason", reason, REASON_MAX, allow_empty=True)

        def decide(proj: Projection) -> ev.Event | None:
            check_owner(proj, organiser)
            if check_idea(proj, idea_id).status == status:
                return None
            return ev.IdeaStatusChanged(ts=self.clock(), idea=idea_id, status=status, reason=reason)

        proj, _ = self.repo.write(survey_id, decide)
        return proj.ideas[idea_id]

    # -- participants -------------------------------------------------------------------
    def submit(self, survey_id: str, voter: Voter, text: str) -> Idea:
        """A participant's idea: needs ``allow_ideas``, an open survey and the per-voter
        quota; ``pending`` until approved when the survey moderates ideas."""
        first = 0
        quota = 0
        clean = ""

        def decide(proj: Projection) -> ev.Event:
            nonlocal first, quota, clean
            survey = proj.survey
            assert survey is not None
            if not survey.allow_ideas:
                raise IdeasNotAllowed("this survey does not accept ideas from participants")
            check_participant(proj, voter)
            clean = check_text("idea", text, survey.limits.idea_max_chars)
            quota = survey.limits.ideas_per_voter
            info = proj.voters.get(voter.id)
            if info is not None and info.ideas >= quota:
                raise LimitReached(f"at most {quota} ideas per participant", limit=quota)
            first = len(proj.ideas)
            status: IdeaStatus = "pending" if survey.moderate_ideas else "active"
            return ev.IdeaAdded(
                ts=self.clock(), text=clean, author="participant", voter=voter.id, status=status
            )

        # the projection's count is this worker's view; the store's counter is the atomic
        # one, so the quota holds across workers submitting at the same moment
        with self.repo.lock:
            survey = self.repo.get(survey_id).survey
            assert survey is not None
            limit = survey.limits.ideas_per_voter
            try:
                proj, _ = self.repo.write(survey_id, decide, quota=(f"ideas:{voter.id}", limit))
            except LimitReached:
                raise LimitReached(f"at most {limit} ideas per participant", limit=limit) from None
            return _added(proj, first, [clean])[0]

    def comment(
        self,
        survey_id: str,
        idea_id: int,
        text: str,
        *,
        voter: Voter | None = None,
        organiser: str | None = None,
    ) -> Comment:
        """A comment on an idea by a voter or the organiser."""
        if voter is None and organiser is None:
            raise InvalidInput("a comment needs a voter or an organiser")
        author = voter.id if voter is not None else None
        clean = ""

        def decide(proj: Projection) -> ev.Event:
            nonlocal clean
            survey = check_owner(proj, organiser) if organiser else proj.survey
            assert survey is not None
            if voter is not None:
                check_participant(proj, voter)
            check_idea(proj, idea_id)
            clean = check_text("comment", text, survey.limits.comment_max_chars)
            return ev.CommentAdded(ts=self.clock(), idea=idea_id, voter=author, text=clean)

        proj, _ = self.repo.write(survey_id, decide)
        return next(c for c in reversed(proj.comments) if c.text == clean and c.voter == author)

    def flag(self, survey_id: str, idea_id: int, voter: Voter, reason: str = "") -> Flag:
        """A participant reports an idea as inappropriate."""
        clean = check_text("reason", reason, REASON_MAX, allow_empty=True)

        def decide(proj: Projection) -> ev.Event:
            check_idea(proj, idea_id)
            return ev.IdeaFlagged(ts=self.clock(), idea=idea_id, voter=voter.id, reason=clean)

        proj, _ = self.repo.write(survey_id, decide)
        return next(f for f in reversed(proj.flags) if f.voter == voter.id and f.idea == idea_id)

    def comments(self, survey_id: str, idea_id: int | None = None) -> list[Comment]:
        """Comments, oldest first, optionally on one idea."""
        proj = self.repo.get(survey_id)
        if idea_id is not None:
            check_idea(proj, idea_id)
        return [c for c in proj.comments if idea_id is None or c.idea == idea_id]

    def flags(self, survey_id: str) -> list[Flag]:
        """Flags, oldest first."""
        return list(self.repo.get(survey_id).flags)
