"""Redis backend (Redis >= 6.2): many API workers on many hosts share one Redis.

Keys of one survey share a hash slot (the ``{survey}`` hash tag), so every
script touches one slot and runs on Redis Cluster:

=========================  ====================================================
``rk:{s}:log``             the event log, a Stream; entry id ``<seq>-0``, field ``e``
``rk:{s}:seq``             the log's head sequence number (exists iff the survey does)
``rk:{s}:gate``            seq of the survey's last gate event (absent: 0)
``rk:{s}:b:<ballot>``      "ballot used" marker holding the answer's seq (TTL)
``rk:{s}:r:<voter>:<win>`` answers of a voter in one rate-limit window (TTL)
``rk:{s}:q:<counter>``     quota counters of :meth:`RedisStore.append_quota` (no TTL)
``rk:{s}:n:<voter>``       the voter's answers so far, for the open-ballot bound (no TTL)
``rk:{s}:snap``            the latest projection snapshot (``seq``, ``data``)
``rk:surveys``             set of survey ids (outside the slot; listing only)
``rk:org:<keyhash>``       organiser records
``rk:rate:<key>:<win>``    counters of :meth:`RedisStore.rate_hit`
=========================  ====================================================

Accepting an answer is one Lua script (``append_vote.lua``): check the ballot
marker, check the gate, count the rate limit, ``INCR`` the head, ``XADD`` the
event, set the marker. Redis runs a script atomically, and with AOF its effects
are persisted as one ``MULTI``/``EXEC`` block, so a crash never keeps half an
answer. Durability is that of the server's ``appendfsync`` setting (see
``docs/storage.md``). The script's reply also carries the entries logged between
the seq the worker checked at and its answer, so the worker applies them and its
own answer without a second round trip (:meth:`RedisStore.append_vote`).

Workers follow the streams (:meth:`RedisStore.follow`) with a
:class:`~ranker.storage.redis_follow.RedisFollower`: a daemon thread with its own
connection that ``XREAD``s every loaded survey's stream and reports "caught up as
of T", so picks need no catch-up read while it is healthy. URL parsing, client
construction and the ``store_error`` guards live in :mod:`ranker.storage.redis_client`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import redis
import redis.asyncio

from ranker.errors import LimitReached, RateLimited, StoreError, SurveyExists, SurveyNotFound
from ranker.storage.base import (
    Deliver,
    Following,
    Positions,
    Store,
    StoredEvent,
    VoteAppend,
    VoteStored,
    rate_window,
    replaced,
    stale_check,
)
from ranker.storage.redis_client import (
    REDIS_ERRORS,
    TIMEOUTS,
    cluster_url,
    connect,
    disconnect,
    guard,
    guard_async,
    load_script,
    stream_events,
)
from ranker.storage.redis_follow import RedisFollower

__all__ = [
    "ASYNC_MAX_CONNECTIONS",
    "RedisFollower",
    "RedisStore",
    "cluster_url",
    "connect",
    "disconnect",
]


ASYNC_MAX_CONNECTIONS = 32
"""Connections of one worker's asyncio pool (the answer route): up to 32 answers in flight at
once; a larger burst waits (up to 5 s) for a free connection instead of opening more."""


class RedisStore(Store):
    """A store on one Redis database (``redis://host:port/db``) or a Redis Cluster
    (``redis+cluster://host:port``: every key of a survey is in one slot)."""

    def __init__(self, url: str = "redis://127.0.0.1:6379/0", prefix: str = "rk") -> None:
        self.url = url
        self.prefix = prefix
        self.cluster = cluster_url(url) is not None
        try:  # redis-py's stubs are loose; options in the URL's query override these
            self._r: Any = connect(url, **TIMEOUTS)
        except (ValueError, *REDIS_ERRORS) as exc:
            raise StoreError(f"bad redis URL {url!r} or no server: {exc}") from None
        self._append = self._r.register_script(load_script("append.lua"))
        self._vote = self._r.register_script(load_script("append_vote.lua"))
        self._rate = self._r.register_script(load_script("rate_hit.lua"))
        self._snap = self._r.register_script(load_script("save_snapshot.lua"))
        self._quota = self._r.register_script(load_script("append_quota.lua"))
        self._followers: list[RedisFollower] = []
        self._followers_lock = threading.Lock()
        # per event loop: (loop, asyncio client, answer script), for append_vote_async
        self._aclients: dict[int, tuple[asyncio.AbstractEventLoop, Any, Any]] = {}

    def _k(self, survey: str, part: str) -> str:
        return f"{self.prefix}:{{{survey}}}:{part}"

    def _log_keys(self, survey: str) -> list[str]:
        return [self._k(survey, "log"), self._k(survey, "seq"), self._k(survey, "gate")]

    @guard
    def create_survey(self, survey: str, data: bytes) -> int:
        self._r.sadd(f"{self.prefix}:surveys", survey)
        seq = int(self._append(keys=self._log_keys(survey), args=[data, "1", "", "0"]))
        if seq < 0:
            raise SurveyExists(f"survey {survey!r} already exists")
        return seq

    @guard
    def append(
        self, survey: str, data: bytes, *, gate: bool = False, checked_at: int | None = None
    ) -> int:
        checked = "" if checked_at is None else checked_at
        res = self._append(
            keys=self._log_keys(survey), args=[data, "0", checked, "1" if gate else "0"]
        )
        if isinstance(res, list):
            raise stale_check(survey, int(res[1]), int(checked))
        if int(res) < 0:
            raise SurveyNotFound(f"no survey {survey!r}")
        return int(res)

    @guard
    def append_quota(
        self, survey: str, data: bytes, *, counter: str, limit: int, checked_at: int | None = None
    ) -> int:
        checked = "" if checked_at is None else checked_at
        res = self._quota(
            keys=[
                self._k(survey, "log"),
                self._k(survey, "seq"),
                self._k(survey, f"q:{counter}"),
                self._k(survey, "gate"),
            ],
            args=[data, limit, checked],
        )
        if isinstance(res, list):
            raise stale_check(survey, int(res[1]), int(checked))
        seq = int(res)
        if seq == -1:
            raise SurveyNotFound(f"no survey {survey!r}")
        if seq == -2:
            raise LimitReached(f"quota {counter!r} is used up ({limit})", limit=limit)
        return seq

    @guard
    def gate(self, survey: str) -> int:
        v = self._r.get(self._k(survey, "gate"))
        return 0 if v is None else int(v)

    @guard
    def append_vote(self, survey: str, vote: VoteAppend) -> VoteStored:
        keys, args = self._vote_args(survey, vote)
        res, complete = self._vote_result(self._vote(keys=keys, args=args), survey, vote)
        if not complete:  # more than the script returns (rare): read them
            after = max(vote.checked_at, 0)
            res = res._replace(gap=self.read(survey, after, res.seq - after - 1))
        return res

    @guard_async
    async def append_vote_async(self, survey: str, vote: VoteAppend) -> VoteStored:
        if self.cluster:
            # redis-py's asyncio cluster client broke under concurrent first use in our
            # tests (a connection's writer was None while it connected); on a cluster the
            # answer takes the blocking client, as on SQLite
            return self.append_vote(survey, vote)
        keys, args = self._vote_args(survey, vote)
        _, script = self._async_client()
        raw: list[Any] = await script(keys=keys, args=args)
        res, complete = self._vote_result(raw, survey, vote)
        if not complete:  # more than the script returns (rare): read them
            after = max(vote.checked_at, 0)
            res = res._replace(gap=await self.read_async(survey, after, res.seq - after - 1))
        return res

    async def read_async(
        self, survey: str, after: int = 0, limit: int | None = None
    ) -> list[StoredEvent]:
        """:meth:`read` on this event loop's connection pool."""
        client, _ = self._async_client()
        entries = await client.xrange(self._k(survey, "log"), min=f"{after + 1}-0", count=limit)
        return stream_events(entries)

    def _async_client(self) -> tuple[Any, Any]:
        """This event loop's asyncio client and answer script (a pool is bound to its loop)."""
        loop = asyncio.get_running_loop()
        entry = self._aclients.get(id(loop))
        if entry is None or entry[0] is not loop:
            if self.cluster:  # see append_vote_async
                raise StoreError("the asyncio client is not used on a Redis Cluster")
            # bounded: a burst of answers queues for a connection (up to 5 s) instead of
            # opening one connection per answer in flight
            pool = redis.asyncio.BlockingConnectionPool.from_url(
                self.url, max_connections=ASYNC_MAX_CONNECTIONS, timeout=5.0, **TIMEOUTS
            )
            client: Any = redis.asyncio.Redis.from_pool(pool)  # closing it closes the pool
            entry = (loop, client, client.register_script(load_script("append_vote.lua")))
            self._aclients[id(loop)] = entry
        return entry[1], entry[2]

    async def aclose(self) -> None:
        """Close the asyncio connections opened on the running event loop."""
        entry = self._aclients.pop(id(asyncio.get_running_loop()), None)
        if entry is not None:
            await entry[1].aclose()

    def _vote_args(self, survey: str, vote: VoteAppend) -> tuple[list[str], list[Any]]:
        win = rate_window(vote.now, vote.rate_window_s)
        rate_ttl = int(((win + 1) * vote.rate_window_s - vote.now) * 1000) + 1000
        # keep the marker an hour past expiry: a replay is refused as expired by then anyway
        marker_ttl = max(int((vote.ballot_expires - vote.now + 3600) * 1000), 1000)
        keys = [
            self._k(survey, "log"),
            self._k(survey, "seq"),
            self._k(survey, f"b:{vote.ballot}"),
            self._k(survey, f"r:{vote.voter}:{win}"),
            self._k(survey, "gate"),
            self._k(survey, f"n:{vote.voter}"),
        ]
        args = [vote.data, marker_ttl, vote.rate_limit, rate_ttl, vote.checked_at]
        return keys, [*args, vote.cast_before, vote.open_ballots]

    @staticmethod
    def _vote_result(res: list[Any], survey: str, vote: VoteAppend) -> tuple[VoteStored, bool]:
        """The script's reply as a result, and whether its gap is complete (else read it)."""
        code = int(res[0])
        if code == 1:
            raw = res[2]
            if not isinstance(raw, list):
                return VoteStored(int(res[1]), vote.data, False, []), False
            gap = [StoredEvent(int(q), bytes(d)) for q, d in raw]
            return VoteStored(int(res[1]), vote.data, False, gap), True
        if code == 0:
            return VoteStored(int(res[1]), bytes(res[2]), True, []), True
        if code == -3:
            raise stale_check(survey, int(res[1]), vote.checked_at)
        if code == -4:
            raise replaced(vote)
        if code == -1:
            win = rate_window(vote.now, vote.rate_window_s)
            raise RateLimited(
                f"more than {vote.rate_limit} per {vote.rate_window_s} s",
                retry_after=(win + 1) * vote.rate_window_s - vote.now,
            )
        raise SurveyNotFound(f"no survey {survey!r}")

    @guard
    def read(self, survey: str, after: int = 0, limit: int | None = None) -> list[StoredEvent]:
        entries = self._r.xrange(self._k(survey, "log"), min=f"{after + 1}-0", count=limit)
        return stream_events(entries)

    @guard
    def head(self, survey: str) -> int:
        v = self._r.get(self._k(survey, "seq"))
        return 0 if v is None else int(v)

    @guard
    def survey_ids(self) -> list[str]:
        ids = self._r.smembers(f"{self.prefix}:surveys")
        return sorted(i.decode() for i in ids if self.head(i.decode()) > 0)

    @guard
    def rate_hit(self, key: str, limit: int, window_s: int, now: float) -> int:
        win = rate_window(now, window_s)
        ttl = int(((win + 1) * window_s - now) * 1000) + 1000
        res = self._rate(keys=[f"{self.prefix}:rate:{key}:{win}"], args=[limit, ttl])
        if isinstance(res, list):
            raise RateLimited(
                f"more than {limit} per {window_s} s", retry_after=(win + 1) * window_s - now
            )
        return int(res)

    @guard
    def claim_once(self, key: str, ttl_s: int, now: float) -> bool:
        # one key, one command (SET NX): atomic on a cluster too; Redis expires it
        return bool(self._r.set(f"{self.prefix}:claim:{key}", b"1", nx=True, px=ttl_s * 1000))

    @guard
    def save_snapshot(self, survey: str, seq: int, data: bytes) -> None:
        self._snap(keys=[self._k(survey, "snap")], args=[seq, data])

    @guard
    def load_snapshot(self, survey: str) -> StoredEvent | None:
        seq, data = self._r.hmget(self._k(survey, "snap"), ["seq", "data"])
        if seq is None or data is None:
            return None
        return StoredEvent(int(seq), bytes(data))

    @guard
    def put_organiser(self, key_hash: str, data: bytes) -> None:
        self._r.set(f"{self.prefix}:org:{key_hash}", data)

    @guard
    def get_organiser(self, key_hash: str) -> bytes | None:
        v = self._r.get(f"{self.prefix}:org:{key_hash}")
        return None if v is None else bytes(v)

    @guard
    def organisers(self) -> Iterator[tuple[str, bytes]]:
        head = f"{self.prefix}:org:"
        keys = [k.decode() if isinstance(k, bytes) else k for k in self._r.scan_iter(head + "*")]
        out = [(k.removeprefix(head), self._r.get(k)) for k in keys]
        return iter([(h, bytes(v)) for h, v in out if v is not None])

    def follow(self, positions: Positions, deliver: Deliver) -> Following:
        """Start a :class:`RedisFollower` (its own thread and connection)."""
        f = RedisFollower(
            self.url, lambda s: self._k(s, "log"), positions, deliver, cluster=self.cluster
        )
        with self._followers_lock:
            self._followers = [x for x in self._followers if x.alive]
            self._followers.append(f)
        f.start()
        return f

    def close(self) -> None:
        with self._followers_lock:
            followers, self._followers = self._followers, []
        for f in followers:
            f.stop()
        disconnect(self._r)
