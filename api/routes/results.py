"""Organiser results: ranked ideas (JSON and CSV), per group, votes still needed, and the live
server-sent-events stream the dashboard follows."""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from typing import Annotated, Any

import anyio
import msgspec
from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage

from api.auth import ORGANISER, StreamTickets, bearer_token
from api.deps import (
    Accounts,
    CurrentOrganiser,
    Integrity,
    Rankings,
    Settling,
    StoreDep,
    Surveys,
)
from api.exports import csv_bytes
from api.problems import ApiError, responses
from api.routes.organisers import owned
from api.schemas import FlaggedVoters, GroupResultsOut, ResultsOut, StreamTicket, results_out
from ranker import results as core_results
from ranker import settling as core_settling
from ranker.domain import IdeaResult
from ranker.groups import GroupResult
from ranker.rules import GROUP_MAX, LEVEL_MAX, LEVEL_MIN, MARGIN_MAX, MARGIN_MIN, TOP_K_MAX

__all__ = ["results_router"]

NO_STORE = {"Cache-Control": "no-store"}
Level = Annotated[float, QueryParameter(ge=LEVEL_MIN, lt=LEVEL_MAX, description="interval level")]
TopK = Annotated[
    int | None,
    QueryParameter(ge=1, le=TOP_K_MAX, description="k of 'settle the top k' (survey's top_k)"),
]
Margin = Annotated[
    float | None,
    QueryParameter(
        gt=MARGIN_MIN, le=MARGIN_MAX, description="indifference margin (survey's margin)"
    ),
]
Group = Annotated[str | None, QueryParameter(min_length=1, max_length=GROUP_MAX)]


def group_out(g: GroupResult) -> ResultsOut:
    """One group's wire form: its results plus status, votes to rank and shifts."""
    shifts = g.vs_overall if g.status == "ranked" else None
    return msgspec.structs.replace(
        results_out(g.results), status=g.status, votes_to_rank=g.votes_to_rank, vs_overall=shifts
    )


def _results(
    rankings: core_results.Rankings,
    settling: core_settling.Settling,
    survey_id: str,
    group: str | None,
    level: float,
    top_k: int | None,
    margin: float | None,
) -> ResultsOut:
    if group is not None:
        return group_out(rankings.group(survey_id, group, level))
    r = rankings.results(survey_id, level=level)
    return results_out(r, settling.votes_needed(survey_id, k=top_k, level=level, margin=margin))


@get(
    "/v1/surveys/{survey_id:str}/results",
    summary="Ranked ideas with score, interval, rank range, tier, p_beats_random and counts",
    responses=responses(401, 404),
)
async def results(
    survey_id: FromPath[str],
    surveys: Surveys,
    rankings: Rankings,
    settling: Settling,
    organiser: CurrentOrganiser,
    group: Group = None,
    level: Level = 0.95,
    top_k: TopK = None,
    margin: Margin = None,
) -> Response[ResultsOut]:
    owned(surveys, survey_id, organiser)
    out = await anyio.to_thread.run_sync(
        _results, rankings, settling, survey_id, group, level, top_k, margin
    )
    return Response(out, headers=NO_STORE)


RESULT_COLUMNS = list(IdeaResult.__struct_fields__)


@get(
    "/v1/surveys/{survey_id:str}/results.csv",
    summary="Ranked ideas as CSV",
    media_type="text/csv",
    responses=responses(401, 404),
)
async def results_csv(
    survey_id: FromPath[str],
    surveys: Surveys,
    rankings: Rankings,
    organiser: CurrentOrganiser,
    group: Group = None,
    level: Level = 0.95,
) -> Response[bytes]:
    owned(surveys, survey_id, organiser)
    r = await anyio.to_thread.run_sync(
        lambda: rankings.results(survey_id, group=group, level=level)
    )
    rows = [msgspec.structs.asdict(i) for i in results_out(r).ideas]
    return Response(
        csv_bytes(RESULT_COLUMNS, rows),
        media_type="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{survey_id}-results.csv"',
            **NO_STORE,
        },
    )


@get(
    "/v1/surveys/{survey_id:str}/results/groups",
    summary="Ranked ideas per participant group, with each group's status and its credible "
    "differences from everyone and between groups",
    responses=responses(401, 404),
)
async def group_results(
    survey_id: FromPath[str],
    surveys: Surveys,
    rankings: Rankings,
    organiser: CurrentOrganiser,
    level: Level = 0.95,
) -> Response[GroupResultsOut]:
    owned(surveys, survey_id, organiser)
    r = await anyio.to_thread.run_sync(lambda: rankings.groups(survey_id, level=level))
    out = GroupResultsOut(
        groups={name: group_out(g) for name, g in r.groups.items()},
        model=r.model,
        spread=r.spread,
        disagreements=r.disagreements,
    )
    return Response(out, headers=NO_STORE)


@get(
    "/v1/surveys/{survey_id:str}/voters/flagged",
    summary="Voters who look like bots, with the evidence (void them with .../void)",
    responses=responses(401, 404),
    sync_to_thread=False,
)
def flagged_voters(
    survey_id: FromPath[str],
    surveys: Surveys,
    integrity: Integrity,
    organiser: CurrentOrganiser,
    include_voided: FromQuery[bool] = False,
) -> Response[FlaggedVoters]:
    owned(surveys, survey_id, organiser)
    voters = integrity.flagged(survey_id, include_voided=include_voided)
    return Response(FlaggedVoters(voters=voters), headers=NO_STORE)


@post(
    "/v1/surveys/{survey_id:str}/stream-tickets",
    summary="A 60-second ticket to open the results stream with EventSource",
    status_code=201,
    responses=responses(401, 404),
    sync_to_thread=False,
)
def stream_ticket(
    survey_id: FromPath[str],
    surveys: Surveys,
    organiser: CurrentOrganiser,
    tickets: NamedDependency[StreamTickets],
) -> Response[StreamTicket]:
    owned(surveys, survey_id, organiser)
    ticket, expires = tickets.issue(survey_id, organiser.id)
    return Response(StreamTicket(ticket=ticket, expires=expires), status_code=201, headers=NO_STORE)


@get(
    "/v1/surveys/{survey_id:str}/stream",
    summary="Live results (server-sent events)",
    description="`event: results` with a Results body now and whenever the log advances; "
    "`id` is the log position. Authenticate with the Bearer header or `?ticket=`.",
    media_type="text/event-stream",
    responses=responses(401, 404),
    security=[{"organiserKey": []}, {}],
    sync_to_thread=False,
)
def stream(
    request: Request[Any, Any, Any],
    survey_id: FromPath[str],
    accounts: Accounts,
    surveys: Surveys,
    rankings: Rankings,
    settling: Settling,
    store: StoreDep,
    tickets: NamedDependency[StreamTickets],
    sse_interval_s: NamedDependency[float],
    sse_ping_s: NamedDependency[float],
    sse_max_s: NamedDependency[float],
    ticket: Annotated[str | None, QueryParameter(max_length=400)] = None,
) -> ServerSentEvent:
    key = bearer_token(request)
    if key is not None:
        owner = accounts.authenticate(key).id
    elif ticket is not None:
        owner = tickets.check(ticket, survey_id)
    else:
        raise ApiError("unauthorized", "send a Bearer key or ?ticket= from POST .../stream-tickets")
    survey = surveys.get(survey_id)
    if survey.owner != owner:
        raise ApiError("survey_not_found", f"no survey {survey_id!r}")
    encoder = msgspec.json.Encoder()

    async def events() -> AsyncGenerator[ServerSentEventMessage, None]:
        last = -1
        quiet = 0.0
        end = time.monotonic() + sse_max_s
        while time.monotonic() < end:
            head = await anyio.to_thread.run_sync(store.head, survey_id)
            if head != last:
                r = await anyio.to_thread.run_sync(
                    _results, rankings, settling, survey_id, None, 0.95, None, None
                )
                last = head
                quiet = 0.0
                yield ServerSentEventMessage(
                    data=encoder.encode(r).decode(), event="results", id=head
                )
            elif quiet >= sse_ping_s:
                quiet = 0.0
                yield ServerSentEventMessage(comment="ping")
            await anyio.sleep(sse_interval_s)
            quiet += sse_interval_s

    return ServerSentEvent(
        events(),
        retry_duration=2000,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def results_router() -> Router:
    return Router(
        path="/",
        route_handlers=[results, results_csv, group_results, flagged_voters, stream_ticket, stream],
        security=ORGANISER,
        tags=["results"],
    )
