"""Organiser accounts: create one with its API key, and authenticate a key.

Keys carry 256 random bits and only their SHA-256 hash is stored, so no slow KDF is needed.

>>> from ranker.storage import open_store
>>> accounts = Accounts(open_store("memory://"))
>>> org, key = accounts.create("Clinic")
>>> accounts.authenticate(key).id == org.id
True
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable

import msgspec

from ranker.domain import Organiser
from ranker.errors import Unauthorized
from ranker.rules import NAME_MAX, TOKEN_MAX, check_text
from ranker.storage.base import Store
from ranker.tokens import new_id

__all__ = ["Accounts", "hash_key"]


def hash_key(api_key: str) -> str:
    """SHA-256 of an API key, hex."""
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


class Accounts:
    """Organiser accounts over one store."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock

    def create(self, name: str) -> tuple[Organiser, str]:
        """A new organiser and its API key (shown once; only its hash is stored)."""
        name = check_text("name", name, NAME_MAX)
        key = "rk_" + secrets.token_urlsafe(32)
        org = Organiser(id=new_id(9), name=name, key_hash=hash_key(key), created=self.clock())
        self.store.put_organiser(org.key_hash, msgspec.msgpack.encode(org))
        return org, key

    def authenticate(self, api_key: str | None) -> Organiser:
        """The organiser owning ``api_key``; ``unauthorized`` otherwise."""
        if not api_key or not isinstance(api_key, str) or len(api_key) > TOKEN_MAX:
            raise Unauthorized("missing or malformed API key")
        data = self.store.get_organiser(hash_key(api_key))
        if data is None:
            raise Unauthorized("unknown API key")
        return msgspec.msgpack.decode(data, type=Organiser)
