"""The interface every pair sampler implements, the sampler registry and shared helpers.

A sampler answers one question: *which two items should this voter compare next?*
It reads the model's cheap per-item Gaussian view (:meth:`PairwiseModel.posterior`)
and its own bookkeeping (votes per item, left-side counts, the pairs each voter
has already answered, fed by :meth:`Sampler.observe`).

Rules shared by all samplers (enforced here, so subclasses only score items):

* the two items are distinct and *active* (``active`` mask, default all);
* a pair in ``exclude`` is never returned;
* a voter never gets a pair they already answered while a fresh pair remains;
  once every active pair is used up, repeats are allowed (``exclude`` still holds);
* fewer than two active items, or every pair excluded, is a ``ValueError``.

Cost: subclasses score items with vectorised numpy over ``n`` and pick a partner
among a few candidates; nothing scans the ``n^2`` pairs (except the fallback when
a voter has used up almost every pair, whose cost is bounded by that voter's history).
"""

from __future__ import annotations

import json
import math
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable
from typing import Any, ClassVar, Self

import numpy as np
from numpy.typing import NDArray

from algorithms._gauss import LAMBDA2
from algorithms.base import PairwiseModel, Posterior
from algorithms.registry import Registry
from algorithms.samplers.types import (
    BoolArray,
    Pair,
    PickContext,
    SamplerState,
    VoterId,
    norm_pair,
    voter_key,
)

__all__ = [
    "SAMPLERS",
    "SELF_GUIDED_MODELS",
    "Pair",
    "PickContext",
    "Sampler",
    "SamplerState",
    "create_sampler",
    "register_sampler",
    "sampler_from_state",
]

SELF_GUIDED_MODELS = frozenset({"bt"})
"""Models whose ``posterior()`` a sampler does not read; it uses its own online posterior.

``bt``'s posterior holds the *marginal* Laplace variances of a batch fit: two items
compared many times with each other keep large marginal variances (their common shift
is uncertain) although their difference is pinned down, so an information-greedy
sampler reading them keeps choosing that pair (measured: adaptive needed 27.5 votes per
item for Kendall tau 0.8 instead of 23.0, worse than random pairs). For these models the
sampler reads a Gaussian assumed-density-filtering posterior (the ``bt-online`` update,
prior ``N(0, 1)``) that it keeps itself from :meth:`Sampler.observe`.
"""


class Sampler(ABC):
    """Base class of all pair samplers.

    Parameters
    ----------
    seed
        Seed of the sampler's own ``numpy`` generator; the global RNG is never used.

    Subclasses implement :meth:`_choose` and list their extra ``__init__``
    keyword arguments in ``param_names``.
    """

    name: ClassVar[str] = ""
    param_names: ClassVar[tuple[str, ...]] = ()
    balance_sides: ClassVar[bool] = False
    """Orient each pair so the item shown on the left less often goes left (else a coin flip)."""
    knows_probability: ClassVar[bool] = False

    def __init__(self, *, seed: int | None = None) -> None:
        if seed is not None and (not isinstance(seed, int | np.integer) or seed < 0):
            raise ValueError(f"seed must be a non-negative int or None, got {seed!r}")
        self.seed = None if seed is None else int(seed)
        self.rng = np.random.default_rng(self.seed)
        self.counts = np.zeros(0, dtype=np.int64)
        """Votes observed per item (both sides)."""
        self.left_counts = np.zeros(0, dtype=np.int64)
        """Votes observed per item with the item on the left."""
        self.seen: dict[VoterId, set[tuple[int, int]]] = {}
        """Unordered pairs each voter has answered."""
        self.guide_mean = np.zeros(0, dtype=np.float64)
        """Own online posterior (means) from observed votes, read for :data:`SELF_GUIDED_MODELS`."""
        self.guide_var = np.zeros(0, dtype=np.float64)

    # -- public API -------------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        """Keyword arguments of ``__init__`` (scikit-learn convention)."""
        out: dict[str, Any] = {"seed": self.seed}
        for p in self.param_names:
            out[p] = getattr(self, p)
        return out

    def next_pair(
        self,
        model: PairwiseModel,
        voter: VoterId | None = None,
        active: Iterable[bool] | NDArray[np.bool_] | None = None,
        exclude: Collection[tuple[int, int]] | None = None,
    ) -> Pair:
        """The next pair to show ``voter``.

        Parameters
        ----------
        model
            Any registered model; only ``n_items`` and ``posterior()`` are read.
        voter
            Voter id (int or str) whose answered pairs are not repeated while avoidable.
        active
            Optional boolean mask of shape ``(n_items,)``: items that may be shown.
        exclude
            Optional collection of unordered pairs ``(i, j)`` never to show.

        Raises
        ------
        ValueError
            Fewer than two active items, every active pair excluded, or bad arguments.
        """
        n = model.n_items
        self._grow(n)
        act: BoolArray | None = None
        m = n
        if active is not None:
            act = np.asarray(active, dtype=np.bool_)
            if act.shape != (n,):
                raise ValueError(f"active must be a boolean mask of shape ({n},), got {act.shape}")
            m = int(np.count_nonzero(act))
            if m == n:
                act = None
        if m < 2:
            raise ValueError(f"need at least 2 active items to form a pair, got {m}")
        key = voter_key(voter)
        seen = self.seen.get(key) if key is not None else None
        excl: set[tuple[int, int]] | None = None
        if exclude:
            excl = {norm_pair(int(a), int(b)) for a, b in exclude}
        ctx = PickContext(n, act, m, self._posterior(model, n), seen or None, excl, key)
        got = self._choose(ctx)
        if got is None:
            got = self._fallback(ctx)
        i, j, prob = got
        return self._orient(i, j, prob)

    def observe(
        self, left: int, right: int, outcome: float | None, voter: VoterId | None = None
    ) -> None:
        """Record an answered pair: votes per item, sides, and the voter's seen pairs.

        ``outcome=None`` records a pair the voter was shown and skipped: it is not shown
        to them again while avoidable, but it counts as no vote (no exposure, no evidence).
        """
        li, ri = int(left), int(right)
        if li < 0 or ri < 0:
            raise ValueError(f"item indices must be >= 0, got {li} and {ri}")
        if li == ri:
            raise ValueError("an item cannot be compared with itself (left == right)")
        key = voter_key(voter)
        if outcome is not None:
            out = float(outcome)
            if not 0.0 <= out <= 1.0:
                raise ValueError(f"outcome must be in [0, 1] or None, got {outcome!r}")
            self._grow(max(li, ri) + 1)
            self.counts[li] += 1
            self.counts[ri] += 1
            self.left_counts[li] += 1
            self._adf_step(li, ri, out)
        if key is not None:
            self.seen.setdefault(key, set()).add(norm_pair(li, ri))

    def state(self) -> SamplerState:
        """Exact serialisable state; ``type(s).from_state(s.state())`` behaves identically."""
        seen = [[v, [x for p in sorted(pairs) for x in p]] for v, pairs in self.seen.items()]
        return SamplerState(
            sampler=self.name,
            params=self.get_params(),
            data={
                "rng": json.dumps(self.rng.bit_generator.state, sort_keys=True),
                "counts": self.counts.tolist(),
                "left_counts": self.left_counts.tolist(),
                "seen": seen,
                "guide_mean": self.guide_mean.tolist(),
                "guide_var": self.guide_var.tolist(),
                **self._extra_state(),
            },
        )

    @classmethod
    def from_state(cls, state: SamplerState) -> Self:
        """Rebuild a sampler from :meth:`state`."""
        if state.sampler != cls.name:
            raise ValueError(f"state is for sampler {state.sampler!r}, not {cls.name!r}")
        obj = cls(**state.params)
        d = state.data
        obj.rng.bit_generator.state = json.loads(d["rng"])
        obj.counts = np.asarray(d["counts"], dtype=np.int64)
        obj.left_counts = np.asarray(d["left_counts"], dtype=np.int64)
        obj.guide_mean = np.asarray(d["guide_mean"], dtype=np.float64)
        obj.guide_var = np.asarray(d["guide_var"], dtype=np.float64)
        obj.seen = {}
        for v, flat in d["seen"]:
            it = iter(flat)
            obj.seen[v] = {(int(a), int(b)) for a, b in zip(it, it, strict=True)}
        obj._load_extra_state(d)
        return obj

    # -- hooks --------------------------------------------------------------------
    @abstractmethod
    def _choose(self, ctx: PickContext) -> tuple[int, int, float | None] | None:
        """Return an unblocked active pair ``(i, j, probability)``, or ``None`` to fall back."""

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _load_extra_state(self, data: dict[str, Any]) -> None:
        return None

    # -- shared helpers -----------------------------------------------------------
    def _grow(self, n: int) -> None:
        if self.counts.shape[0] < n:
            pad = n - self.counts.shape[0]
            self.counts = np.concatenate([self.counts, np.zeros(pad, dtype=np.int64)])
            self.left_counts = np.concatenate([self.left_counts, np.zeros(pad, dtype=np.int64)])
            self.guide_mean = np.concatenate([self.guide_mean, np.zeros(pad)])
            self.guide_var = np.concatenate([self.guide_var, np.ones(pad)])

    def _posterior(self, model: PairwiseModel, n: int) -> Posterior:
        if model.name in SELF_GUIDED_MODELS:
            return Posterior(self.guide_mean[:n], self.guide_var[:n])
        return model.posterior()

    def _guide_shrink(self, i: int, j: int) -> tuple[float, float]:
        """``(k2, d)``: the own posterior's mean difference ``d`` of ``i`` over ``j`` and
        ``k2 = 1 / (1 + (pi/8) v)`` for its variance ``v``; ``sigma(sqrt(k2) d)`` is the
        predictive probability that ``i`` wins."""
        v = float(self.guide_var[i] + self.guide_var[j])
        return 1.0 / (1.0 + LAMBDA2 * v), float(self.guide_mean[i] - self.guide_mean[j])

    def _adf_step(self, i: int, j: int, y: float) -> None:
        """One logistic ADF update of the own posterior (as ``bt-online``; ties as y = ½)."""
        mu, s2 = self.guide_mean, self.guide_var
        vi, vj = float(s2[i]), float(s2[j])
        k2, d = self._guide_shrink(i, j)
        k = math.sqrt(k2)
        p = 1.0 / (1.0 + math.exp(-k * d)) if k * d > -700.0 else 0.0
        g = k * (y - p)
        h = k2 * p * (1.0 - p)
        mu[i] += vi * g
        mu[j] -= vj * g
        s2[i] = vi * (1.0 - vi * h)
        s2[j] = vj * (1.0 - vj * h)

    def _orient(self, i: int, j: int, prob: float | None) -> Pair:
        if self.balance_sides:
            # the item with the smaller share of left appearances goes left
            ci, cj = int(self.counts[i]), int(self.counts[j])
            li, lj = int(self.left_counts[i]), int(self.left_counts[j])
            # compare li/ci with lj/cj without division (0/0 counts as 1/2)
            a, b = 2 * li - ci, 2 * lj - cj
            if a * max(cj, 1) != b * max(ci, 1):
                return Pair(i, j, prob) if a * max(cj, 1) < b * max(ci, 1) else Pair(j, i, prob)
        if self.rng.random() < 0.5:
            return Pair(j, i, prob)
        return Pair(i, j, prob)

    def _random_item(self, ctx: PickContext) -> int:
        if ctx.active is None:
            return int(self.rng.integers(ctx.n))
        idx = np.flatnonzero(ctx.active)
        return int(idx[self.rng.integers(idx.shape[0])])

    def _random_pair(self, ctx: PickContext) -> tuple[int, int, float]:
        """A uniformly random unblocked active pair and its exact selection probability.

        Relaxes the voter's seen pairs when every active pair is used up.
        """
        total = ctx.m * (ctx.m - 1) // 2
        blocked = ctx.blocked_active() if (ctx.seen or ctx.exclude) else set()
        free = total - len(blocked)
        if free <= 0:
            if ctx.seen:
                relaxed = PickContext(
                    ctx.n, ctx.active, ctx.m, ctx.post, None, ctx.exclude, ctx.voter
                )
                return self._random_pair(relaxed)
            raise ValueError("every pair of active items is excluded")
        if free * 4 >= total:
            # rejection sampling: expected < 4 draws
            idx = None if ctx.active is None else np.flatnonzero(ctx.active)
            while True:
                a, b = (int(x) for x in self.rng.integers(ctx.m, size=2))
                if a == b:
                    continue
                if idx is not None:
                    a, b = int(idx[a]), int(idx[b])
                if norm_pair(a, b) not in blocked:
                    return a, b, 1.0 / free
        # few free pairs left: enumerate them (cost bounded by the blocked-set size)
        idx = np.arange(ctx.n) if ctx.active is None else np.flatnonzero(ctx.active)
        iu, ju = np.triu_indices(idx.shape[0], 1)
        cand = [
            (int(a), int(b))
            for a, b in zip(idx[iu].tolist(), idx[ju].tolist(), strict=True)
            if (a, b) not in blocked
        ]
        a, b = cand[int(self.rng.integers(len(cand)))]
        return a, b, 1.0 / free

    def _fallback(self, ctx: PickContext) -> tuple[int, int, float | None]:
        """When :meth:`_choose` found no unblocked pair: relax repeats if needed, else random."""
        if ctx.seen:
            total = ctx.m * (ctx.m - 1) // 2
            if len(ctx.blocked_active()) >= total:  # every pair used up: repeats allowed
                relaxed = PickContext(
                    ctx.n, ctx.active, ctx.m, ctx.post, None, ctx.exclude, ctx.voter
                )
                got = self._choose(relaxed)
                if got is not None:
                    return got
                return self._random_pair(relaxed)
        i, j, p = self._random_pair(ctx)
        return i, j, (p if self.knows_probability else None)

    def _best_partner(
        self, i: int, gain: NDArray[np.float64], ctx: PickContext, tries: int = 16
    ) -> int | None:
        """The active, unblocked ``j != i`` with the highest ``gain[j]`` (``gain`` is modified).

        Looks at the ``tries`` best candidates only; ``None`` if all are blocked.
        """
        gain[i] = -np.inf
        if ctx.active is not None:
            gain[~ctx.active] = -np.inf
        j = int(np.argmax(gain))
        if not np.isfinite(gain[j]):
            return None
        if not ctx.blocked(i, j):
            return j
        k = min(tries, gain.shape[0] - 1)
        top = np.argpartition(-gain, k)[: k + 1]
        top = top[np.argsort(-gain[top], kind="stable")]
        for jj in top.tolist():
            if jj != i and np.isfinite(gain[jj]) and not ctx.blocked(i, jj):
                return int(jj)
        return None


SAMPLERS: Registry[Sampler] = Registry("sampler", Sampler)
"""Every pair sampler by name; an unknown name raises :class:`~algorithms.registry.UnknownName`."""

register_sampler = SAMPLERS.register
"""Class decorator adding a sampler to :data:`SAMPLERS`: ``@register_sampler("random")``."""


def create_sampler(name: str, **params: Any) -> Sampler:
    """Create a registered sampler by name, parameters by keyword (:meth:`Registry.create`).

    >>> from algorithms import create_sampler
    >>> s = create_sampler("random", seed=0)
    >>> s.name
    'random'
    """
    return SAMPLERS.create(name, **params)


def sampler_from_state(state: SamplerState) -> Sampler:
    """Rebuild any registered sampler from its :class:`SamplerState`."""
    return SAMPLERS.get_class(state.sampler).from_state(state)
