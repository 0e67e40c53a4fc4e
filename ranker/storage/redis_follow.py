"""The follower: a daemon thread that ``XREAD``s the log streams of a worker's surveys.

:meth:`RedisStore.follow <ranker.storage.redis.RedisStore.follow>` starts one per worker. It
has its own connection and issues one ``XREAD BLOCK`` over the streams of every survey the
worker has loaded, hands new entries to the worker, and reports "caught up as of T"
(T = when that ``XREAD`` was sent), so picks need no catch-up read while the follower is
healthy. The block is short (30 ms), so a changed set of surveys is picked up quickly and an
idle survey's T stays within ~60 ms of now. On a Redis Cluster, where one ``XREAD`` may only
name keys of one slot, it reads each stream without blocking and pauses when nothing came.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from ranker.storage.base import Deliver, Positions, StoredEvent
from ranker.storage.redis_client import connect, disconnect, stream_events

__all__ = ["RedisFollower"]


class RedisFollower:
    """A daemon thread following the log streams of the surveys ``positions()`` names.

    Each loop asks ``positions()`` for ``{survey: last applied seq}``, sends one
    ``XREAD COUNT n BLOCK block_ms STREAMS ...`` for all of them, and calls
    ``deliver(survey, events, as_of)`` for every survey asked about, with ``as_of`` the
    ``time.monotonic()`` at which the ``XREAD`` was sent (everything logged before then
    is in its reply) or ``None`` when the reply was cut at ``count``. On a Redis error it
    backs off (up to 1 s) and retries with a new connection; ``deliver`` is then not
    called, so the caller's "caught up as of" ages and it falls back to reading.
    """

    def __init__(
        self,
        url: str,
        stream_key: Callable[[str], str],
        positions: Positions,
        deliver: Deliver,
        *,
        block_ms: int = 30,
        count: int = 500,
        pause_s: float = 0.01,
        cluster: bool = False,
    ) -> None:
        self.url = url
        self.cluster = cluster
        self.block_ms = block_ms
        self.pause_s = pause_s
        self.count = count
        self.errors = 0
        self.last_error = ""
        self._key = stream_key
        self._positions = positions
        self._deliver = deliver
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ranker-redis-follower", daemon=True)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()

    def _run(self) -> None:
        r: Any = connect(
            self.url, socket_timeout=self.block_ms / 1000 + 5, socket_connect_timeout=2
        )
        backoff = 0.02
        try:
            while not self._stop.is_set():
                try:
                    busy = self._once(r)
                    backoff = 0.02
                except Exception as exc:  # keep following; reads fall back meanwhile
                    self.errors += 1
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    if not self.cluster:  # the cluster client reconnects by itself
                        r.connection_pool.disconnect()
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, 1.0)
                    continue
                if busy:  # let a burst accumulate: fewer wake-ups (GIL handovers), batches
                    self._stop.wait(self.pause_s)
        finally:
            disconnect(r)

    def _once(self, r: Any) -> bool:
        pos = self._positions()
        if not pos:
            self._stop.wait(self.block_ms / 1000)
            return False
        keys = {self._key(s): s for s in pos}
        sent = time.monotonic()
        if self.cluster:
            # one XREAD may only name keys of one slot: read each stream without blocking,
            # then wait a little when nothing came (staleness stays ~pause_s, << max lag)
            reply: list[Any] = []
            for k, s in keys.items():
                reply.extend(r.xread({k: f"{pos[s]}-0"}, count=self.count) or [])
            if not reply:
                self._stop.wait(self.pause_s)
        else:
            reply = r.xread(
                {k: f"{pos[s]}-0" for k, s in keys.items()}, count=self.count, block=self.block_ms
            )
        got: dict[str, list[StoredEvent]] = {}
        for key, entries in reply or []:
            survey = keys[key.decode() if isinstance(key, bytes) else key]
            got[survey] = stream_events(entries)
        for survey in pos:
            events = got.get(survey, [])
            self._deliver(survey, events, None if len(events) >= self.count else sent)
        return bool(got)
