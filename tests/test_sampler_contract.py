"""Contract tests run over every registered sampler (the invariants of issue 3)."""

from __future__ import annotations

import itertools

import msgspec
import numpy as np
import pytest

from algorithms import SAMPLERS, PairwiseModel, SamplerState, create_model, create_sampler
from algorithms.samplers import Sampler, sampler_from_state

NAMES = sorted(SAMPLERS)
# Picks within which an item added mid-survey must be shown. Samplers with an exposure
# floor or a variance-driven first item show it at once; `random` only by chance
# (P(not shown in 100 picks of 9 items) = (1 - 2/9)^100 < 1e-10).
NEW_ITEM_BOUND = {"random": 100, "adaptive": 3}


def _model(n: int) -> PairwiseModel:
    return create_model("bt-online", n_items=n)


def _truth(n: int) -> np.ndarray:
    return np.linspace(-2.0, 2.0, n)


def _vote(model: PairwiseModel, sampler: Sampler, pair: tuple[int, int], rng, voter=None) -> None:
    s = _truth(model.n_items)
    i, j = pair
    y = float(rng.random() < 1.0 / (1.0 + np.exp(-(s[i] - s[j]))))
    model.update(i, j, y)
    sampler.observe(i, j, y, voter=voter)


@pytest.mark.parametrize("name", NAMES)
def test_two_distinct_items_in_range(name: str) -> None:
    model, sampler, rng = _model(12), create_sampler(name, seed=3), np.random.default_rng(0)
    for _ in range(60):
        pair = sampler.next_pair(model)
        i, j = pair
        assert isinstance(i, int) and isinstance(j, int)
        assert i != j and 0 <= i < 12 and 0 <= j < 12
        assert pair.probability is None or 0.0 < pair.probability <= 1.0
        _vote(model, sampler, pair, rng)


def _run(name: str, seed: int, picks: int) -> list[tuple[int, int]]:
    model, sampler, rng = _model(10), create_sampler(name, seed=seed), np.random.default_rng(1)
    out = []
    for t in range(picks):
        pair = sampler.next_pair(model, voter=t % 3)
        out.append(tuple(pair))
        _vote(model, sampler, pair, rng, voter=t % 3)
    return out


@pytest.mark.parametrize("name", NAMES)
def test_deterministic_under_a_seed(name: str) -> None:
    assert _run(name, 7, 40) == _run(name, 7, 40)


def test_seeds_differ_for_random() -> None:
    assert _run("random", 1, 20) != _run("random", 2, 20)


@pytest.mark.parametrize("name", NAMES)
def test_no_repeats_per_voter_while_avoidable(name: str) -> None:
    n = 6
    model, sampler, rng = _model(n), create_sampler(name, seed=0), np.random.default_rng(2)
    total = n * (n - 1) // 2
    seen: set[frozenset[int]] = set()
    for _ in range(total):
        pair = sampler.next_pair(model, voter="ann")
        key = frozenset(pair)
        assert key not in seen, f"{name} repeated {sorted(key)} with fresh pairs left"
        seen.add(key)
        _vote(model, sampler, pair, rng, voter="ann")
        # another voter's answers never block ann's pairs
        other = sampler.next_pair(model, voter=99)
        _vote(model, sampler, other, rng, voter=99)
    assert len(seen) == total
    # all pairs used up: repeats are allowed rather than an error
    i, j = sampler.next_pair(model, voter="ann")
    assert i != j


@pytest.mark.parametrize("name", NAMES)
def test_new_item_is_shown_within_a_bound(name: str) -> None:
    model, sampler, rng = _model(8), create_sampler(name, seed=4), np.random.default_rng(3)
    for _ in range(60):
        _vote(model, sampler, sampler.next_pair(model), rng)
    model.add_items(1)
    bound = NEW_ITEM_BOUND.get(name, 1)
    picks = []
    for _ in range(bound):
        pair = sampler.next_pair(model)
        picks.append(pair)
        if 8 in pair:
            break
        _vote(model, sampler, pair, rng)
    assert any(8 in p for p in picks), f"{name} did not show the new item within {bound} picks"


@pytest.mark.parametrize("name", NAMES)
def test_respects_active_and_exclude(name: str) -> None:
    n = 10
    model, sampler, rng = _model(n), create_sampler(name, seed=5), np.random.default_rng(4)
    active = np.zeros(n, dtype=bool)
    active[[1, 3, 4, 8]] = True
    exclude = {(1, 3), (8, 4)}
    allowed = {frozenset(p) for p in itertools.combinations([1, 3, 4, 8], 2)} - {
        frozenset(p) for p in exclude
    }
    shown = set()
    for _ in range(30):
        pair = sampler.next_pair(model, active=active, exclude=exclude)
        assert frozenset(pair) in allowed
        shown.add(frozenset(pair))
        _vote(model, sampler, pair, rng)
    assert shown  # at least one legal pair was produced every time


@pytest.mark.parametrize("name", NAMES)
def test_state_round_trip_is_exact(name: str) -> None:
    model, sampler, rng = _model(9), create_sampler(name, seed=6), np.random.default_rng(5)
    for t in range(25):
        _vote(model, sampler, sampler.next_pair(model, voter=["a", 2][t % 2]), rng, ["a", 2][t % 2])
    st = sampler.state()
    for codec in (msgspec.json, msgspec.msgpack):
        back = codec.decode(codec.encode(st), type=SamplerState)
        assert back == st
        clone = sampler_from_state(back)
        assert type(clone) is type(sampler)
        assert clone.state() == st
        # the clone behaves identically from here on (RNG included)
        probe = sampler_from_state(st)
        for t in range(10):
            v = ["a", 2][t % 2]
            assert tuple(clone.next_pair(model, voter=v)) == tuple(probe.next_pair(model, voter=v))


@pytest.mark.parametrize("name", NAMES)
def test_fewer_than_two_active_items_is_a_value_error(name: str) -> None:
    sampler = create_sampler(name, seed=0)
    with pytest.raises(ValueError, match="at least 2 active items"):
        sampler.next_pair(_model(1))
    with pytest.raises(ValueError, match="at least 2 active items"):
        sampler.next_pair(_model(5), active=np.array([0, 0, 1, 0, 0], dtype=bool))
    with pytest.raises(ValueError, match="active must be a boolean mask"):
        sampler.next_pair(_model(5), active=np.ones(4, dtype=bool))


@pytest.mark.parametrize("name", NAMES)
def test_every_pair_excluded_is_a_value_error(name: str) -> None:
    sampler = create_sampler(name, seed=0)
    with pytest.raises(ValueError, match="excluded"):
        sampler.next_pair(_model(3), exclude={(0, 1), (2, 1), (0, 2)})


@pytest.mark.parametrize("name", NAMES)
def test_observe_rejects_bad_votes_and_returns_none(name: str) -> None:
    sampler = create_sampler(name, seed=0)
    assert sampler.observe(0, 1, 1.0, voter="x") is None
    with pytest.raises(ValueError, match="itself"):
        sampler.observe(2, 2, 1.0)
    with pytest.raises(ValueError, match="outcome"):
        sampler.observe(0, 1, 2.0)
    with pytest.raises(ValueError, match="voter"):
        sampler.observe(0, 1, 1.0, voter=1.5)  # type: ignore[arg-type]


def test_unknown_sampler_and_bad_params_are_value_errors() -> None:
    with pytest.raises(ValueError, match="unknown sampler 'nope'"):
        create_sampler("nope")
    with pytest.raises(ValueError, match="k must be"):
        create_sampler("topk", k=0)
    with pytest.raises(ValueError, match="explore must be"):
        create_sampler("adaptive", explore=1.5)
    with pytest.raises(ValueError, match="seed"):
        create_sampler("random", seed=-1)
