"""Organiser accounts: create one with its API key, authenticate a key, replace a lost key.

Keys carry 256 random bits and only their SHA-256 hash is stored, so no slow KDF is needed.
A replaced key's record is overwritten with an empty one, so the old key stops working at once
(in every worker: nothing caches a key).

>>> from ranker.storage import open_store
>>> accounts = Accounts(open_store("memory://"))
>>> org, key = accounts.create("Clinic")
>>> accounts.authenticate(key).id == org.id
True
>>> new_key = accounts.rotate(org.id)
>>> accounts.authenticate(new_key).id == org.id
True
>>> accounts.authenticate(key)
Traceback (most recent call last):
...
ranker.errors.Unauthorized: this API key was replaced
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable

import msgspec

from ranker.domain import Organiser
from ranker.errors import InvalidInput, Unauthorized
from ranker.rules import NAME_MAX, TOKEN_MAX, check_text
from ranker.storage.base import Store
from ranker.tokens import new_id

__all__ = ["REVOKED", "Accounts", "hash_key"]

REVOKED = b""
"""The record left under a replaced key's hash."""


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
        if data == REVOKED:
            raise Unauthorized("this API key was replaced")
        return msgspec.msgpack.decode(data, type=Organiser)

    def all(self) -> list[Organiser]:
        """Every organiser with a working key, oldest first."""
        found = [
            msgspec.msgpack.decode(data, type=Organiser)
            for _, data in self.store.organisers()
            if data != REVOKED
        ]
        return sorted(found, key=lambda o: (o.created, o.id))

    def rotate(self, organiser_id: str) -> str:
        """A new API key for the organiser ``organiser_id`` (shown once); its old keys stop
        working. ``invalid_input`` if no organiser has that id."""
        mine = [
            (key_hash, msgspec.msgpack.decode(data, type=Organiser))
            for key_hash, data in self.store.organisers()
            if data != REVOKED
        ]
        mine = [(h, o) for h, o in mine if o.id == organiser_id]
        if not mine:
            raise InvalidInput(f"no organiser has the id {organiser_id!r}")
        old = mine[0][1]
        key = "rk_" + secrets.token_urlsafe(32)
        org = msgspec.structs.replace(old, key_hash=hash_key(key))
        self.store.put_organiser(org.key_hash, msgspec.msgpack.encode(org))
        for key_hash, _ in mine:
            self.store.put_organiser(key_hash, REVOKED)
        return key
