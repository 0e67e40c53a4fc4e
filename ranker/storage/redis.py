"""Redis backend (Redis >= 6.2): many API workers on many hosts share one Redis.

Keys of one survey share a hash slot (the ``{survey}`` hash tag), so every
script touches one slot and runs on Redis Cluster:

=========================  ====================================================
``rk:{s}:log``             the event log, a Stream; entry id ``<seq>-0``, field ``e``
``rk:{s}:seq``             the log's head sequence number (exists iff the survey does)
``rk:{s}:b:<ballot>``      "ballot used" marker holding the answer's seq (TTL)
``rk:{s}:r:<voter>:<win>`` answers of a voter in one rate-limit window (TTL)
``rk:{s}:stats``           counters (answers, skips) bumped with each answer
``rk:{s}:snap``            the latest projection snapshot (``seq``, ``data``)
``rk:surveys``             set of survey ids (outside the slot; listing only)
``rk:org:<keyhash>``       organiser records
``rk:rate:<key>:<win>``    counters of :meth:`RedisStore.rate_hit`
=========================  ====================================================

Accepting an answer is one Lua script (``append_vote.lua``): check the ballot
marker, count the rate limit, ``INCR`` the head, ``XADD`` the event, set the
marker, bump the counters. Redis runs a script atomically, and with AOF its
effects are persisted as one ``MULTI``/``EXEC`` block, so a crash never keeps
half an answer. Durability is that of the server's ``appendfsync`` setting
(see ``docs/storage.md``). Workers follow the stream with ``XRANGE`` from their
last applied seq before every read or pick.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from importlib import resources
from typing import Any, TypeVar, cast

import redis

from ranker.errors import RateLimited, StoreError, SurveyExists, SurveyNotFound
from ranker.storage.base import Store, StoredEvent, VoteAppend, rate_window

__all__ = ["RedisStore"]


F = TypeVar("F", bound=Callable[..., Any])


def _guard(fn: F) -> F:
    """Report Redis failures (connection lost, timeouts, script errors) as ``store_error``."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except redis.RedisError as exc:
            raise StoreError(f"redis: {type(exc).__name__}: {exc}") from exc

    return cast(F, wrapper)


def _script(name: str) -> str:
    return resources.files("ranker.storage").joinpath(name).read_text(encoding="utf-8")


class RedisStore(Store):
    """A store on one Redis database (``redis://host:port/db``)."""

    def __init__(self, url: str = "redis://127.0.0.1:6379/0", prefix: str = "rk") -> None:
        self.url = url
        self.prefix = prefix
        try:
            self._r: Any = redis.Redis.from_url(url)  # redis-py's stubs are loose
        except ValueError as exc:
            raise StoreError(f"bad redis URL {url!r}: {exc}") from None
        self._append = self._r.register_script(_script("append.lua"))
        self._vote = self._r.register_script(_script("append_vote.lua"))
        self._rate = self._r.register_script(_script("rate_hit.lua"))
        self._snap = self._r.register_script(_script("save_snapshot.lua"))

    def _k(self, survey: str, part: str) -> str:
        return f"{self.prefix}:{{{survey}}}:{part}"

    @_guard
    def create_survey(self, survey: str, data: bytes) -> int:
        self._r.sadd(f"{self.prefix}:surveys", survey)
        seq = int(
            self._append(keys=[self._k(survey, "log"), self._k(survey, "seq")], args=[data, "1"])
        )
        if seq < 0:
            raise SurveyExists(f"survey {survey!r} already exists")
        return seq

    @_guard
    def append(self, survey: str, data: bytes) -> int:
        seq = int(
            self._append(keys=[self._k(survey, "log"), self._k(survey, "seq")], args=[data, "0"])
        )
        if seq < 0:
            raise SurveyNotFound(f"no survey {survey!r}")
        return seq

    @_guard
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
        win = rate_window(now, rate_window_s)
        rate_ttl = int(((win + 1) * rate_window_s - now) * 1000) + 1000
        # keep the marker an hour past expiry: a replay is refused as expired by then anyway
        marker_ttl = max(int((ballot_expires - now + 3600) * 1000), 1000)
        res: list[Any] = self._vote(
            keys=[
                self._k(survey, "log"),
                self._k(survey, "seq"),
                self._k(survey, f"b:{ballot}"),
                self._k(survey, f"r:{voter}:{win}"),
                self._k(survey, "stats"),
            ],
            args=[data, marker_ttl, rate_limit, rate_ttl, "answers"],
        )
        code = int(res[0])
        if code == 1:
            return VoteAppend(int(res[1]), data, False)
        if code == 0:
            return VoteAppend(int(res[1]), bytes(res[2]), True)
        if code == -1:
            raise RateLimited(
                f"more than {rate_limit} per {rate_window_s} s",
                retry_after=(win + 1) * rate_window_s - now,
            )
        raise SurveyNotFound(f"no survey {survey!r}")

    @_guard
    def read(self, survey: str, after: int = 0, limit: int | None = None) -> list[StoredEvent]:
        entries = self._r.xrange(self._k(survey, "log"), min=f"{after + 1}-0", count=limit)
        return [StoredEvent(int(eid.split(b"-")[0]), bytes(f[b"e"])) for eid, f in entries]

    @_guard
    def head(self, survey: str) -> int:
        v = self._r.get(self._k(survey, "seq"))
        return 0 if v is None else int(v)

    @_guard
    def survey_ids(self) -> list[str]:
        ids = self._r.smembers(f"{self.prefix}:surveys")
        return sorted(i.decode() for i in ids if self.head(i.decode()) > 0)

    @_guard
    def rate_hit(self, key: str, limit: int, window_s: int, now: float) -> int:
        win = rate_window(now, window_s)
        ttl = int(((win + 1) * window_s - now) * 1000) + 1000
        res = self._rate(keys=[f"{self.prefix}:rate:{key}:{win}"], args=[limit, ttl])
        if isinstance(res, list):
            raise RateLimited(
                f"more than {limit} per {window_s} s", retry_after=(win + 1) * window_s - now
            )
        return int(res)

    @_guard
    def save_snapshot(self, survey: str, seq: int, data: bytes) -> None:
        self._snap(keys=[self._k(survey, "snap")], args=[seq, data])

    @_guard
    def load_snapshot(self, survey: str) -> StoredEvent | None:
        seq, data = self._r.hmget(self._k(survey, "snap"), ["seq", "data"])
        if seq is None or data is None:
            return None
        return StoredEvent(int(seq), bytes(data))

    @_guard
    def put_organiser(self, key_hash: str, data: bytes) -> None:
        self._r.set(f"{self.prefix}:org:{key_hash}", data)

    @_guard
    def get_organiser(self, key_hash: str) -> bytes | None:
        v = self._r.get(f"{self.prefix}:org:{key_hash}")
        return None if v is None else bytes(v)

    @_guard
    def stats(self, survey: str) -> dict[str, int]:
        """The counters bumped by the answer script."""
        raw = self._r.hgetall(self._k(survey, "stats"))
        return {k.decode(): int(v) for k, v in raw.items()}

    def close(self) -> None:
        self._r.close()
