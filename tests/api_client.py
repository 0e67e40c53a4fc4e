"""Helpers for the API tests: an app over a memory store with a controllable clock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from litestar.testing import TestClient

from api.app import create_app
from api.settings import Settings
from ranker.service import RankerService
from ranker.storage import open_store

ADMIN = "admin-token-for-tests"
SECRET = "s" * 40


class Clock:
    """A clock the test moves by hand (no sleeping, no timers)."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Api:
    """A test client plus shortcuts for the usual set-up steps."""

    client: TestClient[Any]
    service: RankerService
    clock: Clock
    keys: list[str] = field(default_factory=list)

    def organiser(self, name: str = "Org") -> dict[str, str]:
        r = self.client.post(
            "/v1/organisers", json={"name": name}, headers={"Authorization": f"Bearer {ADMIN}"}
        )
        assert r.status_code == 201, r.text
        key = r.json()["api_key"]
        self.keys.append(key)
        return {"Authorization": f"Bearer {key}"}

    def survey(self, org: dict[str, str], **body: Any) -> str:
        payload: dict[str, Any] = {
            "question": "Which is better?",
            "ideas": ["alpha", "beta", "gamma", "delta"],
            "open": True,
        }
        payload.update(body)
        r = self.client.post("/v1/surveys", json=payload, headers=org)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    def voter(self, sid: str, group: str | None = None) -> dict[str, str]:
        body = {"group": group} if group else None
        r = self.client.post(f"/v1/public/surveys/{sid}/voters", json=body)
        assert r.status_code == 201, r.text
        return {"X-Voter-Token": r.json()["token"]}

    def ballot(self, sid: str, voter: dict[str, str]) -> dict[str, Any]:
        r = self.client.post(f"/v1/public/surveys/{sid}/ballots", headers=voter)
        assert r.status_code == 201, r.text
        out: dict[str, Any] = r.json()
        return out

    def vote(self, sid: str, voter: dict[str, str], choice: str = "left") -> dict[str, Any]:
        b = self.ballot(sid, voter)
        r = self.client.post(
            f"/v1/public/surveys/{sid}/answers",
            json={"ballot": b["ballot"], "choice": choice},
            headers=voter,
        )
        assert r.status_code == 201, r.text
        out: dict[str, Any] = r.json()
        return out


@contextmanager
def make_api(store: str = "memory://", **settings: Any) -> Iterator[Api]:
    clock = Clock()
    service = RankerService(open_store(store), secret=SECRET.encode(), clock=clock)
    conf = Settings(**{"store": store, "secret": SECRET, "admin_token": ADMIN, **settings})
    app = create_app(conf, service=service)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client=client, service=service, clock=clock)


def assert_problem(r: Any, status: int, code: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status and stable code."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    assert body["code"] == code, body
    assert body["type"] == f"urn:ranker:problem:{code}"
    assert body["title"]
    return body
