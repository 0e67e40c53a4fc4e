"""Ideas and their moderation, translations, comments and flags.

Organisers add, import, edit, translate, approve, reject, retire and reinstate ideas;
participants submit ideas (``pending`` until approved when the survey moderates them, at most
``limits.ideas_per_voter`` each, counted atomically in the store), comment on ideas and flag
them. Each change is one event, decided and appended through ``repo.write``: a refusal never
leaves an event.

Repeats are caught on the way in: an idea with the same :func:`ranker.text.text_key` as one the
survey has (not rejected) is refused (``duplicate_idea``); one that nearly repeats one
(:func:`ranker.text.similar_keys`) is added with ``similar_to`` naming it (a participant's waits
for the moderator, an organiser's is active at once and the answer reports the match). Keys are
kept beside each projection: a check is one pass of C code plus the word rule on the closest.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable

import numpy as np
from rapidfuzz import fuzz, process

from ranker import events as ev
from ranker.domain import Comment, Flag, Idea, Voter
from ranker.errors import (
    DuplicateIdea,
    IdeaNotFound,
    IdeasNotAllowed,
    InvalidInput,
    LimitReached,
    SurveyClosed,
    VoterVoided,
)
from ranker.languages import check_idea_translations
from ranker.projection import Projection
from ranker.repository import ProjectionRepository
from ranker.rules import REASON_MAX, IdeaStatus, check_distinct, check_text
from ranker.surveys import check_owner
from ranker.text import similar_keys, sorted_words, text_key

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


_PREFILTER = 60
"""``fuzz.ratio`` of :func:`ranker.text.sorted_words` below which two ideas are not
compared word by word (similar ideas scored 67 or more in every example tried)."""
_CANDIDATES = 10
"""The closest ideas by that ratio that :func:`ranker.text.similar_keys` examines."""
_INDEXED_SURVEYS = 256


class _Keys:
    """Near-duplicate keys of one survey's ideas, by idea id, derived from ``proj.ideas``:
    new ideas are appended and an edited idea's key recomputed on :meth:`refresh`."""

    __slots__ = ("by_key", "keys", "seq", "texts", "words")

    def __init__(self) -> None:
        self.seq = -1
        self.texts: list[str] = []
        self.keys: list[str] = []
        self.words: list[str] = []
        self.by_key: dict[str, list[int]] = {}

    def refresh(self, proj: Projection) -> None:
        if proj.seq == self.seq and len(proj.ideas) == len(self.texts):
            return
        self.seq = proj.seq
        texts = [idea.text for idea in proj.ideas]
        n = len(self.texts)
        if texts[:n] != self.texts:  # an edit (rare): recompute what changed
            for i in (i for i in range(n) if texts[i] != self.texts[i]):
                self.texts[i] = texts[i]
                self.keys[i] = text_key(texts[i])
                self.words[i] = sorted_words(self.keys[i])
            self.by_key = {}
            for i, key in enumerate(self.keys):
                self.by_key.setdefault(key, []).append(i)
        for i in range(n, len(texts)):
            key = text_key(texts[i])
            self.texts.append(texts[i])
            self.keys.append(key)
            self.words.append(sorted_words(key))
            self.by_key.setdefault(key, []).append(i)


class Ideas:
    """Idea, moderation, comment and flag use cases."""

    def __init__(self, repo: ProjectionRepository, clock: Callable[[], float] = time.time) -> None:
        self.repo = repo
        self.clock = clock
        self._keys: OrderedDict[str, _Keys] = OrderedDict()

    # -- repeats --------------------------------------------------------------------------
    def _index(self, proj: Projection) -> _Keys:
        index = self._keys.pop(proj.survey_id, None) or _Keys()
        self._keys[proj.survey_id] = index  # most recently used last
        while len(self._keys) > _INDEXED_SURVEYS:
            self._keys.popitem(last=False)
        index.refresh(proj)
        return index

    def repeats(
        self, proj: Projection, text: str, *, skip: int | None = None, near: bool = True
    ) -> tuple[int | None, int | None]:
        """``(same, similar)`` for a cleaned ``text``: the first idea other than ``skip`` with
        the same key that is not rejected, and the idea the text nearly repeats (a rejected
        idea with the same key, else the closest idea :func:`ranker.text.similar_keys`
        accepts; looked for only when ``near`` and there is no ``same``)."""
        key = text_key(text)
        if not key:  # nothing but punctuation: nothing to compare
            return None, None
        index = self._index(proj)
        rejected = None
        for i in (i for i in index.by_key.get(key, ()) if i != skip):
            if proj.ideas[i].status != "rejected":
                return i, None
            rejected = i if rejected is None else rejected
        if rejected is not None or not near:
            return None, rejected
        closest = process.extract(
            sorted_words(key),
            index.words,
            scorer=fuzz.ratio,
            score_cutoff=_PREFILTER,
            limit=_CANDIDATES,
        )
        for _, _, i in closest:
            if i != skip and similar_keys(key, index.keys[i]):
                return None, int(i)
        return None, None

    def _refuse_repeat(
        self, proj: Projection, text: str, field: str, *, skip: int | None = None
    ) -> None:
        same, _ = self.repeats(proj, text, skip=skip, near=False)
        if same is not None:
            raise DuplicateIdea(
                f"{field} repeats idea {same}, already in this survey", field=field, idea=same
            )

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
            check_distinct("ideas", clean)
            for i, t in enumerate(clean):
                self._refuse_repeat(proj, t, f"ideas[{i}]")
            plan = self._near_repeats(proj, clean)
            first = len(proj.ideas)
            ids: list[int] = []
            for t, near in zip(clean, plan, strict=True):
                similar = None if near is None else near[1] if near[0] else ids[near[1]]
                proj, _ = self.repo.write(survey_id, self._organiser_idea(t, organiser, similar))
                ids.append(
                    next(i for i in range(len(proj.ideas) - 1, -1, -1) if proj.ideas[i].text == t)
                )
            return _added(proj, first, clean)

    def _near_repeats(self, proj: Projection, texts: list[str]) -> list[tuple[bool, int] | None]:
        """For each text of an import, the idea it nearly repeats: ``(True, idea id)`` of the
        survey's, ``(False, row)`` of an earlier row, or ``None``. One C pass
        (``process.cdist``) per block of rows over every key, then the word rule on each row's
        closest: the cost of a per-row search, without a Python step per existing idea."""
        index = self._index(proj)
        keys = [text_key(t) for t in texts]
        words = [sorted_words(k) for k in keys]
        n = len(index.words)
        choices = index.words + words
        out: list[tuple[bool, int] | None] = []
        for start in range(0, len(texts), 256):
            block = process.cdist(
                words[start : start + 256],
                choices,
                scorer=fuzz.ratio,
                score_cutoff=_PREFILTER,
                dtype=np.uint8,
            )
            for r, row in enumerate(block):
                j = start + r
                near: tuple[bool, int] | None = None
                seen = np.flatnonzero(row[: n + j])  # the survey's ideas and earlier rows
                for c in seen[np.argsort(-row[seen], kind="stable")][:_CANDIDATES].tolist():
                    other = index.keys[c] if c < n else keys[c - n]
                    if keys[j] and similar_keys(keys[j], other):
                        near = (True, c) if c < n else (False, c - n)
                        break
                out.append(near)
        return out

    def _organiser_idea(
        self, text: str, organiser: str | None, similar: int | None
    ) -> Callable[[Projection], ev.Event]:
        def decide(proj: Projection) -> ev.Event:
            check_owner(proj, organiser)
            return ev.IdeaAdded(ts=self.clock(), text=text, similar_to=similar)

        return decide

    def edit(
        self,
        survey_id: str,
        idea_id: int,
        text: str | None = None,
        *,
        translations: dict[str, str] | None = None,
        organiser: str | None = None,
    ) -> Idea:
        """Change an idea's text or, given ``translations``, replace those; votes are kept."""

        def decide(proj: Projection) -> ev.Event:
            survey = check_owner(proj, organiser)
            check_idea(proj, idea_id)
            if translations is not None:
                tr = check_idea_translations(translations, survey.limits.idea_max_chars)
                return ev.IdeaTranslated(ts=self.clock(), idea=idea_id, translations=tr)
            clean = check_text("idea", text, survey.limits.idea_max_chars)
            self._refuse_repeat(proj, clean, "idea", skip=idea_id)
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
        quota; ``pending`` until approved when the survey moderates ideas, or when it nearly
        repeats an idea (``similar_to``); refused when it repeats one (``duplicate_idea``)."""
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
            same, similar = self.repeats(proj, clean)
            if same is not None:
                raise DuplicateIdea(
                    f"idea repeats idea {same}, already in this survey", field="idea", idea=same
                )
            first = len(proj.ideas)
            held = survey.moderate_ideas or similar is not None
            status: IdeaStatus = "pending" if held else "active"
            return ev.IdeaAdded(
                ts=self.clock(),
                text=clean,
                author="participant",
                voter=voter.id,
                status=status,
                similar_to=similar,
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
            clean = check_text("comment", text, survey.limits.comment_max_chars, multiline=True)
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
