"""Voter (public) routes under ``/v1/public/surveys/{survey_id}``: used by the embedded widget.

No cookies: the voter token travels in ``X-Voter-Token``. CORS is answered per survey by
:mod:`api.security`.
"""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, PathParameter, QueryParameter

from api.auth import VOTER, provide_voter
from api.caching import json_with_etag
from api.deps import CurrentVoter, IdeaPool, Identities, Rankings, Surveys, Voting
from api.openapi import OptionalBody
from api.problems import ApiError, responses
from api.routes.ballots import answer, ballot_challenge, next_ballot, undo
from api.schemas import (
    CommentIn,
    FlagIn,
    IdeaIn,
    PublicComment,
    PublicComments,
    PublicIdea,
    PublicSurvey,
    ResultsOut,
    VoterIn,
    VoterOut,
    results_out,
)
from ranker import surveys as core_surveys
from ranker.domain import Flag
from ranker.identity import client_key
from ranker.personal import PersonalResults
from ranker.proof_of_work import Challenge
from ranker.rules import LEVEL_MAX, LEVEL_MIN

__all__ = ["voter_router"]

NO_STORE = {"Cache-Control": "no-store"}


def public_view(surveys: core_surveys.Surveys, survey_id: str) -> PublicSurvey:
    s = surveys.get(survey_id)
    return PublicSurvey(
        id=s.id,
        question=s.question,
        description=s.description,
        status=s.status,
        allow_ideas=s.allow_ideas,
        show_results=s.show_results_to_voters,
        groups=list(s.groups),
        idea_max_chars=s.limits.idea_max_chars,
        comment_max_chars=s.limits.comment_max_chars,
        identity=s.identity.mode,
        language=s.language,
        translations=dict(s.translations),
    )


@get(
    "/",
    summary="Public survey info for the widget",
    responses=responses(304, 404),
    sync_to_thread=False,
)
def survey_info(
    request: Request[Any, Any, Any], survey_id: FromPath[str], surveys: Surveys
) -> Response[PublicSurvey]:
    view = public_view(surveys, survey_id)
    return json_with_etag(request, view, "public, max-age=30")


def _client(request: Request[Any, Any, Any]) -> str:
    return client_key(request.client.host if request.client else None)


@post(
    "/voters",
    summary="Get a voter id and token",
    description="What a new voter must bring depends on the survey's `identity` mode (see "
    "`GET .../` and docs/user-guide.md, *Who may vote*). `anonymous`: nothing, until the "
    "client address has used up its free new voters (`403 proof_required`): then a `proof`. "
    "`proof_of_work`: always a `proof` (a solved `GET .../voters/challenge`). `site`: the "
    "`site_token` the embedding site signed; the same site user always gets the same voter.",
    status_code=201,
    operation_class=OptionalBody,
    responses=responses(401, 403, 404, 409, 429),
    sync_to_thread=False,
)
def create_voter(
    request: Request[Any, Any, Any],
    survey_id: FromPath[str],
    surveys: Surveys,
    voting: Voting,
    identities: Identities,
    voters_per_ip: NamedDependency[int],
    data: JSONBody[VoterIn | None] = None,
) -> Response[VoterOut]:
    survey = surveys.get(survey_id)
    if survey.status != "open":
        raise ApiError("survey_closed", f"survey is {survey.status}")
    client = _client(request)
    if voters_per_ip:  # the server-wide flood guard, whatever the survey's mode
        voting.rate_limit(f"voters:{client}", voters_per_ip, 60)
    body = data or VoterIn()
    admission = identities.admit(survey, client, proof=body.proof, site_token=body.site_token)
    voter = voting.issue_voter(survey_id, body.group, admission, client=client)
    challenge = identities.ballots.challenge(survey, voter.id)  # for the first pair
    out = VoterOut(voter_id=voter.id, token=voter.token, group=voter.group, challenge=challenge)
    return Response(out, status_code=201, headers=NO_STORE)


@get(
    "/voters/challenge",
    summary="A proof-of-work challenge for one new voter",
    description="An HMAC-signed ALTCHA challenge (PBKDF2/SHA-256) for this survey, valid 10 "
    "minutes: find the counter whose derived key starts with `keyPrefix`, then send "
    "base64(JSON `{challenge, solution: {counter, derivedKey}}`) as `proof` to "
    "`POST .../voters`. The widget does this in Web Workers while the question shows.",
    responses=responses(404, 409, 429),
    sync_to_thread=False,
)
def voter_challenge(
    request: Request[Any, Any, Any],
    survey_id: FromPath[str],
    surveys: Surveys,
    voting: Voting,
    identities: Identities,
    voters_per_ip: NamedDependency[int],
) -> Response[Challenge]:
    survey = surveys.get(survey_id)
    if survey.status != "open":
        raise ApiError("survey_closed", f"survey is {survey.status}")
    if voters_per_ip:  # issuing costs one key derivation: the same flood guard
        voting.rate_limit(f"challenges:{_client(request)}", voters_per_ip, 60)
    return Response(identities.challenge(survey), headers=NO_STORE)


@post(
    "/ideas",
    summary="Submit an idea (pending until approved if the survey moderates ideas)",
    status_code=201,
    security=VOTER,
    responses=responses(401, 403, 404, 409, 429),
    sync_to_thread=False,
)
def submit_idea(
    survey_id: FromPath[str], pool: IdeaPool, voter: CurrentVoter, data: JSONBody[IdeaIn]
) -> Response[PublicIdea]:
    idea = pool.submit(survey_id, voter, data.text)
    return Response(PublicIdea(id=idea.id, text=idea.text), status_code=201, headers=NO_STORE)


IdeaId = Annotated[int, PathParameter(ge=0, le=2**31)]


@get(
    "/ideas/{idea_id:int}/comments",
    summary="Comments on an active idea",
    responses=responses(404),
    sync_to_thread=False,
)
def list_comments(survey_id: FromPath[str], idea_id: IdeaId, pool: IdeaPool) -> PublicComments:
    idea = pool.get(survey_id, idea_id)
    if idea.status != "active":
        raise ApiError("not_found", "this idea is not public")
    return PublicComments(
        comments=[
            PublicComment(id=c.id, idea_id=c.idea, text=c.text, created=c.created)
            for c in pool.comments(survey_id, idea_id)
        ]
    )


@post(
    "/ideas/{idea_id:int}/comments",
    summary="Comment on an idea",
    status_code=201,
    security=VOTER,
    responses=responses(401, 404, 409),
    sync_to_thread=False,
)
def add_comment(
    survey_id: FromPath[str],
    idea_id: IdeaId,
    pool: IdeaPool,
    voter: CurrentVoter,
    data: JSONBody[CommentIn],
) -> Response[PublicComment]:
    c = pool.comment(survey_id, idea_id, data.text, voter=voter)
    out = PublicComment(id=c.id, idea_id=c.idea, text=c.text, created=c.created)
    return Response(out, status_code=201, headers=NO_STORE)


@post(
    "/ideas/{idea_id:int}/flags",
    summary="Flag an idea as inappropriate",
    status_code=201,
    operation_class=OptionalBody,
    security=VOTER,
    responses=responses(401, 404),
    sync_to_thread=False,
)
def flag(
    survey_id: FromPath[str],
    idea_id: IdeaId,
    pool: IdeaPool,
    voter: CurrentVoter,
    data: JSONBody[FlagIn | None] = None,
) -> Response[Flag]:
    f = pool.flag(survey_id, idea_id, voter, data.reason if data else "")
    return Response(f, status_code=201, headers=NO_STORE)


Level = Annotated[float, QueryParameter(ge=LEVEL_MIN, lt=LEVEL_MAX)]


@get(
    "/me",
    summary="My results: the ideas I picked, my ranking blended with everyone's, and where "
    "I agree or disagree with everyone else",
    security=VOTER,
    responses=responses(401, 404),
)
async def my_results(
    survey_id: FromPath[str], rankings: Rankings, voter: CurrentVoter
) -> Response[PersonalResults]:
    # the crowd's ranking (cached) and a small fit: on a worker thread, not the event loop
    r = await anyio.to_thread.run_sync(rankings.personal, survey_id, voter)
    return Response(r, headers=NO_STORE)


@get(
    "/results",
    summary="Current ranking, if the organiser made it public",
    responses=responses(403, 404),
)
async def public_results(
    survey_id: FromPath[str], surveys: Surveys, rankings: Rankings, level: Level = 0.95
) -> ResultsOut:
    survey = surveys.get(survey_id)
    if not survey.show_results_to_voters:
        raise ApiError("results_hidden")
    r = await anyio.to_thread.run_sync(lambda: rankings.results(survey_id, level=level))
    return results_out(r)


def voter_router() -> Router:
    return Router(
        path="/v1/public/surveys/{survey_id:str}",
        route_handlers=[
            survey_info,
            create_voter,
            voter_challenge,
            next_ballot,
            ballot_challenge,
            answer,
            undo,
            submit_idea,
            list_comments,
            add_comment,
            flag,
            my_results,
            public_results,
        ],
        dependencies={"voter": Provide(provide_voter, sync_to_thread=False)},
        tags=["voters"],
    )
