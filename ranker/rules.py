"""Every rule about input, declared once: lengths, characters, names, origins, choices.

The limits are constants, the constraints ``Annotated[..., Meta(...)]`` aliases built from
them. The domain types (:mod:`ranker.domain`), the event log and the API's request bodies
all use these aliases, so msgspec enforces the same rule wherever a value enters: the API
decodes a request body once, against these types, and the core trusts typed values.

The few rules a type cannot state are functions here too: :func:`check_text` (neutralise
control and bidi characters, NFC, strip, refuse a text with nothing visible, then check a
length that may depend on the survey's own limits; :mod:`ranker.text` holds the character
rules), :func:`check_distinct` (no repeated idea in one list), :func:`parse` (convert
untyped input to a rule type, reporting ``invalid_input`` with the field's name) and
:func:`registered` (a model or sampler name known to :mod:`algorithms`).

>>> check_text("question", "  Which is better?  ", QUESTION_MAX)
'Which is better?'
>>> parse(Choice, "sideways", "choice")
Traceback (most recent call last):
...
ranker.errors.InvalidInput: choice: Invalid enum value 'sideways'
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, TypeVar

import msgspec
from msgspec import Meta

from ranker.errors import DuplicateIdea, InvalidInput, TextEmpty, TextTooLong
from ranker.text import neutralise, text_key, visible

__all__ = [
    "COMMENT_MAX",
    "DESCRIPTION_MAX",
    "FLAGGED_WEIGHT",
    "GROUPS_MAX",
    "GROUP_MAX",
    "GROUP_MIN_COMPARISONS",
    "IDEAS_PER_REQUEST_MAX",
    "IDEA_MAX",
    "INFLUENCE_CAP",
    "LEVEL_MAX",
    "LEVEL_MIN",
    "MARGIN_MAX",
    "MARGIN_MIN",
    "NAME_MAX",
    "ORIGINS_MAX",
    "ORIGIN_MAX",
    "PERSONAL_MIN_VOTES",
    "PERSONAL_SPREAD",
    "PLACE_MIN_VOTES",
    "QUESTION_MAX",
    "REASON_MAX",
    "REGISTRY_NAME_MAX",
    "SITE_KEYS_MAX",
    "SITE_KEY_MAX",
    "SITE_TOKEN_MAX",
    "TOKEN_MAX",
    "TOP_K_MAX",
    "Author",
    "Choice",
    "CommentText",
    "DescriptionText",
    "ExportKind",
    "GroupName",
    "Groups",
    "IdeaId",
    "IdeaStatus",
    "IdeaText",
    "IdentityMode",
    "Issuer",
    "Level",
    "Margin",
    "ModelName",
    "OrganiserName",
    "Origin",
    "Origins",
    "Outcome",
    "Probability",
    "QuestionText",
    "RankStatus",
    "ReasonText",
    "ResponseMs",
    "SamplerName",
    "SiteKey",
    "SiteKeys",
    "SiteToken",
    "SkipReason",
    "SurveyId",
    "SurveyStatus",
    "Token",
    "TopK",
    "VoterId",
    "WorkProof",
    "check_distinct",
    "check_origins",
    "check_text",
    "parse",
    "registered",
]

# -- limits (characters, items) ------------------------------------------------------------
NAME_MAX = 200
"""An organiser's name."""
QUESTION_MAX = 300
DESCRIPTION_MAX = 5000
IDEA_MAX = 1000
"""Hard cap of an idea's text; each survey sets its own lower ``limits.idea_max_chars``."""
COMMENT_MAX = 2000
"""Hard cap of a comment; each survey sets its own ``limits.comment_max_chars``."""
REASON_MAX = 500
"""A moderation, flag or void reason."""
GROUP_MAX = 40
GROUPS_MAX = 50
ORIGIN_MAX = 200
ORIGINS_MAX = 100
REGISTRY_NAME_MAX = 40
TOKEN_MAX = 1024
IDEAS_PER_REQUEST_MAX = 1000
"""Ideas seeded with one ``create survey`` request."""
SITE_KEY_MAX = 4096
"""A PEM public key of the embedding site (an RSA-4096 key is ~800 characters)."""
SITE_KEYS_MAX = 3
"""Public keys a survey accepts site tokens from at once (room to rotate a key)."""
SITE_TOKEN_MAX = 4096
"""A site token (a JWT); an RS256 token with a few claims is ~600 characters."""

# -- constraint aliases ----------------------------------------------------------------------
_ID = r"^[A-Za-z0-9_-]+$"
SurveyId = Annotated[str, Meta(min_length=1, max_length=64, pattern=_ID)]
VoterId = Annotated[str, Meta(min_length=1, max_length=64, pattern=_ID)]
IdeaId = Annotated[int, Meta(ge=0)]
OrganiserName = Annotated[str, Meta(min_length=1, max_length=NAME_MAX)]
QuestionText = Annotated[str, Meta(min_length=1, max_length=QUESTION_MAX)]
DescriptionText = Annotated[str, Meta(max_length=DESCRIPTION_MAX)]
IdeaText = Annotated[str, Meta(min_length=1, max_length=IDEA_MAX)]
CommentText = Annotated[str, Meta(min_length=1, max_length=COMMENT_MAX)]
ReasonText = Annotated[str, Meta(max_length=REASON_MAX)]
GroupName = Annotated[str, Meta(min_length=1, max_length=GROUP_MAX)]
Groups = Annotated[list[GroupName], Meta(max_length=GROUPS_MAX)]
Origin = Annotated[str, Meta(min_length=1, max_length=ORIGIN_MAX, pattern=r"^https?://[^/\s]+$")]
"""The shape of an origin; :func:`check_origins` applies the exact rule with a readable error."""
Origins = Annotated[list[Origin], Meta(max_length=ORIGINS_MAX)]
ModelName = Annotated[str, Meta(min_length=1, max_length=REGISTRY_NAME_MAX)]
SamplerName = Annotated[str, Meta(min_length=1, max_length=REGISTRY_NAME_MAX)]
Token = Annotated[str, Meta(min_length=1, max_length=TOKEN_MAX)]
WorkProof = Annotated[str, Meta(min_length=1, max_length=2 * TOKEN_MAX)]
"""A solved proof-of-work challenge: base64 of the ALTCHA payload (challenge and solution)."""
SiteToken = Annotated[str, Meta(min_length=1, max_length=SITE_TOKEN_MAX)]
"""A JWT signed by the embedding site, naming its user (see :mod:`ranker.identity`)."""
SiteKey = Annotated[str, Meta(min_length=1, max_length=SITE_KEY_MAX)]
SiteKeys = Annotated[list[SiteKey], Meta(max_length=SITE_KEYS_MAX)]
Issuer = Annotated[str, Meta(min_length=1, max_length=ORIGIN_MAX)]
Probability = Annotated[float, Meta(ge=0.0, le=1.0)]
ResponseMs = Annotated[int, Meta(ge=0, le=86_400_000)]
LEVEL_MIN, LEVEL_MAX = 0.5, 1.0
Level = Annotated[float, Meta(ge=LEVEL_MIN, lt=LEVEL_MAX)]
TOP_K_MAX = 1000
TopK = Annotated[int, Meta(ge=1, le=TOP_K_MAX)]
"""The k of the survey's "settled top k" (the dashboard's settle card, the default sampler)."""
MARGIN_MIN, MARGIN_MAX = 0.5, 0.9
Margin = Annotated[float, Meta(gt=MARGIN_MIN, le=MARGIN_MAX)]
"""Indifference margin: ideas one is preferred to the other by less than this (e.g. 0.55 =
55/45) are practically tied (:mod:`algorithms.settle`)."""
"""Credibility level of intervals, rank ranges and tiers."""
FLAGGED_WEIGHT = 0.1
"""With a survey's ``down_weight_flagged``, each answer of a flagged voter counts this much in
the ranking (``bt``; ``docs/user-guide.md``, "Voters")."""
INFLUENCE_CAP = 3.0
"""Bounded influence: in the ``bt`` model one voter weighs at most as this many answers for any
one idea, and as many against it (``BTModel(influence_cap=...)``; ``docs/user-guide.md``, "One
person, one voice")."""
PLACE_MIN_VOTES = 5
"""An idea is *placed* (ranked among the others) once it has been in this many counted
answers: wins, losses and ties; skips do not count. Before that it is listed apart as "not
enough votes yet": its score would be mostly the prior's, so its place in the list would be
a guess (``docs/user-guide.md``, "Not enough votes yet")."""

# -- when a ranking is shown -------------------------------------------------------------------
GROUP_MIN_COMPARISONS = 5
"""A participant group's ranking is shown once its votes compare each active idea this many
times on average (``2 x votes >= GROUP_MIN_COMPARISONS x active ideas``: the bar for placing
one idea, on average); before that the group is ``too_few_votes`` (``no_votes`` without any),
and no order is shown for it."""
PERSONAL_MIN_VOTES = 3
"""A participant's own (blended) ranking is shown after this many votes (ties count, skips
do not); before that only the ideas they picked."""
PERSONAL_SPREAD = 1.0
"""Prior standard deviation (log-odds) of one participant's taste around the crowd's score of
an idea: how far their own ranking may move from everyone's before their votes say more."""
RankStatus = Literal["ranked", "too_few_votes", "no_votes"]
"""Whether a group's (or a participant's own) ranking is shown, by the rules above."""

SurveyStatus = Literal["draft", "open", "closed"]
IdeaStatus = Literal["pending", "active", "rejected", "retired"]
Author = Literal["organiser", "participant"]
Outcome = Literal["left", "right", "tie"]
Choice = Literal["left", "right", "tie", "skip"]
SkipReason = Literal["like_both", "dislike_both", "same", "dont_know", "other"]
ExportKind = Literal["votes", "skips", "ideas", "comments", "flags"]
IdentityMode = Literal["anonymous", "proof_of_work", "site"]
"""Who may become a voter: anyone (a free budget per client address, then proof of work),
anyone who solves a proof of work, or only users the embedding site vouches for."""

T = TypeVar("T")


def parse(type_: Any, value: object, field: str) -> Any:
    """``value`` converted to ``type_`` (a rule alias or Struct); ``invalid_input`` naming
    ``field`` when it breaks the rule."""
    try:
        return msgspec.convert(value, type_, strict=True)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"{field}: {exc}", field=field) from None


def check_text(
    field: str, value: object, max_len: int, *, allow_empty: bool = False, multiline: bool = False
) -> str:
    """``value`` neutralised and checked; raises ``text_empty`` / ``text_too_long`` /
    ``invalid_input`` naming ``field``.

    Neutralised (:func:`ranker.text.neutralise`): control characters (C0, C1, DEL) and bidi
    controls (U+202A-U+202E, U+2066-U+2069, LRM, RLM, ALM) are dropped, tabs and line breaks
    become spaces (a ``multiline`` text keeps its line breaks as ``\\n``), the text is put in
    NFC and stripped. Zero-width joiners stay (emoji sequences, Persian and Indic scripts need
    them), but a text with no visible character (only spaces, joiners, zero-width or bidi
    characters) is empty: refused, or ``""`` when ``allow_empty``. The length limit applies to
    the cleaned text.

    >>> check_text("idea", "  More \\u202eevil\\u202c clinics\\t", 100)
    'More evil clinics'
    >>> check_text("idea", "\\u200b\\u200d\\u2066", 100)
    Traceback (most recent call last):
    ...
    ranker.errors.TextEmpty: idea has no visible character
    """
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be a string", field=field)
    text = neutralise(value, multiline=multiline)
    if text and not visible(text):
        if not allow_empty:
            raise TextEmpty(f"{field} has no visible character", field=field)
        text = ""
    if not text and not allow_empty:
        raise TextEmpty(f"{field} must not be empty", field=field)
    if len(text) > max_len:
        raise TextTooLong(
            f"{field} is {len(text)} characters; the limit is {max_len}",
            field=field,
            limit=max_len,
        )
    return text


def check_distinct(field: str, texts: list[str]) -> None:
    """Refuse (``duplicate_idea``) a list of texts in which one repeats an earlier one: the same
    :func:`ranker.text.text_key` (texts with no letters, digits or symbols are not compared)."""
    seen: dict[str, int] = {}
    for i, text in enumerate(texts):
        key = text_key(text)
        if key and key in seen:
            raise DuplicateIdea(
                f"{field}[{i}] repeats {field}[{seen[key]}]", field=f"{field}[{i}]", idea=None
            )
        seen.setdefault(key, i)


_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PORT = r"(?::(?:6553[0-5]|655[0-2]\d|65[0-4]\d\d|6[0-4]\d{3}|[1-5]\d{4}|[1-9]\d{0,3}))?"
_ORIGIN = re.compile(rf"https?://(?:{_LABEL}(?:\.{_LABEL})*|\[[0-9A-Fa-f:.]+\]){_PORT}")


def check_origins(origins: list[str]) -> list[str]:
    """Origins a survey may be embedded on: exactly ``http(s)://host[:port]`` (a host name,
    an IPv4 address or a bracketed IPv6 address; port 1-65535), each listed once. No path,
    no wildcard (``https://*`` would let any site frame the widget), no separator that could
    smuggle another directive into the Content-Security-Policy (``;``, ``,``, quotes).

    >>> check_origins(["https://clinic.example", "http://localhost:8000"])
    ['https://clinic.example', 'http://localhost:8000']
    >>> check_origins(["https://a.example;script-src"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ranker.errors.InvalidInput: embed_origins[0]: 'https://a.example;script-src' is not an origin...
    """
    for i, o in enumerate(origins):
        if not _ORIGIN.fullmatch(o):
            raise InvalidInput(
                f"embed_origins[{i}]: {o!r} is not an origin: http(s)://host[:port], nothing "
                "else (no path, wildcard, separator or quote; port 1-65535)",
                field="embed_origins",
            )
    if len(set(origins)) != len(origins):
        raise InvalidInput("embed_origins must be distinct", field="embed_origins")
    return origins


def registered(kind: Literal["model", "sampler"], name: object) -> str:
    """``name`` if :mod:`algorithms` registers a ``kind`` of that name, else ``invalid_input``
    naming the known names (never a quiet switch to another model or sampler)."""
    from algorithms import MODELS, SAMPLERS, UnknownName

    try:
        return (MODELS if kind == "model" else SAMPLERS).check(name)
    except UnknownName as exc:
        raise InvalidInput(str(exc), field=kind) from None
