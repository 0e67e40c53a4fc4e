"""Exports: the raw event log and flat rows of each kind."""

from __future__ import annotations

from datetime import datetime
from typing import get_args

import pytest

from ranker import errors as E
from ranker import events as ev
from ranker.domain import Answer
from ranker.exports import EXPORT_KINDS
from ranker.rules import ExportKind
from ranker.service import RankerService
from tests.core_fixtures import memory_only, survey, vote


def test_the_export_kinds_are_the_rules_kinds() -> None:
    assert EXPORT_KINDS == get_args(ExportKind) == ("votes", "skips", "ideas", "comments", "flags")


def test_rows_of_each_kind(svc: RankerService) -> None:
    sid = survey(svc)
    v, w = svc.voting.issue_voter(sid), svc.voting.issue_voter(sid)
    svc.ideas.comment(sid, 1, "good one", voter=v)
    svc.ideas.comment(sid, 2, "noted", organiser="org")
    svc.ideas.flag(sid, 3, v, "rude")
    first = vote(svc, sid, v, "left", response_ms=700)
    vote(svc, sid, v, "right")
    svc.voting.undo_last(sid, v)
    skipped = vote(svc, sid, w, "skip", reason="same")
    vote(svc, sid, w, "tie")
    svc.voting.void_voter(sid, w.id)
    votes = list(svc.exports.rows(sid, "votes"))
    assert [(r["outcome"], r["valid"]) for r in votes] == [
        ("left", True),
        ("right", False),  # undone
        ("tie", False),  # voided
    ]
    assert votes[0]["seq"] == first.seq and votes[0]["voter"] == v.id
    assert votes[0]["response_ms"] == 700 and "type" not in votes[0]
    skips = list(svc.exports.rows(sid, "skips"))
    assert [(r["seq"], r["reason"], r["valid"]) for r in skips] == [(skipped.seq, "same", False)]
    assert [r["text"] for r in svc.exports.rows(sid, "ideas")] == [f"idea {i}" for i in range(4)]
    assert [(r["idea"], r["text"]) for r in svc.exports.rows(sid, "comments")] == [
        (1, "good one"),
        (2, "noted"),
    ]
    assert [(r["idea"], r["reason"]) for r in svc.exports.rows(sid, "flags")] == [(3, "rude")]


def test_rows_are_those_of_the_log_when_asked_for(svc: RankerService) -> None:
    sid = survey(svc)
    v = svc.voting.issue_voter(sid)
    vote(svc, sid, v)
    rows = svc.exports.rows(sid, "votes")
    vote(svc, sid, v)  # logged after the export began
    assert len(list(rows)) == 1


def test_events_are_the_whole_log_in_order(svc: RankerService) -> None:
    sid = survey(svc, n=2)
    v = svc.voting.issue_voter(sid)
    b = svc.voting.next_ballot(sid, v)
    svc.voting.answer(sid, v, b.token, Answer(choice="left"))
    svc.ideas.flag(sid, 1, v)
    log = list(svc.exports.events(sid))
    assert [seq for seq, _ in log] == list(range(1, svc.store.head(sid) + 1))
    kinds = [type(e) for _, e in log]
    assert kinds == [
        ev.SurveyCreated,
        ev.IdeaAdded,
        ev.IdeaAdded,
        ev.SurveyStatusChanged,
        ev.VoteCast,
        ev.IdeaFlagged,
    ]
    assert list(svc.exports.events(sid, after=4)) == log[4:]


@memory_only
def test_a_bad_kind_or_survey_is_refused_before_the_first_row(svc: RankerService) -> None:
    sid = survey(svc)
    with pytest.raises(E.InvalidInput):
        svc.exports.rows(sid, "secrets")  # type: ignore[arg-type]
    with pytest.raises(E.SurveyNotFound):
        svc.exports.rows("nope", "votes")
    with pytest.raises(E.SurveyNotFound):
        next(svc.exports.events("nope"))


def test_times_in_rows_are_iso_8601_utc(svc: RankerService) -> None:
    sid = survey(svc)
    vote(svc, sid, svc.voting.issue_voter(sid))
    for kind in ("votes", "ideas"):
        row = next(svc.exports.rows(sid, kind))
        stamp = row["ts"] if kind == "votes" else row["created"]
        assert isinstance(stamp, str) and stamp.endswith("Z") and "T" in stamp, row
        assert datetime.fromisoformat(stamp).timestamp() == pytest.approx(svc.clock(), abs=1e-3)


def test_csv_guards_text_people_typed_never_identifiers() -> None:
    from api.exports import csv_bytes

    rows = [{"voter": "-9x1X5iAwIY9ejLU", "ballot": "+abc", "text": "=HYPERLINK(1)", "seq": 3}]
    lines = csv_bytes(["voter", "ballot", "text", "seq"], rows).decode().splitlines()
    assert lines[1] == "-9x1X5iAwIY9ejLU,+abc,'=HYPERLINK(1),3"
