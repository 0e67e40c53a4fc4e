"""Fixtures and helpers shared by the voting core's use-case tests (``test_accounts`` ...
``test_refusals``); ``tests/conftest.py`` registers the fixtures.

Every such test runs against each backend (memory, SQLite, Redis, Redis Cluster) through
``svc``. ``workers`` opens more workers on the same store, each over a store object of its own
(one store for ``memory://``), as separate processes would, so tests can race two workers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ranker.domain import Answer, AnswerReceipt, SurveySpec, Voter
from ranker.sampling import default_sampler_factory
from ranker.service import RankerService
from ranker.storage import open_store
from ranker.storage.base import Store, VoteAppend, VoteStored
from tests.util import run_async

SECRET = b"s" * 32

BACKENDS = [
    "memory",
    "sqlite",
    pytest.param("redis", marks=pytest.mark.redis),
    pytest.param("redis-cluster", marks=pytest.mark.redis),
]

memory_only = pytest.mark.parametrize("core_url", ["memory://"])
"""For rules decided before the store is called: run on the memory store only."""


class Clock:
    """A settable clock shared by every worker of a test (``t`` in seconds)."""

    def __init__(self) -> None:
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


class Interleaved:
    """A worker's view of a store that runs ``fn`` (another worker's change) right before this
    worker's next write reaches the store: after the worker has checked its rules against its
    projection, before the store decides. Everything else is passed through."""

    def __init__(self, store: Store) -> None:
        self.inner = store
        self._before: Callable[[], object] | None = None

    def before_next_write(self, fn: Callable[[], object]) -> None:
        self._before = fn

    def _run(self) -> None:
        fn, self._before = self._before, None
        if fn is not None:
            fn()

    def append(self, survey: str, data: bytes, **kw: Any) -> int:
        self._run()
        return self.inner.append(survey, data, **kw)

    def append_quota(self, survey: str, data: bytes, **kw: Any) -> int:
        self._run()
        return self.inner.append_quota(survey, data, **kw)

    def append_vote(self, survey: str, vote: VoteAppend) -> VoteStored:
        self._run()
        return self.inner.append_vote(survey, vote)

    async def append_vote_async(self, survey: str, vote: VoteAppend) -> VoteStored:
        self._run()
        return await self.inner.append_vote_async(survey, vote)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class Workers:
    """Opens workers (:class:`RankerService`) on one store URL; closes them all at the end."""

    def __init__(self, url: str, clock: Clock) -> None:
        self.url = url
        self.clock = clock
        self._stores: list[Store] = []
        self._services: list[RankerService] = []

    def store(self) -> Store:
        """Another store object on the URL (a process of its own would open one); the one
        store for ``memory://``, which lives in this process only."""
        if self._stores and self.url.startswith("memory:"):
            return self._stores[0]
        store = open_store(self.url)
        self._stores.append(store)
        return store

    def open(self, store: Store | Interleaved | None = None, **kw: Any) -> RankerService:
        # a seeded sampler keeps the tests reproducible (production seeds from the OS)
        kw.setdefault("sampler_factory", default_sampler_factory(seed=len(self._services)))
        svc = RankerService(store or self.store(), SECRET, self.clock, **kw)  # type: ignore[arg-type]
        self._services.append(svc)
        return svc

    def close(self) -> None:
        for svc in self._services:
            svc.close()
        for store in self._stores:
            store.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=BACKENDS)
def core_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store URL of one backend (a fresh database for each test)."""
    if request.param == "memory":
        return "memory://"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/core.db"
    fixture = "redis_cluster_url" if request.param == "redis-cluster" else "redis_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture
def workers(core_url: str, clock: Clock) -> Iterator[Workers]:
    w = Workers(core_url, clock)
    try:
        yield w
    finally:
        w.close()


@pytest.fixture
def svc(workers: Workers) -> RankerService:
    """The first worker on the test's store."""
    return workers.open()


def survey(svc: RankerService, n: int = 4, **settings: Any) -> str:
    """An open survey with ideas ``idea 0`` ... ``idea n-1``; ``settings`` as in
    :class:`SurveySpec`."""
    settings.setdefault("open", True)
    spec = SurveySpec(
        question="Which is better?", ideas=[f"idea {i}" for i in range(n)], **settings
    )
    return svc.surveys.create("org", spec).id


def vote(
    svc: RankerService, sid: str, voter: Voter, choice: str = "left", **kw: Any
) -> AnswerReceipt:
    """Ask for the voter's next pair and answer it."""
    ballot = svc.voting.next_ballot(sid, voter)
    return svc.voting.answer(sid, voter, ballot.token, Answer(choice=choice, **kw))  # type: ignore[arg-type]


def answer_by(
    call: str, svc: RankerService, sid: str, voter: Voter, token: str, answer: Answer
) -> AnswerReceipt:
    """Answer through ``Voting.answer`` or, for ``call="answer_async"``, through
    ``Voting.answer_async`` on an event loop of its own (as the API does)."""
    if call == "answer":
        return svc.voting.answer(sid, voter, token, answer)

    async def main() -> AnswerReceipt:
        try:
            return await svc.voting.answer_async(sid, voter, token, answer)
        finally:
            await svc.store.aclose()  # the async connection belongs to this loop

    return run_async(main)
