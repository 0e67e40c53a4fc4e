"""The settle criterion, its forecast, the ``settle`` sampler, and the service's estimate."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

from algorithms import create_model, create_sampler
from algorithms.settle import (
    APART,
    EVEN,
    IN,
    OPEN,
    OUT,
    TIED,
    UNSURE,
    check_draws,
    check_model,
    check_order,
    forecast,
    next_check,
)
from ranker import errors as E
from ranker.domain import Answer, Limits, SurveyPatch, Voter
from ranker.service import RankerService
from tests.core_fixtures import memory_only, survey


def draws(mean: list[float], sd: float, m: int = 2000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mu = np.array(mean)
    return mu + sd * rng.standard_normal((m, mu.size))


def test_known_ideas_are_in_or_out_and_the_top_is_settled() -> None:
    mean = [3.0, 2.0, 0.0, -1.0]
    c = check_draws(draws(mean, 0.05), np.array(mean), k=2)
    assert c.status.tolist() == [IN, IN, OUT, OUT] and c.settled and c.decided == 4
    assert c.p_top.tolist() == [1.0, 1.0, 0.0, 0.0]


def test_a_boundary_close_call_is_open_until_known_to_be_within_the_margin() -> None:
    mean = [2.0, 0.05, 0.0, -2.0]  # ideas 1 and 2 straddle the boundary of the top 2
    wide = check_draws(draws(mean, 0.3), np.array(mean), k=2)
    assert wide.status[1] == OPEN and wide.status[2] == OPEN and not wide.settled
    # known to 0.04: the order of the two is unsure, but their difference (0.05) is well
    # inside logit(0.55) = 0.2 -> practically tied
    narrow = check_draws(draws(mean, 0.04), np.array(mean), k=2)
    assert narrow.status.tolist() == [IN, TIED, TIED, OUT] and narrow.settled
    # the same precision with a larger gap (0.5 > 0.2) separates them instead
    apart = [2.0, 0.5, 0.0, -2.0]
    c = check_draws(draws(apart, 0.02), np.array(apart), k=2)
    assert c.status.tolist() == [IN, IN, OUT, OUT]
    # a wider margin makes the close call practically tied sooner
    mid = check_draws(draws(mean, 0.2), np.array(mean), k=2, margin=0.7)
    assert mid.settled and not check_draws(draws(mean, 0.2), np.array(mean), k=2).settled


def test_the_whole_order_tells_neighbours_apart_groups_practical_ties_and_names_the_open() -> None:
    # places by mean: a (3.0), b (2.0), c (0.03), d (0.0), e (-0.4)
    mean = np.array([0.03, 3.0, -0.4, 2.0, 0.0])
    tight = check_order(draws(mean.tolist(), 0.02), mean)
    assert tight.order.tolist() == [1, 3, 0, 4, 2]
    # c and d differ by 0.03, known to 0.02 each: not ordered at 95%, but surely inside
    # logit(0.55) = 0.2 of each other: a practical tie
    assert tight.status.tolist() == [APART, APART, EVEN, APART] and tight.settled
    assert (tight.decided, tight.places(EVEN), tight.places(APART)) == (4, [3], [1, 2, 4])
    wide = check_order(draws(mean.tolist(), 0.3), mean)
    # 1.0 apart at sd 0.3 is still told apart; 0.03 and 0.4 are not yet known either way
    assert wide.status.tolist() == [APART, APART, UNSURE, UNSURE] and not wide.settled
    assert wide.runs(UNSURE) == [(3, 5)] and wide.runs(APART) == [(1, 3)]
    assert check_order(draws(mean.tolist(), 0.3), mean, level=0.5).decided >= wide.decided


def test_the_whole_order_is_consistent_with_its_draws_over_random_posteriors() -> None:
    rng = np.random.default_rng(3)
    for _ in range(40):
        n = int(rng.integers(2, 12))
        mean = rng.normal(0.0, rng.uniform(0.1, 2.0), n)
        d = mean + rng.uniform(0.01, 0.5) * rng.standard_normal((400, n))
        level, margin = float(rng.uniform(0.6, 0.99)), float(rng.uniform(0.51, 0.8))
        c = check_order(d, mean, level, margin)
        assert c.status.size == n - 1 and c.decided == n - 1 - len(c.places(UNSURE))
        diff = d[:, c.order[:-1]] - d[:, c.order[1:]]
        close = (np.abs(diff) < np.log(margin / (1 - margin))).mean(axis=0)
        apart = (diff > 0).mean(axis=0)
        assert np.all(apart[c.status == APART] >= level)
        assert np.all(close[c.status == EVEN] >= level)
        undecided = c.status == UNSURE
        assert np.all((apart[undecided] < level) & (close[undecided] < level))


def test_bad_arguments_are_refused() -> None:
    d, m = draws([0.0, 1.0], 0.1), np.array([0.0, 1.0])
    for kw in ({"k": 0}, {"k": 1, "level": 1.0}, {"k": 1, "margin": 0.5}, {"k": 1, "margin": 1.2}):
        with pytest.raises(ValueError):
            check_draws(d, m, **kw)  # type: ignore[arg-type]
    assert check_draws(d, m, k=5).settled  # k >= n: nothing to settle


def test_the_check_schedule_resolves_five_percent() -> None:
    assert next_check(0, 20) == 10
    assert next_check(10_000, 20) == 10_500


def fitted(n: int, votes: int, seed: int = 0, gap: float = 0.0) -> tuple[object, ...]:
    rng = np.random.default_rng(seed)
    theta = np.linspace(2.0, -2.0, n) + gap
    left = rng.integers(n, size=votes)
    right = (left + rng.integers(1, n, size=votes)) % n
    y = (rng.random(votes) < expit(theta[left] - theta[right])).astype(float)
    model = create_model("bt", n_items=n)
    model.fit(left, right, y)
    return model, (left, right, y)


def test_the_forecast_is_zero_when_settled_and_finite_and_repeatable_when_not() -> None:
    model, hist = fitted(6, 3000)
    assert check_model(model, 3).settled
    done = forecast(model, lambda: create_sampler("settle", seed=1, k=3), 3, n_sims=3)
    assert done.needed == [0, 0, 0] and done.median == 0
    model, hist = fitted(8, 200)
    assert not check_model(model, 3).settled
    before = model.scores().copy()

    def run() -> object:
        return forecast(
            model,
            lambda: create_sampler("settle", seed=1, k=3),
            3,
            history=hist,
            n_sims=6,
            seed=4,
        )

    a, b = run(), run()
    assert a == b  # seeded: the same forecast twice
    np.testing.assert_array_equal(model.scores(), before)  # the model was not changed
    assert a.median is not None and 0 < a.quantile(0.1) <= a.median <= (a.quantile(0.9) or 10**9)  # type: ignore[attr-defined,operator]


def test_the_forecast_stops_at_the_horizon_and_the_deadline() -> None:
    model, _ = fitted(12, 60)
    short = forecast(model, lambda: create_sampler("random", seed=1), 3, n_sims=4, horizon=30)
    assert short.censored == [True] * 4 and short.median is None and short.horizon == 30
    quick = forecast(model, lambda: create_sampler("random", seed=1), 3, n_sims=50, deadline_s=0.0)
    assert 3 <= len(quick.needed) < 50  # at least three simulations, then out of time


def test_the_settle_sampler_spends_its_focus_on_the_boundary() -> None:
    model, _ = fitted(20, 400)
    s = create_sampler("settle", seed=0, k=5, focus=1.0)
    order = np.argsort(-model.scores())
    near = set(order[:12].tolist())  # the top 5 and the challengers just below
    picks = [s.next_pair(model, voter=f"v{t}") for t in range(30)]
    assert all({p[0], p[1]} <= near for p in picks)
    assert all({p[0], p[1]} & set(order[:5].tolist()) for p in picks)  # one insider each
    assert all(0.0 < p.probability <= 1.0 for p in picks)
    s.set_target(k=2, margin=0.6)
    assert (s.k, s.margin) == (2, 0.6)
    with pytest.raises(ValueError):
        s.set_target(margin=0.4)


@memory_only
def test_the_service_estimate_reports_places_progress_and_a_cached_forecast(
    svc: RankerService,
) -> None:
    sid = survey(svc, n=6, limits=Limits(answers_per_minute=0), top_k=2)
    svc.settling.budget_s = 0.3  # three simulations at least, then out of time
    svc.settling.min_interval_s = 0.0  # re-run on 10 % more answers however soon
    first = svc.settling.votes_needed(sid)
    assert (first.k, first.margin, first.n_votes, first.settled) == (2, 0.55, 0, False)
    assert len(first.places) == 6 and {p.status for p in first.places} == {"open"}
    rng = np.random.default_rng(0)
    theta = np.linspace(0.6, -0.6, 6)  # close ideas: 40 answers cannot settle them

    def answer(voter: Voter) -> None:
        b = svc.voting.next_ballot(sid, voter)
        left_wins = rng.random() < expit(theta[b.left] - theta[b.right])
        svc.voting.answer(sid, voter, b.token, Answer(choice="left" if left_wins else "right"))

    voters = [svc.voting.issue_voter(sid) for _ in range(4)]
    for i in range(40):
        answer(voters[i // 10])
    voter = voters[-1]
    est = svc.settling.votes_needed(sid)
    assert est.n_votes == 40 and 0.0 < est.progress < 1.0 and est.simulations >= 3
    scores = {i.idea: i.score for i in svc.rankings.results(sid).ideas}
    assert [p.idea for p in est.places] == sorted(scores, key=lambda i: -scores[i])
    whole = est.order  # the whole order: every border between neighbouring places, once
    assert whole is not None and whole.borders == 5
    assert sorted(whole.apart_after + whole.tied_after + whole.open_after) == [1, 2, 3, 4, 5]
    assert whole.decided == 5 - len(whole.open_after) and whole.settled == (not whole.open_after)
    # one more answer: the same forecast (less than 10 % new answers), counted down by one
    answer(voter)
    again = svc.settling.votes_needed(sid)
    assert again.n_votes == 41 and again.simulations == est.simulations
    if not again.settled and est.votes_needed is not None and est.votes_needed > 1:
        assert again.votes_needed == est.votes_needed - 1
    assert svc.settling.votes_needed(sid, k=5).k == 5
    svc.surveys.update(sid, SurveyPatch(top_k=3, margin=0.6), organiser="org")
    assert (svc.settling.votes_needed(sid).k, svc.settling.votes_needed(sid).margin) == (3, 0.6)
    sampler = svc.repo.get(sid).sampler
    assert (sampler.k, sampler.margin) == (3, 0.6)  # type: ignore[attr-defined]


@memory_only
def test_bad_settle_requests_are_refused(svc: RankerService) -> None:
    sid = survey(svc, n=4)
    for kw in ({"k": 0}, {"k": True}, {"k": 1.5}, {"margin": 0.5}, {"margin": 0.95}):
        with pytest.raises(E.InvalidInput):
            svc.settling.votes_needed(sid, **kw)  # type: ignore[arg-type]
    with pytest.raises(E.SurveyNotFound):
        svc.settling.votes_needed("nope")


def test_more_than_n_is_a_true_lower_bound_of_the_median() -> None:
    """Censored runs count at the votes they reached: "more than N" never overstates."""
    from algorithms.settle import Forecast

    fc = Forecast(needed=[100, 250, 400, 900], censored=[False, True, True, True], horizon=5000)
    assert fc.median is None and fc.at_least(0.5) == 250  # not the 5,000 of the horizon
    done = Forecast(needed=[100, 200, 300], censored=[False] * 3, horizon=5000)
    assert done.median == 200 == done.at_least(0.5)
