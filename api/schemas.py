"""HTTP request and response bodies (msgspec Structs).

Domain types from :mod:`ranker.domain` are reused where the wire shape is the domain shape
(``Survey``, ``Idea``, ``Results``...); the types here are the API's own: public views that hide
owner/voter ids, request bodies, and small envelopes. Constraints are ``Annotated`` aliases so they
appear in the OpenAPI document.
"""

from __future__ import annotations

import math

import msgspec

from ranker.domain import (
    Answer,
    Comment,
    Flag,
    Idea,
    Identity,
    Limits,
    Results,
    Survey,
    SurveyPatch,
    SurveySpec,
    TopKEstimate,
)
from ranker.groups import GROUP_MODEL, GroupDisagreement, GroupShift
from ranker.integrity import FlaggedVoter
from ranker.languages import IdeaTranslations, SurveyTranslation
from ranker.proof_of_work import Challenge
from ranker.rules import (
    Choice,
    CommentText,
    GroupName,
    IdeaStatus,
    IdeaText,
    IdentityMode,
    OrganiserName,
    RankStatus,
    ReasonText,
    SiteToken,
    SkipReason,
    SurveyStatus,
    Token,
    WorkProof,
)

__all__ = [
    "AnswerIn",
    "AnswerOut",
    "BallotIn",
    "BallotOut",
    "CommentIn",
    "CommentsOut",
    "FlagIn",
    "FlaggedVoters",
    "GroupResultsOut",
    "HealthOut",
    "IdeaIn",
    "IdeaList",
    "IdeaPatch",
    "IdentityIn",
    "ImportOut",
    "LimitsIn",
    "OrganiserIn",
    "OrganiserOut",
    "PublicComment",
    "PublicComments",
    "PublicIdea",
    "PublicSurvey",
    "RankedIdea",
    "ResultsOut",
    "StreamTicket",
    "SurveyList",
    "SurveyPatchIn",
    "SurveySpecIn",
    "UndoOut",
    "VoidIn",
    "VoidOut",
    "VoterIn",
    "VoterOut",
    "results_out",
]


# -- voters ---------------------------------------------------------------------------
class PublicSurvey(msgspec.Struct, frozen=True, kw_only=True):
    """What the widget needs to show a survey (no owner, no settings beyond display)."""

    id: str
    question: str
    description: str
    status: SurveyStatus
    allow_ideas: bool
    show_results: bool
    groups: list[str]
    idea_max_chars: int
    comment_max_chars: int
    identity: IdentityMode = "anonymous"
    """Who may vote: ``anonymous`` (work past a free budget), ``proof_of_work`` or ``site``."""
    language: str = ""
    """The survey's language (BCP 47; ``""``: none): the widget's language when set."""
    translations: dict[str, SurveyTranslation] = msgspec.field(default_factory=dict)
    """Question and description per language (``""``: not translated)."""


class VoterIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A new voter's request; what it must carry depends on the survey's identity mode."""

    group: GroupName | None = None
    proof: WorkProof | None = None
    """A solved ``GET .../voters/challenge``: ``proof_of_work`` mode, or after proof_required."""
    site_token: SiteToken | None = None
    """``site`` mode: the JWT the embedding site signed for its signed-in user."""


class VoterOut(msgspec.Struct, frozen=True, kw_only=True):
    voter_id: str
    token: str
    """Send as the ``X-Voter-Token`` header on voter routes."""
    group: str | None
    challenge: Challenge | None = None
    """``proof_of_work`` mode: the challenge for the first pair (else ``null``)."""


class BallotIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    proof: WorkProof | None = None
    """``proof_of_work`` mode: the solved ``challenge`` of the last ballot (or new voter)."""


class PublicIdea(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    text: str
    translations: dict[str, str] = msgspec.field(default_factory=dict)
    """The text in other languages (the widget shows the voter's where there is one)."""


class BallotOut(msgspec.Struct, frozen=True, kw_only=True):
    ballot: str
    """Signed single-use token; send it back in the answer."""
    survey_id: str
    left: PublicIdea
    right: PublicIdea
    expires: float
    challenge: Challenge | None = None
    """``proof_of_work`` mode: the challenge for the *next* pair, solved while this one shows."""


class AnswerIn(Answer, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An :class:`~ranker.domain.Answer` (choice; reason with skip only; response_ms) to it."""

    ballot: Token
    next: bool = False
    """Also return the voter's next ballot (saves the widget one round trip per vote)."""
    proof: WorkProof | None = None
    """``proof_of_work`` mode with ``next: true``: that pair's proof, as ``POST .../ballots``."""


class AnswerOut(msgspec.Struct, frozen=True, kw_only=True):
    """The receipt of an answer; with ``next: true`` also the voter's next ballot."""

    seq: int
    """Log position of the answer (the same for an identical retry)."""
    ballot: str
    """The answered ballot's id."""
    choice: Choice
    reason: SkipReason | None = None
    left: int
    right: int
    ts: float
    next: BallotOut | None = None
    """The next pair when the request asked for it and one is available, else null."""


class UndoOut(msgspec.Struct, frozen=True, kw_only=True):
    undone_seq: int


class IdeaIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    text: IdeaText


class CommentIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    text: CommentText


class FlagIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    reason: ReasonText = ""


class PublicComment(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    idea_id: int
    text: str
    created: float


class PublicComments(msgspec.Struct, frozen=True, kw_only=True):
    comments: list[PublicComment]


# -- organisers -----------------------------------------------------------------------
class OrganiserIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: OrganiserName


class OrganiserOut(msgspec.Struct, frozen=True, kw_only=True):
    organiser_id: str
    name: str
    api_key: str
    """Shown once; only its hash is stored."""


class SurveyList(msgspec.Struct, frozen=True, kw_only=True):
    surveys: list[Survey]


class LimitsIn(Limits, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """:class:`~ranker.domain.Limits` as a request sends them: an unknown limit (a typo such as
    ``answer_per_minute``) is refused, not silently dropped. The domain type stays lenient, as
    the event log needs (a newer version's limit must not break an older reader)."""


class IdentityIn(Identity, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """:class:`~ranker.domain.Identity` as a request sends it: a misspelt setting (``mdoe``)
    is refused rather than leaving the survey open to anyone."""


class SurveySpecIn(SurveySpec, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A new survey (:class:`~ranker.domain.SurveySpec`), strict down to its ``limits``."""

    limits: LimitsIn | None = None
    identity: IdentityIn | None = None


class SurveyPatchIn(SurveyPatch, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Settings to change (:class:`~ranker.domain.SurveyPatch`, an event-log type that must stay
    lenient); as a request body an unknown field, here or in ``limits``, is refused."""

    limits: LimitsIn | None = None
    identity: IdentityIn | None = None


class IdeaList(msgspec.Struct, frozen=True, kw_only=True):
    ideas: list[Idea]


class IdeaPatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    text: IdeaText | None = None
    translations: IdeaTranslations | None = None
    """Replaces the idea's translations, ``{"cy": "..."}`` (``{}``: none)."""
    status: IdeaStatus | None = None
    """``active`` approves (or reinstates), ``rejected`` rejects, ``retired`` retires."""
    reason: ReasonText = ""


class ImportOut(msgspec.Struct, frozen=True, kw_only=True):
    added: int
    ideas: list[Idea]


class CommentsOut(msgspec.Struct, frozen=True, kw_only=True):
    comments: list[Comment]
    flags: list[Flag]


class RankedIdea(msgspec.Struct, frozen=True, kw_only=True):
    """One row of the ranking. Scores are natural log-odds; ``low``/``high`` bound the interval
    at ``level``; a value the model cannot bound (e.g. an idea nobody has compared yet under a
    model without a prior) is ``null`` rather than a non-JSON infinity."""

    idea: int
    text: str
    status: IdeaStatus
    score: float | None
    low: float | None
    high: float | None
    rank: int
    rank_lo: int
    rank_hi: int
    tier: int
    p_beats_random: float | None
    wins: int
    losses: int
    ties: int
    skips: int
    shown_left: int
    shown_right: int
    placed: bool = True
    """``false``: not enough votes yet to place the idea (too few answers); it is listed after
    the placed ideas, with ``tier`` 0, and is not part of their ranks or tiers."""


class ResultsOut(msgspec.Struct, frozen=True, kw_only=True):
    """Ranked ideas of a survey (or one group, or one voter) and, for the whole survey, the
    estimate of answers still needed to settle the top ``k``."""

    survey: str
    model: str
    level: float
    n_votes: int
    n_skips: int
    n_voters: int
    seq: int
    """Log position the results reflect."""
    group: str | None = None
    voter: str | None = None
    ideas: list[RankedIdea] = msgspec.field(default_factory=list)
    votes_needed: TopKEstimate | None = None
    status: RankStatus | None = None
    """A group's: ``ranked``, ``too_few_votes`` or ``no_votes`` (then ``ideas`` is empty)."""
    votes_to_rank: int | None = None
    """A group's: the votes it needs before it is ranked."""
    vs_overall: list[GroupShift] | None = None
    """A ranked group's: per idea, its score minus the overall score, and whether that
    difference is credible at ``level``."""
    down_weighted: int = 0
    """Flagged voters counted a tenth (the survey's ``down_weight_flagged``)."""


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def results_out(r: Results, votes_needed: TopKEstimate | None = None) -> ResultsOut:
    """The wire form of the core's :class:`~ranker.domain.Results` (non-finite floats -> null)."""
    ideas = [
        RankedIdea(
            idea=i.idea,
            text=i.text,
            status=i.status,
            score=_finite(i.score),
            low=_finite(i.low),
            high=_finite(i.high),
            rank=i.rank,
            rank_lo=i.rank_lo,
            rank_hi=i.rank_hi,
            tier=i.tier,
            p_beats_random=_finite(i.p_beats_random),
            wins=i.wins,
            losses=i.losses,
            ties=i.ties,
            skips=i.skips,
            shown_left=i.shown_left,
            shown_right=i.shown_right,
            placed=i.placed,
        )
        for i in r.ideas
    ]
    return ResultsOut(
        survey=r.survey,
        model=r.model,
        level=r.level,
        n_votes=r.n_votes,
        n_skips=r.n_skips,
        n_voters=r.n_voters,
        seq=r.seq,
        group=r.group,
        voter=r.voter,
        ideas=ideas,
        votes_needed=votes_needed,
        down_weighted=r.down_weighted,
    )


class GroupResultsOut(msgspec.Struct, frozen=True, kw_only=True):
    """Every group's ranking, from one joint fit of ``model`` (``group-bt``)."""

    groups: dict[str, ResultsOut]
    model: str = GROUP_MODEL
    spread: float | None = None
    """Fitted between-group standard deviation of the scores (log-odds; 0: no group differs)."""
    disagreements: list[GroupDisagreement] = msgspec.field(default_factory=list)
    """Credible differences between two ranked groups on one idea, largest first."""


class VoidIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    reason: ReasonText = ""


class VoidOut(msgspec.Struct, frozen=True, kw_only=True):
    voter_id: str
    voided: int


class FlaggedVoters(msgspec.Struct, frozen=True, kw_only=True):
    """Voters the integrity rules flag, most suspicious first."""

    voters: list[FlaggedVoter]


class StreamTicket(msgspec.Struct, frozen=True, kw_only=True):
    ticket: str
    expires: float


class HealthOut(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    status: str
    store: str | None = None
