"""The projection repository: load, catch up, write conditionally, snapshot; and the
docstring examples of every ``ranker`` module."""

from __future__ import annotations

import doctest
import importlib
import itertools
import pkgutil
from typing import Any

import numpy as np
import pytest

import ranker
from ranker import errors as E
from ranker import events as ev
from ranker.domain import Answer, Limits, SurveyPatch
from ranker.projection import Projection
from ranker.repository import snapshot_due
from ranker.service import RankerService
from ranker.snapshots import digest, encode, restore
from tests.core_fixtures import Interleaved, Workers, memory_only, survey, vote
from tests.util import wait_applied


def test_two_workers_on_one_store_see_each_others_writes(
    svc: RankerService, workers: Workers
) -> None:
    other = workers.open()
    sid = survey(svc)
    v = other.voting.issue_voter(sid)
    b = other.voting.next_ballot(sid, v)
    receipt = other.voting.answer(sid, v, b.token, Answer(choice="left"))
    svc.ideas.add(sid, "late idea")
    assert svc.repo.get(sid).n_votes == 1
    assert other.ideas.get(sid, 4).text == "late idea"
    assert svc.voting.answer(sid, v, b.token, Answer(choice="left")) == receipt  # a retry elsewhere
    assert other.repo.get(sid).seq == receipt.seq + 1


@pytest.mark.parametrize("sid", ["missing", "", "x" * 65, None, 7])
def test_an_unknown_survey_is_not_found(svc: RankerService, sid: Any) -> None:
    with pytest.raises(E.SurveyNotFound):
        svc.repo.get(sid)
    with pytest.raises(E.SurveyNotFound):
        svc.repo.loaded(sid)
    if isinstance(sid, str):
        with pytest.raises(E.SurveyNotFound):
            svc.repo.rebuild(sid)


def test_snapshot_and_rebuild_equal_live(svc: RankerService, workers: Workers) -> None:
    sid = survey(svc, n=6, limits=Limits(answers_per_minute=0))
    for i in range(30):
        v = svc.voting.issue_voter(sid)
        vote(svc, sid, v, ["left", "right", "tie"][i % 3])
    svc.voting.undo_last(sid, v)
    seq = svc.repo.snapshot(sid)
    assert svc.store.load_snapshot(sid) is not None
    restored = workers.open().repo.get(sid)  # starts from the snapshot
    live = svc.repo.get(sid)
    rebuilt = svc.repo.rebuild(sid)
    assert restored.seq == seq == live.seq
    assert digest(restored) == digest(live) == digest(rebuilt)
    np.testing.assert_allclose(restored.model.scores(), live.model.scores(), atol=1e-6)
    np.testing.assert_allclose(rebuilt.model.scores(), live.model.scores(), atol=1e-6)
    again = restore(sid, encode(live), svc.repo.sampler_factory)
    assert digest(again) == digest(live)
    with pytest.raises(E.StoreError):
        encode(Projection(sid, None))  # nothing to save before the survey's first event


def test_unreadable_snapshot_falls_back_to_the_log(svc: RankerService, workers: Workers) -> None:
    sid = survey(svc)
    vote(svc, sid, svc.voting.issue_voter(sid))
    svc.store.save_snapshot(sid, 10**6, b"\xc1 not msgpack")
    assert digest(workers.open().repo.get(sid)) == digest(svc.repo.get(sid))


def test_snapshot_schedule_thins_out_as_the_log_grows() -> None:
    due = [s for s in range(1, 100_001) if snapshot_due(s, 1000)]
    assert due[:3] == [1000, 2000, 3000] and 8000 in due and 9000 not in due
    assert all(b - a <= a / 4 for a, b in itertools.pairwise(due) if a >= 8000)
    assert len(due) < 40  # a fixed step would save 100 times
    assert not any(snapshot_due(s, 0) for s in range(1, 100))


@memory_only
def test_automatic_snapshots_are_written_in_the_background_and_never_fail_an_answer(
    workers: Workers, caplog: pytest.LogCaptureFixture
) -> None:
    store = workers.store()
    svc = workers.open(snapshot_every=4)
    sid = survey(svc, n=3)
    v = svc.voting.issue_voter(sid)
    for _ in range(5):
        vote(svc, sid, v)
    svc.close()  # waits for the writer
    head = store.head(sid)
    snap = store.load_snapshot(sid)
    assert snap is not None and snap.seq == max(s for s in range(head + 1) if snapshot_due(s, 4))
    restored = workers.open().repo.get(sid)  # snapshot + tail
    assert digest(restored) == digest(svc.repo.rebuild(sid))

    def broken(*args: Any) -> None:
        raise E.StoreError("disk full")

    store.save_snapshot = broken  # type: ignore[method-assign]
    svc = workers.open(snapshot_every=4)
    for _ in range(5):  # crosses a due seq: the failed write must not reach the voter
        vote(svc, sid, v, "right")
    assert any(snapshot_due(s, 4) for s in range(head + 1, store.head(sid) + 1))
    svc.close()
    assert "not saved" in caplog.text
    assert store.load_snapshot(sid) == snap


# -- conditional writes --------------------------------------------------------------------
def added(proj: Projection) -> ev.Event:
    return ev.IdeaAdded(ts=0.0, text="added")


def test_a_write_decides_against_the_caught_up_projection(
    svc: RankerService, workers: Workers
) -> None:
    sid = survey(svc)
    other = workers.open()
    other.ideas.add(sid, "theirs")
    seen: list[int] = []

    def decide(proj: Projection) -> ev.Event | None:
        seen.append(len(proj.ideas))
        return None if len(seen) > 1 else added(proj)

    proj, seq = svc.repo.write(sid, decide)
    assert seen == [5] and seq == svc.store.head(sid) and proj.ideas[-1].text == "added"
    head = svc.store.head(sid)
    assert svc.repo.write(sid, decide) == (proj, 0)  # nothing to write
    assert svc.store.head(sid) == head


def test_a_write_is_decided_again_after_another_workers_gate(workers: Workers) -> None:
    store = Interleaved(workers.store())
    a, b = workers.open(store, follow=False), workers.open()
    sid = survey(a)
    statuses: list[str] = []

    def decide(proj: Projection) -> ev.Event:
        assert proj.survey is not None
        statuses.append(proj.survey.status)
        return added(proj)

    store.before_next_write(lambda: b.surveys.close(sid))  # a gate, after A decided
    _, seq = a.repo.write(sid, decide)
    assert statuses == ["open", "closed"]  # decided again on the caught-up projection
    assert seq == a.store.head(sid) and a.repo.get(sid).survey.status == "closed"  # type: ignore[union-attr]


@memory_only
def test_a_write_gives_up_when_the_gate_keeps_moving(workers: Workers) -> None:
    store = Interleaved(workers.store())
    a, b = workers.open(store, follow=False), workers.open()
    sid = survey(a)

    def storm() -> None:  # another worker changes a setting before each of A's writes
        b.surveys.update(sid, SurveyPatch(description=f"change {b.store.head(sid)}"))
        store.before_next_write(storm)

    store.before_next_write(storm)
    with pytest.raises(E.StoreError, match="kept changing"):
        a.repo.write(sid, added)
    assert "added" not in [e.text for _, e in a.exports.events(sid) if isinstance(e, ev.IdeaAdded)]


def test_listeners_see_the_projection_move(svc: RankerService) -> None:
    sid = survey(svc)
    moved: list[str] = []
    svc.repo.listen(moved.append)
    head = svc.store.head(sid)
    assert wait_applied(svc.repo, sid, head, 0)
    assert not wait_applied(svc.repo, sid, head + 1, 0.01)
    vote(svc, sid, svc.voting.issue_voter(sid))
    assert wait_applied(svc.repo, sid, head + 1, 0)
    assert sid in moved


# -- docstring examples --------------------------------------------------------------------
def _modules_with_examples() -> list[str]:
    out = []
    for info in pkgutil.walk_packages(ranker.__path__, "ranker."):
        try:
            tests = doctest.DocTestFinder().find(importlib.import_module(info.name))
        except ValueError:  # an example doctest cannot parse: let its test report it
            out.append(info.name)
            continue
        if any(t.examples for t in tests):
            out.append(info.name)
    return out


MODULES_WITH_EXAMPLES = _modules_with_examples()


def test_the_core_modules_show_examples() -> None:
    assert {
        "ranker.accounts",
        "ranker.errors",
        "ranker.events",
        "ranker.projection",
        "ranker.repository",
        "ranker.rules",
        "ranker.service",
        "ranker.snapshots",
        "ranker.storage",
        "ranker.tokens",
    } <= set(MODULES_WITH_EXAMPLES)


@pytest.mark.parametrize("module", MODULES_WITH_EXAMPLES)
def test_docstring_examples_run(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0
