"""Domain types of the voting core: msgspec Structs with reusable constraint aliases.

Constraints are declared once as ``Annotated[..., Meta(...)]`` aliases so the
API's request bodies and the event log share them; msgspec enforces them when
decoding. Code that builds values directly (the service) validates text with
:func:`check_text`, which raises the domain errors ``text_empty`` /
``text_too_long`` with the field name.

>>> check_text("question", "  Which is better?  ", 300)
'Which is better?'
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from ranker.errors import InvalidInput, TextEmpty, TextTooLong

__all__ = [
    "Answer",
    "AnswerReceipt",
    "Ballot",
    "Choice",
    "Comment",
    "Flag",
    "Idea",
    "IdeaResult",
    "IdeaStatus",
    "Limits",
    "Organiser",
    "Results",
    "SkipReason",
    "Survey",
    "SurveyPatch",
    "SurveyStatus",
    "TopKEstimate",
    "Voter",
    "check_text",
]

# -- constraint aliases ---------------------------------------------------------
SurveyId = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
VoterId = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
IdeaId = Annotated[int, Meta(ge=0)]
ModelName = Annotated[str, Meta(min_length=1, max_length=40)]
QuestionText = Annotated[str, Meta(min_length=1, max_length=300)]
DescriptionText = Annotated[str, Meta(max_length=5000)]
IdeaText = Annotated[str, Meta(min_length=1, max_length=1000)]
CommentText = Annotated[str, Meta(min_length=1, max_length=2000)]
GroupName = Annotated[str, Meta(min_length=1, max_length=40)]
Origin = Annotated[str, Meta(min_length=1, max_length=200, pattern=r"^https?://[^/\s]+$")]
Probability = Annotated[float, Meta(ge=0.0, le=1.0)]
ResponseMs = Annotated[int, Meta(ge=0, le=86_400_000)]
PositiveInt = Annotated[int, Meta(ge=1)]
NonNegInt = Annotated[int, Meta(ge=0)]

SurveyStatus = Literal["draft", "open", "closed"]
IdeaStatus = Literal["pending", "active", "rejected", "retired"]
Author = Literal["organiser", "participant"]
Choice = Literal["left", "right", "tie", "skip"]
SkipReason = Literal["like_both", "dislike_both", "same", "dont_know", "other"]


def check_text(field: str, value: object, max_len: int, *, allow_empty: bool = False) -> str:
    """Strip ``value`` and check it is a non-empty string of at most ``max_len`` characters."""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be a string", field=field)
    text = value.strip()
    if not text and not allow_empty:
        raise TextEmpty(f"{field} must not be empty", field=field)
    if len(text) > max_len:
        raise TextTooLong(
            f"{field} is {len(text)} characters; the limit is {max_len}",
            field=field,
            limit=max_len,
        )
    if "\x00" in text:
        raise InvalidInput(f"{field} must not contain NUL characters", field=field)
    return text


class Limits(msgspec.Struct, frozen=True, kw_only=True):
    """Per-survey limits. ``0`` for ``answers_per_minute`` disables the rate limit."""

    answers_per_minute: Annotated[int, Meta(ge=0, le=100_000)] = 120
    ideas_per_voter: Annotated[int, Meta(ge=0, le=100_000)] = 10
    idea_max_chars: Annotated[int, Meta(ge=1, le=1000)] = 280
    comment_max_chars: Annotated[int, Meta(ge=1, le=2000)] = 1000
    ballot_ttl_s: Annotated[int, Meta(ge=1, le=7 * 86_400)] = 3600
    undo_window_s: Annotated[int, Meta(ge=0, le=86_400)] = 120


class Survey(msgspec.Struct, frozen=True, kw_only=True):
    """A challenge: one question, a pool of ideas, a model and a sampler."""

    id: SurveyId
    owner: str
    question: QuestionText
    description: DescriptionText = ""
    status: SurveyStatus = "draft"
    model: ModelName = "bt"
    sampler: ModelName = "adaptive"
    allow_ideas: bool = True
    moderate_ideas: bool = True
    groups: list[GroupName] = msgspec.field(default_factory=list)
    embed_origins: list[Origin] = msgspec.field(default_factory=list)
    show_results_to_voters: bool = False
    limits: Limits = msgspec.field(default_factory=Limits)
    created: float = 0.0


class SurveyPatch(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Changed settings of a survey; ``None`` means unchanged."""

    question: QuestionText | None = None
    description: DescriptionText | None = None
    model: ModelName | None = None
    sampler: ModelName | None = None
    allow_ideas: bool | None = None
    moderate_ideas: bool | None = None
    groups: list[GroupName] | None = None
    embed_origins: list[Origin] | None = None
    show_results_to_voters: bool | None = None
    limits: Limits | None = None


class Idea(msgspec.Struct, frozen=True, kw_only=True):
    """One idea; ``id`` is its dense index in the survey (0, 1, 2, ... in log order)."""

    id: IdeaId
    text: IdeaText
    author: Author = "organiser"
    voter: str | None = None
    status: IdeaStatus = "active"
    created: float = 0.0


class Voter(msgspec.Struct, frozen=True, kw_only=True):
    """An anonymous participant of one survey, with an optional group."""

    id: VoterId
    survey: SurveyId
    group: str | None = None
    token: str = ""


class Ballot(msgspec.Struct, frozen=True, kw_only=True):
    """A server-issued pair for one voter: signed, single-use, expiring."""

    id: str
    survey: SurveyId
    voter: VoterId
    left: IdeaId
    right: IdeaId
    probability: Probability | None
    issued: float
    expires: float
    group: str | None = None
    token: str = ""
    left_text: str = ""
    right_text: str = ""


class Answer(msgspec.Struct, frozen=True, kw_only=True):
    """A voter's answer to a ballot; ``reason`` only for ``skip``."""

    choice: Choice
    reason: SkipReason | None = None
    response_ms: ResponseMs | None = None


class AnswerReceipt(msgspec.Struct, frozen=True, kw_only=True):
    """What answering a ballot returns; a retried identical answer returns the same receipt."""

    seq: int
    ballot: str
    choice: Choice
    reason: SkipReason | None = None
    left: int
    right: int
    ts: float


class Comment(msgspec.Struct, frozen=True, kw_only=True):
    """A comment on an idea; ``id`` is its index in the survey's comments."""

    id: int
    idea: IdeaId
    voter: str | None
    text: CommentText
    created: float


class Flag(msgspec.Struct, frozen=True, kw_only=True):
    """A participant's report that an idea is inappropriate."""

    idea: IdeaId
    voter: str | None
    reason: str
    created: float


class Organiser(msgspec.Struct, frozen=True, kw_only=True):
    """An organiser account; the API key is stored only as its SHA-256 hash."""

    id: str
    name: str
    key_hash: str
    created: float


class IdeaResult(msgspec.Struct, frozen=True, kw_only=True):
    """One row of the ranked results."""

    idea: int
    text: str
    status: IdeaStatus
    score: float
    low: float
    high: float
    rank: int
    rank_lo: int
    rank_hi: int
    tier: int
    p_beats_random: float
    wins: int
    losses: int
    ties: int
    skips: int
    shown_left: int
    shown_right: int


class TopKEstimate(msgspec.Struct, frozen=True, kw_only=True):
    """Rough estimate of the extra answers needed to separate rank ``k`` from ``k+1``."""

    k: int
    settled: bool
    votes_needed: int | None
    method: str


class Results(msgspec.Struct, frozen=True, kw_only=True):
    """Ranked ideas of a survey (or of one group, or one voter)."""

    survey: str
    model: str
    level: float
    n_votes: int
    n_skips: int
    n_voters: int
    seq: int
    group: str | None = None
    voter: str | None = None
    ideas: list[IdeaResult] = msgspec.field(default_factory=list)
