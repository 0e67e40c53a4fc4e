"""When is a top ``k`` settled, and how many more votes until it is?

**The criterion** (an indifference zone, as in ranking-and-selection: Bechhofer 1954;
Kalyanakrishnan et al. 2012's PAC top-``k``). Let ``T`` be the current top ``k`` by
posterior mean, ``δ = logit(margin)`` (``margin`` 0.55: "preferred 55/45"), and ``L`` the
survey's level. From joint posterior draws of the scores, each idea ``i`` is

* **in** when ``P(i in the top k) ≥ L``; **out** when ``P(i in the top k) ≤ 1 - L``;
* otherwise **tied** (practically tied with the boundary) when the call does not matter
  at ``margin``: for ``i ∈ T``, ``P(max_{j ∉ T} s_j - s_i < δ) ≥ L`` (no idea left out is
  preferred to it by more than ``margin``); for ``j ∉ T``, ``P(s_j - min_{i ∈ T} s_i < δ)
  ≥ L`` (it is not preferred by more than ``margin`` to any idea kept in);
* otherwise **open**.

The top ``k`` is *settled* when no idea is open. Unlike "every boundary pair separated at
``L``", this is reachable: two ideas whose true preference is 50/50 are never separated,
but their difference is eventually known to be smaller than ``δ``.

**The whole order** (the tier structure) is settled when every two neighbouring places of
the posterior-mean order are either told apart (``P(s_a > s_b) ≥ L`` for the idea ``a`` at
place ``r`` and ``b`` at ``r + 1``) or practically tied (``P(|s_a - s_b| < δ) ≥ L``):
:func:`check_order`. It only ever asks of a border what the top-``k`` criterion asks of the
border at ``k``, pairwise, so it is reachable the same way; a chain of practically tied
neighbours is a group the votes will not separate meaningfully.

**The forecast** is a simulation from the current posterior with the survey's own sampler
(Bayesian predictive, no closed form): draw a plausible truth ``θ`` from the joint
posterior, continue the survey from its current votes with the sampler choosing pairs and
voters answering ``P(i beats j) = σ(θ_i - θ_j)``, check the criterion on a schedule, and
record the votes until it holds. Repeated over ``n_sims`` draws it gives a median and a
10-90 % interval. A run that has not settled by the horizon (or the deadline) is censored:
its value is only known to be larger.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit, logit

from algorithms.base import FloatArray, IntArray, PairwiseModel
from algorithms.samplers import Sampler
from algorithms.summaries import score_order

__all__ = [
    "APART",
    "BORDER_NAMES",
    "EVEN",
    "IN",
    "MARGIN",
    "OPEN",
    "OUT",
    "STATUS_NAMES",
    "TIED",
    "UNSURE",
    "Forecast",
    "OrderCheck",
    "SettleCheck",
    "check_draws",
    "check_model",
    "check_order",
    "forecast",
    "next_check",
]

IN, OUT, TIED, OPEN = 0, 1, 2, 3
STATUS_NAMES = ("in", "out", "tied", "open")
MARGIN = 0.55
"""Default indifference margin: ideas preferred by less than 55/45 are practically tied."""
N_SAMPLES = 1000
"""Joint posterior draws per check (Monte Carlo error of a 0.95 probability: ~0.007)."""


@dataclass(frozen=True)
class SettleCheck:
    """The criterion on one posterior, for the items it was given (index ``i`` is item ``i``
    of the subset checked)."""

    k: int
    level: float
    margin: float
    status: IntArray
    """:data:`IN`, :data:`OUT`, :data:`TIED` or :data:`OPEN` per item."""
    p_top: FloatArray
    """``P(item in the top k)`` per item."""
    in_top: NDArray[np.bool_]
    """Membership of the current top ``k`` by posterior mean."""

    @property
    def settled(self) -> bool:
        return not bool(np.any(self.status == OPEN))

    @property
    def decided(self) -> int:
        """Items whose place relative to the boundary is known (in, out or tied)."""
        return int(np.count_nonzero(self.status != OPEN))


#: Border statuses of :class:`OrderCheck`: told apart, practically tied, still open.
APART, EVEN, UNSURE = 0, 1, 2
BORDER_NAMES = ("apart", "tied", "open")


@dataclass(frozen=True)
class OrderCheck:
    """The whole order's criterion: one status per border between neighbouring places."""

    level: float
    margin: float
    order: IntArray
    """Items (indices of the subset checked) by posterior mean, best first."""
    status: IntArray
    """Per border ``r`` (between places ``r + 1`` and ``r + 2``, 1-based): :data:`APART`,
    :data:`EVEN` or :data:`UNSURE`; ``n - 1`` of them."""
    p_apart: FloatArray
    """``P(s_a > s_b)`` per border: the upper idea beats the lower one in the draws."""

    @property
    def settled(self) -> bool:
        return not bool(np.any(self.status == UNSURE))

    @property
    def decided(self) -> int:
        """Borders told apart or practically tied."""
        return int(np.count_nonzero(self.status != UNSURE))

    def places(self, status: int) -> list[int]:
        """The 1-based places ``r`` whose border with ``r + 1`` has ``status``."""
        return [int(r) + 1 for r in np.flatnonzero(self.status == status)]

    def runs(self, status: int) -> list[tuple[int, int]]:
        """Runs of places joined by borders of ``status``: ``(first, last)``, 1-based (open
        borders after places 4, 5 and 6 are the run ``(4, 7)``)."""
        out: list[tuple[int, int]] = []
        for r in self.places(status):
            if out and out[-1][1] == r:
                out[-1] = (out[-1][0], r + 1)
            else:
                out.append((r, r + 1))
        return out


def check_order(
    draws: FloatArray, mean: FloatArray, level: float = 0.95, margin: float = MARGIN
) -> OrderCheck:
    """The whole order's criterion from joint draws ``(m, n)`` and posterior means ``(n,)``.

    >>> rng = np.random.default_rng(0)
    >>> mean = np.array([3.0, 0.0, 0.01, 2.0])
    >>> c = check_order(mean + 0.01 * rng.standard_normal((500, 4)), mean)
    >>> [BORDER_NAMES[s] for s in c.status], c.settled, c.places(EVEN)
    (['apart', 'apart', 'tied'], True, [3])
    """
    _check_args(1, level, margin)
    order = score_order(mean)
    diff = draws[:, order[:-1]]  # upper minus lower, in place: one (m, n - 1) array
    diff -= draws[:, order[1:]]
    p_apart = (diff > 0.0).mean(axis=0)
    status = np.full(order.size - 1, UNSURE, dtype=np.int64)
    np.abs(diff, out=diff)
    status[(diff < float(logit(margin))).mean(axis=0) >= level] = EVEN
    status[p_apart >= level] = APART
    return OrderCheck(float(level), float(margin), order, status, p_apart)


def _check_args(k: int, level: float, margin: float) -> None:
    if not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    if not 0.5 < margin < 1.0:
        raise ValueError(f"margin must be in (0.5, 1), got {margin!r}")


def check_draws(
    draws: FloatArray, mean: FloatArray, k: int, level: float = 0.95, margin: float = MARGIN
) -> SettleCheck:
    """The criterion from joint draws ``(m, n)`` and posterior means ``(n,)``.

    >>> rng = np.random.default_rng(0)
    >>> mean = np.array([3.0, 2.0, 0.0, 0.01, -3.0])
    >>> draws = mean + 0.01 * rng.standard_normal((500, 5))
    >>> c = check_draws(draws, mean, k=3)
    >>> [STATUS_NAMES[s] for s in c.status], c.settled
    (['in', 'in', 'tied', 'tied', 'out'], True)
    """
    _check_args(k, level, margin)
    n = mean.shape[0]
    if k >= n:
        ones = np.ones(n)
        return SettleCheck(int(k), level, margin, np.full(n, IN), ones, np.ones(n, dtype=np.bool_))
    delta = float(logit(margin))
    order = score_order(mean)
    in_top = np.zeros(n, dtype=np.bool_)
    in_top[order[:k]] = True
    # P(i in top k): the k-th largest draw of each sample is the cut
    kth = -np.partition(-draws, k - 1, axis=1)[:, k - 1]
    p_top = (draws >= kth[:, None]).mean(axis=0)
    max_out = draws[:, ~in_top].max(axis=1)
    min_in = draws[:, in_top].min(axis=1)
    status = np.full(n, OPEN, dtype=np.int64)
    status[p_top >= level] = IN
    status[p_top <= 1.0 - level] = OUT
    undecided = status == OPEN
    ins = np.flatnonzero(undecided & in_top)
    outs = np.flatnonzero(undecided & ~in_top)
    if ins.size:
        ok = (max_out[:, None] - draws[:, ins] < delta).mean(axis=0) >= level
        status[ins[ok]] = TIED
    if outs.size:
        ok = (draws[:, outs] - min_in[:, None] < delta).mean(axis=0) >= level
        status[outs[ok]] = TIED
    return SettleCheck(int(k), float(level), float(margin), status, p_top, in_top)


def check_model(
    model: PairwiseModel,
    k: int,
    level: float = 0.95,
    margin: float = MARGIN,
    idx: IntArray | None = None,
    n_samples: int = N_SAMPLES,
    seed: int | np.random.Generator | None = 0,
) -> SettleCheck:
    """:func:`check_draws` on ``model``'s joint posterior, over the items ``idx`` (all by
    default: pass the active ideas)."""
    draws = model.sample_scores(n_samples, seed)
    mean = np.asarray(model.scores(), dtype=np.float64)
    if idx is not None:
        draws, mean = draws[:, idx], mean[idx]
    return check_draws(draws, mean, k, level, margin)


def next_check(votes: int, n_items: int) -> int:
    """Votes at which the criterion is checked next after ``votes``: every ~5 % of the votes
    so far, and at least every ``n_items / 2`` votes (so resolution is ~5 % of the answer)."""
    return votes + max(1, math.ceil(n_items / 2), math.ceil(0.05 * votes))


@dataclass(frozen=True)
class Forecast:
    """Simulated further votes until settled, one entry per simulation."""

    needed: list[int]
    """Votes each simulation needed, or the votes it reached when censored."""
    censored: list[bool]
    """True where a simulation reached the horizon or the deadline unsettled."""
    horizon: int

    def quantile(self, q: float) -> int | None:
        """The ``q`` quantile of the votes needed; ``None`` when it lies beyond what was
        simulated (censored runs count as larger than any finished one)."""
        if not self.needed:
            return None
        vals = sorted(math.inf if c else v for v, c in zip(self.needed, self.censored, strict=True))
        pos = q * (len(vals) - 1)
        lo, hi = vals[math.floor(pos)], vals[math.ceil(pos)]
        if math.isinf(hi):
            return None
        return round(lo + (hi - lo) * (pos - math.floor(pos)))

    def at_least(self, q: float) -> int | None:
        """A lower bound of the ``q`` quantile: each censored run counted at the votes it
        reached (its true value is larger). What "more than N votes" may honestly say."""
        if not self.needed:
            return None
        vals = sorted(self.needed)
        return vals[math.floor(q * (len(vals) - 1))]

    @property
    def median(self) -> int | None:
        return self.quantile(0.5)


def forecast(
    model: PairwiseModel,
    make_sampler: Callable[[], Sampler],
    k: int,
    level: float = 0.95,
    margin: float = MARGIN,
    *,
    idx: IntArray | None = None,
    history: tuple[IntArray, IntArray, FloatArray] | None = None,
    n_sims: int = 12,
    horizon: int | None = None,
    deadline_s: float | None = None,
    votes_per_voter: int = 20,
    n_samples: int = N_SAMPLES,
    seed: int = 0,
) -> Forecast:
    """Votes still needed to settle the top ``k`` of the items ``idx`` (see the module
    docstring). ``make_sampler`` builds the survey's sampler; it first observes
    ``history`` (the answers so far: left, right, outcome) so its counts match the survey.
    ``horizon`` caps the votes simulated per run (default ``max(100 n, 3 × votes so far)``);
    ``deadline_s`` caps the wall time of the whole forecast. ``model`` is not changed.
    """
    _check_args(k, level, margin)
    n_all = model.n_items
    idx = np.arange(n_all, dtype=np.int64) if idx is None else np.asarray(idx, dtype=np.int64)
    n = int(idx.size)
    active = np.zeros(n_all, dtype=np.bool_)
    active[idx] = True
    mask = None if n == n_all else active
    if horizon is None:
        horizon = max(100 * n, 3 * int(model.n_votes))
    rng = np.random.default_rng([seed, 17])
    truths = model.sample_scores(n_sims, rng)
    state = model.state()
    base = make_sampler()
    if history is not None:
        for a, b, y in zip(*(np.asarray(h).tolist() for h in history), strict=True):
            base.observe(a, b, y)
    stop = None if deadline_s is None else time.monotonic() + deadline_s
    needed, censored = [], []
    for r in range(n_sims):
        if stop is not None and r >= 3 and time.monotonic() > stop:
            break  # out of time: fewer simulations rather than more censored ones
        sim = type(model).from_state(state)
        smp = copy.deepcopy(base)
        got = _run(
            sim,
            smp,
            truths[r],
            k,
            level,
            margin,
            idx,
            mask,
            horizon,
            stop,
            votes_per_voter,
            n_samples,
            np.random.default_rng([seed, r]),
        )
        needed.append(got[0])
        censored.append(got[1])
    return Forecast(needed, censored, int(horizon))


def _run(
    sim: PairwiseModel,
    smp: Sampler,
    theta: FloatArray,
    k: int,
    level: float,
    margin: float,
    idx: IntArray,
    mask: NDArray[np.bool_] | None,
    horizon: int,
    stop: float | None,
    votes_per_voter: int,
    n_samples: int,
    rng: np.random.Generator,
) -> tuple[int, bool]:
    """One simulated continuation: ``(votes until settled, censored)``."""
    start = int(sim.n_votes)
    if check_model(sim, k, level, margin, idx, n_samples, rng).settled:
        return 0, False
    n = int(idx.size)
    due = next_check(start, n) - start
    t = 0
    u = rng.random(horizon)
    while t < horizon:
        voter = f"sim{t // votes_per_voter}"
        i, j = smp.next_pair(sim, voter=voter, active=mask)
        y = 1.0 if u[t] < expit(theta[i] - theta[j]) else 0.0
        sim.update(int(i), int(j), y)
        smp.observe(int(i), int(j), y, voter=voter)
        t += 1
        if t >= due:
            if check_model(sim, k, level, margin, idx, n_samples, rng).settled:
                return t, False
            if stop is not None and time.monotonic() > stop:
                return t, True
            due = next_check(start + t, n) - start
    return t, True
