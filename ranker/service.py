"""The facade the API (and the CLI) call: every use case of the voting core.

:class:`RankerService` validates input, appends events to the store and keeps
one :class:`~ranker.projection.Projection` per survey in step with the log.
Before every read it catches up from its last applied sequence number, so
several processes (or hosts, with Redis) sharing one store see each other's
writes. On a store that pushes new events (Redis, :meth:`Store.follow`) a
background follower keeps the loaded projections in step, and picks skip the
catch-up read while the follower has delivered everything logged up to
``follow_max_lag_s`` ago. Methods are thread-safe (one re-entrant lock per
service, also taken by the follower to apply events); :meth:`close` stops the
follower.

Organiser methods take ``organiser=`` (the id from :meth:`authenticate`); when
given, the survey must belong to that organiser (else ``forbidden``). Passing
``None`` skips the ownership check (CLI, tests, admin tools).

>>> from ranker.storage import open_store
>>> svc = RankerService(open_store("memory://"), secret=b"s" * 32)
>>> org, key = svc.create_organiser("Clinic")
>>> svc.authenticate(key).id == org.id
True
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, NamedTuple

import msgspec
import numpy as np

from ranker import events as ev
from ranker.domain import (
    Answer,
    AnswerReceipt,
    Ballot,
    Comment,
    Flag,
    Idea,
    IdeaStatus,
    Limits,
    Organiser,
    Origin,
    Results,
    Survey,
    SurveyPatch,
    TopKEstimate,
    Voter,
    check_text,
)
from ranker.errors import (
    BadToken,
    BallotExpired,
    BallotNotFound,
    BallotUsed,
    Forbidden,
    IdeaNotFound,
    IdeasNotAllowed,
    InvalidInput,
    LimitReached,
    NothingToUndo,
    SurveyClosed,
    SurveyNotFound,
    Unauthorized,
    UndoExpired,
    VoterVoided,
    WrongVoter,
)
from ranker.projection import (
    Projection,
    ResultsView,
    SamplerFactory,
    SamplerLike,
    rank_view,
    settle_estimate,
)
from ranker.storage.base import Following, Store, StoredEvent, VoteAppend
from ranker.tokens import BallotClaims, TokenSigner, VoterClaims, new_id

__all__ = ["EXPORT_KINDS", "RankerService", "default_sampler_factory", "snapshot_due"]

log = logging.getLogger("ranker.service")

EXPORT_KINDS = ("votes", "skips", "ideas", "comments", "flags")
_SKIP_REASONS = ("like_both", "dislike_both", "same", "dont_know", "other")
_CHOICES = ("left", "right", "tie", "skip")
_OUTCOMES: dict[str, Literal["left", "right", "tie"]] = {
    "left": "left",
    "right": "right",
    "tie": "tie",
}


class _RankingJob(NamedTuple):
    """What :meth:`RankerService.results` copies under the lock before ranking outside it."""

    seq: int
    survey: Survey
    rows: tuple[Any, ...] | None  # a group's answers, to fit a model of their own
    model: Any  # a copy of the live model (no group)
    view: ResultsView
    head: dict[str, Any]
    n_items: int


def snapshot_due(seq: int, every: int) -> bool:
    """Whether the worker that logged event ``seq`` saves a snapshot (``every`` 0: never).

    Every ``every`` events until the log holds ``8 * every``, then the step doubles each
    time the log reaches 8 steps: a restarting worker folds at most ~1/8 of the log after
    the snapshot, and the snapshots' total cost stays proportional to the log's length
    (a fixed step made it quadratic: each save encodes the whole projection on the
    answering request, ~10 ms per 100k answers). Exactly one worker logs ``seq``, so
    exactly one saves it.

    >>> [s for s in range(1, 200_001) if snapshot_due(s, 5000)][-5:]
    [100000, 120000, 140000, 160000, 200000]
    """
    if every <= 0 or seq <= 0:
        return False
    step = every
    while seq >= 8 * step:
        step *= 2
    return seq % step == 0


class _PendingAnswer(NamedTuple):
    """An answer checked and encoded, before the store call (see :meth:`RankerService.answer`)."""

    survey_id: str
    ballot: BallotClaims
    event: ev.VoteCast | ev.VoteSkipped
    data: bytes
    after: int
    store_kw: dict[str, Any]


def default_sampler_factory(seed: int | None = None) -> SamplerFactory:
    """Samplers from :mod:`algorithms` by name (unknown names fall back to ``random``)."""
    from algorithms import SAMPLERS, create_sampler

    rng = secrets.SystemRandom() if seed is None else None
    counter = [0]

    def make(name: str) -> SamplerLike:
        if name not in SAMPLERS:
            name = "random"
        counter[0] += 1
        s = rng.randrange(2**31) if rng is not None else (seed or 0) + counter[0]
        sampler: SamplerLike = create_sampler(name, seed=s)
        return sampler

    return make


def _default_names() -> tuple[str, str]:
    from algorithms import MODELS, SAMPLERS

    model = next((m for m in ("bt", "bt-online", "elo") if m in MODELS), "bt")
    sampler = next((s for s in ("adaptive", "balanced", "random") if s in SAMPLERS), "random")
    return model, sampler


def hash_key(api_key: str) -> str:
    """SHA-256 of an API key (keys carry 256 random bits, so no slow KDF is needed)."""
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


class RankerService:
    """Use cases of the voting core over one :class:`~ranker.storage.base.Store`.

    Parameters
    ----------
    store
        Any backend from :func:`ranker.storage.open_store`.
    secret
        Key material for ballot and voter tokens (>= 16 bytes); every process
        sharing a store must use the same secret.
    clock
        Seconds since the epoch (injectable for tests).
    sampler_factory
        Builds a survey's sampler by name (default: :mod:`algorithms` samplers).
    snapshot_every
        Save a projection snapshot every this many events while a survey's log is short,
        less often as it grows (:func:`snapshot_due`; 0: never automatically).
    max_staleness_s
        Picks (``next_ballot``) may use a projection caught up at most this long ago
        instead of reading the log first (0, the default: always catch up). Answers
        are always checked by the store, and every other read always catches up.
    results_max_age_s
        :meth:`results` may return a ranking computed at most this long ago even if
        answers arrived since (0, the default: recompute whenever the log moved). Summaries
        of a large ``bt`` survey take ~0.1–1 s, so a dashboard-heavy deployment may set 1–5.
    follow
        Follow the log in the background when the store can push events (Redis); the
        follower starts with the first loaded survey and stops with :meth:`close` (or the
        store's ``close``).
    follow_max_lag_s
        A pick reuses a followed projection without reading the log when the follower has
        delivered every event logged up to this many seconds ago; otherwise (follower
        dead, lagging or stopped) it catches up by reading, as without a follower.
    """

    def __init__(
        self,
        store: Store,
        secret: bytes,
        clock: Callable[[], float] = time.time,
        *,
        sampler_factory: SamplerFactory | None = None,
        snapshot_every: int = 5000,
        max_staleness_s: float = 0.0,
        results_max_age_s: float = 0.0,
        follow: bool = True,
        follow_max_lag_s: float = 0.1,
    ) -> None:
        self.store = store
        self.signer = TokenSigner(secret)
        self.clock = clock
        self.sampler_factory = sampler_factory or default_sampler_factory()
        self.snapshot_every = snapshot_every
        self.max_staleness_s = max_staleness_s
        self._projections: dict[str, Projection] = {}
        self._synced: dict[str, float] = {}
        self.results_max_age_s = results_max_age_s
        self._results: dict[tuple[Any, ...], tuple[float, Results]] = {}
        # rankings being computed, so concurrent requests for the same one share it
        self._computing: dict[tuple[Any, ...], tuple[int, threading.Event]] = {}
        self._voter_cache: dict[str, VoterClaims] = {}
        self._lock = threading.RLock()
        self._moved = threading.Condition(self._lock)  # notified when a projection advances
        self.follow = follow
        self.follow_max_lag_s = follow_max_lag_s
        self._followed: dict[str, float] = {}  # survey -> follower's "caught up as of"
        self._follower: Following | None = None
        self._snap_writer: ThreadPoolExecutor | None = None  # started with the first snapshot
        self._closed = False

    # -- organisers ------------------------------------------------------------------
    def create_organiser(self, name: str) -> tuple[Organiser, str]:
        """A new organiser and its API key (shown once; only its hash is stored)."""
        name = check_text("name", name, 200)
        key = "rk_" + secrets.token_urlsafe(32)
        org = Organiser(id=new_id(9), name=name, key_hash=hash_key(key), created=self.clock())
        self.store.put_organiser(org.key_hash, msgspec.msgpack.encode(org))
        return org, key

    def authenticate(self, api_key: str | None) -> Organiser:
        """The organiser owning ``api_key``; raises ``unauthorized`` otherwise."""
        if not api_key or not isinstance(api_key, str) or len(api_key) > 200:
            raise Unauthorized("missing or malformed API key")
        data = self.store.get_organiser(hash_key(api_key))
        if data is None:
            raise Unauthorized("unknown API key")
        return msgspec.msgpack.decode(data, type=Organiser)

    # -- projections -----------------------------------------------------------------
    def projection(self, survey_id: str, max_staleness_s: float = 0.0) -> Projection:
        """The survey's projection, caught up with the log (raises ``survey_not_found``).

        With ``max_staleness_s > 0`` a projection caught up less than that many seconds
        ago is returned without reading the log.
        """
        return self._projection(survey_id, max_staleness_s, followed=False)

    def _projection(self, survey_id: str, max_staleness_s: float, *, followed: bool) -> Projection:
        # ``followed``: also accept a projection the follower kept in step until recently
        with self._lock:
            proj = self._projections.get(survey_id)
            if proj is not None:
                now = time.monotonic()
                if (
                    max_staleness_s > 0
                    and now - self._synced.get(survey_id, -1e18) < max_staleness_s
                ) or (
                    followed and now - self._followed.get(survey_id, -1e18) < self.follow_max_lag_s
                ):
                    return proj
            if proj is None:
                if not isinstance(survey_id, str) or not 0 < len(survey_id) <= 64:
                    raise SurveyNotFound(f"no survey {survey_id!r}")
                proj = self._from_snapshot(survey_id)
            for item in self.store.read(survey_id, proj.seq):
                proj.apply(item.seq, ev.decode(item.data))
            if proj.survey is None:
                raise SurveyNotFound(f"no survey {survey_id!r}")
            self._projections[survey_id] = proj
            self._synced[survey_id] = time.monotonic()
            self._moved.notify_all()
            if self.follow and self._follower is None and not self._closed:
                self._follower = self.store.follow(self._follow_positions, self._follow_deliver)
            return proj

    # -- following -------------------------------------------------------------------
    def _follow_positions(self) -> dict[str, int]:
        with self._lock:
            return {s: p.seq for s, p in self._projections.items()}

    def _follow_deliver(
        self, survey_id: str, events: list[StoredEvent], as_of: float | None
    ) -> None:
        with self._lock:
            proj = self._projections.get(survey_id)
            if proj is None:
                return
            for item in events:
                if item.seq <= proj.seq:  # already applied (our own write, or a read)
                    continue
                if item.seq != proj.seq + 1:  # cannot happen (reads start at proj.seq)
                    return
                proj.apply(item.seq, ev.decode(item.data))
            if events:
                self._moved.notify_all()
            if (
                as_of is not None
                and self._follower is not None
                and as_of > self._followed.get(survey_id, -1e18)
            ):
                self._followed[survey_id] = as_of

    def following(self) -> bool:
        """Whether a background follower is running for this service."""
        f = self._follower
        return f is not None and f.alive

    def wait_for(self, survey_id: str, seq: int, timeout: float) -> bool:
        """Block until this worker's projection of a loaded survey has applied ``seq``
        (delivered by the follower or any read); ``False`` on timeout. No read is made."""
        with self._moved:
            return self._moved.wait_for(
                lambda: (p := self._projections.get(survey_id)) is not None and p.seq >= seq,
                timeout,
            )

    def close(self) -> None:
        """Stop the follower and finish pending snapshot writes (the store stays open: close
        it yourself, after this). Idempotent."""
        with self._lock:
            self._closed = True
            follower, self._follower = self._follower, None
            self._followed.clear()  # from now on picks catch up by reading
            writer, self._snap_writer = self._snap_writer, None
        if follower is not None:
            follower.stop()
        if writer is not None:
            writer.shutdown(wait=True)

    def _from_snapshot(self, survey_id: str) -> Projection:
        snap = self.store.load_snapshot(survey_id)
        if snap is not None:
            try:
                return Projection.from_snapshot(survey_id, snap.data, self.sampler_factory)
            except (msgspec.DecodeError, KeyError, ValueError, TypeError):
                pass  # written by another version: the log is the truth, fold it all
        return Projection(survey_id, self.sampler_factory)

    def rebuild(self, survey_id: str) -> Projection:
        """A fresh projection folded from the whole log (no snapshot, not cached)."""
        proj = Projection(survey_id, self.sampler_factory)
        for item in self.store.iter_events(survey_id):
            proj.apply(item.seq, ev.decode(item.data))
        if proj.survey is None:
            raise SurveyNotFound(f"no survey {survey_id!r}")
        return proj

    def snapshot(self, survey_id: str) -> int:
        """Save a snapshot of the survey's projection now; returns its sequence number."""
        with self._lock:
            proj = self.projection(survey_id)
            self.store.save_snapshot(survey_id, proj.seq, proj.snapshot())
            return proj.seq

    def _append(self, survey_id: str, event: ev.Event) -> Projection:
        with self._lock:
            proj = self.projection(survey_id)
            seq = self.store.append(survey_id, ev.encode(event))
            self._applied(proj, seq, event)
            return proj

    def _applied(
        self, proj: Projection, seq: int, event: ev.Event, gap: list[StoredEvent] | None = None
    ) -> None:
        for item in gap or ():  # others' events logged between ours and proj.seq
            if item.seq == proj.seq + 1:
                proj.apply(item.seq, ev.decode(item.data))
        if seq <= proj.seq:
            pass  # the follower delivered it first
        elif seq == proj.seq + 1:
            proj.apply(seq, event)
        else:  # someone else wrote in between: fold their events and ours in order
            for item in self.store.read(proj.survey_id, proj.seq):
                proj.apply(item.seq, ev.decode(item.data))
        self._moved.notify_all()
        if snapshot_due(seq, self.snapshot_every):
            self._save_snapshot_later(proj.survey_id, proj.seq, proj.snapshot())

    def _save_snapshot_later(self, survey_id: str, seq: int, data: bytes) -> None:
        """Write an automatic snapshot from a background thread.

        Encoding needs the lock (a consistent projection: ~10 ms per 100k answers), the
        write does not (~10-30 ms for the same snapshot, more on a busy Redis), so the
        request that logged ``seq`` does not wait for it. A failed write is logged, never
        reported to that request: its answer is already in the log, and a snapshot is only
        a shortcut for starting workers.
        """
        if self._snap_writer is None:
            self._snap_writer = ThreadPoolExecutor(1, thread_name_prefix="ranker-snapshot")
        self._snap_writer.submit(self._write_snapshot, survey_id, seq, data)

    def _write_snapshot(self, survey_id: str, seq: int, data: bytes) -> None:
        try:
            self.store.save_snapshot(survey_id, seq, data)
        except Exception:  # the log is the truth; the next snapshot will try again
            log.warning("snapshot of %s at %d not saved", survey_id, seq, exc_info=True)

    # -- surveys ---------------------------------------------------------------------
    def _owned(self, survey_id: str, organiser: str | None) -> Projection:
        proj = self.projection(survey_id)
        assert proj.survey is not None
        if organiser is not None and proj.survey.owner != organiser:
            raise Forbidden("this survey belongs to another organiser")
        return proj

    def create_survey(
        self,
        owner: str,
        question: str,
        *,
        description: str = "",
        model: str | None = None,
        sampler: str | None = None,
        allow_ideas: bool = True,
        moderate_ideas: bool = True,
        groups: Iterable[str] = (),
        embed_origins: Iterable[str] = (),
        show_results_to_voters: bool = False,
        limits: Limits | None = None,
        ideas: Iterable[str] = (),
        open_now: bool = False,
    ) -> Survey:
        """Create a survey (status ``draft`` unless ``open_now``), optionally seeded with ideas."""
        default_model, default_sampler = _default_names()
        survey = Survey(
            id=new_id(9),
            owner=owner,
            question=check_text("question", question, 300),
            description=check_text("description", description, 5000, allow_empty=True),
            model=self._check_model(model or default_model),
            sampler=self._check_sampler(sampler or default_sampler),
            allow_ideas=bool(allow_ideas),
            moderate_ideas=bool(moderate_ideas),
            groups=self._check_groups(groups),
            embed_origins=self._check_origins(embed_origins),
            show_results_to_voters=bool(show_results_to_voters),
            limits=self._check_limits(limits or Limits()),
            created=self.clock(),
        )
        texts = [check_text("idea", t, survey.limits.idea_max_chars) for t in ideas]
        with self._lock:
            self.store.create_survey(
                survey.id, ev.encode(ev.SurveyCreated(ts=self.clock(), survey=survey))
            )
            for t in texts:
                self._append(survey.id, ev.IdeaAdded(ts=self.clock(), text=t))
            if open_now:
                self._append(survey.id, ev.SurveyStatusChanged(ts=self.clock(), status="open"))
            return self.get_survey(survey.id)

    def get_survey(self, survey_id: str) -> Survey:
        """The survey's current settings."""
        survey = self.projection(survey_id).survey
        assert survey is not None
        return survey

    def list_surveys(self, organiser: str | None = None) -> list[Survey]:
        """All surveys (of one organiser when given), oldest first."""
        out = [self.get_survey(s) for s in self.store.survey_ids()]
        if organiser is not None:
            out = [s for s in out if s.owner == organiser]
        return sorted(out, key=lambda s: (s.created, s.id))

    def update_survey(
        self, survey_id: str, *, organiser: str | None = None, **changes: Any
    ) -> Survey:
        """Change settings; keyword names are the fields of :class:`~ranker.domain.SurveyPatch`."""
        unknown = set(changes) - set(SurveyPatch.__struct_fields__)
        if unknown:
            raise InvalidInput(f"unknown survey setting(s): {', '.join(sorted(unknown))}")
        clean: dict[str, Any] = {}
        for k, v in changes.items():
            if v is None:
                continue
            if k == "question":
                v = check_text("question", v, 300)
            elif k == "description":
                v = check_text("description", v, 5000, allow_empty=True)
            elif k == "model":
                v = self._check_model(v)
            elif k == "sampler":
                v = self._check_sampler(v)
            elif k == "groups":
                v = self._check_groups(v)
            elif k == "embed_origins":
                v = self._check_origins(v)
            elif k == "limits":
                v = self._check_limits(v)
            elif not isinstance(v, bool):
                raise InvalidInput(f"{k} must be true or false", field=k)
            clean[k] = v
        with self._lock:
            self._owned(survey_id, organiser)
            if clean:
                self._append(
                    survey_id, ev.SurveyUpdated(ts=self.clock(), patch=SurveyPatch(**clean))
                )
            return self.get_survey(survey_id)

    def open_survey(self, survey_id: str, *, organiser: str | None = None) -> Survey:
        """Start accepting answers (from ``draft`` or ``closed``)."""
        return self._set_status(survey_id, "open", organiser)

    def close_survey(self, survey_id: str, *, organiser: str | None = None) -> Survey:
        """Stop accepting answers and ideas; results stay readable."""
        return self._set_status(survey_id, "closed", organiser)

    def _set_status(
        self, survey_id: str, status: Literal["open", "closed"], organiser: str | None
    ) -> Survey:
        with self._lock:
            proj = self._owned(survey_id, organiser)
            assert proj.survey is not None
            if proj.survey.status != status:
                self._append(survey_id, ev.SurveyStatusChanged(ts=self.clock(), status=status))
            return self.get_survey(survey_id)

    # -- ideas -----------------------------------------------------------------------
    def add_idea(self, survey_id: str, text: str, *, organiser: str | None = None) -> Idea:
        """An organiser's idea (active at once)."""
        return self.import_ideas(survey_id, [text], organiser=organiser)[0]

    def import_ideas(
        self, survey_id: str, texts: Iterable[str], *, organiser: str | None = None
    ) -> list[Idea]:
        """Add many organiser ideas; all texts are validated before any is added."""
        with self._lock:
            proj = self._owned(survey_id, organiser)
            assert proj.survey is not None
            limit = proj.survey.limits.idea_max_chars
            clean = [check_text(f"ideas[{i}]", t, limit) for i, t in enumerate(texts)]
            first = len(proj.ideas)
            for t in clean:
                self._append(survey_id, ev.IdeaAdded(ts=self.clock(), text=t))
            return self._ideas_added_since(proj, first, clean)

    def _ideas_added_since(self, proj: Projection, first: int, texts: list[str]) -> list[Idea]:
        # other processes may have added ideas concurrently: ours are the ones with our texts
        mine: list[Idea] = []
        want = list(texts)
        for idea in proj.ideas[first:]:
            if want and idea.text == want[0]:
                mine.append(idea)
                want.pop(0)
        return mine

    def submit_idea(self, survey_id: str, voter_token: str, text: str) -> Idea:
        """A participant's idea: needs ``allow_ideas``, an open survey and the per-voter quota;
        ``pending`` until approved when the survey moderates ideas."""
        with self._lock:
            proj = self.projection(survey_id)
            claims = self._voter_claims(survey_id, voter_token)
            survey = proj.survey
            assert survey is not None
            if not survey.allow_ideas:
                raise IdeasNotAllowed("this survey does not accept ideas from participants")
            if survey.status != "open":
                raise SurveyClosed(f"survey is {survey.status}")
            clean = check_text("idea", text, survey.limits.idea_max_chars)
            info = proj.voters.get(claims.voter)
            if info is not None and info.voided:
                raise VoterVoided("this voter was voided by the organiser")
            quota = survey.limits.ideas_per_voter
            full = LimitReached(f"at most {quota} ideas per participant", limit=quota)
            if info is not None and info.ideas >= quota:
                raise full
            first = len(proj.ideas)
            status: IdeaStatus = "pending" if survey.moderate_ideas else "active"
            event = ev.IdeaAdded(
                ts=self.clock(), text=clean, author="participant", voter=claims.voter, status=status
            )
            # the projection's count above is this worker's view; the store's counter is the
            # atomic one, so the quota holds across workers submitting at the same moment
            try:
                seq = self.store.append_quota(
                    survey_id, ev.encode(event), counter=f"ideas:{claims.voter}", limit=quota
                )
            except LimitReached:
                raise full from None
            self._applied(proj, seq, event)
            return self._ideas_added_since(proj, first, [clean])[0]

    def get_idea(self, survey_id: str, idea_id: int) -> Idea:
        """One idea (any status)."""
        return self._idea(self.projection(survey_id), idea_id)

    @staticmethod
    def _idea(proj: Projection, idea_id: object) -> Idea:
        if not isinstance(idea_id, int) or isinstance(idea_id, bool):
            raise IdeaNotFound(f"no idea {idea_id!r}")
        if not 0 <= idea_id < len(proj.ideas):
            raise IdeaNotFound(f"no idea {idea_id} in survey {proj.survey_id}")
        return proj.ideas[idea_id]

    def list_ideas(self, survey_id: str, status: IdeaStatus | None = None) -> list[Idea]:
        """Ideas in id order, optionally of one status."""
        ideas = self.projection(survey_id).ideas
        return [i for i in ideas if status is None or i.status == status]

    def edit_idea(
        self, survey_id: str, idea_id: int, text: str, *, organiser: str | None = None
    ) -> Idea:
        """Change an idea's text; its votes are kept."""
        with self._lock:
            proj = self._owned(survey_id, organiser)
            assert proj.survey is not None
            self._idea(proj, idea_id)
            clean = check_text("idea", text, proj.survey.limits.idea_max_chars)
            self._append(survey_id, ev.IdeaEdited(ts=self.clock(), idea=idea_id, text=clean))
            return proj.ideas[idea_id]

    def set_idea_status(
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
        reason = check_text("reason", reason, 500, allow_empty=True)
        with self._lock:
            proj = self._owned(survey_id, organiser)
            if self._idea(proj, idea_id).status != status:
                self._append(
                    survey_id,
                    ev.IdeaStatusChanged(
                        ts=self.clock(), idea=idea_id, status=status, reason=reason
                    ),
                )
            return proj.ideas[idea_id]

    def moderate_idea(
        self,
        survey_id: str,
        idea_id: int,
        approve: bool,
        *,
        reason: str = "",
        organiser: str | None = None,
    ) -> Idea:
        """Approve (``active``) or reject a submitted idea."""
        status: IdeaStatus = "active" if approve else "rejected"
        return self.set_idea_status(survey_id, idea_id, status, reason=reason, organiser=organiser)

    def retire_idea(self, survey_id: str, idea_id: int, *, organiser: str | None = None) -> Idea:
        """Stop showing an idea; its votes stay in the model."""
        return self.set_idea_status(survey_id, idea_id, "retired", organiser=organiser)

    # -- voters and ballots -----------------------------------------------------------
    def issue_voter(self, survey_id: str, group: str | None = None) -> Voter:
        """A new anonymous voter with a signed token (nothing is written to the log)."""
        survey = self.get_survey(survey_id)
        if group is not None and group not in survey.groups:
            allowed = ", ".join(survey.groups) or "none defined"
            raise InvalidInput(f"unknown group {group!r}; groups: {allowed}", field="group")
        vid = new_id(12)
        token = self.signer.sign_voter(
            VoterClaims(survey=survey_id, voter=vid, group=group, issued=self.clock())
        )
        return Voter(id=vid, survey=survey_id, group=group, token=token)

    def voter(self, survey_id: str, voter_token: str) -> Voter:
        """The voter a token names (raises ``bad_token`` for a forged or foreign token)."""
        c = self._voter_claims(survey_id, voter_token)
        return Voter(id=c.voter, survey=c.survey, group=c.group, token=voter_token)

    def _voter_claims(self, survey_id: str, voter_token: str) -> VoterClaims:
        # a voter token is verified once per process; the cache maps the exact token string
        # to claims that passed verification, so it cannot admit a forged token
        claims = self._voter_cache.get(voter_token) if isinstance(voter_token, str) else None
        if claims is None:
            claims = self.signer.verify_voter(voter_token)
            if len(self._voter_cache) >= 20_000:
                self._voter_cache.clear()
            self._voter_cache[voter_token] = claims
        if claims.survey != survey_id:
            raise BadToken("voter token belongs to another survey")
        return claims

    def next_ballot(self, survey_id: str, voter_token: str) -> Ballot:
        """The next pair for this voter, as a signed single-use expiring ballot."""
        with self._lock:
            proj = self._projection(survey_id, self.max_staleness_s, followed=True)
            claims = self._voter_claims(survey_id, voter_token)
            survey = proj.survey
            assert survey is not None
            if survey.status != "open":
                raise SurveyClosed(f"survey is {survey.status}")
            info = proj.voters.get(claims.voter)
            if info is not None and info.voided:
                raise VoterVoided("this voter was voided by the organiser")
            left, right, prob = proj.pick(claims.voter)
            texts = (proj.ideas[left].text, proj.ideas[right].text)
        now = self.clock()
        c = BallotClaims(
            id=new_id(12),
            survey=survey_id,
            voter=claims.voter,
            group=claims.group,
            left=left,
            right=right,
            probability=prob,
            issued=now,
            expires=now + survey.limits.ballot_ttl_s,
        )
        return Ballot(
            id=c.id,
            survey=survey_id,
            voter=c.voter,
            left=left,
            right=right,
            probability=prob,
            issued=now,
            expires=c.expires,
            group=c.group,
            token=self.signer.sign_ballot(c),
            left_text=texts[0],
            right_text=texts[1],
        )

    def answer(
        self,
        survey_id: str,
        voter_token: str,
        ballot_token: str,
        choice: str,
        *,
        reason: str | None = None,
        response_ms: int | None = None,
    ) -> AnswerReceipt:
        """Answer a ballot: ``left``, ``right``, ``tie`` or ``skip`` (+ ``reason``).

        Atomic in the store (ballot check-and-mark, rate limit, append). A retry
        with the same choice and reason returns the original receipt; a different
        answer to a used ballot raises ``ballot_used``.
        """
        p = self._prepare_answer(survey_id, voter_token, ballot_token, choice, reason, response_ms)
        res, gap = self.store.append_vote_after(survey_id, p.data, after=p.after, **p.store_kw)
        return self._finish_answer(p, res, gap)

    async def answer_async(
        self,
        survey_id: str,
        voter_token: str,
        ballot_token: str,
        choice: str,
        *,
        reason: str | None = None,
        response_ms: int | None = None,
    ) -> AnswerReceipt:
        """:meth:`answer` for an event loop: the store call is awaited
        (:meth:`Store.append_vote_after_async`), so a worker serves other requests while a
        networked store (Redis) runs the answer script. Checks and effects are the same."""
        p = self._prepare_answer(survey_id, voter_token, ballot_token, choice, reason, response_ms)
        res, gap = await self.store.append_vote_after_async(
            survey_id, p.data, after=p.after, **p.store_kw
        )
        return self._finish_answer(p, res, gap)

    def _prepare_answer(
        self,
        survey_id: str,
        voter_token: str,
        ballot_token: str,
        choice: str,
        reason: str | None,
        response_ms: int | None,
    ) -> _PendingAnswer:
        """Every check that needs no store write, and the event to append."""
        ans = self._check_answer(choice, reason, response_ms)
        with self._lock:  # an unknown survey is reported as such, before any token check
            if survey_id not in self._projections:
                self.projection(survey_id)
        b = self.signer.verify_ballot(ballot_token)
        claims = self._voter_claims(survey_id, voter_token)
        if b.survey != survey_id:
            raise BallotNotFound("this ballot belongs to another survey")
        if b.voter != claims.voter:
            raise WrongVoter("this ballot was issued to another voter")
        now = self.clock()
        if now > b.expires:
            raise BallotExpired("this ballot has expired; ask for a new pair")
        event: ev.VoteCast | ev.VoteSkipped
        if ans.choice == "skip":
            event = ev.VoteSkipped(
                ts=now,
                ballot=b.id,
                voter=b.voter,
                group=b.group,
                left=b.left,
                right=b.right,
                reason=ans.reason or "dont_know",
                probability=b.probability,
                response_ms=ans.response_ms,
            )
        else:
            event = ev.VoteCast(
                ts=now,
                ballot=b.id,
                voter=b.voter,
                group=b.group,
                left=b.left,
                right=b.right,
                outcome=_OUTCOMES[ans.choice],
                probability=b.probability,
                response_ms=ans.response_ms,
            )
        with self._lock:
            # Fast path: check against the cached projection and let the store decide; the
            # log order is authoritative (an answer logged after "close" or "void" is inert).
            proj = self._projections.get(survey_id) or self.projection(survey_id)
            if not self._answerable(proj, b):
                proj = self.projection(survey_id)  # maybe stale: catch up, then explain
                self._refuse(proj, b)
            assert proj.survey is not None
            after = proj.seq
            rate_limit = proj.survey.limits.answers_per_minute
        return _PendingAnswer(
            survey_id,
            b,
            event,
            ev.encode(event),
            after,
            {
                "ballot": b.id,
                "voter": b.voter,
                "ballot_expires": b.expires,
                "now": now,
                "rate_limit": rate_limit,
            },
        )

    def _finish_answer(
        self, p: _PendingAnswer, res: VoteAppend, gap: list[StoredEvent]
    ) -> AnswerReceipt:
        """Apply the stored answer (and the events logged before it) to the projection."""
        if res.duplicate:
            old = ev.decode(res.data)
            assert isinstance(old, ev.VoteCast | ev.VoteSkipped)
            if _same_answer(old, p.event):
                return _receipt(res.seq, old)
            raise BallotUsed("this ballot was already answered differently")
        with self._lock:
            # the projection may have moved while the store worked (other requests, the
            # follower): _applied skips what it already holds and folds the rest in order
            proj = self._projections.get(p.survey_id) or self.projection(p.survey_id)
            self._applied(proj, res.seq, p.event, gap)
            if not proj.by_seq[res.seq].active:
                self._refuse(proj, p.ballot)
            return _receipt(res.seq, p.event)

    @staticmethod
    def _answerable(proj: Projection, b: BallotClaims) -> bool:
        n = len(proj.ideas)
        info = proj.voters.get(b.voter)
        return (
            proj.survey is not None
            and proj.survey.status == "open"
            and 0 <= b.left < n
            and 0 <= b.right < n
            and (info is None or not info.voided)
        )

    @staticmethod
    def _refuse(proj: Projection, b: BallotClaims) -> None:
        """Raise the error explaining why ``b`` cannot be answered now (if any)."""
        n = len(proj.ideas)
        if not (0 <= b.left < n and 0 <= b.right < n):
            raise BallotNotFound("this ballot names ideas this survey does not have")
        assert proj.survey is not None
        if proj.survey.status != "open":
            raise SurveyClosed(f"survey is {proj.survey.status}")
        info = proj.voters.get(b.voter)
        if info is not None and info.voided:
            raise VoterVoided("this voter was voided by the organiser")

    @staticmethod
    def _check_answer(choice: object, reason: object, response_ms: object) -> Answer:
        if choice not in _CHOICES:
            raise InvalidInput(f"choice must be one of {', '.join(_CHOICES)}", field="choice")
        if reason is not None and (choice != "skip" or reason not in _SKIP_REASONS):
            raise InvalidInput(
                f"reason is only for skip and must be one of {', '.join(_SKIP_REASONS)}",
                field="reason",
            )
        if response_ms is not None and (
            not isinstance(response_ms, int)
            or isinstance(response_ms, bool)
            or not 0 <= response_ms <= 86_400_000
        ):
            raise InvalidInput(
                "response_ms must be an integer in [0, 86400000]", field="response_ms"
            )
        return msgspec.convert(
            {"choice": choice, "reason": reason, "response_ms": response_ms}, Answer
        )

    def undo_last(self, survey_id: str, voter_token: str) -> int:
        """Take back the voter's last answer if within the undo window; returns its ``seq``."""
        with self._lock:
            proj = self.projection(survey_id)
            claims = self._voter_claims(survey_id, voter_token)
            survey = proj.survey
            assert survey is not None
            if survey.status != "open":
                raise SurveyClosed(f"survey is {survey.status}")
            info = proj.voters.get(claims.voter)
            if info is None or not info.answers:
                raise NothingToUndo("no answer to undo")
            target = info.answers[-1]
            row = proj.by_seq[target]
            if self.clock() - row.ts > survey.limits.undo_window_s:
                raise UndoExpired(f"answers can be undone within {survey.limits.undo_window_s} s")
            self._append(
                survey_id, ev.VoteUndone(ts=self.clock(), voter=claims.voter, target=target)
            )
            return target

    def void_voter(
        self, survey_id: str, voter_id: str, *, reason: str = "", organiser: str | None = None
    ) -> int:
        """Void every answer of a voter (and refuse their future ones); returns how many."""
        reason = check_text("reason", reason, 500, allow_empty=True)
        with self._lock:
            proj = self._owned(survey_id, organiser)
            if not isinstance(voter_id, str) or voter_id not in proj.voters:
                raise InvalidInput(
                    f"voter {voter_id!r} has not answered in this survey", field="voter"
                )
            n = len(proj.voters[voter_id].answers)
            self._append(survey_id, ev.VoterVoided(ts=self.clock(), voter=voter_id, reason=reason))
            return n

    # -- comments and flags -------------------------------------------------------------
    def add_comment(
        self,
        survey_id: str,
        idea_id: int,
        text: str,
        *,
        voter_token: str | None = None,
        organiser: str | None = None,
    ) -> Comment:
        """A comment on an idea by a voter (token) or the organiser."""
        with self._lock:
            proj = self._owned(survey_id, organiser) if organiser else self.projection(survey_id)
            survey = proj.survey
            assert survey is not None
            voter = self._voter_claims(survey_id, voter_token).voter if voter_token else None
            if voter is None and organiser is None:
                raise InvalidInput("a comment needs a voter token or an organiser")
            if voter is not None and survey.status != "open":
                raise SurveyClosed(f"survey is {survey.status}")
            self._idea(proj, idea_id)
            clean = check_text("comment", text, survey.limits.comment_max_chars)
            self._append(
                survey_id, ev.CommentAdded(ts=self.clock(), idea=idea_id, voter=voter, text=clean)
            )
            return next(c for c in reversed(proj.comments) if c.text == clean and c.voter == voter)

    def flag_idea(self, survey_id: str, idea_id: int, voter_token: str, reason: str = "") -> Flag:
        """A participant reports an idea as inappropriate."""
        with self._lock:
            proj = self.projection(survey_id)
            voter = self._voter_claims(survey_id, voter_token).voter
            self._idea(proj, idea_id)
            clean = check_text("reason", reason, 500, allow_empty=True)
            self._append(
                survey_id, ev.IdeaFlagged(ts=self.clock(), idea=idea_id, voter=voter, reason=clean)
            )
            return next(f for f in reversed(proj.flags) if f.voter == voter and f.idea == idea_id)

    def list_comments(self, survey_id: str, idea_id: int | None = None) -> list[Comment]:
        """Comments, oldest first, optionally on one idea."""
        proj = self.projection(survey_id)
        if idea_id is not None:
            self._idea(proj, idea_id)
        return [c for c in proj.comments if idea_id is None or c.idea == idea_id]

    def list_flags(self, survey_id: str) -> list[Flag]:
        """Flags, oldest first."""
        return list(self.projection(survey_id).flags)

    # -- results -----------------------------------------------------------------------
    def results(
        self,
        survey_id: str,
        *,
        group: str | None = None,
        level: float = 0.95,
        include_retired: bool = False,
    ) -> Results:
        """Ranked active ideas (plus retired ones if asked), overall or for one group.

        Group results refit a fresh model of the survey's kind on that group's answers.
        Results are cached per log position, so polling an unchanged survey is cheap, and
        concurrent requests for a ranking already being computed at the same log position
        wait for it instead of computing it again. The service lock is held only to copy
        what the ranking needs (the model's state, the ideas and counters: milliseconds);
        the refit and the summaries run outside it, so votes keep flowing meanwhile.
        """
        level = _check_level(level)
        key = (survey_id, group, level, include_retired)
        while True:
            with self._lock:
                proj = self.projection(survey_id)
                survey = proj.survey
                assert survey is not None
                hit = self._results.get(key)
                now = time.monotonic()
                if hit is not None and (
                    hit[1].seq == proj.seq or now - hit[0] < self.results_max_age_s
                ):
                    return hit[1]
                flight = self._computing.get(key)
                if flight is None or flight[0] != proj.seq:
                    # ours to compute: copy what it needs while the lock is held
                    job = self._ranking_job(proj, group, level, include_retired)
                    done = threading.Event()
                    self._computing[key] = (job.seq, done)
                    break
            # the same ranking is being computed by another request: share it
            flight[1].wait(60)
        out: Results | None = None
        try:
            model = job.model
            if job.rows is not None:
                model = self._fit(job.survey.model, job.n_items, *job.rows)
            out = Results(**job.head, ideas=rank_view(job.view, model, level))
        finally:
            with self._lock:
                if out is not None:
                    if len(self._results) >= 256:
                        self._results.clear()
                    old = self._results.get(key)
                    if old is None or old[1].seq <= job.seq:
                        self._results[key] = (now, out)
                if self._computing.get(key) == (job.seq, done):
                    del self._computing[key]
                done.set()  # waiters re-check the cache (and compute themselves if it failed)
        return out

    def _ranking_job(
        self, proj: Projection, group: str | None, level: float, include_retired: bool
    ) -> _RankingJob:
        """Copies of what a ranking needs, taken under the lock (see :meth:`results`)."""
        survey = proj.survey
        assert survey is not None
        statuses: tuple[IdeaStatus, ...] = ("active", "retired") if include_retired else ("active",)
        voters = [v for v in proj.voters.values() if v.answers]
        rows: tuple[Any, ...] | None = None
        model: Any = None
        if group is not None:
            if group not in survey.groups:
                raise InvalidInput(f"unknown group {group!r}", field="group")
            rows = proj.rows(group=group)
            voters = [v for v in voters if v.group == group]
        else:
            model = proj.model_copy()
        head = {
            "survey": proj.survey_id,
            "model": survey.model,
            "level": level,
            "n_votes": _n(proj, group),
            "n_skips": proj.n_skips if group is None else _n_skips(proj, group),
            "n_voters": len(voters),
            "seq": proj.seq,
            "group": group,
        }
        return _RankingJob(
            proj.seq, survey, rows, model, proj.results_view(statuses), head, len(proj.ideas)
        )

    def my_results(self, survey_id: str, voter_token: str, level: float = 0.95) -> Results:
        """The ranking implied by one voter's own answers."""
        level = _check_level(level)
        with self._lock:
            proj = self.projection(survey_id)
            claims = self._voter_claims(survey_id, voter_token)
            survey = proj.survey
            assert survey is not None
            rows = proj.rows(voter=claims.voter)
            info = proj.voters.get(claims.voter)
            n_skips = (
                0 if info is None else sum(1 for s in info.answers if proj.by_seq[s].y is None)
            )
            view = proj.results_view()
            seq, n_items = proj.seq, len(proj.ideas)
        model = self._fit(survey.model, n_items, *rows)  # outside the lock, as in results()
        return Results(
            survey=survey_id,
            model=survey.model,
            level=level,
            n_votes=int(rows[0].size),
            n_skips=n_skips,
            n_voters=1 if rows[0].size else 0,
            seq=seq,
            voter=claims.voter,
            ideas=rank_view(view, model, level),
        )

    @staticmethod
    def _fit(name: str, n_items: int, left: Any, right: Any, y: Any, voter: Any) -> Any:
        """A fresh model of kind ``name`` over ``n_items`` fitted to these answers."""
        from ranker.projection import _default_model

        model = _default_model(name)
        model.add_items(n_items)
        if left.size:
            model.fit(left, right, y, voter=voter)
        return model

    def votes_needed(self, survey_id: str, k: int = 10, level: float = 0.95) -> TopKEstimate:
        """Estimate of further answers needed to settle the top ``k`` (see the projection)."""
        level = _check_level(level)
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise InvalidInput("k must be a positive integer", field="k")
        with self._lock:  # copy under the lock, estimate outside it (as results())
            proj = self.projection(survey_id)
            model, n_votes = proj.model_copy(), proj.n_votes
            idx = np.flatnonzero(proj.active_mask()).astype(np.int64)
        return settle_estimate(model, idx, n_votes, k, level)

    # -- exports -------------------------------------------------------------------------
    def export_events(self, survey_id: str, after: int = 0) -> Iterator[tuple[int, ev.Event]]:
        """Every event of the log after ``after``, in order (reads the store in batches)."""
        self.get_survey(survey_id)
        for item in self.store.iter_events(survey_id, after):
            yield item.seq, ev.decode(item.data)

    def export_rows(self, survey_id: str, kind: str) -> Iterator[dict[str, Any]]:
        """Flat rows for CSV/NDJSON: ``votes``, ``skips``, ``ideas``, ``comments``, ``flags``.

        Vote and skip rows carry ``valid`` (false once undone or voided).
        """
        if kind not in EXPORT_KINDS:
            raise InvalidInput(f"kind must be one of {', '.join(EXPORT_KINDS)}", field="kind")
        with self._lock:
            proj = self.projection(survey_id)
            ideas = list(proj.ideas)
            comments, flags = list(proj.comments), list(proj.flags)
            valid = {r.seq: r.active for r in proj.votes}
            upto = proj.seq
        if kind == "ideas":
            for i in ideas:
                yield msgspec.to_builtins(i)
            return
        if kind in ("comments", "flags"):
            for c in comments if kind == "comments" else flags:
                yield msgspec.to_builtins(c)
            return
        want = ev.VoteCast if kind == "votes" else ev.VoteSkipped
        for seq, e in self.export_events(survey_id):
            if seq > upto:
                break
            if isinstance(e, want):
                row: dict[str, Any] = {"seq": seq, **msgspec.to_builtins(e)}
                row.pop("type", None)
                row["valid"] = valid.get(seq, False)
                yield row

    # -- rate limits -----------------------------------------------------------------------
    def rate_limit(self, key: str, limit: int, window_s: int = 60) -> int:
        """Count one hit on ``key`` (atomic across processes); raises ``rate_limited`` over
        ``limit`` per window. For the API's own quotas (e.g. voters issued per IP)."""
        if limit < 1 or window_s < 1:
            raise InvalidInput("limit and window_s must be >= 1")
        return self.store.rate_hit(key, limit, window_s, self.clock())

    # -- validation helpers -----------------------------------------------------------------
    @staticmethod
    def _check_registered(field: str, name: object, known: Iterable[str]) -> str:
        """``name`` if it is one of the registry's names, else ``invalid_input`` on ``field``."""
        names = sorted(known)
        if not isinstance(name, str) or name not in names:
            raise InvalidInput(f"unknown {field} {name!r}; known: {', '.join(names)}", field=field)
        return name

    @classmethod
    def _check_model(cls, name: object) -> str:
        from algorithms import MODELS

        return cls._check_registered("model", name, MODELS)

    @classmethod
    def _check_sampler(cls, name: object) -> str:
        from algorithms import SAMPLERS

        return cls._check_registered("sampler", name, SAMPLERS)

    @staticmethod
    def _check_groups(groups: Iterable[str]) -> list[str]:
        if isinstance(groups, str):
            raise InvalidInput("groups must be a list of names", field="groups")
        out = [check_text("groups", g, 40) for g in groups]
        if len(set(out)) != len(out) or len(out) > 50:
            raise InvalidInput("groups must be distinct (at most 50)", field="groups")
        return out

    @staticmethod
    def _check_origins(origins: Iterable[str]) -> list[str]:
        if isinstance(origins, str):
            raise InvalidInput("embed_origins must be a list of origins", field="embed_origins")
        out = []
        for o in origins:
            o = check_text("embed_origins", o, 200)
            try:
                msgspec.convert([o], list[Origin])
            except msgspec.ValidationError:
                raise InvalidInput(
                    f"{o!r} is not an origin like https://example.org", field="embed_origins"
                ) from None
            out.append(o)
        return out

    @staticmethod
    def _check_limits(limits: object) -> Limits:
        try:
            return msgspec.convert(msgspec.to_builtins(limits), Limits)
        except (msgspec.ValidationError, TypeError) as exc:
            raise InvalidInput(f"invalid limits: {exc}", field="limits") from None


def _check_level(level: object) -> float:
    if not isinstance(level, float | int) or isinstance(level, bool) or not 0.5 <= level < 1.0:
        raise InvalidInput("level must be a number in [0.5, 1)", field="level")
    return float(level)


def _n(proj: Projection, group: str | None) -> int:
    if group is None:
        return proj.n_votes
    idx = {v.index for v in proj.voters.values() if v.group == group}
    return sum(1 for r in proj.votes if r.active and r.y is not None and r.voter in idx)


def _n_skips(proj: Projection, group: str) -> int:
    idx = {v.index for v in proj.voters.values() if v.group == group}
    return sum(1 for r in proj.votes if r.active and r.y is None and r.voter in idx)


def _same_answer(old: ev.VoteCast | ev.VoteSkipped, new: ev.VoteCast | ev.VoteSkipped) -> bool:
    if type(old) is not type(new):
        return False
    if isinstance(old, ev.VoteCast) and isinstance(new, ev.VoteCast):
        return old.outcome == new.outcome
    assert isinstance(old, ev.VoteSkipped) and isinstance(new, ev.VoteSkipped)
    return old.reason == new.reason


def _receipt(seq: int, e: ev.VoteCast | ev.VoteSkipped) -> AnswerReceipt:
    if isinstance(e, ev.VoteCast):
        return AnswerReceipt(
            seq=seq, ballot=e.ballot, choice=e.outcome, left=e.left, right=e.right, ts=e.ts
        )
    return AnswerReceipt(
        seq=seq,
        ballot=e.ballot,
        choice="skip",
        reason=e.reason,
        left=e.left,
        right=e.right,
        ts=e.ts,
    )
