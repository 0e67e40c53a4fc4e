"""Surveys and their settings: create, read, list, change, open and close.

Settings follow the rules of :mod:`ranker.rules`: each field of
:class:`~ranker.domain.SurveyPatch` is converted to its rule type, texts are stripped,
model and sampler names must be registered, groups distinct. Every change is one event,
appended through the repository (see :meth:`ranker.repository.ProjectionRepository.write`).

Organiser methods take ``organiser=`` (an organiser id); when given, the survey must belong
to that organiser (else ``forbidden``). ``None`` skips the check (CLI, tests, admin tools).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal

import msgspec

from ranker import events as ev
from ranker.domain import Survey, SurveyPatch, SurveySpec
from ranker.errors import Forbidden, InvalidInput
from ranker.identity import check_identity
from ranker.languages import check_language, check_survey_translations
from ranker.projection import Projection
from ranker.repository import ProjectionRepository
from ranker.rules import (
    DESCRIPTION_MAX,
    GROUP_MAX,
    QUESTION_MAX,
    check_distinct,
    check_origins,
    check_text,
    parse,
    registered,
)
from ranker.sampling import DEFAULT_MODEL, DEFAULT_SAMPLER
from ranker.tokens import new_id

__all__ = ["Surveys", "check_owner", "clean_settings"]

_FIELD_TYPES: dict[str, Any] = {f.name: f.type for f in msgspec.structs.fields(SurveyPatch)}


def _groups(groups: list[str]) -> list[str]:
    out = [check_text("groups", g, GROUP_MAX) for g in groups]
    if len(set(out)) != len(out):
        raise InvalidInput("groups must be distinct", field="groups")
    return out


_EXTRA: dict[str, Callable[[Any], Any]] = {
    "question": lambda v: check_text("question", v, QUESTION_MAX),
    "description": lambda v: check_text(
        "description", v, DESCRIPTION_MAX, allow_empty=True, multiline=True
    ),
    "model": lambda v: registered("model", v),
    "sampler": lambda v: registered("sampler", v),
    "groups": _groups,
    "embed_origins": check_origins,
    "identity": check_identity,
    "language": check_language,
    "translations": check_survey_translations,
}
"""Rules a type cannot state, applied after the field's type (see :func:`clean_settings`)."""


def clean_settings(changes: dict[str, Any]) -> dict[str, Any]:
    """Settings (names of :class:`SurveyPatch` fields; ``None`` values dropped) converted to
    their rule types and cleaned; ``invalid_input`` naming the first bad field."""
    unknown = set(changes) - set(_FIELD_TYPES)
    if unknown:
        raise InvalidInput(f"unknown survey setting(s): {', '.join(sorted(unknown))}")
    out = {}
    for name, value in changes.items():
        if value is None:
            continue
        value = parse(_FIELD_TYPES[name], msgspec.to_builtins(value), name)
        out[name] = _EXTRA[name](value) if name in _EXTRA else value
    return out


def check_owner(proj: Projection, organiser: str | None) -> Survey:
    """The projection's survey, if ``organiser`` (when given) owns it; else ``forbidden``."""
    survey = proj.survey
    assert survey is not None
    if organiser is not None and survey.owner != organiser:
        raise Forbidden("this survey belongs to another organiser")
    return survey


class Surveys:
    """Survey use cases over the projection repository."""

    def __init__(self, repo: ProjectionRepository, clock: Callable[[], float] = time.time) -> None:
        self.repo = repo
        self.clock = clock

    def create(self, owner: str, spec: SurveySpec) -> Survey:
        """A new survey (``draft`` unless ``spec.open``), seeded with ``spec.ideas``."""
        fields = {f: getattr(spec, f) for f in _FIELD_TYPES}
        fields["model"] = fields["model"] or DEFAULT_MODEL
        fields["sampler"] = fields["sampler"] or DEFAULT_SAMPLER
        settings = clean_settings(fields)
        survey = Survey(id=new_id(9), owner=owner, created=self.clock(), **settings)
        texts = [
            check_text(f"ideas[{i}]", t, survey.limits.idea_max_chars)
            for i, t in enumerate(spec.ideas)
        ]
        check_distinct("ideas", texts)
        with self.repo.lock:
            self.repo.store.create_survey(
                survey.id, ev.encode(ev.SurveyCreated(ts=self.clock(), survey=survey))
            )
            for t in texts:
                self.repo.write(survey.id, self._idea(t))
            if spec.open:
                self._set_status(survey.id, "open", None)
            return self.get(survey.id)

    def _idea(self, text: str) -> Callable[[Projection], ev.Event]:
        return lambda _proj: ev.IdeaAdded(ts=self.clock(), text=text)

    def get(self, survey_id: str) -> Survey:
        """The survey's current settings."""
        survey = self.repo.get(survey_id).survey
        assert survey is not None
        return survey

    def all(self, organiser: str | None = None) -> list[Survey]:
        """All surveys (of one organiser when given), oldest first."""
        out = [self.get(s) for s in self.repo.store.survey_ids()]
        if organiser is not None:
            out = [s for s in out if s.owner == organiser]
        return sorted(out, key=lambda s: (s.created, s.id))

    def update(self, survey_id: str, patch: SurveyPatch, *, organiser: str | None = None) -> Survey:
        """Change the settings ``patch`` sets (``None`` fields are unchanged)."""
        clean = clean_settings({f: getattr(patch, f) for f in _FIELD_TYPES})

        def decide(proj: Projection) -> ev.Event | None:
            check_owner(proj, organiser)
            if not clean:
                return None
            return ev.SurveyUpdated(ts=self.clock(), patch=SurveyPatch(**clean))

        proj, _ = self.repo.write(survey_id, decide)
        assert proj.survey is not None
        return proj.survey

    def open(self, survey_id: str, *, organiser: str | None = None) -> Survey:
        """Start accepting answers (from ``draft`` or ``closed``)."""
        return self._set_status(survey_id, "open", organiser)

    def close(self, survey_id: str, *, organiser: str | None = None) -> Survey:
        """Stop accepting answers and ideas; results stay readable."""
        return self._set_status(survey_id, "closed", organiser)

    def _set_status(
        self, survey_id: str, status: Literal["open", "closed"], organiser: str | None
    ) -> Survey:
        def decide(proj: Projection) -> ev.Event | None:
            survey = check_owner(proj, organiser)
            if survey.status == status:
                return None
            return ev.SurveyStatusChanged(ts=self.clock(), status=status)

        proj, _ = self.repo.write(survey_id, decide)
        assert proj.survey is not None
        return proj.survey
