"""Organiser exports: votes, skips, ideas, comments and flags as CSV or NDJSON, streamed."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import msgspec
from litestar import Router, get
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.params import FromPath, FromQuery
from litestar.response import Stream

from api.auth import ORGANISER
from api.deps import CurrentOrganiser, Exports, Surveys
from api.exports import csv_lines, ndjson_lines
from api.problems import responses
from api.routes.organisers import owned
from ranker import events as ev
from ranker.domain import Comment, Flag, Idea
from ranker.rules import ExportKind

__all__ = ["COLUMNS", "exports_router"]


def _fields(cls: Any) -> list[str]:
    return [f.name for f in msgspec.structs.fields(cls) if f.name != "type"]


def _defaults(cls: Any) -> dict[str, Any]:
    return {
        f.name: f.default for f in msgspec.structs.fields(cls) if f.default is not msgspec.NODEFAULT
    }


COLUMNS: dict[str, list[str]] = {
    "votes": ["seq", *_fields(ev.VoteCast), "valid"],
    "skips": ["seq", *_fields(ev.VoteSkipped), "valid"],
    "ideas": _fields(Idea),
    "comments": _fields(Comment),
    "flags": _fields(Flag),
}
# the log omits fields equal to their default; exports spell every column out
DEFAULTS: dict[str, dict[str, Any]] = {
    "votes": _defaults(ev.VoteCast),
    "skips": _defaults(ev.VoteSkipped),
    "ideas": _defaults(Idea),
    "comments": _defaults(Comment),
    "flags": _defaults(Flag),
}


@dataclass
class ExportOperation(Operation):
    """Declares the export's two bodies (CSV and NDJSON) in the OpenAPI document."""

    def __post_init__(self) -> None:
        ok = self.responses.get("200") if self.responses else None
        if isinstance(ok, OpenAPIResponse):
            text = Schema(type=OpenAPIType.STRING)
            ok.content = {
                "text/csv": OpenAPIMediaType(schema=text),
                "application/x-ndjson": OpenAPIMediaType(schema=text),
            }


Kind = ExportKind
Format = Literal["csv", "ndjson"]


@get(
    "/v1/surveys/{survey_id:str}/exports/{kind:str}",
    summary="Export votes, skips, ideas, comments or flags (CSV or NDJSON)",
    description="Vote and skip rows carry `valid` (false once undone or voided). Text cells that "
    "a spreadsheet would run as a formula are prefixed with `'`.",
    responses=responses(401, 404),
    operation_class=ExportOperation,
    sync_to_thread=False,
)
def export(
    survey_id: FromPath[str],
    kind: FromPath[Kind],
    surveys: Surveys,
    exports: Exports,
    organiser: CurrentOrganiser,
    format: FromQuery[Format] = "csv",
) -> Stream:
    owned(surveys, survey_id, organiser)
    rows = exports.rows(survey_id, kind)
    first = next(rows, None)  # surfaces errors before the 200 is sent

    columns, defaults = COLUMNS[kind], DEFAULTS[kind]

    def all_rows() -> Iterator[dict[str, Any]]:
        if first is None:
            return
        for row in itertools.chain([first], rows):
            yield {c: row.get(c, defaults.get(c)) for c in columns}

    if format == "ndjson":
        body = ndjson_lines(all_rows())
        media = "application/x-ndjson"
    else:
        body = csv_lines(columns, all_rows())
        media = "text/csv; charset=utf-8"
    return Stream(
        body,
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="{survey_id}-{kind}.{format}"',
            "Cache-Control": "no-store",
        },
    )


def exports_router() -> Router:
    return Router(path="/", route_handlers=[export], security=ORGANISER, tags=["exports"])
