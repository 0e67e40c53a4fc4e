"""Exports: the raw event log, and flat rows (votes, skips, ideas, comments, flags) for CSV
and NDJSON downloads. Times in rows (``ts``, ``created``) are ISO 8601 UTC strings with
milliseconds (``2026-12-01T11:03:48.123Z``), what spreadsheets and pandas read as dates."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, get_args

import msgspec

from ranker import events as ev
from ranker.repository import ProjectionRepository
from ranker.rules import ExportKind, parse

__all__ = ["EXPORT_KINDS", "Exports", "iso_time"]

EXPORT_KINDS: tuple[str, ...] = get_args(ExportKind)
_TIMES = ("ts", "created")


def iso_time(ts: float) -> str:
    """Seconds since the epoch as ISO 8601 UTC with milliseconds.

    >>> iso_time(0.25)
    '1970-01-01T00:00:00.250Z'
    """
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def _row(value: Any) -> dict[str, Any]:
    row: dict[str, Any] = msgspec.to_builtins(value)
    for k in _TIMES:
        if isinstance(row.get(k), float | int):
            row[k] = iso_time(row[k])
    return row


class Exports:
    """Export use cases."""

    def __init__(self, repo: ProjectionRepository) -> None:
        self.repo = repo

    def events(self, survey_id: str, after: int = 0) -> Iterator[tuple[int, ev.Event]]:
        """Every event of the log after ``after``, in order (read from the store in batches)."""
        self.repo.get(survey_id)
        for item in self.repo.store.iter_events(survey_id, after):
            yield item.seq, ev.decode(item.data)

    def rows(self, survey_id: str, kind: ExportKind) -> Iterator[dict[str, Any]]:
        """Flat rows of one kind; vote and skip rows carry ``valid`` (false once undone or
        voided). Checks ``kind`` and the survey before the first row is asked for."""
        kind = parse(ExportKind, kind, "kind")
        with self.repo.lock:
            proj = self.repo.get(survey_id)
            ideas, comments, flags = list(proj.ideas), list(proj.comments), list(proj.flags)
            valid = {r.seq: r.active for r in proj.votes}
            upto = proj.seq
        return self._rows(survey_id, kind, ideas, comments, flags, valid, upto)

    def _rows(
        self,
        survey_id: str,
        kind: ExportKind,
        ideas: list[Any],
        comments: list[Any],
        flags: list[Any],
        valid: dict[int, bool],
        upto: int,
    ) -> Iterator[dict[str, Any]]:
        if kind in ("ideas", "comments", "flags"):
            items = {"ideas": ideas, "comments": comments, "flags": flags}[kind]
            for item in items:
                yield _row(item)
            return
        want = ev.VoteCast if kind == "votes" else ev.VoteSkipped
        for seq, e in self.events(survey_id):
            if seq > upto:
                break
            if isinstance(e, want):
                row = {"seq": seq, **_row(e)}
                row.pop("type", None)
                row["valid"] = valid.get(seq, False)
                yield row
