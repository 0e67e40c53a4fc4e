"""Ideas: organisers' and participants' ideas, moderation, comments and flags."""

from __future__ import annotations

from typing import Any

import pytest

from ranker import errors as E
from ranker.domain import Limits, SurveyPatch
from ranker.service import RankerService
from ranker.snapshots import digest
from tests.core_fixtures import Interleaved, Workers, memory_only, survey, vote


def test_organiser_ideas_are_active_at_once(svc: RankerService) -> None:
    sid = survey(svc, n=2)
    added = svc.ideas.add(sid, "  Evening clinics ")
    assert (added.id, added.text, added.status, added.author) == (
        2,
        "Evening clinics",
        "active",
        "organiser",
    )
    more = svc.ideas.import_many(sid, ["Walk-in hours", "Phone triage"])
    assert [(i.id, i.text) for i in more] == [(3, "Walk-in hours"), (4, "Phone triage")]
    assert svc.ideas.get(sid, 4) == more[1]
    assert [i.id for i in svc.ideas.all(sid)] == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    ("texts", "error"), [(["ok", " "], E.TextEmpty), (["ok", "x" * 281], E.TextTooLong)]
)
def test_an_import_checks_every_text_before_adding_any(
    svc: RankerService, texts: list[str], error: type[E.RankerError]
) -> None:
    sid = survey(svc, n=2)
    head = svc.store.head(sid)
    with pytest.raises(error):
        svc.ideas.import_many(sid, texts)
    assert svc.store.head(sid) == head


def test_an_import_returns_its_own_ideas_when_another_worker_adds_one_meanwhile(
    workers: Workers,
) -> None:
    store = Interleaved(workers.store())
    a, b = workers.open(store, follow=False), workers.open()
    sid = survey(a, n=2)
    store.before_next_write(lambda: b.ideas.add(sid, "theirs"))
    mine = a.ideas.import_many(sid, ["mine 1", "mine 2"])
    assert [(i.id, i.text) for i in mine] == [(3, "mine 1"), (4, "mine 2")]
    assert a.ideas.get(sid, 2).text == "theirs"


def test_participant_ideas_moderation_and_quota(svc: RankerService) -> None:
    sid = survey(svc, n=2, limits=Limits(ideas_per_voter=1))
    v = svc.voting.issue_voter(sid)
    idea = svc.ideas.submit(sid, v, "  Evening clinics  ")
    assert (idea.id, idea.text, idea.status, idea.author, idea.voter) == (
        2,
        "Evening clinics",
        "pending",
        "participant",
        v.id,
    )
    with pytest.raises(E.LimitReached) as err:
        svc.ideas.submit(sid, v, "another")
    assert err.value.detail["limit"] == 1
    for _ in range(5):  # pending ideas are never shown
        b = svc.voting.next_ballot(sid, v)
        assert {b.left, b.right} == {0, 1}
    assert svc.ideas.set_status(sid, 2, "active").status == "active"  # approved
    assert svc.ideas.set_status(sid, 0, "retired").status == "retired"
    b = svc.voting.next_ballot(sid, v)
    assert {b.left, b.right} == {1, 2}
    with pytest.raises(E.TextTooLong):
        svc.ideas.submit(sid, svc.voting.issue_voter(sid), "x" * 281)
    svc.surveys.update(sid, SurveyPatch(allow_ideas=False))
    with pytest.raises(E.IdeasNotAllowed):
        svc.ideas.submit(sid, svc.voting.issue_voter(sid), "no")
    assert [i.id for i in svc.ideas.all(sid, "active")] == [1, 2]
    assert [i.id for i in svc.ideas.all(sid, "retired")] == [0]


def test_without_moderation_a_participant_idea_is_active_at_once(svc: RankerService) -> None:
    sid = survey(svc, n=2, moderate_ideas=False)
    idea = svc.ideas.submit(sid, svc.voting.issue_voter(sid), "Evening clinics")
    assert idea.status == "active"
    assert {i.idea for i in svc.rankings.results(sid).ideas} == {0, 1, 2}  # ranked at once


def test_the_ideas_quota_holds_across_workers(workers: Workers) -> None:
    """Worker A checks the quota on its projection, worker B takes the voter's last idea
    before A appends: the store's counter refuses A's idea."""
    store = Interleaved(workers.store())
    a, b = workers.open(store, follow=False), workers.open()
    sid = survey(a, n=2, limits=Limits(ideas_per_voter=2))
    v = a.voting.issue_voter(sid)
    a.ideas.submit(sid, v, "first idea")
    store.before_next_write(lambda: b.ideas.submit(sid, v, "second idea, through worker B"))
    with pytest.raises(E.LimitReached) as err:
        a.ideas.submit(sid, v, "third idea: one too many")
    assert err.value.detail["limit"] == 2
    texts = [i.text for i in a.ideas.all(sid) if i.id >= 2]
    assert texts == ["first idea", "second idea, through worker B"]
    assert digest(a.repo.get(sid)) == digest(a.repo.rebuild(sid))
    w = b.voting.issue_voter(sid)  # another voter has a quota of their own
    assert a.ideas.submit(sid, w, "their idea").text == "their idea"


def test_edit_keeps_the_votes(svc: RankerService) -> None:
    sid = survey(svc, n=2)
    vote(svc, sid, svc.voting.issue_voter(sid))
    assert svc.ideas.edit(sid, 1, "  renamed ").text == "renamed"
    assert svc.ideas.get(sid, 1).text == "renamed"
    assert svc.rankings.results(sid).n_votes == 1
    with pytest.raises(E.TextTooLong):
        svc.ideas.edit(sid, 1, "x" * 281)


def test_set_status_moderates_retires_and_reinstates(svc: RankerService) -> None:
    sid = survey(svc, n=3)
    assert svc.ideas.set_status(sid, 0, "rejected", reason="off topic").status == "rejected"
    assert svc.ideas.set_status(sid, 1, "retired").status == "retired"
    assert svc.ideas.set_status(sid, 1, "active").status == "active"  # reinstated
    head = svc.store.head(sid)
    assert svc.ideas.set_status(sid, 1, "active").status == "active"
    assert svc.store.head(sid) == head  # no change, no event
    assert [i.id for i in svc.ideas.all(sid, "active")] == [1, 2]


@memory_only
@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda s, sid: s.ideas.set_status(sid, 0, "deleted"), E.InvalidInput),
        (lambda s, sid: s.ideas.set_status(sid, 0, "retired", reason="x" * 501), E.TextTooLong),
        (lambda s, sid: s.ideas.set_status(sid, 99, "retired"), E.IdeaNotFound),
        (lambda s, sid: s.ideas.edit(sid, 99, "x"), E.IdeaNotFound),
        (lambda s, sid: s.ideas.get(sid, -1), E.IdeaNotFound),
        (lambda s, sid: s.ideas.get(sid, "1"), E.IdeaNotFound),
        (lambda s, sid: s.ideas.get(sid, True), E.IdeaNotFound),
        (lambda s, sid: s.ideas.comments(sid, 99), E.IdeaNotFound),
        (lambda s, sid: s.ideas.add("nope", "x"), E.SurveyNotFound),
        (lambda s, sid: s.ideas.add(sid, 5), E.InvalidInput),
        (lambda s, sid: s.ideas.add(sid, "a\x00b"), E.InvalidInput),
        (lambda s, sid: s.ideas.edit(sid, 0, None), E.InvalidInput),
    ],
)
def test_bad_ideas_and_statuses_are_refused(
    svc: RankerService, call: Any, error: type[E.RankerError]
) -> None:
    sid = survey(svc, n=2)
    head = svc.store.head(sid)
    with pytest.raises(error):
        call(svc, sid)
    assert svc.store.head(sid) == head


def test_comments_and_flags(svc: RankerService) -> None:
    sid = survey(svc, limits=Limits(comment_max_chars=20))
    v = svc.voting.issue_voter(sid)
    c = svc.ideas.comment(sid, 1, " good one ", voter=v)
    assert (c.id, c.idea, c.voter, c.text) == (0, 1, v.id, "good one")
    by_org = svc.ideas.comment(sid, 2, "noted", organiser="org")
    assert (by_org.id, by_org.voter) == (1, None)
    with pytest.raises(E.IdeaNotFound):
        svc.ideas.comment(sid, 7, "x", voter=v)
    with pytest.raises(E.TextEmpty):
        svc.ideas.comment(sid, 1, " ", voter=v)
    with pytest.raises(E.TextTooLong):
        svc.ideas.comment(sid, 1, "x" * 21, voter=v)
    with pytest.raises(E.InvalidInput, match="needs a voter or an organiser"):
        svc.ideas.comment(sid, 1, "anonymous")
    f = svc.ideas.flag(sid, 3, v, " rude ")
    assert (f.idea, f.voter, f.reason) == (3, v.id, "rude")
    with pytest.raises(E.IdeaNotFound):
        svc.ideas.flag(sid, 9, v)
    assert [x.text for x in svc.ideas.comments(sid, 1)] == ["good one"]
    assert [x.text for x in svc.ideas.comments(sid)] == ["good one", "noted"]
    assert svc.ideas.flags(sid) == [f]
