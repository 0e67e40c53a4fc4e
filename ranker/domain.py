"""Domain types of the voting core: msgspec Structs over the rule aliases of :mod:`ranker.rules`.

The event log, the core's use cases and the API's request and response bodies share these
types, so each rule is stated once (in :mod:`ranker.rules`) and msgspec enforces it wherever
a value is decoded.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from ranker.estimates import OrderEstimate, Place, TopKEstimate
from ranker.languages import IdeaTranslations, LanguageSetting, SurveyTranslations
from ranker.rules import (
    COMMENT_MAX,
    IDEA_MAX,
    IDEAS_PER_REQUEST_MAX,
    Author,
    Choice,
    CommentText,
    DescriptionText,
    Groups,
    IdeaId,
    IdeaStatus,
    IdeaText,
    IdentityMode,
    Issuer,
    Margin,
    ModelName,
    Origins,
    Probability,
    QuestionText,
    ReasonText,
    ResponseMs,
    SamplerName,
    SiteKeys,
    SkipReason,
    SurveyId,
    SurveyStatus,
    TopK,
    VoterId,
)

__all__ = [
    "Answer",
    "AnswerReceipt",
    "Ballot",
    "Comment",
    "Flag",
    "Idea",
    "IdeaResult",
    "Identity",
    "Limits",
    "OrderEstimate",
    "Organiser",
    "Place",
    "Results",
    "Survey",
    "SurveyPatch",
    "SurveySpec",
    "TopKEstimate",
    "Voter",
]


class Limits(msgspec.Struct, frozen=True, kw_only=True):
    """Per-survey limits. ``0`` for ``answers_per_minute`` disables the rate limit."""

    answers_per_minute: Annotated[int, Meta(ge=0, le=100_000)] = 120
    ideas_per_voter: Annotated[int, Meta(ge=0, le=100_000)] = 10
    idea_max_chars: Annotated[int, Meta(ge=1, le=IDEA_MAX)] = 280
    comment_max_chars: Annotated[int, Meta(ge=1, le=COMMENT_MAX)] = 1000
    ballot_ttl_s: Annotated[int, Meta(ge=1, le=7 * 86_400)] = 3600
    undo_window_s: Annotated[int, Meta(ge=0, le=86_400)] = 120
    open_ballots_per_voter: Annotated[int, Meta(ge=1, le=1000)] = 3
    """A ballot stays answerable for this many answers of its voter: a stack of ballots
    collected without answering cannot be answered in bulk (the oldest die first)."""


class Identity(msgspec.Struct, frozen=True, kw_only=True):
    """Who may become a voter of a survey, from open to strict (``docs/user-guide.md``, "Who may
    vote"; checked by :mod:`ranker.identity`).

    ``anonymous``: anyone; a client address (an IPv4 address, an IPv6 /64) gets
    ``free_per_10min`` and ``free_per_day`` new voters without work, and past either budget each
    new voter from it first solves a proof of work, so a school behind one address is slowed,
    never locked out. ``proof_of_work``: every new voter solves one. ``site``: only users of
    the embedding site, who bring a token the site signed with a key whose public half is in
    ``site_keys``; one voter per site user, whatever the device.
    """

    mode: IdentityMode = "anonymous"
    free_per_10min: Annotated[int, Meta(ge=0, le=100_000)] = 20
    """``anonymous``: new voters per client address per 10 minutes that need no work."""
    free_per_day: Annotated[int, Meta(ge=0, le=1_000_000)] = 100
    """``anonymous``: new voters per client address per day that need no work."""
    work: Annotated[int, Meta(ge=1, le=1_000_000)] = 4000
    """Proof-of-work difficulty: the key derivations (PBKDF2-SHA-256, 1,000 iterations each) a
    new voter's browser computes on average; ~1 s of one desktop core at 4000."""
    ballot_work: Annotated[int, Meta(ge=0, le=100_000)] = 300
    """``proof_of_work``: the key derivations every further pair costs (``0``: none). The
    widget solves the next pair's challenge while the voter reads the current one, so an honest
    voter does not wait; a script harvesting ballots pays for each (:mod:`ranker.ballot_proof`)."""
    site_keys: SiteKeys = msgspec.field(default_factory=list)
    """``site``: PEM public keys (EC P-256/P-384, Ed25519 or RSA >= 2048 bits) of the site."""
    site_issuer: Issuer | None = None
    """``site``: the ``iss`` every site token must carry (``None``: not checked)."""
    site_token_max_age_s: Annotated[int, Meta(ge=30, le=86_400)] = 3600
    """``site``: the longest lifetime (``exp - iat``) and age a site token may have."""


class Survey(msgspec.Struct, frozen=True, kw_only=True):
    """A challenge: one question, a pool of ideas, a model and a sampler."""

    id: SurveyId
    owner: str
    question: QuestionText
    description: DescriptionText = ""
    status: SurveyStatus = "draft"
    model: ModelName = "bt"
    sampler: SamplerName = "adaptive"
    allow_ideas: bool = True
    moderate_ideas: bool = True
    groups: Groups = msgspec.field(default_factory=list)
    embed_origins: Origins = msgspec.field(default_factory=list)
    show_results_to_voters: bool = False
    limits: Limits = msgspec.field(default_factory=Limits)
    top_k: TopK = 10
    """The "settled top k" the dashboard reports on and the default sampler pursues."""
    margin: Margin = 0.55
    """Ideas preferred by less than this (55/45) are practically tied."""
    created: float = 0.0
    identity: Identity = msgspec.field(default_factory=Identity)
    language: LanguageSetting = ""
    """The survey's language (BCP 47): the widget's language for everyone when set."""
    translations: SurveyTranslations = msgspec.field(default_factory=dict)
    """Question and description per language (:mod:`ranker.languages`)."""
    down_weight_flagged: bool = False
    """Count the answers of voters the integrity rules flag a tenth in the ranking
    (:data:`~ranker.rules.FLAGGED_WEIGHT`; ``bt`` only); off: evidence for the organiser only."""
    verify_voters: bool = True
    """Show a voter whose answers do not yet tell a person from a random clicker a few clear
    pairs, from their 20th answer until they do (``adaptive`` and ``settle``;
    :data:`~ranker.sampling.VERIFY_SHARE`); off: the sampler picks for the ranking only."""


class SurveySpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What an organiser sends to create a survey (``None``: the default model / sampler)."""

    question: QuestionText
    description: DescriptionText = ""
    model: ModelName | None = None
    sampler: SamplerName | None = None
    allow_ideas: bool = True
    moderate_ideas: bool = True
    groups: Groups = msgspec.field(default_factory=list)
    embed_origins: Origins = msgspec.field(default_factory=list)
    show_results_to_voters: bool = False
    limits: Limits | None = None
    identity: Identity | None = None
    top_k: TopK = 10
    margin: Margin = 0.55
    down_weight_flagged: bool = False
    verify_voters: bool = True
    language: LanguageSetting = ""
    translations: SurveyTranslations = msgspec.field(default_factory=dict)
    ideas: Annotated[list[IdeaText], Meta(max_length=IDEAS_PER_REQUEST_MAX)] = msgspec.field(
        default_factory=list
    )
    open: bool = False
    """Open the survey at once (needs no separate ``open`` call)."""


class SurveyPatch(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Changed settings of a survey; ``None`` means unchanged."""

    question: QuestionText | None = None
    description: DescriptionText | None = None
    model: ModelName | None = None
    sampler: SamplerName | None = None
    allow_ideas: bool | None = None
    moderate_ideas: bool | None = None
    groups: Groups | None = None
    embed_origins: Origins | None = None
    show_results_to_voters: bool | None = None
    limits: Limits | None = None
    identity: Identity | None = None
    top_k: TopK | None = None
    margin: Margin | None = None
    down_weight_flagged: bool | None = None
    verify_voters: bool | None = None
    language: LanguageSetting | None = None
    """``""`` removes the setting."""
    translations: SurveyTranslations | None = None
    """Replaces all translations (``{}`` removes them)."""


class Idea(msgspec.Struct, frozen=True, kw_only=True):
    """One idea; ``id`` is its dense index in the survey (0, 1, 2, ... in log order)."""

    id: IdeaId
    text: IdeaText
    author: Author = "organiser"
    voter: str | None = None
    status: IdeaStatus = "active"
    created: float = 0.0
    similar_to: IdeaId | None = None
    """An earlier idea this one nearly repeats (:func:`ranker.text.similar_keys`), found when
    it was added: a participant's such idea waits for the moderator."""
    translations: IdeaTranslations = msgspec.field(default_factory=dict)
    """The text in other languages, entered by the organiser (:mod:`ranker.languages`)."""


class Voter(msgspec.Struct, frozen=True, kw_only=True):
    """An anonymous participant of one survey, with an optional group."""

    id: VoterId
    survey: SurveyId
    group: str | None = None
    token: str = ""
    client: str = ""
    """Pseudonym of the client address the voter was created from (empty: unknown)."""


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
    """A voter's answer to a ballot; ``reason`` only for ``skip`` (checked on construction and
    on decoding, so an ``Answer`` in hand is valid)."""

    choice: Choice
    reason: SkipReason | None = None
    reason_text: ReasonText = ""
    """The voter's own words for a skip ("I can't decide → Other…"), kept for the organiser."""
    response_ms: ResponseMs | None = None

    def __post_init__(self) -> None:
        if self.reason is not None and self.choice != "skip":
            raise ValueError("reason is only for choice 'skip'")
        if self.reason_text and self.choice != "skip":
            raise ValueError("reason_text is only for choice 'skip'")


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
    placed: bool = True
    """``False``: too few answers to place it (``rules.PLACE_MIN_VOTES``). Such ideas come
    after the placed ones, with ``rank`` after theirs, ``rank_lo..rank_hi`` the whole list
    (not estimated) and ``tier`` 0 (in no tier); ranks, rank ranges and tiers of the placed
    ideas are among the placed ideas only."""


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
    down_weighted: int = 0
    """Flagged voters whose answers count a tenth here (the survey's ``down_weight_flagged``)."""
