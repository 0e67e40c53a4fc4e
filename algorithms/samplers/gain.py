"""Information-based samplers: ``uncertainty``, ``info-gain``, ``adaptive`` (the default)
and the full-scan reference ``info-gain-exact``.

The maths (derived in ``docs/samplers.md``): with independent Gaussian posteriors
``s_i ~ N(μ_i, v_i)``, the difference ``d = s_i - s_j`` is ``N(μ, v)`` with
``μ = μ_i - μ_j`` and ``v = v_i + v_j``. One Bradley-Terry vote on ``(i, j)``,
absorbed by assumed-density filtering, shrinks ``Var(d)`` to ``v (1 - v κ² p (1 - p))``
whatever its outcome, where ``κ² = 1 / (1 + π v / 8)`` and ``p = σ(κ μ)`` is the
predictive win probability. The update is rank one along ``e_i - e_j``, so the
entropy of the joint posterior drops by exactly

``G(i, j) = -½ log(1 - v κ² p (1 - p))``,

a function of ``p_ij`` and ``v_i + v_j`` only, increasing in ``u = v κ² p (1 - p)``.
Samplers rank partners by ``u`` (cheap, vectorised over candidates).
``info-gain-exact`` instead scans every pair and computes the mutual information
``I(y; s) = H[E σ(d)] - E H[σ(d)]`` by Gauss-Hermite quadrature, with no approximation
but the quadrature.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit

from algorithms.samplers._kernels import exact_scan, nearest_at_distance, top_gain
from algorithms.samplers.base import PickContext, Sampler, register_sampler
from algorithms.samplers.verify import Verification

__all__ = [
    "AdaptiveSampler",
    "ExactInfoGainSampler",
    "InfoGainSampler",
    "UncertaintySampler",
    "exact_pair_information",
    "pair_gain",
]

LAMBDA2 = math.pi / 8.0
FloatArray = NDArray[np.float64]


def pair_gain(mu_i: float, v_i: float, mu: FloatArray, v: FloatArray) -> FloatArray:
    """``u = v κ² p (1 - p)`` of item ``i`` against each entry of ``mu``, ``v``.

    The expected entropy reduction is ``-½ log(1 - u)``, increasing in ``u``.

    >>> import numpy as np
    >>> u = pair_gain(0.0, 1.0, np.array([0.0, 3.0]), np.array([1.0, 1.0]))
    >>> bool(u[0] > u[1])
    True
    """
    vij = v + v_i
    k2 = 1.0 / (1.0 + LAMBDA2 * vij)
    x = (mu - mu_i) * np.sqrt(k2)
    # p (1 - p) = 1 / (2 + 2 cosh x) for p = σ(x)
    return np.asarray(vij * k2 / (2.0 + 2.0 * np.cosh(x)), dtype=np.float64)


_GH_X, _GH_W = np.polynomial.hermite.hermgauss(24)
_GH_W = _GH_W / math.sqrt(math.pi)


def _binary_entropy_of_logit(x: FloatArray) -> FloatArray:
    # H(σ(x)) = log(1 + e^{-x}) σ(x) + log(1 + e^{x}) σ(-x)
    return np.asarray(
        np.logaddexp(0.0, -x) * expit(x) + np.logaddexp(0.0, x) * expit(-x), dtype=np.float64
    )


def exact_pair_information(mu: FloatArray, v: FloatArray) -> FloatArray:
    """Mutual information (nats) between one BT vote and ``d ~ N(mu, v)``, elementwise.

    ``I = H[E σ(d)] - E H[σ(d)]``, expectations by 24-point Gauss-Hermite quadrature.

    >>> import numpy as np
    >>> bool(exact_pair_information(np.array([0.0]), np.array([1e-12]))[0] < 1e-9)
    True
    """
    mu = np.asarray(mu, dtype=np.float64)[..., None]
    sd = np.sqrt(2.0 * np.asarray(v, dtype=np.float64))[..., None]
    d = mu + sd * _GH_X
    p = np.clip((expit(d) * _GH_W).sum(axis=-1), 1e-300, 1.0 - 1e-16)
    h_mean = -(p * np.log(p) + (1.0 - p) * np.log1p(-p))
    mean_h = (_binary_entropy_of_logit(d) * _GH_W).sum(axis=-1)
    return np.asarray(np.maximum(h_mean - mean_h, 0.0), dtype=np.float64)


class _GainSearch(Sampler):
    """Shared greedy search: start from high-variance items, take the best partner by
    ``pair_gain``, then re-pick the first item against that partner (one refinement).

    Above ``max_candidates`` active items the partner is chosen among that many
    random candidates, so a pick costs O(n) cheap passes plus O(max_candidates) gain
    evaluations.
    """

    max_candidates: int = 2048

    def _candidates(self, ctx: PickContext) -> NDArray[np.int64] | None:
        if ctx.n <= self.max_candidates:
            return None
        cand = self.rng.integers(ctx.n, size=self.max_candidates)
        if ctx.active is not None:
            cand = cand[ctx.active[cand]]
        return cand

    def _partner_by_gain(
        self, i: int, ctx: PickContext, cand: NDArray[np.int64] | None
    ) -> tuple[int, float] | None:
        js, gs = top_gain(ctx.post.mean, ctx.post.var, i, cand, ctx.active)
        for j, g in zip(js, gs, strict=True):
            if not ctx.blocked(i, j):
                return j, g
        if cand is None and len(js) == ctx.m - 1:
            return None  # every partner of i is blocked
        # all of the few best are blocked: exact fallback over every candidate
        mu, var = ctx.post.mean, ctx.post.var
        sub = np.arange(ctx.n) if cand is None else np.unique(cand)
        gain = pair_gain(float(mu[i]), float(var[i]), mu[sub], var[sub])
        gain[sub == i] = -np.inf
        if ctx.active is not None:
            gain[~ctx.active[sub]] = -np.inf
        for t in np.argsort(-gain, kind="stable").tolist():
            j = int(sub[t])
            if not np.isfinite(gain[t]):
                break
            if not ctx.blocked(i, j):
                return j, float(gain[t])
        return None

    def _starts(self, ctx: PickContext, k: int) -> list[int]:
        var = ctx.post.var
        if ctx.active is not None:
            var = np.where(ctx.active, var, -np.inf)
        if k <= 1:
            return [int(np.argmax(var))]
        k = min(k, ctx.m)
        top = np.argpartition(-var, k - 1)[:k]
        return [int(x) for x in top[np.argsort(-var[top], kind="stable")]]

    def _greedy(
        self, ctx: PickContext, starts: list[int], refine: bool = True
    ) -> tuple[int, int] | None:
        cand = self._candidates(ctx)
        best: tuple[float, int, int] | None = None
        for i in starts:
            got = self._partner_by_gain(i, ctx, cand)
            if got is None:
                continue
            j, g = got
            if refine:
                back = self._partner_by_gain(j, ctx, cand)
                if back is not None and back[1] > g:
                    i, g = back[0], back[1]
            if best is None or g > best[0]:
                best = (g, i, j)
        return None if best is None else (best[1], best[2])


@register_sampler("uncertainty")
class UncertaintySampler(_GainSearch):
    """The most uncertain outcome: the highest-variance item against the item whose
    win probability against it is closest to ½ (nearest posterior mean)."""

    def _choose(self, ctx: PickContext) -> tuple[int, int, float | None] | None:
        i = self._starts(ctx, 1)[0]
        mu = ctx.post.mean
        closeness = -np.abs(mu - mu[i])
        j = self._best_partner(i, np.array(closeness, dtype=np.float64), ctx)
        return None if j is None else (i, j, 1.0)


@register_sampler("info-gain")
class InfoGainSampler(_GainSearch):
    """Greedy expected information gain: start at the highest-variance item, best partner
    by ``G(i, j)``, one refinement of the first item. Deterministic (probability 1)."""

    def _choose(self, ctx: PickContext) -> tuple[int, int, float | None] | None:
        got = self._greedy(ctx, self._starts(ctx, 1))
        return None if got is None else (got[0], got[1], 1.0)


@register_sampler("adaptive")
class AdaptiveSampler(Verification, _GainSearch):
    """The default: information gain, plus an exposure floor, exploration and side balance.

    Parameters
    ----------
    seed
        Seed of the sampler's generator.
    explore
        Share of picks that are exploration pairs once the survey has ``ramp`` votes per
        item (in ``[0, 1]``).
    floor
        Items with fewer than ``floor`` observed votes are shown first (new ideas).
    starts
        Number of high-variance items tried as the first item of the greedy search
        (1 measured as good as 8 in votes-to-target at n=100, and is cheaper).
    dist
        Exploration pairs: a uniformly random item and the partner whose posterior mean
        is nearest to ``dist`` away from it (``2.4`` maximises ``d² σ'(d)``, the Fisher
        information one vote gives about the common scale of the scores). ``None``:
        uniformly random pairs.
    ramp
        The exploration share grows linearly from 0 to ``explore`` over the first
        ``ramp`` votes per item (``0``: constant share).
    verify
        Share of exploration pairs (clear pairs) for a voter whose answers do not yet tell a
        person from a coin, once they gave ``verify_from`` decisive answers (``0``: off; see
        :mod:`algorithms.samplers.verify`).
    verify_from
        Decisive answers of a voter before their picks may be verification pairs.

    Each pick's selection probability is exact: ``e / m ([j = P(i)] + [i = P(j)]) +
    (1 - e) [pair is the greedy pick]`` with ``e`` the current share, ``m`` the number of
    active items and ``P`` the exploration partner (``e / F`` in place of the first term
    for uniform pairs, ``F`` the number of pairs that may be shown). The one exception:
    when every partner of the drawn item is blocked for the voter, the greedy pick is
    shown and that (rare) extra mass is not counted.

    >>> from algorithms import create_model, create_sampler
    >>> s = create_sampler("adaptive", seed=0)
    >>> pair = s.next_pair(create_model("bt-online", n_items=4), voter="ann")
    >>> pair[0] != pair[1] and 0.0 < pair.probability <= 1.0
    True
    """

    param_names: ClassVar[tuple[str, ...]] = (
        *("explore", "floor", "starts", "dist", "ramp", "verify", "verify_from"),
    )
    balance_sides = True
    knows_probability = True

    def __init__(
        self,
        *,
        seed: int | None = None,
        explore: float = 0.1,
        floor: int = 1,
        starts: int = 1,
        dist: float | None = 2.4,
        ramp: float = 20.0,
        verify: float = 0.0,
        verify_from: int = 20,
    ) -> None:
        super().__init__(seed=seed)
        self._check_verify(verify, verify_from)
        if not 0.0 <= float(explore) <= 1.0:
            raise ValueError(f"explore must be in [0, 1], got {explore!r}")
        if int(floor) != floor or floor < 0:
            raise ValueError(f"floor must be an int >= 0, got {floor!r}")
        if int(starts) != starts or starts < 1:
            raise ValueError(f"starts must be an int >= 1, got {starts!r}")
        if dist is not None and not (math.isfinite(float(dist)) and float(dist) >= 0.0):
            raise ValueError(f"dist must be a finite float >= 0 or None, got {dist!r}")
        if not (math.isfinite(float(ramp)) and float(ramp) >= 0.0):
            raise ValueError(f"ramp must be a finite float >= 0, got {ramp!r}")
        self.explore = float(explore)
        self.floor = int(floor)
        self.starts = int(starts)
        self.dist = None if dist is None else float(dist)
        self.ramp = float(ramp)

    def share(self, ctx: PickContext) -> float:
        """The exploration share of the next pick (grows with votes per item up to ``ramp``;
        ``verify`` if larger for a voter whose evidence is undecided)."""
        e = self.explore
        if e > 0.0 and self.ramp > 0.0:
            vpi = float(self.counts[: ctx.n].sum()) / (2.0 * max(ctx.m, 1))
            e *= min(1.0, vpi / self.ramp)
        return max(e, self.verify) if self.undecided(ctx.voter) else e

    def _choose(self, ctx: PickContext) -> tuple[int, int, float | None] | None:
        e = self.share(ctx)
        if e > 0.0 and self.rng.random() < e:
            got = self._explore_pair(ctx)
            greedy = self._greedy_pick(ctx)
            if got is not None:
                i, j, p_exp = got
                hit = greedy is not None and {i, j} == set(greedy)
                return i, j, e * p_exp + (1.0 - e) * hit
            if greedy is None:
                return None
            i, j = greedy
            return i, j, e * self._explore_prob(ctx, i, j) + (1.0 - e)
        greedy = self._greedy_pick(ctx)
        if greedy is None:
            return None
        i, j = greedy
        p_exp = self._explore_prob(ctx, i, j) if e > 0.0 else 0.0
        return i, j, e * p_exp + (1.0 - e)

    def _scale_partner(self, i: int, ctx: PickContext) -> int | None:
        assert self.dist is not None
        mu = ctx.post.mean
        j = nearest_at_distance(mu, i, self.dist, ctx.active)  # one fused pass
        if j >= 0 and not ctx.blocked(i, j):
            return j
        score = -np.abs(np.abs(mu - mu[i]) - self.dist)  # blocked: the general search
        return self._best_partner(i, np.asarray(score, dtype=np.float64), ctx)

    def _explore_pair(self, ctx: PickContext) -> tuple[int, int, float] | None:
        if self.dist is None:
            return self._random_pair(ctx)
        i = self._random_item(ctx)
        j = self._scale_partner(i, ctx)
        if j is None:
            return None
        return i, j, self._explore_prob(ctx, i, j)

    def _explore_prob(self, ctx: PickContext, i: int, j: int) -> float:
        """Probability that an exploration draw yields the unordered pair ``{i, j}``."""
        if self.dist is None:
            return 1.0 / self._free_pairs(ctx)
        hits = (self._scale_partner(i, ctx) == j) + (self._scale_partner(j, ctx) == i)
        return hits / ctx.m

    def _greedy_pick(self, ctx: PickContext) -> tuple[int, int] | None:
        if self.floor > 0:
            c = self.counts[: ctx.n]
            if ctx.active is not None:
                c = np.where(ctx.active, c, np.iinfo(np.int64).max)
            i = int(np.argmin(c))
            if c[i] < self.floor:
                got = self._greedy(ctx, [i], refine=False)
                if got is not None:
                    return got
        return self._greedy(ctx, self._starts(ctx, self.starts))

    def _free_pairs(self, ctx: PickContext) -> int:
        total = ctx.m * (ctx.m - 1) // 2
        blocked = ctx.blocked_active() if (ctx.seen or ctx.exclude) else ()
        return max(total - len(blocked), 1)


@register_sampler("info-gain-exact")
class ExactInfoGainSampler(Sampler):
    """Reference: scans all pairs and takes the one with the largest exact mutual
    information (Gauss-Hermite quadrature). O(n²) per pick, so limited to
    ``max_items`` active items (default 300); for evaluation only."""

    param_names = ("max_items",)

    def __init__(self, *, seed: int | None = None, max_items: int = 300) -> None:
        super().__init__(seed=seed)
        if int(max_items) != max_items or max_items < 2:
            raise ValueError(f"max_items must be an int >= 2, got {max_items!r}")
        self.max_items = int(max_items)

    def _choose(self, ctx: PickContext) -> tuple[int, int, float | None] | None:
        if ctx.m > self.max_items:
            raise ValueError(
                f"info-gain-exact scans all pairs; {ctx.m} active items exceed "
                f"max_items={self.max_items}"
            )
        idx = np.arange(ctx.n) if ctx.active is None else np.flatnonzero(ctx.active)
        mu, var = ctx.post.mean, ctx.post.var
        for i, j in exact_scan(mu, var, idx, _GH_X, _GH_W):
            if not ctx.blocked(i, j):
                return i, j, 1.0
        # the few best are all blocked: rank every pair (vectorised)
        iu, ju = np.triu_indices(idx.shape[0], 1)
        a, b = idx[iu], idx[ju]
        info = exact_pair_information(mu[a] - mu[b], var[a] + var[b])
        for t in np.argsort(-info, kind="stable").tolist():
            i, j = int(a[t]), int(b[t])
            if not ctx.blocked(i, j):
                return i, j, 1.0
        return None
