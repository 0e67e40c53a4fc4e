"""bt-online: the ADF update against numerical moment matching, ties, drift, recovery."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import expit, ndtr
from scipy.stats import kendalltau

from algorithms import create_model
from algorithms._gauss import LAMBDA2, mills
from algorithms.online import OnlineBT

GRID = np.linspace(-12.0, 12.0, 20001)


def tilted_moments(m: float, v: float, lik: np.ndarray) -> tuple[float, float]:
    """Mean and variance of N(m, v) times a likelihood evaluated on GRID (quadrature)."""
    w = np.exp(-0.5 * (GRID - m) ** 2 / v) * lik
    w /= w.sum()
    mean = float((w * GRID).sum())
    return mean, float((w * (GRID - mean) ** 2).sum())


def exact_adf(mi: float, vi: float, mj: float, vj: float, lik_of_d) -> tuple[float, ...]:
    """Exact ADF for one comparison: moments of d, then the linear-Gaussian back-projection."""
    md, vd = mi - mj, vi + vj
    mean_d, var_d = tilted_moments(md, vd, lik_of_d(GRID))
    g = (mean_d - md) / vd
    h = (vd - var_d) / vd**2
    return mi + vi * g, vi * (1 - vi * h), mj - vj * g, vj * (1 - vj * h)


def one_vote(link: str, y: float, mi=0.3, vi=0.8, mj=-0.2, vj=1.5) -> OnlineBT:
    m = OnlineBT(n_items=2, link=link)
    m.mean_[:] = [mi, mj]
    m.var_[:] = [vi, vj]
    m.update(0, 1, y)
    return m


@pytest.mark.parametrize("y", [1.0, 0.0])
def test_probit_update_is_exact_moment_matching(y: float) -> None:
    lam = math.sqrt(LAMBDA2)
    want = exact_adf(0.3, 0.8, -0.2, 1.5, lambda d: ndtr(lam * d) if y else ndtr(-lam * d))
    m = one_vote("probit", y)
    got = (m.mean_[0], m.var_[0], m.mean_[1], m.var_[1])
    np.testing.assert_allclose(got, want, atol=1e-6)


@pytest.mark.parametrize("y", [1.0, 0.0])
def test_logistic_update_close_to_exact_moment_matching(y: float) -> None:
    want = exact_adf(0.3, 0.8, -0.2, 1.5, lambda d: expit(d) if y else expit(-d))
    m = one_vote("logistic", y)
    got = (m.mean_[0], m.var_[0], m.mean_[1], m.var_[1])
    # the probit approximation of the logistic-Gaussian integral: means within 2e-2,
    # variances within 3% (measured; docs/models.md gives the error over a grid)
    np.testing.assert_allclose(got[0::2], want[0::2], atol=2e-2)
    np.testing.assert_allclose(got[1::2], want[1::2], rtol=3e-2)
    assert not np.allclose(got, want, atol=1e-9)  # and it is an approximation, not a copy


@pytest.mark.parametrize("link", ["logistic", "probit"])
def test_win_moves_means_apart_and_shrinks_variances(link: str) -> None:
    m = OnlineBT(n_items=3, link=link)
    m.update(0, 1, 1.0)
    s, v = m.scores(), m.posterior().var
    assert s[0] > 0 > s[1] and s[0] == pytest.approx(-s[1])
    assert s[2] == 0.0 and v[2] == 1.0
    assert v[0] < 1.0 and v[1] < 1.0


@pytest.mark.parametrize("link", ["logistic", "probit"])
def test_tie_pulls_means_together_and_shrinks_variances(link: str) -> None:
    m = one_vote(link, 0.5, mi=1.0, vi=1.0, mj=-1.0, vj=1.0)
    assert -1.0 < m.mean_[1] < m.mean_[0] < 1.0
    assert m.mean_[0] == pytest.approx(-m.mean_[1])
    assert (m.var_ < 1.0).all()
    equal = one_vote(link, 0.5, mi=0.0, vi=1.0, mj=0.0, vj=1.0)
    assert equal.mean_.tolist() == [0.0, 0.0]


@pytest.mark.parametrize("link", ["logistic", "probit"])
def test_tie_is_half_a_win_and_half_a_loss(link: str) -> None:
    win, loss, tie = (one_vote(link, y) for y in (1.0, 0.0, 0.5))
    base = np.array([0.3, -0.2])
    np.testing.assert_allclose(tie.mean_ - base, 0.5 * (win.mean_ - base + loss.mean_ - base))


def test_drift_inflates_variance_before_each_vote() -> None:
    still = create_model("bt-online", n_items=2)
    moving = create_model("bt-online", n_items=2, drift=0.05)
    for _ in range(200):
        still.update(0, 1, 1.0)
        still.update(0, 1, 0.0)
        moving.update(0, 1, 1.0)
        moving.update(0, 1, 0.0)
    assert moving.posterior().var[0] > 2 * still.posterior().var[0]


def test_drift_follows_a_change_of_appeal_better() -> None:
    # item 0 wins 3 of 4 votes, then loses 3 of 4: the current truth is s_0 = log(1/3)/2
    first = np.tile([1.0, 1.0, 1.0, 0.0], 100)
    zeros, ones = np.zeros(400, dtype=int), np.ones(400, dtype=int)
    err = []
    for drift in (0.0, 0.01):
        m = create_model("bt-online", n_items=2, drift=drift)
        m.update(zeros, ones, first)
        m.update(zeros, ones, 1.0 - first)
        err.append(abs(m.scores()[0] - np.log(1 / 3) / 2))
    assert err[1] < 0.5 * err[0]


@pytest.mark.parametrize("link", ["logistic", "probit"])
def test_recovers_true_ranking(link: str) -> None:
    rng = np.random.default_rng(3)
    n, votes = 30, 6000
    truth = rng.normal(size=n)
    left = rng.integers(0, n, votes)
    right = (left + rng.integers(1, n, votes)) % n
    out = (rng.random(votes) < expit(truth[left] - truth[right])).astype(float)
    m = create_model("bt-online", n_items=n, link=link).fit(left, right, out)
    assert kendalltau(m.scores(), truth)[0] > 0.8
    lo, hi = m.intervals(0.95)
    centred = truth - truth.mean() + m.scores().mean()
    # ADF variances are too small (each vote is absorbed once, correlations are dropped):
    # 95% intervals cover about 80% here; docs/models.md says so
    assert np.mean((lo <= centred) & (centred <= hi)) > 0.6


def test_probit_prob_uses_the_probit_curve() -> None:
    m = one_vote("probit", 1.0)
    d = m.mean_[0] - m.mean_[1]
    assert m.prob(0, 1) == pytest.approx(ndtr(math.sqrt(LAMBDA2) * d))
    assert m.prob(0, 1) != pytest.approx(expit(d), abs=1e-6)


def test_mills_ratio_extremes_are_finite() -> None:
    for t in (-1e4, -50.0, -30.0, -29.9, 0.0, 8.0, 50.0):
        assert math.isfinite(mills(t)) and mills(t) >= 0.0
    assert mills(-30.0) == pytest.approx(mills(-29.999), rel=1e-3)


def test_bad_params_name_the_parameter() -> None:
    with pytest.raises(ValueError, match="link"):
        OnlineBT(link="cauchy")
    with pytest.raises(ValueError, match="drift"):
        OnlineBT(drift=-0.1)
    with pytest.raises(ValueError, match="prior_var"):
        OnlineBT(prior_var=0.0)


def test_docs_examples_of_the_online_models_run() -> None:
    """The code blocks of the bt-online ... Metrics sections of docs/models.md execute."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "models.md").read_text()
    start = text.index("## Online Gaussian BT (bt-online)")
    mine = text[start : text.index("## Model contract suite", start)]
    blocks = re.findall(r"```python\n(.*?)```", mine, flags=re.S)
    assert len(blocks) >= 2
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(block, namespace)
    assert namespace["m"].voter_reliability().keys() == {"ann", "bob", "cy"}  # type: ignore[attr-defined]


def test_module_doctests() -> None:
    import doctest

    import algorithms._gauss
    import algorithms.crowd_bt
    import algorithms.elo
    import algorithms.online

    for mod in (algorithms._gauss, algorithms.online, algorithms.elo, algorithms.crowd_bt):
        result = doctest.testmod(mod)
        assert result.attempted > 0 and result.failed == 0, mod.__name__
