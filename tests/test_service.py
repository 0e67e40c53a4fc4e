"""The service facade: every use case and every domain error, on the memory store."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from algorithms import create_model
from ranker import errors as E
from ranker.domain import Limits
from ranker.service import RankerService, default_sampler_factory
from ranker.storage import open_store
from tests.util import forge, run_async


class Clock:
    def __init__(self) -> None:
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


class LocalPicker:
    """A tiny random picker, to show that any object with next_pair/observe plugs in."""

    def __init__(self) -> None:
        self.rng = np.random.default_rng(0)
        self.observed: list[tuple[int, int, float]] = []

    def next_pair(
        self, model: Any, voter: Any = None, active: Any = None, exclude: Any = None
    ) -> tuple[int, int]:
        idx = np.arange(model.n_items) if active is None else np.flatnonzero(active)
        a, b = self.rng.choice(idx, size=2, replace=False)
        return int(a), int(b)

    def observe(self, left: int, right: int, outcome: float, voter: Any = None) -> None:
        self.observed.append((left, right, outcome))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(
    params=[
        "memory",
        "sqlite",
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("redis-cluster", marks=pytest.mark.redis),
    ]
)
def svc(clock: Clock, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RankerService]:
    url = {"memory": "memory://", "sqlite": f"sqlite:///{tmp_path}/svc.db"}.get(request.param)
    if url is None:
        fixture = "redis_cluster_url" if request.param == "redis-cluster" else "redis_url"
        url = str(request.getfixturevalue(fixture))
    store = open_store(url)
    # A seeded sampler keeps these tests reproducible (production seeds from the OS).
    yield RankerService(store, b"s" * 32, clock, sampler_factory=default_sampler_factory(seed=0))
    store.close()


def survey(svc: RankerService, n: int = 4, **kw: Any) -> str:
    kw.setdefault("open_now", True)
    return svc.create_survey(
        "org", "Which is better?", ideas=[f"idea {i}" for i in range(n)], **kw
    ).id


def test_organiser_keys_and_ownership(svc: RankerService) -> None:
    org, key = svc.create_organiser("Clinic")
    assert svc.authenticate(key) == org
    assert key not in repr(org) and org.key_hash != key
    for bad in (None, "", "rk_wrong", "x" * 500):
        with pytest.raises(E.Unauthorized):
            svc.authenticate(bad)
    sid = svc.create_survey(org.id, "Q?").id
    other, _ = svc.create_organiser("Other")
    with pytest.raises(E.Forbidden):
        svc.add_idea(sid, "x", organiser=other.id)
    assert svc.add_idea(sid, "x", organiser=org.id).id == 0
    assert [s.id for s in svc.list_surveys(org.id)] == [sid]
    assert svc.list_surveys(other.id) == []


def test_survey_validation_errors(svc: RankerService) -> None:
    with pytest.raises(E.TextEmpty):
        svc.create_survey("o", "   ")
    with pytest.raises(E.TextTooLong):
        svc.create_survey("o", "x" * 301)
    with pytest.raises(E.InvalidInput, match="unknown model"):
        svc.create_survey("o", "Q", model="nope")
    with pytest.raises(E.InvalidInput, match="origin"):
        svc.create_survey("o", "Q", embed_origins=["javascript:alert(1)"])
    with pytest.raises(E.InvalidInput):
        svc.create_survey("o", "Q", limits=Limits(ballot_ttl_s=0))
    with pytest.raises(E.SurveyNotFound):
        svc.get_survey("missing")
    sid = survey(svc)
    with pytest.raises(E.InvalidInput, match="unknown survey setting"):
        svc.update_survey(sid, colour="red")
    s = svc.update_survey(sid, question="New?", groups=["patient", "clinician"])
    assert (s.question, s.groups) == ("New?", ["patient", "clinician"])


def test_vote_cycle_counts_and_receipts(svc: RankerService) -> None:
    sid = survey(svc)
    v = svc.issue_voter(sid)
    b = svc.next_ballot(sid, v.token)
    assert b.left != b.right and 0 < b.probability <= 1
    r = svc.answer(sid, v.token, b.token, "left", response_ms=900)
    assert (r.choice, r.left, r.right) == ("left", b.left, b.right)
    assert svc.answer(sid, v.token, b.token, "left") == r  # idempotent retry
    with pytest.raises(E.BallotUsed):
        svc.answer(sid, v.token, b.token, "right")
    res = {i.idea: i for i in svc.results(sid).ideas}
    assert res[b.left].wins == 1 and res[b.right].losses == 1
    assert res[b.left].shown_left == 1 and res[b.right].shown_right == 1
    assert svc.projection(sid).n_votes == 1


def test_ballot_errors(svc: RankerService, clock: Clock) -> None:
    sid = survey(svc)
    v, w = svc.issue_voter(sid), svc.issue_voter(sid)
    b = svc.next_ballot(sid, v.token)
    with pytest.raises(E.WrongVoter):
        svc.answer(sid, w.token, b.token, "left")
    with pytest.raises(E.BadToken):
        svc.answer(sid, v.token, forge(b.token), "left")
    with pytest.raises(E.BadToken):
        svc.answer(sid, b.token, b.token, "left")  # a ballot is not a voter token
    with pytest.raises(E.InvalidInput):
        svc.answer(sid, v.token, b.token, "maybe")
    with pytest.raises(E.InvalidInput):
        svc.answer(sid, v.token, b.token, "left", reason="same")
    with pytest.raises(E.InvalidInput):
        svc.answer(sid, v.token, b.token, "left", response_ms=-1)
    other = survey(svc)
    with pytest.raises(E.BadToken):
        svc.answer(other, v.token, b.token, "left")  # voter token of another survey
    ov = svc.issue_voter(other)
    with pytest.raises(E.BallotNotFound):
        svc.answer(other, ov.token, b.token, "left")
    with pytest.raises(E.SurveyNotFound):
        svc.answer("nope", v.token, b.token, "left")
    with pytest.raises(E.SurveyNotFound):
        svc.next_ballot("nope", v.token)
    clock.t += 3601
    with pytest.raises(E.BallotExpired):
        svc.answer(sid, v.token, b.token, "left")
    assert svc.projection(sid).n_votes == 0


def test_closed_survey_and_too_few_ideas(svc: RankerService) -> None:
    sid = survey(svc, open_now=False)
    v = svc.issue_voter(sid)
    with pytest.raises(E.SurveyClosed):
        svc.next_ballot(sid, v.token)
    svc.open_survey(sid)
    b = svc.next_ballot(sid, v.token)
    svc.close_survey(sid)
    with pytest.raises(E.SurveyClosed):
        svc.answer(sid, v.token, b.token, "left")
    one = survey(svc, n=1)
    with pytest.raises(E.NoPairAvailable):
        svc.next_ballot(one, svc.issue_voter(one).token)


def test_skip_with_reason_is_logged_not_scored(svc: RankerService) -> None:
    sid = survey(svc)
    v = svc.issue_voter(sid)
    b = svc.next_ballot(sid, v.token)
    r = svc.answer(sid, v.token, b.token, "skip", reason="same")
    assert (r.choice, r.reason) == ("skip", "same")
    with pytest.raises(E.BallotUsed):
        svc.answer(sid, v.token, b.token, "skip", reason="other")
    proj = svc.projection(sid)
    assert (proj.n_votes, proj.n_skips, proj.model.n_votes) == (0, 1, 0)
    rows = list(svc.export_rows(sid, "skips"))
    assert rows[0]["reason"] == "same" and rows[0]["valid"] is True


def test_rate_limit_per_voter_per_minute(svc: RankerService, clock: Clock) -> None:
    sid = survey(svc, n=6, limits=Limits(answers_per_minute=2))
    v = svc.issue_voter(sid)
    clock.t = 60 * 1000.0
    for _ in range(2):
        svc.answer(sid, v.token, svc.next_ballot(sid, v.token).token, "tie")
    b = svc.next_ballot(sid, v.token)
    with pytest.raises(E.RateLimited) as err:
        svc.answer(sid, v.token, b.token, "tie")
    assert err.value.detail["retry_after"] == pytest.approx(60.0)
    clock.t += 60
    svc.answer(sid, v.token, b.token, "tie")
    assert svc.projection(sid).n_votes == 3


def test_no_pair_repeats_while_fresh_pairs_remain(svc: RankerService) -> None:
    sid = survey(svc, n=5, limits=Limits(answers_per_minute=0))
    v = svc.issue_voter(sid)
    seen = set()
    for _ in range(10):
        b = svc.next_ballot(sid, v.token)
        seen.add(frozenset((b.left, b.right)))
        svc.answer(sid, v.token, b.token, "left")
    assert len(seen) == 10  # all 5*4/2 pairs, none twice
    svc.next_ballot(sid, v.token)  # used up: repeats are allowed again


def test_undo_recomputes_as_if_never_cast(svc: RankerService, clock: Clock) -> None:
    sid = survey(svc)
    v = svc.issue_voter(sid)
    with pytest.raises(E.NothingToUndo):
        svc.undo_last(sid, v.token)
    first = svc.answer(sid, v.token, svc.next_ballot(sid, v.token).token, "left")
    before = svc.projection(sid).model.scores().copy()
    second = svc.answer(sid, v.token, svc.next_ballot(sid, v.token).token, "right")
    assert svc.undo_last(sid, v.token) == second.seq
    proj = svc.projection(sid)
    assert proj.n_votes == 1
    np.testing.assert_allclose(proj.model.scores(), before, atol=1e-6)
    clock.t += 121
    with pytest.raises(E.UndoExpired):
        svc.undo_last(sid, v.token)
    assert [r["valid"] for r in svc.export_rows(sid, "votes")] == [True, False]
    assert first.seq < second.seq


def test_void_voter_removes_their_votes_and_refuses_more(svc: RankerService) -> None:
    sid = survey(svc, limits=Limits(answers_per_minute=0))
    v, w = svc.issue_voter(sid), svc.issue_voter(sid)
    for _ in range(3):
        svc.answer(sid, v.token, svc.next_ballot(sid, v.token).token, "left")
    svc.answer(sid, w.token, svc.next_ballot(sid, w.token).token, "right")
    pending = svc.next_ballot(sid, v.token)
    assert svc.void_voter(sid, v.id, reason="bot") == 3
    proj = svc.projection(sid)
    assert (proj.n_votes, proj.model.n_votes) == (1, 1)
    with pytest.raises(E.VoterVoided):
        svc.answer(sid, v.token, pending.token, "left")
    with pytest.raises(E.VoterVoided):
        svc.next_ballot(sid, v.token)
    with pytest.raises(E.InvalidInput):
        svc.void_voter(sid, "nobody")


def test_participant_ideas_moderation_and_quota(svc: RankerService) -> None:
    sid = survey(svc, n=2, limits=Limits(ideas_per_voter=1))
    v = svc.issue_voter(sid)
    idea = svc.submit_idea(sid, v.token, "  Evening clinics  ")
    assert (idea.id, idea.text, idea.status, idea.voter) == (2, "Evening clinics", "pending", v.id)
    with pytest.raises(E.LimitReached):
        svc.submit_idea(sid, v.token, "another")
    for _ in range(5):  # pending ideas are never shown
        b = svc.next_ballot(sid, v.token)
        assert {b.left, b.right} == {0, 1}
    assert svc.moderate_idea(sid, 2, approve=True).status == "active"
    assert svc.retire_idea(sid, 0).status == "retired"
    b = svc.next_ballot(sid, v.token)
    assert {b.left, b.right} == {1, 2}
    with pytest.raises(E.TextTooLong):
        svc.submit_idea(sid, svc.issue_voter(sid).token, "x" * 281)
    svc.update_survey(sid, allow_ideas=False)
    with pytest.raises(E.IdeasNotAllowed):
        svc.submit_idea(sid, svc.issue_voter(sid).token, "no")
    with pytest.raises(E.IdeaNotFound):
        svc.edit_idea(sid, 99, "x")
    assert svc.edit_idea(sid, 1, "renamed").text == "renamed"
    assert [i.id for i in svc.list_ideas(sid, "active")] == [1, 2]


def test_comments_flags_and_exports(svc: RankerService) -> None:
    sid = survey(svc)
    v = svc.issue_voter(sid)
    c = svc.add_comment(sid, 1, "good one", voter_token=v.token)
    assert (c.id, c.idea, c.voter) == (0, 1, v.id)
    svc.add_comment(sid, 2, "noted", organiser="org")
    with pytest.raises(E.IdeaNotFound):
        svc.add_comment(sid, 7, "x", voter_token=v.token)
    with pytest.raises(E.TextEmpty):
        svc.add_comment(sid, 1, " ", voter_token=v.token)
    f = svc.flag_idea(sid, 3, v.token, "rude")
    assert (f.idea, f.voter) == (3, v.id)
    assert [x.text for x in svc.list_comments(sid, 1)] == ["good one"]
    assert len(list(svc.export_rows(sid, "comments"))) == 2
    assert len(list(svc.export_rows(sid, "flags"))) == 1
    assert [r["text"] for r in svc.export_rows(sid, "ideas")][:2] == ["idea 0", "idea 1"]
    kinds = [type(e).__name__ for _, e in svc.export_events(sid)]
    assert kinds[0] == "SurveyCreated" and kinds[-1] == "IdeaFlagged"
    with pytest.raises(E.InvalidInput):
        list(svc.export_rows(sid, "secrets"))


def test_results_groups_my_results_and_votes_needed(svc: RankerService) -> None:
    sid = survey(svc, n=4, groups=["a", "b"], limits=Limits(answers_per_minute=0))
    with pytest.raises(E.InvalidInput):
        svc.issue_voter(sid, group="c")
    va, vb = svc.issue_voter(sid, "a"), svc.issue_voter(sid, "b")
    for _ in range(40):  # group a prefers low ids, group b high ids
        for v, low in ((va, True), (vb, False)):
            b = svc.next_ballot(sid, v.token)
            svc.answer(sid, v.token, b.token, "left" if (b.left < b.right) == low else "right")
    a = svc.results(sid, group="a")
    b = svc.results(sid, group="b")
    assert a.ideas[0].idea == 0 and b.ideas[0].idea == 3
    assert (a.n_votes, a.n_voters, svc.results(sid).n_votes) == (40, 1, 80)
    mine = svc.my_results(sid, va.token)
    assert mine.voter == va.id and mine.ideas[0].idea == 0 and mine.n_votes == 40
    top = a.ideas[0]
    assert top.rank == 1 and top.rank_lo <= 1 <= top.rank_hi and top.tier == 1
    assert 0.5 < top.p_beats_random < 1 and top.low < top.score < top.high
    est = svc.votes_needed(sid, k=1)
    assert est.k == 1 and (est.settled or est.votes_needed is None or est.votes_needed > 0)
    with pytest.raises(E.InvalidInput):
        svc.votes_needed(sid, k=0)
    with pytest.raises(E.InvalidInput):
        svc.results(sid, level=2.0)


def test_votes_needed_shrinks_with_evidence(svc: RankerService) -> None:
    sid = survey(svc, n=3, model="bt-online", limits=Limits(answers_per_minute=0))
    v = svc.issue_voter(sid)
    for _ in range(3):
        svc.answer(sid, v.token, svc.next_ballot(sid, v.token).token, "tie")
    assert svc.votes_needed(sid, k=1).settled is False
    for i in range(300):
        v = svc.issue_voter(sid) if i % 3 == 0 else v
        b = svc.next_ballot(sid, v.token)
        svc.answer(sid, v.token, b.token, "left" if b.left < b.right else "right")
    assert svc.votes_needed(sid, k=1).settled is True


def test_two_services_on_one_store_see_each_others_writes(svc: RankerService) -> None:
    other = RankerService(svc.store, b"s" * 32, svc.clock)
    sid = survey(svc)
    v = other.issue_voter(sid)
    b = other.next_ballot(sid, v.token)
    other.answer(sid, v.token, b.token, "left")
    svc.add_idea(sid, "late idea")
    assert svc.projection(sid).n_votes == 1
    assert other.get_idea(sid, 4).text == "late idea"
    assert svc.answer(sid, v.token, b.token, "left").seq == other.projection(sid).seq - 1


def test_snapshot_and_rebuild_equal_live(svc: RankerService) -> None:
    sid = survey(svc, n=6, limits=Limits(answers_per_minute=0))
    for i in range(30):
        v = svc.issue_voter(sid)
        svc.answer(
            sid, v.token, svc.next_ballot(sid, v.token).token, ["left", "right", "tie"][i % 3]
        )
    svc.undo_last(sid, v.token)
    seq = svc.snapshot(sid)
    fresh = RankerService(svc.store, b"s" * 32, svc.clock)  # starts from the snapshot
    live = svc.projection(sid)
    restored = fresh.projection(sid)
    rebuilt = svc.rebuild(sid)
    assert restored.seq == seq == live.seq
    assert restored.digest() == live.digest() == rebuilt.digest()
    np.testing.assert_allclose(restored.model.scores(), live.model.scores(), atol=1e-6)
    np.testing.assert_allclose(rebuilt.model.scores(), live.model.scores(), atol=1e-6)


def test_pluggable_sampler_object(clock: Clock) -> None:
    picker = LocalPicker()
    svc = RankerService(
        open_store("memory://"), b"s" * 32, clock, sampler_factory=lambda name: picker
    )
    sid = survey(svc)
    v = svc.issue_voter(sid)
    b = svc.next_ballot(sid, v.token)
    assert b.probability is None  # the picker does not say: recorded as unknown, not guessed
    svc.answer(sid, v.token, b.token, "right")
    assert picker.observed == [(b.left, b.right, 0.0)]
    m = create_model("bt")
    assert m.n_items == 0


def test_rate_limit_primitive(svc: RankerService) -> None:
    assert svc.rate_limit("ip:1", 2) == 1
    svc.rate_limit("ip:1", 2)
    with pytest.raises(E.RateLimited):
        svc.rate_limit("ip:1", 2)
    with pytest.raises(E.InvalidInput):
        svc.rate_limit("ip:1", 0)


def test_every_error_has_a_distinct_stable_code() -> None:
    codes = [cls.code for cls in E.ERRORS.values()]
    assert len(codes) == len(set(codes))
    assert {
        "ballot_used",
        "ballot_expired",
        "wrong_voter",
        "bad_token",
        "rate_limited",
        "survey_closed",
        "text_too_long",
        "text_empty",
        "survey_not_found",
        "idea_not_found",
        "ballot_not_found",
    } <= set(codes)


def test_answer_racing_a_close_elsewhere_is_logged_but_never_counted(svc: RankerService) -> None:
    other = RankerService(svc.store, b"s" * 32, svc.clock)
    sid = survey(svc)
    v = svc.issue_voter(sid)
    b = svc.next_ballot(sid, v.token)  # svc's projection now says "open"
    other.close_survey(sid)
    with pytest.raises(E.SurveyClosed):
        svc.answer(sid, v.token, b.token, "left")
    assert svc.projection(sid).n_votes == 0
    assert svc.rebuild(sid).digest() == svc.projection(sid).digest()


def test_ballot_names_the_idea_texts(svc: RankerService) -> None:
    sid = survey(svc)
    b = svc.next_ballot(sid, svc.issue_voter(sid).token)
    assert (b.left_text, b.right_text) == (f"idea {b.left}", f"idea {b.right}")


def test_results_are_cached_per_log_position(svc: RankerService) -> None:
    sid = survey(svc)
    first = svc.results(sid)
    assert svc.results(sid) is first
    v = svc.issue_voter(sid)
    svc.answer(sid, v.token, svc.next_ballot(sid, v.token).token, "left")
    again = svc.results(sid)
    assert again is not first and again.n_votes == 1 and again.seq == first.seq + 1


def test_staleness_knob_only_relaxes_picks(svc: RankerService) -> None:
    # no follower: on Redis it would deliver the retirement below at any moment (a race)
    lazy = RankerService(svc.store, b"s" * 32, svc.clock, max_staleness_s=3600, follow=False)
    sid = survey(svc, n=2)
    v = lazy.issue_voter(sid)
    lazy.next_ballot(sid, v.token)  # caught up now
    svc.retire_idea(sid, 0)
    b = lazy.next_ballot(sid, v.token)  # stale pick: still offers the retired idea
    assert {b.left, b.right} == {0, 1}
    assert lazy.get_idea(sid, 0).status == "retired"  # reads always catch up
    strict = RankerService(svc.store, b"s" * 32, svc.clock)
    with pytest.raises(E.NoPairAvailable):
        strict.next_ballot(sid, v.token)


def test_unreadable_snapshot_falls_back_to_the_log(svc: RankerService) -> None:
    sid = survey(svc)
    v = svc.issue_voter(sid)
    svc.answer(sid, v.token, svc.next_ballot(sid, v.token).token, "left")
    svc.store.save_snapshot(sid, 10**6, b"\xc1 not msgpack")
    fresh = RankerService(svc.store, b"s" * 32, svc.clock)
    assert fresh.projection(sid).digest() == svc.projection(sid).digest()


@pytest.mark.parametrize(
    "module",
    ["errors", "domain", "events", "tokens", "storage", "projection", "service"],
)
def test_docstring_examples_run(module: str) -> None:
    import doctest
    import importlib

    mod = importlib.import_module(f"ranker.{module}")
    result = doctest.testmod(mod)
    assert result.attempted > 0 and result.failed == 0


def test_results_max_age_reuses_a_recent_ranking(svc: RankerService) -> None:
    relaxed = RankerService(svc.store, b"s" * 32, svc.clock, results_max_age_s=3600)
    sid = survey(svc)
    first = relaxed.results(sid)
    v = svc.issue_voter(sid)
    svc.answer(sid, v.token, svc.next_ballot(sid, v.token).token, "left")
    assert relaxed.results(sid) is first  # within the age limit: not recomputed
    assert svc.results(sid).n_votes == 1  # the default recomputes when the log moved


def test_concurrent_async_answers_keep_the_projection_equal_to_the_log(
    svc: RankerService,
) -> None:
    """The API awaits ``answer_async``: many answers in flight on one event loop finish in
    any order, and the projection must end as the log says (nothing lost, nothing twice)."""
    sid = survey(svc, n=6)
    other = RankerService(svc.store, b"s" * 32, svc.clock, follow=False)  # a second worker
    voters = [svc.issue_voter(sid) for _ in range(8)]
    ballots = [(v, svc.next_ballot(sid, v.token)) for v in voters for _ in range(3)]
    theirs = other.issue_voter(sid)

    async def main() -> list[Any]:
        try:
            first = svc.answer_async(sid, voters[0].token, ballots[0][1].token, "left")
            rest = [
                svc.answer_async(sid, v.token, b.token, "tie" if i % 2 else "right")
                for i, (v, b) in enumerate(ballots[1:])
            ]
            # the other worker writes while ours are in flight
            other.answer(sid, theirs.token, other.next_ballot(sid, theirs.token).token, "left")
            out = await asyncio.gather(first, *rest)
            again = await svc.answer_async(sid, voters[0].token, ballots[0][1].token, "left")
            assert again == out[0]  # an identical retry: the original receipt
            with pytest.raises(E.BallotUsed):
                await svc.answer_async(sid, voters[0].token, ballots[0][1].token, "right")
            return out
        finally:
            await svc.store.aclose()

    receipts = run_async(main)
    head = svc.store.head(sid)
    assert len({r.seq for r in receipts}) == len(ballots)
    assert svc.projection(sid).seq == head
    assert svc.projection(sid).digest() == svc.rebuild(sid).digest()
    assert svc.results(sid).n_votes == len(ballots) + 1


def test_ideas_per_voter_holds_across_workers(svc: RankerService) -> None:
    """Two workers on one store: worker A checks the quota on its projection, worker B
    takes the voter's last idea before A appends. The store's counter refuses A's idea."""
    sid = survey(svc, n=2, limits=Limits(ideas_per_voter=2))
    worker_b = RankerService(svc.store, b"s" * 32, svc.clock, follow=False)
    v = svc.issue_voter(sid)
    svc.submit_idea(sid, v.token, "first idea")
    real_claims = svc._voter_claims

    def claims_while_b_submits(survey_id: str, token: str) -> Any:
        worker_b.submit_idea(sid, v.token, "second idea, through worker B")
        return real_claims(survey_id, token)

    svc._voter_claims = claims_while_b_submits  # type: ignore[method-assign]
    with pytest.raises(E.LimitReached) as err:
        svc.submit_idea(sid, v.token, "third idea: one too many")
    svc._voter_claims = real_claims  # type: ignore[method-assign]
    assert err.value.detail["limit"] == 2
    texts = [i.text for i in svc.list_ideas(sid) if i.id >= 2]
    assert texts == ["first idea", "second idea, through worker B"]
    assert svc.projection(sid).digest() == svc.rebuild(sid).digest()
    # another voter has a quota of their own
    w = worker_b.issue_voter(sid)
    assert svc.submit_idea(sid, w.token, "their idea").text == "their idea"


def test_snapshot_schedule_thins_out_as_the_log_grows() -> None:
    from ranker.service import snapshot_due

    due = [s for s in range(1, 100_001) if snapshot_due(s, 1000)]
    assert due[:3] == [1000, 2000, 3000] and 8000 in due and 9000 not in due
    assert all(b - a <= a / 4 for a, b in itertools.pairwise(due) if a >= 8000)
    assert len(due) < 40  # a fixed step would save 100 times
    assert not any(snapshot_due(s, 0) for s in range(1, 100))


def test_automatic_snapshots_are_written_in_the_background_and_never_fail_an_answer(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    from ranker.service import snapshot_due

    store = open_store("memory://")
    svc = RankerService(store, b"s" * 32, clock, snapshot_every=4)
    sid = survey(svc, n=3)
    v = svc.issue_voter(sid)
    for _ in range(5):
        svc.answer(sid, v.token, svc.next_ballot(sid, v.token).token, "left")
    svc.close()  # waits for the writer
    head = store.head(sid)
    snap = store.load_snapshot(sid)
    assert snap is not None and snap.seq == max(s for s in range(head + 1) if snapshot_due(s, 4))
    restored = RankerService(store, b"s" * 32, clock).projection(sid)  # snapshot + tail
    assert restored.digest() == svc.rebuild(sid).digest()

    def broken(*args: Any) -> None:
        raise E.StoreError("disk full")

    store.save_snapshot = broken  # type: ignore[method-assign]
    svc = RankerService(store, b"s" * 32, clock, snapshot_every=4)
    for _ in range(5):  # crosses a due seq: the failed write must not reach the voter
        svc.answer(sid, v.token, svc.next_ballot(sid, v.token).token, "right")
    assert any(snapshot_due(s, 4) for s in range(head + 1, store.head(sid) + 1))
    svc.close()
    assert "not saved" in caplog.text
    assert store.load_snapshot(sid) == snap


def test_rankings_are_computed_outside_the_service_lock(
    svc: RankerService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dashboard's ranking (refit + summaries, ~0.1 s at 1,000 ideas) must not hold up
    votes: while one is being computed, a pick and an answer go through."""
    import threading

    import ranker.service as service_module

    sid = survey(svc, n=4)
    v = svc.issue_voter(sid)
    started, release = threading.Event(), threading.Event()
    real = service_module.rank_view

    def slow_rank_view(*args: Any) -> Any:
        started.set()
        assert release.wait(10)
        return real(*args)

    monkeypatch.setattr(service_module, "rank_view", slow_rank_view)
    out: list[Any] = []
    ranking = threading.Thread(target=lambda: out.append(svc.results(sid)))
    ranking.start()
    assert started.wait(10)
    voted = threading.Event()

    def vote() -> None:
        svc.answer(sid, v.token, svc.next_ballot(sid, v.token).token, "left")
        voted.set()

    threading.Thread(target=vote, daemon=True).start()
    try:
        assert voted.wait(5), "the vote waited for the ranking"
    finally:
        release.set()
        ranking.join(10)
    assert out[0].n_votes == 0  # computed at the log position it started from
    monkeypatch.setattr(service_module, "rank_view", real)
    assert svc.results(sid).n_votes == 1  # the log moved: not served from the cache


def test_a_voters_rows_match_a_scan_of_the_whole_log(svc: RankerService, clock: Clock) -> None:
    """``Projection.rows(voter=...)`` reads the voter's own answer list; it must select
    exactly what a scan of every answer would (undone, voided and skipped ones left out)."""
    import numpy as np

    sid = survey(svc, n=5, groups=["g1", "g2"])
    vs = [svc.issue_voter(sid, group) for group in ("g1", "g2", "g1")]
    for i in range(12):
        v = vs[i % 3]
        choice = ("left", "right", "tie", "skip")[i % 4]
        kw = {"reason": "same"} if choice == "skip" else {}
        svc.answer(sid, v.token, svc.next_ballot(sid, v.token).token, choice, **kw)
    svc.undo_last(sid, vs[0].token)
    svc.void_voter(sid, svc.voter(sid, vs[1].token).id)
    proj = svc.projection(sid)
    for v in vs:
        info = proj.voters[v.id]
        scan = [r for r in proj.votes if r.active and r.y is not None and r.voter == info.index]
        left, right, y, voter = proj.rows(voter=v.id)
        assert left.tolist() == [r.left for r in scan] and y.tolist() == [r.y for r in scan]
        assert right.tolist() == [r.right for r in scan]
        assert set(np.unique(voter).tolist()) <= {info.index}
    assert proj.rows(voter="nobody")[0].size == 0
    for group in (None, "g1", "g2"):  # a group's rows: its voters' answers in log order
        keep = {i.index for i in proj.voters.values() if group is None or i.group == group}
        scan = [r for r in proj.votes if r.active and r.y is not None and r.voter in keep]
        assert [a.tolist() for a in proj.rows(group=group)[:3]] == [
            [r.left for r in scan],
            [r.right for r in scan],
            [r.y for r in scan],
        ]
    assert svc.my_results(sid, vs[1].token).n_votes == 0  # voided
    assert svc.my_results(sid, vs[2].token).n_votes == 3  # 4 answers, one a skip


def test_concurrent_requests_for_one_ranking_share_its_computation(
    svc: RankerService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dashboards polling an unchanged survey at once: one computation, not one each."""
    import threading

    import ranker.service as service_module

    sid = survey(svc, n=4)
    v = svc.issue_voter(sid)
    svc.answer(sid, v.token, svc.next_ballot(sid, v.token).token, "left")
    calls: list[int] = []
    started, release = threading.Event(), threading.Event()
    real = service_module.rank_view

    def slow_rank_view(*args: Any) -> Any:
        calls.append(1)
        started.set()
        assert release.wait(10)
        return real(*args)

    monkeypatch.setattr(service_module, "rank_view", slow_rank_view)
    out: list[Any] = []
    threads = [threading.Thread(target=lambda: out.append(svc.results(sid))) for _ in range(4)]
    threads[0].start()
    assert started.wait(10)
    for t in threads[1:]:
        t.start()
    time.sleep(0.2)  # the others are waiting for the first computation
    release.set()
    for t in threads:
        t.join(10)
    assert len(calls) == 1 and len(out) == 4
    assert all(r is out[0] for r in out) and out[0].n_votes == 1
