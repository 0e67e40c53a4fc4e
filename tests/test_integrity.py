"""Integrity: voters who look like bots are flagged with the evidence; honest ones are not."""

from __future__ import annotations

import numpy as np

from ranker.domain import Answer, Limits
from ranker.service import RankerService
from ranker.signals import Agreement, Signals, agreement, reasons
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
    assert reasons(s.by_voter[1], Agreement(log_lr=-20.0, z=-9.0, p=1e-9)) == []


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
    assert agree[0].z < -3 and agree[0].log_lr < 0 and agree[0].p <= 0.01
    honest_z = [agree[v].z for v in range(1, 40)]
    assert sum(agree[v].p <= 0.01 for v in range(1, 40)) <= 2  # 1% expected
    assert abs(float(np.mean(honest_z))) < 0.5


def _voters_on_close_pairs(
    voters: int, answers: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Voters answering pairs whose logit gaps are mostly small with a few lopsided ones (as
    an adaptive sampler shows): (voter, left, right, p of left, the model's scores)."""
    rng = np.random.default_rng(seed)
    n = 60
    mean = np.sort(rng.normal(0, 1.2, n))
    m = voters * answers
    left = rng.integers(0, n, m)
    near = rng.random(m) < 0.85
    step = np.where(near, rng.integers(1, 4, m), rng.integers(1, n, m))
    right = (left + step) % n
    voter = np.repeat(np.arange(voters), answers)
    p = 1 / (1 + np.exp(-(mean[left] - mean[right])))
    return voter, left, right, p, mean


def test_against_crowd_flags_about_alpha_of_voters_following_the_model() -> None:
    """The false-positive rate is at most the stated one even where the normal
    approximation's is not (20 answers, a heavy left tail from upsets on lopsided pairs)."""
    from ranker.signals import AGAINST_Z

    voter, left, right, p, mean = _voters_on_close_pairs(2000, 20, seed=1)
    rng = np.random.default_rng(2)
    y = (rng.random(p.shape[0]) < p).astype(float)
    agree = agreement(voter, left, right, y, mean)
    share = np.mean([a.against for a in agree.values()])
    assert 0.001 <= share <= 0.016  # at most 1% of 2000 (20, binomial sd 4.5)
    normal = np.mean([a.z <= -AGAINST_Z for a in agree.values()])
    assert normal > 0.015  # the same 1% by the normal approximation flags more than that


def test_against_crowd_finds_random_clickers_as_often_as_the_pairs_allow() -> None:
    """Power against a coin: the same pairs answered at random are flagged far more often
    than voters following the model, and more often with more answers."""
    from scipy.stats import norm

    from ranker.signals import AGAINST_ALPHA

    found = []
    for answers in (40, 120):
        voter, left, right, p, mean = _voters_on_close_pairs(300, answers, seed=3)
        y = (np.random.default_rng(4).random(p.shape[0]) < 0.5).astype(float)
        agree = agreement(voter, left, right, y, mean)
        found.append(np.mean([a.against for a in agree.values()]))
        # the normal-approximation power of the most powerful test: no rule does much better
        q = 1 - p
        e1 = np.bincount(voter, p * np.log(2 * p) + q * np.log(2 * q))
        sd1 = np.sqrt(np.bincount(voter, p * q * np.log(p / q) ** 2))
        e0 = np.bincount(voter, 0.5 * np.log(4 * p * q))
        sd0 = np.sqrt(np.bincount(voter, 0.25 * np.log(p / q) ** 2))
        bound = float(np.mean(norm.cdf((e1 + norm.ppf(AGAINST_ALPHA) * sd1 - e0) / sd0)))
        assert found[-1] <= bound + 0.1
    assert 0.2 < found[0] < found[1]


def test_many_voters_from_one_address_are_flagged_only_when_they_answer_against_the_crowd(
    svc: RankerService, clock: Clock
) -> None:
    sid = survey(svc, n=10, limits=Limits(answers_per_minute=0))
    crowd = [svc.voting.issue_voter(sid, client=f"198.51.100.{k}") for k in range(15)]
    school = [svc.voting.issue_voter(sid, client="192.0.2.1") for _ in range(12)]
    fakes = [svc.voting.issue_voter(sid, client="203.0.113.9") for _ in range(12)]
    for _ in range(8):  # few answers each: no voter alone says anything
        for v in crowd + school:
            _answer(svc, sid, v, "truth", 2500)
        for v in fakes:
            _answer(svc, sid, v, "against", 2500)
        clock.t += 10.0
    flagged = {f.voter: f for f in svc.integrity.flagged(sid)}
    assert set(flagged) == {v.id for v in fakes}
    f = flagged[fakes[0].id]
    assert f.reasons == ["shared_client"] and f.client_voters == 12
    assert f.client_agreement_z is not None and f.client_agreement_z <= -3
    assert f.client is not None and "203.0.113" not in f.client  # a pseudonym, not the address
    # the pseudonym is in the log, on each voter's first answer only; never the address
    events = [e for _, e in svc.exports.events(sid) if getattr(e, "client", None)]
    assert len(events) == len(crowd + school + fakes)
    assert all(len(e.client) == 12 and "." not in e.client for e in events)


def test_same_client_counts_voters_within_ten_minutes_of_each_other() -> None:
    from ranker.signals import CLIENT_WINDOW_S, same_client

    joined: list[float | None] = [0.0, CLIENT_WINDOW_S, 2 * CLIENT_WINDOW_S + 1, 5.0, None]
    assert same_client(["a", "a", "a", "b", "a"], joined).tolist() == [2, 2, 1, 1, 0]


def test_down_weighting_flagged_voters_is_a_survey_setting_off_by_default(
    svc: RankerService, clock: Clock
) -> None:
    from ranker.domain import SurveyPatch

    sid = survey(svc, n=8, limits=Limits(answers_per_minute=0))
    honest = [svc.voting.issue_voter(sid) for _ in range(10)]
    for _ in range(12):
        for v in honest:
            _answer(svc, sid, v, "truth", 2500)
        clock.t += 30.0
    bots = [svc.voting.issue_voter(sid) for _ in range(3)]
    for _ in range(28):  # every pair once: always the right idea, within 0.1 s
        for v in bots:
            _answer(svc, sid, v, "right", 100)

    def order() -> list[int]:
        return [r.idea for r in svc.rankings.results(sid).ideas]

    off = svc.rankings.results(sid)
    assert off.down_weighted == 0
    svc.surveys.update(sid, SurveyPatch(down_weight_flagged=True))
    on = svc.rankings.results(sid)
    assert on.down_weighted == 3 and on.n_votes == off.n_votes  # nothing is voided
    truth = list(range(8))
    from scipy.stats import kendalltau

    assert kendalltau(order(), truth)[0] >= kendalltau([r.idea for r in off.ideas], truth)[0]
    # the flags stay evidence: the same voters are listed, none voided
    assert {f.voter for f in svc.integrity.flagged(sid)} == {b.id for b in bots}
