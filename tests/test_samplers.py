"""Behaviour of each sampler beyond the shared contract, and the information-gain maths."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from algorithms import ModelState, Pair, PairwiseModel, create_model, create_sampler
from algorithms.samplers.base import PickContext, Sampler
from algorithms.samplers.gain import AdaptiveSampler, exact_pair_information, pair_gain
from algorithms.samplers.types import norm_pair


def _model(mean: list[float], var: list[float]) -> PairwiseModel:
    """A bt-online model whose posterior is exactly ``mean``/``var``."""
    cls = type(create_model("bt-online"))
    state = ModelState(
        model="bt-online",
        params={"n_items": len(mean), "prior_var": 1.0, "link": "logistic", "drift": 0.0},
        data={"mean": list(mean), "var": list(var), "n_votes": 0},
    )
    return cls.from_state(state)


def test_pair_is_a_tuple_with_probability() -> None:
    p = Pair(2, 5, probability=0.5)
    left, right = p
    assert (left, right, p.left, p.right, p.probability) == (2, 5, 2, 5, 0.5)
    assert p == (2, 5) and isinstance(p, tuple)


def test_pair_gain_is_the_adf_variance_shrinkage_of_bt_online() -> None:
    # bt-online shrinks v_i to v_i (1 - v_i h) whatever the outcome; pair_gain = (v_i + v_j) h
    mean, var = [0.3, -0.4], [0.7, 0.4]
    m = _model(mean, var)
    m.update(0, 1, 1.0)
    h = (var[0] - m.posterior().var[0]) / var[0] ** 2
    u = pair_gain(mean[0], var[0], np.array([mean[1]]), np.array([var[1]]))[0]
    assert u == pytest.approx((var[0] + var[1]) * h, rel=1e-9)


def test_pair_gain_prefers_close_and_uncertain_pairs() -> None:
    u = pair_gain(0.0, 0.5, np.array([0.0, 1.0, 0.0]), np.array([0.5, 0.5, 0.1]))
    assert u[0] > u[1]  # same variance, closer mean
    assert u[0] > u[2]  # same mean, larger variance


def test_approximate_gain_tracks_the_exact_mutual_information() -> None:
    rng = np.random.default_rng(0)
    mu = rng.normal(0, 1.5, 300)
    v = rng.uniform(0.01, 0.3, 300)
    exact = exact_pair_information(mu, v)
    approx = -0.5 * np.log1p(-pair_gain(0.0, 0.0, -mu, v))
    assert np.allclose(approx, exact, rtol=0.08, atol=1e-4)
    # and the two rank pairs almost identically
    assert np.corrcoef(np.argsort(np.argsort(exact)), np.argsort(np.argsort(approx)))[0, 1] > 0.99


def test_exact_information_is_zero_without_uncertainty_and_at_most_log2() -> None:
    info = exact_pair_information(np.array([0.0, 0.0, 5.0]), np.array([1e-12, 50.0, 1.0]))
    assert info[0] < 1e-9
    assert 0.0 < info[2] < info[1] <= np.log(2)


def test_info_gain_exact_takes_the_best_pair_of_a_full_scan() -> None:
    rng = np.random.default_rng(1)
    mean, var = rng.normal(0, 1, 12).tolist(), rng.uniform(0.05, 1.0, 12).tolist()
    m = _model(mean, var)
    pairs = list(itertools.combinations(range(12), 2))
    mu, v = np.array(mean), np.array(var)
    info = [exact_pair_information(mu[[a]] - mu[[b]], v[[a]] + v[[b]])[0] for a, b in pairs]
    best = set(pairs[int(np.argmax(info))])
    got = create_sampler("info-gain-exact", seed=0).next_pair(m)
    assert set(got) == best
    with pytest.raises(ValueError, match="max_items"):
        create_sampler("info-gain-exact", max_items=5).next_pair(m)


def test_uncertainty_compares_the_most_uncertain_item_with_its_nearest_mean() -> None:
    m = _model([0.0, 1.0, 1.1, -2.0, 3.0], [0.1, 0.9, 0.2, 0.2, 0.2])
    assert set(create_sampler("uncertainty", seed=0).next_pair(m)) == {1, 2}


def test_info_gain_picks_a_high_gain_pair() -> None:
    m = _model([0.0, 0.05, 3.0, -3.0, 6.0], [0.8, 0.8, 0.05, 0.05, 0.05])
    assert set(create_sampler("info-gain", seed=0).next_pair(m)) == {0, 1}


def test_balanced_shows_the_least_voted_items() -> None:
    s = create_sampler("balanced", seed=0)
    for i, j in [(0, 1), (0, 2), (1, 2), (0, 3), (1, 3)]:
        s.observe(i, j, 1.0)
    assert set(s.next_pair(create_model("bt-online", n_items=6))) == {4, 5}


def test_topk_compares_across_the_boundary() -> None:
    mean = [3.0, 2.5, 2.0, 1.0, 0.9, -1.0, -2.0]
    var = [0.05, 0.05, 0.05, 0.3, 0.3, 0.05, 0.05]
    s = create_sampler("topk", seed=0, k=4, floor=0)
    pair = s.next_pair(_model(mean, var))
    # item 3 is the weakest of the top 4, item 4 the strongest challenger
    assert set(pair) == {3, 4}


def test_random_reports_the_exact_selection_probability() -> None:
    s = create_sampler("random", seed=0)
    m = create_model("bt-online", n_items=4)
    assert s.next_pair(m).probability == pytest.approx(1 / 6)
    assert s.next_pair(m, exclude={(0, 1)}).probability == pytest.approx(1 / 5)
    s.observe(2, 3, 1.0, voter="v")
    assert s.next_pair(m, voter="v", exclude={(0, 1)}).probability == pytest.approx(1 / 4)


def test_adaptive_probability_mixes_exploration_and_the_greedy_pick() -> None:
    m = create_model("bt-online", n_items=5)
    greedy = create_sampler("adaptive", seed=0, explore=0.0, floor=0).next_pair(m)
    assert greedy.probability == 1.0
    s = create_sampler("adaptive", seed=0, explore=0.2, floor=0, dist=None, ramp=0)
    probs = {round(s.next_pair(m).probability, 12) for _ in range(60)}
    # greedy pick: 0.8 + 0.2/10; another pair (uniform exploration): 0.2/10
    assert probs == {0.82, 0.02}


def _probabilities_by_enumeration(s: Sampler, m: PairwiseModel) -> dict[tuple[int, int], float]:
    """Exact selection distribution of one pick: greedy pick + each (item, partner) draw."""
    ctx = PickContext(m.n_items, None, m.n_items, m.posterior(), None, None)
    e = s.share(ctx)
    out: dict[tuple[int, int], float] = {}
    g = s._greedy_pick(ctx)
    assert g is not None
    out[norm_pair(*g)] = 1.0 - e
    for i in range(m.n_items):
        j = s._scale_partner(i, ctx)
        assert j is not None
        out[norm_pair(i, j)] = out.get(norm_pair(i, j), 0.0) + e / m.n_items
    return out


def test_adaptive_scale_exploration_reports_exact_probabilities() -> None:
    m = _model([-2.0, -1.0, -0.5, 0.0, 0.4, 1.3, 2.5], [0.3] * 7)
    s = create_sampler("adaptive", seed=1, explore=0.3, floor=0, ramp=0)
    assert isinstance(s, AdaptiveSampler)
    want = _probabilities_by_enumeration(s, m)
    assert abs(sum(want.values()) - 1.0) < 1e-12
    freq: dict[tuple[int, int], int] = {}
    for _ in range(400):
        pair = s.next_pair(m)
        key = norm_pair(*pair)
        assert pair.probability == pytest.approx(want[key], abs=1e-12)
        freq[key] = freq.get(key, 0) + 1
    # exploration pairs sit about dist = 2.4 apart, e.g. -2.0 with 0.4, 2.5 with 0.0
    assert (0, 4) in freq and (3, 6) in freq
    # the draws follow the reported distribution (loose bound: 400 draws)
    for key, c in freq.items():
        assert abs(c / 400 - want[key]) < 0.08


def test_adaptive_exploration_share_ramps_up_with_votes_per_item() -> None:
    s = create_sampler("adaptive", seed=0, explore=0.1, ramp=4)
    assert isinstance(s, AdaptiveSampler)
    m = create_model("bt-online", n_items=4)
    ctx = PickContext(4, None, 4, m.posterior(), None, None)
    s._grow(4)
    assert s.share(ctx) == 0.0
    for _ in range(4):  # 4 votes among 4 items: 1 vote per item
        s.observe(0, 1, 1.0)
    assert s.share(ctx) == pytest.approx(0.1 / 4)
    for _ in range(40):
        s.observe(2, 3, 1.0)
    assert s.share(ctx) == pytest.approx(0.1)


def test_adaptive_floor_shows_new_items_first() -> None:
    m = create_model("bt-online", n_items=6)
    s = create_sampler("adaptive", seed=0, explore=0.0, floor=2)
    rng = np.random.default_rng(0)
    for _ in range(40):
        i, j = s.next_pair(m)
        y = float(rng.random() < 0.5)
        m.update(i, j, y)
        s.observe(i, j, y)
    assert s.counts.min() >= 2  # burn-in reached the floor for every item
    m.add_items(1)
    for _ in range(2):  # the new item is shown until it has `floor` votes
        pair = s.next_pair(m)
        assert 6 in pair
        s.observe(*pair, 1.0)
        m.update(*pair, 1.0)


def test_adaptive_balances_sides() -> None:
    m = create_model("bt-online", n_items=6)
    s = create_sampler("adaptive", seed=3)
    for _ in range(300):
        i, j = s.next_pair(m)
        s.observe(i, j, 0.5)
        m.update(i, j, 0.5)
    assert np.all(np.abs(2 * s.left_counts - s.counts) <= 2), (s.left_counts, s.counts)


@pytest.mark.parametrize("name", ["adaptive", "info-gain", "thompson"])
def test_candidate_path_for_large_surveys(name: str) -> None:
    n = 3000  # above the 2048 candidates of the partner search
    m = create_model("bt-online", n_items=n)
    s = create_sampler(name, seed=0)
    active = np.ones(n, dtype=bool)
    active[::2] = False
    seen = set()
    for _ in range(30):
        i, j = s.next_pair(m, voter=1, active=active)
        assert i != j and active[i] and active[j]
        assert frozenset((i, j)) not in seen
        seen.add(frozenset((i, j)))
        s.observe(i, j, 1.0, voter=1)
        m.update(i, j, 1.0)


@pytest.mark.parametrize("module", ["base", "simple", "gain", "bandit"])
def test_doctests(module: str) -> None:
    import doctest
    import importlib

    mod = importlib.import_module(f"algorithms.samplers.{module}")
    result = doctest.testmod(mod)
    assert result.failed == 0
    assert result.attempted >= (0 if module == "bandit" else 1)


def test_docs_example_runs() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "samplers.md").read_text()
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, object] = {}
    exec(compile(code, "docs/samplers.md", "exec"), namespace)
    pair = namespace["pair"]
    assert isinstance(pair, Pair) and pair[0] != pair[1]


def test_bt_is_read_through_the_samplers_own_online_posterior() -> None:
    # bt's marginal Laplace variances made greedy samplers repeat one pair; for `bt` the
    # sampler reads the bt-online posterior it keeps itself from observe()
    rng = np.random.default_rng(0)
    truth = rng.normal(size=8)
    bt, online = create_model("bt", n_items=8), create_model("bt-online", n_items=8)
    s1, s2 = create_sampler("info-gain", seed=0), create_sampler("info-gain", seed=0)
    for _ in range(60):
        pair = s1.next_pair(bt)
        assert tuple(pair) == tuple(s2.next_pair(online))
        i, j = pair
        y = float(rng.random() < 1 / (1 + np.exp(-(truth[i] - truth[j]))))
        for m, s in ((bt, s1), (online, s2)):
            m.update(i, j, y)
            s.observe(i, j, y)
    post = online.posterior()
    assert np.allclose(s1.guide_mean, post.mean, rtol=0, atol=1e-12)
    assert np.allclose(s1.guide_var, post.var, rtol=0, atol=1e-12)
    bt.add_items(1)  # a new item gets the prior in the sampler's posterior too
    assert 8 in s1.next_pair(bt)


def test_a_skip_blocks_the_pair_for_the_voter_but_is_no_vote() -> None:
    s = create_sampler("adaptive", seed=0)
    s.observe(0, 1, None, voter="v")
    assert s.counts.sum() == 0 and s.guide_mean.sum() == 0.0
    m = create_model("bt-online", n_items=2)
    # the only pair was skipped: shown again (repeats allowed once nothing fresh is left)
    assert set(s.next_pair(m, voter="v")) == {0, 1}
    m3 = create_model("bt-online", n_items=3)
    for _ in range(5):
        assert set(s.next_pair(m3, voter="v")) != {0, 1}


def test_fused_scale_partner_search_matches_the_numpy_definition() -> None:
    from algorithms.samplers._kernels import nearest_at_distance

    rng = np.random.default_rng(7)
    for trial in range(200):
        n = int(rng.integers(2, 60))
        mu = np.round(rng.normal(size=n), 1)  # rounding makes ties common
        active = rng.random(n) < 0.7 if trial % 2 else None
        i = int(rng.integers(n))
        score = -np.abs(np.abs(mu - mu[i]) - 2.4)
        score[i] = -np.inf
        if active is not None:
            score[~active] = -np.inf
        want = int(np.argmax(score)) if np.isfinite(score.max()) else -1
        assert nearest_at_distance(mu, i, 2.4, active) == want
