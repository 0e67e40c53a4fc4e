"""The ranking cache: one computation per log position, outside the repository's lock,
shared by concurrent callers and refreshed in the background."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

import ranker.results as results_module
from ranker.projection import Projection
from ranker.ranking_cache import RankingCache
from ranker.service import RankerService
from tests.core_fixtures import Workers, memory_only, survey, vote

WAIT = 10.0  # a safety net for a stuck thread, never reached when it works


class Counting:
    """A prepare step whose computation returns ``(seq, n)``, n counting computations."""

    def __init__(self, fail: int = 0) -> None:
        self.runs = 0
        self.fail = fail  # the computation that raises (1: the first)
        self.ran = threading.Event()

    def __call__(self, proj: Projection) -> Callable[[], tuple[int, int]]:
        seq = proj.seq

        def run() -> tuple[int, int]:
            self.runs += 1
            self.ran.set()
            if self.runs == self.fail:
                raise RuntimeError("model blew up")
            return seq, self.runs

        return run


def test_results_are_cached_per_log_position(svc: RankerService) -> None:
    sid = survey(svc)
    first = svc.rankings.results(sid)
    assert svc.rankings.results(sid) is first
    vote(svc, sid, svc.voting.issue_voter(sid))
    again = svc.rankings.results(sid)
    assert again is not first and again.n_votes == 1 and again.seq == first.seq + 1
    assert svc.rankings.results(sid, level=0.9) is not again  # another key


def test_results_max_age_reuses_a_recent_ranking(svc: RankerService, workers: Workers) -> None:
    relaxed = workers.open(results_max_age_s=3600)
    sid = survey(svc)
    first = relaxed.rankings.results(sid)
    vote(svc, sid, svc.voting.issue_voter(sid))
    assert relaxed.rankings.results(sid) is first  # within the age limit: not recomputed
    assert svc.rankings.results(sid).n_votes == 1  # the default recomputes when the log moved


def test_rankings_are_computed_outside_the_repository_lock(
    svc: RankerService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dashboard's ranking (refit + summaries, ~0.1 s at 1,000 ideas) must not hold up
    votes: while one is being computed, a pick and an answer go through."""
    sid = survey(svc, n=4)
    v = svc.voting.issue_voter(sid)
    started, release = threading.Event(), threading.Event()
    real = results_module.rank_view

    def slow_rank_view(*args: Any) -> Any:
        started.set()
        assert release.wait(WAIT)
        return real(*args)

    monkeypatch.setattr(results_module, "rank_view", slow_rank_view)
    out: list[Any] = []
    ranking = threading.Thread(target=lambda: out.append(svc.rankings.results(sid)))
    ranking.start()
    assert started.wait(WAIT)
    voted = threading.Event()

    def answer() -> None:
        vote(svc, sid, v)
        voted.set()

    threading.Thread(target=answer, daemon=True).start()
    try:
        assert voted.wait(WAIT), "the vote waited for the ranking"
    finally:
        release.set()
        ranking.join(WAIT)
    assert out[0].n_votes == 0  # computed at the log position it started from
    monkeypatch.setattr(results_module, "rank_view", real)
    assert svc.rankings.results(sid).n_votes == 1  # the log moved: not served from the cache


def test_concurrent_requests_for_one_ranking_share_its_computation(
    svc: RankerService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dashboards polling an unchanged survey at once: one computation, not one each."""
    sid = survey(svc, n=4)
    vote(svc, sid, svc.voting.issue_voter(sid))
    calls: list[int] = []
    started, release = threading.Event(), threading.Event()
    real = results_module.rank_view

    def slow_rank_view(*args: Any) -> Any:
        calls.append(1)
        started.set()
        assert release.wait(WAIT)
        return real(*args)

    monkeypatch.setattr(results_module, "rank_view", slow_rank_view)
    out: list[Any] = []
    threads = [
        threading.Thread(target=lambda: out.append(svc.rankings.results(sid))) for _ in range(4)
    ]
    threads[0].start()
    assert started.wait(WAIT)
    for t in threads[1:]:
        t.start()
    time.sleep(0.2)  # let the others reach the computation in flight (not a timing assertion)
    release.set()
    for t in threads:
        t.join(WAIT)
    assert len(calls) == 1 and len(out) == 4
    assert all(r is out[0] for r in out) and out[0].n_votes == 1


@memory_only
def test_a_watched_ranking_is_refreshed_in_the_background(svc: RankerService) -> None:
    sid = survey(svc)
    cache: RankingCache[tuple[int, int]] = RankingCache(svc.repo, refresh_s=0.01)
    prepare = Counting()
    try:
        assert cache.get("k", sid, prepare) == (svc.store.head(sid), 1)
        prepare.ran.clear()
        vote(svc, sid, svc.voting.issue_voter(sid))  # the survey moved
        assert prepare.ran.wait(WAIT), "not refreshed"
        assert cache.get("k", sid, prepare) == (svc.store.head(sid), 2)  # ready, not recomputed
        assert prepare.runs == 2
    finally:
        cache.close()


@memory_only
def test_close_stops_the_refresher_even_while_it_waits_for_a_burst(svc: RankerService) -> None:
    sid = survey(svc)
    cache: RankingCache[tuple[int, int]] = RankingCache(svc.repo, refresh_s=3600)
    prepare = Counting()
    cache.get("k", sid, prepare)
    refresher = next(t for t in threading.enumerate() if t.name == "ranker-rankings")
    vote(svc, sid, svc.voting.issue_voter(sid))  # wakes it: it waits for more votes
    cache.close()
    assert not refresher.is_alive()
    assert prepare.runs == 1  # nothing computed after close
    cache.close()  # idempotent


@memory_only
def test_a_failed_computation_is_not_cached(svc: RankerService) -> None:
    sid = survey(svc)
    cache: RankingCache[tuple[int, int]] = RankingCache(svc.repo, refresh_s=0)
    prepare = Counting(fail=1)
    with pytest.raises(RuntimeError, match="blew up"):
        cache.get("k", sid, prepare)
    assert cache.get("k", sid, prepare) == (svc.store.head(sid), 2)


@memory_only
def test_a_failed_background_refresh_is_logged_and_left_to_the_next_request(
    svc: RankerService, caplog: pytest.LogCaptureFixture
) -> None:
    sid = survey(svc)
    cache: RankingCache[tuple[int, int]] = RankingCache(svc.repo, refresh_s=0.01)
    prepare = Counting(fail=2)
    try:
        cache.get("k", sid, prepare)
        prepare.ran.clear()
        vote(svc, sid, svc.voting.issue_voter(sid))
        assert prepare.ran.wait(WAIT)  # the background refresh ran, and failed
        assert cache.get("k", sid, prepare) == (svc.store.head(sid), 3)
    finally:
        cache.close()  # joins the refresher: its warning is logged by now
    assert "background ranking of" in caplog.text


@memory_only
def test_a_full_cache_starts_over(svc: RankerService) -> None:
    sid = survey(svc)
    cache: RankingCache[tuple[int, int]] = RankingCache(svc.repo, refresh_s=0, max_entries=2)
    prepare = Counting()
    assert [cache.get(k, sid, prepare)[1] for k in ("a", "b", "c")] == [1, 2, 3]
    assert cache.get("c", sid, prepare)[1] == 3  # kept
    assert cache.get("a", sid, prepare)[1] == 4  # dropped when the cache filled up
