"""The event log: a msgspec tagged union, stored as MessagePack, exported as JSON.

Every change to a survey is one event appended to that survey's log; the log
is the source of truth and is never trimmed. Each event class has a stable
``type`` tag. Schema evolution follows msgspec's rules: new fields get
defaults, no field ever changes type, tags are never reused.

>>> ev = IdeaAdded(ts=1.0, text="More evening clinics")
>>> decode(encode(ev)) == ev
True
>>> decode_json(encode_json(ev)).text
'More evening clinics'
"""

from __future__ import annotations

import msgspec

from ranker.domain import Survey, SurveyPatch
from ranker.rules import Author, IdeaStatus, Outcome, SkipReason, SurveyStatus

__all__ = [
    "GATES",
    "CommentAdded",
    "Event",
    "IdeaAdded",
    "IdeaEdited",
    "IdeaFlagged",
    "IdeaStatusChanged",
    "IdeaTranslated",
    "SurveyCreated",
    "SurveyStatusChanged",
    "SurveyUpdated",
    "VoteCast",
    "VoteSkipped",
    "VoteUndone",
    "VoterVoided",
    "decode",
    "decode_json",
    "encode",
    "encode_json",
]


class _Base(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", omit_defaults=True):
    ts: float


class SurveyCreated(_Base, tag="survey_created", frozen=True, kw_only=True):
    """First event of every log: the survey's full settings."""

    survey: Survey


class SurveyUpdated(_Base, tag="survey_updated", frozen=True, kw_only=True):
    """Settings changed (only the fields set in ``patch``)."""

    patch: SurveyPatch


class SurveyStatusChanged(_Base, tag="survey_status_changed", frozen=True, kw_only=True):
    """The survey was opened or closed."""

    status: SurveyStatus


class IdeaAdded(_Base, tag="idea_added", frozen=True, kw_only=True):
    """A new idea; its id is the number of ``IdeaAdded`` events before it (0, 1, ...)."""

    text: str
    author: Author = "organiser"
    voter: str | None = None
    status: IdeaStatus = "active"
    similar_to: int | None = None
    """The earlier idea this one nearly repeats, if any (``Idea.similar_to``)."""


class IdeaEdited(_Base, tag="idea_edited", frozen=True, kw_only=True):
    """The idea's text changed; its votes are kept."""

    idea: int
    text: str


class IdeaTranslated(_Base, tag="idea_translated", frozen=True, kw_only=True):
    """The idea's translations were replaced (``{}``: none); its votes are kept."""

    idea: int
    translations: dict[str, str] = msgspec.field(default_factory=dict)


class IdeaStatusChanged(_Base, tag="idea_status_changed", frozen=True, kw_only=True):
    """Moderation (approve/reject) or retirement of an idea."""

    idea: int
    status: IdeaStatus
    reason: str = ""


class VoteCast(_Base, tag="vote_cast", frozen=True, kw_only=True):
    """A voter answered a ballot with left, right or tie."""

    ballot: str
    voter: str
    group: str | None = None
    left: int
    right: int
    outcome: Outcome
    probability: float | None = None
    response_ms: int | None = None
    client: str | None = None
    """The voter's client pseudonym, on a voter's first answers only (evidence: many voters
    from one client in a short time)."""


class VoteSkipped(_Base, tag="vote_skipped", frozen=True, kw_only=True):
    """A voter answered a ballot with "I can't decide" and a reason."""

    ballot: str
    voter: str
    group: str | None = None
    left: int
    right: int
    reason: SkipReason = "dont_know"
    reason_text: str = ""
    """The voter's own words (reason "other"), cleaned like a flag's reason."""
    probability: float | None = None
    response_ms: int | None = None
    client: str | None = None
    """The voter's client pseudonym, on a voter's first answers only (evidence: many voters
    from one client in a short time)."""


class VoteUndone(_Base, tag="vote_undone", frozen=True, kw_only=True):
    """The voter took back the answer logged at sequence number ``target``."""

    voter: str
    target: int


class VoterVoided(_Base, tag="voter_voided", frozen=True, kw_only=True):
    """The organiser voided every answer of ``voter`` (past and future)."""

    voter: str
    reason: str = ""


class CommentAdded(_Base, tag="comment_added", frozen=True, kw_only=True):
    """A comment on an idea."""

    idea: int
    voter: str | None = None
    text: str


class IdeaFlagged(_Base, tag="idea_flagged", frozen=True, kw_only=True):
    """A participant reported an idea."""

    idea: int
    voter: str | None = None
    reason: str = ""


Event = (
    SurveyCreated
    | SurveyUpdated
    | SurveyStatusChanged
    | IdeaAdded
    | IdeaEdited
    | IdeaTranslated
    | IdeaStatusChanged
    | VoteCast
    | VoteSkipped
    | VoteUndone
    | VoterVoided
    | CommentAdded
    | IdeaFlagged
)

_encoder = msgspec.msgpack.Encoder()
GATES = (SurveyUpdated, SurveyStatusChanged, IdeaStatusChanged, VoterVoided)
"""Events that can change what the core accepts (survey status or settings, an idea's status,
a voided voter). They are appended as the store's *gate*: an answer, idea or comment checked
against a log position before the latest gate is refused by the store and checked again
(see :class:`ranker.storage.base.Store`), so no refused request leaves an event behind."""

_decoder: msgspec.msgpack.Decoder[Event] = msgspec.msgpack.Decoder(Event)
_json_encoder = msgspec.json.Encoder()
_json_decoder: msgspec.json.Decoder[Event] = msgspec.json.Decoder(Event)


def encode(event: Event) -> bytes:
    """The stored form of an event (MessagePack)."""
    return _encoder.encode(event)


def decode(data: bytes) -> Event:
    """Decode one stored event; raises ``msgspec.ValidationError`` on a malformed one."""
    return _decoder.decode(data)


def encode_json(event: Event) -> bytes:
    """The export form of an event (one JSON object with a ``type`` tag)."""
    return _json_encoder.encode(event)


def decode_json(data: bytes | str) -> Event:
    """Decode one JSON event (e.g. a line of an NDJSON export)."""
    return _json_decoder.decode(data)
