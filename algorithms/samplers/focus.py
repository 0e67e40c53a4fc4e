"""``settle``: the survey default: ``adaptive`` plus a share of votes on the top-``k`` boundary.

What the dashboard promises is a settled top ``k`` (:mod:`algorithms.settle`): every idea
either known to be in or out, or practically tied with the boundary (preferred by less
than ``margin``). ``adaptive`` spends its votes on the whole order; the boundary gets only
its share of them. ``settle`` gives a share ``focus`` of its picks to the boundary pair
most at risk, and the rest to ``adaptive`` (so the whole order keeps improving).

**The boundary pick** (LUCB with an indifference zone; Kalyanakrishnan et al. 2012).
With ``T`` the current top ``k`` by posterior mean and ``δ = logit(margin)``, a pair
``(i ∈ T, j ∉ T)`` is at risk when ``j`` may be preferred to ``i`` by more than ``δ``;
its risk is ``r_ij = (μ_j - μ_i - δ) / sqrt(v_i + v_j)`` (``P(s_j - s_i > δ) = Φ(r_ij)``
under the Gaussian marginals). The pick is the unblocked pair with the largest risk,
among the insiders and the ``candidates`` outsiders with the highest upper bound
``μ + 2 σ``. When no pair's risk exceeds ``-z`` (``Φ(-z) = 1 - level``) the boundary is
resolved and the pick goes to ``adaptive``.

The selection probability stays exact: ``focus [pair is the boundary pick] + (1 - focus)
p_adaptive(pair)``.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
from scipy.special import logit, ndtri

from algorithms.samplers._kernels import boundary_pairs
from algorithms.samplers.base import PickContext, register_sampler
from algorithms.samplers.gain import AdaptiveSampler

__all__ = ["SettleSampler"]


@register_sampler("settle")
class SettleSampler(AdaptiveSampler):
    """``adaptive`` with a share ``focus`` of picks on the top-``k`` boundary pair most at
    risk (see the module docstring).

    Parameters
    ----------
    k
        Size of the top set the survey reports on (the dashboard's "settled top k").
    margin
        Indifference margin: ideas preferred by less than ``margin`` (e.g. 55/45) are
        practically tied.
    level
        Level at which a boundary pair counts as resolved.
    focus
        Share of picks given to the boundary while it is unresolved (``[0, 1]``).
    candidates
        Outsiders (by upper bound) considered as challengers of the insiders.
    **adaptive
        The parameters of ``adaptive`` for the other picks.

    >>> from algorithms import create_model, create_sampler
    >>> s = create_sampler("settle", seed=0, k=2)
    >>> pair = s.next_pair(create_model("bt-online", n_items=5), voter="ann")
    >>> pair[0] != pair[1] and 0.0 < pair.probability <= 1.0
    True
    """

    param_names: ClassVar[tuple[str, ...]] = (
        *AdaptiveSampler.param_names,
        *("k", "margin", "level", "focus", "candidates", "slack"),
    )

    def __init__(
        self,
        *,
        seed: int | None = None,
        k: int = 10,
        margin: float = 0.55,
        level: float = 0.95,
        focus: float = 0.2,
        candidates: int = 64,
        slack: float = 2.0,
        explore: float = 0.1,
        floor: int = 1,
        starts: int = 1,
        dist: float | None = 2.4,
        ramp: float = 20.0,
        verify: float = 0.0,
        verify_from: int = 20,
    ) -> None:
        super().__init__(
            seed=seed,
            explore=explore,
            floor=floor,
            starts=starts,
            dist=dist,
            ramp=ramp,
            verify=verify,
            verify_from=verify_from,
        )
        if not 0.5 < float(level) < 1.0:
            raise ValueError(f"level must be in (0.5, 1), got {level!r}")
        if not 0.0 <= float(focus) <= 1.0:
            raise ValueError(f"focus must be in [0, 1], got {focus!r}")
        if int(candidates) != candidates or candidates < 1:
            raise ValueError(f"candidates must be an int >= 1, got {candidates!r}")
        self.set_target(k=k, margin=margin)  # checks and sets k, margin and the threshold δ
        self.level = float(level)
        self.focus = float(focus)
        self.candidates = int(candidates)
        self.slack = float(slack)
        self._z = float(ndtri(self.level)) + self.slack

    def set_target(self, *, k: int | None = None, margin: float | None = None) -> None:
        """Aim at another top ``k`` or margin (a survey's settings changed)."""
        if k is not None:
            if int(k) != k or k < 1:
                raise ValueError(f"k must be an int >= 1, got {k!r}")
            self.k = int(k)
        if margin is not None:
            if not 0.5 < float(margin) < 1.0:
                raise ValueError(f"margin must be in (0.5, 1), got {margin!r}")
            self.margin = float(margin)
            self._delta = float(logit(self.margin))

    def _choose(self, ctx: PickContext) -> tuple[int, int, float | None] | None:
        # a new idea (fewer than ``floor`` votes) is shown first, by adaptive's floor
        edge = self._boundary_pick(ctx) if self.focus > 0.0 and not self._new_idea(ctx) else None
        if edge is not None and self.rng.random() < self.focus:
            i, j = edge
            return i, j, self.focus + (1.0 - self.focus) * self._adaptive_prob(ctx, i, j)
        got = super()._choose(ctx)
        if got is None or edge is None:
            return got
        i, j, p = got
        hit = {i, j} == set(edge)
        return i, j, (1.0 - self.focus) * (p or 0.0) + self.focus * hit

    def _new_idea(self, ctx: PickContext) -> bool:
        if self.floor <= 0:
            return False
        c = self.counts[: ctx.n]
        if ctx.active is not None:
            c = c[ctx.active]
        return bool(c.size) and int(c.min()) < self.floor

    def _adaptive_prob(self, ctx: PickContext, i: int, j: int) -> float:
        """Probability that ``adaptive``'s draw would have been the pair ``{i, j}``."""
        e = self.share(ctx)
        greedy = self._greedy_pick(ctx)
        hit = greedy is not None and {i, j} == set(greedy)
        return e * self._explore_prob(ctx, i, j) + (1.0 - e) * hit

    def _boundary_pick(self, ctx: PickContext) -> tuple[int, int] | None:
        """The unblocked boundary pair most at risk, or ``None`` when it is resolved."""
        k = min(self.k, ctx.m - 1)
        if k < 1:
            return None
        c = min(self.candidates, ctx.m - k)
        act = ctx.active
        ii, jj, risk = boundary_pairs(
            ctx.post.mean,
            ctx.post.var,
            _NO_MASK if act is None else act,
            act is not None,
            k,
            c,
            self._delta,
            4 * k,
        )
        for i, j, r in zip(ii.tolist(), jj.tolist(), risk.tolist(), strict=True):
            if i < 0 or not r > -self._z or not math.isfinite(r):
                return None
            if not ctx.blocked(i, j):
                return i, j
        return None


_NO_MASK = np.zeros(0, dtype=np.bool_)
