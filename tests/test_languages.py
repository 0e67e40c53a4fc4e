"""Language tags and organiser translations (ranker.languages), through the survey and idea
use cases: tags are canonicalised, texts cleaned and limited as their source, and the event
log round-trips them."""

from __future__ import annotations

import pytest

from ranker.domain import SurveyPatch, SurveySpec
from ranker.errors import InvalidInput, TextTooLong
from ranker.languages import (
    SurveyTranslation,
    canonical_tag,
    check_idea_translations,
    check_language,
    check_survey_translations,
)
from ranker.service import RankerService
from ranker.storage import open_store


@pytest.mark.parametrize(
    ("tag", "canonical"),
    [
        ("cy", "cy"),
        ("AR", "ar"),
        ("pt-br", "pt-BR"),
        ("zh-hant-tw", "zh-Hant-TW"),
        ("es-419", "es-419"),
    ],
)
def test_tags_are_put_in_their_usual_case(tag: str, canonical: str) -> None:
    assert canonical_tag(tag) == canonical


@pytest.mark.parametrize(
    "tag", ["", "english", "c", "en_GB", "en-", "x-klingon", "en-GB-oed", "<b>"]
)
def test_malformed_tags_are_refused(tag: str) -> None:
    with pytest.raises(InvalidInput):
        canonical_tag(tag)


def test_language_setting_may_be_empty() -> None:
    assert check_language("") == ""
    assert check_language("CY") == "cy"


def test_survey_translations_are_cleaned_and_empty_ones_dropped() -> None:
    out = check_survey_translations(
        {
            "CY": SurveyTranslation(
                question=" Pa un sy’n well?\u202e ", description="Llinell 1\nLlinell 2"
            ),
            "pl": SurveyTranslation(),
        }
    )
    assert out == {
        "cy": SurveyTranslation(question="Pa un sy’n well?", description="Llinell 1\nLlinell 2")
    }


def test_the_same_language_twice_is_refused() -> None:
    with pytest.raises(InvalidInput, match="twice"):
        check_idea_translations({"cy": "a", "CY": "b"}, 100)


def test_idea_translations_obey_the_idea_limit() -> None:
    assert check_idea_translations({"ar": "  مزيد من الأطباء "}, 20) == {"ar": "مزيد من الأطباء"}
    with pytest.raises(TextTooLong):
        check_idea_translations({"pl": "x" * 21}, 20)


def test_survey_and_idea_translations_survive_the_event_log() -> None:
    store = open_store("memory://")
    svc = RankerService(store, secret=b"s" * 32)
    spec = SurveySpec(
        question="Which is better?",
        language="en-gb",
        translations={"cy": SurveyTranslation(question="Pa un sy’n well?")},
        ideas=["More nurses", "Longer opening hours"],
    )
    survey = svc.surveys.create("org", spec)
    assert survey.language == "en-GB"
    idea = svc.ideas.edit(
        survey.id, 0, translations={"CY": "Mwy o nyrsys", "ar": "مزيد من الممرضين"}
    )
    assert idea.translations == {"cy": "Mwy o nyrsys", "ar": "مزيد من الممرضين"}
    assert idea.text == "More nurses"
    svc.surveys.update(survey.id, SurveyPatch(language="", translations={}))
    fresh = RankerService(store, secret=b"s" * 32)  # rebuilt from the log
    assert fresh.surveys.get(survey.id).language == ""
    assert fresh.surveys.get(survey.id).translations == {}
    assert fresh.ideas.get(survey.id, 0).translations == {
        "cy": "Mwy o nyrsys",
        "ar": "مزيد من الممرضين",
    }
    assert fresh.ideas.edit(survey.id, 0, translations={}).translations == {}
