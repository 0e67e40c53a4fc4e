"""The Redis follower: workers keep their projections in step without reading before a pick."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ranker.domain import Answer, SurveySpec, Voter
from ranker.errors import SurveyClosed
from ranker.sampling import default_sampler_factory
from ranker.service import RankerService
from ranker.snapshots import encode
from ranker.storage import open_store
from ranker.storage.base import StoredEvent
from tests.redis_proc import RedisProcess
from tests.util import following, wait_applied

pytestmark = pytest.mark.redis

ROOT = Path(__file__).resolve().parent.parent
SECRET = b"f" * 32
WAIT = 30.0  # a safety net for a stuck follower, never reached when it works


@pytest.fixture(params=["server", "cluster"])
def redis_url(request: pytest.FixtureRequest, redis_url: str) -> str:
    """This module's tests run against one redis-server and against a Redis Cluster (where
    the follower reads each survey's stream on its own node)."""
    if request.param == "cluster":
        return str(request.getfixturevalue("redis_cluster_url"))
    return redis_url


def service(url: str, **kw: Any) -> RankerService:
    # A generous lag bound: these tests are about what the follower delivers, not how fast.
    kw.setdefault("follow_max_lag_s", 3600.0)
    return RankerService(open_store(url), SECRET, sampler_factory=default_sampler_factory(0), **kw)


def shut(*svcs: RankerService) -> None:
    for s in svcs:
        s.close()
        s.store.close()


class Reads:
    """Counts the log reads a service makes (the follower has its own connection)."""

    def __init__(self, svc: RankerService) -> None:
        self.n = 0
        self._read = svc.store.read

        def read(survey: str, after: int = 0, limit: int | None = None) -> list[StoredEvent]:
            self.n += 1
            return self._read(survey, after, limit)

        svc.store.read = read  # type: ignore[method-assign]


def followers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "ranker-redis-follower"]


@pytest.fixture
def worker(redis_url: str) -> Iterator[RankerService]:
    svc = service(redis_url)
    yield svc
    shut(svc)
    assert followers() == []


def open_survey(svc: RankerService) -> tuple[str, Voter]:
    spec = SurveySpec(question="Which?", ideas=[f"idea {i}" for i in range(4)], open=True)
    sid = svc.surveys.create("org", spec).id
    return sid, svc.voting.issue_voter(sid)


def test_write_by_another_process_reaches_this_worker_without_a_read(
    worker: RankerService, redis_url: str
) -> None:
    sid, voter = open_survey(worker)
    worker.voting.next_ballot(sid, voter)  # the survey is loaded, so followed
    assert following(worker.repo)
    script = (
        "import sys\n"
        "from ranker.service import RankerService\n"
        "from ranker.storage import open_store\n"
        "store = open_store(sys.argv[1])\n"
        "svc = RankerService(store, b'f' * 32, follow=False)\n"
        "svc.ideas.add(sys.argv[2], 'from another process')\n"
        "svc.surveys.close(sys.argv[2])\n"
        "print(store.head(sys.argv[2]))\n"
        "store.close()\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, redis_url, sid],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    head = int(out.stdout.strip())
    reads = Reads(worker)
    assert wait_applied(worker.repo, sid, head, WAIT)
    proj = worker.repo.get(sid, max_staleness_s=3600)  # no read: recently caught up
    assert proj.ideas[-1].text == "from another process"
    with pytest.raises(SurveyClosed):
        worker.voting.next_ballot(sid, voter)
    assert reads.n == 0


def test_answers_from_another_worker_are_followed_and_own_answers_applied_at_once(
    worker: RankerService, redis_url: str
) -> None:
    sid, voter = open_survey(worker)
    other = service(redis_url, follow=False)
    try:
        v2 = other.voting.issue_voter(sid)
        b = other.voting.next_ballot(sid, v2)
        seq = other.voting.answer(sid, v2, b.token, Answer(choice="left")).seq
        reads = Reads(worker)
        assert wait_applied(worker.repo, sid, seq, WAIT)
        mine = worker.voting.next_ballot(sid, voter)
        receipt = worker.voting.answer(sid, voter, mine.token, Answer(choice="right"))
        # applied from the script's reply, before (or regardless of) the follower
        proj = worker.repo.get(sid, max_staleness_s=3600)
        assert proj.seq >= receipt.seq and proj.by_seq[receipt.seq].active
        assert proj.n_votes == 2
        # never the same pair twice for this voter while fresh pairs remain
        pairs = {frozenset((mine.left, mine.right))}
        for _ in range(4):
            nb = worker.voting.next_ballot(sid, voter)
            assert frozenset((nb.left, nb.right)) not in pairs
            pairs.add(frozenset((nb.left, nb.right)))
            worker.voting.answer(sid, voter, nb.token, Answer(choice="tie"))
        assert reads.n == 0
        assert encode(worker.repo.rebuild(sid)) == encode(worker.repo.get(sid))
    finally:
        shut(other)


def test_answer_applies_others_events_from_the_scripts_reply(redis_url: str) -> None:
    a, b = service(redis_url, follow=False), service(redis_url, follow=False)
    try:
        sid, voter = open_survey(a)
        ballot = a.voting.next_ballot(sid, voter)
        b.ideas.add(sid, "written in between")  # a is now one event behind
        reads = Reads(a)
        seq = a.voting.answer(sid, voter, ballot.token, Answer(choice="left")).seq
        proj = a.repo.get(sid, max_staleness_s=3600)
        assert reads.n == 0
        assert proj.seq == seq and proj.ideas[-1].text == "written in between"
    finally:
        shut(a, b)


def test_stopped_follower_falls_back_to_reading(worker: RankerService, redis_url: str) -> None:
    sid, voter = open_survey(worker)
    worker.voting.next_ballot(sid, voter)
    other = service(redis_url, follow=False)
    try:
        worker.close()  # stops the follower: every pick now reads first
        assert not following(worker.repo) and followers() == []
        other.surveys.close(sid)
        reads = Reads(worker)
        with pytest.raises(SurveyClosed):
            worker.voting.next_ballot(sid, voter)
        assert reads.n == 1
    finally:
        shut(other)


def test_a_lagging_follower_is_not_trusted_beyond_the_bound(redis_url: str) -> None:
    worker = service(redis_url, follow_max_lag_s=0.1)
    other = service(redis_url, follow=False)
    try:
        sid, voter = open_survey(worker)
        worker.voting.next_ballot(sid, voter)
        assert worker.repo._follower is not None
        worker.repo._follower.stop()  # dies without telling the service
        other.surveys.close(sid)
        worker.repo._followed[sid] = time.monotonic() - 1.0  # its last "caught up as of": 1 s ago
        with pytest.raises(SurveyClosed):
            worker.voting.next_ballot(sid, voter)
    finally:
        shut(worker, other)


def test_follower_survives_a_redis_restart(tmp_path: Path) -> None:
    server = RedisProcess(tmp_path / "redis", appendonly=True, appendfsync="always")
    server.start()
    try:
        worker = service(server.url)
        try:
            sid, voter = open_survey(worker)
            worker.voting.next_ballot(sid, voter)
            assert worker.repo._follower is not None
            thread_before = followers()
            server.kill()
            server.start()
            other = service(server.url, follow=False)
            try:
                other.ideas.add(sid, "after the restart")
                head = other.store.head(sid)
            finally:
                shut(other)
            assert wait_applied(worker.repo, sid, head, WAIT)
            assert worker.repo.get(sid, 3600).ideas[-1].text == "after the restart"
            assert following(worker.repo) and followers() == thread_before
        finally:
            shut(worker)
    finally:
        server.stop()
    assert followers() == []


def test_store_close_stops_the_follower(redis_url: str) -> None:
    svc = service(redis_url)
    sid, voter = open_survey(svc)
    svc.voting.next_ballot(sid, voter)
    assert len(followers()) == 1
    svc.store.close()
    assert followers() == [] and not following(svc.repo)
    svc.close()
