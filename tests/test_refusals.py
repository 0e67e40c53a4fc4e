"""Every refusal of the voting core, on every backend: the domain error, and nothing written.

A refusal is decided before anything is appended, so the log's length
(``store.head``) is unchanged. The refusals another worker can cause (survey closed, voter
voided, idea retired or rejected, the ideas quota used up) are also raced: worker A has
checked its rules against its own projection, worker B (another :class:`RankerService` over
a store object of its own) makes the change, then A's write reaches the store. The store's
gate (or its quota counter) refuses the stale write; A catches up and raises the refusal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from ranker import errors as E
from ranker.domain import Answer, Ballot, Limits, SurveyPatch, Voter
from ranker.service import RankerService
from ranker.snapshots import digest
from tests.core_fixtures import Clock, Interleaved, Workers, answer_by, survey, vote
from tests.util import forge


@contextmanager
def refused(svc: RankerService, sid: str, code: str) -> Iterator[None]:
    """The block raises the domain error ``code`` and leaves the log as it was."""
    head = svc.store.head(sid)
    with pytest.raises(E.RankerError) as err:
        yield
    assert err.value.code == code
    assert svc.store.head(sid) == head, "a refused write left an event in the log"


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
        "voter_voided",
        "voter_not_found",
        "idea_inactive",
        "limit_reached",
        "text_too_long",
        "text_empty",
        "survey_not_found",
        "idea_not_found",
        "ballot_not_found",
    } <= set(codes)


# -- refusals one worker decides on its own --------------------------------------------------
Attempt = Callable[[], object]


def used_ballot(svc: RankerService, clock: Clock, sid: str) -> Attempt:
    v = svc.voting.issue_voter(sid)
    b = svc.voting.next_ballot(sid, v)
    svc.voting.answer(sid, v, b.token, Answer(choice="left"))
    return lambda: svc.voting.answer(sid, v, b.token, Answer(choice="right"))


def used_ballot_then_skipped(svc: RankerService, clock: Clock, sid: str) -> Attempt:
    v = svc.voting.issue_voter(sid)
    b = svc.voting.next_ballot(sid, v)
    svc.voting.answer(sid, v, b.token, Answer(choice="tie"))
    return lambda: svc.voting.answer(sid, v, b.token, Answer(choice="skip"))


def used_ballot_skipped(svc: RankerService, clock: Clock, sid: str) -> Attempt:
    v = svc.voting.issue_voter(sid)
    b = svc.voting.next_ballot(sid, v)
    svc.voting.answer(sid, v, b.token, Answer(choice="skip", reason="same"))
    return lambda: svc.voting.answer(sid, v, b.token, Answer(choice="skip", reason="other"))


def expired_ballot(svc: RankerService, clock: Clock, sid: str) -> Attempt:
    v = svc.voting.issue_voter(sid)
    b = svc.voting.next_ballot(sid, v)
    clock.t += svc.surveys.get(sid).limits.ballot_ttl_s + 1
    return lambda: svc.voting.answer(sid, v, b.token, Answer(choice="left"))


def wrong_voter(svc: RankerService, clock: Clock, sid: str) -> Attempt:
    v, w = svc.voting.issue_voter(sid), svc.voting.issue_voter(sid)
    b = svc.voting.next_ballot(sid, v)
    return lambda: svc.voting.answer(sid, w, b.token, Answer(choice="left"))


def forged_ballot(svc: RankerService, clock: Clock, sid: str) -> Attempt:
    v = svc.voting.issue_voter(sid)
    b = svc.voting.next_ballot(sid, v)
    return lambda: svc.voting.answer(sid, v, forge(b.token), Answer(choice="left"))


def rate_limited(svc: RankerService, clock: Clock, sid: str) -> Attempt:
    v = svc.voting.issue_voter(sid)  # the survey allows one answer a minute
    vote(svc, sid, v)
    b = svc.voting.next_ballot(sid, v)
    return lambda: svc.voting.answer(sid, v, b.token, Answer(choice="left"))


def ideas_quota(svc: RankerService, clock: Clock, sid: str) -> Attempt:
    v = svc.voting.issue_voter(sid)  # the survey allows one idea per voter
    svc.ideas.submit(sid, v, "my one idea")
    return lambda: svc.ideas.submit(sid, v, "one too many")


def ideas_not_allowed(svc: RankerService, clock: Clock, sid: str) -> Attempt:
    svc.surveys.update(sid, SurveyPatch(allow_ideas=False))
    v = svc.voting.issue_voter(sid)
    return lambda: svc.ideas.submit(sid, v, "an idea")


def nothing_to_undo(svc: RankerService, clock: Clock, sid: str) -> Attempt:
    v = svc.voting.issue_voter(sid)
    return lambda: svc.voting.undo_last(sid, v)


def undo_too_late(svc: RankerService, clock: Clock, sid: str) -> Attempt:
    v = svc.voting.issue_voter(sid)
    vote(svc, sid, v)
    clock.t += svc.surveys.get(sid).limits.undo_window_s + 1
    return lambda: svc.voting.undo_last(sid, v)


def void_unknown_voter(svc: RankerService, clock: Clock, sid: str) -> Attempt:
    return lambda: svc.voting.void_voter(sid, "nobody")


ONE_WORKER: dict[str, tuple[Callable[[RankerService, Clock, str], Attempt], str]] = {
    "ballot used with a different answer": (used_ballot, "ballot_used"),
    "ballot answered, then skipped": (used_ballot_then_skipped, "ballot_used"),
    "ballot skipped with a different reason": (used_ballot_skipped, "ballot_used"),
    "ballot expired": (expired_ballot, "ballot_expired"),
    "ballot of another voter": (wrong_voter, "wrong_voter"),
    "forged ballot": (forged_ballot, "bad_token"),
    "rate limited": (rate_limited, "rate_limited"),
    "ideas-per-voter quota": (ideas_quota, "limit_reached"),
    "ideas not allowed": (ideas_not_allowed, "ideas_not_allowed"),
    "nothing to undo": (nothing_to_undo, "nothing_to_undo"),
    "undo window passed": (undo_too_late, "undo_expired"),
    "void an unknown voter": (void_unknown_voter, "voter_not_found"),
}


@pytest.mark.parametrize("case", ONE_WORKER)
def test_refused_and_not_logged(svc: RankerService, clock: Clock, case: str) -> None:
    setup, code = ONE_WORKER[case]
    sid = survey(svc, limits=Limits(answers_per_minute=1, ideas_per_voter=1))
    attempt = setup(svc, clock, sid)
    with refused(svc, sid, code):
        attempt()


def test_an_identical_retry_of_a_used_ballot_writes_nothing(svc: RankerService) -> None:
    sid = survey(svc)
    v = svc.voting.issue_voter(sid)
    b = svc.voting.next_ballot(sid, v)
    first = svc.voting.answer(sid, v, b.token, Answer(choice="tie"))
    head = svc.store.head(sid)
    assert svc.voting.answer(sid, v, b.token, Answer(choice="tie")) == first
    assert svc.store.head(sid) == head


# -- changes that make a pending answer unacceptable -----------------------------------------
Change = Callable[[RankerService, str, Ballot], object]

ANSWER_CHANGES: dict[str, tuple[Change, str]] = {
    "survey closed": (lambda w, sid, b: w.surveys.close(sid), "survey_closed"),
    "voter voided": (lambda w, sid, b: w.voting.void_voter(sid, b.voter), "voter_voided"),
    "idea retired": (
        lambda w, sid, b: w.ideas.set_status(sid, b.left, "retired"),
        "idea_inactive",
    ),
    "idea rejected": (
        lambda w, sid, b: w.ideas.set_status(sid, b.right, "rejected"),
        "idea_inactive",
    ),
}


def pending_ballot(svc: RankerService) -> tuple[str, Voter, Ballot]:
    """A survey, a voter who has answered once (so they can be voided) and their next ballot."""
    sid = survey(svc)
    v = svc.voting.issue_voter(sid)
    vote(svc, sid, v)
    return sid, v, svc.voting.next_ballot(sid, v)


@pytest.mark.parametrize("change", ANSWER_CHANGES)
def test_an_answer_the_change_forbids_is_refused(svc: RankerService, change: str) -> None:
    make, code = ANSWER_CHANGES[change]
    sid, v, b = pending_ballot(svc)
    make(svc, sid, b)
    with refused(svc, sid, code):
        svc.voting.answer(sid, v, b.token, Answer(choice="left"))


@pytest.mark.parametrize("call", ["answer", "answer_async"])
@pytest.mark.parametrize("change", ANSWER_CHANGES)
def test_an_answer_is_refused_when_another_worker_made_the_change(
    workers: Workers, change: str, call: str
) -> None:
    make, code = ANSWER_CHANGES[change]
    a = workers.open(follow=False)  # its projection moves only when it reads or writes
    b = workers.open()
    sid, v, ballot = pending_ballot(a)  # A has loaded the survey
    make(b, sid, ballot)
    assert a.repo.loaded(sid).seq < a.store.head(sid)  # A has not seen the change
    with refused(a, sid, code):
        answer_by(call, a, sid, v, ballot.token, Answer(choice="left"))
    # A caught up to refuse, and counted nothing
    assert a.repo.loaded(sid).seq == a.store.head(sid)
    assert digest(a.repo.get(sid)) == digest(a.repo.rebuild(sid))
    assert a.repo.get(sid).n_votes == (0 if change == "voter voided" else 1)


# -- participants' ideas and comments ------------------------------------------------------
Write = Callable[[RankerService, str, Voter], object]

PARTICIPANT_WRITES: dict[str, Write] = {
    "idea": lambda w, sid, v: w.ideas.submit(sid, v, "an idea"),
    "comment": lambda w, sid, v: w.ideas.comment(sid, 0, "a comment", voter=v),
}

PARTICIPANT_CHANGES: dict[str, tuple[Write, str]] = {
    "survey closed": (lambda w, sid, v: w.surveys.close(sid), "survey_closed"),
    "voter voided": (lambda w, sid, v: w.voting.void_voter(sid, v.id), "voter_voided"),
}


def interleaved_worker(workers: Workers) -> tuple[RankerService, Interleaved]:
    store = Interleaved(workers.store())
    return workers.open(store, follow=False), store


@pytest.mark.parametrize("change", PARTICIPANT_CHANGES)
@pytest.mark.parametrize("write", PARTICIPANT_WRITES)
def test_a_participant_write_the_change_forbids_is_refused(
    svc: RankerService, write: str, change: str
) -> None:
    make, code = PARTICIPANT_CHANGES[change]
    sid = survey(svc)
    v = svc.voting.issue_voter(sid)
    vote(svc, sid, v)
    make(svc, sid, v)
    with refused(svc, sid, code):
        PARTICIPANT_WRITES[write](svc, sid, v)


@pytest.mark.parametrize("change", PARTICIPANT_CHANGES)
@pytest.mark.parametrize("write", PARTICIPANT_WRITES)
def test_a_participant_write_is_refused_when_another_worker_made_the_change(
    workers: Workers, write: str, change: str
) -> None:
    """B's change lands after A checked its rules and before A's write reaches the store."""
    make, code = PARTICIPANT_CHANGES[change]
    a, a_store = interleaved_worker(workers)
    b = workers.open()
    sid = survey(a)
    v = a.voting.issue_voter(sid)
    vote(a, sid, v)
    heads: list[int] = []

    def b_changes() -> None:
        make(b, sid, v)
        heads.append(b.store.head(sid))

    a_store.before_next_write(b_changes)
    with pytest.raises(E.RankerError) as err:
        PARTICIPANT_WRITES[write](a, sid, v)
    assert err.value.code == code
    assert heads and a.store.head(sid) == heads[0]  # nothing after B's change
    assert digest(a.repo.get(sid)) == digest(a.repo.rebuild(sid))


def test_the_ideas_quota_holds_when_another_worker_takes_the_last_idea(
    workers: Workers,
) -> None:
    """A's projection says the voter has an idea left; B takes it before A's write reaches
    the store, whose counter refuses A's idea."""
    a, a_store = interleaved_worker(workers)
    b = workers.open()
    sid = survey(a, limits=Limits(ideas_per_voter=1))
    v = a.voting.issue_voter(sid)
    heads: list[int] = []

    def b_submits() -> None:
        b.ideas.submit(sid, v, "through worker B")
        heads.append(b.store.head(sid))

    a_store.before_next_write(b_submits)
    with pytest.raises(E.LimitReached) as err:
        a.ideas.submit(sid, v, "through worker A")
    assert err.value.code == "limit_reached" and err.value.detail["limit"] == 1
    assert heads and a.store.head(sid) == heads[0]
    assert [i.text for i in a.ideas.all(sid)][4:] == ["through worker B"]
