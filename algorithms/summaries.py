"""Summaries of a fitted model: rank ranges, tiers, P(beats a random other), conservative score.

All functions take any registered :class:`~algorithms.base.PairwiseModel`. They read the
model (``scores``, ``intervals``, ``prob``, ``sample_scores``, ``posterior``) and never
change what it has learned. See ``docs/models.md`` for the rules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.special

from algorithms.base import FloatArray, IntArray, PairwiseModel

__all__ = [
    "Summary",
    "comparison_intervals",
    "conservative_score",
    "p_beats_random",
    "point_ranks",
    "rank_ranges",
    "score_sd",
    "summarize",
    "tiers",
    "votes_to_settle",
]


def _check_level(level: float) -> None:
    if not (isinstance(level, float | int) and 0.0 < level < 1.0):
        raise ValueError(f"level must be in (0, 1), got {level!r}")


def point_ranks(scores: FloatArray) -> IntArray:
    """1-based ranks by score, 1 = best; equal scores keep index order.

    >>> point_ranks(np.array([0.2, 1.5, -1.0])).tolist()
    [2, 1, 3]
    """
    order = np.argsort(-np.asarray(scores), kind="stable")
    ranks = np.empty(order.shape[0], dtype=np.int64)
    ranks[order] = np.arange(1, order.shape[0] + 1)
    return ranks


def score_sd(model: PairwiseModel) -> FloatArray:
    """Posterior standard deviation of each score (``bt``: Laplace; others: the posterior view)."""
    sd = getattr(model, "score_sd", None)
    if callable(sd):
        return np.asarray(sd(), dtype=np.float64)
    return np.sqrt(np.asarray(model.posterior().var, dtype=np.float64))


def rank_ranges(
    model: PairwiseModel,
    level: float = 0.95,
    n_samples: int = 1000,
    seed: int | np.random.Generator | None = 0,
) -> tuple[IntArray, IntArray]:
    """Central ``level`` range of each item's rank (1-based) by simulation.

    Draws ``n_samples`` joint score vectors from ``model.sample_scores``, ranks each
    draw, and takes the lower/upper ``(1 - level) / 2`` quantiles of every item's rank.
    The range is widened, if needed, to contain the item's point rank.

    >>> from algorithms import create_model
    >>> m = create_model("bt", n_items=3)
    >>> m.update([0, 0, 1] * 20, [1, 2, 2] * 20, [1.0] * 60)
    >>> lo, hi = rank_ranges(m, n_samples=200)
    >>> lo.tolist(), hi.tolist()
    ([1, 2, 3], [1, 2, 3])
    """
    _check_level(level)
    if not isinstance(n_samples, int) or n_samples < 1:
        raise ValueError(f"n_samples must be an integer >= 1, got {n_samples!r}")
    scores = model.scores()
    n = scores.shape[0]
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy()
    draws = model.sample_scores(n_samples, seed)
    ranks = np.empty(draws.shape, dtype=np.int32)
    chunk = max(1, 4_000_000 // n)
    base = np.arange(1, n + 1, dtype=np.int32)
    for a in range(0, n_samples, chunk):
        block = draws[a : a + chunk]
        order = np.argsort(-block, axis=1)
        np.put_along_axis(ranks[a : a + chunk], order, np.broadcast_to(base, block.shape), axis=1)
    q = (1.0 - level) / 2.0
    lo = np.quantile(ranks, q, axis=0, method="lower").astype(np.int64)
    hi = np.quantile(ranks, 1.0 - q, axis=0, method="higher").astype(np.int64)
    point = point_ranks(scores)
    return np.minimum(lo, point), np.maximum(hi, point)


def comparison_var(model: PairwiseModel) -> FloatArray:
    """Per-item score variance that matters when comparing items.

    For models whose scores share an uncertain common level (``bt``: ``model.level_var``,
    which cancels in every difference ``s_i - s_j``) that is ``sd^2 - level_var``, the
    variance of the centred score; for the others the plain posterior variance.
    """
    var = score_sd(model) ** 2
    level_var = getattr(model, "level_var", None)
    if level_var is None:
        return var
    return np.maximum(var - float(level_var), 0.0)


def comparison_intervals(
    model: PairwiseModel, level: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Intervals for comparing items: ``model.intervals`` without the common-level variance.

    Models with a ``level_var`` attribute (``bt``) get ``score ± z sqrt(sd^2 - level_var)``;
    the others their ``intervals(level)`` unchanged.
    """
    _check_level(level)
    level_var = getattr(model, "level_var", None)
    if level_var is None:
        low, high = model.intervals(level)
        return np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
    score = np.asarray(model.scores(), dtype=np.float64)
    z = float(scipy.special.ndtri(0.5 + level / 2.0))
    sd = np.sqrt(comparison_var(model))
    return score - z * sd, score + z * sd


def tiers(model: PairwiseModel, level: float = 0.95) -> IntArray:
    """Tiers of statistically tied items, 1 = top tier.

    Chatbot Arena's rule: item ``i``'s *arena rank* is ``1 + #{j : low_j > high_i}``,
    the number of items whose ``level`` interval lies wholly above ``i``'s, plus one.
    For models whose scores share an uncertain common level (``bt``: ``model.level_var``)
    the intervals are those of the centred scores, ``score ± z sqrt(sd^2 - level_var)``:
    the common level cancels in every comparison. Items
    are taken in score order and the arena rank is made non-decreasing along that order
    (a running maximum), so a higher score never lands in a worse tier; items with equal
    arena rank form one tier, numbered 1, 2, ... from the top.

    >>> from algorithms import create_model
    >>> m = create_model("bt", n_items=3)
    >>> m.update([0, 1] * 40, [1, 2] * 40, [1.0, 0.5] * 40)
    >>> tiers(m).tolist()
    [1, 2, 2]
    """
    _check_level(level)
    scores = model.scores()
    n = scores.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    low, high = comparison_intervals(model, level)
    sorted_low = np.sort(low)
    better = n - np.searchsorted(sorted_low, high, side="right")  # low_j > high_i
    arena = 1 + better
    order = np.argsort(-scores, kind="stable")
    mono = np.maximum.accumulate(arena[order])
    tier_sorted = np.cumsum(np.concatenate([[1], np.diff(mono) > 0]))
    out = np.empty(n, dtype=np.int64)
    out[order] = tier_sorted
    return out


def p_beats_random(model: PairwiseModel, block: int = 2_000_000) -> FloatArray:
    """Probability of beating a uniformly chosen *other* item: mean of ``prob(i, j)``, j != i.

    Plug-in at the point scores (``model.prob``), not integrated over the posterior; the
    exact average over all ``n(n-1)`` pairs, computed in blocks. With fewer than two
    items the answer is 0.5.
    """
    n = model.scores().shape[0]
    if n < 2:
        return np.full(n, 0.5)
    out = np.empty(n)
    rows = max(1, block // n)
    cols = np.arange(n)
    for a in range(0, n, rows):
        ii = np.arange(a, min(n, a + rows))
        p = np.asarray(model.prob(np.repeat(ii, n), np.tile(cols, ii.shape[0])), dtype=np.float64)
        p = p.reshape(ii.shape[0], n)
        p[np.arange(ii.shape[0]), ii] = 0.0
        out[ii] = p.sum(axis=1) / (n - 1)
    return out


def conservative_score(model: PairwiseModel, z: float = 1.96) -> FloatArray:
    """``score - z * sd``: a lower confidence bound that ranks well-measured items first."""
    if not math.isfinite(z) or z < 0:
        raise ValueError(f"z must be a finite number >= 0, got {z!r}")
    return np.asarray(model.scores() - z * score_sd(model), dtype=np.float64)


def votes_to_settle(model: PairwiseModel, k: int, level: float = 0.95) -> int:
    """Rough number of further votes until the top ``k`` is separated from the rest.

    Method: the boundary pair is the ``k``-th and ``(k+1)``-th item by score, with gap
    ``g`` and current comparison variances ``v_a, v_b`` (:func:`comparison_var`: the
    common level of ``bt`` scores cancels in the gap). It is settled when
    ``z * sqrt(v_a + v_b) < g``. Variances shrink like ``1 / votes`` of each item, so
    both must shrink by the factor ``f = z^2 (v_a + v_b) / g^2``; with ``c`` the
    current votes per item and each new vote touching two items, that is about
    ``n * c * (f - 1) / 2`` more votes spread evenly (or fewer with a sampler that
    targets the boundary). Returns 0 when settled. Items that are exactly tied give a
    very large number (capped at ``10**12``).
    """
    _check_level(level)
    scores = model.scores()
    n = scores.shape[0]
    if not isinstance(k, int) or not 1 <= k < n:
        raise ValueError(f"k must be an integer in [1, n_items - 1], got {k!r}")
    order = np.argsort(-scores, kind="stable")
    a, b = order[k - 1], order[k]
    var = comparison_var(model)
    z = float(scipy.special.ndtri(0.5 + level / 2.0))
    gap = float(scores[a] - scores[b])
    need = z * z * float(var[a] + var[b])
    if gap * gap > need:
        return 0
    if gap <= 0.0:
        return 10**12
    per_item = 2.0 * model.n_votes / n
    factor = need / (gap * gap)
    return int(min(10**12, math.ceil(n * max(per_item, 1.0) * (factor - 1.0) / 2.0)))


@dataclass(frozen=True)
class Summary:
    """Per-item summary arrays (index ``i`` is item ``i``), as read by the CLI and the product."""

    score: FloatArray
    low: FloatArray
    high: FloatArray
    sd: FloatArray
    rank: IntArray
    rank_lo: IntArray
    rank_hi: IntArray
    tier: IntArray
    p_beats_random: FloatArray
    conservative: FloatArray
    level: float


def summarize(
    model: PairwiseModel,
    level: float = 0.95,
    seed: int | np.random.Generator | None = 0,
    n_samples: int = 1000,
) -> Summary:
    """Everything shown next to a ranked list, for every item.

    >>> from algorithms import create_model
    >>> m = create_model("bt", n_items=3)
    >>> m.update([0, 0, 1] * 10, [1, 2, 2] * 10, [1.0, 1.0, 0.5] * 10)
    >>> s = summarize(m)
    >>> s.rank.tolist(), bool(s.low[0] < s.score[0] < s.high[0])
    ([1, 2, 3], True)
    """
    _check_level(level)
    score = np.asarray(model.scores(), dtype=np.float64)
    low, high = model.intervals(level)
    sd = score_sd(model)
    z = float(scipy.special.ndtri(0.5 + level / 2.0))
    rank_lo, rank_hi = rank_ranges(model, level, n_samples=n_samples, seed=seed)
    return Summary(
        score=score,
        low=np.asarray(low, dtype=np.float64),
        high=np.asarray(high, dtype=np.float64),
        sd=sd,
        rank=point_ranks(score),
        rank_lo=rank_lo,
        rank_hi=rank_hi,
        tier=tiers(model, level),
        p_beats_random=p_beats_random(model),
        conservative=score - z * sd,
        level=float(level),
    )
