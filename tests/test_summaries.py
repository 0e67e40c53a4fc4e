"""Tests of algorithms/summaries.py: rank ranges, tiers, p_beats_random, conservative score."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from algorithms import (
    MODELS,
    BTModel,
    comparison_intervals,
    conservative_score,
    create_model,
    p_beats_random,
    rank_ranges,
    summarize,
    tiers,
)
from algorithms.summaries import point_ranks, tiers_from_ranges


def fitted(n: int = 12, m: int = 400, seed: int = 0, spread: float = 1.0) -> BTModel:
    rng = np.random.default_rng(seed)
    s = spread * rng.standard_normal(n)
    left = rng.integers(0, n, m)
    right = (left + rng.integers(1, n, m)) % n
    y = (rng.random(m) < 1.0 / (1.0 + np.exp(-(s[left] - s[right])))).astype(float)
    return BTModel(n_items=n).fit(left, right, y)


def test_point_ranks() -> None:
    assert point_ranks(np.array([0.0, 2.0, 1.0, 2.0])).tolist() == [4, 1, 3, 2]


def test_rank_ranges_contain_point_rank_and_are_seeded() -> None:
    model = fitted()
    lo, hi = rank_ranges(model, n_samples=500, seed=1)
    rank = point_ranks(model.scores())
    assert np.all((lo <= rank) & (rank <= hi))
    assert np.all(lo >= 1) and np.all(hi <= 12) and lo.dtype == np.int64
    assert np.any(hi > lo)  # some uncertainty with ~67 votes per item
    lo2, hi2 = rank_ranges(model, n_samples=500, seed=1)
    assert np.array_equal(lo, lo2) and np.array_equal(hi, hi2)


def test_rank_ranges_extremes() -> None:
    # no votes: every order is equally likely, so every 95% range spans (almost) everything
    lo, hi = rank_ranges(BTModel(n_items=5), n_samples=2000)
    assert np.all(lo == 1) and np.all(hi == 5)
    # a clear total order: ranges collapse to the point rank
    m = BTModel(n_items=3)
    m.update([0, 0, 1] * 100, [1, 2, 2] * 100, [1.0] * 300)
    lo, hi = rank_ranges(m, n_samples=500)
    assert lo.tolist() == [1, 2, 3] and hi.tolist() == [1, 2, 3]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_summaries_work_for_every_registered_model(name: str) -> None:
    rng = np.random.default_rng(3)
    left = rng.integers(0, 6, 300)
    right = (left + rng.integers(1, 6, 300)) % 6
    y = (left < right).astype(float)  # lower index wins
    model = create_model(name, n_items=6)
    model.update(left, right, y, voter=np.zeros(300, dtype=np.int64))
    s = summarize(model, seed=0, n_samples=300)
    assert s.rank.tolist() == [1, 2, 3, 4, 5, 6]
    assert np.all((s.rank_lo <= s.rank) & (s.rank <= s.rank_hi))
    assert np.all(np.diff(s.tier) >= 0)
    assert np.all(np.diff(s.p_beats_random) < 0)


def test_tiers_are_monotone_in_score() -> None:
    for seed in range(5):
        model = fitted(n=30, m=600, seed=seed)
        t = tiers(model)
        s = model.scores()
        better = s[:, None] > s[None, :]
        t_i = np.broadcast_to(t[:, None], better.shape)[better]
        t_j = np.broadcast_to(t[None, :], better.shape)[better]
        assert np.all(t_i <= t_j)
        assert t[np.argmax(s)] == 1
        assert set(t.tolist()) == set(range(1, t.max() + 1))  # numbered without gaps


def test_tiers_compare_without_the_common_level() -> None:
    model = fitted(n=8, m=200, seed=6)
    low, high = model.intervals()
    c_low, c_high = comparison_intervals(model)
    assert np.all(c_high - c_low < high - low)  # the common level is removed...
    assert np.allclose((c_low + c_high) / 2, model.scores())  # ...around the same centres
    elo = create_model("elo", n_items=3)  # no level_var: intervals unchanged
    elo.update([0, 1], [1, 2], [1.0, 1.0])
    pairs = zip(comparison_intervals(elo), elo.intervals(), strict=True)
    assert all(np.array_equal(a, b) for a, b in pairs)


class GaussianPosterior:
    """Just what :func:`tiers` reads: point scores and joint draws from ``N(mean, cov)``."""

    def __init__(self, mean: np.ndarray, cov: np.ndarray) -> None:
        self.mean, self.cov = mean, cov

    def scores(self) -> np.ndarray:
        return self.mean

    def sample_scores(self, size: int, seed: int | None = None) -> np.ndarray:
        return np.random.default_rng(seed).multivariate_normal(self.mean, self.cov, size)


def check_tier_rule(model: object, level: float, n_samples: int, seed: int) -> None:
    """The properties the docs promise of ``tiers`` (docs/models.md, "Summaries")."""
    t = tiers(model, level, n_samples=n_samples, seed=seed)
    lo, hi = rank_ranges(model, level, n_samples=n_samples, seed=seed)
    draws = model.sample_scores(n_samples, seed)
    rank = point_ranks(model.scores())
    by_rank = t[np.argsort(rank)]
    assert by_rank[0] == 1 and np.all(np.diff(by_rank) >= 0)  # monotone in score...
    assert set(t.tolist()) == set(range(1, t.max() + 1))  # ...numbered without gaps
    # every pair across a boundary is ordered that way in at least `level` of the draws
    above, below = np.nonzero(t[:, None] < t[None, :])
    share = (draws[:, above] > draws[:, below]).mean(axis=0)
    assert np.all(share >= level - 1e-12), (share.min(), level)
    # every rank range lies within its tier's positions, so ranges of different tiers
    # are disjoint and ideas whose ranges overlap share a tier
    first = np.array([rank[t == k].min() for k in range(1, t.max() + 1)])
    last = np.array([rank[t == k].max() for k in range(1, t.max() + 1)])
    assert np.all(lo >= first[t - 1]) and np.all(hi <= last[t - 1])
    overlap = (lo[:, None] <= hi[None, :]) & (lo[None, :] <= hi[:, None])
    assert np.all(t[:, None] == t[None, :], where=overlap)
    # and the split is the finest such: inside a tier every gap is spanned by some range
    for k in range(1, t.max() + 1):
        for r in range(first[k - 1], last[k - 1]):
            assert np.any((lo <= r) & (hi >= r + 1))


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 14),
    spread=st.floats(0.0, 6.0),
    corr=st.floats(0.0, 0.9),
    level=st.floats(0.5, 0.99),
    n_samples=st.integers(20, 400),
    seed=st.integers(0, 2**16),
)
def test_tiers_over_random_posteriors(
    n: int, spread: float, corr: float, level: float, n_samples: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    mean = spread * rng.standard_normal(n)
    a = rng.standard_normal((n, n))
    sd = rng.uniform(0.05, 1.5, n)
    cov = (
        (1 - corr) * np.diag(sd**2) + corr * np.outer(sd, sd) * np.corrcoef(a)
        if n > 1
        else np.diag(sd**2)
    )
    check_tier_rule(GaussianPosterior(mean, cov), level, n_samples, seed)


def test_tiers_of_fitted_models() -> None:
    for seed in range(6):
        for name in ("bt", "elo"):
            model = create_model(name, n_items=15)
            rng = np.random.default_rng(seed)
            s = 2.0 * rng.standard_normal(15)
            left = rng.integers(0, 15, 500)
            right = (left + rng.integers(1, 15, 500)) % 15
            y = (rng.random(500) < 1.0 / (1.0 + np.exp(-(s[left] - s[right])))).astype(float)
            model.update(left, right, y)
            check_tier_rule(model, 0.95, 500, seed)


def test_tiers_from_ranges() -> None:
    rank = np.array([3, 1, 2, 4, 5])
    assert tiers_from_ranges(rank, rank.copy(), rank.copy()).tolist() == [3, 1, 2, 4, 5]
    lo, hi = np.array([2, 1, 1, 4, 4]), np.array([3, 2, 3, 5, 5])
    assert tiers_from_ranges(rank, lo, hi).tolist() == [1, 1, 1, 2, 2]
    assert tiers_from_ranges(rank, np.ones(5, int), np.full(5, 5)).tolist() == [1] * 5
    assert tiers_from_ranges(np.zeros(0, int), np.zeros(0, int), np.zeros(0, int)).size == 0


def test_tiers_separate_clear_differences_and_merge_unknowns() -> None:
    assert tiers(BTModel(n_items=4)).tolist() == [1, 1, 1, 1]
    m = BTModel(n_items=3)
    m.update([0, 0, 1] * 200, [1, 2, 2] * 200, [1.0] * 600)
    assert tiers(m).tolist() == [1, 2, 3]


def test_p_beats_random_is_the_average_over_others() -> None:
    model = fitted(n=7, m=200)
    p = p_beats_random(model)
    brute = np.array([np.mean([model.prob(i, j) for j in range(7) if j != i]) for i in range(7)])
    assert np.allclose(p, brute)
    assert np.all((p > 0) & (p < 1))
    assert p.sum() == pytest.approx(7 / 2)  # P(i beats j) + P(j beats i) = 1
    assert np.array_equal(np.argsort(p), np.argsort(model.scores()))
    small = p_beats_random(model, block=10)  # blocked computation gives the same answer
    assert np.allclose(small, p)


def test_conservative_score_rewards_certainty() -> None:
    # item 2 beats item 1 a bit more often (8 of 10) than item 0 does (75 of 100), but
    # item 0 has 10x the votes: the conservative score prefers it
    m = BTModel(n_items=3)
    m.update(
        [0] * 100 + [2] * 10, [1] * 100 + [1] * 10, [1.0] * 75 + [0.0] * 25 + [1.0] * 8 + [0.0] * 2
    )
    c = conservative_score(m)
    sd = np.sqrt((m.intervals()[1] - m.scores()) ** 2) / 1.959963984540054
    assert np.allclose(c, m.scores() - 1.96 * sd, atol=1e-6)
    assert c[0] > c[2]
    with pytest.raises(ValueError, match="z"):
        conservative_score(m, z=-1.0)


def test_summarize_fields_agree() -> None:
    model = fitted(n=10, m=300, seed=4)
    s = summarize(model, level=0.9, seed=2, n_samples=400)
    for arr in (s.score, s.low, s.high, s.sd, s.rank, s.rank_lo, s.rank_hi, s.tier):
        assert arr.shape == (10,)
    assert np.array_equal(s.score, model.scores())
    assert np.all((s.low < s.score) & (s.score < s.high))
    assert np.allclose(s.conservative, s.score - 1.6448536269514722 * s.sd)
    assert np.array_equal(s.rank, point_ranks(s.score)) and s.level == 0.9
    again = summarize(model, level=0.9, seed=2, n_samples=400)
    assert np.array_equal(s.rank_lo, again.rank_lo) and np.array_equal(s.tier, again.tier)
    with pytest.raises(ValueError, match="level"):
        summarize(model, level=0.0)


def test_p_beats_random_interpolates_for_many_items_to_within_1e_5(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from algorithms import summaries

    n = summaries.INTERP_MIN
    rng = np.random.default_rng(7)
    m = BTModel(n_items=n)
    left = rng.integers(0, n, 4 * n)
    right = (left + rng.integers(1, n, 4 * n)) % n
    s = 2.0 * rng.standard_normal(n)
    m.update(left, right, (rng.random(4 * n) < 1 / (1 + np.exp(s[right] - s[left]))).astype(float))
    fast = p_beats_random(m)
    monkeypatch.setattr(summaries, "INTERP_MIN", n + 1)
    exact = p_beats_random(m)
    assert np.abs(fast - exact).max() < 1e-5
    assert fast.sum() == pytest.approx(n / 2, rel=1e-5)
