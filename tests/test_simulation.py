"""The simulation lab: truth, voters, replay, metrics, votes-to-target and the run loop."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from algorithms import create_model
from algorithms.simulation import (
    GUIDES,
    PERCENTILES,
    Curve,
    Replay,
    SimConfig,
    Voters,
    band,
    make_truth,
    metrics_at,
    run_grid,
    run_one,
    votes_to_target,
)

SMALL = SimConfig(n_items=15, votes_per_item=6.0, checkpoint=2.0, top_k=3)


def test_truth_is_seeded_and_scaled() -> None:
    a = make_truth(2000, spread=2.0, seed=1)
    assert np.array_equal(a, make_truth(2000, spread=2.0, seed=1))
    assert not np.array_equal(a, make_truth(2000, spread=2.0, seed=2))
    assert 1.8 < a.std() < 2.2


def _win_rate(voters: Voters, left: int, right: int, draws: int = 4000) -> float:
    rng = np.random.default_rng(0)
    wins = [
        voters.answer(left, right, voter=v, u=u)
        for v, u in zip(rng.integers(voters.n_voters, size=draws), rng.random(draws), strict=True)
    ]
    return float(np.mean(wins))


def test_voters_follow_the_truth_with_careless_share_and_left_bias() -> None:
    truth = np.array([2.0, 0.0])
    careful = Voters(truth, "bt", n_voters=10)
    assert _win_rate(careful, 0, 1) == pytest.approx(1 / (1 + math.exp(-2.0)), abs=0.02)
    careless = Voters(truth, "bt", careless=1.0, n_voters=10)
    assert _win_rate(careless, 0, 1) == pytest.approx(0.5, abs=0.03)
    half = Voters(truth, "bt", careless=0.5, n_voters=10)
    assert half.n_careless == 5
    biased = Voters(np.zeros(2), "bt", left_bias=1.0, n_voters=10)
    assert _win_rate(biased, 0, 1) == pytest.approx(1 / (1 + math.exp(-1.0)), abs=0.02)
    assert _win_rate(biased, 1, 0) > 0.68  # the bonus follows the side, not the item


def test_thurstone_voters_use_the_probit_link() -> None:
    v = Voters(np.array([1.0, 0.0]), "thurstone")
    from scipy.special import ndtr

    assert v.p_left(0, 1) == pytest.approx(float(ndtr(math.sqrt(math.pi / 8))))
    with pytest.raises(ValueError, match="truth must be one of"):
        Voters(np.zeros(2), "elo")


def test_replay_draws_recorded_answers_without_replacement() -> None:
    left = np.array([0, 0, 1, 2, 0, 1])
    right = np.array([1, 1, 0, 1, 2, 2])
    outcome = np.array([1.0, 1.0, 1.0, 1.0, 0.0, 1.0])
    rep = Replay(left, right, outcome, 3, truth=np.zeros(3))
    rng = np.random.default_rng(0)
    # pair {0, 1}: answers "0 wins", "0 wins", "1 wins" (the third was recorded as 1 vs 0)
    got = sorted(rep.answer(0, 1, rng) for _ in range(3))
    assert got == [0.0, 1.0, 1.0]
    assert rep.answer(1, 0, rng) in (0.0, 1.0)  # pool refilled once used up
    # orientation: asking (2, 0) returns the answer from 2's side
    assert rep.answer(2, 0, rng) == 1.0
    # share won by i for i < j in triu order: {0,1}, {0,2}, {1,2}
    assert rep.empirical().tolist() == pytest.approx([2 / 3, 0.0, 0.5])


def test_replay_refuses_an_incomplete_design() -> None:
    with pytest.raises(ValueError, match="complete design: 1 of 3 pairs"):
        Replay(np.array([0, 1]), np.array([1, 2]), np.array([1.0, 1.0]), 3, np.zeros(3))


def test_metrics_of_a_perfect_model() -> None:
    truth = np.array([1.5, 0.5, -0.5, -1.5])
    m = create_model("bt-online", n_items=4)
    for _ in range(200):  # many consistent votes: the estimated order is the true one
        for i in range(3):
            m.update(i, i + 1, 1.0)
    ii, jj = np.triu_indices(4, 1)
    p = 1 / (1 + np.exp(-(truth[ii] - truth[jj])))
    got = metrics_at(m, truth, truth, p, k=2, level=0.95)
    assert got["kendall_tau"] == 1.0 and got["spearman"] == 1.0 and got["top_k_recall"] == 1.0
    assert 0.0 <= got["coverage"] <= 1.0 and got["log_loss"] > 0


def test_votes_to_target_interpolates_and_handles_never_and_log_loss() -> None:
    c = Curve(
        sampler="s",
        model="m",
        seed=0,
        votes_per_item=[1.0, 2.0, 3.0],
        metrics={"kendall_tau": [0.5, 0.7, 0.9], "log_loss": [0.7, 0.6, 0.5]},
    )
    assert votes_to_target(c, "kendall_tau", 0.8) == pytest.approx(2.5)
    assert votes_to_target(c, "kendall_tau", 0.4) == 1.0
    assert math.isinf(votes_to_target(c, "kendall_tau", 0.95))
    assert votes_to_target(c, "log_loss", 0.55) == pytest.approx(2.5)


def test_band_is_the_median_and_10_90_percentiles_up_to_the_shortest_curve() -> None:
    def curve(seed: int, taus: list[float]) -> Curve:
        xs = [float(k + 1) for k in range(len(taus))]
        return Curve(sampler="s", model="m", seed=seed, votes_per_item=xs, metrics={"t": taus})

    curves = [curve(0, [0.1, 0.5, 0.9]), curve(1, [0.2, 0.6]), curve(2, [0.3, 0.4, 0.0])]
    xs, q = band(curves, "t")
    assert PERCENTILES == (10.0, 50.0, 90.0)
    assert xs == [1.0, 2.0]  # a run stopped early (stop_when) ends the band
    assert q[1].tolist() == pytest.approx([0.2, 0.5])
    assert q[0].tolist() == pytest.approx([0.12, 0.42])
    assert q[2].tolist() == pytest.approx([0.28, 0.58])


def test_run_one_is_deterministic_and_well_formed() -> None:
    a = run_one(SMALL, "adaptive", "bt", seed=3)
    b = run_one(SMALL, "adaptive", "bt", seed=3)
    assert a == b
    assert a.votes_per_item == [2.0, 4.0, 6.0]
    for name, ys in a.metrics.items():
        assert len(ys) == 3, name
    assert all(-1.0 <= t <= 1.0 for t in a.metrics["kendall_tau"])
    assert run_one(SMALL, "adaptive", "bt", seed=4) != a


def test_same_seed_same_truth_across_samplers() -> None:
    # a perfect-information check: with the same seed the runs differ only by the sampler
    cfg = SimConfig(n_items=10, votes_per_item=2.0, checkpoint=2.0)
    r = run_one(cfg, "random", "bt-online", seed=1)
    b = run_one(cfg, "balanced", "bt-online", seed=1)
    assert r.seed == b.seed and r.metrics != b.metrics


def test_careless_voters_destroy_the_ranking() -> None:
    taus = {}
    for careless in (0.0, 1.0):
        cfg = SimConfig(n_items=20, votes_per_item=15.0, checkpoint=15.0, careless=careless)
        taus[careless] = np.mean(
            [run_one(cfg, "random", "bt-online", s).metrics["kendall_tau"][-1] for s in range(3)]
        )
    assert taus[0.0] > 0.6 and abs(taus[1.0]) < 0.3


def test_items_arrive_mid_survey() -> None:
    cfg = SimConfig(n_items=20, votes_per_item=10.0, checkpoint=1.0, arriving=0.5)
    c = run_one(cfg, "adaptive", "bt", seed=0)
    assert c.items[0] < 20 and c.items[-1] == 20
    assert c.items == sorted(c.items)


def test_stop_when_ends_the_run_at_the_target() -> None:
    cfg = SimConfig(n_items=15, votes_per_item=40.0, checkpoint=1.0)
    c = run_one(cfg, "random", "bt-online", seed=0, stop_when=("kendall_tau", 0.5))
    assert c.metrics["kendall_tau"][-1] >= 0.5
    assert all(t < 0.5 for t in c.metrics["kendall_tau"][:-1])
    assert c.votes_per_item[-1] < 40.0


def test_guides_and_grid() -> None:
    assert GUIDES["bt"] == "bt-online"
    seen = []
    curves = run_grid(
        SMALL,
        ["random", "topk"],
        ["bt-online", "elo"],
        [0, 1],
        sampler_params={"topk": {"k": 3}},
        progress=lambda done, total, label: seen.append((done, total)),
    )
    assert len(curves) == 8 and seen[-1] == (8, 8)
    assert {(c.sampler, c.model) for c in curves} == {
        (s, m) for s in ("random", "topk") for m in ("bt-online", "elo")
    }
    # the model itself can guide the sampler too
    assert run_one(SMALL, "info-gain", "bt", 0, guide="bt").votes_per_item == [2.0, 4.0, 6.0]


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="careless"):
        SimConfig(careless=1.5).validate()
    with pytest.raises(ValueError, match="truth"):
        SimConfig(truth="elo").validate()
    with pytest.raises(ValueError, match="n_items"):
        run_one(SimConfig(n_items=1), "random", "bt", 0)


def test_replay_of_the_potato_data(shared_data: Path) -> None:
    from ranker.votefile import read_votes

    table = read_votes(shared_data / "potato_weight_visual.csv")
    assert table.n_items == 20
    fit = create_model("bt", n_items=20)
    fit.fit(table.left, table.right, table.outcome)
    rep = Replay(table.left, table.right, table.outcome, 20, truth=fit.scores())
    assert max(len(p) for p in rep.pools.values()) == 12  # 12 assessors per pair
    cfg = SimConfig(n_items=20, votes_per_item=8.0, checkpoint=4.0)
    c = run_one(cfg, "adaptive", "bt", seed=0, replay=rep)
    # the recorded answers agree with the full-data fit, so the ranking recovers it
    assert c.metrics["kendall_tau"][-1] > 0.6


def test_doctests() -> None:
    import doctest

    import algorithms.simulation as sim

    result = doctest.testmod(sim)
    assert result.attempted >= 1 and result.failed == 0
