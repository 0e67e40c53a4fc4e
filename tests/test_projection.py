"""Folding the event log: counts, statuses, undo/void refits, snapshots, result summaries."""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from algorithms import MODELS, BTModel, create_model
from algorithms.settle import SettleCheck, check_model
from ranker import events as ev
from ranker.domain import IdeaResult, Survey
from ranker.errors import NoPairAvailable, StoreError
from ranker.projection import Projection
from ranker.ranking import rank_view, subset
from ranker.snapshots import digest, encode, restore


def make(model: str = "bt", n: int = 4) -> Projection:
    p = Projection("s", sampler_factory=None)
    p.apply(
        1,
        ev.SurveyCreated(
            ts=0.0, survey=Survey(id="s", owner="o", question="Q?", model=model, status="open")
        ),
    )
    for i in range(n):
        p.apply(p.seq + 1, ev.IdeaAdded(ts=0.0, text=f"idea {i}"))
    return p


def vote(p: Projection, voter: str, left: int, right: int, outcome: str = "left") -> int:
    seq = p.seq + 1
    p.apply(
        seq,
        ev.VoteCast(
            ts=float(seq), ballot=f"b{seq}", voter=voter, left=left, right=right, outcome=outcome
        ),
    )  # type: ignore[arg-type]
    return seq


def results(
    p: Projection, level: float, statuses: tuple[str, ...] = ("active",)
) -> list[IdeaResult]:
    return rank_view(p.results_view(statuses), p.model, level)


def settle(p: Projection, k: int) -> SettleCheck:
    active = np.flatnonzero(p.active_mask()).astype(np.int64)
    return check_model(p.model, k, 0.95, 0.55, active)


def test_gaps_in_the_log_are_refused() -> None:
    p = make()
    with pytest.raises(StoreError, match="gap"):
        p.apply(p.seq + 2, ev.IdeaAdded(ts=0.0, text="x"))


def test_counts_exposure_and_skips() -> None:
    p = make()
    vote(p, "a", 0, 1, "left")
    vote(p, "a", 2, 0, "tie")
    p.apply(
        p.seq + 1,
        ev.VoteSkipped(ts=9.0, ballot="s1", voter="b", left=3, right=1, reason="dont_know"),
    )
    assert (p.wins, p.losses, p.ties, p.skips) == (
        [1, 0, 0, 0],
        [0, 1, 0, 0],
        [1, 0, 1, 0],
        [0, 1, 0, 1],
    )
    assert (p.shown_left, p.shown_right) == ([1, 0, 1, 1], [1, 2, 0, 0])
    assert (p.n_votes, p.n_skips, p.model.n_votes) == (2, 1, 2)


def test_undo_and_void_refit_as_if_the_votes_never_happened() -> None:
    p = make("bt-online")
    vote(p, "a", 0, 1)
    target = vote(p, "b", 1, 2)
    vote(p, "c", 3, 2)
    vote(p, "c", 3, 0)
    p.apply(p.seq + 1, ev.VoteUndone(ts=0.0, voter="b", target=target))
    p.apply(p.seq + 1, ev.VoteUndone(ts=0.0, voter="a", target=target))  # not a's: ignored
    p.apply(p.seq + 1, ev.VoterVoided(ts=0.0, voter="c"))
    ref = create_model("bt-online", n_items=4)
    ref.update(0, 1, 1.0)
    np.testing.assert_allclose(p.model.scores(), ref.scores())
    assert p.n_votes == 1 and p.voters["c"].voided and p.voters["b"].answers == []
    vote(p, "c", 3, 1)  # logged after the void: never counted
    assert p.n_votes == 1 and not p.votes[-1].active


def test_votes_after_close_are_inert() -> None:
    p = make()
    p.apply(p.seq + 1, ev.SurveyStatusChanged(ts=0.0, status="closed"))
    vote(p, "a", 0, 1)
    assert p.n_votes == 0 and p.model.n_votes == 0


def test_statuses_drive_the_active_mask_and_picks() -> None:
    p = make(n=3)
    p.apply(p.seq + 1, ev.IdeaStatusChanged(ts=0.0, idea=0, status="retired"))
    p.apply(
        p.seq + 1,
        ev.IdeaAdded(ts=0.0, text="new", author="participant", voter="v", status="pending"),
    )
    assert p.active_mask().tolist() == [False, True, True, False]
    assert p.voters["v"].ideas == 1
    p.apply(p.seq + 1, ev.IdeaStatusChanged(ts=0.0, idea=1, status="rejected"))
    with pytest.raises(NoPairAvailable):
        p.pick("v")
    p.apply(p.seq + 1, ev.IdeaEdited(ts=0.0, idea=2, text="edited"))
    p.apply(p.seq + 1, ev.IdeaEdited(ts=0.0, idea=99, text="unknown idea: ignored"))
    assert p.ideas[2].text == "edited"


def test_snapshot_round_trip_equals_original() -> None:
    p = make()
    for i in range(20):
        vote(p, f"v{i % 3}", i % 4, (i + 1) % 4, ["left", "right", "tie"][i % 3])
    p.apply(p.seq + 1, ev.CommentAdded(ts=0.0, idea=1, voter="v0", text="hi"))
    q = restore("s", encode(p), sampler_factory=None)
    assert digest(q) == digest(p)
    np.testing.assert_allclose(q.model.scores(), p.model.scores(), atol=1e-9)
    vote(p, "v9", 0, 3)
    vote(q, "v9", 0, 3)
    assert digest(q) == digest(p)


def test_results_rank_only_active_ideas() -> None:
    p = make(n=5)
    for _ in range(15):
        for a in range(5):
            for b in range(a + 1, 5):
                vote(p, "v", a, b)  # lower index always wins
    p.apply(p.seq + 1, ev.IdeaStatusChanged(ts=0.0, idea=0, status="retired"))
    res = results(p, 0.95)
    assert [r.idea for r in res] == [1, 2, 3, 4]
    assert [r.rank for r in res] == [1, 2, 3, 4]
    assert all(r.rank_lo <= r.rank <= r.rank_hi for r in res)
    assert [r.tier for r in res] == sorted(r.tier for r in res)
    assert res[0].p_beats_random > 0.5 > res[-1].p_beats_random
    assert results(p, 0.95, statuses=("active", "retired"))[0].idea == 0
    assert settle(p, 9).settled and settle(p, 4).settled  # k >= active ideas: nothing to settle
    assert settle(p, 1).p_top.shape == (4,)  # the retired idea is not a candidate
    before = settle(p, 1).p_top[0]
    for _ in range(60):
        vote(p, "w", 1, 2)
    assert settle(p, 1).p_top[0] > before


def test_subset_view_is_read_only_and_consistent() -> None:
    m = create_model("bt", n_items=4)
    m.update([0, 1, 2], [1, 2, 3], [1.0, 1.0, 0.5])
    assert subset(m, np.arange(4), 3) is m
    view = subset(m, np.array([1, 3]), 3)
    np.testing.assert_allclose(view.scores(), m.scores()[[1, 3]])
    assert view.sample_scores(5, seed=1).shape == (5, 2)
    with pytest.raises(TypeError):
        view.update(0, 1, 1.0)


ops = st.lists(
    st.one_of(
        st.tuples(
            st.just("vote"),
            st.integers(0, 3),
            st.integers(0, 4),
            st.integers(0, 4),
            st.sampled_from(["left", "right", "tie", "skip"]),
        ),
        st.tuples(st.just("undo"), st.integers(0, 3)),
        st.tuples(st.just("void"), st.integers(0, 3)),
        st.tuples(
            st.just("status"), st.integers(0, 4), st.sampled_from(["active", "retired", "rejected"])
        ),
        st.tuples(st.just("close_open"), st.booleans()),
    ),
    max_size=40,
)


@settings(max_examples=25, deadline=None)
@given(ops)
def test_any_log_rebuilds_and_restores_to_the_same_state(steps: list[tuple]) -> None:  # type: ignore[type-arg]
    log: list[ev.Event] = [
        ev.SurveyCreated(
            ts=0.0, survey=Survey(id="s", owner="o", question="Q?", model="bt", status="open")
        ),
        *[ev.IdeaAdded(ts=0.0, text=f"idea {i}") for i in range(5)],
    ]
    last: dict[str, int] = {}
    for step in steps:
        seq = len(log) + 1
        if step[0] == "vote" and step[2] != step[3]:
            voter = f"v{step[1]}"
            kw = dict(ts=float(seq), ballot=f"b{seq}", voter=voter, left=step[2], right=step[3])
            log.append(
                ev.VoteSkipped(**kw)
                if step[4] == "skip"  # type: ignore[arg-type]
                else ev.VoteCast(outcome=step[4], **kw)
            )  # type: ignore[arg-type]
            last[voter] = seq
        elif step[0] == "undo" and f"v{step[1]}" in last:
            log.append(ev.VoteUndone(ts=0.0, voter=f"v{step[1]}", target=last[f"v{step[1]}"]))
        elif step[0] == "void":
            log.append(ev.VoterVoided(ts=0.0, voter=f"v{step[1]}"))
        elif step[0] == "status":
            log.append(ev.IdeaStatusChanged(ts=0.0, idea=step[1], status=step[2]))
        elif step[0] == "close_open":
            log.append(ev.SurveyStatusChanged(ts=0.0, status="open" if step[1] else "closed"))
    live = Projection("s", sampler_factory=None)
    half = len(log) // 2
    for i, e in enumerate(log[:half]):
        live.apply(i + 1, e)
    restored = restore("s", encode(live), sampler_factory=None)
    for i, e in enumerate(log[half:], start=half):
        live.apply(i + 1, e)
        restored.apply(i + 1, e)
    rebuilt = Projection("s", sampler_factory=None)
    for i, e in enumerate(log):
        rebuilt.apply(i + 1, e)
    assert digest(live) == digest(restored) == digest(rebuilt)
    np.testing.assert_allclose(live.model.scores(), rebuilt.model.scores(), atol=1e-6)
    np.testing.assert_allclose(restored.model.scores(), rebuilt.model.scores(), atol=1e-6)
    assert live.n_votes == sum(1 for r in live.votes if r.active and r.y is not None)
    assert sum(live.wins) + sum(live.ties) / 2 == live.n_votes


def test_a_skip_blocks_the_pair_for_that_voter_but_is_no_evidence_for_the_sampler() -> None:
    from algorithms import create_sampler

    p = Projection("s", sampler_factory=lambda name: create_sampler(name, seed=0))
    p.apply(
        1,
        ev.SurveyCreated(
            ts=0.0, survey=Survey(id="s", owner="o", question="Q?", model="bt", status="open")
        ),
    )
    for i in range(3):
        p.apply(p.seq + 1, ev.IdeaAdded(ts=0.0, text=f"idea {i}"))
    assert p.sampler is not None
    sampler: Any = p.sampler
    assert int(sampler.counts.sum()) == 0
    p.apply(
        p.seq + 1,
        ev.VoteSkipped(ts=9.0, ballot="s1", voter="b", left=0, right=1, reason="dont_know"),
    )
    assert int(sampler.counts.sum()) == 0  # a skip is no evidence and no exposure
    assert sampler.seen["b"] == {(0, 1)}  # but not shown to this voter again while avoidable
    vote(p, "b", 2, 0, "left")
    assert sampler.counts.tolist() == [1, 0, 1]  # a real answer does count


class _ContextProbe(BTModel):
    """A ``bt`` that records the vote context it is given (time- and group-aware models
    read it)."""

    uses = frozenset({"time", "group"})
    seen: ClassVar[list[Any]] = []

    def update(self, *args: Any, context: Any = None, **kw: Any) -> None:
        type(self).seen.append(("update", context))
        super().update(*args, **kw)

    def fit(self, *args: Any, context: Any = None, **kw: Any) -> Any:
        type(self).seen.append(("fit", context))
        return super().fit(*args, **kw)


def test_time_and_group_reach_models_that_use_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(MODELS, "ctx-probe", _ContextProbe)
    _ContextProbe.seen = []
    p = Projection("s", sampler_factory=None)
    survey = Survey(id="s", owner="o", question="Q?", model="ctx-probe", status="open")
    p.apply(1, ev.SurveyCreated(ts=0.0, survey=msgspec.structs.replace(survey, groups=["a", "b"])))
    for i in range(3):
        p.apply(p.seq + 1, ev.IdeaAdded(ts=0.0, text=f"idea {i}"))
    cast = [("v1", "b", 86_400.0), ("v2", None, 2 * 86_400.0)]
    for voter, group, ts in cast:
        p.apply(
            p.seq + 1,
            ev.VoteCast(
                ts=ts, ballot=voter, voter=voter, group=group, left=0, right=1, outcome="left"
            ),
        )
    (_, first), (_, second) = _ContextProbe.seen
    assert (first.time, first.group) == (1.0, 1) and (second.time, second.group) == (2.0, -1)
    p.apply(p.seq + 1, ev.VoterVoided(ts=3 * 86_400.0, voter="v1"))  # refits what remains
    kind, ctx = _ContextProbe.seen[-1]  # rebuilt as one batch of the answers that remain
    assert kind == "update" and ctx.time.tolist() == [2.0] and ctx.group.tolist() == [-1]


def test_models_without_context_are_not_given_one() -> None:
    p = make("bt")
    vote(p, "v", 0, 1)
    assert p.model.uses == frozenset() and p.model.n_votes == 1
