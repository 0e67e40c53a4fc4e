"""Snapshots of a projection: its whole state as MessagePack, so a worker starts without
folding the whole log. The log stays the truth: a snapshot that does not decode (written by
another version) is ignored and the log folded from the start.

>>> from ranker import events as ev
>>> from ranker.domain import Survey
>>> p = Projection("s1", sampler_factory=None)
>>> p.apply(1, ev.SurveyCreated(ts=0.0, survey=Survey(id="s1", owner="o", question="Q?")))
>>> p.apply(2, ev.IdeaAdded(ts=0.0, text="a"))
>>> digest(restore("s1", encode(p), sampler_factory=None)) == digest(p)
True
"""

from __future__ import annotations

from typing import Any

import msgspec

from algorithms import MODELS, ModelState
from ranker.domain import Comment, Flag, Idea, Survey
from ranker.errors import StoreError
from ranker.projection import Projection, VoterInfo, VoteRow
from ranker.sampling import SamplerFactory
from ranker.signals import VoterSignals

__all__ = ["digest", "encode", "restore"]


class _Snapshot(msgspec.Struct, kw_only=True):
    seq: int
    survey: Survey
    ideas: list[Idea]
    comments: list[Comment]
    flags: list[Flag]
    votes: list[VoteRow]
    voters: list[VoterInfo]
    model: ModelState
    version: int = 1
    signals: dict[int, VoterSignals] = msgspec.field(default_factory=dict)


_snap_enc = msgspec.msgpack.Encoder()
_snap_dec = msgspec.msgpack.Decoder(_Snapshot)


def encode(p: Projection) -> bytes:
    """The whole state (with the model's exact state) as MessagePack bytes."""
    if p.survey is None:
        raise StoreError("cannot snapshot an empty projection")
    return _snap_enc.encode(
        _Snapshot(
            seq=p.seq,
            survey=p.survey,
            ideas=p.ideas,
            comments=p.comments,
            flags=p.flags,
            votes=p.votes,
            voters=list(p.voters.values()),
            model=p.model.state(),
            signals=p.signals.by_voter,
        )
    )


def restore(survey_id: str, data: bytes, sampler_factory: SamplerFactory | None) -> Projection:
    """A projection saved by :func:`encode` (counters derived, the sampler replayed)."""
    snap = _snap_dec.decode(data)
    p = Projection(survey_id, sampler_factory)
    p.seq, p.survey = snap.seq, snap.survey
    p.ideas, p.comments, p.flags, p.votes = snap.ideas, snap.comments, snap.flags, snap.votes
    p.voters = {v.id: v for v in snap.voters}
    p.model = MODELS[snap.model.model].from_state(snap.model)
    p.signals.by_voter = dict(snap.signals)
    p.reindex()
    return p


def digest(p: Projection) -> dict[str, Any]:
    """Everything deterministic about a projection's state, for "rebuilt equals live" checks.

    Model scores are compared separately: a lazily refitting model converges to its optimum
    only up to the solver's tolerance.
    """
    out: dict[str, Any] = msgspec.to_builtins(
        {
            "seq": p.seq,
            "survey": p.survey,
            "ideas": p.ideas,
            "comments": p.comments,
            "flags": p.flags,
            "votes": p.votes,
            "voters": list(p.voters.values()),
            "counts": [p.wins, p.losses, p.ties, p.skips, p.shown_left, p.shown_right],
            "n": [p.n_votes, p.n_skips, p.model.n_items, p.model.n_votes],
        }
    )
    return out
