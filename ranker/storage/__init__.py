"""Storage backends behind one interface, chosen by URL.

>>> store = open_store("memory://")
>>> type(store).__name__
'MemoryStore'
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ranker.errors import InvalidInput
from ranker.storage.base import Store, StoredEvent, VoteAppend, VoteStored
from ranker.storage.memory import MemoryStore

__all__ = ["MemoryStore", "Store", "StoredEvent", "VoteAppend", "VoteStored", "open_store"]

DEFAULT_URL = "sqlite:///ranker.db"


def open_store(url: str = DEFAULT_URL) -> Store:
    """Open a store: ``memory://``, ``sqlite:///relative.db``, ``sqlite:////abs/path.db``
    (query ``?synchronous=FULL`` for power-loss durability), ``redis://host:port/db`` or
    ``redis+cluster://host:port`` (a Redis Cluster; any node).
    """
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return MemoryStore(url)
    if scheme == "sqlite":
        from ranker.storage.sqlite import SQLiteStore

        store: Store = SQLiteStore(url)
        return store
    if scheme in ("redis", "rediss", "unix", "redis+cluster", "rediss+cluster"):
        from ranker.storage.redis import RedisStore

        rstore: Store = RedisStore(url)
        return rstore
    raise InvalidInput(
        f"unknown store URL {url!r}; use memory://, sqlite:///path, redis:// or redis+cluster://"
    )
