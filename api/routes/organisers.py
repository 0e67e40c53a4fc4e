"""Organiser routes: organisers, surveys, ideas (add / import CSV / moderate / retire), comments,
voiding a voter. All need ``Authorization: Bearer <organiser key>`` (except creating an organiser,
which needs the admin token)."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any

from litestar import Request, Response, Router, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, PathParameter

from api.auth import ORGANISER, require_admin
from api.caching import json_with_etag
from api.deps import Accounts, CurrentOrganiser, IdeaPool, Surveys, Voting
from api.openapi import CSV_MEDIA_TYPES, CsvBody, OptionalBody
from api.problems import ApiError, responses
from api.schemas import (
    CommentsOut,
    IdeaIn,
    IdeaList,
    IdeaPatch,
    ImportOut,
    OrganiserIn,
    OrganiserOut,
    SurveyList,
    SurveyPatchIn,
    SurveySpecIn,
    VoidIn,
    VoidOut,
)
from ranker import surveys as core_surveys
from ranker.domain import Idea, Organiser, Survey
from ranker.rules import IDEAS_PER_REQUEST_MAX, IdeaStatus

__all__ = ["organiser_router", "parse_ideas_csv"]

NO_STORE = {"Cache-Control": "no-store"}
IdeaId = Annotated[int, PathParameter(ge=0, le=2**31)]
MAX_IMPORT_ROWS = 5 * IDEAS_PER_REQUEST_MAX


@post(
    "/v1/organisers",
    summary="Create an organiser and its API key (admin token or open signup)",
    status_code=201,
    security=[{"adminToken": []}],
    responses=responses(401, 403),
    sync_to_thread=False,
)
def create_organiser(
    request: Request[Any, Any, Any],
    data: JSONBody[OrganiserIn],
    accounts: Accounts,
    admin_token: NamedDependency[str],
    open_signup: NamedDependency[bool],
) -> Response[OrganiserOut]:
    require_admin(request, admin_token, open_signup)
    org, key = accounts.create(data.name)
    return Response(
        OrganiserOut(organiser_id=org.id, name=org.name, api_key=key),
        status_code=201,
        headers=NO_STORE,
    )


@get("/v1/surveys", summary="My surveys", responses=responses(401), sync_to_thread=False)
def list_surveys(surveys: Surveys, organiser: CurrentOrganiser) -> Response[SurveyList]:
    return Response(SurveyList(surveys=surveys.all(organiser.id)), headers=NO_STORE)


@post(
    "/v1/surveys",
    summary="Create a survey (draft unless `open`)",
    status_code=201,
    responses=responses(401, 409),
    sync_to_thread=False,
)
def create_survey(
    data: JSONBody[SurveySpecIn], surveys: Surveys, organiser: CurrentOrganiser
) -> Response[Survey]:
    s = surveys.create(organiser.id, data)
    return Response(s, status_code=201, headers={"Location": f"/v1/surveys/{s.id}", **NO_STORE})


def owned(surveys: core_surveys.Surveys, survey_id: str, organiser: Organiser) -> Survey:
    """The survey if this organiser owns it (``404`` otherwise, via ``forbidden``)."""
    s = surveys.get(survey_id)
    if s.owner != organiser.id:
        raise ApiError("survey_not_found", f"no survey {survey_id!r}")
    return s


@get(
    "/v1/surveys/{survey_id:str}",
    summary="One survey's settings",
    responses=responses(304, 401, 404),
    sync_to_thread=False,
)
def get_survey(
    request: Request[Any, Any, Any],
    survey_id: FromPath[str],
    surveys: Surveys,
    organiser: CurrentOrganiser,
) -> Response[Survey]:
    return json_with_etag(request, owned(surveys, survey_id, organiser), "private, no-cache")


@patch(
    "/v1/surveys/{survey_id:str}",
    summary="Change settings (only the fields sent)",
    responses=responses(401, 404),
    sync_to_thread=False,
)
def update_survey(
    survey_id: FromPath[str],
    data: JSONBody[SurveyPatchIn],
    surveys: Surveys,
    organiser: CurrentOrganiser,
) -> Response[Survey]:
    owned(surveys, survey_id, organiser)
    return Response(surveys.update(survey_id, data, organiser=organiser.id), headers=NO_STORE)


@post(
    "/v1/surveys/{survey_id:str}/open",
    summary="Open the survey for answers",
    status_code=200,
    responses=responses(401, 404, 409),
    sync_to_thread=False,
)
def open_survey(
    survey_id: FromPath[str], surveys: Surveys, pool: IdeaPool, organiser: CurrentOrganiser
) -> Response[Survey]:
    owned(surveys, survey_id, organiser)
    if len(pool.all(survey_id, "active")) < 2:
        raise ApiError("not_enough_ideas", "a survey needs at least 2 active ideas to open")
    return Response(surveys.open(survey_id, organiser=organiser.id), headers=NO_STORE)


@post(
    "/v1/surveys/{survey_id:str}/close",
    summary="Close the survey (results stay readable)",
    status_code=200,
    responses=responses(401, 404),
    sync_to_thread=False,
)
def close_survey(
    survey_id: FromPath[str], surveys: Surveys, organiser: CurrentOrganiser
) -> Response[Survey]:
    owned(surveys, survey_id, organiser)
    return Response(surveys.close(survey_id, organiser=organiser.id), headers=NO_STORE)


@get(
    "/v1/surveys/{survey_id:str}/ideas",
    summary="Ideas, optionally of one status (e.g. the moderation queue: `pending`)",
    responses=responses(401, 404),
    sync_to_thread=False,
)
def list_ideas(
    survey_id: FromPath[str],
    surveys: Surveys,
    pool: IdeaPool,
    organiser: CurrentOrganiser,
    status: FromQuery[IdeaStatus | None] = None,
) -> Response[IdeaList]:
    owned(surveys, survey_id, organiser)
    return Response(IdeaList(ideas=pool.all(survey_id, status)), headers=NO_STORE)


@post(
    "/v1/surveys/{survey_id:str}/ideas",
    summary="Add one idea (active at once)",
    status_code=201,
    responses=responses(401, 404, 409),
    sync_to_thread=False,
)
def add_idea(
    survey_id: FromPath[str],
    data: JSONBody[IdeaIn],
    surveys: Surveys,
    pool: IdeaPool,
    organiser: CurrentOrganiser,
) -> Response[Idea]:
    owned(surveys, survey_id, organiser)
    idea = pool.add(survey_id, data.text, organiser=organiser.id)
    return Response(idea, status_code=201, headers=NO_STORE)


def parse_ideas_csv(raw: bytes) -> list[str]:
    """Idea texts from CSV: the ``text`` (or ``idea``) column if a header names one, else the
    first column; blank rows are skipped. Raises ``csv_invalid`` with the row number."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ApiError("csv_invalid", f"CSV must be UTF-8 (byte {exc.start})") from None
    if "\x00" in text:
        raise ApiError("csv_invalid", "CSV contains NUL bytes")
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise ApiError("csv_invalid", f"CSV could not be parsed: {exc}") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise ApiError("csv_invalid", "CSV holds no ideas")
    col = 0
    header = [c.strip().lower() for c in rows[0]]
    for name in ("text", "idea"):
        if name in header:
            col = header.index(name)
            rows = rows[1:]
            break
    out: list[str] = []
    for n, row in enumerate(rows, start=1):
        if col >= len(row) or not row[col].strip():
            raise ApiError("csv_invalid", f"row {n} has no text in column {col + 1}")
        out.append(row[col])
    if len(out) > MAX_IMPORT_ROWS:
        raise ApiError("csv_invalid", f"at most {MAX_IMPORT_ROWS} ideas per import")
    if not out:
        raise ApiError("csv_invalid", "CSV holds a header but no ideas")
    return out


@post(
    "/v1/surveys/{survey_id:str}/ideas/import",
    summary="Import ideas from CSV (`text/csv` body)",
    description="One idea per row: the `text` (or `idea`) column if a header names it, else the "
    "first column. All rows are validated before any idea is added.",
    status_code=201,
    responses=responses(401, 404, 409, 415),
    operation_class=CsvBody,
)
async def import_ideas(
    request: Request[Any, Any, Any],
    survey_id: FromPath[str],
    surveys: Surveys,
    pool: IdeaPool,
    organiser: CurrentOrganiser,
) -> Response[ImportOut]:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in CSV_MEDIA_TYPES:
        raise ApiError("unsupported_media_type", "send the ideas as text/csv")
    raw = await request.body()
    owned(surveys, survey_id, organiser)
    added = pool.import_many(survey_id, parse_ideas_csv(raw), organiser=organiser.id)
    return Response(ImportOut(added=len(added), ideas=added), status_code=201, headers=NO_STORE)


@patch(
    "/v1/surveys/{survey_id:str}/ideas/{idea_id:int}",
    summary="Edit, translate, approve, reject, retire or reinstate an idea",
    responses=responses(401, 404, 409),
    sync_to_thread=False,
)
def patch_idea(
    survey_id: FromPath[str],
    idea_id: IdeaId,
    data: JSONBody[IdeaPatch],
    surveys: Surveys,
    pool: IdeaPool,
    organiser: CurrentOrganiser,
) -> Response[Idea]:
    owned(surveys, survey_id, organiser)
    idea = pool.get(survey_id, idea_id)
    if data.text is not None:
        idea = pool.edit(survey_id, idea_id, data.text, organiser=organiser.id)
    if data.translations is not None:
        idea = pool.edit(survey_id, idea_id, translations=data.translations, organiser=organiser.id)
    if data.status is not None:
        idea = pool.set_status(
            survey_id, idea_id, data.status, reason=data.reason, organiser=organiser.id
        )
    return Response(idea, headers=NO_STORE)


@get(
    "/v1/surveys/{survey_id:str}/comments",
    summary="All comments and flags (for moderation)",
    responses=responses(401, 404),
    sync_to_thread=False,
)
def comments(
    survey_id: FromPath[str], surveys: Surveys, pool: IdeaPool, organiser: CurrentOrganiser
) -> Response[CommentsOut]:
    owned(surveys, survey_id, organiser)
    out = CommentsOut(comments=pool.comments(survey_id), flags=pool.flags(survey_id))
    return Response(out, headers=NO_STORE)


@post(
    "/v1/surveys/{survey_id:str}/voters/{voter_id:str}/void",
    summary="Void every answer of a voter (and refuse their future ones)",
    status_code=200,
    responses=responses(401, 404),
    operation_class=OptionalBody,
    sync_to_thread=False,
)
def void_voter(
    survey_id: FromPath[str],
    voter_id: FromPath[str],
    surveys: Surveys,
    voting: Voting,
    organiser: CurrentOrganiser,
    data: JSONBody[VoidIn | None] = None,
) -> Response[VoidOut]:
    owned(surveys, survey_id, organiser)
    n = voting.void_voter(
        survey_id, voter_id, reason=data.reason if data else "", organiser=organiser.id
    )
    return Response(VoidOut(voter_id=voter_id, voided=n), headers=NO_STORE)


def organiser_router(max_import_bytes: int) -> Router:
    """Organiser routes; the CSV import gets its own (larger) body limit."""
    importer = Router(
        path="/",
        route_handlers=[import_ideas],
        request_max_body_size=max_import_bytes,
        security=ORGANISER,
        tags=["organisers"],
    )
    keyed = Router(
        path="/",
        route_handlers=[
            list_surveys,
            create_survey,
            get_survey,
            update_survey,
            open_survey,
            close_survey,
            list_ideas,
            add_idea,
            patch_idea,
            comments,
            void_voter,
        ],
        security=ORGANISER,
        tags=["organisers"],
    )
    admin = Router(path="/", route_handlers=[create_organiser], tags=["organisers"])
    return Router(path="/", route_handlers=[admin, keyed, importer])
