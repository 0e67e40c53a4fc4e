"""Exports: the raw event log, and flat rows (votes, skips, ideas, comments, flags) for CSV
and NDJSON downloads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, get_args

import msgspec

from ranker import events as ev
from ranker.repository import ProjectionRepository
from ranker.rules import ExportKind, parse

__all__ = ["EXPORT_KINDS", "Exports"]

EXPORT_KINDS: tuple[str, ...] = get_args(ExportKind)


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
                yield msgspec.to_builtins(item)
            return
        want = ev.VoteCast if kind == "votes" else ev.VoteSkipped
        for seq, e in self.events(survey_id):
            if seq > upto:
                break
            if isinstance(e, want):
                row: dict[str, Any] = {"seq": seq, **msgspec.to_builtins(e)}
                row.pop("type", None)
                row["valid"] = valid.get(seq, False)
                yield row
