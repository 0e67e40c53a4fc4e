"""One contract for every storage backend: memory, SQLite and a real redis-server."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ranker.errors import (
    BallotExpired,
    InvalidInput,
    LimitReached,
    RateLimited,
    StaleCheck,
    SurveyExists,
    SurveyNotFound,
)
from ranker.storage import Store, StoredEvent, VoteAppend, VoteStored, open_store
from tests.util import run_async

BACKENDS = [
    "memory",
    "sqlite",
    pytest.param("redis", marks=pytest.mark.redis),
    pytest.param("redis-cluster", marks=pytest.mark.redis),
]


def _url(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if kind == "memory":
        return "memory://"
    if kind == "sqlite":
        return f"sqlite:///{tmp_path}/contract.db"
    if kind == "redis-cluster":
        return str(request.getfixturevalue("redis_cluster_url"))
    return str(request.getfixturevalue("redis_url"))


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return _url(request.param, tmp_path, request)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = open_store(store_url)
    try:
        yield s
    finally:
        s.close()


def answer(
    data: bytes,
    ballot: str,
    *,
    checked_at: int = 0,
    voter: str = "v",
    now: float = 1000.0,
    limit: int = 0,
) -> VoteAppend:
    return VoteAppend(data, ballot, voter, now + 60, now, limit, checked_at)


def vote(
    store: Store, ballot: str, data: bytes, *, voter: str = "v", now: float = 1000.0, limit: int = 0
) -> tuple[int, bytes, bool]:
    r = store.append_vote("s", answer(data, ballot, voter=voter, now=now, limit=limit))
    return r.seq, r.data, r.duplicate


def test_log_numbers_events_from_one_without_gaps(store: Store) -> None:
    assert store.head("s") == 0
    assert store.create_survey("s", b"e1") == 1
    assert store.append("s", b"e2") == 2
    assert vote(store, "b1", b"e3") == (3, b"e3", False)
    assert store.head("s") == 3
    assert store.read("s") == [StoredEvent(1, b"e1"), StoredEvent(2, b"e2"), StoredEvent(3, b"e3")]
    assert store.read("s", after=1, limit=1) == [StoredEvent(2, b"e2")]
    assert store.read("s", after=3) == []
    assert store.read("nope") == []


def test_create_twice_and_unknown_survey_are_refused(store: Store) -> None:
    store.create_survey("s", b"e1")
    with pytest.raises(SurveyExists):
        store.create_survey("s", b"again")
    with pytest.raises(SurveyNotFound):
        store.append("other", b"x")
    with pytest.raises(SurveyNotFound):
        store.append_vote("other", answer(b"x", "b"))
    assert store.read("s") == [StoredEvent(1, b"e1")]


def test_binary_data_round_trips(store: Store) -> None:
    blob = bytes(range(256)) * 3
    store.create_survey("s", blob)
    assert store.read("s")[0].data == blob


def test_ballot_is_accepted_once_and_retry_returns_original(store: Store) -> None:
    store.create_survey("s", b"e1")
    assert vote(store, "b1", b"first") == (2, b"first", False)
    assert vote(store, "b1", b"second") == (2, b"first", True)
    assert vote(store, "b2", b"other") == (3, b"other", False)
    assert [e.data for e in store.read("s")] == [b"e1", b"first", b"other"]


def test_rate_limit_counts_per_voter_and_window(store: Store) -> None:
    store.create_survey("s", b"e1")
    for i in range(3):
        vote(store, f"b{i}", b"x", now=120.0, limit=3)
    with pytest.raises(RateLimited) as err:
        vote(store, "b9", b"x", now=130.0, limit=3)
    assert 0 < err.value.detail["retry_after"] <= 60
    assert store.head("s") == 4  # the refused answer wrote nothing
    vote(store, "c1", b"x", voter="w", now=130.0, limit=3)  # another voter is not limited
    vote(store, "b9", b"x", now=181.0, limit=3)  # next window
    # a duplicate is answered even when the voter is at the limit
    assert vote(store, "b0", b"y", now=130.0, limit=3)[2] is True


def test_rate_hit_primitive(store: Store) -> None:
    assert [store.rate_hit("ip:1", 2, 10, 5.0) for _ in range(2)] == [1, 2]
    with pytest.raises(RateLimited):
        store.rate_hit("ip:1", 2, 10, 6.0)
    assert store.rate_hit("ip:1", 2, 10, 11.0) == 1


def test_claim_once_admits_one_claim_per_key_until_it_expires(store: Store) -> None:
    now = time.time()  # Redis expires keys by its own clock
    assert store.claim_once("ballot:s:n1", 1, now) is True
    assert store.claim_once("ballot:s:n1", 1, now + 0.5) is False  # a replay
    assert store.claim_once("ballot:s:n2", 1, now) is True  # another key
    time.sleep(1.2)
    assert store.claim_once("ballot:s:n1", 60, now + 1.2) is True  # expired: claimable again
    assert store.claim_once("ballot:s:n1", 60, now + 1.3) is False


def test_claim_once_one_winner_among_threads(store: Store) -> None:
    now = time.time()
    wins: list[bool] = []
    barrier = threading.Barrier(8)

    def claim() -> None:
        barrier.wait()
        wins.append(store.claim_once("ballot:s:race", 60, now))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == [False] * 7 + [True]


def test_quota_appends_count_and_refuse_at_the_limit(store: Store) -> None:
    store.create_survey("s", b"e1")
    store.create_survey("t", b"e1")
    assert store.append_quota("s", b"i1", counter="ideas:v", limit=2) == 2
    store.append("s", b"other")  # plain appends do not count
    assert store.append_quota("s", b"i2", counter="ideas:v", limit=2) == 4
    with pytest.raises(LimitReached) as err:
        store.append_quota("s", b"i3", counter="ideas:v", limit=2)
    assert err.value.detail["limit"] == 2
    assert store.head("s") == 4  # the refused append wrote nothing
    # counters are per counter name and per survey; a raised limit admits more
    assert store.append_quota("s", b"w1", counter="ideas:w", limit=2) == 5
    assert store.append_quota("t", b"i1", counter="ideas:v", limit=2) == 2
    assert store.append_quota("s", b"i3", counter="ideas:v", limit=3) == 6
    with pytest.raises(LimitReached):
        store.append_quota("s", b"i4", counter="ideas:v", limit=3)
    with pytest.raises(LimitReached):
        store.append_quota("s", b"x", counter="ideas:z", limit=0)
    with pytest.raises(SurveyNotFound):
        store.append_quota("nope", b"x", counter="ideas:v", limit=5)
    assert store.head("nope") == 0
    assert [e.data for e in store.read("s")] == [b"e1", b"i1", b"other", b"i2", b"w1", b"i3"]


def test_snapshots_keep_the_latest(store: Store) -> None:
    assert store.load_snapshot("s") is None
    store.save_snapshot("s", 5, b"five")
    store.save_snapshot("s", 9, b"nine")
    assert store.load_snapshot("s") == StoredEvent(9, b"nine")


def test_organisers_by_key_hash(store: Store) -> None:
    assert store.get_organiser("h") is None
    store.put_organiser("h", b"org")
    assert store.get_organiser("h") == b"org"
    store.put_organiser("h2", b"other")
    assert sorted(store.organisers()) == [("h", b"org"), ("h2", b"other")]


def test_survey_ids_and_batched_iteration(store: Store) -> None:
    store.create_survey("b", b"1")
    store.create_survey("a", b"1")
    for i in range(25):
        store.append("a", str(i).encode())
    assert store.survey_ids() == ["a", "b"]
    got = list(store.iter_events("a", after=2, batch=7))
    assert [e.seq for e in got] == list(range(3, 27))


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def test_data_survives_reopening(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = _url(kind, tmp_path, request)
    with open_store(url) as s:
        s.create_survey("s", b"e1")
        s.append_vote("s", answer(b"v", "b", now=1.0))
        s.append_quota("s", b"q", counter="ideas:v", limit=1)
        s.append("s", b"g", gate=True)
    with open_store(url) as s:
        assert [e.data for e in s.read("s")] == [b"e1", b"v", b"q", b"g"]
        with pytest.raises(LimitReached):  # quota counters are kept too
            s.append_quota("s", b"q2", counter="ideas:v", limit=1)
        assert s.append_vote("s", answer(b"w", "b", now=1.0)).duplicate
        assert s.gate("s") == 4  # and the gate
        with pytest.raises(StaleCheck):
            s.append_vote("s", answer(b"w", "b2", now=1.0, checked_at=3))


def test_bad_urls_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput):
        open_store("ftp://x")
    with pytest.raises(InvalidInput):
        open_store(f"sqlite:///{tmp_path}/x.db?synchronous=maybe")


@pytest.mark.redis
def test_redis_outage_is_a_store_error(tmp_path: Path) -> None:
    from ranker.errors import StoreError
    from tests.redis_proc import RedisProcess

    server = RedisProcess(tmp_path / "r")
    server.start()
    store = open_store(server.url)
    store.create_survey("s", b"e")
    server.kill()
    with pytest.raises(StoreError, match="redis"):
        store.append("s", b"x")
    store.close()


def test_sqlite_lock_timeout_is_a_store_error(tmp_path: Path) -> None:
    import sqlite3

    from ranker.errors import StoreError
    from ranker.storage.sqlite import SQLiteStore

    url = f"sqlite:///{tmp_path}/locked.db"
    store = SQLiteStore(url, busy_timeout_ms=50)
    store.create_survey("s", b"e")
    other = sqlite3.connect(f"{tmp_path}/locked.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    with pytest.raises(StoreError, match="locked"):
        store.append("s", b"x")
    other.execute("ROLLBACK")
    other.close()
    assert store.append("s", b"x") == 2
    store.close()


def test_append_vote_returns_the_events_in_between(store: Store) -> None:
    store.create_survey("s", b"e1")
    store.append("s", b"e2")
    store.append("s", b"e3")

    def go(data: bytes, checked_at: int, ballot: str) -> VoteStored:
        return store.append_vote("s", answer(data, ballot, checked_at=checked_at))

    assert go(b"a4", 1, "b1") == VoteStored(
        4, b"a4", False, [StoredEvent(2, b"e2"), StoredEvent(3, b"e3")]
    )
    assert go(b"a5", 4, "b2") == VoteStored(5, b"a5", False, [])
    assert go(b"a6", 0, "b6").gap == [
        StoredEvent(i, d) for i, d in enumerate([b"e1", b"e2", b"e3", b"a4", b"a5"], start=1)
    ]
    # a retry is answered from the marker and brings no events
    assert go(b"a4", 0, "b1") == VoteStored(4, b"a4", True, [])
    # a gap longer than one reply carries is read back in full
    for i in range(300):
        store.append("s", b"x%d" % i)
    res = go(b"a", 6, "b3")
    assert res.seq == 307 and [g.seq for g in res.gap] == list(range(7, 307))
    assert res.gap[0].data == b"x0" and res.gap[-1].data == b"x299"
    # the gap starts at the seq checked at, also right after a gate event
    store.append("s", b"close", gate=True)
    store.append("s", b"y")
    res = go(b"a", 308, "b4")
    assert (res.seq, res.gap) == (310, [StoredEvent(309, b"y")])


def test_gate_reports_the_last_gate_event(store: Store) -> None:
    assert store.gate("s") == 0
    store.create_survey("s", b"e1")
    assert store.gate("s") == 0  # a new survey has no gate event
    store.append("s", b"e2")
    vote(store, "b1", b"a3")
    store.append_quota("s", b"i4", counter="ideas:v", limit=5)
    assert store.gate("s") == 0  # other writes do not move it
    assert store.append("s", b"close", gate=True) == 5
    assert store.gate("s") == 5
    store.append("s", b"e6")
    assert store.append("s", b"void", gate=True, checked_at=5) == 7
    assert store.gate("s") == 7
    store.create_survey("t", b"e1")
    assert (store.gate("t"), store.gate("nope")) == (0, 0)  # per survey


def test_an_answer_checked_before_a_gate_event_is_refused_and_writes_nothing(
    store: Store,
) -> None:
    store.create_survey("s", b"e1")
    store.append("s", b"e2")
    assert store.append("s", b"close", gate=True) == 3
    stale = answer(b"a", "b1", checked_at=2, limit=1)
    with pytest.raises(StaleCheck) as err:
        store.append_vote("s", stale)
    assert err.value.code == "stale_check"
    assert err.value.detail == {"gate": 3}
    assert store.head("s") == 3  # nothing written
    assert store.read("s", after=3) == []
    # the ballot is not marked used and the rate limit (1 per window) was not counted: the
    # retry, checked again at the gate, is a new answer
    assert store.append_vote("s", stale._replace(checked_at=3)) == VoteStored(4, b"a", False, [])
    assert store.head("s") == 4


def test_a_stale_append_or_quota_append_writes_nothing(store: Store) -> None:
    store.create_survey("s", b"e1")
    assert store.append("s", b"retire", gate=True) == 2
    with pytest.raises(StaleCheck) as err:
        store.append("s", b"x", checked_at=1)
    assert err.value.detail == {"gate": 2}
    with pytest.raises(StaleCheck):  # a gate event checked too early is refused too
        store.append("s", b"g", gate=True, checked_at=1)
    with pytest.raises(StaleCheck) as err:
        store.append_quota("s", b"i", counter="ideas:v", limit=1, checked_at=1)
    assert err.value.detail == {"gate": 2}
    assert (store.head("s"), store.gate("s")) == (2, 2)  # nothing written, gate unmoved
    # checked at (or after) the gate: accepted; the refused quota append was not counted
    assert store.append("s", b"x", checked_at=2) == 3
    assert store.append_quota("s", b"i", counter="ideas:v", limit=1, checked_at=3) == 4
    assert store.append("s", b"y") == 5  # no check asked: the gate does not matter
    assert [e.data for e in store.read("s")] == [b"e1", b"retire", b"x", b"i", b"y"]
    # an unknown survey is reported as such, before the gate
    with pytest.raises(SurveyNotFound):
        store.append("nope", b"x", checked_at=0)
    with pytest.raises(SurveyNotFound):
        store.append_quota("nope", b"x", counter="c", limit=1, checked_at=0)
    with pytest.raises(SurveyNotFound):
        store.append_vote("nope", answer(b"x", "b", checked_at=0))


def test_a_retried_ballot_gets_its_answer_back_after_the_gate_moved(store: Store) -> None:
    store.create_survey("s", b"e1")
    first = store.append_vote("s", answer(b"a", "b1", checked_at=1))
    assert first == VoteStored(2, b"a", False, [])
    store.append("s", b"close", gate=True)
    again = store.append_vote("s", answer(b"a", "b1", checked_at=1))
    assert again == VoteStored(2, b"a", True, [])
    assert store.head("s") == 3


def test_the_async_vote_append_keeps_the_contract(store: Store) -> None:
    """``append_vote_async`` (awaited by the API's answer route) behaves as the blocking
    call: new answer + gap, retry answered from the marker, long gap read back, gate, rate
    limit, unknown survey; nothing half-written."""
    store.create_survey("s", b"e1")
    store.append("s", b"e2")

    async def scenario() -> None:
        def go(data: bytes, after: int, ballot: str, *, survey: str = "s", limit: int = 0) -> Any:
            vote = answer(data, ballot, checked_at=after, limit=limit)
            return store.append_vote_async(survey, vote)

        try:
            assert await go(b"a3", 1, "b1") == VoteStored(3, b"a3", False, [StoredEvent(2, b"e2")])
            assert await go(b"other", 0, "b1") == VoteStored(3, b"a3", True, [])
            for i in range(300):
                store.append("s", b"x%d" % i)
            res = await go(b"a", 3, "b2")
            assert res.seq == 304 and [g.seq for g in res.gap] == list(range(4, 304))
            assert store.append("s", b"close", gate=True) == 305
            with pytest.raises(StaleCheck) as err:
                await go(b"r", 304, "b3", limit=3)
            assert err.value.detail == {"gate": 305}
            assert await go(b"a", 1, "b2") == VoteStored(304, b"a", True, [])  # a retry
            await go(b"r", 305, "b3", limit=3)  # the window's count: 1 of 3
            await go(b"r", 305, "c0", limit=3)
            await go(b"r", 305, "c1", limit=3)  # 3 of 3: seq 308
            with pytest.raises(RateLimited):
                await go(b"r", 305, "c2", limit=3)
            with pytest.raises(SurveyNotFound):
                await go(b"z", 0, "b9", survey="nope")
            # concurrent answers on one loop: each gets its own seq, none lost
            results = await asyncio.gather(*(go(b"p%d" % i, 305, f"p{i}") for i in range(20)))
            assert sorted(r.seq for r in results) == list(range(309, 329))
        finally:
            await store.aclose()

    run_async(scenario)
    assert store.head("s") == 328
    assert store.head("nope") == 0


@pytest.mark.redis
def test_redis_outage_is_a_store_error_on_the_async_path(tmp_path: Path) -> None:
    from ranker.errors import StoreError
    from tests.redis_proc import RedisProcess

    server = RedisProcess(tmp_path / "r")
    server.start()
    store = open_store(server.url)
    store.create_survey("s", b"e")

    async def scenario() -> None:
        try:
            assert (await store.append_vote_async("s", answer(b"a", "b1", checked_at=1))).seq == 2
            server.kill()
            with pytest.raises(StoreError, match="redis"):
                await store.append_vote_async("s", answer(b"b", "b2", checked_at=1))
        finally:
            await store.aclose()

    run_async(scenario)
    store.close()


OLD_SQLITE_SCHEMA = """
CREATE TABLE surveys (id TEXT PRIMARY KEY, head INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE events (
    survey TEXT NOT NULL, seq INTEGER NOT NULL, ballot TEXT, data BLOB NOT NULL,
    PRIMARY KEY (survey, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX events_ballot ON events (survey, ballot) WHERE ballot IS NOT NULL;
CREATE TABLE rates (key TEXT PRIMARY KEY, win INTEGER NOT NULL, n INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE quotas (
    survey TEXT NOT NULL, counter TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (survey, counter)
) WITHOUT ROWID;
CREATE TABLE organisers (key_hash TEXT PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID;
INSERT INTO surveys VALUES ('s', 2);
INSERT INTO events VALUES ('s', 1, NULL, X'6531'), ('s', 2, 'b1', X'6132');
"""
"""A ``ranker.db`` written before the gate column (the schema of the previous release)."""


def test_sqlite_opens_a_database_from_before_the_gate(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.executescript(OLD_SQLITE_SCHEMA)
    old.close()
    url = f"sqlite:///{path}"
    with open_store(url) as store:
        assert store.read("s") == [StoredEvent(1, b"e1"), StoredEvent(2, b"a2")]
        assert store.gate("s") == 0
        assert store.append_vote("s", answer(b"a2", "b1")) == VoteStored(2, b"a2", True, [])
        assert store.append("s", b"close", gate=True) == 3
        with pytest.raises(StaleCheck):
            store.append_vote("s", answer(b"a", "b2", checked_at=2))
    with open_store(url) as store:  # reopening a migrated file changes nothing
        assert (store.head("s"), store.gate("s")) == (3, 3)
        assert store.append_vote("s", answer(b"a4", "b2", checked_at=3)).seq == 4
    db = sqlite3.connect(path)
    cols = [r[1] for r in db.execute("PRAGMA table_info(surveys)")]
    db.close()
    assert cols == ["id", "head", "gate"]


def test_sqlite_snapshots_do_not_hold_the_logs_write_lock(tmp_path: Path) -> None:
    """A snapshot write (tens of ms for a large survey) goes to its own file, so answers keep
    being logged meanwhile; the snapshot file is only a cache."""
    import sqlite3

    from ranker.storage.sqlite import SQLiteStore

    store = SQLiteStore(f"sqlite:///{tmp_path}/log.db", busy_timeout_ms=50)
    store.create_survey("s", b"e")
    store.save_snapshot("s", 1, b"snap")
    assert (tmp_path / "log.db-snapshots").exists()
    writer = sqlite3.connect(f"{tmp_path}/log.db-snapshots", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # a snapshot being written, as by another worker
    assert vote(store, "b1", b"answer") == (2, b"answer", False)
    writer.execute("ROLLBACK")
    writer.close()
    store.close()
    (tmp_path / "log.db-snapshots").unlink()  # lost cache: the log is untouched
    with open_store(f"sqlite:///{tmp_path}/log.db") as again:
        assert again.load_snapshot("s") is None
        assert [e.data for e in again.read("s")] == [b"e", b"answer"]


@pytest.mark.redis
def test_a_burst_of_async_answers_shares_a_bounded_redis_pool(redis_url: str) -> None:
    from ranker.storage.redis import ASYNC_MAX_CONNECTIONS, RedisStore

    store = open_store(redis_url)
    assert isinstance(store, RedisStore)
    store.create_survey("burst", b"e")

    async def scenario() -> int:
        try:
            out = await asyncio.gather(
                *(
                    store.append_vote_async("burst", answer(b"a%d" % i, f"b{i}", voter=f"v{i}"))
                    for i in range(200)
                )
            )
            assert sorted(r.seq for r in out) == list(range(2, 202))
            return len(store._r.client_list())  # while the async pool is still open
        finally:
            await store.aclose()

    clients = run_async(scenario)
    store.close()
    assert clients <= ASYNC_MAX_CONNECTIONS + 2  # the pool, the blocking client, this call


SPIN = """
local t = redis.call('TIME')
local stop = tonumber(t[1]) * 1000000 + tonumber(t[2]) + 300000
repeat t = redis.call('TIME') until tonumber(t[1]) * 1000000 + tonumber(t[2]) >= stop
return 1
"""


@pytest.mark.redis
def test_async_answers_survive_a_script_flush_and_a_cancelled_call(redis_url: str) -> None:
    """The lean script call: ``NOSCRIPT`` (scripts flushed, e.g. a restarted server) loads
    the script and answers; an answer cancelled mid-flight leaves no stray reply behind."""
    import redis as redis_py

    store = open_store(redis_url)
    store.create_survey("s", b"e")

    def go(data: bytes, after: int, ballot: str) -> Any:
        return store.append_vote_async("s", answer(data, ballot, checked_at=after))

    async def scenario() -> list[int]:
        seqs = []
        try:
            seqs.append((await go(b"a", 1, "b1")).seq)
            redis_py.Redis.from_url(redis_url).script_flush()
            seqs.append((await go(b"b", 2, "b2")).seq)
            # keep the server busy (a script spinning for 0.3 s) so our answer is sent and
            # then cancelled while its reply is still to come
            busy = threading.Thread(target=lambda: redis_py.Redis.from_url(redis_url).eval(SPIN, 0))
            busy.start()
            await asyncio.sleep(0.05)
            task = asyncio.ensure_future(go(b"c", 3, "b3"))
            await asyncio.sleep(0.05)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            busy.join()
            # the next answers read their own replies (a retry of b3 gets b3's answer if the
            # cancelled one was applied, else a new one)
            r3 = await go(b"c", 3, "b3")
            r4 = await go(b"d", 0, "b4")
            assert r3.data == b"c" and r4.data == b"d" and r4.seq == r3.seq + 1
            seqs += [r3.seq, r4.seq]
            return seqs
        finally:
            await store.aclose()

    seqs = run_async(scenario)
    assert seqs == [2, 3, 4, 5]
    assert [e.data for e in store.read("s")] == [b"e", b"a", b"b", b"c", b"d"]
    store.close()


def test_a_voter_holds_at_most_open_ballots_answerable_ballots(store: Store) -> None:
    """Ballots issued when the voter had answered ``k`` times stay answerable for their
    next ``open_ballots`` answers: a harvested stack dies as the voter answers."""
    store.create_survey("s", b"e1")
    head = store.head("s")

    def stacked(ballot: str, voter: str = "v") -> VoteAppend:
        # every ballot of the stack was issued before the voter's first answer
        return answer(b"a-" + ballot.encode(), ballot, voter=voter)._replace(
            cast_before=0, open_ballots=3
        )

    for k in range(3):
        assert not store.append_vote("s", stacked(f"b{k}")).duplicate
    with pytest.raises(BallotExpired, match="replaced"):
        store.append_vote("s", stacked("b3"))
    assert store.head("s") == head + 3  # the refused one wrote nothing
    assert store.append_vote("s", stacked("b0")).duplicate  # a retry still gets its answer
    assert not store.append_vote("s", stacked("w0", voter="w")).duplicate  # per voter
    fresh = answer(b"fresh", "b9")._replace(cast_before=3, open_ballots=3)
    assert not store.append_vote("s", fresh).duplicate  # issued after those answers: fine
    unchecked = answer(b"old-style", "b10")  # cast_before -1: no bound (older workers)
    assert not store.append_vote("s", unchecked).duplicate
