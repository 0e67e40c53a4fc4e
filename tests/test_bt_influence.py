"""Bounded influence in ``bt``: one voter weighs at most ``influence_cap`` answers per item."""

from __future__ import annotations

import numpy as np
import pytest

from algorithms import BTModel, create_model
from algorithms._bt_influence import influence_weights


def _honest(seed: int, n: int = 20, voters: int = 60, each: int = 15) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    s = np.linspace(1.0, -1.0, n)
    left = rng.integers(0, n, voters * each)
    right = (left + rng.integers(1, n, left.size)) % n
    y = (rng.random(left.size) < 1 / (1 + np.exp(-(s[left] - s[right])))).astype(float)
    voter = np.repeat(np.arange(voters), each)
    return left, right, y, voter


def own_cap(voter: np.ndarray, left: np.ndarray, right: np.ndarray, v: int, cap: float) -> float:
    """``max(cap, 2 T_v / k_v)``: the cap, or the voter's fair share if that is more."""
    mine = voter == v
    k = np.unique(np.concatenate([left[mine], right[mine]])).size
    return max(cap, 2.0 * float(np.sum(mine)) / k)


def test_weights_cap_each_voters_total_on_each_item() -> None:
    rng = np.random.default_rng(0)
    voter = rng.integers(0, 4, 400)
    left = rng.integers(0, 40, 400)
    right = (left + rng.integers(1, 40, 400)) % 40
    left[:60], voter[:60] = 7, 0  # voter 0 piles 60 answers on item 7
    w = influence_weights(voter, left, right, n=40, cap=5.0)
    assert w is not None and ((w > 0) & (w <= 1)).all()
    for v in range(4):
        for i in range(40):
            on_i = (voter == v) & ((left == i) | (right == i))
            assert w[on_i].sum() <= own_cap(voter, left, right, v, 5.0) + 1e-9
    on_7 = (voter == 0) & ((left == 7) | (right == 7))
    assert w[on_7].sum() == pytest.approx(own_cap(voter, left, right, 0, 5.0))  # all of it, no more
    # nobody past the cap, or no voter known: no weights at all (the unit fast path)
    assert influence_weights(np.arange(5), np.zeros(5, int), np.ones(5, int), 2, 5.0) is None
    assert influence_weights(np.full(9, -1), np.zeros(9, int), np.ones(9, int), 2, 5.0) is None


def test_with_outcomes_the_cap_bounds_each_voters_push_for_and_against_each_item() -> None:
    rng = np.random.default_rng(1)
    voter = rng.integers(0, 4, 600)
    left = rng.integers(0, 60, 600)
    right = (left + rng.integers(1, 60, 600)) % 60
    y = rng.choice([0.0, 0.5, 1.0], 600)
    w = influence_weights(voter, left, right, n=60, cap=5.0, out=y)
    assert w is not None and ((w > 0) & (w <= 1)).all()
    winner = np.where(y > 0.5, left, right)
    loser = np.where(y > 0.5, right, left)
    for v in range(4):
        c = own_cap(voter, left, right, v, 5.0)
        for i in range(60):
            mine = voter == v
            tied = (y == 0.5) & ((left == i) | (right == i))  # a tie counts for both
            up = mine & ((winner == i) & (y != 0.5) | tied)
            down = mine & (loser == i) & (y != 0.5)
            assert w[up].sum() <= c + 1e-9 and w[down].sum() <= c + 1e-9
    # a voter who picks an item 3 times and passes it over 3 times is within a cap of 3
    six = np.zeros(6, int), np.array([1, 2, 3, 4, 5, 1]), np.array([1, 1, 1, 0, 0, 0.0])
    assert influence_weights(six[0], six[0], six[1], n=6, cap=3.0, out=six[2]) is None
    w6 = influence_weights(six[0], six[0], six[1], n=6, cap=3.0)  # without outcomes: 6 on item 0
    assert w6 is not None and np.allclose(w6, 0.5)


def test_a_panel_member_who_answers_every_pair_is_not_capped() -> None:
    # 6 ideas, every pair once, the same order every time: the best wins 5 times per voter
    pairs = [(i, j) for i in range(6) for j in range(i + 1, 6)]
    left = np.array([p[0] for p in pairs] * 4)
    right = np.array([p[1] for p in pairs] * 4)
    voter = np.repeat(np.arange(4), len(pairs))
    assert influence_weights(voter, left, right, n=6, cap=3.0, out=np.ones(60)) is None
    # the same 5 wins for idea 0, given by a voter who answers nothing else, are capped
    alone = influence_weights(np.zeros(5, int), np.zeros(5, int), np.arange(1, 6), 6, 3.0,
                              out=np.ones(5))  # fmt: skip
    assert alone is not None and np.allclose(alone, 3.0 / 5.0)


def test_one_harvester_cannot_lift_a_weak_item_far() -> None:
    left, right, y, voter = _honest(2)
    target, n = 15, 20  # a weak item
    others = np.array([j for j in range(n) if j != target])
    # one voter answers every pair with the target, always for the target
    hl = np.full(others.size, target)
    all_l, all_r = np.concatenate([left, hl]), np.concatenate([right, others])
    all_y = np.concatenate([y, np.ones(others.size)])
    all_v = np.concatenate([voter, np.full(others.size, 999)])

    def rank(model: BTModel, lt: np.ndarray, rt: np.ndarray, yy: np.ndarray, vv: np.ndarray) -> int:
        model.fit(lt, rt, yy, voter=vv)
        return int((model.scores() > model.scores()[target]).sum())

    clean = rank(BTModel(n, influence_cap=5), left, right, y, voter)
    capped = rank(BTModel(n, influence_cap=5), all_l, all_r, all_y, all_v)
    uncapped = rank(BTModel(n), all_l, all_r, all_y, all_v)
    assert uncapped <= clean - 3  # without the cap the harvester lifts it by several places
    assert abs(capped - clean) <= 1


def test_online_updates_equal_a_fit_and_the_state_round_trips() -> None:
    left, right, y, voter = _honest(2, voters=10, each=40)
    online = BTModel(20, influence_cap=3)
    for a, b, o, v in zip(left.tolist(), right.tolist(), y.tolist(), voter.tolist(), strict=True):
        online.update(a, b, float(o), voter=v)
    batch = BTModel(20, influence_cap=3).fit(left, right, y, voter=voter)
    np.testing.assert_allclose(online.scores(), batch.scores(), atol=1e-6)
    again = BTModel.from_state(online.state())
    assert again.get_params()["influence_cap"] == 3
    np.testing.assert_array_equal(again.scores(), online.scores())
    # weights shrink the evidence of a voter past the cap: wider intervals than unweighted
    # (in all: an item's own variance may shrink a little where its score moved to a
    # closer, more informative place)
    plain = BTModel(20).fit(left, right, y)
    assert batch.posterior().var.sum() > plain.posterior().var.sum()


def test_without_a_cap_nothing_changes_and_bad_caps_are_refused() -> None:
    left, right, y, voter = _honest(3)
    a = BTModel(20).fit(left, right, y, voter=voter)
    b = BTModel(20).fit(left, right, y)
    np.testing.assert_array_equal(a.scores(), b.scores())
    assert "influence_cap" not in a.get_params()
    for bad in (0, -1.0, float("inf"), True, "5"):
        with pytest.raises(ValueError, match="influence_cap"):
            _ = create_model("bt", n_items=2, influence_cap=bad).n_items  # checked on first use
