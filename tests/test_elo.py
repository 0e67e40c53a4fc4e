"""elo: the update rule, the chess-scale conversion and the approximate variance."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit
from scipy.stats import kendalltau

from algorithms import create_model
from algorithms.elo import CHESS_SCALE, Elo


def test_update_rule_by_hand() -> None:
    m = Elo(n_items=3, k=0.3)
    m.update(0, 1, 1.0)
    m.update(1, 2, 0.0)
    s0, s1 = 0.15, -0.15
    p12 = expit(s1 - 0.0)
    s1, s2 = s1 + 0.3 * (0 - p12), 0.0 - 0.3 * (0 - p12)
    np.testing.assert_allclose(m.scores(), [s0, s1, s2], rtol=1e-15)
    assert m.scores().sum() == pytest.approx(0.0, abs=1e-15)  # Elo is zero-sum


def test_chess_conversion() -> None:
    """A chess win between equals with K=32 moves each rating by 16 points."""
    m = Elo(n_items=2, k=32 * CHESS_SCALE)
    m.update(1, 0, 1.0)
    assert m.scores()[1] / CHESS_SCALE == pytest.approx(16.0)
    # and the probability matches the chess formula
    r = m.scores() / CHESS_SCALE
    assert m.prob(1, 0) == pytest.approx(1 / (1 + 10 ** (-(r[1] - r[0]) / 400)))


def test_tie_between_equals_changes_no_score_but_adds_information() -> None:
    m = Elo(n_items=2)
    m.update(0, 1, 0.5)
    assert m.scores().tolist() == [0.0, 0.0]
    np.testing.assert_allclose(m.posterior().var, [1 / 1.25, 1 / 1.25])


def test_variance_is_inverse_observed_information() -> None:
    m = Elo(n_items=3, k=0.2, prior_var=2.0)
    info = np.zeros(3)
    votes = [(0, 1, 1.0), (0, 2, 1.0), (2, 1, 0.0), (0, 1, 0.5)]
    for i, j, y in votes:
        s = m.scores()
        p = expit(s[i] - s[j])
        info[[i, j]] += p * (1 - p)
        m.update(i, j, y)
    np.testing.assert_allclose(m.posterior().var, 1 / (0.5 + info), rtol=1e-12)


def test_recovers_true_ranking() -> None:
    rng = np.random.default_rng(5)
    n, votes = 30, 6000
    truth = rng.normal(size=n)
    left = rng.integers(0, n, votes)
    right = (left + rng.integers(1, n, votes)) % n
    out = (rng.random(votes) < expit(truth[left] - truth[right])).astype(float)
    m = create_model("elo", n_items=n).fit(left, right, out)
    assert kendalltau(m.scores(), truth)[0] > 0.75


def test_huge_k_does_not_overflow() -> None:
    m = Elo(n_items=2, k=5000.0)
    for _ in range(4):
        m.update(0, 1, 1.0)
    assert np.isfinite(m.scores()).all()


@pytest.mark.parametrize("bad", [{"k": -1}, {"k": 0}, {"k": float("nan")}, {"prior_var": -1}])
def test_bad_params_name_the_parameter(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        Elo(n_items=2, **bad)
