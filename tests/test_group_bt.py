"""``group-bt``: per-group scores as shrunken deviations from the overall score.

The generic model contract (state, invariances, bad votes, reads) runs in
``tests/test_model_contract.py``; here: the group-specific behaviour on synthetic data whose
truth is known, the statistical properties the dashboard relies on (credible differences are
found, intervals cover, identical groups raise no flags, small groups shrink), and the exact
equivalence with ``bt`` when no vote has a group.
"""

from __future__ import annotations

import doctest
from typing import Any

import msgspec
import numpy as np
import pytest
import scipy.special
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from algorithms import MODELS, BTModel, GroupBT, ModelState, VoteContext, create_model
from algorithms.group_bt import SPREAD_GRID


def grouped_votes(
    seed: int,
    dev: np.ndarray[Any, Any],
    per_group: tuple[int, ...],
    n: int | None = None,
    ties: float = 0.0,
) -> tuple[Any, Any, Any, Any, np.ndarray[Any, Any]]:
    """Votes of ``len(per_group)`` groups whose true scores are ``s + dev[g]``, ``s ~ N(0, 1)``.

    Returns ``left, right, outcome, group, truth`` (``truth[g]`` the group's true scores).
    """
    rng = np.random.default_rng(seed)
    n = dev.shape[1] if n is None else n
    s = rng.normal(0.0, 1.0, n)
    truth = s + dev
    parts = []
    for g, m in enumerate(per_group):
        left = rng.integers(0, n, m)
        right = (left + rng.integers(1, n, m)) % n
        p = scipy.special.expit(truth[g, left] - truth[g, right])
        out = (rng.random(m) < p).astype(float)
        out[rng.random(m) < ties] = 0.5
        parts.append((left, right, out, np.full(m, g)))
    left, right, out, group = (np.concatenate(x) for x in zip(*parts, strict=True))
    return left, right, out, group, truth


def fit(left: Any, right: Any, out: Any, group: Any, **params: Any) -> GroupBT:
    model = create_model("group-bt", n_items=int(max(left.max(), right.max())) + 1, **params)
    assert isinstance(model, GroupBT)
    return model.fit(left, right, out, context=VoteContext(group=group))


def test_registered_and_reads_the_group() -> None:
    assert MODELS["group-bt"] is GroupBT
    assert GroupBT.uses == frozenset({"group"})


# -- no groups: exactly bt -------------------------------------------------------------------
@pytest.mark.parametrize("ties", [0.0, 0.15])
def test_without_groups_it_is_bt(ties: float) -> None:
    left, right, out, _, _ = grouped_votes(0, np.zeros((1, 12)), (400,), ties=ties)
    bt = BTModel(n_items=12).fit(left, right, out)
    for context, exact_max in ((None, 1000), (VoteContext(group=np.full(left.size, -1)), 0)):
        m = GroupBT(n_items=12, exact_max=exact_max).fit(left, right, out, context=context)
        np.testing.assert_allclose(m.scores(), bt.scores(), atol=1e-12)
        np.testing.assert_allclose(m.intervals(0.9), bt.intervals(0.9), rtol=1e-12)
        np.testing.assert_allclose(m.posterior().var, bt.posterior().var, rtol=1e-12)
        np.testing.assert_allclose(m.predict(left, right), bt.predict(left, right), atol=1e-12)
        np.testing.assert_array_equal(m.sample_scores(5, seed=1), bt.sample_scores(5, seed=1))
        assert m.spread == 0.0
        np.testing.assert_array_equal(m.group_scores(0), m.scores())


def test_one_group_alone_is_bt_too() -> None:
    """A single source of votes cannot tell groups apart: sigma is 0, scores are bt's."""
    left, right, out, group, _ = grouped_votes(1, np.zeros((1, 10)), (300,))
    m = fit(left, right, out, group)
    bt = BTModel(n_items=10).fit(left, right, out)
    assert m.spread == 0.0
    np.testing.assert_allclose(m.group_scores(0), bt.scores(), atol=1e-12)
    assert not m.group_difference(0, -1).credible.any()


def test_fixed_zero_spread_pools_the_groups() -> None:
    dev = np.zeros((2, 10))
    dev[1] = np.linspace(-2, 2, 10)
    left, right, out, group, _ = grouped_votes(2, dev, (300, 300))
    m = fit(left, right, out, group, group_spread=0.0)
    bt = BTModel(n_items=10).fit(left, right, out)
    np.testing.assert_allclose(m.scores(), bt.scores(), atol=1e-12)
    np.testing.assert_allclose(m.group_scores(1), bt.scores(), atol=1e-12)


# -- what the dashboard relies on ---------------------------------------------------------------
def test_finds_the_items_where_one_group_differs() -> None:
    """Group 2 ranks six of 30 items 1.5 higher or lower; everything else is shared."""
    n = 30
    dev = np.zeros((3, n))
    dev[2, [1, 5, 9]] = 1.5
    dev[2, [3, 7, 11]] = -1.5
    hits = flags = nulls = 0
    for seed in range(3):
        left, right, out, group, truth = grouped_votes(10 + seed, dev, (2500, 2500, 2500))
        m = fit(left, right, out, group)
        assert 0.2 < m.spread < 1.5
        for g, h in ((2, 0), (2, 1), (0, 1)):
            res = m.group_difference(g, h, level=0.95)
            real = truth[g] != truth[h]
            hits += int(res.credible[real].sum())
            flags += int(res.credible[~real].sum())
            nulls += int((~real).sum())
            # every real difference flagged has the true sign
            true_diff = truth[g] - truth[h]
            found = res.credible & real
            assert np.all(np.sign(res.diff[found]) == np.sign(true_diff[found]))
            assert np.all(res.prob_positive[res.credible & (res.diff > 0)] > 0.975)
    assert hits >= 0.9 * 3 * 2 * 6  # the real differences are found
    assert flags <= 0.05 * nulls  # and few others are flagged


def test_intervals_cover_when_the_deviations_are_as_modelled() -> None:
    """Deviations drawn from the model's own prior: 90% intervals of group scores and of
    group differences cover the truth about 90% of the time (pooled over seeds)."""
    n, level = 25, 0.9
    cover_t, cover_d, total_t, total_d = 0, 0, 0, 0
    for seed in range(6):
        rng = np.random.default_rng(100 + seed)
        dev = rng.normal(0.0, 0.6, (3, n))
        left, right, out, group, truth = grouped_votes(200 + seed, dev, (1500, 800, 300))
        m = fit(left, right, out, group)
        for g in range(3):
            # the common level is identified by the priors, and the intervals know it
            lo, hi = m.group_intervals(g, level)
            cover_t += int(np.sum((lo <= truth[g]) & (truth[g] <= hi)))
            total_t += n
        for g, h in ((0, 1), (0, 2), (1, 2)):
            res = m.group_difference(g, h, level)
            true_diff = truth[g] - truth[h]
            cover_d += int(np.sum((res.low <= true_diff) & (true_diff <= res.high)))
            total_d += n
    assert 0.84 <= cover_t / total_t <= 0.97
    assert 0.84 <= cover_d / total_d <= 0.97


def test_identical_groups_shrink_and_raise_no_flags() -> None:
    """Groups that agree: their differences shrink far below those of separate fits per
    group (a few tenths at most), and almost none is flagged credible."""
    n = 20
    flags = total = 0
    for seed in range(5):
        left, right, out, group, _ = grouped_votes(300 + seed, np.zeros((3, n)), (1000, 600, 200))
        m = fit(left, right, out, group)
        assert m.spread < 0.25
        alone = [
            BTModel(n_items=n, prior_strength=m.fitted_prior_strength)
            .fit(left[group == g], right[group == g], out[group == g])
            .scores()
            for g in range(3)
        ]
        for g, h in ((0, 1), (0, 2), (1, 2)):
            res = m.group_difference(g, h, level=0.95)
            sep = alone[g] - alone[h]
            sep -= sep.mean()
            assert np.max(np.abs(res.diff)) < 0.4
            assert np.sqrt(np.mean(res.diff**2)) < 0.4 * np.sqrt(np.mean(sep**2))
            flags += int(res.credible.sum()) + int(m.group_difference(g, -1).credible.sum())
            total += 2 * n
    assert flags <= 0.05 * total


def test_a_small_group_stays_near_the_overall_ranking() -> None:
    """Two large groups agree; a third casts 25 votes. Its scores stay close to the overall
    ones (a separate bt fit on its votes alone would scatter), with wider intervals."""
    n = 20
    left, right, out, group, _ = grouped_votes(400, np.zeros((3, n)), (1500, 1500, 25))
    m = fit(left, right, out, group)
    small = group == 2
    alone = BTModel(n_items=n, prior_strength=m.fitted_prior_strength).fit(
        left[small], right[small], out[small]
    )
    dev = m.group_scores(2) - m.scores()
    assert np.max(np.abs(dev)) < 0.25 * np.max(np.abs(alone.scores() - m.scores()))
    w_small = np.subtract(*m.group_intervals(2)[::-1])
    w_big = np.subtract(*m.group_intervals(0)[::-1])
    assert np.all(w_small >= w_big)
    assert not m.group_difference(2, 0).credible.any()


def test_spread_follows_the_true_spread() -> None:
    n = 40
    fitted = []
    for sd in (0.0, 0.4, 1.2):
        dev = np.random.default_rng(7).normal(0.0, 1.0, (3, n)) * sd
        left, right, out, group, _ = grouped_votes(8, dev, (3000, 3000, 3000))
        fitted.append(fit(left, right, out, group).spread)
    assert fitted[0] < 0.15
    assert 0.25 < fitted[1] < 0.6
    assert 0.9 < fitted[2] < 1.6


# -- reads -----------------------------------------------------------------------------------------
def small_model(**params: Any) -> tuple[GroupBT, Any]:
    dev = np.zeros((3, 8))
    dev[1, :4] = 1.0
    dev[1, 4:] = -1.0
    votes = grouped_votes(5, dev, (300, 300, 60), ties=0.1)
    return fit(*votes[:4], **params), votes


def test_predict_uses_the_votes_group() -> None:
    m, (left, right, _, group, _) = small_model()
    p = m.predict(left, right, context=VoteContext(group=group))
    table = np.vstack([m.group_scores(g) for g in range(3)])
    np.testing.assert_allclose(p, scipy.special.expit(table[group, left] - table[group, right]))
    s = m.scores()
    overall = scipy.special.expit(s[left] - s[right])
    np.testing.assert_allclose(m.predict(left, right), overall)
    never_seen = VoteContext(group=np.full(left.shape[0], 7))
    np.testing.assert_allclose(m.predict(left, right, context=never_seen), overall)
    assert m.predict(0, 1, context=VoteContext(group=1)).shape == (1,)


def test_differences_intervals_and_unseen_groups() -> None:
    m, _ = small_model()
    d = m.group_difference(1, -1, level=0.9)
    np.testing.assert_allclose(d.diff, m.group_scores(1) - m.scores())
    assert np.all((d.low <= d.diff) & (d.diff <= d.high))
    assert np.all((d.prob_positive >= 0) & (d.prob_positive <= 1))
    lo, hi = m.group_intervals(1, 0.9)
    lo99, hi99 = m.group_intervals(1, 0.99)
    assert np.all(lo99 < lo) and np.all(hi < hi99)
    # a group without votes has the overall scores, with the deviation's prior added
    np.testing.assert_array_equal(m.group_scores(9), m.scores())
    lo9, hi9 = m.group_intervals(9, 0.9)
    olo, ohi = m.intervals(0.9)
    z = scipy.special.ndtri(0.95)
    np.testing.assert_allclose(
        ((hi9 - lo9) / (2 * z)) ** 2, ((ohi - olo) / (2 * z)) ** 2 + m.spread**2
    )
    same = m.group_difference(2, 2)
    assert not same.credible.any() and np.all(same.diff == 0)
    with pytest.raises(ValueError, match="group"):
        m.group_scores(-2)
    with pytest.raises(ValueError, match="other"):
        m.group_difference(0, 1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="level"):
        m.group_difference(0, 1, level=1.0)


def test_sample_scores_follow_the_joint_posterior() -> None:
    m, _ = small_model()
    draws = m.sample_scores(4000, seed=0)
    np.testing.assert_allclose(draws.mean(axis=0), m.scores(), atol=0.05)
    sd = (m.intervals(0.9)[1] - m.intervals(0.9)[0]) / (2 * scipy.special.ndtri(0.95))
    np.testing.assert_allclose(draws.std(axis=0), sd, rtol=0.06)


# -- updates and state -----------------------------------------------------------------------------
def test_update_in_batches_equals_fit() -> None:
    _, (left, right, out, group, _) = small_model()
    inc = GroupBT(n_items=8)
    for part in np.array_split(np.arange(left.shape[0]), 4):
        inc.update(left[part], right[part], out[part], context=VoteContext(group=group[part]))
    inc.update(0, 1, 1.0, context=VoteContext(group=2))
    ref = GroupBT(n_items=8).fit(
        np.append(left, 0), np.append(right, 1), np.append(out, 1.0),
        context=VoteContext(group=np.append(group, 2)),
    )  # fmt: skip
    assert inc.n_votes == ref.n_votes and inc.n_groups == ref.n_groups == 3
    np.testing.assert_allclose(inc.spread, ref.spread, rtol=1e-4)
    for g in (-1, 0, 1, 2):
        np.testing.assert_allclose(inc.group_scores(g), ref.group_scores(g), atol=1e-5)


@pytest.mark.parametrize("codec", [msgspec.json, msgspec.msgpack], ids=["json", "msgpack"])
def test_state_round_trip_with_groups_is_exact(codec: Any) -> None:
    m, (left, right, out, group, _) = small_model()
    m.update(left[:5], right[:5], out[:5], context=VoteContext(group=group[:5]))  # stale
    back = GroupBT.from_state(codec.decode(codec.encode(m.state()), type=ModelState))
    for a in (m, back):
        a.update(0, 3, 1.0, context=VoteContext(group=3))  # a new group
        a.add_items(1)
        a.update(8, 0, 1.0, context=VoteContext(group=0))
    for g in (-1, 0, 1, 2, 3):
        np.testing.assert_array_equal(m.group_scores(g), back.group_scores(g))
        np.testing.assert_array_equal(m.group_intervals(g)[0], back.group_intervals(g)[0])
    np.testing.assert_array_equal(m.group_difference(1, 0).low, back.group_difference(1, 0).low)
    assert m.spread == back.spread and m.n_groups == back.n_groups == 4
    assert codec.encode(m.state()) == codec.encode(back.state())


BAD_GROUPS = [
    (np.array([0, -2]), ">= -1"),
    (np.array([0, 1, 2]), "one entry per vote"),
    (np.array([0.5, 1.0]), "integer"),
]


@pytest.mark.parametrize(("group", "match"), BAD_GROUPS)
def test_bad_groups_raise_and_change_nothing(group: Any, match: str) -> None:
    m, _ = small_model()
    wire = msgspec.msgpack.encode(m.state())
    with pytest.raises(ValueError, match=match):
        m.update([0, 1], [1, 2], [1.0, 0.0], context=VoteContext(group=group))
    assert msgspec.msgpack.encode(m.state()) == wire
    with pytest.raises(ValueError, match=match):
        GroupBT(n_items=3).fit([0, 1], [1, 2], [1.0, 0.0], context=VoteContext(group=group))


@pytest.mark.parametrize(
    "params",
    [
        {"group_spread": -1.0},
        {"group_spread": float("inf")},
        {"prior_strength": 0.0},
        {"prior_strength": "tuned"},
        {"ties": "rao"},
        {"side_advantage": "yes"},
        {"exact_max": -1},
    ],
)
def test_bad_params_name_the_parameter(params: dict[str, Any]) -> None:
    (key,) = params
    with pytest.raises(ValueError, match=key):
        GroupBT(n_items=3, **params).fit([0], [1], [1.0])


vote_lists = st.lists(
    st.tuples(
        st.integers(0, 5),
        st.integers(1, 5),
        st.sampled_from([0.0, 0.5, 1.0]),
        st.integers(-1, 2),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=vote_lists, exact_max=st.sampled_from([0, 1000]))
def test_property_any_grouped_votes_fit_and_round_trip(
    raw: list[tuple[int, int, float, int]], exact_max: int
) -> None:
    left = np.array([a for a, _, _, _ in raw])
    right = (left + np.array([b for _, b, _, _ in raw])) % 6
    out = np.array([y for _, _, y, _ in raw])
    group = np.array([g for _, _, _, g in raw])
    m = GroupBT(n_items=6, exact_max=exact_max)
    m.update(left, right, out, context=VoteContext(group=group))
    back = GroupBT.from_state(msgspec.json.decode(msgspec.json.encode(m.state()), type=ModelState))
    for g in (-1, 0, 1, 2, 5):
        s = m.group_scores(g)
        lo, hi = m.group_intervals(g, 0.95)
        assert np.isfinite(s).all() and np.all(lo <= s) and np.all(s <= hi)
        np.testing.assert_array_equal(back.group_scores(g), s)
        d = m.group_difference(g, 0)
        assert np.all(d.low <= d.diff) and np.all(d.diff <= d.high)
    assert 0.0 <= m.spread <= max(SPREAD_GRID)
    p = m.predict(left, right, context=VoteContext(group=group))
    assert np.all((p > 0) & (p < 1))


# -- the large-problem path ------------------------------------------------------------------------
def test_block_approximations_agree_with_the_exact_path() -> None:
    """Above ``exact_max`` parameters: Newton-CG, and evidence and covariances from the
    per-item blocks. Same MAP; close spread and intervals on a well-connected graph."""
    dev = np.random.default_rng(3).normal(0.0, 0.5, (3, 40))
    left, right, out, group, _ = grouped_votes(9, dev, (4000, 3000, 2000), ties=0.05)
    exact = fit(left, right, out, group)
    approx = fit(left, right, out, group, exact_max=0)
    assert approx.spread == pytest.approx(exact.spread, rel=0.15)
    fixed = {"group_spread": exact.spread}
    a, b = fit(left, right, out, group, **fixed), fit(left, right, out, group, exact_max=0, **fixed)
    for g in (-1, 0, 2):
        np.testing.assert_allclose(b.group_scores(g), a.group_scores(g), atol=1e-5)
        wa = np.subtract(*a.group_intervals(g)[::-1])
        wb = np.subtract(*b.group_intervals(g)[::-1])
        np.testing.assert_allclose(wb, wa, rtol=0.15)
    da, db = a.group_difference(2, 0), b.group_difference(2, 0)
    np.testing.assert_allclose(db.high - db.low, da.high - da.low, rtol=0.15)


def test_module_doctests() -> None:
    import algorithms.group_bt

    result = doctest.testmod(algorithms.group_bt)
    assert result.attempted > 0 and result.failed == 0


def test_docs_example_runs() -> None:
    """The code block of the group-bt section of docs/models.md executes."""
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "models.md").read_text()
    start = text.index("## Group-aware BT (group-bt)")
    mine = text[start : text.index("\n## ", start + 1)]
    blocks = re.findall(r"```python\n(.*?)```", mine, flags=re.S)
    assert blocks
    namespace: dict[str, Any] = {}
    for block in blocks:
        exec(block, namespace)
    assert namespace["model"].n_votes == 2000
    assert namespace["diff"].credible.tolist() == [True, False, False, False]


@pytest.mark.parametrize("exact_max", [400, 10])
def test_group_draws_match_the_group_scores_and_their_sd(exact_max: int) -> None:
    """``sample_group_scores`` draws around ``group_scores`` with sd ``group_sd`` (the sd the
    intervals use), on the exact path and the block approximation; a group never seen and a
    group with no deviations draw the overall scores' distribution."""
    rng = np.random.default_rng(5)
    dev = rng.normal(0.0, 0.8, (2, 8))
    left, right, out, group, _ = grouped_votes(6, dev, (400, 60))
    m = fit(left, right, out, group, exact_max=exact_max)
    assert m.spread > 0
    for g in (0, 1, 7, -1):
        draws = m.sample_group_scores(g, 4000, seed=1)
        assert draws.shape == (4000, 8)
        sd = m.group_sd(g)
        np.testing.assert_allclose(draws.mean(axis=0), m.group_scores(g), atol=4 * sd.max() / 60)
        np.testing.assert_allclose(draws.std(axis=0), sd, rtol=0.1)
        lo, hi = m.group_intervals(g, 0.9)
        np.testing.assert_allclose(hi - lo, 2 * 1.6448536 * sd, rtol=1e-6)
    np.testing.assert_array_equal(
        m.sample_group_scores(1, 5, seed=3), m.sample_group_scores(1, 5, seed=3)
    )
    flat = fit(left, right, out, group, group_spread=0.0)
    np.testing.assert_array_equal(flat.sample_group_scores(1, 5, 2), flat.sample_scores(5, 2))
