"""``time-bt``: scores that drift over time (the contract suite covers the shared behaviour)."""

from __future__ import annotations

import doctest
import re
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pytest

import algorithms._time_bt_fit as fit_mod
import algorithms._time_bt_search as search_mod
import algorithms.time_bt
from algorithms import ModelState, VoteContext, create_model
from algorithms._time_bt_fit import make_buckets
from algorithms.time_bt import TimeBT


def drifting(
    seed: int, n: int = 12, steps: int = 30, m: int = 1500, sigma: float = 0.3
) -> tuple[Any, ...]:
    """Votes on ``n`` items whose true scores follow a random walk over ``steps`` days."""
    rng = np.random.default_rng(seed)
    truth = rng.normal(0.0, 1.0, n) + np.cumsum(rng.normal(0.0, sigma, (steps, n)), axis=0)
    day = np.sort(rng.integers(0, steps, m))
    left = rng.integers(0, n, m)
    right = (left + rng.integers(1, n, m)) % n
    p = 1.0 / (1.0 + np.exp(-(truth[day, left] - truth[day, right])))
    out = (rng.random(m) < p).astype(np.float64)
    return left, right, out, day.astype(np.float64), truth


def log_loss(p: Any, y: Any) -> float:
    return float(-np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p)))


def centred(s: Any) -> Any:
    return s - s.mean()


# -- what the model is for ------------------------------------------------------------------
def test_tracks_drifting_strengths_better_than_static_bt() -> None:
    left, right, out, day, truth = drifting(0)
    train = np.arange(left.size) % 5 != 0
    test = ~train
    ctx = VoteContext(time=day[train])
    m = create_model("time-bt", n_items=12).fit(left[train], right[train], out[train], context=ctx)
    bt = create_model("bt", n_items=12).fit(left[train], right[train], out[train])
    assert 0.1 < m.fitted_drift < 0.6  # the truth: 0.3 per day
    # the latest scores follow the truth at the end, static bt averages over the whole span
    err_time = np.sqrt(np.mean((centred(m.scores()) - centred(truth[-1])) ** 2))
    err_static = np.sqrt(np.mean((centred(bt.scores()) - centred(truth[-1])) ** 2))
    assert err_time < 0.6 * err_static
    # and each held-out vote is predicted with the scores of its day
    p_time = m.predict(left[test], right[test], context=VoteContext(time=day[test]))
    p_static = bt.predict(left[test], right[test])
    assert log_loss(p_time, out[test]) < log_loss(p_static, out[test]) - 0.03
    # the scores at the start follow the truth at the start
    early = m.scores_at(float(day[0]))
    assert np.corrcoef(early, truth[0])[0, 1] > np.corrcoef(m.scores(), truth[0])[0, 1]


def test_without_drift_the_drift_is_small_and_it_predicts_like_bt() -> None:
    left, right, out, day, _ = drifting(1, sigma=0.0)
    ctx = VoteContext(time=day)
    m = create_model("time-bt", n_items=12).fit(left, right, out, context=ctx)
    # total drift variance over the whole span well below the spread of the scores
    assert m.fitted_drift**2 * (day[-1] - day[0]) < 0.05
    bt = create_model("bt", n_items=12, prior_strength=m.fitted_prior_strength)
    bt.fit(left, right, out)
    i, j = np.triu_indices(12, 1)
    assert (
        np.max(np.abs(m.predict(i, j, context=VoteContext(time=day[-1])) - bt.predict(i, j))) < 0.02
    )


def test_no_drift_and_no_time_are_exactly_bt() -> None:
    left, right, out, day, _ = drifting(2, n=8, m=400)
    out[::9] = 0.5  # some ties: Davidson
    for kwargs, ctx in [
        ({"drift": 0.0}, VoteContext(time=day)),
        ({}, None),
        ({}, VoteContext(time=np.full(day.size, np.nan))),
    ]:
        m = create_model("time-bt", n_items=8, side_advantage=True, **kwargs)
        m.fit(left, right, out, context=ctx)
        bt = create_model(
            "bt", n_items=8, prior_strength=m.fitted_prior_strength, side_advantage=True
        ).fit(left, right, out)
        np.testing.assert_allclose(m.scores(), bt.scores(), atol=1e-6)
        np.testing.assert_allclose(m.side_effect, bt.side_effect, atol=1e-6)
        np.testing.assert_allclose(m.intervals(0.9)[1], bt.intervals(0.9)[1], atol=1e-6)
        assert m.fitted_drift == 0.0


def test_prior_strength_is_learnt_from_the_spread_of_the_scores() -> None:
    rng = np.random.default_rng(3)
    for sd in (0.5, 2.0):
        truth = rng.normal(0.0, sd, 30)
        left = rng.integers(0, 30, 6000)
        right = (left + rng.integers(1, 30, 6000)) % 30
        out = (rng.random(6000) < 1 / (1 + np.exp(-(truth[left] - truth[right])))).astype(float)
        m = create_model("time-bt", n_items=30).fit(left, right, out)
        assert 0.4 / sd**2 < m.fitted_prior_strength < 2.5 / sd**2


def test_side_advantage_is_kept_only_when_the_votes_support_it() -> None:
    left, right, out, day, truth = drifting(4, sigma=0.0)
    rng = np.random.default_rng(5)
    d = truth[day.astype(int), left] - truth[day.astype(int), right]
    home = (rng.random(left.size) < 1 / (1 + np.exp(-(d + 0.6)))).astype(float)
    ctx = VoteContext(time=day)
    with_h = create_model("time-bt", n_items=12).fit(left, right, home, context=ctx)
    without = create_model("time-bt", n_items=12).fit(left, right, out, context=ctx)
    assert with_h.fitted_side_advantage and 0.4 < with_h.side_effect < 0.8
    assert not without.fitted_side_advantage and without.side_effect == 0.0


# -- time -----------------------------------------------------------------------------------
def test_predict_uses_each_votes_time_and_widens_after_the_last_bucket() -> None:
    t = np.repeat([0.0, 10.0], 40)
    left, right = np.zeros(80, dtype=int), np.ones(80, dtype=int)
    out = np.r_[np.ones(36), np.zeros(4), np.zeros(36), np.ones(4)]  # 0 leads, then 1 does
    m = create_model("time-bt", n_items=2, side_advantage=False)
    m.fit(left, right, out, context=VoteContext(time=t))
    assert m.fitted_drift > 0.0
    p = m.predict([0, 0, 0, 0, 0], [1] * 5, context=VoteContext(time=[0.0, 5.0, 10.0, 1e4, np.nan]))
    assert p[0] > 0.5 > p[2]
    assert p[2] < p[1] < p[0]  # in between: interpolated
    assert p[2] < p[3] < 0.5  # far in the future: towards a coin flip
    assert p[4] == pytest.approx(p[2])  # no time: the latest scores
    np.testing.assert_allclose(m.scores(), m.scores_at(10.0))
    np.testing.assert_allclose(m.scores_at(-5.0), m.trajectories[0])
    assert m.bucket_times.tolist() == [0.0, 10.0]


def test_votes_without_a_time_count_in_the_latest_bucket() -> None:
    t = np.repeat([0.0, 1.0, 2.0], 20)
    left, right = np.zeros(60, dtype=int), np.ones(60, dtype=int)
    out = np.tile(np.r_[np.ones(10), np.zeros(10)], 3)
    m = create_model("time-bt", n_items=2, drift=0.5, side_advantage=False)
    m.fit(left, right, out, context=VoteContext(time=t))
    before = m.trajectories
    m.update(np.zeros(30, dtype=int), np.ones(30, dtype=int), np.ones(30))  # no context
    after = m.trajectories
    assert after[-1, 0] - before[-1, 0] > after[0, 0] - before[0, 0] > 0.0


def test_times_may_be_datetimes() -> None:
    left, right, out, day, _ = drifting(6, n=6, m=300)
    dates = np.datetime64("2020-01-01") + day.astype("timedelta64[D]")
    a = create_model("time-bt", n_items=6).fit(left, right, out, context=VoteContext(time=day))
    b = create_model("time-bt", n_items=6).fit(left, right, out, context=VoteContext(time=dates))
    np.testing.assert_allclose(a.scores(), b.scores(), atol=1e-9)
    assert a.fitted_drift == pytest.approx(b.fitted_drift)


def test_buckets_auto_and_fixed_width() -> None:
    t = np.r_[np.zeros(30), np.full(30, 1.0), np.full(5, 3.0), np.full(25, 40.0), np.nan]
    auto = make_buckets(t, 4, None)
    # equal counts of about 10 votes, never splitting one time; the untimed vote joins the last
    assert auto.index[-1] == auto.count - 1
    for value in (0.0, 1.0, 40.0):
        assert np.unique(auto.index[t == value]).size == 1
    assert np.all(np.diff(auto.index[:-1]) >= 0)
    fixed = make_buckets(t, 4, 7.0)  # weeks: [0, 7) and [35, 42); the empty ones are dropped
    assert fixed.count == 2
    np.testing.assert_allclose(fixed.times, [(30 * 1.0 + 5 * 3.0) / 65, 40.0])
    assert make_buckets(np.full(5, np.nan), 4, None).count == 1


def test_the_automatic_bucket_count_keeps_the_exact_path_affordable() -> None:
    t = np.arange(100_000, dtype=np.float64)
    assert make_buckets(t, 10, None).count == fit_mod.MAX_BUCKETS
    assert make_buckets(t, 180, None).count <= fit_mod.FLOP_BUDGET / 180**3
    assert make_buckets(t, 500, None, exact=False).count == fit_mod.MAX_BUCKETS


def test_many_items_approximate_variances_and_held_out_search(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    left, right, out, day, _ = drifting(7, n=30, m=3000)
    out[::11] = 0.5
    ctx = VoteContext(time=day)
    params = {"prior_strength": 1.0, "drift": 0.2, "side_advantage": True, "bucket_width": 3.0}
    exact = create_model("time-bt", n_items=30, **params).fit(left, right, out, context=ctx)
    monkeypatch.setattr(search_mod, "EXACT_ITEMS", 10)
    monkeypatch.setattr(algorithms.time_bt, "EXACT_ITEMS", 10)
    large = create_model("time-bt", n_items=30, **params).fit(left, right, out, context=ctx)
    np.testing.assert_allclose(large.trajectories, exact.trajectories, atol=1e-6)
    sd_ratio = np.sqrt(large.posterior().var / exact.posterior().var)
    assert np.all(np.abs(sd_ratio - 1.0) < 0.05)
    # "auto": the hyperparameters maximise the likelihood of held-out votes (the truth: 0.3)
    auto = create_model("time-bt", n_items=30).fit(left, right, out, context=ctx)
    assert 0.1 < auto.fitted_drift < 0.6
    assert auto.sample_scores(3, seed=0).shape == (3, 30)
    # which votes are held out depends on the votes, not on their order
    order = np.random.default_rng(0).permutation(left.size)
    ctx2 = VoteContext(time=day[order])
    shuffled = create_model("time-bt", n_items=30).fit(
        left[order], right[order], out[order], context=ctx2
    )
    assert shuffled.fitted_drift == pytest.approx(auto.fitted_drift, rel=1e-9)
    np.testing.assert_allclose(shuffled.scores(), auto.scores(), atol=1e-6)


def test_block_factorisation_matches_the_dense_hessian() -> None:
    """log |H| and the latest bucket's covariance against a finite-difference dense Hessian."""
    left, right, out, day, _ = drifting(10, n=4, steps=5, m=120)
    out[::7] = 0.5
    b = make_buckets(day, 4, None)
    st = fit_mod.make_setup(left, right, out, 4, b, True, True)
    hy = fit_mod.Hyper(0.7, 0.5)
    kap = hy.kappa(st.gaps)
    x = fit_mod.start_point(st, 0.7) + np.random.default_rng(0).normal(0, 0.3, st.p.size)
    _, _, ev = fit_mod.evaluate(st, hy, kap, x)
    fac = fit_mod.factor(st, hy, kap, x, ev)
    eps = 1e-5
    cols = []
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = eps
        gp = fit_mod.evaluate(st, hy, kap, x + e)[1]
        gm = fit_mod.evaluate(st, hy, kap, x - e)[1]
        cols.append((gp - gm) / (2 * eps))
    dense = np.array(cols)
    dense = 0.5 * (dense + dense.T)
    assert fac.logdet == pytest.approx(np.linalg.slogdet(dense)[1], abs=1e-5)
    n, T = 4, st.T
    cov = np.linalg.inv(dense)[(T - 1) * n : T * n, (T - 1) * n : T * n]
    vl = fac.border_v[-1] if fac.border_v is not None else None
    assert vl is not None and fac.border_m is not None
    latest = fac.sinv[-1] + vl @ np.linalg.solve(fac.border_m, vl.T)
    np.testing.assert_allclose(latest, cov, rtol=1e-5, atol=1e-8)


def test_the_map_is_a_stationary_point() -> None:
    left, right, out, day, _ = drifting(11, n=8, m=600)
    out[::5] = 0.5
    m = create_model("time-bt", n_items=8, side_advantage=True, drift=0.2, prior_strength=1.0)
    m.fit(left, right, out, context=VoteContext(time=day))
    b = make_buckets(day, 8, None)
    st = fit_mod.make_setup(left, right, out, 8, b, True, True)
    hy = fit_mod.Hyper(1.0, 0.2**2 * float(b.times[-1] - b.times[0]))
    x = np.r_[m.trajectories.ravel(), m.side_effect, np.log(m.tie_param)]
    grad = fit_mod.evaluate(st, hy, hy.kappa(st.gaps), x)[1]
    assert np.max(np.abs(grad)) < 1e-6


# -- state, reads and parameters --------------------------------------------------------------
def test_state_round_trip_with_times_is_exact() -> None:
    left, right, out, day, _ = drifting(8, n=6, m=300)
    m = create_model("time-bt", n_items=6).fit(left, right, out, context=VoteContext(time=day))
    m.update(0, 1, 1.0, context=VoteContext(time=35.0))
    for codec in (msgspec.json, msgspec.msgpack):
        back = TimeBT.from_state(codec.decode(codec.encode(m.state()), type=ModelState))
        assert codec.encode(back.state()) == codec.encode(m.state())
        for model in (m, back):
            model.update([2, 3], [4, 5], [0.0, 0.5], context=VoteContext(time=[36.0, np.nan]))
        np.testing.assert_array_equal(back.trajectories, m.trajectories)
        np.testing.assert_array_equal(back.bucket_times, m.bucket_times)
        np.testing.assert_array_equal(back.intervals(0.9)[0], m.intervals(0.9)[0])
        np.testing.assert_array_equal(back.sample_scores(4, seed=1), m.sample_scores(4, seed=1))
        ctx = VoteContext(time=[3.0, 50.0])
        np.testing.assert_array_equal(
            back.predict([0, 1], [2, 3], context=ctx), m.predict([0, 1], [2, 3], context=ctx)
        )
        assert back.fitted_drift == m.fitted_drift


def test_joint_draws_have_the_laplace_covariance() -> None:
    left, right, out, day, _ = drifting(9, n=5, m=400)
    m = create_model("time-bt", n_items=5).fit(left, right, out, context=VoteContext(time=day))
    draws = m.sample_scores(20_000, seed=0)
    np.testing.assert_allclose(draws.var(axis=0), m.posterior().var, rtol=0.05)
    lo, hi = m.intervals(0.95)
    np.testing.assert_allclose(hi - lo, 2 * 1.959964 * np.sqrt(m.posterior().var), rtol=1e-6)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"drift": -1.0}, "drift"),
        ({"drift": "fast"}, "drift"),
        ({"prior_strength": 0.0}, "prior_strength"),
        ({"bucket_width": 0.0}, "bucket_width"),
        ({"side_advantage": "yes"}, "side_advantage"),
        ({"ties": "rao"}, "ties"),
    ],
)
def test_bad_params_name_the_parameter(params: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        create_model("time-bt", n_items=3, **params).fit([0], [1], [1.0])


@pytest.mark.parametrize(
    ("time", "match"),
    [([1.0, 2.0], "one entry per vote"), ([np.inf], "finite"), (["monday"], "numbers")],
)
def test_bad_times_are_refused_and_change_nothing(time: Any, match: str) -> None:
    m = create_model("time-bt", n_items=3).fit([0, 1], [1, 2], [1.0, 0.0])
    wire = msgspec.msgpack.encode(m.state())
    with pytest.raises(ValueError, match=match):
        m.update([0], [2], [1.0], context=VoteContext(time=time))
    assert msgspec.msgpack.encode(m.state()) == wire


def test_module_doctests() -> None:
    result = doctest.testmod(algorithms.time_bt)
    assert result.attempted > 0 and result.failed == 0


def test_docs_example_runs() -> None:
    """The code block of the time-bt section of docs/models.md executes."""
    text = (Path(__file__).resolve().parent.parent / "docs" / "models.md").read_text()
    start = text.index("## Time-aware BT (time-bt)")
    mine = text[start : text.index("\n## ", start + 1)]
    blocks = re.findall(r"```python\n(.*?)```", mine, flags=re.S)
    assert blocks
    namespace: dict[str, Any] = {}
    for block in blocks:
        exec(block, namespace)
    model, p = namespace["model"], namespace["p"]
    assert model.fitted_drift > 0.0
    assert np.argmax(model.scores()) == 2 and np.argmax(model.scores_at(0.0)) == 0
    assert p[0] > 0.5 > p[1]
