"""Tests of the Bradley-Terry model ``bt`` (algorithms/bt.py, _bt_fit.py, _bt_objective.py)."""

from __future__ import annotations

import csv
import doctest
import re
from pathlib import Path

import choix
import msgspec
import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

import algorithms._bt_auto as bt_auto
import algorithms._bt_fit as bt_fit
from algorithms import MODELS, BTModel, create_model
from algorithms.base import ModelState

Votes = tuple[np.ndarray, np.ndarray, np.ndarray]


def bt_votes(s: np.ndarray, m: int, seed: int, h: float = 0.0) -> Votes:
    """Votes from the BT model on uniformly random pairs (no ties)."""
    rng = np.random.default_rng(seed)
    n = s.shape[0]
    left = rng.integers(0, n, m)
    right = (left + rng.integers(1, n, m)) % n
    p = 1.0 / (1.0 + np.exp(-(s[left] + h - s[right])))
    return left, right, (rng.random(m) < p).astype(float)


def davidson_votes(s: np.ndarray, m: int, nu: float, seed: int) -> Votes:
    rng = np.random.default_rng(seed)
    n = s.shape[0]
    left = rng.integers(0, n, m)
    right = (left + rng.integers(1, n, m)) % n
    a = 0.5 * (s[left] - s[right])
    pw, pl, pt = np.exp(a), np.exp(-a), np.full(m, nu)
    tot = pw + pl + pt
    u = rng.random(m) * tot
    y = np.where(u < pw, 1.0, np.where(u < pw + pt, 0.5, 0.0))
    return left, right, y


def read_pairs(path: Path) -> tuple[Votes, dict[str, int]]:
    names: dict[str, int] = {}
    rows = []
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if "winner" in row:
                a, b, y = row["winner"], row["loser"], 1.0
            else:
                a, b = row["left"], row["right"]
                y = {"left": 1.0, "right": 0.0, "tie": 0.5}[row["outcome"]]
            rows.append((names.setdefault(a, len(names)), names.setdefault(b, len(names)), y))
    arr = np.array(rows)
    return (arr[:, 0].astype(np.int64), arr[:, 1].astype(np.int64), arr[:, 2]), names


# -- optimum ----------------------------------------------------------------------------
@pytest.mark.parametrize("lam", [0.05, 1.0])
def test_same_optimum_as_choix(lam: float) -> None:
    # choix minimises sum(-log sigma) + alpha * sum(s^2); our prior adds lam/2 * sum(s^2)
    s = np.random.default_rng(3).standard_normal(12)
    left, right, y = bt_votes(s, 150, seed=4)
    left[0], right[0], y[0] = 11, 0, 0.0  # make sure nothing special happens at the ends
    data = [(a, b) if o == 1.0 else (b, a) for a, b, o in zip(left, right, y, strict=True)]
    ref = choix.opt_pairwise(12, data, alpha=lam / 2.0, tol=1e-12)
    model = create_model("bt", n_items=12, prior_strength=lam, side_advantage=False)
    model.fit(left, right, y)
    assert np.max(np.abs(model.scores() - ref)) < 1e-6


@pytest.mark.parametrize("side", [False, True])
@pytest.mark.parametrize("ties", [False, True])
def test_cg_path_matches_dense_path(
    monkeypatch: pytest.MonkeyPatch, side: bool, ties: bool
) -> None:
    s = np.random.default_rng(0).standard_normal(60)
    if ties:
        left, right, y = davidson_votes(s, 900, nu=0.5, seed=1)
    else:
        left, right, y = bt_votes(s, 900, seed=1, h=0.3)
    dense = BTModel(n_items=60, side_advantage=side).fit(left, right, y)
    monkeypatch.setattr(bt_fit, "DENSE_MAX", 5)
    cg = BTModel(n_items=60, side_advantage=side).fit(left, right, y)
    assert np.max(np.abs(cg.scores() - dense.scores())) < 1e-7
    assert cg.tie_param == pytest.approx(dense.tie_param, abs=1e-7)
    assert cg.side_effect == pytest.approx(dense.side_effect, abs=1e-7)


def test_warm_refit_equals_cold_fit_and_updates_equal_fit() -> None:
    # a fixed prior: the Newton solver alone (with "auto", see the re-estimation test)
    s = np.random.default_rng(1).standard_normal(25)
    left, right, y = bt_votes(s, 800, seed=2)
    cold = BTModel(n_items=25, prior_strength=0.5).fit(left, right, y).scores()
    warm = BTModel(n_items=25, prior_strength=0.5).fit(left[:600], right[:600], y[:600])
    before = warm.scores()
    warm.update(left[600:], right[600:], y[600:])
    assert not np.allclose(warm.posterior().mean, before)  # the view moved before any refit
    assert np.max(np.abs(warm.scores() - cold)) < 1e-8
    one_by_one = BTModel(n_items=25, prior_strength=0.5)
    for a, b, o in zip(left.tolist(), right.tolist(), y.tolist(), strict=True):
        one_by_one.update(a, b, o)
    assert one_by_one.n_votes == 800
    assert np.max(np.abs(one_by_one.scores() - cold)) < 1e-8
    assert one_by_one.prob(0, 1) == pytest.approx(1.0 / (1.0 + np.exp(cold[1] - cold[0])))


def test_batch_order_and_inputs_untouched() -> None:
    s = np.random.default_rng(2).standard_normal(10)
    left, right, y = bt_votes(s, 300, seed=3)
    copies = (left.copy(), right.copy(), y.copy())
    a = BTModel(n_items=10).fit(left, right, y).scores()
    perm = np.random.default_rng(0).permutation(300)
    b = BTModel(n_items=10).fit(left[perm], right[perm], y[perm]).scores()
    assert np.allclose(a, b, atol=1e-10)
    for orig, cp in zip((left, right, y), copies, strict=True):
        assert np.array_equal(orig, cp)


@settings(max_examples=40, deadline=None)
@given(
    votes=st.lists(
        st.tuples(st.integers(0, 5), st.integers(1, 5), st.sampled_from([0.0, 0.5, 1.0])),
        max_size=40,
    ),
    ties=st.sampled_from(["davidson", "half"]),
    side=st.booleans(),
)
def test_map_is_a_stationary_point_for_any_votes(
    votes: list[tuple[int, int, float]], ties: str, side: bool
) -> None:
    left = np.array([a for a, _, _ in votes], dtype=np.int64)
    right = np.array([(a + b) % 6 for a, b, _ in votes], dtype=np.int64)
    y = np.array([o for _, _, o in votes])
    model = BTModel(n_items=6, ties=ties, side_advantage=side).fit(left, right, y)
    s = model.scores()
    assert np.all(np.isfinite(s))
    # the vote terms cancel in sum_i dF/ds_i, leaving lam * sum(s): zero at the MAP
    assert abs(s.sum()) < 1e-6
    p = model._problem()
    grad = bt_fit.objective(p, model._full_x(p)).grad
    assert np.max(np.abs(grad)) < 1e-6


# -- posterior view ---------------------------------------------------------------------
def test_posterior_moves_per_vote_and_resyncs_on_refit() -> None:
    model = BTModel(n_items=4)
    post = model.posterior()
    lam = model.fitted_prior_strength  # before any vote: no refit
    assert np.allclose(post.var, 1.0 / lam)
    model.update(0, 1, 1.0)
    assert post.mean[0] > 0 > post.mean[1]  # the same read-only views moved
    assert post.var[0] < 1.0 / lam
    assert post.mean[2] == 0.0
    with pytest.raises(ValueError):
        post.mean[0] = 1.0
    model.update(2, 3, 0.0)
    assert model.stale_votes == 2
    model.refit()
    assert model.stale_votes == 0
    scores = model.scores()  # the refit re-synced the view to the MAP
    assert np.allclose(post.mean, scores)
    lo, hi = model.intervals()
    sd = (hi - lo) / (2 * 1.959963984540054)
    assert np.allclose(post.var, sd**2)


# -- ties and side advantage --------------------------------------------------------------
def test_davidson_recovers_tie_parameter() -> None:
    s = np.random.default_rng(5).standard_normal(30)
    left, right, y = davidson_votes(s, 6000, nu=0.8, seed=6)
    model = BTModel(n_items=30).fit(left, right, y)
    assert model.tie_param == pytest.approx(0.8, abs=0.1)
    assert scipy.stats.kendalltau(model.scores(), s).statistic > 0.7
    pw, pt, pl = model.outcome_probs(np.array([0]), np.array([1]))
    assert pw[0] + pt[0] + pl[0] == pytest.approx(1.0)
    assert pt[0] > 0.2
    # scores stay on the log-odds scale: P(i beats j | not tie) is logistic
    assert pw[0] / (pw[0] + pl[0]) == pytest.approx(model.prob(0, 1))


def test_no_ties_means_no_tie_parameter_and_half_counts_a_tie_as_half() -> None:
    s = np.random.default_rng(7).standard_normal(8)
    left, right, y = bt_votes(s, 200, seed=8)
    assert BTModel(n_items=8).fit(left, right, y).tie_param == 0.0
    y[:40] = 0.5
    half = BTModel(n_items=8, ties="half", prior_strength=0.5, side_advantage=False)
    half.fit(left, right, y)
    assert half.tie_param == 0.0
    # a tie as half a win each == every tie as one win and one loss, every vote doubled
    tie = y == 0.5
    l2 = np.concatenate([left[~tie], left[~tie], left[tie], left[tie]])
    r2 = np.concatenate([right[~tie], right[~tie], right[tie], right[tie]])
    y2 = np.concatenate([y[~tie], y[~tie], np.ones(tie.sum()), np.zeros(tie.sum())])
    doubled = BTModel(n_items=8, prior_strength=1.0, side_advantage=False).fit(l2, r2, y2)
    assert np.max(np.abs(half.scores() - doubled.scores())) < 1e-8


def test_side_advantage_recovers_h() -> None:
    s = np.random.default_rng(9).standard_normal(30)
    left, right, y = bt_votes(s, 5000, seed=10, h=0.5)
    model = BTModel(n_items=30, side_advantage=True).fit(left, right, y)
    assert model.side_effect == pytest.approx(0.5, abs=0.1)
    assert BTModel(n_items=30, side_advantage=False).fit(left, right, y).side_effect == 0.0


# -- adaptive prior strength and side advantage ------------------------------------------
def laplace_evidence(model: BTModel, lam: float) -> float:
    """log p(y | lam) by the Laplace approximation, plus the log Gamma hyperprior of "auto"."""
    params = {**model.get_params(), "prior_strength": lam}
    params["side_advantage"] = model.fitted_side_advantage
    m = BTModel(**params).fit(
        model._left[: model.n_votes], model._right[: model.n_votes], model._out[: model.n_votes]
    )
    p = m._problem()
    ev = bt_fit.objective(p, m._full_x(p))
    _, logdet = np.linalg.slogdet(bt_fit.dense_hessian(p, ev))
    k, base = bt_auto.HYPER_ITEMS, bt_auto.LAM_BASE
    return float(
        -ev.value
        + 0.5 * p.n_items * np.log(lam)
        - 0.5 * logdet
        + 0.5 * k * np.log(lam)
        - 0.5 * k * lam / base
    )


def test_auto_prior_strength_is_the_evidence_fixed_point_near_its_maximum() -> None:
    s = np.random.default_rng(30).standard_normal(25)
    left, right, y = bt_votes(s, 500, seed=31)
    model = BTModel(n_items=25).fit(left, right, y)
    lam = model.fitted_prior_strength
    # MacKay's condition: lam (|s|^2 + k / base) = n - lam tr(H^-1)_ss + k
    k, base = bt_auto.HYPER_ITEMS, bt_auto.LAM_BASE
    fit = model.scores()
    gamma = 25 - lam * float(np.sum(model.score_sd() ** 2))
    assert lam * (fit @ fit + k / base) == pytest.approx(gamma + k, rel=1e-6)
    # ... which is (up to the neglected change of H with s) where the evidence peaks
    grid = lam * np.exp(np.linspace(-1.0, 1.0, 21))
    best = grid[int(np.argmax([laplace_evidence(model, g) for g in grid]))]
    assert abs(np.log(best / lam)) <= 0.15
    assert laplace_evidence(model, lam) >= laplace_evidence(model, 0.5 * lam)
    assert laplace_evidence(model, lam) >= laplace_evidence(model, 2.0 * lam)


def test_auto_prior_strength_follows_the_spread_of_the_scores() -> None:
    # small, noisy differences: strong prior; near-deterministic outcomes: weak prior
    unit = np.random.default_rng(32).standard_normal(40)
    lams = []
    for sd in (0.15, 1.0, 4.0):
        left, right, y = bt_votes(sd * unit, 3000, seed=33)
        lams.append(BTModel(n_items=40).fit(left, right, y).fitted_prior_strength)
    assert lams[0] > 5.0 * lams[1] > 25.0 * lams[2]
    assert lams[0] > 3.0 and 0.4 < lams[1] < 2.5 and lams[2] < 0.15


def test_auto_prior_strength_on_tiny_and_degenerate_surveys() -> None:
    # no votes: the base prior; a handful: the hyperprior keeps lambda near it
    assert BTModel(n_items=3).fitted_prior_strength == bt_auto.LAM_BASE
    tiny = BTModel(n_items=3).fit([0, 1], [1, 2], [1.0, 1.0])
    assert 0.2 < tiny.fitted_prior_strength < 1.0
    # 30 straight wins along a chain (perfectly separable): the floor holds, scores finite
    chain = BTModel(n_items=4).fit([0, 1, 2] * 10, [1, 2, 3] * 10, [1.0] * 30)
    assert bt_auto.LAM_MIN <= chain.fitted_prior_strength < bt_auto.LAM_BASE
    assert np.all(np.isfinite(chain.scores())) and np.all(np.diff(chain.scores()) < 0)
    # coin flips between equal items: a strong prior, scores near 0
    rng = np.random.default_rng(43)
    left = rng.integers(0, 10, 4000)
    right = (left + rng.integers(1, 10, 4000)) % 10
    coin = BTModel(n_items=10).fit(left, right, (rng.random(4000) < 0.5).astype(float))
    assert coin.fitted_prior_strength > 2.0 and np.max(np.abs(coin.scores())) < 0.2


def test_predicted_lambda_stays_within_floor_and_ceiling() -> None:
    var = np.full(500, 0.001)  # well-measured scores
    assert bt_auto.predict_lam(1.0, np.zeros(500), var) == bt_auto.LAM_MAX
    assert bt_auto.predict_lam(1.0, np.linspace(-60, 60, 500), var) == bt_auto.LAM_MIN
    # the fixed point of the diagonal model: lam (|s'|^2 + k/base) = gamma' + k
    s = np.linspace(-2, 2, 500)
    lam = bt_auto.predict_lam(1.0, s, var)
    a = 1.0 / var - 1.0
    s_new = s * (a + 1.0) / (a + lam)
    gamma = 500 - lam * np.sum(1.0 / (a + lam))
    k, base = bt_auto.HYPER_ITEMS, bt_auto.LAM_BASE
    assert lam * (s_new @ s_new + k / base) == pytest.approx(gamma + k, rel=1e-9)


def test_auto_side_advantage_kept_for_home_advantage_dropped_for_random_sides() -> None:
    s = np.random.default_rng(34).standard_normal(30)
    home = BTModel(n_items=30).fit(*bt_votes(s, 3000, seed=35, h=0.4))
    assert home.fitted_side_advantage and home.side_effect == pytest.approx(0.4, abs=0.1)
    dropped = 0
    for seed in range(20):
        m = BTModel(n_items=30).fit(*bt_votes(s, 3000, seed=100 + seed))
        dropped += not m.fitted_side_advantage
        assert m.fitted_side_advantage or m.side_effect == 0.0
    assert dropped >= 19  # the test keeps a side effect of 0 by chance 0.3% of the time
    # every vote has the stronger item on the left: h would only stand in for the scores
    confounded = BTModel(n_items=3).fit([0, 1] * 40, [1, 2] * 40, [1.0, 0.5] * 40)
    assert not confounded.fitted_side_advantage
    # explicit settings are obeyed whatever the data
    assert (
        not BTModel(n_items=30, side_advantage=False)
        .fit(*bt_votes(s, 3000, seed=35, h=0.4))
        .fitted_side_advantage
    )
    assert (
        BTModel(n_items=30, side_advantage=True)
        .fit(*bt_votes(s, 3000, seed=36))
        .fitted_side_advantage
    )


def test_explicit_prior_strength_is_used_as_given() -> None:
    s = np.random.default_rng(37).standard_normal(10)
    left, right, y = bt_votes(s, 300, seed=38)
    model = BTModel(n_items=10, prior_strength=0.25).fit(left, right, y)
    assert model.fitted_prior_strength == 0.25
    model.update(left, right, y)
    assert model.fitted_prior_strength == 0.25


def test_lambda_is_re_estimated_only_after_the_votes_grew() -> None:
    s = np.random.default_rng(39).standard_normal(20)
    left, right, y = bt_votes(s, 2000, seed=40)
    model = BTModel(n_items=20).fit(left[:1000], right[:1000], y[:1000])
    lam = model.fitted_prior_strength
    model.update(left[1000:1050], right[1000:1050], y[1000:1050])  # +5%: keep lambda
    model.refit()
    assert model.fitted_prior_strength == lam and model.stale_votes == 0
    model.update(left[1050:1200], right[1050:1200], y[1050:1200])  # +20% in all: re-estimate
    assert model.fitted_prior_strength != lam
    cold = BTModel(n_items=20).fit(left[:1200], right[:1200], y[:1200])
    assert model.fitted_prior_strength == pytest.approx(cold.fitted_prior_strength, rel=1e-6)
    assert np.max(np.abs(model.scores() - cold.scores())) < 1e-6


@pytest.mark.parametrize("codec", [msgspec.json, msgspec.msgpack])
def test_learnt_prior_and_side_decision_round_trip(codec: object) -> None:
    s = np.random.default_rng(41).standard_normal(12)
    left, right, y = bt_votes(s, 1200, seed=42, h=0.5)
    model = BTModel(n_items=12).fit(left[:1000], right[:1000], y[:1000])
    model.update(left[1000:1050], right[1000:1050], y[1000:1050])
    assert model.fitted_side_advantage and model.fitted_prior_strength != bt_auto.LAM_BASE
    raw = codec.encode(model.state())  # type: ignore[attr-defined]
    back = BTModel.from_state(codec.decode(raw, type=ModelState))  # type: ignore[attr-defined]
    assert (
        back.get_params() == model.get_params() == {**back.get_params(), "prior_strength": "auto"}
    )
    for m in (model, back):
        m.update(left[1050:], right[1050:], y[1050:])  # +14%: both re-estimate identically
    assert back.fitted_prior_strength == model.fitted_prior_strength
    assert np.array_equal(back.scores(), model.scores())
    assert back.side_effect == model.side_effect


def test_old_states_without_learnt_fields_still_load() -> None:
    model = BTModel(n_items=3, prior_strength=0.5, side_advantage=False)
    model.update([0, 1], [1, 2], [1.0, 0.0])
    state = model.state()
    data = {k: v for k, v in state.data.items() if k not in ("lam", "side", "m_est")}
    back = BTModel.from_state(ModelState(model="bt", params=state.params, data=data))
    assert np.array_equal(back.scores(), model.scores())
    assert back.fitted_prior_strength == 0.5 and not back.fitted_side_advantage


# -- hard graphs ---------------------------------------------------------------------------
def test_disconnected_graph_and_never_winning_item_are_finite() -> None:
    # items 0-2 only meet each other, 3-5 only each other; item 5 never wins; 6 never plays
    left = np.array([0, 1, 2, 0, 3, 4, 3, 4])
    right = np.array([1, 2, 0, 2, 4, 5, 5, 3])
    y = np.array([1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0])
    model = BTModel(n_items=7).fit(left, right, y)
    s = model.scores()
    lo, hi = model.intervals()
    assert np.all(np.isfinite(s)) and np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))
    assert s[5] == min(s[3:6]) and s[6] == 0.0
    width = 2 * 1.959963984540054 / np.sqrt(model.fitted_prior_strength)
    assert hi[6] - lo[6] == pytest.approx(width)


def test_fit_on_no_votes_then_updates() -> None:
    model = BTModel(n_items=3).fit([], [], [])
    assert np.all(model.scores() == 0.0)
    model.update(0, 1, 1.0)
    model.update([1, 2] * 20, [2, 0] * 20, [1.0, 0.0] * 20)
    assert model.n_votes == 41 and model.scores()[0] > model.scores()[1]


def test_add_items_keeps_the_fit() -> None:
    s = np.random.default_rng(11).standard_normal(6)
    left, right, y = bt_votes(s, 100, seed=12)
    model = BTModel(n_items=6).fit(left, right, y)
    before = model.scores()
    model.add_items(2)
    assert model.n_items == 8
    assert np.allclose(model.scores()[:6], before) and np.all(model.scores()[6:] == 0.0)
    model.update(7, 0, 1.0)
    assert model.scores()[7] > 0.0


# -- uncertainty ---------------------------------------------------------------------------
def test_laplace_intervals_cover_truth_at_about_nominal_rate() -> None:
    hits = total = 0
    for seed in range(6):
        rng = np.random.default_rng(100 + seed)
        s = rng.standard_normal(30)  # truth drawn from the prior N(0, 1/lam), lam = 1
        left, right, y = bt_votes(s, 600, seed=200 + seed)
        lo, hi = BTModel(n_items=30, prior_strength=1.0).fit(left, right, y).intervals(0.95)
        hits += int(np.sum((lo <= s) & (s <= hi)))
        total += 30
    assert 0.85 <= hits / total <= 0.99


def test_approximate_laplace_variance_close_to_exact() -> None:
    s = np.random.default_rng(13).standard_normal(300)
    left, right, y = bt_votes(s, 6000, seed=14)
    # a fixed prior: with "auto", exact_max would also change how lambda is learnt
    exact = BTModel(n_items=300, prior_strength=0.5).fit(left, right, y)
    approx = BTModel(n_items=300, prior_strength=0.5, exact_max=0).fit(left, right, y)
    ratio = approx.score_sd() / exact.score_sd()
    assert np.max(np.abs(ratio - 1.0)) < 0.05
    # disconnected: two halves that never meet, each has its own constant mode
    keep = (left < 150) == (right < 150)
    exact2 = BTModel(n_items=300, prior_strength=0.5).fit(left[keep], right[keep], y[keep])
    approx2 = BTModel(n_items=300, prior_strength=0.5, exact_max=0)
    approx2.fit(left[keep], right[keep], y[keep])
    assert np.max(np.abs(approx2.score_sd() / exact2.score_sd() - 1.0)) < 0.05


@pytest.mark.parametrize("extras", [False, True])
def test_level_var_is_the_variance_of_the_common_level(extras: bool) -> None:
    s = np.random.default_rng(21).standard_normal(12)
    left, right, y = davidson_votes(s, 300, nu=0.6, seed=22)
    model = BTModel(n_items=12, side_advantage=extras, ties="davidson" if extras else "half")
    model.fit(left, right, y)
    p = model._problem()
    hess = bt_fit.dense_hessian(p, bt_fit.objective(p, model._full_x(p)))
    cov = np.linalg.inv(hess)[:12, :12]
    centre = np.eye(12) - 1.0 / 12
    centred_var = np.diag(centre @ cov @ centre)
    assert np.allclose(model.score_sd() ** 2 - model.level_var, centred_var, rtol=1e-8)


def test_bootstrap_is_seeded_and_sensible() -> None:
    s = np.random.default_rng(15).standard_normal(8)
    left, right, y = bt_votes(s, 400, seed=16)
    model = BTModel(n_items=8, n_boot=50).fit(left, right, y)
    a = model.intervals(method="bootstrap", seed=1)
    b = model.intervals(method="bootstrap", seed=1)
    c = model.intervals(method="bootstrap", seed=2)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    map_ = model.scores()
    assert np.all(a[0] < map_) and np.all(map_ < a[1])
    # the common level of all scores is fixed by the prior, not by the votes, so compare
    # the spread of score differences: bootstrap vs the Laplace posterior
    boot = model.bootstrap_scores(200, seed=4)
    lap = model.sample_scores(4000, seed=5)
    sd_boot = (boot[:, 1:] - boot[:, :1]).std(axis=0)
    sd_lap = (lap[:, 1:] - lap[:, :1]).std(axis=0)
    assert np.allclose(sd_boot, sd_lap, rtol=0.3)


def test_sample_scores_follow_the_laplace_posterior() -> None:
    s = np.random.default_rng(17).standard_normal(10)
    left, right, y = bt_votes(s, 300, seed=18)
    model = BTModel(n_items=10).fit(left, right, y)
    draws = model.sample_scores(4000, seed=3)
    assert draws.shape == (4000, 10)
    assert np.array_equal(draws, model.sample_scores(4000, seed=3))
    sd = model.score_sd()
    assert np.allclose(draws.mean(axis=0), model.scores(), atol=4 * sd.max() / np.sqrt(4000))
    assert np.allclose(draws.std(axis=0), sd, rtol=0.1)
    big = BTModel(n_items=10, exact_max=0).fit(left, right, y).sample_scores(5, seed=0)
    assert big.shape == (5, 10) and np.all(np.isfinite(big))


# -- state and validation ----------------------------------------------------------------
@pytest.mark.parametrize("codec", [msgspec.json, msgspec.msgpack])
def test_state_round_trip_is_exact(codec: object) -> None:
    s = np.random.default_rng(19).standard_normal(9)
    left, right, y = davidson_votes(s, 300, nu=0.5, seed=20)
    model = BTModel(n_items=9, side_advantage=True).fit(left[:200], right[:200], y[:200])
    model.update(left[200:], right[200:], y[200:])  # stale fit: the state carries it too
    model.update(1, 2, 0.5)
    raw = codec.encode(model.state())  # type: ignore[attr-defined]
    back = MODELS["bt"].from_state(codec.decode(raw, type=ModelState))  # type: ignore[attr-defined]
    assert np.array_equal(back.posterior().mean, model.posterior().mean)
    assert np.array_equal(back.posterior().var, model.posterior().var)
    assert np.array_equal(back.scores(), model.scores())
    assert back.get_params() == model.get_params() and back.n_votes == 301


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"prior_strength": 0.0}, "prior_strength"),
        ({"prior_strength": float("inf")}, "prior_strength"),
        ({"ties": "both"}, "ties"),
        ({"side_advantage": "yes"}, "side_advantage"),
        ({"prior_strength": "automatic"}, "prior_strength"),
        ({"side_advantage": None}, "side_advantage"),
        ({"n_items": -1}, "n_items"),
    ],
)
def test_bad_parameters_are_named(params: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        create_model("bt", **params).scores()


def test_bad_votes_are_refused() -> None:
    model = BTModel(n_items=3)
    with pytest.raises(ValueError, match="out of range"):
        model.update(0, 3, 1.0)
    with pytest.raises(ValueError, match="itself"):
        model.update(1, 1, 1.0)
    with pytest.raises(ValueError, match="outcome"):
        model.update(0, 1, 1.5)
    with pytest.raises(ValueError, match="out of range"):
        model.update([0, 1], [1, 5], [1.0, 0.0])
    with pytest.raises(ValueError, match="level"):
        model.intervals(1.5)
    with pytest.raises(ValueError, match="method"):
        model.intervals(method="magic")
    assert model.n_votes == 0


# -- real data -----------------------------------------------------------------------------
def test_potato_ranking_agrees_with_the_truth(shared_data: Path) -> None:
    (left, right, y), names = read_pairs(shared_data / "potato_weight_visual.csv")
    truth = {}
    with (shared_data / "potato_weight_truth.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            truth[names[row["item"]]] = int(row["true_rank"])
    voters = np.zeros(left.shape[0], dtype=np.int64)  # accepted and ignored by bt
    s = BTModel(n_items=len(names)).fit(left, right, y, voter=voters).scores()
    true_rank = np.array([truth[i] for i in range(len(names))])
    # winner = ranked ahead (lower number): a higher score should mean a lower rank number
    assert scipy.stats.kendalltau(s, -true_rank).statistic > 0.6


def test_football_home_advantage_and_ties(shared_data: Path) -> None:
    (left, right, y), names = read_pairs(shared_data / "epl_football_2008_2013.csv")
    model = BTModel(n_items=len(names), side_advantage=True).fit(left, right, y)
    assert model.side_effect > 0.2  # left is the home team
    assert 0.3 < model.tie_param < 2.0  # about a quarter of the games are draws
    assert np.all(np.isfinite(model.intervals()[0]))


# -- docs ----------------------------------------------------------------------------------
def test_docs_example_and_doctests_run() -> None:
    import algorithms.bt

    text = (Path(__file__).resolve().parent.parent / "docs" / "models.md").read_text()
    start = text.index("## Bradley-Terry (bt)")
    mine = text[start : text.index("\n## ", start + 1)]
    blocks = re.findall(r"```python\n(.*?)```", mine, flags=re.S)
    assert blocks
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(block, namespace)
    model = namespace["model"]
    assert isinstance(model, BTModel) and model.n_votes == 4 and model.tie_param > 0
    result = doctest.testmod(algorithms.bt)
    assert result.attempted > 0 and result.failed == 0
