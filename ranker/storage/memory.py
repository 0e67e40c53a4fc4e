"""In-memory store for unit tests: one process, a lock, plain dicts."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterator

from ranker.errors import LimitReached, RateLimited, SurveyExists, SurveyNotFound
from ranker.storage.base import (
    Store,
    StoredEvent,
    VoteAppend,
    VoteStored,
    open_ballot_ok,
    rate_window,
    replaced,
    stale_check,
)

__all__ = ["MemoryStore"]

_CLAIMS_PRUNE = 100_000


class MemoryStore(Store):
    """Keeps everything in dicts; nothing survives the process."""

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._lock = threading.Lock()
        self._logs: dict[str, list[bytes]] = {}
        self._ballots: dict[tuple[str, str], int] = {}
        self._rates: dict[str, tuple[int, int]] = defaultdict(lambda: (-1, 0))
        self._snapshots: dict[str, StoredEvent] = {}
        self._organisers: dict[str, bytes] = {}
        self._quotas: dict[tuple[str, str], int] = {}
        self._gates: dict[str, int] = {}
        self._cast: dict[tuple[str, str], int] = {}  # answers appended per (survey, voter)
        self._claims: dict[str, float] = {}  # claim_once: key -> expiry

    def create_survey(self, survey: str, data: bytes) -> int:
        with self._lock:
            if survey in self._logs:
                raise SurveyExists(f"survey {survey!r} already exists")
            self._logs[survey] = [data]
            return 1

    def _log(self, survey: str) -> list[bytes]:
        try:
            return self._logs[survey]
        except KeyError:
            raise SurveyNotFound(f"no survey {survey!r}") from None

    def _check_gate(self, survey: str, checked_at: int | None) -> None:
        gate = self._gates.get(survey, 0)
        if checked_at is not None and gate > checked_at:
            raise stale_check(survey, gate, checked_at)

    def append(
        self, survey: str, data: bytes, *, gate: bool = False, checked_at: int | None = None
    ) -> int:
        with self._lock:
            log = self._log(survey)
            self._check_gate(survey, checked_at)
            log.append(data)
            if gate:
                self._gates[survey] = len(log)
            return len(log)

    def append_quota(
        self, survey: str, data: bytes, *, counter: str, limit: int, checked_at: int | None = None
    ) -> int:
        with self._lock:
            log = self._log(survey)
            self._check_gate(survey, checked_at)
            n = self._quotas.get((survey, counter), 0)
            if n >= limit:
                raise LimitReached(f"quota {counter!r} is used up ({limit})", limit=limit)
            self._quotas[(survey, counter)] = n + 1
            log.append(data)
            return len(log)

    def _hit(self, key: str, limit: int, window_s: int, now: float) -> int:
        win = rate_window(now, window_s)
        cur, n = self._rates[key]
        n = n + 1 if cur == win else 1
        if n > limit:
            raise RateLimited(
                f"more than {limit} per {window_s} s", retry_after=(win + 1) * window_s - now
            )
        self._rates[key] = (win, n)
        return n

    def append_vote(self, survey: str, vote: VoteAppend) -> VoteStored:
        with self._lock:
            old = self._ballots.get((survey, vote.ballot))
            if old is not None:
                return VoteStored(old, self._logs[survey][old - 1], True, [])
            log = self._log(survey)
            self._check_gate(survey, vote.checked_at)
            cast = self._cast.get((survey, vote.voter), 0)
            if not open_ballot_ok(vote, cast):
                raise replaced(vote)
            if vote.rate_limit > 0:
                self._hit(f"{survey}:{vote.voter}", vote.rate_limit, vote.rate_window_s, vote.now)
            log.append(vote.data)
            seq = len(log)
            self._ballots[(survey, vote.ballot)] = seq
            self._cast[(survey, vote.voter)] = cast + 1
            start = max(vote.checked_at, 0)
            gap = [StoredEvent(i + 1, log[i]) for i in range(start, seq - 1)]
            return VoteStored(seq, vote.data, False, gap)

    def read(self, survey: str, after: int = 0, limit: int | None = None) -> list[StoredEvent]:
        with self._lock:
            log = self._logs.get(survey, [])
            end = len(log) if limit is None else min(len(log), after + limit)
            return [StoredEvent(i + 1, log[i]) for i in range(max(after, 0), end)]

    def head(self, survey: str) -> int:
        return len(self._logs.get(survey, ()))

    def gate(self, survey: str) -> int:
        return self._gates.get(survey, 0)

    def survey_ids(self) -> list[str]:
        with self._lock:
            return sorted(self._logs)

    def rate_hit(self, key: str, limit: int, window_s: int, now: float) -> int:
        with self._lock:
            return self._hit(key, limit, window_s, now)

    def claim_once(self, key: str, ttl_s: int, now: float) -> bool:
        with self._lock:
            if self._claims.get(key, now) > now:
                return False
            if len(self._claims) >= _CLAIMS_PRUNE:  # forget expired claims now and then
                self._claims = {k: t for k, t in self._claims.items() if t > now}
            self._claims[key] = now + ttl_s
            return True

    def save_snapshot(self, survey: str, seq: int, data: bytes) -> None:
        with self._lock:
            self._snapshots[survey] = StoredEvent(seq, data)

    def load_snapshot(self, survey: str) -> StoredEvent | None:
        return self._snapshots.get(survey)

    def put_organiser(self, key_hash: str, data: bytes) -> None:
        with self._lock:
            self._organisers[key_hash] = data

    def get_organiser(self, key_hash: str) -> bytes | None:
        return self._organisers.get(key_hash)

    def organisers(self) -> Iterator[tuple[str, bytes]]:
        with self._lock:
            return iter(list(self._organisers.items()))
