"""The event log's tagged union: round trips, tags, rejection of malformed events."""

from __future__ import annotations

import msgspec
import pytest

from ranker import events as ev
from ranker.domain import Survey, SurveyPatch

SAMPLES: list[ev.Event] = [
    ev.SurveyCreated(ts=1.0, survey=Survey(id="s1", owner="o1", question="Which?")),
    ev.SurveyUpdated(ts=2.0, patch=SurveyPatch(question="Which now?", groups=["a", "b"])),
    ev.SurveyStatusChanged(ts=3.0, status="open"),
    ev.IdeaAdded(ts=4.0, text="idea", author="participant", voter="v1", status="pending"),
    ev.IdeaEdited(ts=5.0, idea=0, text="better idea"),
    ev.IdeaStatusChanged(ts=6.0, idea=0, status="active", reason="ok"),
    ev.VoteCast(ts=7.0, ballot="b1", voter="v1", group="g", left=0, right=1, outcome="tie"),
    ev.VoteSkipped(ts=8.0, ballot="b2", voter="v1", left=1, right=0, reason="same"),
    ev.VoteUndone(ts=9.0, voter="v1", target=7),
    ev.VoterVoided(ts=10.0, voter="v1", reason="spam"),
    ev.CommentAdded(ts=11.0, idea=0, voter=None, text="nice"),
    ev.IdeaFlagged(ts=12.0, idea=0, voter="v2", reason="rude"),
]


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: type(e).__name__)
def test_round_trips_msgpack_and_json(event: ev.Event) -> None:
    assert ev.decode(ev.encode(event)) == event
    assert ev.decode_json(ev.encode_json(event)) == event


def test_tags_are_unique_and_in_json() -> None:
    tags = [msgspec.json.decode(ev.encode_json(e))["type"] for e in SAMPLES]
    assert len(set(tags)) == len(tags)
    assert tags[6] == "vote_cast"


def test_unknown_tag_and_bad_field_are_rejected() -> None:
    with pytest.raises(msgspec.ValidationError):
        ev.decode_json(b'{"type": "nope", "ts": 1}')
    with pytest.raises(msgspec.ValidationError):
        ev.decode_json(
            b'{"type": "vote_cast", "ts": 1, "ballot": "b", "voter": "v",'
            b' "left": 0, "right": 1, "outcome": "maybe"}'
        )


def test_new_optional_fields_are_omitted_when_default() -> None:
    raw = msgspec.json.decode(ev.encode_json(ev.IdeaFlagged(ts=1.0, idea=3)))
    assert raw == {"type": "idea_flagged", "ts": 1.0, "idea": 3}
