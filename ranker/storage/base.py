"""The storage interface: one append-only event log per survey plus a few small tables.

A backend stores opaque event bytes (MessagePack, see :mod:`ranker.events`)
under per-survey sequence numbers ``1, 2, 3, ...`` without gaps, and provides
the few operations that must be atomic across processes:

* :meth:`Store.append_vote` checks and marks the ballot, enforces the per-voter
  rate limit and appends the answer, all or nothing;
* :meth:`Store.rate_hit` is the same fixed-window counter on its own;
* :meth:`Store.append_quota` appends only while a per-survey counter (e.g. one
  participant's ideas) is under its limit, counting the append;
* :meth:`Store.create_survey` refuses an existing survey id.

Everything else (validation, projections) lives above, in :mod:`ranker.service`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from typing import NamedTuple, Protocol

__all__ = [
    "Deliver",
    "Following",
    "Positions",
    "Store",
    "StoredEvent",
    "VoteAppend",
    "rate_window",
]


class StoredEvent(NamedTuple):
    """One log entry: its sequence number in the survey's log and the encoded event."""

    seq: int
    data: bytes


class VoteAppend(NamedTuple):
    """Result of :meth:`Store.append_vote`.

    ``duplicate`` is true when the ballot had already been answered: nothing was
    written and ``seq``/``data`` are those of the original answer.
    """

    seq: int
    data: bytes
    duplicate: bool


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
    def append(self, survey: str, data: bytes) -> int:
        """Append one event to an existing survey's log; returns its sequence number.

        Raises :class:`~ranker.errors.SurveyNotFound` if the survey does not exist.
        """

    @abstractmethod
    def append_vote(
        self,
        survey: str,
        data: bytes,
        *,
        ballot: str,
        voter: str,
        ballot_expires: float,
        now: float,
        rate_limit: int,
        rate_window_s: int = 60,
    ) -> VoteAppend:
        """Atomically: if ``ballot`` was answered return the original answer; else check
        and count the voter's answers in the current window (``rate_limit`` of 0 means no
        limit; over the limit raises :class:`~ranker.errors.RateLimited` and writes nothing);
        append ``data``; mark ``ballot`` used (at least until ``ballot_expires``).
        """

    @abstractmethod
    def append_quota(self, survey: str, data: bytes, *, counter: str, limit: int) -> int:
        """Atomically: if the survey's ``counter`` has reached ``limit`` raise
        :class:`~ranker.errors.LimitReached` and write nothing; else count one on it and
        append ``data``. Returns the new sequence number. Counters never expire (a quota,
        not a rate); :class:`~ranker.errors.SurveyNotFound` for an unknown survey.
        """

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

    def append_vote_after(
        self,
        survey: str,
        data: bytes,
        *,
        after: int,
        ballot: str,
        voter: str,
        ballot_expires: float,
        now: float,
        rate_limit: int,
        rate_window_s: int = 60,
    ) -> tuple[VoteAppend, list[StoredEvent]]:
        """:meth:`append_vote`, plus the events between ``after`` and the new answer.

        A worker whose projection is at ``after`` applies the returned events and then its
        own answer without another read. Backends may fold this into the append (Redis
        does: one round trip); this default reads the gap afterwards. Nothing is returned
        for a duplicate.
        """
        res = self.append_vote(
            survey,
            data,
            ballot=ballot,
            voter=voter,
            ballot_expires=ballot_expires,
            now=now,
            rate_limit=rate_limit,
            rate_window_s=rate_window_s,
        )
        if res.duplicate or res.seq <= after + 1:
            return res, []
        return res, self.read(survey, after, res.seq - after - 1)

    async def append_vote_after_async(
        self,
        survey: str,
        data: bytes,
        *,
        after: int,
        ballot: str,
        voter: str,
        ballot_expires: float,
        now: float,
        rate_limit: int,
        rate_window_s: int = 60,
    ) -> tuple[VoteAppend, list[StoredEvent]]:
        """:meth:`append_vote_after` for an event loop.

        This default calls the blocking method in place: right for a local store (SQLite,
        memory), whose append costs tens of microseconds of CPU and no network wait. A
        networked backend (Redis) overrides it so the worker serves other requests meanwhile.
        """
        return self.append_vote_after(
            survey,
            data,
            after=after,
            ballot=ballot,
            voter=voter,
            ballot_expires=ballot_expires,
            now=now,
            rate_limit=rate_limit,
            rate_window_s=rate_window_s,
        )

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
