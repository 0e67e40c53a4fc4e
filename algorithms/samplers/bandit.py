"""Bandit-style samplers: ``thompson`` (posterior sampling) and ``topk`` (LUCB on the
top-k boundary)."""

from __future__ import annotations

import numpy as np

from algorithms.samplers.base import PickContext, Sampler, register_sampler

__all__ = ["ThompsonSampler", "TopKSampler"]


def _floor_item(sampler: Sampler, ctx: PickContext, floor: int) -> int | None:
    """The least-voted active item if it has fewer than ``floor`` votes, else ``None``."""
    if floor <= 0:
        return None
    c = sampler.counts[: ctx.n]
    if ctx.active is not None:
        c = np.where(ctx.active, c, np.iinfo(np.int64).max)
    i = int(np.argmin(c))
    return i if c[i] < floor else None


@register_sampler("thompson")
class ThompsonSampler(Sampler):
    """Posterior sampling: one item at random, and as its partner the item whose score,
    in one joint draw from the posterior, is closest to its own (the neighbour that a
    plausible truth says is hardest to tell apart). Items with fewer than ``floor``
    votes are taken first. Above ``max_candidates`` items the partner is drawn among
    that many random candidates.
    """

    param_names = ("floor", "max_candidates")

    def __init__(
        self, *, seed: int | None = None, floor: int = 1, max_candidates: int = 2048
    ) -> None:
        super().__init__(seed=seed)
        if int(floor) != floor or floor < 0:
            raise ValueError(f"floor must be an int >= 0, got {floor!r}")
        if int(max_candidates) != max_candidates or max_candidates < 2:
            raise ValueError(f"max_candidates must be an int >= 2, got {max_candidates!r}")
        self.floor = int(floor)
        self.max_candidates = int(max_candidates)

    def _choose(self, ctx: PickContext) -> tuple[int, int, float | None] | None:
        i = _floor_item(self, ctx, self.floor)
        if i is None:
            i = self._random_item(ctx)
        mu, var = ctx.post.mean, ctx.post.var
        if ctx.n <= self.max_candidates:
            draw = mu + np.sqrt(var) * self.rng.standard_normal(ctx.n)
            closeness = -np.abs(draw - draw[i])
            j = self._best_partner(i, closeness, ctx)
            return None if j is None else (i, j, None)
        cand = self.rng.integers(ctx.n, size=self.max_candidates)
        if ctx.active is not None:
            cand = cand[ctx.active[cand]]
        draw = mu[cand] + np.sqrt(var[cand]) * self.rng.standard_normal(cand.shape[0])
        own = float(mu[i] + np.sqrt(var[i]) * self.rng.standard_normal())
        dist = np.abs(draw - own)
        dist[cand == i] = np.inf
        t = int(np.argmin(dist))
        if np.isfinite(dist[t]) and not ctx.blocked(i, int(cand[t])):
            return i, int(cand[t]), None
        for t in np.argsort(dist, kind="stable").tolist():
            j = int(cand[t])
            if np.isfinite(dist[t]) and not ctx.blocked(i, j):
                return i, j, None
        return None


@register_sampler("topk")
class TopKSampler(Sampler):
    """Spend votes on the boundary of the top ``k`` (LUCB, Kalyanakrishnan et al. 2012).

    With the current top-``k`` set ``T`` by posterior mean, compare the member of
    ``T`` with the lowest lower bound ``μ - z σ`` against the non-member with the
    highest upper bound ``μ + z σ``: the two items most likely to be on the wrong
    side of the boundary. Items with fewer than ``floor`` votes are taken first.

    Parameters
    ----------
    k
        Size of the top set to identify (``>= 1``).
    z
        Width of the confidence bounds in posterior standard deviations.
    floor
        Exposure floor for new items.
    """

    param_names = ("k", "z", "floor")

    def __init__(
        self, *, seed: int | None = None, k: int = 10, z: float = 1.0, floor: int = 1
    ) -> None:
        super().__init__(seed=seed)
        if int(k) != k or k < 1:
            raise ValueError(f"k must be an int >= 1, got {k!r}")
        if not float(z) >= 0.0:
            raise ValueError(f"z must be >= 0, got {z!r}")
        if int(floor) != floor or floor < 0:
            raise ValueError(f"floor must be an int >= 0, got {floor!r}")
        self.k = int(k)
        self.z = float(z)
        self.floor = int(floor)

    def _choose(self, ctx: PickContext) -> tuple[int, int, float | None] | None:
        mu, var = ctx.post.mean, ctx.post.var
        sd = np.sqrt(var)
        f = _floor_item(self, ctx, self.floor)
        if f is not None:
            closeness = -np.abs(mu - mu[f])
            j = self._best_partner(f, closeness, ctx)
            return None if j is None else (f, j, None)
        k = min(self.k, ctx.m - 1)
        m_act = mu if ctx.active is None else np.where(ctx.active, mu, -np.inf)
        top = np.argpartition(-m_act, k - 1)[:k]
        in_top = np.zeros(ctx.n, dtype=np.bool_)
        in_top[top] = True
        lower = np.where(in_top, mu - self.z * sd, np.inf)
        h = int(np.argmin(lower))
        upper = mu + self.z * sd
        upper[in_top] = -np.inf
        # best challenger of h from outside the top set, in order of upper bound
        j = self._best_partner(h, upper, ctx)
        if j is not None:
            return h, j, 1.0
        return None
