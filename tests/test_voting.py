"""Voting: voters, ballots, answers, undo and void (the refusals are in test_refusals)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from ranker import errors as E
from ranker import events as ev
from ranker.domain import Answer, AnswerReceipt, Ballot, Limits, SurveyPatch, Voter
from ranker.rules import parse
from ranker.sampling import default_sampler_factory
from ranker.service import RankerService
from ranker.snapshots import digest
from tests.core_fixtures import Clock, Interleaved, Workers, answer_by, memory_only, survey, vote
from tests.util import forge, run_async

LEFT = Answer(choice="left")


class LocalPicker:
    """A tiny random picker, to show that any object with next_pair/observe plugs in."""

    def __init__(self) -> None:
        self.rng = np.random.default_rng(0)
        self.observed: list[tuple[int, int, float | None]] = []

    def next_pair(
        self, model: Any, voter: Any = None, active: Any = None, exclude: Any = None
    ) -> tuple[int, int]:
        idx = np.arange(model.n_items) if active is None else np.flatnonzero(active)
        a, b = self.rng.choice(idx, size=2, replace=False)
        return int(a), int(b)

    def observe(self, left: int, right: int, outcome: float | None, voter: Any = None) -> None:
        self.observed.append((left, right, outcome))


# -- voters --------------------------------------------------------------------------------
def test_a_voter_token_names_its_voter_in_its_survey_only(svc: RankerService) -> None:
    sid, other = survey(svc), survey(svc)
    v = svc.voting.issue_voter(sid)
    assert svc.voting.voter(sid, v.token) == v
    b = svc.voting.next_ballot(sid, v)
    # a forgery of a token verified before, a ballot token, junk
    for token in (forge(v.token), b.token, "", "x" * 5000):
        with pytest.raises(E.BadToken):
            svc.voting.voter(sid, token)
    with pytest.raises(E.BadToken):
        svc.voting.voter(other, v.token)  # a voter of another survey


def test_voters_may_join_a_group_the_survey_defines(svc: RankerService) -> None:
    sid = survey(svc, groups=["patient", "clinician"])
    v = svc.voting.issue_voter(sid, "patient")
    assert (v.group, svc.voting.voter(sid, v.token).group) == ("patient", "patient")
    with pytest.raises(E.InvalidInput, match="unknown group"):
        svc.voting.issue_voter(sid, "visitor")
    with pytest.raises(E.SurveyNotFound):
        svc.voting.issue_voter("nope")


# -- answers -------------------------------------------------------------------------------
def test_vote_cycle_counts_and_receipts(svc: RankerService) -> None:
    sid = survey(svc)
    v = svc.voting.issue_voter(sid)
    b = svc.voting.next_ballot(sid, v)
    assert b.left != b.right and b.probability is not None and 0 < b.probability <= 1
    assert b.voter == v.id and b.expires == b.issued + 3600
    r = svc.voting.answer(sid, v, b.token, Answer(choice="left", response_ms=900))
    assert (r.choice, r.left, r.right, r.seq) == ("left", b.left, b.right, svc.store.head(sid))
    assert svc.voting.answer(sid, v, b.token, LEFT) == r  # an identical retry: the receipt
    res = {i.idea: i for i in svc.rankings.results(sid).ideas}
    assert res[b.left].wins == 1 and res[b.right].losses == 1
    assert res[b.left].shown_left == 1 and res[b.right].shown_right == 1
    assert svc.repo.get(sid).n_votes == 1


def test_an_answer_is_checked_on_construction_and_when_parsed() -> None:
    with pytest.raises(ValueError, match="only for choice 'skip'"):
        Answer(choice="left", reason="same")
    assert parse(Answer, {"choice": "skip", "reason": "same"}, "answer") == Answer(
        choice="skip", reason="same"
    )
    for bad in (
        {"choice": "maybe"},
        {"choice": "left", "reason": "same"},
        {"choice": "left", "response_ms": -1},
        {"choice": "skip", "reason": "bored"},
        {},
    ):
        with pytest.raises(E.InvalidInput) as err:
            parse(Answer, bad, "answer")
        assert err.value.detail["field"] == "answer"


def test_ballot_errors(svc: RankerService, clock: Clock) -> None:
    sid = survey(svc)
    v, w = svc.voting.issue_voter(sid), svc.voting.issue_voter(sid)
    b = svc.voting.next_ballot(sid, v)
    with pytest.raises(E.WrongVoter):
        svc.voting.answer(sid, w, b.token, LEFT)
    with pytest.raises(E.BadToken):
        svc.voting.answer(sid, v, forge(b.token), LEFT)
    with pytest.raises(E.BadToken):
        svc.voting.answer(sid, v, v.token, LEFT)  # a voter token is not a ballot
    other = survey(svc)
    with pytest.raises(E.BallotNotFound):  # a ballot of another survey
        svc.voting.answer(other, svc.voting.issue_voter(other), b.token, LEFT)
    with pytest.raises(E.SurveyNotFound):
        svc.voting.answer("nope", v, b.token, LEFT)
    with pytest.raises(E.SurveyNotFound):
        svc.voting.next_ballot("nope", v)
    clock.t += 3601
    with pytest.raises(E.BallotExpired):
        svc.voting.answer(sid, v, b.token, LEFT)
    assert svc.repo.get(sid).n_votes == 0


def test_closed_survey_and_too_few_ideas(svc: RankerService) -> None:
    sid = survey(svc, open=False)
    v = svc.voting.issue_voter(sid)
    with pytest.raises(E.SurveyClosed):
        svc.voting.next_ballot(sid, v)
    svc.surveys.open(sid)
    b = svc.voting.next_ballot(sid, v)
    svc.surveys.close(sid)
    with pytest.raises(E.SurveyClosed):
        svc.voting.next_ballot(sid, v)
    svc.surveys.open(sid)  # reopened: the pending ballot counts again
    assert svc.voting.answer(sid, v, b.token, LEFT).choice == "left"
    one = survey(svc, n=1)
    with pytest.raises(E.NoPairAvailable):
        svc.voting.next_ballot(one, svc.voting.issue_voter(one))


# Changes made after worker A handed out a ballot that leave it answerable: a change A makes
# itself (its own view refuses the ballot), then one another worker B makes (A's view is behind).
def another_idea_retired(a: RankerService, b: RankerService, sid: str, ballot: Ballot) -> None:
    other = next(i for i in range(4) if i not in (ballot.left, ballot.right))
    b.ideas.set_status(sid, other, "retired")


def survey_reopened(a: RankerService, b: RankerService, sid: str, ballot: Ballot) -> None:
    a.surveys.close(sid)
    b.surveys.open(sid)


def idea_reinstated(a: RankerService, b: RankerService, sid: str, ballot: Ballot) -> None:
    a.ideas.set_status(sid, ballot.left, "retired")
    b.ideas.set_status(sid, ballot.left, "active")


STILL_ANSWERABLE: dict[str, Callable[[RankerService, RankerService, str, Ballot], None]] = {
    "B retired another idea": another_idea_retired,
    "A closed, B reopened the survey": survey_reopened,
    "A retired, B reinstated an idea": idea_reinstated,
}


@pytest.mark.parametrize("call", ["answer", "answer_async"])
@pytest.mark.parametrize("change", STILL_ANSWERABLE)
def test_an_answer_another_workers_change_allows_is_accepted(
    workers: Workers, change: str, call: str
) -> None:
    """A's view is behind a change that concerns settings or ideas (a gate): A catches up,
    decides again and accepts the answer it allows."""
    a, b = workers.open(follow=False), workers.open()
    sid = survey(a)
    v = a.voting.issue_voter(sid)
    ballot = a.voting.next_ballot(sid, v)
    STILL_ANSWERABLE[change](a, b, sid, ballot)
    assert a.repo.loaded(sid).seq < a.store.head(sid)  # A has not seen B's change
    receipt = answer_by(call, a, sid, v, ballot.token, LEFT)
    assert receipt.seq == a.store.head(sid) and receipt.choice == "left"
    assert digest(a.repo.get(sid)) == digest(a.repo.rebuild(sid))
    assert a.repo.get(sid).n_votes == 1


@memory_only
@pytest.mark.parametrize("call", ["answer", "answer_async"])
def test_an_answer_gives_up_when_the_settings_keep_changing(workers: Workers, call: str) -> None:
    """Another worker changes a setting before each of A's attempts: A gives up (a
    ``store_error`` the client may retry) rather than loop, and writes nothing."""
    store = Interleaved(workers.store())
    a, b = workers.open(store, follow=False), workers.open()
    sid = survey(a)
    v = a.voting.issue_voter(sid)
    ballot = a.voting.next_ballot(sid, v)

    def storm() -> None:
        b.surveys.update(sid, SurveyPatch(description=f"change {b.store.head(sid)}"))
        store.before_next_write(storm)

    store.before_next_write(storm)
    with pytest.raises(E.StoreError, match="kept changing"):
        answer_by(call, a, sid, v, ballot.token, LEFT)
    assert b.repo.get(sid).n_votes == 0
    assert not any(isinstance(e, ev.VoteCast) for _, e in b.exports.events(sid))


def test_skip_with_reason_is_logged_not_scored(svc: RankerService) -> None:
    sid = survey(svc)
    v = svc.voting.issue_voter(sid)
    b = svc.voting.next_ballot(sid, v)
    r = svc.voting.answer(sid, v, b.token, Answer(choice="skip", reason="same"))
    assert (r.choice, r.reason) == ("skip", "same")
    assert svc.voting.answer(sid, v, b.token, Answer(choice="skip", reason="same")) == r
    proj = svc.repo.get(sid)
    assert (proj.n_votes, proj.n_skips, proj.model.n_votes) == (0, 1, 0)
    plain = vote(svc, sid, v, "skip")
    assert plain.reason == "dont_know"  # a skip without a reason


def test_rate_limit_per_voter_per_minute(svc: RankerService, clock: Clock) -> None:
    sid = survey(svc, n=6, limits=Limits(answers_per_minute=2))
    v, w = svc.voting.issue_voter(sid), svc.voting.issue_voter(sid)
    clock.t = 60 * 1000.0
    for _ in range(2):
        vote(svc, sid, v, "tie")
    b = svc.voting.next_ballot(sid, v)
    with pytest.raises(E.RateLimited) as err:
        svc.voting.answer(sid, v, b.token, Answer(choice="tie"))
    assert err.value.detail["retry_after"] == pytest.approx(60.0)
    vote(svc, sid, w)  # another voter has a limit of their own
    clock.t += 60
    svc.voting.answer(sid, v, b.token, Answer(choice="tie"))  # the same ballot, next minute
    assert svc.repo.get(sid).n_votes == 4


def test_no_pair_repeats_while_fresh_pairs_remain(svc: RankerService) -> None:
    sid = survey(svc, n=5, limits=Limits(answers_per_minute=0))
    v = svc.voting.issue_voter(sid)
    seen = set()
    for _ in range(10):
        b = svc.voting.next_ballot(sid, v)
        seen.add(frozenset((b.left, b.right)))
        svc.voting.answer(sid, v, b.token, LEFT)
    assert len(seen) == 10  # all 5*4/2 pairs, none twice
    svc.voting.next_ballot(sid, v)  # used up: repeats are allowed again


def test_ballot_names_the_idea_texts(svc: RankerService) -> None:
    sid = survey(svc)
    b = svc.voting.next_ballot(sid, svc.voting.issue_voter(sid))
    assert (b.left_text, b.right_text) == (f"idea {b.left}", f"idea {b.right}")


# -- undo and void -------------------------------------------------------------------------
def test_undo_recomputes_as_if_never_cast(svc: RankerService, clock: Clock) -> None:
    sid = survey(svc)
    v = svc.voting.issue_voter(sid)
    with pytest.raises(E.NothingToUndo):
        svc.voting.undo_last(sid, v)
    first = vote(svc, sid, v, "left")
    before = svc.repo.get(sid).model.scores().copy()
    second = vote(svc, sid, v, "right")
    assert svc.voting.undo_last(sid, v) == second.seq
    proj = svc.repo.get(sid)
    assert proj.n_votes == 1
    np.testing.assert_allclose(proj.model.scores(), before, atol=1e-6)
    clock.t += 121
    with pytest.raises(E.UndoExpired):
        svc.voting.undo_last(sid, v)
    assert [r["valid"] for r in svc.exports.rows(sid, "votes")] == [True, False]
    assert first.seq < second.seq


def test_void_voter_removes_their_votes_and_refuses_more(svc: RankerService) -> None:
    sid = survey(svc, limits=Limits(answers_per_minute=0))
    v, w = svc.voting.issue_voter(sid), svc.voting.issue_voter(sid)
    for _ in range(3):
        vote(svc, sid, v)
    vote(svc, sid, w, "right")
    pending = svc.voting.next_ballot(sid, v)
    assert svc.voting.void_voter(sid, v.id, reason="bot") == 3
    proj = svc.repo.get(sid)
    assert (proj.n_votes, proj.model.n_votes) == (1, 1)
    with pytest.raises(E.VoterVoided):
        svc.voting.answer(sid, v, pending.token, LEFT)
    with pytest.raises(E.VoterVoided):
        svc.voting.next_ballot(sid, v)
    with pytest.raises(E.VoterVoided):
        svc.voting.undo_last(sid, v)
    with pytest.raises(E.VoterNotFound) as err:
        svc.voting.void_voter(sid, "nobody")
    assert err.value.code == "voter_not_found"
    with pytest.raises(E.TextTooLong):
        svc.voting.void_voter(sid, w.id, reason="x" * 501)


# -- samplers and picks --------------------------------------------------------------------
@memory_only
def test_pluggable_sampler_object(workers: Workers) -> None:
    picker = LocalPicker()
    svc = workers.open(sampler_factory=lambda name: picker)
    sid = survey(svc)
    v = svc.voting.issue_voter(sid)
    b = svc.voting.next_ballot(sid, v)
    assert b.probability is None  # the picker does not say: recorded as unknown, not guessed
    svc.voting.answer(sid, v, b.token, Answer(choice="right"))
    assert picker.observed == [(b.left, b.right, 0.0)]


@memory_only
def test_a_seeded_sampler_factory_repeats_its_picks(workers: Workers) -> None:
    def picks(seed: int) -> list[tuple[int, int]]:
        svc = workers.open(workers.store(), sampler_factory=default_sampler_factory(seed))
        sid = survey(svc, n=8, sampler="random")
        v = svc.voting.issue_voter(sid)
        return [(b.left, b.right) for b in (svc.voting.next_ballot(sid, v) for _ in range(6))]

    assert picks(7) == picks(7)
    assert picks(7) != picks(8)


def test_staleness_knob_only_relaxes_picks(svc: RankerService, workers: Workers) -> None:
    # no follower: on Redis it would deliver the retirement below at any moment (a race)
    lazy = workers.open(max_staleness_s=3600, follow=False)
    sid = survey(svc, n=2)
    v = lazy.voting.issue_voter(sid)
    lazy.voting.next_ballot(sid, v)  # caught up now
    svc.ideas.set_status(sid, 0, "retired")
    b = lazy.voting.next_ballot(sid, v)  # stale pick: still offers the retired idea
    assert {b.left, b.right} == {0, 1}
    with pytest.raises(E.IdeaInactive):  # answers are always decided by the store
        lazy.voting.answer(sid, v, b.token, LEFT)
    assert lazy.ideas.get(sid, 0).status == "retired"  # reads always catch up
    strict = workers.open()
    with pytest.raises(E.NoPairAvailable):
        strict.voting.next_ballot(sid, v)


def test_rate_limit_primitive(svc: RankerService, clock: Clock) -> None:
    assert svc.voting.rate_limit("ip:1", 2) == 1
    assert svc.voting.rate_limit("ip:1", 2) == 2
    with pytest.raises(E.RateLimited):
        svc.voting.rate_limit("ip:1", 2)
    assert svc.voting.rate_limit("ip:2", 2) == 1  # another key
    clock.t += 60
    assert svc.voting.rate_limit("ip:1", 2) == 1  # the next window
    with pytest.raises(E.InvalidInput):
        svc.voting.rate_limit("ip:1", 0)
    with pytest.raises(E.InvalidInput):
        svc.voting.rate_limit("ip:1", 1, window_s=0)


# -- concurrency ---------------------------------------------------------------------------
def test_concurrent_async_answers_keep_the_projection_equal_to_the_log(
    svc: RankerService, workers: Workers
) -> None:
    """The API awaits ``answer_async``: many answers in flight on one event loop finish in
    any order, and the projection must end as the log says (nothing lost, nothing twice)."""
    sid = survey(svc, n=6)
    other = workers.open(follow=False)  # a second worker
    voters = [svc.voting.issue_voter(sid) for _ in range(8)]
    ballots = [(v, svc.voting.next_ballot(sid, v)) for v in voters for _ in range(3)]
    theirs = other.voting.issue_voter(sid)

    def answer(v: Voter, token: str, choice: str) -> Any:
        return svc.voting.answer_async(sid, v, token, Answer(choice=choice))  # type: ignore[arg-type]

    async def main() -> list[AnswerReceipt]:
        try:
            first = answer(voters[0], ballots[0][1].token, "left")
            rest = [
                answer(v, b.token, "tie" if i % 2 else "right")
                for i, (v, b) in enumerate(ballots[1:])
            ]
            vote(other, sid, theirs)  # the other worker writes while ours are in flight
            out = await asyncio.gather(first, *rest)
            again = await answer(voters[0], ballots[0][1].token, "left")
            assert again == out[0]  # an identical retry: the original receipt
            with pytest.raises(E.BallotUsed):
                await answer(voters[0], ballots[0][1].token, "right")
            return list(out)
        finally:
            await svc.store.aclose()

    receipts = run_async(main)
    assert len({r.seq for r in receipts}) == len(ballots)
    assert svc.repo.get(sid).seq == svc.store.head(sid)
    assert digest(svc.repo.get(sid)) == digest(svc.repo.rebuild(sid))
    assert svc.rankings.results(sid).n_votes == len(ballots) + 1


# -- one voice per voter and pair ------------------------------------------------------
def test_a_later_answer_on_a_pair_supersedes_the_earlier_one(svc: RankerService) -> None:
    sid = survey(svc, n=2)  # one pair only
    v = svc.voting.issue_voter(sid)
    first = vote(svc, sid, v, "left")
    second = vote(svc, sid, v, "right")
    proj = svc.repo.get(sid)
    assert proj.n_votes == 1 and sum(proj.wins) == 1 and sum(proj.shown_left) == 1
    kept = proj.by_seq[second.seq]
    winner = kept.right if second.choice == "right" else kept.left
    assert proj.wins[winner] == 1
    rows = {r["seq"]: r["valid"] for r in svc.exports.rows(sid, "votes")}
    assert rows == {first.seq: False, second.seq: True}  # the log keeps both
    model = svc.rankings.results(sid)
    assert model.n_votes == 1
    assert digest(proj) == digest(svc.repo.rebuild(sid))


def test_votes_of_one_voter_on_other_pairs_all_count(svc: RankerService) -> None:
    sid = survey(svc, n=4)
    v = svc.voting.issue_voter(sid)
    receipts = [vote(svc, sid, v) for _ in range(6)]  # 6 pairs of 4 ideas, all fresh
    assert len({frozenset((r.left, r.right)) for r in receipts}) == 6
    assert svc.repo.get(sid).n_votes == 6


def test_harvested_ballots_cannot_be_answered_in_bulk(svc: RankerService) -> None:
    """One voter asked for 40 ballots without answering and answered them all: each was
    accepted, all on the same pair. Now the voter's open ballots are distinct pairs and at
    most ``open_ballots_per_voter`` (3) of a stack can be answered."""
    sid = survey(svc, n=8, limits=Limits(answers_per_minute=0))
    v = svc.voting.issue_voter(sid)
    stack = [svc.voting.next_ballot(sid, v) for _ in range(40)]
    assert len({frozenset((b.left, b.right)) for b in stack[-3:]}) == 3
    accepted, refused = 0, 0
    for b in stack:
        try:
            svc.voting.answer(sid, v, b.token, Answer(choice="left"))
            accepted += 1
        except E.BallotExpired:
            refused += 1
    assert (accepted, refused) == (3, 37)
    assert svc.repo.get(sid).n_votes == 3


def test_the_open_ballot_bound_holds_across_workers(svc: RankerService, workers: Workers) -> None:
    sid = survey(svc, n=8, limits=Limits(answers_per_minute=0))
    other = workers.open(follow=False)
    v = svc.voting.issue_voter(sid)
    stack = [w.voting.next_ballot(sid, v) for w in (svc, other) for _ in range(3)]
    accepted = 0
    for k, b in enumerate(stack):
        worker = (svc, other)[k % 2]
        try:
            worker.voting.answer(sid, v, b.token, Answer(choice="left"))
            accepted += 1
        except E.BallotExpired:
            pass
    assert accepted == 3  # the store counts the voter's answers for every worker
