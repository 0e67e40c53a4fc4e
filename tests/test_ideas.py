"""Ideas: organisers' and participants' ideas, moderation, comments and flags."""

from __future__ import annotations

from typing import Any

import pytest

from ranker import errors as E
from ranker.domain import Limits, SurveyPatch, SurveySpec
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
        (lambda s, sid: s.ideas.add(sid, "\x00\u200b\u202e"), E.TextEmpty),
        (lambda s, sid: s.ideas.add(sid, "IDEA  0!"), E.DuplicateIdea),
        (lambda s, sid: s.ideas.edit(sid, 1, "idea 0"), E.DuplicateIdea),
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


# -- bad and repeated ideas (issue 12) -----------------------------------------------------


@memory_only
def test_ideas_and_comments_are_neutralised_and_invisible_ones_refused(svc: RankerService) -> None:
    sid = survey(svc, n=2)
    v = svc.voting.issue_voter(sid)
    head = svc.store.head(sid)
    for text in ("\u200b\u200d", "\u202e\u2066\u2069", "\u3164 \u2800"):
        with pytest.raises(E.TextEmpty):
            svc.ideas.submit(sid, v, text)
        with pytest.raises(E.TextEmpty):
            svc.ideas.add(sid, text)
        with pytest.raises(E.TextEmpty):
            svc.ideas.import_many(sid, ["fine", text])
    assert svc.store.head(sid) == head
    assert svc.ideas.submit(sid, v, "\u202eevil\u202c\x07 plan").text == "evil plan"
    assert svc.ideas.add(sid, "e\u0301te\u0301\nclinics").text == "été clinics"
    comment = svc.ideas.comment(sid, 0, "line one\r\n\u202eline two", voter=v)
    assert comment.text == "line one\nline two"


@memory_only
def test_a_repeated_idea_is_refused_from_anyone(svc: RankerService) -> None:
    sid = survey(svc, n=2, moderate_ideas=False)  # "idea 0", "idea 1"
    svc.ideas.add(sid, "More evening clinics")
    v = svc.voting.issue_voter(sid)
    head = svc.store.head(sid)
    repeats = [
        lambda: svc.ideas.submit(sid, v, "MORE evening  clinics!"),
        lambda: svc.ideas.submit(sid, v, "More eve\u200bning \u0441linics"),  # Cyrillic с
        lambda: svc.ideas.add(sid, "more evening clinics."),
        lambda: svc.ideas.import_many(sid, ["Walk-in hours", "More evening clinics"]),
        lambda: svc.ideas.import_many(sid, ["Walk-in hours", "Phone triage", "WALK-IN hours"]),
        lambda: svc.ideas.edit(sid, 0, "more Evening clinics"),
    ]
    for attempt in repeats:
        with pytest.raises(E.DuplicateIdea) as err:
            attempt()
        assert err.value.detail["idea"] in (2, None)
    assert svc.store.head(sid) == head  # nothing written, not even half an import
    with pytest.raises(E.DuplicateIdea, match="ideas\\[2\\] repeats ideas\\[0\\]"):
        svc.surveys.create("org", SurveySpec(question="Q?", ideas=["a b", "c", "A  B."]))
    assert svc.ideas.edit(sid, 2, "More evening clinics!").text == "More evening clinics!"


@memory_only
def test_a_rejected_idea_comes_back_only_through_the_moderator(svc: RankerService) -> None:
    sid = survey(svc, n=2, moderate_ideas=False)
    svc.ideas.import_many(sid, ["Close the library", "Sell the car park"])
    svc.ideas.set_status(sid, 2, "rejected", reason="off topic")
    svc.ideas.set_status(sid, 3, "rejected")
    again = svc.ideas.submit(sid, svc.voting.issue_voter(sid), "close the library")
    assert (again.id, again.status, again.similar_to) == (4, "pending", 2)
    with pytest.raises(E.DuplicateIdea) as err:  # the pending copy is not rejected
        svc.ideas.add(sid, "CLOSE the library")
    assert err.value.detail["idea"] == 4
    organiser = svc.ideas.add(sid, "sell the car park!")
    assert (organiser.status, organiser.similar_to) == ("active", 3)


@memory_only
def test_a_near_repeat_waits_for_the_moderator_even_without_moderation(
    svc: RankerService,
) -> None:
    sid = survey(svc, n=2, moderate_ideas=False)
    svc.ideas.add(sid, "Longer opening hours for the library")
    v = svc.voting.issue_voter(sid)
    near = svc.ideas.submit(sid, v, "Longer library opening hours please")
    assert (near.status, near.similar_to) == ("pending", 2)
    other = svc.ideas.submit(sid, v, "Longer opening hours for the pool")
    assert (other.status, other.similar_to) == ("active", None)
    by_organiser = svc.ideas.add(sid, "Longer library openning hours")  # reported, accepted
    assert (by_organiser.status, by_organiser.similar_to) == ("active", 3)  # the closest
    batch = svc.ideas.import_many(sid, ["Plant more trees in the city centre", "Plant more tress"])
    assert [(i.status, i.similar_to) for i in batch] == [("active", None), ("active", None)]
    batch = svc.ideas.import_many(sid, ["Bike lanes on Main Street", "Bike lane on Main Street"])
    assert [i.similar_to for i in batch] == [None, batch[0].id]
    assert {i.idea for i in svc.rankings.results(sid).ideas} >= {0, 1, 2, 4}
    assert near.id not in {i.idea for i in svc.rankings.results(sid).ideas}
    approved = svc.ideas.set_status(sid, near.id, "active")
    assert (approved.status, approved.similar_to) == ("active", 2)


def test_near_repeats_survive_a_replay(workers: Workers) -> None:
    a = workers.open()
    sid = survey(a, n=2, moderate_ideas=False)
    a.ideas.add(sid, "Free wifi in all parks")
    idea = a.ideas.submit(sid, a.voting.issue_voter(sid), "Free wifi in every park")
    assert idea.similar_to == 2
    assert workers.open().ideas.get(sid, idea.id) == idea
    assert digest(a.repo.get(sid)) == digest(a.repo.rebuild(sid))


def test_a_repeat_from_another_worker_is_seen(workers: Workers) -> None:
    """Worker B adds an idea after worker A loaded the survey: A's decision catches up first,
    so the same words through A are refused."""
    a, b = workers.open(follow=False), workers.open()
    sid = survey(a, n=2)
    a.ideas.all(sid)
    b.ideas.add(sid, "Night buses at weekends")
    with pytest.raises(E.DuplicateIdea) as err:
        a.ideas.submit(sid, a.voting.issue_voter(sid), "night buses at weekends!")
    assert err.value.detail["idea"] == 2


@memory_only
def test_an_edited_idea_is_compared_by_its_new_words(svc: RankerService) -> None:
    sid = survey(svc, n=3)
    svc.ideas.edit(sid, 2, "Cheaper bus tickets")
    v = svc.voting.issue_voter(sid)
    with pytest.raises(E.DuplicateIdea):
        svc.ideas.submit(sid, v, "cheaper bus tickets")
    assert svc.ideas.submit(sid, v, "idea 2").text == "idea 2"  # the old words are free
