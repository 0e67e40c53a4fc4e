"""Pair and answer routes under ``/v1/public/surveys/{survey_id}`` (the voter router's vote path).

``POST .../ballots`` and ``POST .../answers`` with ``next: true`` hand out ballots through one
function, :func:`ballot_out`, which in ``proof_of_work`` mode first spends the proof of work
the pair costs (:mod:`ranker.ballot_proof`) and gives the challenge for the next one.
"""

from __future__ import annotations

from litestar import Response, delete, get, post
from litestar.params import FromPath, JSONBody

from api.auth import VOTER
from api.deps import CurrentVoter, Identities, Voting
from api.openapi import OptionalBody
from api.problems import ApiError, responses
from api.responses import NoStoreJSON
from api.schemas import AnswerIn, AnswerOut, BallotIn, BallotOut, PublicIdea, UndoOut
from ranker import identity
from ranker import voting as core_voting
from ranker.domain import Survey, Voter
from ranker.errors import NoPairAvailable, ProofInvalid, SurveyClosed, VoterVoided
from ranker.projection import Projection
from ranker.proof_of_work import Challenge

__all__ = ["answer", "ballot_challenge", "next_ballot", "undo"]

NO_STORE = {"Cache-Control": "no-store"}


def _projection(voting: core_voting.Voting, survey_id: str) -> Projection:
    """The survey's projection as the vote path reads it: the follower's, or one caught up
    within ``max_staleness_s`` (no store read when either is fresh)."""
    return voting.repo.get(survey_id, voting.max_staleness_s, followed=True)


def _survey(voting: core_voting.Voting, survey_id: str) -> Survey:
    survey = _projection(voting, survey_id).survey
    assert survey is not None
    return survey


def ballot_out(
    voting: core_voting.Voting,
    identities: identity.Identities,
    survey_id: str,
    voter: Voter,
    proof: str | None,
) -> BallotOut:
    """The voter's next ballot; in ``proof_of_work`` mode first spends ``proof`` (the one place
    every ballot the API hands out passes), and the ballot carries the next pair's challenge."""
    survey = _survey(voting, survey_id)
    if survey.status == "open":  # a closed survey says so, whatever the proof
        identities.ballots.spend(survey, voter.id, proof)
    ballot = voting.next_ballot(survey_id, voter)
    # the ideas' translations: as fresh as the projection the ballot was drawn from (ideas
    # are only ever appended), without the store read a fully caught-up get costs
    ideas = _projection(voting, survey_id).ideas
    return BallotOut(
        ballot=ballot.token,
        survey_id=survey_id,
        left=PublicIdea(
            id=ballot.left, text=ballot.left_text, translations=ideas[ballot.left].translations
        ),
        right=PublicIdea(
            id=ballot.right, text=ballot.right_text, translations=ideas[ballot.right].translations
        ),
        expires=ballot.expires,
        challenge=identities.ballots.challenge(survey, voter.id),
    )


@post(
    "/ballots",
    summary="Next pair for this voter (a signed single-use ballot)",
    description="In `proof_of_work` mode (with `identity.ballot_work` > 0) every pair costs a "
    "small proof of work: send as `proof` the solved `challenge` that came with the voter's "
    "previous ballot (or with the new voter, or from `GET .../ballots/challenge`); each proof "
    "buys one pair (`403 proof_required` without one, `400 proof_invalid` if it does not "
    "verify, was issued to another voter, has expired or was spent already). Each ballot "
    "carries the challenge for the next pair, so the widget solves it while this one shows.",
    status_code=201,
    security=VOTER,
    operation_class=OptionalBody,
    responses=responses(400, 401, 403, 404, 409),
    response_class=NoStoreJSON,
    sync_to_thread=False,
)
def next_ballot(
    survey_id: FromPath[str],
    voting: Voting,
    identities: Identities,
    voter: CurrentVoter,
    data: JSONBody[BallotIn | None] = None,
) -> BallotOut:
    return ballot_out(voting, identities, survey_id, voter, data.proof if data else None)


@get(
    "/ballots/challenge",
    summary="A proof-of-work challenge for this voter's next pair",
    description="`proof_of_work` mode: a fresh challenge for the voter's next pair, for a "
    "client that holds none (a returning voter, a proof that expired or was refused). Every "
    "ballot already carries the next one. `404 not_found` where pairs cost no proof.",
    security=VOTER,
    responses=responses(401, 404, 409),
    sync_to_thread=False,
)
def ballot_challenge(
    survey_id: FromPath[str], voting: Voting, identities: Identities, voter: CurrentVoter
) -> Response[Challenge]:
    survey = _survey(voting, survey_id)
    if survey.status != "open":
        raise ApiError("survey_closed", f"survey is {survey.status}")
    challenge = identities.ballots.challenge(survey, voter.id)
    if challenge is None:
        raise ApiError("not_found", "this survey asks no proof of work for its pairs")
    return Response(challenge, headers=NO_STORE)


@post(
    "/answers",
    summary="Answer a ballot: left, right, tie or skip (+ reason)",
    description="Atomic. An identical retry returns the original receipt (same `seq`); "
    "a different answer to a used ballot is refused with `ballot_used`. With `next: true` the "
    "response also carries the voter's next ballot (`null` if the survey has none to give), "
    "so a voting widget needs one request per vote. In `proof_of_work` mode `next: true` "
    "needs the next pair's `proof`, checked before the answer is written; `next` is `null` "
    "if that proof was spent already (an identical retry).",
    status_code=201,
    security=VOTER,
    responses=responses(400, 401, 403, 404, 409, 410, 429),
    response_class=NoStoreJSON,
)
async def answer(
    survey_id: FromPath[str],
    data: JSONBody[AnswerIn],
    voting: Voting,
    identities: Identities,
    voter: CurrentVoter,
) -> AnswerOut:
    if data.next:  # a missing or bad proof for the next pair: refused before anything is written
        identities.ballots.check(_survey(voting, survey_id), voter.id, data.proof)
    # awaited: on Redis the worker serves other requests while the answer script runs
    r = await voting.answer_async(survey_id, voter, data.ballot, data)
    following = None
    if data.next:
        try:
            following = ballot_out(voting, identities, survey_id, voter, data.proof)
        except (SurveyClosed, NoPairAvailable, VoterVoided, ProofInvalid):
            following = None  # the answer stands; the widget shows its end state
    return AnswerOut(
        seq=r.seq,
        ballot=r.ballot,
        choice=r.choice,
        reason=r.reason,
        left=r.left,
        right=r.right,
        ts=r.ts,
        next=following,
    )


@delete(
    "/answers/last",
    summary="Undo this voter's last answer (within the undo window)",
    status_code=200,
    security=VOTER,
    responses=responses(401, 404, 409),
    sync_to_thread=False,
)
def undo(survey_id: FromPath[str], voting: Voting, voter: CurrentVoter) -> Response[UndoOut]:
    seq = voting.undo_last(survey_id, voter)
    return Response(UndoOut(undone_seq=seq), headers=NO_STORE)
