"""Integrity: voters who look like bots are flagged with the evidence; honest ones are not."""

from __future__ import annotations

import numpy as np

from ranker.domain import Answer, Limits
from ranker.service import RankerService
from ranker.signals import Signals, agreement, reasons
from tests.core_fixtures import Clock, survey


def _answer(svc: RankerService, sid: str, voter: object, pick: str, ms: int) -> None:
    b = svc.voting.next_ballot(sid, voter)  # type: ignore[arg-type]
    if pick == "truth":  # lower ids are better
        choice = "left" if b.left < b.right else "right"
    elif pick == "against":
        choice = "right" if b.left < b.right else "left"
    else:
        choice = pick
    svc.voting.answer(sid, voter, b.token, Answer(choice=choice, response_ms=ms))  # type: ignore[arg-type]


def test_bots_are_flagged_with_evidence_and_honest_voters_are_not(
    svc: RankerService, clock: Clock
) -> None:
    sid = survey(svc, n=10, limits=Limits(answers_per_minute=0))
    honest = [svc.voting.issue_voter(sid) for _ in range(12)]
    for _ in range(25):
        for v in honest:
            _answer(svc, sid, v, "truth", 2500)
            clock.t += 1.0
    lefty, contrarian = svc.voting.issue_voter(sid), svc.voting.issue_voter(sid)
    for _ in range(30):
        _answer(svc, sid, lefty, "left", 120)
        _answer(svc, sid, contrarian, "against", 3000)
        clock.t += 0.2
    flagged = {f.voter: f for f in svc.integrity.flagged(sid)}
    assert set(flagged) == {lefty.id, contrarian.id}
    assert {"side_bias", "fast", "burst"} <= set(flagged[lefty.id].reasons)
    assert flagged[lefty.id].left_share == 1.0 and flagged[lefty.id].fast_share == 1.0
    assert "against_crowd" in flagged[contrarian.id].reasons
    assert flagged[contrarian.id].agreement_z < -2 and flagged[contrarian.id].agreement_log_lr < 0
    svc.voting.void_voter(sid, lefty.id)
    assert lefty.id not in {f.voter for f in svc.integrity.flagged(sid)}
    voided = {f.voter: f for f in svc.integrity.flagged(sid, include_voided=True)}
    assert voided[lefty.id].voided


def test_signals_survive_a_snapshot_and_equal_a_rebuild(svc: RankerService) -> None:
    sid = survey(svc, n=6, limits=Limits(answers_per_minute=0))
    v = svc.voting.issue_voter(sid)
    for _ in range(25):
        _answer(svc, sid, v, "left", 100)
    svc.repo.snapshot(sid)
    from ranker import snapshots

    restored = snapshots.restore(sid, snapshots.encode(svc.repo.get(sid)), None)
    rebuilt = svc.repo.rebuild(sid)
    live = svc.repo.get(sid).signals.by_voter
    assert restored.signals.by_voter == live == rebuilt.signals.by_voter


def test_a_new_voter_is_never_flagged_on_a_few_answers() -> None:
    s = Signals()
    for k in range(19):
        s.observe(1, left_won=True, ts=k * 3.0, response_ms=None)
    assert reasons(s.by_voter[1], agreement_z=-10.0) == []


def test_agreement_is_measured_against_the_crowds_current_model() -> None:
    rng = np.random.default_rng(0)
    n, m = 10, 4000
    truth = np.linspace(2, -2, n)
    left = rng.integers(0, n, m)
    right = (left + rng.integers(1, n, m)) % n
    voter = rng.integers(0, 40, m)
    p = 1 / (1 + np.exp(-(truth[left] - truth[right])))
    y = (rng.random(m) < p).astype(float)
    contrarian = voter == 0
    y[contrarian] = 1.0 - y[contrarian]
    agree = agreement(voter, left, right, y, truth)
    assert agree[0].z < -3 and agree[0].log_lr < 0
    honest_z = [agree[v].z for v in range(1, 40)]
    assert sum(z <= -3 for z in honest_z) <= 1  # about 0.1% expected at -3 sd
    assert abs(float(np.mean(honest_z))) < 0.5
