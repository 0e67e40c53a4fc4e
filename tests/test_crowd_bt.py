"""crowd-bt (algorithms/crowd_bt.py, algorithms/_crowd_em.py): an honest crowd gives plain bt,
careless voters are found and count less, the fit is the fixed point of EM with an empirical
Bayes prior, predictions use each voter's reliability, online updates, voters and the state."""

from __future__ import annotations

import doctest
import math
from pathlib import Path

import msgspec
import numpy as np
import pytest
from scipy.special import expit, logsumexp
from scipy.stats import kendalltau

import algorithms._crowd_em
import algorithms._voter_taste
import algorithms.crowd_bt
from algorithms import MODELS, BTModel, ModelState, create_model
from algorithms.crowd_bt import (
    RELIABILITY_GRID,
    CrowdBT,
    fit_reliability_prior,
    reliability_masses,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def simulate(
    seed: int,
    n: int = 25,
    votes: int = 4000,
    voters: int = 20,
    careless: int = 2,
    hostile: int = 0,
) -> tuple[np.ndarray, ...]:
    """BT votes; voters ``0 .. careless-1`` answer at random, the next ``hostile`` reverse."""
    rng = np.random.default_rng(seed)
    truth = rng.normal(size=n)
    left = rng.integers(0, n, votes)
    right = (left + rng.integers(1, n, votes)) % n
    voter = rng.integers(0, voters, votes)
    p = expit(truth[left] - truth[right])
    p[voter < careless] = 0.5
    out = (rng.random(votes) < p).astype(float)
    bad = (voter >= careless) & (voter < careless + hostile)
    out[bad] = 1.0 - out[bad]
    return truth, left, right, out, voter


# -- the model reduces to bt -----------------------------------------------------------
def test_without_voters_it_is_plain_bt() -> None:
    _, left, right, out, _ = simulate(0, careless=0)
    out[::17] = 0.5  # ties too
    crowd = CrowdBT(n_items=25).fit(left, right, out)
    plain = BTModel(n_items=25).fit(left, right, out)
    np.testing.assert_allclose(crowd.scores(), plain.scores(), atol=1e-9)
    np.testing.assert_allclose(crowd.posterior().var, plain.posterior().var, rtol=1e-9)
    np.testing.assert_allclose(crowd.predict(left, right), plain.predict(left, right), atol=1e-9)
    assert crowd.reliability_prior == (1.0, 0.0)  # all mass at r = 1


def test_an_honest_crowd_shrinks_everyone_to_one_and_predicts_as_bt() -> None:
    _, left, right, out, voter = simulate(1, careless=0)
    crowd = CrowdBT(n_items=25).fit(left, right, out, voter=voter)
    plain = BTModel(n_items=25).fit(left, right, out)
    assert min(crowd.voter_reliability().values()) > 0.999
    assert reliability_masses(*crowd.reliability_prior)[0] > 0.99
    assert crowd.taste_spread == 0.0  # the Bayes factor finds no tastes in a crowd that agrees
    np.testing.assert_allclose(crowd.scores(), plain.scores(), atol=1e-3)
    p = crowd.predict(left, right, voter=voter)
    np.testing.assert_allclose(p, plain.predict(left, right), atol=1e-3)


# -- careless voters ---------------------------------------------------------------------
def test_careless_and_hostile_voters_are_found_and_the_ranking_improves() -> None:
    truth, left, right, out, voter = simulate(0, votes=1500, careless=3, hostile=1)
    crowd = CrowdBT(n_items=25).fit(left, right, out, voter=voter)
    rel = crowd.voter_reliability()
    # the careless mixture has no "reverse" component: a hostile voter is ignored, not flipped
    assert max(rel[k] for k in range(4)) < 0.2
    assert min(rel[k] for k in range(4, 20)) > 0.75
    plain = BTModel(n_items=25).fit(left, right, out)
    assert kendalltau(crowd.scores(), truth)[0] > kendalltau(plain.scores(), truth)[0] + 0.05


def test_careless_votes_count_less_in_the_intervals() -> None:
    _, left, right, out, voter = simulate(3, careless=4)
    crowd = CrowdBT(n_items=25, prior_strength=0.5).fit(left, right, out, voter=voter)
    honest = voter >= 4
    trusted = CrowdBT(n_items=25, prior_strength=0.5)
    trusted.fit(left[honest], right[honest], out[honest], voter=voter[honest])
    # the votes of random voters add (almost) no information
    np.testing.assert_allclose(crowd.posterior().var, trusted.posterior().var, rtol=0.05)


# -- the fit ------------------------------------------------------------------------------
def test_the_fit_is_a_fixed_point_of_em() -> None:
    _, left, right, out, voter = simulate(4, votes=3000, careless=3)
    m = CrowdBT(n_items=25, side_advantage=False, tol=1e-10).fit(left, right, out, voter=voter)
    s = m.scores()
    d = s[left] - s[right]
    q = np.where(out == 1.0, expit(d), expit(-d))
    mass = reliability_masses(*m.reliability_prior)
    grid = RELIABILITY_GRID
    rel = m.voter_reliability()
    w = np.empty(left.shape[0])
    for k in range(20):  # each voter's posterior on the grid, computed afresh
        mine = voter == k
        ll = np.log(0.5 + np.outer(q[mine] - 0.5, grid)).sum(axis=0)
        post = np.exp(ll + np.log(mass) - logsumexp(ll + np.log(mass)))
        assert rel[k] == pytest.approx(post @ grid, abs=1e-8)
        share = np.outer(q[mine], grid) / (0.5 + np.outer(q[mine] - 0.5, grid))
        w[mine] = share @ post
    # the scores are the bt MAP with each vote weighted by P(answered by the model)
    lam = m.fitted_prior_strength
    g = w * (out - expit(d))
    grad = np.bincount(left, g, 25) - np.bincount(right, g, 25) - lam * s
    assert np.abs(grad).max() < 1e-5


def test_the_prior_is_the_marginal_likelihood_maximum() -> None:
    _, left, right, out, voter = simulate(5, votes=3000, careless=3)
    m = CrowdBT(n_items=25, side_advantage=False, tol=1e-10).fit(left, right, out, voter=voter)
    s = m.scores()
    d = s[left] - s[right]
    q = np.where(out == 1.0, expit(d), expit(-d))
    lik = np.log(0.5 + np.outer(q - 0.5, RELIABILITY_GRID))
    ll = np.stack([lik[voter == k].sum(axis=0) for k in range(20)])

    def evidence(a: float, b: float) -> float:
        logm = np.log(reliability_masses(a, b))
        return float(logsumexp(ll + logm, axis=1).sum() + logm[0])  # + 1 honest voter

    a, b = m.reliability_prior
    best = evidence(a, b)
    # the maximum over the whole allowed range of (log a, log b)
    for la in np.linspace(0.0, 9.0, 19):
        for lb in np.linspace(-9.0, 6.0, 31):
            assert evidence(math.exp(la), math.exp(lb)) <= best + 1e-6
    # the learned prior puts some mass on careless voters (3 of 20 answer at random)
    mass = reliability_masses(a, b)
    assert 0.03 < mass[RELIABILITY_GRID < 0.5].sum() < 0.3


def test_prior_fit_without_voters_and_with_an_honest_crowd() -> None:
    empty = np.zeros((0, RELIABILITY_GRID.shape[0]))
    assert fit_reliability_prior(empty) == (1.0, 0.0)
    honest = np.zeros((30, RELIABILITY_GRID.shape[0]))
    honest[:, 1:] = -np.linspace(1.0, 30.0, RELIABILITY_GRID.shape[0] - 1)
    assert reliability_masses(*fit_reliability_prior(honest))[0] > 0.99
    mass = reliability_masses(0.5, 2.0)
    assert mass.sum() == pytest.approx(1.0)
    # Beta(0.5, 2) on r has mean 0.2: the masses on the grid nodes reproduce it roughly
    assert mass @ RELIABILITY_GRID == pytest.approx(0.2, abs=0.02)


def test_ties_teach_nothing_about_the_voter() -> None:
    _, left, right, out, voter = simulate(6, careless=0)
    tie_voter = np.where(np.arange(left.shape[0]) % 10 == 0, 99, voter)
    out = np.where(tie_voter == 99, 0.5, out)
    m = CrowdBT(n_items=25).fit(left, right, out, voter=tie_voter)
    prior_mean = reliability_masses(*m.reliability_prior) @ RELIABILITY_GRID
    assert m.voter_reliability()[99] == pytest.approx(prior_mean)


# -- predictions ---------------------------------------------------------------------------
def test_predict_uses_the_voters_reliability_and_the_prior_for_unknown_voters() -> None:
    _, left, right, out, voter = simulate(7, careless=2)
    m = CrowdBT(n_items=25).fit(left, right, out, voter=voter)
    rel = m.voter_reliability()
    prior_mean = float(reliability_masses(*m.reliability_prior) @ RELIABILITY_GRID)
    i, j = np.array([0, 3, 7]), np.array([1, 4, 2])
    base = BTModel.predict(m, i, j)
    for who, r in [(0, rel[0]), (15, rel[15]), ("stranger", prior_mean), (None, prior_mean)]:
        np.testing.assert_allclose(m.predict(i, j, voter=who), r * base + (1 - r) / 2)
    p = m.predict(i, j, voter=[0, 15, 0])
    np.testing.assert_allclose(p + m.predict(j, i, voter=[0, 15, 0]), 1.0)
    assert abs(p[0] - 0.5) < abs(m.predict(i, j, voter=15)[0] - 0.5)  # the careless: near ½
    assert m.voter_reliability() == rel  # predicting registers nobody


# -- online updates -------------------------------------------------------------------------
def test_a_careless_voters_vote_moves_the_posterior_view_less() -> None:
    _, left, right, out, voter = simulate(8, careless=2)
    m = CrowdBT(n_items=25).fit(left, right, out, voter=voter)
    moves = {}
    for who in (0, 10):
        c = CrowdBT.from_state(m.state())
        before = c.posterior().mean.copy()
        c.update(3, 4, 1.0, voter=who)
        moves[who] = float(np.abs(c.posterior().mean - before).max())
    assert 0.0 <= moves[0] < 0.3 * moves[10]


def test_updates_then_a_read_equal_a_fit() -> None:
    _, left, right, out, voter = simulate(9, careless=2)
    fitted = CrowdBT(n_items=25).fit(left, right, out, voter=voter)
    online = CrowdBT(n_items=25)
    online.update(left[:1000], right[:1000], out[:1000], voter=voter[:1000])
    for i, j, y, v in zip(
        left[1000:1010], right[1000:1010], out[1000:1010], voter[1000:1010], strict=True
    ):
        online.update(int(i), int(j), float(y), voter=int(v))
    online.update(left[1010:], right[1010:], out[1010:], voter=voter[1010:])
    np.testing.assert_allclose(online.scores(), fitted.scores(), atol=1e-6)
    got, want = online.voter_reliability(), fitted.voter_reliability()
    assert got.keys() == want.keys()
    np.testing.assert_allclose([got[k] for k in want], list(want.values()), atol=1e-6)


# -- voters and state ------------------------------------------------------------------------
def test_voter_ids_ints_strings_and_numpy_scalars() -> None:
    m = CrowdBT(n_items=3)
    m.update(0, 1, 1.0, voter=np.int64(5))
    m.update([1, 2], [2, 0], [1.0, 0.0], voter=np.array(["ann", "bob"]))
    m.update(2, 1, 0.0, voter="cy")
    assert set(m.voter_reliability()) == {5, "ann", "bob", "cy"}
    assert all(type(k) in (int, str) for k in m.voter_reliability())


def test_bad_voters_raise_before_any_vote_is_applied() -> None:
    m = CrowdBT(n_items=3)
    wire = msgspec.msgpack.encode(m.state())
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
    with pytest.raises(ValueError, match="outcome"):  # a bad vote registers no voter
        m.update(0, 1, 2.0, voter="ghost")
    assert msgspec.msgpack.encode(m.state()) == wire
    assert m.voter_reliability() == {}


def test_state_round_trip_keeps_voters_and_reliabilities() -> None:
    _, left, right, out, voter = simulate(11, votes=800, careless=2)
    m = CrowdBT(n_items=25).fit(left, right, out, voter=[f"v{k}" for k in voter])
    m.update(0, 2, 1.0, voter=17)
    for codec in (msgspec.json, msgspec.msgpack):
        back = MODELS["crowd-bt"].from_state(codec.decode(codec.encode(m.state()), type=ModelState))
        assert isinstance(back, CrowdBT)
        assert back.reliability_prior == m.reliability_prior
        assert back.voter_reliability() == m.voter_reliability()
        for who in ("v0", 17, None):
            np.testing.assert_array_equal(
                back.predict([0, 1], [2, 3], voter=who), m.predict([0, 1], [2, 3], voter=who)
            )


def test_a_version_2_state_gets_its_tastes_at_the_next_read() -> None:
    left, right, out, voter, _ = taste_votes(5)
    m = CrowdBT(n_items=15).fit(left, right, out, voter=voter)
    state = m.state()
    assert state.version == 3
    data = {k: v for k, v in state.data.items() if not k.startswith("taste_")}
    old = ModelState(model="crowd-bt", params=state.params, data=data, version=2)
    back = CrowdBT.from_state(msgspec.json.decode(msgspec.json.encode(old), type=ModelState))
    assert back.taste_spread == pytest.approx(m.taste_spread, rel=1e-6)
    np.testing.assert_allclose(
        back.predict(left[:50], right[:50], voter=voter[:50]),
        m.predict(left[:50], right[:50], voter=voter[:50]),
        atol=1e-6,
    )


def test_a_state_of_the_old_crowd_bt_is_refused() -> None:
    old = ModelState(model="crowd-bt", params={"n_items": 2}, data={"mean": b"", "voters": []})
    with pytest.raises(ValueError, match="version"):
        CrowdBT.from_state(old)


@pytest.mark.parametrize(
    "bad", [{"honest_voters": -1.0}, {"max_iter": 0}, {"tol": 0.0}, {"prior_strength": -1.0}]
)
def test_bad_params_name_the_parameter(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        CrowdBT(n_items=2, **bad).fit([0], [1], [1.0])


# -- voters with a taste of their own ---------------------------------------------------------
def taste_votes(
    seed: int, n: int = 15, voters: int = 30, each: int = 60, spread: float = 1.5
) -> tuple[np.ndarray, ...]:
    """Honest voters who each compare with their own scores ``s + N(0, spread²)``."""
    rng = np.random.default_rng(seed)
    crowd = rng.normal(size=n)
    own = crowd + rng.normal(scale=spread, size=(voters, n))
    voter = np.repeat(np.arange(voters), each)
    left = rng.integers(0, n, voter.shape[0])
    right = (left + rng.integers(1, n, voter.shape[0])) % n
    p = expit(own[voter, left] - own[voter, right])
    out = (rng.random(voter.shape[0]) < p).astype(float)
    return left, right, out, voter, own


def test_voters_with_their_own_taste_are_predicted_from_it() -> None:
    left, right, out, voter, own = taste_votes(3)
    test = np.random.default_rng(9).random(left.shape[0]) < 0.2
    crowd = CrowdBT(n_items=15).fit(left[~test], right[~test], out[~test], voter=voter[~test])
    plain = BTModel(n_items=15).fit(left[~test], right[~test], out[~test])

    def loss(p: np.ndarray) -> float:
        y = out[test]
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))

    mine = loss(crowd.predict(left[test], right[test], voter=voter[test]))
    assert mine < 0.9 * loss(plain.predict(left[test], right[test]))
    assert 0.75 < crowd.taste_spread < 3.0  # the true spread is 1.5
    # each voter's scores as the model sees them are closer to their own than the crowd's are
    closer = [
        kendalltau(crowd.voter_scores(k), own[k])[0] > kendalltau(crowd.scores(), own[k])[0]
        for k in range(30)
    ]
    assert sum(closer) >= 24
    # unknown voters are predicted with the crowd's (pooled) scores
    np.testing.assert_allclose(
        crowd.predict([0, 1], [2, 3], voter="nobody"),
        crowd.predict([0, 1], [2, 3], voter=None),
    )
    np.testing.assert_array_equal(crowd.voter_scores("nobody"), crowd.scores())


def test_tastes_are_not_fitted_above_the_size_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    left, right, out, voter, _ = taste_votes(3)
    assert CrowdBT(n_items=15).fit(left, right, out, voter=voter).taste_spread > 0.5
    monkeypatch.setattr(algorithms._voter_taste, "TASTE_MAX_NODES", 100)  # 30 voters x 15 items
    m = CrowdBT(n_items=15).fit(left, right, out, voter=voter)
    assert m.taste_spread == 0.0
    plain = CrowdBT(n_items=15, voter_taste=False).fit(left, right, out, voter=voter)
    np.testing.assert_allclose(
        m.predict(left, right, voter=voter), plain.predict(left, right, voter=voter)
    )


def test_taste_can_be_switched_off() -> None:
    left, right, out, voter, _ = taste_votes(4)
    m = CrowdBT(n_items=15, voter_taste=False).fit(left, right, out, voter=voter)
    assert m.taste_spread == 0.0
    assert m.get_params()["voter_taste"] is False
    with pytest.raises(ValueError, match="voter_taste"):
        CrowdBT(n_items=2, voter_taste="yes").fit([0], [1], [1.0])  # type: ignore[arg-type]


# -- real voters ---------------------------------------------------------------------------
def _heldout(name: str, model: str, seed: int = 0) -> float:
    """Held-out log loss on one seeded 80/20 split (sides of winner/loser rows randomised)."""
    from ranker.votefile import read_votes

    t = read_votes(DATA / f"{name}.csv")
    assert t.voter is not None
    rng = np.random.default_rng(seed)
    flip = rng.random(t.n_votes) < 0.5
    left = np.where(flip, t.right, t.left)
    right = np.where(flip, t.left, t.right)
    out = np.where(flip, 1.0 - t.outcome, t.outcome)
    test = rng.random(t.n_votes) < 0.2
    m = create_model(model, n_items=t.n_items)
    m.fit(left[~test], right[~test], out[~test], voter=t.voter[~test])
    p = np.clip(m.predict(left[test], right[test], voter=t.voter[test]), 1e-15, 1 - 1e-15)
    y = out[test]
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


@pytest.mark.skipif(not DATA.is_dir(), reason="shared data not available")
@pytest.mark.parametrize(
    "name",
    [
        "beach_preferences",
        "physical_strength_faces",
        "potato_weight_visual",
        "sounds_human_likeness",
    ],
)
def test_real_voters_are_predicted_no_worse_than_by_bt(name: str) -> None:
    assert _heldout(name, "crowd-bt") <= 1.002 * _heldout(name, "bt")
    assert math.isfinite(_heldout(name, "crowd-bt", seed=1))


def test_module_doctests() -> None:
    for mod in (algorithms.crowd_bt, algorithms._crowd_em, algorithms._voter_taste):
        result = doctest.testmod(mod)
        assert result.attempted > 0 and result.failed == 0, mod.__name__
