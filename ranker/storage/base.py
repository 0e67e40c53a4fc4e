"""The storage interface: one append-only event log per survey plus a few small tables.

A backend stores opaque event bytes (MessagePack, see :mod:`ranker.events`)
under per-survey sequence numbers ``1, 2, 3, ...`` without gaps, and provides
the few operations that must be atomic across processes:

* :meth:`Store.append_vote` checks and marks the ballot, enforces the per-voter
  rate limit and appends the answer, all or nothing;
* :meth:`Store.rate_hit` is the same fixed-window counter on its own;
* :meth:`Store.create_survey` refuses an existing survey id.

Everything else (validation, projections) lives above, in :mod:`ranker.service`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import NamedTuple

__all__ = ["Store", "StoredEvent", "VoteAppend", "rate_window"]


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

    # -- lifecycle -------------------------------------------------------------------
    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
