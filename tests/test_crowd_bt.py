"""crowd-bt: the per-vote update against the paper's likelihood, the Beta moment matching,
voter bookkeeping, and the batch joint MAP down-weighting careless and hostile voters."""

from __future__ import annotations

import math

import msgspec
import numpy as np
import pytest
from scipy.special import expit
from scipy.stats import kendalltau

from algorithms import MODELS, ModelState, create_model
from algorithms.crowd_bt import CrowdBT, _beta_after

ETA = np.linspace(0.0, 1.0, 200001)


def log_lik(si: float, sj: float, a: float, b: float) -> float:
    """log P(voter says i beats j) with η ~ Beta(a, b) integrated out (Chen et al. eq. 3)."""
    return math.log(
        (a * math.exp(si) + b * math.exp(sj)) / ((a + b) * (math.exp(si) + math.exp(sj)))
    )


def derivs(si: float, sj: float, a: float, b: float, eps: float = 1e-4) -> tuple[float, float]:
    f = lambda x: log_lik(si + x, sj, a, b)  # noqa: E731
    return (f(eps) - f(-eps)) / (2 * eps), (f(eps) - 2 * f(0) + f(-eps)) / eps**2


def set_state(m: CrowdBT, mean: list[float], var: list[float]) -> None:
    m.mean_[:] = mean
    m.var_[:] = var


@pytest.mark.parametrize("voter", [None, 3])
def test_item_update_follows_the_paper(voter: int | None) -> None:
    m = CrowdBT(n_items=2, alpha=4.0, beta=2.0)
    set_state(m, [0.4, -0.3], [0.7, 1.2])
    m.update(0, 1, 1.0, voter=voter)
    g, h = derivs(0.4, -0.3, 4.0, 2.0)
    np.testing.assert_allclose(m.mean_, [0.4 + 0.7 * g, -0.3 - 1.2 * g], atol=1e-7)
    np.testing.assert_allclose(m.var_, [0.7 * (1 + 0.7 * h), 1.2 * (1 + 1.2 * h)], atol=1e-6)


def test_a_loss_is_a_win_of_the_other_item() -> None:
    a, b = CrowdBT(n_items=2), CrowdBT(n_items=2)
    for m in (a, b):
        set_state(m, [0.4, -0.3], [0.7, 1.2])
    a.update(0, 1, 0.0, voter=1)
    b.update(1, 0, 1.0, voter=1)
    np.testing.assert_allclose(a.mean_, b.mean_, rtol=1e-14)
    np.testing.assert_allclose(a.var_, b.var_, rtol=1e-14)
    # same voters, same Beta (α, β) each; pytest.approx refuses a mapping of tuples
    beta_a, beta_b = a.voter_beta(), b.voter_beta()
    assert beta_a.keys() == beta_b.keys() == {1}
    np.testing.assert_allclose(list(beta_a.values()), list(beta_b.values()), rtol=1e-14)


@pytest.mark.parametrize("c", [0.05, 0.5, 0.8])
def test_beta_moment_matching_against_quadrature(c: float) -> None:
    alpha, beta = 6.0, 2.5
    dens = ETA ** (alpha - 1) * (1 - ETA) ** (beta - 1) * (ETA * c + (1 - ETA) * (1 - c))
    dens /= dens.sum()
    m1 = (dens * ETA).sum()
    var = (dens * (ETA - m1) ** 2).sum()
    a2, b2 = _beta_after(alpha, beta, c)
    assert a2 / (a2 + b2) == pytest.approx(m1, rel=1e-6)
    assert a2 * b2 / ((a2 + b2) ** 2 * (a2 + b2 + 1)) == pytest.approx(var, rel=1e-4)


def test_upsets_lower_reliability_and_expected_wins_raise_it() -> None:
    m = CrowdBT(n_items=2)
    set_state(m, [2.0, -2.0], [0.1, 0.1])
    m.update(0, 1, 1.0, voter="sensible")
    m.update(1, 0, 1.0, voter="upset")
    rel = m.voter_reliability()
    assert rel["upset"] < 10 / 11 < rel["sensible"]


def test_tie_between_equals_teaches_nothing_about_the_voter() -> None:
    m = CrowdBT(n_items=2, alpha=3.0, beta=2.0)
    m.update(0, 1, 0.5, voter=9)
    assert m.voter_beta() == {9: pytest.approx((3.0, 2.0))}
    assert m.scores().tolist() == [0.0, 0.0]


def test_anonymous_votes_use_the_prior_and_register_no_voter() -> None:
    anon, known = CrowdBT(n_items=2), CrowdBT(n_items=2)
    anon.update(0, 1, 1.0)
    known.update(0, 1, 1.0, voter=1)
    assert anon.voter_reliability() == {}
    np.testing.assert_allclose(anon.scores(), known.scores(), rtol=1e-15)


def test_voter_ids_ints_strings_and_numpy_scalars() -> None:
    m = CrowdBT(n_items=3)
    m.update(0, 1, 1.0, voter=np.int64(5))
    m.update([1, 2], [2, 0], [1.0, 0.0], voter=np.array(["ann", "bob"]))
    assert set(m.voter_reliability()) == {5, "ann", "bob"}
    assert all(type(k) in (int, str) for k in m.voter_reliability())


def test_bad_voters_raise_before_any_vote_is_applied() -> None:
    m = CrowdBT(n_items=3)
    with pytest.raises(ValueError, match="voter"):
        m.update([0, 1], [1, 2], [1.0, 1.0], voter=[1, 2.5])
    with pytest.raises(ValueError, match="voter"):
        m.update([0, 1], [1, 2], [1.0, 1.0], voter=[1, 2, 3])
    with pytest.raises(ValueError, match="voter"):
        m.update(0, 1, 1.0, voter=(1, 2))
    with pytest.raises(ValueError, match="voter"):  # not silently turned into "1", "ann"
        m.update([0, 1], [1, 2], [1.0, 1.0], voter=[1, "ann"])
    with pytest.raises(ValueError, match="voter"):
        m.fit([0, 1], [1, 2], [1.0, 1.0], voter=[1, "ann"])
    assert m.n_votes == 0 and m.scores().tolist() == [0.0, 0.0, 0.0]
    assert m.voter_reliability() == {}


def test_state_round_trip_keeps_voters() -> None:
    m = CrowdBT(n_items=3)
    m.update([0, 1, 2], [1, 2, 0], [1.0, 0.0, 0.5], voter=["x", "y", "x"])
    m.update(0, 2, 1.0, voter=17)
    for codec in (msgspec.json, msgspec.msgpack):
        back = MODELS["crowd-bt"].from_state(codec.decode(codec.encode(m.state()), type=ModelState))
        assert isinstance(back, CrowdBT)
        assert back.voter_beta() == m.voter_beta()
        back.update(1, 0, 1.0, voter="y")
        m2 = CrowdBT.from_state(m.state())
        m2.update(1, 0, 1.0, voter="y")
        assert back.voter_beta() == m2.voter_beta()
        assert back.scores().tolist() == m2.scores().tolist()


def simulate(seed: int, n: int = 25, votes: int = 5000, voters: int = 12):
    rng = np.random.default_rng(seed)
    truth = rng.normal(size=n)
    left = rng.integers(0, n, votes)
    right = (left + rng.integers(1, n, votes)) % n
    out = (rng.random(votes) < expit(truth[left] - truth[right])).astype(float)
    voter = rng.integers(0, voters, votes)
    careless = voter < 2  # voters 0, 1 answer at random
    out[careless] = (rng.random(careless.sum()) < 0.5).astype(float)
    hostile = voter == 2  # voter 2 always answers the reverse
    out[hostile] = 1.0 - out[hostile]
    return truth, left, right, out, voter


def test_batch_fit_downweights_careless_and_hostile_voters() -> None:
    truth, left, right, out, voter = simulate(0)
    m = create_model("crowd-bt", n_items=25).fit(left, right, out, voter=voter)
    assert isinstance(m, CrowdBT)
    rel = m.voter_reliability()
    honest = [rel[k] for k in range(3, 12)]
    assert rel[2] < 0.25 < max(rel[0], rel[1]) < 0.7 < min(honest)
    plain = create_model("bt-online", n_items=25).fit(left, right, out)
    assert kendalltau(m.scores(), truth)[0] > kendalltau(plain.scores(), truth)[0]


def test_batch_fit_is_a_fixed_point_of_em() -> None:
    _, left, right, out, voter = simulate(1, votes=3000)
    m = CrowdBT(n_items=25, tol=1e-9).fit(left, right, out, voter=voter)
    s = m.scores()
    a, b = m.voter_beta()[4]
    eta = a / (a + b)  # Beta(α + Σ r, β + Σ(1 - r)) has mean (α + Σ r)/(α + β + n)
    mask = voter == 4
    d = s[left[mask]] - s[right[mask]]
    r = expit(math.log(eta / (1 - eta)) + (2 * out[mask] - 1) * d)
    assert eta == pytest.approx((10 + r.sum()) / (11 + mask.sum()), abs=1e-5)


def test_online_updates_continue_from_a_batch_fit() -> None:
    _, left, right, out, voter = simulate(2, votes=2000)
    m = CrowdBT(n_items=25).fit(left, right, out, voter=voter)
    before = m.voter_beta()[5]
    m.update(0, 1, 1.0, voter=5)
    assert m.voter_beta()[5] != before
    assert m.n_votes == 2001


@pytest.mark.parametrize(
    "bad", [{"alpha": 0}, {"beta": -1}, {"kappa": 1.5}, {"max_iter": 0}, {"tol": 0}]
)
def test_bad_params_name_the_parameter(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        CrowdBT(n_items=2, **bad)


def test_batch_variances_are_the_observed_information_diagonal() -> None:
    _, left, right, out, voter = simulate(3, votes=2000)
    m = CrowdBT(n_items=25, tol=1e-9).fit(left, right, out, voter=voter)
    beta = m.voter_beta()
    theta = np.array([math.log(beta[k][0] / beta[k][1]) for k in range(12)])[voter]

    def neg_log_post(s: np.ndarray) -> float:
        d = s[left] - s[right]
        ll = (1 - out) * d - np.logaddexp(0, d) + np.logaddexp(0, theta + (2 * out - 1) * d)
        return float(-ll.sum() + 0.5 * s @ s)

    s, eps = m.scores(), 1e-4
    for i in (0, 7, 24):
        e = np.zeros(25)
        e[i] = eps
        h = (neg_log_post(s + e) - 2 * neg_log_post(s) + neg_log_post(s - e)) / eps**2
        assert 1 / m.posterior().var[i] == pytest.approx(h, rel=1e-3)
