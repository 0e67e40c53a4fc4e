"""Domain errors of the voting core.

Every error carries a stable machine-readable ``code`` (never reworded once
published) and a human message. They know nothing of HTTP: ``api/`` maps each
``code`` to a status and an RFC 9457 problem document.

>>> from ranker.errors import BallotUsed
>>> BallotUsed("ballot already answered").code
'ballot_used'
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "ERRORS",
    "BadToken",
    "BallotExpired",
    "BallotNotFound",
    "BallotUsed",
    "DuplicateIdea",
    "Forbidden",
    "IdeaInactive",
    "IdeaNotFound",
    "IdeasNotAllowed",
    "InvalidInput",
    "LimitReached",
    "NoPairAvailable",
    "NothingToUndo",
    "ProofInvalid",
    "ProofRequired",
    "RankerError",
    "RateLimited",
    "SiteTokenInvalid",
    "SiteTokenRequired",
    "StaleCheck",
    "StoreError",
    "SurveyClosed",
    "SurveyExists",
    "SurveyNotFound",
    "TextEmpty",
    "TextTooLong",
    "Unauthorized",
    "UndoExpired",
    "VoterNotFound",
    "VoterVoided",
    "WrongVoter",
]


class RankerError(Exception):
    """Base class of every domain error; ``code`` is stable, ``message`` is for humans.

    ``detail`` holds extra machine-readable facts (for example ``retry_after``).
    """

    code: ClassVar[str] = "ranker_error"

    def __init__(self, message: str = "", **detail: Any) -> None:
        super().__init__(message or self.code)
        self.message = message or self.code
        self.detail: dict[str, Any] = detail

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class InvalidInput(RankerError):
    """A value is malformed or out of range (the message names the field)."""

    code = "invalid_input"


class TextEmpty(InvalidInput):
    """A required text is empty or only whitespace."""

    code = "text_empty"


class TextTooLong(InvalidInput):
    """A text exceeds its length limit."""

    code = "text_too_long"


class SurveyNotFound(RankerError):
    """No survey with this id."""

    code = "survey_not_found"


class SurveyExists(RankerError):
    """A survey with this id already exists (ids are random; this means a retry)."""

    code = "survey_exists"


class IdeaNotFound(RankerError):
    """No idea with this id in the survey."""

    code = "idea_not_found"


class DuplicateIdea(RankerError):
    """The idea repeats one the survey already has (not rejected): the same words once case,
    spacing, punctuation, invisible characters and look-alike letters are set aside
    (:func:`ranker.text.text_key`); ``detail['idea']`` is the existing idea's id (``None``
    for a repeat within one import)."""

    code = "duplicate_idea"


class IdeaInactive(RankerError):
    """An idea on the ballot was retired, rejected or is awaiting moderation since it was
    shown: the answer is refused (ask for a new pair)."""

    code = "idea_inactive"


class VoterNotFound(RankerError):
    """No voter with this id has answered in the survey."""

    code = "voter_not_found"


class BallotNotFound(RankerError):
    """The ballot names ideas or a survey that do not exist (e.g. issued elsewhere)."""

    code = "ballot_not_found"


class BadToken(RankerError):
    """A ballot or voter token is malformed or its signature does not verify."""

    code = "bad_token"


class WrongVoter(RankerError):
    """The ballot was issued to another voter."""

    code = "wrong_voter"


class BallotExpired(RankerError):
    """The ballot is past its expiry time."""

    code = "ballot_expired"


class BallotUsed(RankerError):
    """The ballot was already answered with a different answer."""

    code = "ballot_used"


class SurveyClosed(RankerError):
    """The survey is not open (draft or closed) for this operation."""

    code = "survey_closed"


class RateLimited(RankerError):
    """Too many answers by this voter in the current window; see ``detail['retry_after']``."""

    code = "rate_limited"


class NoPairAvailable(RankerError):
    """Fewer than two active ideas: there is nothing to compare."""

    code = "no_pair_available"


class NothingToUndo(RankerError):
    """The voter has no answer left that could be undone."""

    code = "nothing_to_undo"


class UndoExpired(RankerError):
    """The last answer is older than the undo window."""

    code = "undo_expired"


class VoterVoided(RankerError):
    """The organiser voided this voter; their answers are no longer accepted."""

    code = "voter_voided"


class IdeasNotAllowed(RankerError):
    """The survey does not accept ideas from participants."""

    code = "ideas_not_allowed"


class LimitReached(RankerError):
    """A per-survey or per-voter quota (ideas per voter, ideas per survey) is used up."""

    code = "limit_reached"


class ProofRequired(RankerError):
    """A new voter must first solve a proof of work: the survey asks it of everyone, or this
    client address used up its free new voters (ask for a challenge, solve it, send it)."""

    code = "proof_required"


class ProofInvalid(RankerError):
    """The proof of work is malformed, does not verify, has expired or names another survey."""

    code = "proof_invalid"


class SiteTokenRequired(RankerError):
    """The survey takes voters only from its embedding site: send the token the site signed."""

    code = "site_token_required"


class SiteTokenInvalid(RankerError):
    """The site token is malformed, its signature does not verify with the survey's site keys,
    or its audience, issuer or times are wrong."""

    code = "site_token_invalid"


class Unauthorized(RankerError):
    """No or an unknown organiser API key."""

    code = "unauthorized"


class Forbidden(RankerError):
    """The organiser does not own this survey."""

    code = "forbidden"


class StoreError(RankerError):
    """The storage backend failed or is misconfigured (not the caller's fault)."""

    code = "store_error"


class StaleCheck(RankerError):
    """The store refused a conditional append: an event that can change what is accepted
    (a *gate*: survey status or settings, idea status, a voided voter) was logged after the
    log position the caller checked its rules at (``detail['gate']``). Nothing was written.

    Internal: the voting core catches it, catches up with the log, checks again and retries;
    it never reaches a client.
    """

    code = "stale_check"


def _all_errors() -> dict[str, type[RankerError]]:
    out: dict[str, type[RankerError]] = {}
    todo: list[type[RankerError]] = [RankerError]
    while todo:
        cls = todo.pop()
        out[cls.code] = cls
        todo.extend(cls.__subclasses__())
    return out


ERRORS: dict[str, type[RankerError]] = _all_errors()
"""Every error class by its ``code`` (for the API's problem table and docs)."""
