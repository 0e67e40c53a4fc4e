"""Languages of a survey: its ``language`` tag and the translations its organiser enters.

A survey may name its language (a BCP 47 tag such as ``cy`` or ``pt-BR``) and carry
``translations`` of its question and description per language; each idea may carry
``translations`` of its text. The widget shows the voter's language where a translation exists
(``docs/user-guide.md``, "Languages"); results, exports and the dashboard show the organiser's
own text. Translations obey the limits of the source text and the same neutralising rules
(:func:`ranker.rules.check_text`); tags are put in their usual case (``pt-br`` -> ``pt-BR``).

>>> canonical_tag("PT-br")
'pt-BR'
>>> check_idea_translations({"CY": " Mwy o feddygon ", "pl": ""}, 280)
{'cy': 'Mwy o feddygon'}
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from ranker.errors import InvalidInput
from ranker.rules import DESCRIPTION_MAX, IDEA_MAX, QUESTION_MAX, check_text

__all__ = [
    "LANGUAGES_MAX",
    "IdeaTranslations",
    "LanguageSetting",
    "LanguageTag",
    "SurveyTranslation",
    "SurveyTranslations",
    "canonical_tag",
    "check_idea_translations",
    "check_language",
    "check_survey_translations",
]

LANGUAGES_MAX = 50
"""Translations per survey or idea."""
TAG_PATTERN = r"^[A-Za-z]{2,3}(-[A-Za-z]{4})?(-(?:[A-Za-z]{2}|[0-9]{3}))?$"
"""language[-Script][-REGION] of BCP 47 (``cy``, ``ar``, ``zh-Hant``, ``pt-BR``, ``es-419``)."""
_TAG = re.compile(TAG_PATTERN)

LanguageTag = Annotated[str, Meta(pattern=TAG_PATTERN, max_length=12)]
LanguageSetting = Annotated[str, Meta(pattern=f"{TAG_PATTERN}|^$", max_length=12)]
"""A survey's ``language``: a tag, or ``""`` for none (the widget follows the embed and the
voter's browser)."""


class SurveyTranslation(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The question and description in one language (``""``: shown in the organiser's)."""

    question: Annotated[str, Meta(max_length=QUESTION_MAX)] = ""
    description: Annotated[str, Meta(max_length=DESCRIPTION_MAX)] = ""


SurveyTranslations = Annotated[dict[LanguageTag, SurveyTranslation], Meta(max_length=LANGUAGES_MAX)]
IdeaTranslations = Annotated[
    dict[LanguageTag, Annotated[str, Meta(max_length=IDEA_MAX)]], Meta(max_length=LANGUAGES_MAX)
]


def canonical_tag(tag: str) -> str:
    """``tag`` in its usual case: language lower, Script title, REGION upper; ``invalid_input``
    if it is not language[-Script][-REGION]."""
    if not isinstance(tag, str) or not _TAG.match(tag):
        raise InvalidInput(
            f"{tag!r} is not a language tag such as 'cy', 'ar' or 'pt-BR'", field="language"
        )
    parts = tag.split("-")
    out = [parts[0].lower()]
    for p in parts[1:]:
        out.append(p.title() if len(p) == 4 else p.upper())
    return "-".join(out)


def check_language(value: str) -> str:
    """A survey's ``language`` setting: a canonical tag, or ``""`` (none)."""
    return canonical_tag(value) if value else ""


def _keys(field: str, mapping: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for tag, value in mapping.items():
        key = canonical_tag(tag)
        if key in out:
            raise InvalidInput(f"{field} names {key} twice", field=field)
        out[key] = value
    return out


def check_survey_translations(value: dict[str, SurveyTranslation]) -> dict[str, SurveyTranslation]:
    """Translations of a survey's question and description, cleaned as the source texts are;
    a language with neither is dropped."""
    out = {}
    for tag, tr in _keys("translations", value).items():
        field = f"translations.{tag}"
        question = check_text(f"{field}.question", tr.question, QUESTION_MAX, allow_empty=True)
        description = check_text(
            f"{field}.description",
            tr.description,
            DESCRIPTION_MAX,
            allow_empty=True,
            multiline=True,
        )
        if question or description:
            out[tag] = SurveyTranslation(question=question, description=description)
    return out


def check_idea_translations(value: dict[str, str], max_chars: int) -> dict[str, str]:
    """Translations of an idea's text, each within the survey's ``idea_max_chars``; an empty
    text drops that language."""
    out = {}
    for tag, text in _keys("translations", value).items():
        clean = check_text(f"translations.{tag}", text, max_chars, allow_empty=True)
        if clean:
            out[tag] = clean
    return out
