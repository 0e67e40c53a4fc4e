"""The projection of one survey's event log: settings, ideas, counts, voters and the model.

:meth:`Projection.apply` folds events in log order. Per answer it is O(1): the
model's online ``update`` (``bt`` refits lazily when scores are read), the
sampler's ``observe`` and a few counters. Undo and "void a voter" refit the
model from the remaining answers, so scores are exactly as if the removed
answers never happened. Applying the same log always gives the same state
(:func:`ranker.snapshots.digest`); snapshots (:mod:`ranker.snapshots`) store the
whole state plus the model's exact :class:`~algorithms.ModelState`.

>>> from ranker import events as ev
>>> from ranker.domain import Survey
>>> p = Projection("s1", sampler_factory=None)
>>> p.apply(1, ev.SurveyCreated(ts=0.0, survey=Survey(id="s1", owner="o", question="Q?",
...                                                     model="elo", status="open")))
>>> p.apply(2, ev.IdeaAdded(ts=0.0, text="a"))
>>> p.apply(3, ev.IdeaAdded(ts=0.0, text="b"))
>>> p.apply(4, ev.VoteCast(ts=1.0, ballot="x", voter="v", left=0, right=1, outcome="left"))
>>> (p.wins, p.losses)
([1, 0], [0, 1])
"""

from __future__ import annotations

from collections.abc import Collection

import msgspec
import numpy as np
from numpy.typing import NDArray

from algorithms import MODELS, PairwiseModel, UnknownName, VoteContext, create_model
from ranker import events as ev
from ranker.domain import Comment, Flag, Idea, Survey
from ranker.errors import NoPairAvailable, StoreError
from ranker.ranking import ResultsView
from ranker.rules import INFLUENCE_CAP
from ranker.sampling import SamplerFactory, SamplerLike, aim_survey
from ranker.signals import Signals

__all__ = [
    "Projection",
    "VoteRow",
    "VoterInfo",
    "new_model",
]

_OUTCOME = {"left": 1.0, "right": 0.0, "tie": 0.5}
_CONTEXT = frozenset({"time", "group"})


class VoteRow(msgspec.Struct, array_like=True):
    """One answer in the projection; ``y`` is the left item's outcome, ``None`` for a skip."""

    seq: int
    voter: int
    left: int
    right: int
    y: float | None
    ts: float
    active: bool = True


class VoterInfo(msgspec.Struct):
    """What the projection knows about one voter."""

    id: str
    index: int
    group: str | None = None
    answers: list[int] = msgspec.field(default_factory=list)
    voided: bool = False
    ideas: int = 0
    cast: int = 0  # answers ever appended (active or not): the store counts the same
    client: str | None = None  # pseudonym of the client address, from the first answer
    joined: float | None = None  # when that first answer came


def new_model(name: str) -> PairwiseModel:
    """A fresh model of the registered kind ``name`` (``bt`` with bounded influence,
    :data:`~ranker.rules.INFLUENCE_CAP`); a name this version does not register
    (a log written by another version) is a ``store_error`` naming the known models, never a
    quiet switch to another model."""
    try:
        name = MODELS.check(name)
        return create_model(name, **({"influence_cap": INFLUENCE_CAP} if name == "bt" else {}))
    except UnknownName as exc:
        raise StoreError(f"the survey's {exc}") from None


class Projection:
    """Current state of one survey, folded from its log."""

    def __init__(self, survey_id: str, sampler_factory: SamplerFactory | None) -> None:
        self.survey_id = survey_id
        self.sampler_factory = sampler_factory
        self.seq = 0
        self.survey: Survey | None = None
        self.ideas: list[Idea] = []
        self.comments: list[Comment] = []
        self.flags: list[Flag] = []
        self.votes: list[VoteRow] = []
        self.by_seq: dict[int, VoteRow] = {}
        self.voters: dict[str, VoterInfo] = {}
        self.wins: list[int] = []
        self.losses: list[int] = []
        self.ties: list[int] = []
        self.skips: list[int] = []
        self.shown_left: list[int] = []
        self.shown_right: list[int] = []
        self.n_votes = 0
        self.n_skips = 0
        self.model: PairwiseModel = new_model("bt")
        self.sampler: SamplerLike | None = None
        self.signals = Signals()
        self._mask: NDArray[np.bool_] | None = None

    # -- folding -------------------------------------------------------------------
    def apply(self, seq: int, event: ev.Event) -> None:
        """Fold one event; ``seq`` must be the next sequence number."""
        if seq != self.seq + 1:
            raise StoreError(f"log gap in {self.survey_id}: expected {self.seq + 1}, got {seq}")
        self._fold(seq, event)
        # last: a reader that sees ``seq`` (without the repository's lock, as the answer path
        # does) sees every event up to it folded
        self.seq = seq

    def _fold(self, seq: int, event: ev.Event) -> None:
        match event:
            case ev.VoteCast() | ev.VoteSkipped():
                self._answer(seq, event)
            case ev.IdeaAdded():
                self._idea_added(event)
            case ev.IdeaEdited(idea=i, text=text) if 0 <= i < len(self.ideas):
                self.ideas[i] = msgspec.structs.replace(self.ideas[i], text=text)
            case ev.IdeaTranslated(idea=i, translations=tr) if 0 <= i < len(self.ideas):
                self.ideas[i] = msgspec.structs.replace(self.ideas[i], translations=dict(tr))
            case ev.IdeaStatusChanged(idea=i, status=status) if 0 <= i < len(self.ideas):
                self.ideas[i] = msgspec.structs.replace(self.ideas[i], status=status)
                self._mask = None
            case ev.VoteUndone(voter=voter, target=target):
                row = self.by_seq.get(target)
                info = self.voters.get(voter)
                if row is not None and row.active and info is not None and row.voter == info.index:
                    self._deactivate(row, info)
                    self._refit()
            case ev.VoterVoided(voter=voter):
                info = self._voter(voter, None)
                info.voided = True
                for s in list(info.answers):
                    self._deactivate(self.by_seq[s], info)
                self._refit()
            case ev.CommentAdded(idea=i, voter=voter, text=text):
                self.comments.append(
                    Comment(id=len(self.comments), idea=i, voter=voter, text=text, created=event.ts)
                )
            case ev.IdeaFlagged(idea=i, voter=voter, reason=reason):
                self.flags.append(Flag(idea=i, voter=voter, reason=reason, created=event.ts))
            case ev.SurveyCreated(survey=survey):
                self.survey = survey
                self.model = new_model(survey.model)
                self.sampler = self._new_sampler()
            case ev.SurveyUpdated(patch=patch):
                assert self.survey is not None
                changes = {
                    f: getattr(patch, f)
                    for f in patch.__struct_fields__
                    if getattr(patch, f) is not None
                }
                old = self.survey
                self.survey = msgspec.structs.replace(old, **changes)
                if self.survey.model != old.model or self.survey.sampler != old.sampler:
                    self._refit()
                elif self.sampler is not None:
                    aim_survey(self.sampler, self.survey)
            case ev.SurveyStatusChanged(status=status):
                assert self.survey is not None
                self.survey = msgspec.structs.replace(self.survey, status=status)
            case _:  # an edit of an unknown idea: recorded in the log, nothing to fold
                pass

    def _new_sampler(self) -> SamplerLike | None:
        if self.sampler_factory is None or self.survey is None:
            return None
        try:
            sampler = self.sampler_factory(self.survey.sampler)
            return aim_survey(sampler, self.survey)
        except UnknownName as exc:  # a log written by another version
            raise StoreError(f"the survey's {exc}") from None

    def _voter(self, voter: str, group: str | None) -> VoterInfo:
        info = self.voters.get(voter)
        if info is None:
            info = VoterInfo(id=voter, index=len(self.voters), group=group)
            self.voters[voter] = info
        return info

    def _idea_added(self, event: ev.IdeaAdded) -> None:
        idea = Idea(
            id=len(self.ideas),
            text=event.text,
            author=event.author,
            voter=event.voter,
            status=event.status,
            created=event.ts,
            similar_to=event.similar_to,
        )
        self.ideas.append(idea)
        for arr in (self.wins, self.losses, self.ties, self.skips):
            arr.append(0)
        self.shown_left.append(0)
        self.shown_right.append(0)
        self.model.add_items(1)
        self._mask = None
        if event.voter is not None:
            self._voter(event.voter, None).ideas += 1

    def _answer(self, seq: int, event: ev.VoteCast | ev.VoteSkipped) -> None:
        n = len(self.ideas)
        left, right = event.left, event.right
        info = self._voter(event.voter, event.group)
        info.cast += 1
        if event.client is not None and info.client is None:
            info.client, info.joined = event.client, event.ts
        if not (0 <= left < n and 0 <= right < n and left != right):
            return  # cannot happen through the service; ignore rather than corrupt
        y = _OUTCOME[event.outcome] if isinstance(event, ev.VoteCast) else None
        is_open = self.survey is not None and self.survey.status == "open"
        row = VoteRow(seq, info.index, left, right, y, event.ts, is_open and not info.voided)
        self.votes.append(row)
        self.by_seq[seq] = row
        if not row.active:  # only in logs of versions that appended before refusing
            return
        won = None if y is None or y == 0.5 else y > 0.5
        self.signals.observe(info.index, left_won=won, ts=row.ts, response_ms=event.response_ms)
        # one voice per voter and pair: a later answer supersedes the earlier one
        earlier = self._on_pair(info, left, right)
        if earlier is not None:
            self._deactivate(earlier, info)
        info.answers.append(seq)
        self._count(row, 1)
        if earlier is not None and earlier.y is not None:
            self._refit()  # the model and sampler drop the earlier vote and hold this one
            return
        if y is not None:
            ctx = None
            if self.model.uses & _CONTEXT:
                ctx = VoteContext(time=event.ts / 86_400.0, group=self._group_index(info.group))
            self.model.update(left, right, y, voter=info.index, context=ctx)
        if self.sampler is not None:
            # A skip (y is None) blocks the pair for this voter but is no evidence.
            self.sampler.observe(left, right, y, voter=event.voter)

    def _on_pair(self, info: VoterInfo, a: int, b: int) -> VoteRow | None:
        """The voter's counted answer on the pair ``{a, b}``, if any (newest first: O(the
        voter's answers), which the per-voter rate limit keeps small)."""
        for q in reversed(info.answers):
            r = self.by_seq[q]
            if (r.left == a and r.right == b) or (r.left == b and r.right == a):
                return r
        return None

    def _group_index(self, group: str | None) -> int:
        """A group's index in the survey's groups (-1: none or no longer listed)."""
        groups = self.survey.groups if self.survey is not None else []
        return groups.index(group) if group is not None and group in groups else -1

    def _context(self, rows: list[VoteRow]) -> VoteContext:
        """What a time- or group-aware model reads about ``rows``: when each was cast (days
        since the epoch) and its voter's group index."""
        group = {v.index: self._group_index(v.group) for v in self.voters.values()}
        return VoteContext(
            time=np.array([r.ts / 86_400.0 for r in rows], dtype=np.float64),
            group=np.array([group[r.voter] for r in rows], dtype=np.int64),
        )

    def _count(self, row: VoteRow, d: int) -> None:
        left, right, y = row.left, row.right, row.y
        self.shown_left[left] += d
        self.shown_right[right] += d
        if y is None:
            self.skips[left] += d
            self.skips[right] += d
            self.n_skips += d
            return
        self.n_votes += d
        if y == 0.5:
            self.ties[left] += d
            self.ties[right] += d
        elif y > 0.5:
            self.wins[left] += d
            self.losses[right] += d
        else:
            self.wins[right] += d
            self.losses[left] += d

    def _deactivate(self, row: VoteRow, info: VoterInfo) -> None:
        if row.active:
            row.active = False
            self._count(row, -1)
            if row.seq in info.answers:
                info.answers.remove(row.seq)

    def _refit(self) -> None:
        """Rebuild model and sampler from the active answers (undo, void, supersede, settings):
        a batch ``update`` (O(answers)); the exact refit waits for the next ranking."""
        assert self.survey is not None
        model = new_model(self.survey.model)
        model.add_items(len(self.ideas))
        rows = [r for r in self.votes if r.active and r.y is not None]
        if rows:
            model.update(
                np.array([r.left for r in rows], dtype=np.int64),
                np.array([r.right for r in rows], dtype=np.int64),
                np.array([r.y for r in rows], dtype=np.float64),
                voter=np.array([r.voter for r in rows], dtype=np.int64),
                context=self._context(rows) if model.uses & _CONTEXT else None,
            )
        self.model = model
        self._replay_sampler()

    def _replay_sampler(self) -> None:
        self.sampler = self._new_sampler()
        if self.sampler is None:
            return
        ids = {v.index: v.id for v in self.voters.values()}
        for r in self.votes:
            if r.active:
                self.sampler.observe(r.left, r.right, r.y, voter=ids[r.voter])

    def reindex(self) -> None:
        """Derive the lookups, counters and sampler from ``votes`` and ``voters`` (after
        :func:`ranker.snapshots.restore` set them)."""
        self.by_seq = {r.seq: r for r in self.votes}
        n = len(self.ideas)
        for name in ("wins", "losses", "ties", "skips", "shown_left", "shown_right"):
            setattr(self, name, [0] * n)
        self.n_votes = self.n_skips = 0
        for r in self.votes:
            if r.active:
                self._count(r, 1)
        self._mask = None
        self._replay_sampler()

    # -- reads -------------------------------------------------------------------------
    def active_mask(self) -> NDArray[np.bool_]:
        """Ideas that may be shown (status ``active``)."""
        if self._mask is None or self._mask.shape[0] != len(self.ideas):
            self._mask = np.array([i.status == "active" for i in self.ideas], dtype=np.bool_)
        return self._mask

    def pick(
        self, voter: str, exclude: Collection[tuple[int, int]] | None = None
    ) -> tuple[int, int, float | None]:
        """The sampler's next pair for ``voter``: ``(left, right, probability)``, avoiding
        the pairs in ``exclude`` (the voter's open ballots) while any other pair is left.

        ``probability`` is the sampler's probability of choosing this pair, or ``None`` when
        the sampler does not know it (never guessed: it is used for reweighting).
        """
        mask = self.active_mask()
        m = int(np.count_nonzero(mask))
        if m < 2:
            raise NoPairAvailable(f"survey has {m} active idea(s); at least 2 are needed")
        if self.sampler is None:
            raise StoreError("no sampler configured")
        active = None if m == len(mask) else mask
        try:
            pair = self.sampler.next_pair(self.model, voter=voter, active=active, exclude=exclude)
        except ValueError:
            if not exclude:
                raise
            # every pair is held already (a tiny survey): repeat one; an answer on a pair
            # supersedes the voter's earlier one, so it still counts once
            pair = self.sampler.next_pair(self.model, voter=voter, active=active)
        prob = getattr(pair, "probability", None)
        return int(pair[0]), int(pair[1]), None if prob is None else float(prob)

    def results_view(self, statuses: tuple[str, ...] = ("active",)) -> ResultsView:
        """What :func:`rank_view` needs besides a model, copied: O(ideas), no model work (the
        service takes it and a model copy under its lock and ranks outside it)."""
        keep = [i for i in self.ideas if i.status in statuses]
        ids = [i.id for i in keep]
        return ResultsView(
            idx=np.array(ids, dtype=np.int64),
            texts=[i.text for i in keep],
            statuses=[i.status for i in keep],
            wins=[self.wins[i] for i in ids],
            losses=[self.losses[i] for i in ids],
            ties=[self.ties[i] for i in ids],
            skips=[self.skips[i] for i in ids],
            shown_left=[self.shown_left[i] for i in ids],
            shown_right=[self.shown_right[i] for i in ids],
            n_votes=self.n_votes,
        )

    def model_copy(self) -> PairwiseModel:
        """An independent copy of the live model (exact state round trip; ~1-7 ms for
        50k-500k answers), for work that must not hold the caller's lock."""
        return type(self.model).from_state(self.model.state())
