"""Organiser exports: votes, skips, ideas, comments and flags as CSV or NDJSON, streamed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from litestar import Router, get
from litestar.response import Stream

from api.auth import ORGANISER
from api.exports import csv_lines, ndjson_lines
from api.problems import responses
from api.routes.organisers import owned
from ranker import events as ev
from ranker.domain import Comment, Flag, Idea, Organiser
from ranker.service import RankerService

__all__ = ["COLUMNS", "exports_router"]


def _fields(cls: type) -> list[str]:
    return [f for f in cls.__struct_fields__ if f != "type"]  # type: ignore[attr-defined]


COLUMNS: dict[str, list[str]] = {
    "votes": ["seq", *_fields(ev.VoteCast), "valid"],
    "skips": ["seq", *_fields(ev.VoteSkipped), "valid"],
    "ideas": _fields(Idea),
    "comments": _fields(Comment),
    "flags": _fields(Flag),
}
Kind = Literal["votes", "skips", "ideas", "comments", "flags"]
Format = Literal["csv", "ndjson"]


@get(
    "/v1/surveys/{survey_id:str}/exports/{kind:str}",
    summary="Export votes, skips, ideas, comments or flags (CSV or NDJSON)",
    description="Vote and skip rows carry `valid` (false once undone or voided). Text cells that "
    "a spreadsheet would run as a formula are prefixed with `'`.",
    media_type="text/csv",
    responses=responses(401, 404),
    sync_to_thread=False,
)
def export(
    survey_id: str,
    kind: Kind,
    service: RankerService,
    organiser: Organiser,
    format: Format = "csv",
) -> Stream:
    owned(service, survey_id, organiser)
    rows = service.export_rows(survey_id, kind)
    first = next(rows, None)  # surfaces errors before the 200 is sent

    def all_rows() -> Iterator[dict[str, Any]]:
        if first is not None:
            yield first
            yield from rows

    if format == "ndjson":
        body = ndjson_lines(all_rows())
        media = "application/x-ndjson"
    else:
        body = csv_lines(COLUMNS[kind], all_rows())
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
