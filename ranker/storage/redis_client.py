"""Redis client plumbing shared by :mod:`ranker.storage.redis` and its follower.

Store URLs (``redis://`` or ``redis+cluster://``) to blocking clients and back, the
socket timeouts every client gets, the Lua scripts beside this module, stream entries
to log events, and the decorators that report Redis failures as ``store_error``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from importlib import resources
from typing import Any, TypeVar, cast

import redis
import redis.cluster

from ranker.errors import StoreError
from ranker.storage.base import StoredEvent

__all__ = [
    "REDIS_ERRORS",
    "TIMEOUTS",
    "cluster_url",
    "connect",
    "disconnect",
    "guard",
    "guard_async",
    "load_script",
    "stream_events",
]


F = TypeVar("F", bound=Callable[..., Any])


REDIS_ERRORS = (redis.RedisError, redis.exceptions.RedisClusterException)
"""What a Redis call may raise for a server-side or network failure (the cluster client's
errors about slots and nodes do not derive from ``RedisError``)."""


def guard(fn: F) -> F:
    """Report Redis failures (connection lost, timeouts, script errors) as ``store_error``."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except REDIS_ERRORS as exc:
            raise StoreError(f"redis: {type(exc).__name__}: {exc}") from exc

    return cast(F, wrapper)


def guard_async(fn: F) -> F:
    """:func:`guard` for coroutine functions."""

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return await fn(*args, **kwargs)
        except REDIS_ERRORS as exc:
            raise StoreError(f"redis: {type(exc).__name__}: {exc}") from exc

    return cast(F, wrapper)


TIMEOUTS: dict[str, Any] = {"socket_timeout": 5.0, "socket_connect_timeout": 2.0}
"""A Redis that stops answering fails the request (``store_error``, 503) after 5 s instead
of holding it, and the worker, forever (redis-py's default is no timeout)."""


def load_script(name: str) -> str:
    """The source of the Lua script ``name`` shipped beside this module."""
    return resources.files("ranker.storage").joinpath(name).read_text(encoding="utf-8")


def stream_events(entries: list[Any]) -> list[StoredEvent]:
    """Log events from stream entries (id ``<seq>-0``, field ``e``), as XRANGE and XREAD
    return them."""
    return [StoredEvent(int(eid.split(b"-")[0]), bytes(f[b"e"])) for eid, f in entries]


def cluster_url(url: str) -> str | None:
    """The plain ``redis://`` / ``rediss://`` URL of a ``redis+cluster://`` (or
    ``rediss+cluster://``) store URL; ``None`` for a single-server URL."""
    for scheme in ("redis+cluster://", "rediss+cluster://"):
        if url.startswith(scheme):
            return scheme.replace("+cluster", "") + url[len(scheme) :]
    return None


def connect(url: str, **options: Any) -> Any:
    """A blocking client: :class:`redis.cluster.RedisCluster` for a ``+cluster`` URL (any
    node is a seed; the client finds the others), else :class:`redis.Redis`."""
    plain = cluster_url(url)
    if plain is not None:
        return redis.cluster.RedisCluster.from_url(plain, **options)
    return redis.Redis.from_url(url, **options)


def disconnect(client: Any) -> None:
    """Close a client from :func:`connect` and every socket it opened. A cluster client's
    ``close`` leaves its per-node pools' connections to the garbage collector."""
    if isinstance(client, redis.cluster.RedisCluster):
        nodes: list[Any] = client.get_nodes()  # type: ignore[no-untyped-call]
        for node in nodes:
            if node.redis_connection is not None:
                node.redis_connection.connection_pool.disconnect()
    client.close()
