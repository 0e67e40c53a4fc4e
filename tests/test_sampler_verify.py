"""Verification pairs (:mod:`algorithms.samplers.verify`): the running evidence, whom it probes,
with what, and that the reported selection probabilities stay exact."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
from scipy.special import expit

from algorithms import create_model, create_sampler
from algorithms.samplers import sampler_from_state, verify
from algorithms.samplers.base import PickContext
from algorithms.samplers.gain import AdaptiveSampler
from algorithms.samplers.types import norm_pair

N = 12
TRUTH = np.linspace(-3.0, 3.0, N)


def _trained(**params: float) -> AdaptiveSampler:
    """A sampler whose own posterior knows a wide spread of scores (2,000 anonymous votes)."""
    s = create_sampler("adaptive", seed=0, **params)
    assert isinstance(s, AdaptiveSampler)
    rng = np.random.default_rng(0)
    for _ in range(2000):
        i, j = rng.choice(N, 2, replace=False)
        s.observe(int(i), int(j), float(rng.random() < expit(TRUTH[i] - TRUTH[j])))
    return s


def _p(s: AdaptiveSampler, i: int, j: int) -> float:
    """The sampler's predictive probability that ``i`` beats ``j``."""
    v = s.guide_var[i] + s.guide_var[j]
    return float(expit((s.guide_mean[i] - s.guide_mean[j]) / math.sqrt(1 + math.pi / 8 * v)))


def test_the_thresholds_are_walds_for_the_stated_error_rates() -> None:
    assert math.isclose(verify.HUMAN, math.log(0.99 / 0.2))
    assert math.isclose(verify.COIN, -math.log(0.8 / 0.01))


def test_evidence_is_the_log_likelihood_ratio_under_the_posterior_before_the_answer() -> None:
    s = _trained()
    want = math.log(2 * _p(s, 0, 11)) + math.log(2 * (1 - _p(s, 3, 4)))
    s.observe(0, 11, 1.0, voter="ann")  # the left idea wins
    s.observe(3, 4, 0.0, voter="ann")  # the right idea wins
    s.observe(5, 6, 0.5, voter="ann")  # a tie is no evidence
    s.observe(7, 8, None, voter="ann")  # nor is a skip
    n, lr = s.evidence["ann"]
    assert n == 2 and lr == pytest.approx(want, abs=1e-9)
    assert lr < 0  # choosing the much weaker idea 0 over 11 is what a coin does


def test_only_undecided_voters_past_verify_from_are_probed() -> None:
    s = _trained(verify=0.5, verify_from=3)
    s.evidence.update(
        {"new": (2, 0.0), "open": (3, 0.0), "person": (30, verify.HUMAN), "coin": (30, -5.0)}
    )
    assert [s.undecided(v) for v in ("new", "open", "person", "coin", None)] == [
        *(False, True, False, False, False)
    ]
    ctx = PickContext(N, None, N, s._posterior(create_model("bt-online", n_items=N), N), None, None)
    base = s.share(ctx)
    ctx.voter = "open"
    assert s.share(ctx) == 0.5 > base
    ctx.voter = "person"
    assert s.share(ctx) == base
    s.set_verify(0.0)  # switched off
    ctx.voter = "open"
    assert s.share(ctx) == base


def _clear_share(s: AdaptiveSampler, voter: str, picks: int) -> float:
    model = create_model("bt-online", n_items=N)
    clear = 0
    for _ in range(picks):
        i, j = s.next_pair(model, voter=voter)
        clear += max(_p(s, i, j), 1 - _p(s, i, j)) >= 0.85
        s.seen.pop(voter, None)  # the same voter, fresh: repeats are not the point here
    return clear / picks


def test_an_undecided_voter_is_shown_clear_pairs() -> None:
    off, on = _trained(), _trained(verify=1.0, verify_from=0)
    on.evidence["v"] = off.evidence["v"] = (25, 0.0)
    # every pick an exploration pair: an idea and the one nearest 2.4 from it (p = 0.92, less
    # for the middle ideas, whose partners are nearer)
    was, now = _clear_share(off, "v", 200), _clear_share(on, "v", 200)
    assert was < 0.15 and now > 0.6


def test_probes_respect_the_voters_seen_pairs_and_exclusions() -> None:
    s = _trained(verify=1.0, verify_from=0)
    model = create_model("bt-online", n_items=N)
    held = {(0, 11)}
    seen: set[tuple[int, int]] = set()
    for _ in range(40):
        pair = s.next_pair(model, voter="v", exclude=held)
        key = norm_pair(*pair)
        assert key not in held and key not in seen
        seen.add(key)
        s.observe(pair[0], pair[1], float(np.random.default_rng(len(seen)).random() < 0.5), "v")


def test_probabilities_stay_exact_for_a_probed_voter() -> None:
    s = _trained(verify=0.6, verify_from=0, floor=0)
    s.evidence["v"] = (25, 0.0)
    model = create_model("bt-online", n_items=N)
    ctx = PickContext(N, None, N, s._posterior(model, N), None, None, "v")
    e = s.share(ctx)
    assert e == 0.6
    want: dict[tuple[int, int], float] = {}
    g = s._greedy_pick(ctx)
    assert g is not None
    want[norm_pair(*g)] = 1.0 - e
    for i in range(N):
        j = s._scale_partner(i, ctx)
        assert j is not None
        want[norm_pair(i, j)] = want.get(norm_pair(i, j), 0.0) + e / N
    freq: dict[tuple[int, int], int] = {}
    for _ in range(300):
        pair = s.next_pair(model, voter="v")
        key = norm_pair(*pair)
        assert pair.probability == pytest.approx(want[key], abs=1e-12)
        freq[key] = freq.get(key, 0) + 1
        s.seen.pop("v", None)
    for key, c in freq.items():
        assert abs(c / 300 - want[key]) < 0.08


def test_evidence_round_trips_with_the_state_and_settle_takes_the_parameters() -> None:
    s = create_sampler("settle", seed=0, k=3, verify=0.5, verify_from=5)
    s.observe(0, 1, 1.0, voter="ann")
    s.observe(1, 2, 0.0, voter=7)
    back = sampler_from_state(s.state())
    assert isinstance(s, AdaptiveSampler) and isinstance(back, AdaptiveSampler)
    assert back.get_params() == s.get_params()
    assert back.evidence == s.evidence and set(back.evidence) == {"ann", 7}


@pytest.mark.parametrize("bad", [{"verify": -0.1}, {"verify": 1.5}, {"verify_from": -1}])
def test_parameters_are_checked(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        create_sampler("adaptive", **bad)


def test_doctests() -> None:
    assert doctest.testmod(verify).failed == 0
