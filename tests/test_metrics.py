"""algorithms.metrics: values against hand computations and definitions, and input checks."""

from __future__ import annotations

import doctest
import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import algorithms.metrics as metrics
from algorithms import create_model
from algorithms.metrics import (
    interval_coverage,
    kendall_tau,
    log_loss,
    spearman,
    topk_precision,
    topk_recall,
)


def test_doctests() -> None:
    result = doctest.testmod(metrics)
    assert result.attempted >= 10 and result.failed == 0


def tau_by_pairs(a: list[float], b: list[float]) -> float:
    """Kendall's tau-a from the definition (no ties in the inputs)."""
    s = sum(
        np.sign(a[i] - a[j]) * np.sign(b[i] - b[j])
        for i, j in itertools.combinations(range(len(a)), 2)
    )
    return float(s / math.comb(len(a), 2))


@settings(max_examples=40, deadline=None)
@given(st.permutations(list(range(7))), st.permutations(list(range(7))))
def test_kendall_matches_pair_counting(a: list[int], b: list[int]) -> None:
    assert kendall_tau(a, b) == pytest.approx(tau_by_pairs(a, b))
    assert kendall_tau(a, b) == pytest.approx(kendall_tau(b, a))


def test_rank_metrics_ignore_monotone_transforms_and_flip_with_reversal() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=20)
    y = x + 0.5 * rng.normal(size=20)
    for f in (kendall_tau, spearman):
        assert f(x, np.exp(y)) == pytest.approx(f(x, y))
        assert f(x, -y) == pytest.approx(-f(x, y))
        assert f(x, x) == pytest.approx(1.0)


def test_spearman_is_pearson_of_ranks() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=15), rng.normal(size=15)
    rx, ry = np.argsort(np.argsort(x)), np.argsort(np.argsort(y))
    assert spearman(x, y) == pytest.approx(np.corrcoef(rx, ry)[0, 1])


def test_constant_input_gives_zero_not_nan() -> None:
    assert kendall_tau([1, 1, 1], [1, 2, 3]) == 0.0


def test_topk() -> None:
    truth = [10, 9, 8, 7, 6, 5]
    est = [10, 1, 8, 7, 9, 5]  # estimated top 3: items 0, 4, 2; true top 3: 0, 1, 2
    assert topk_precision(est, truth, 3) == pytest.approx(2 / 3)
    assert topk_recall(est, truth, 3) == pytest.approx(2 / 3)
    assert topk_recall(est, truth, 4, k_true=2) == pytest.approx(1 / 2)
    assert topk_precision(est, truth, 1) == 1.0
    assert topk_precision(est, truth, 6) == 1.0


@pytest.mark.parametrize("k", [0, 7, 2.5, True])
def test_topk_bad_k(k: object) -> None:
    with pytest.raises(ValueError, match="k must be"):
        topk_precision([1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6], k)  # type: ignore[arg-type]


def test_log_loss_by_hand_with_ties() -> None:
    p = np.array([0.8, 0.3, 0.6])
    y = np.array([1.0, 0.0, 0.5])
    want = -(math.log(0.8) + math.log(0.7) + 0.5 * (math.log(0.6) + math.log(0.4))) / 3
    assert log_loss(p, [0, 1, 2], [1, 2, 0], y) == pytest.approx(want)


def test_log_loss_of_a_model_uses_its_prob() -> None:
    m = create_model("elo", n_items=3, k=0.5)
    m.update([0, 0, 1], [1, 2, 2], [1.0, 1.0, 0.0])
    left, right, y = np.array([0, 2]), np.array([2, 1]), np.array([1.0, 1.0])
    p = m.prob(left, right)
    assert log_loss(m, left, right, y) == pytest.approx(log_loss(p, left, right, y))
    assert log_loss(m, left, right, y) < math.log(2)


def test_log_loss_clips_certain_mistakes() -> None:
    assert math.isfinite(log_loss([0.0], [0], [1], [1.0]))


def test_log_loss_bad_input() -> None:
    with pytest.raises(ValueError, match="probs"):
        log_loss([0.5, 0.5], [0], [1], [1.0])
    with pytest.raises(ValueError, match="probs"):
        log_loss([1.5], [0], [1], [1.0])
    with pytest.raises(ValueError, match="outcome"):
        log_loss([0.5], [0], [1], [2.0])
    with pytest.raises(ValueError, match="n_items"):
        log_loss(create_model("elo", n_items=2), [0], [5], [1.0])


def test_interval_coverage_centres_the_truth() -> None:
    low, high = np.array([-1.0, 0.0, 1.0]), np.array([0.0, 1.0, 2.0])
    truth = np.array([-0.5, 0.5, 1.5]) + 100.0
    assert interval_coverage(low, high, truth) == 1.0
    assert interval_coverage(low, high, truth, centre=False) == 0.0
    assert interval_coverage(low, high, [-0.5, 0.5, 5.0], centre=False) == pytest.approx(2 / 3)


def test_interval_coverage_bad_input() -> None:
    with pytest.raises(ValueError, match="low must be <= high"):
        interval_coverage([1.0, 0.0], [0.0, 1.0], [0.0, 0.0])
    with pytest.raises(ValueError, match="same length"):
        interval_coverage([0.0, 0.0], [1.0, 1.0], [0.0])
    with pytest.raises(ValueError, match="finite"):
        kendall_tau([0.0, float("nan")], [1.0, 2.0])
