"""Non-adaptive samplers: ``random`` (uniform pairs) and ``balanced`` (least-shown first)."""

from __future__ import annotations

import numpy as np

from algorithms.samplers.base import PickContext, Sampler, register_sampler

__all__ = ["BalancedSampler", "RandomSampler"]


@register_sampler("random")
class RandomSampler(Sampler):
    """Uniformly random pair of active items (the baseline).

    The returned :class:`~algorithms.samplers.base.Pair` carries the exact
    selection probability ``1 / (number of pairs that may be shown)``.

    >>> from algorithms import create_model, create_sampler
    >>> s = create_sampler("random", seed=1)
    >>> left, right = s.next_pair(create_model("elo", n_items=5))
    >>> left != right
    True
    """

    knows_probability = True

    def _choose(self, ctx: PickContext) -> tuple[int, int, float | None] | None:
        return self._random_pair(ctx)


@register_sampler("balanced")
class BalancedSampler(Sampler):
    """Least-shown first, like All Our Ideas' catch-up: the two active items with the
    fewest observed votes, ties broken at random; the pair is unblocked per voter.

    Ignores the model's scores entirely: every item gets the same share of votes.
    """

    def _choose(self, ctx: PickContext) -> tuple[int, int, float | None] | None:
        # counts are integers, so a uniform [0, 1) jitter only breaks ties
        key = self.counts[: ctx.n] + self.rng.random(ctx.n)
        if ctx.active is not None:
            key[~ctx.active] = np.inf
        i = int(np.argmin(key))
        j = self._best_partner(i, -key, ctx)
        return None if j is None else (i, j, None)
