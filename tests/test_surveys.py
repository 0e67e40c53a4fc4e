"""Surveys and their settings: create, read, list, change, open, close, and who may."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from algorithms import MODELS, SAMPLERS
from ranker import errors as E
from ranker.domain import Limits, SurveyPatch, SurveySpec
from ranker.service import RankerService
from ranker.surveys import clean_settings
from tests.core_fixtures import Clock, Workers, survey, vote


def test_a_new_survey_is_a_draft_with_the_default_model_and_its_ideas(
    svc: RankerService,
) -> None:
    s = svc.surveys.create("org", SurveySpec(question="  Which is better?  ", ideas=[" a ", "b"]))
    assert (s.question, s.status, s.owner) == ("Which is better?", "draft", "org")
    assert (s.model, s.sampler, s.limits) == ("bt", "settle", Limits())
    assert [(i.id, i.text, i.status) for i in svc.ideas.all(s.id)] == [
        (0, "a", "active"),
        (1, "b", "active"),
    ]
    assert svc.surveys.get(s.id) == s


def test_open_on_creation(svc: RankerService) -> None:
    sid = survey(svc, model="elo", sampler="random", groups=["a", "b"])
    s = svc.surveys.get(sid)
    assert (s.status, s.model, s.sampler, s.groups) == ("open", "elo", "random", ["a", "b"])


BAD_SPECS: list[tuple[dict[str, Any], type[E.InvalidInput], str]] = [
    ({"question": "   "}, E.TextEmpty, "question"),
    ({"question": "x" * 301}, E.InvalidInput, "question"),
    ({"description": 5}, E.InvalidInput, "description"),
    ({"model": "nope"}, E.InvalidInput, "model"),
    ({"sampler": "nope"}, E.InvalidInput, "sampler"),
    ({"embed_origins": ["javascript:alert(1)"]}, E.InvalidInput, "embed_origins"),
    ({"limits": Limits(ballot_ttl_s=0)}, E.InvalidInput, "limits"),
    ({"allow_ideas": "yes"}, E.InvalidInput, "allow_ideas"),
    ({"groups": ["a", " a "]}, E.InvalidInput, "groups"),
    ({"groups": [""]}, E.InvalidInput, "groups"),
    ({"ideas": ["ok", " "]}, E.TextEmpty, "ideas[1]"),
    ({"ideas": ["x" * 281]}, E.TextTooLong, "ideas[0]"),
]


@pytest.mark.parametrize(("changes", "error", "field"), BAD_SPECS)
def test_bad_settings_are_refused_naming_the_field(
    svc: RankerService, changes: dict[str, Any], error: type[E.InvalidInput], field: str
) -> None:
    spec = SurveySpec(**{"question": "Which?", **changes})
    with pytest.raises(error) as err:
        svc.surveys.create("org", spec)
    assert err.value.detail["field"] == field
    assert svc.store.survey_ids() == []  # nothing written


@pytest.mark.parametrize(("kind", "registry"), [("model", MODELS), ("sampler", SAMPLERS)])
def test_an_unknown_model_or_sampler_lists_the_known_names(
    svc: RankerService, kind: str, registry: Any
) -> None:
    sid = survey(svc)
    with pytest.raises(E.InvalidInput, match=f"unknown {kind} 'nope'") as err:
        svc.surveys.update(sid, SurveyPatch(**{kind: "nope"}))
    assert all(name in err.value.message for name in registry)


def test_clean_settings_converts_each_field_to_its_rule_type() -> None:
    clean = clean_settings(
        {"question": " Q? ", "limits": {"ballot_ttl_s": 60}, "groups": [" a "], "model": None}
    )
    assert clean == {"question": "Q?", "limits": Limits(ballot_ttl_s=60), "groups": ["a"]}
    with pytest.raises(E.InvalidInput, match="unknown survey setting"):
        clean_settings({"colour": "red"})
    with pytest.raises(E.InvalidInput) as err:
        clean_settings({"limits": {"answers_per_minute": -1}})
    assert err.value.detail["field"] == "limits"


def test_a_longer_idea_limit_admits_longer_ideas(svc: RankerService) -> None:
    spec = SurveySpec(question="Q?", ideas=["x" * 281], limits=Limits(idea_max_chars=500))
    assert svc.ideas.all(svc.surveys.create("org", spec).id)[0].text == "x" * 281


@pytest.mark.parametrize("sid", ["missing", "", "x" * 65, 7])
def test_an_unknown_survey_is_not_found(svc: RankerService, sid: Any) -> None:
    with pytest.raises(E.SurveyNotFound):
        svc.surveys.get(sid)


def test_update_changes_only_the_settings_given(svc: RankerService) -> None:
    sid = survey(svc, description="About clinics")
    s = svc.surveys.update(sid, SurveyPatch(question=" New? ", groups=["patient", "clinician"]))
    assert (s.question, s.groups, s.description) == (
        "New?",
        ["patient", "clinician"],
        "About clinics",
    )
    assert svc.surveys.get(sid) == s
    head = svc.store.head(sid)
    assert svc.surveys.update(sid, SurveyPatch()) == s
    assert svc.store.head(sid) == head  # no change, no event
    with pytest.raises(E.InvalidInput):
        svc.surveys.update(sid, SurveyPatch(groups=["a", "a"]))
    assert svc.store.head(sid) == head


def test_a_new_model_refits_the_answers_so_far(svc: RankerService) -> None:
    sid = survey(svc, limits=Limits(answers_per_minute=0))
    v = svc.voting.issue_voter(sid)
    for _ in range(4):
        vote(svc, sid, v)
    assert svc.surveys.update(sid, SurveyPatch(model="elo")).model == "elo"
    res = svc.rankings.results(sid)
    assert (res.model, res.n_votes) == ("elo", 4)
    assert svc.repo.get(sid).model.n_votes == 4


def test_open_and_close(svc: RankerService) -> None:
    sid = survey(svc, open=False)
    assert svc.surveys.open(sid).status == "open"
    assert svc.surveys.close(sid).status == "closed"
    head = svc.store.head(sid)
    assert svc.surveys.close(sid).status == "closed"
    assert svc.store.head(sid) == head  # closing a closed survey writes nothing
    assert svc.surveys.open(sid).status == "open"  # reopened


def test_surveys_are_listed_oldest_first_by_organiser(
    svc: RankerService, clock: Clock, workers: Workers
) -> None:
    first = svc.surveys.create("org", SurveySpec(question="First?")).id
    clock.t += 1
    other = svc.surveys.create("other", SurveySpec(question="Other?")).id
    clock.t += 1
    second = workers.open().surveys.create("org", SurveySpec(question="Second?")).id
    assert [s.id for s in svc.surveys.all("org")] == [first, second]
    assert [s.id for s in svc.surveys.all()] == [first, other, second]
    assert svc.surveys.all("nobody") == []


def test_organiser_methods_check_ownership(svc: RankerService) -> None:
    org, _ = svc.accounts.create("Clinic")
    other, _ = svc.accounts.create("Other")
    sid = svc.surveys.create(org.id, SurveySpec(question="Q?", ideas=["a", "b"], open=True)).id
    v = svc.voting.issue_voter(sid)
    vote(svc, sid, v)
    head = svc.store.head(sid)
    forbidden = [
        lambda o: svc.surveys.update(sid, SurveyPatch(question="Mine?"), organiser=o),
        lambda o: svc.surveys.close(sid, organiser=o),
        lambda o: svc.surveys.open(sid, organiser=o),
        lambda o: svc.ideas.add(sid, "x", organiser=o),
        lambda o: svc.ideas.import_many(sid, ["y", "z"], organiser=o),
        lambda o: svc.ideas.edit(sid, 0, "w", organiser=o),
        lambda o: svc.ideas.set_status(sid, 0, "retired", organiser=o),
        lambda o: svc.ideas.comment(sid, 0, "x", organiser=o),
        lambda o: svc.voting.void_voter(sid, v.id, organiser=o),
    ]
    for attempt in forbidden:
        with pytest.raises(E.Forbidden):
            attempt(other.id)
    assert svc.store.head(sid) == head
    for attempt in forbidden:
        attempt(org.id)  # the owner may
    assert svc.store.head(sid) > head


def test_a_survey_round_trips_through_the_log(svc: RankerService, workers: Workers) -> None:
    sid = survey(svc, groups=["a"], embed_origins=["https://example.org"])
    s = svc.surveys.get(sid)
    assert workers.open().surveys.get(sid) == s
    assert msgspec.json.decode(msgspec.json.encode(s), type=type(s)) == s
