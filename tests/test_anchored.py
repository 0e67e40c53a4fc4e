"""``anchored_fit``: Bradley-Terry MAP of a few votes under priors centred on known scores."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
import scipy.special

import algorithms.anchored
from algorithms.anchored import anchored_fit, predictive_prob


def votes(seed: int, n: int, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # type: ignore[type-arg]
    rng = np.random.default_rng(seed)
    left = rng.integers(0, n, m)
    right = (left + rng.integers(1, n, m)) % n
    out = rng.choice([0.0, 0.5, 1.0], m)
    return left, right, out


def test_the_fit_is_the_map() -> None:
    """At the fit the gradient of the log posterior is zero, items no vote touches keep the
    prior, and the variances are those of the inverse Hessian."""
    left, right, out = votes(1, 12, 30)
    left[left == 11], right[right == 11] = 0, 1  # item 11 never compared
    rng = np.random.default_rng(2)
    m0, v0 = rng.normal(0, 1, 12), rng.uniform(0.5, 2.0, 12)
    fit = anchored_fit(left, right, out, m0, v0)
    p = scipy.special.expit(fit.mean[left] - fit.mean[right])
    grad = np.bincount(left, out - p, 12) - np.bincount(right, out - p, 12)
    grad -= (fit.mean - m0) / v0
    np.testing.assert_allclose(grad, 0.0, atol=1e-8)
    assert fit.mean[11] == m0[11] and fit.var[11] == v0[11] and fit.share[11] == 0.0
    assert np.all(fit.var[:11] < v0[:11]) and np.all((fit.share >= 0) & (fit.share < 1))


def test_the_prior_strength_decides_how_far_the_votes_move_it() -> None:
    left, right, out = [0] * 6, [1] * 6, [1.0] * 6  # item 0 beats item 1 six times
    prior = np.array([-1.0, 1.0, 0.0])
    tight = anchored_fit(left, right, out, prior, [1e-6] * 3)
    loose = anchored_fit(left, right, out, prior, [100.0] * 3)
    np.testing.assert_allclose(tight.mean, prior, atol=1e-4)
    assert loose.mean[0] > loose.mean[1] and tight.share[0] < 0.01 < 0.5 < loose.share[0]
    few = anchored_fit(left[:1], right[:1], out[:1], prior, [1.0] * 3)
    many = anchored_fit(left, right, out, prior, [1.0] * 3)
    assert 0 < few.share[0] < many.share[0]


def test_relabelling_permutes_and_inputs_are_not_mutated() -> None:
    left, right, out = votes(3, 6, 20)
    m0, v0 = np.linspace(-1, 1, 6), np.full(6, 0.7)
    keep = (left.copy(), right.copy(), out.copy(), m0.copy(), v0.copy())
    fit = anchored_fit(left, right, out, m0, v0)
    for a, b in zip((left, right, out, m0, v0), keep, strict=True):
        np.testing.assert_array_equal(a, b)
    perm = np.random.default_rng(4).permutation(6)
    inv = np.argsort(perm)  # new label of old item i is inv[i]
    moved = anchored_fit(inv[left], inv[right], out, m0[perm], v0[perm])
    np.testing.assert_allclose(moved.mean, fit.mean[perm], atol=1e-10)
    np.testing.assert_allclose(moved.var, fit.var[perm], atol=1e-10)
    none = anchored_fit([], [], [], m0, v0)
    np.testing.assert_array_equal(none.mean, m0)


@pytest.mark.parametrize(
    ("left", "right", "out", "var", "match"),
    [
        ([0], [1], [1.0], [1.0, 0.0], "prior_var"),
        ([0], [1], [1.0], [1.0, np.inf], "prior_var"),
        ([0], [2], [1.0], [1.0, 1.0], "indices"),
        ([0], [1], [2.0], [1.0, 1.0], "outcome"),
        ([0, 1], [1], [1.0], [1.0, 1.0], "same length"),
    ],
)
def test_bad_input_is_refused(
    left: list[int], right: list[int], out: list[float], var: list[float], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        anchored_fit(left, right, out, [0.0, 0.0], var)


def test_predictive_prob_moves_towards_a_coin_flip_with_uncertainty() -> None:
    p = predictive_prob(np.array([1.0, 1.0, 1.0, -2.0]), np.array([0.0, 1.0, 10.0, 1.0]))
    assert p[0] > p[1] > p[2] > 0.5 > p[3]
    assert predictive_prob(0.0, 3.0) == 0.5


def test_module_doctests() -> None:
    result = doctest.testmod(algorithms.anchored)
    assert result.attempted > 0 and result.failed == 0
