"""The storage interface: one append-only event log per survey plus a few small tables.

A backend stores opaque event bytes (MessagePack, see :mod:`ranker.events`)
under per-survey sequence numbers ``1, 2, 3, ...`` without gaps, and provides
the few operations that must be atomic across processes:

* :meth:`Store.append_vote` checks and marks the ballot, checks the survey's gate,
  enforces the per-voter rate limit and appends the answer, all or nothing, and
  returns the events logged between the caller's check and the answer;
* :meth:`Store.append` appends any other event, optionally only if the gate has not
  moved (``checked_at``) and optionally moving the gate to it (``gate=True``);
* :meth:`Store.append_quota` appends only while a per-survey counter (e.g. one
  participant's ideas) is under its limit, counting the append (and checks the gate);
* :meth:`Store.rate_hit` is the per-voter fixed-window counter on its own;
* :meth:`Store.create_survey` refuses an existing survey id.

**The gate.** Each survey has a *gate*: the seq of its last event appended with
``gate=True``, one that can change what may be accepted (survey closed or settings
changed, an idea retired, a voter voided; ``0`` until the first). A caller checks
its rules against its projection at some log position ``checked_at`` and passes that
position with its write; if a gate event was logged after it, the store raises
:class:`~ranker.errors.StaleCheck` and writes nothing, so the caller catches up,
checks again and retries. A refusal is thus decided atomically with the append and
a refused write never enters the log.

Everything else (validation, projections) lives above, in :mod:`ranker.service`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from typing import NamedTuple, Protocol

from ranker.errors import BallotExpired, StaleCheck

__all__ = [
    "Deliver",
    "Following",
    "Positions",
    "Store",
    "StoredEvent",
    "VoteAppend",
    "VoteStored",
    "open_ballot_ok",
    "rate_window",
    "replaced",
    "stale_check",
]


class StoredEvent(NamedTuple):
    """One log entry: its sequence number in the survey's log and the encoded event."""

    seq: int
    data: bytes


class VoteAppend(NamedTuple):
    """One answer to append atomically (see :meth:`Store.append_vote`)."""

    data: bytes  # the encoded VoteCast / VoteSkipped event
    ballot: str  # the ballot id: usable once
    voter: str
    ballot_expires: float  # the "ballot used" marker is kept at least until then
    now: float
    rate_limit: int  # answers per voter per window; 0 means no limit
    checked_at: int  # the log seq the caller checked its rules at; the gap starts after it
    rate_window_s: int = 60
    cast_before: int = -1  # the voter's answers when the ballot was issued (-1: not checked)
    open_ballots: int = 0  # a ballot is answerable for this many answers of its voter (0: any)


class VoteStored(NamedTuple):
    """Result of :meth:`Store.append_vote`.

    ``gap`` holds the events with ``checked_at < seq' < seq`` (others' writes), in order.
    ``duplicate`` is true when the ballot had already been answered: nothing was written,
    ``seq``/``data`` are those of the original answer and ``gap`` is ``[]``.
    """

    seq: int
    data: bytes
    duplicate: bool
    gap: list[StoredEvent]


Positions = Callable[[], dict[str, int]]
"""Called by a follower before each read: ``{survey: last applied seq}`` to follow."""

Deliver = Callable[[str, list[StoredEvent], float | None], None]
"""Called by a follower with one survey's new events (possibly none) and ``as_of``: a
``time.monotonic()`` instant such that every event logged before it has now been delivered
(``None`` when the reply was cut short and more events are pending)."""


class Following(Protocol):
    """A running follower (see :meth:`Store.follow`)."""

    def stop(self) -> None:
        """Stop following and release its connection (idempotent)."""

    @property
    def alive(self) -> bool:
        """Whether the follower thread is running."""


def rate_window(now: float, window_s: int) -> int:
    """Index of the fixed rate-limit window containing ``now``."""
    return int(now // window_s)


def stale_check(survey: str, gate: int, checked_at: int) -> StaleCheck:
    """The error for a write checked at ``checked_at`` when the survey's gate is ``gate``."""
    return StaleCheck(
        f"survey {survey!r} changed at seq {gate}, after the checked seq {checked_at}", gate=gate
    )


def replaced(vote: VoteAppend) -> BallotExpired:
    """The error for a ballot whose voter has since answered ``open_ballots`` others."""
    return BallotExpired(
        f"this ballot was replaced by newer ones (a voter holds at most {vote.open_ballots} "
        "unanswered ballots); ask for a new pair"
    )


def open_ballot_ok(vote: VoteAppend, cast: int) -> bool:
    """Whether ``vote``'s ballot is still answerable when its voter has ``cast`` answers."""
    if vote.open_ballots <= 0 or vote.cast_before < 0:
        return True
    return cast < vote.cast_before + vote.open_ballots


class Store(ABC):
    """Base class of the storage backends (``memory://``, ``sqlite:///``, ``redis://``)."""

    url: str = ""

    # -- surveys and their logs -------------------------------------------------
    @abstractmethod
    def create_survey(self, survey: str, data: bytes) -> int:
        """Start the log of a new survey with its first event; returns ``1``.

        Raises :class:`~ranker.errors.SurveyExists` if the survey id is taken.
        """

    @abstractmethod
    def append(
        self, survey: str, data: bytes, *, gate: bool = False, checked_at: int | None = None
    ) -> int:
        """Append one event to an existing survey's log; returns its sequence number.

        Atomically: :class:`~ranker.errors.SurveyNotFound` if the survey does not exist;
        with ``checked_at``, :class:`~ranker.errors.StaleCheck` (``detail['gate']``) if the
        survey's gate is above it; then append, and with ``gate=True`` move the gate to
        the new event. Nothing is written when it raises.
        """

    @abstractmethod
    def append_vote(self, survey: str, vote: VoteAppend) -> VoteStored:
        """Append one answer; atomically, in this order:

        1. ``vote.ballot`` already answered: return the original answer (``duplicate``),
           whatever the gate (a retried request gets its answer back);
        2. unknown survey: :class:`~ranker.errors.SurveyNotFound`;
        3. the survey's gate above ``vote.checked_at``: :class:`~ranker.errors.StaleCheck`
           (``detail['gate']``; nothing written, the rate limit not counted);
        4. with ``open_ballots > 0`` and ``cast_before >= 0``: the voter has appended
           ``cast_before + open_ballots`` answers or more since the ballot was issued's count
           (the store counts every answer of each voter): :func:`replaced` (a
           ``ballot_expired``), nothing written. A voter holds at most ``open_ballots``
           answerable ballots: a stack of harvested ballots dies as the voter answers;
        5. count the voter's answers in the current window (``rate_limit`` of 0 means no
           limit); over the limit: :class:`~ranker.errors.RateLimited` (``retry_after``),
           nothing written;
        6. append ``vote.data``, mark the ballot used (at least until ``ballot_expires``)
           and count one answer of the voter.

        The result carries the events between ``checked_at`` and the answer, so a worker
        whose projection is at ``checked_at`` applies them and its own answer without
        another read.
        """

    async def append_vote_async(self, survey: str, vote: VoteAppend) -> VoteStored:
        """:meth:`append_vote` for an event loop.

        This default calls the blocking method in place: right for a local store (SQLite,
        memory), whose append costs tens of microseconds of CPU and no network wait. A
        networked backend (Redis) overrides it so the worker serves other requests meanwhile.
        """
        return self.append_vote(survey, vote)

    @abstractmethod
    def append_quota(
        self, survey: str, data: bytes, *, counter: str, limit: int, checked_at: int | None = None
    ) -> int:
        """Atomically: :class:`~ranker.errors.SurveyNotFound` for an unknown survey; with
        ``checked_at``, :class:`~ranker.errors.StaleCheck` if the gate is above it; if the
        survey's ``counter`` has reached ``limit`` raise :class:`~ranker.errors.LimitReached`;
        else count one on it and append ``data``. Returns the new sequence number; nothing
        is written when it raises. Counters never expire (a quota, not a rate).
        """

    @abstractmethod
    def gate(self, survey: str) -> int:
        """Seq of the survey's last gate event (``append(..., gate=True)``); ``0`` if none
        or if the survey does not exist."""

    @abstractmethod
    def read(self, survey: str, after: int = 0, limit: int | None = None) -> list[StoredEvent]:
        """Events with ``seq > after`` in order (at most ``limit``); ``[]`` if none."""

    def iter_events(self, survey: str, after: int = 0, batch: int = 1000) -> Iterator[StoredEvent]:
        """All events after ``after``, read in batches (for exports and rebuilds)."""
        while True:
            chunk = self.read(survey, after, batch)
            yield from chunk
            if len(chunk) < batch:
                return
            after = chunk[-1].seq

    @abstractmethod
    def head(self, survey: str) -> int:
        """Sequence number of the survey's last event; ``0`` if the survey does not exist."""

    @abstractmethod
    def survey_ids(self) -> list[str]:
        """Ids of every survey in the store, sorted."""

    # -- rate limits ------------------------------------------------------------
    @abstractmethod
    def rate_hit(self, key: str, limit: int, window_s: int, now: float) -> int:
        """Count one hit on ``key`` in the current fixed window and return the count.

        Raises :class:`~ranker.errors.RateLimited` (with ``retry_after``) when the
        count would exceed ``limit``; a refused hit is not counted.
        """

    @abstractmethod
    def claim_once(self, key: str, ttl_s: int, now: float) -> bool:
        """Mark ``key`` used for ``ttl_s`` seconds from ``now``; ``False`` (nothing written) if
        it is already marked and not yet expired. Atomic across processes: of two claims of
        one key, one wins (single-use proofs of work, :mod:`ranker.ballot_proof`)."""

    # -- snapshots -------------------------------------------------------------------
    @abstractmethod
    def save_snapshot(self, survey: str, seq: int, data: bytes) -> None:
        """Keep one snapshot of the survey's projection taken at ``seq`` (replaces older)."""

    @abstractmethod
    def load_snapshot(self, survey: str) -> StoredEvent | None:
        """The latest snapshot ``(seq, data)``, or ``None``."""

    # -- organisers ----------------------------------------------------------------
    @abstractmethod
    def put_organiser(self, key_hash: str, data: bytes) -> None:
        """Store an organiser record under the hash of its API key."""

    @abstractmethod
    def get_organiser(self, key_hash: str) -> bytes | None:
        """The organiser record for this key hash, or ``None``."""

    @abstractmethod
    def organisers(self) -> Iterator[tuple[str, bytes]]:
        """Every ``(key_hash, record)`` stored (for the CLI's key rotation; no order)."""

    # -- following ---------------------------------------------------------------------
    def follow(self, positions: Positions, deliver: Deliver) -> Following | None:
        """Push new events of the followed surveys to ``deliver`` from a background thread.

        ``None`` (the default) means this backend does not push: callers read the log
        themselves. :meth:`close` stops every follower of the store.
        """
        return None

    # -- lifecycle -------------------------------------------------------------------
    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release what the async methods opened on the running event loop (call it from
        that loop before it ends; :meth:`close` releases the rest)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
