"""Organiser accounts: API keys, shown once and stored only as their hash."""

from __future__ import annotations

import pytest

from ranker import errors as E
from ranker.accounts import hash_key
from ranker.service import RankerService
from tests.core_fixtures import Workers


def test_a_key_authenticates_its_organiser(svc: RankerService) -> None:
    org, key = svc.accounts.create("  Clinic  ")
    assert org.name == "Clinic"
    assert svc.accounts.authenticate(key) == org
    other, other_key = svc.accounts.create("Other")
    assert other.id != org.id and other_key != key
    assert svc.accounts.authenticate(other_key) == other


def test_only_the_hash_of_a_key_is_kept(svc: RankerService) -> None:
    org, key = svc.accounts.create("Clinic")
    assert key.startswith("rk_") and len(key) > 40
    assert org.key_hash == hash_key(key) != key
    assert key not in repr(org)


@pytest.mark.parametrize("bad", [None, "", "rk_wrong", "x" * 2000, 42])
def test_a_missing_unknown_or_malformed_key_is_unauthorized(
    svc: RankerService, bad: object
) -> None:
    svc.accounts.create("Clinic")
    with pytest.raises(E.Unauthorized):
        svc.accounts.authenticate(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "error"), [("   ", E.TextEmpty), ("x" * 201, E.TextTooLong)])
def test_an_organiser_needs_a_name(svc: RankerService, name: str, error: type) -> None:
    with pytest.raises(error):
        svc.accounts.create(name)


def test_every_worker_on_the_store_knows_the_key(svc: RankerService, workers: Workers) -> None:
    org, key = svc.accounts.create("Clinic")
    assert workers.open().accounts.authenticate(key) == org
