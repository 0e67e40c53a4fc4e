"""Ranking-quality metrics: rank correlations, top-k overlap, held-out log loss, coverage.

Every function takes plain arrays (scores, true scores, votes) and returns a float.
Higher scores mean better items throughout. Scores of Bradley-Terry models are
identified only up to a common shift, so :func:`interval_coverage` centres the
truth on the estimates before counting; the rank metrics are shift-free anyway.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from algorithms.base import FloatArray, IntArray, PairwiseModel, as_votes

__all__ = [
    "interval_coverage",
    "kendall_tau",
    "log_loss",
    "spearman",
    "topk_precision",
    "topk_recall",
]

_EPS = 1e-15


def _pair(a: ArrayLike, b: ArrayLike, names: tuple[str, str]) -> tuple[FloatArray, FloatArray]:
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(
            f"{names[0]} and {names[1]} must be 1-d arrays of the same length, "
            f"got shapes {x.shape} and {y.shape}"
        )
    if x.shape[0] < 2:
        raise ValueError(f"{names[0]} needs at least 2 items, got {x.shape[0]}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError(f"{names[0]} and {names[1]} must be finite")
    return x, y


def kendall_tau(a: ArrayLike, b: ArrayLike) -> float:
    """Kendall's tau-b between two score vectors (1 same order, -1 reversed).

    >>> kendall_tau([3.0, 2.0, 1.0], [0.9, 0.5, 0.1])
    1.0
    >>> round(kendall_tau([1, 2, 3, 4], [1, 3, 2, 4]), 4)
    0.6667
    """
    x, y = _pair(a, b, ("a", "b"))
    tau = stats.kendalltau(x, y).statistic
    return 0.0 if np.isnan(tau) else float(tau)


def spearman(a: ArrayLike, b: ArrayLike) -> float:
    """Spearman's rank correlation between two score vectors.

    >>> spearman([1, 2, 3, 4], [10, 20, 30, 40])
    1.0
    >>> round(spearman([1, 2, 3, 4], [1, 3, 2, 4]), 4)
    0.8
    """
    x, y = _pair(a, b, ("a", "b"))
    rho = stats.spearmanr(x, y).statistic
    return 0.0 if np.isnan(rho) else float(rho)


def _top(x: FloatArray, k: int, name: str) -> IntArray:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= x.shape[0]:
        raise ValueError(f"{name} must be an integer in [1, {x.shape[0]}], got {k!r}")
    # stable: among equal scores the lower index ranks first
    return np.argsort(-x, kind="stable")[: int(k)]


def topk_precision(scores: ArrayLike, truth: ArrayLike, k: int, k_true: int | None = None) -> float:
    """Share of the estimated top ``k`` that is in the true top ``k_true`` (default ``k``).

    Ties are broken by item index. With ``k_true == k`` precision equals recall.

    >>> topk_precision([5, 4, 3, 2, 1], [5, 3, 4, 1, 2], k=2)
    0.5
    >>> topk_precision([5, 4, 3, 2, 1], [5, 3, 4, 1, 2], k=2, k_true=3)
    1.0
    """
    s, t = _pair(scores, truth, ("scores", "truth"))
    est = _top(s, k, "k")
    true = _top(t, k if k_true is None else k_true, "k_true")
    return float(np.isin(est, true).sum() / est.shape[0])


def topk_recall(scores: ArrayLike, truth: ArrayLike, k: int, k_true: int | None = None) -> float:
    """Share of the true top ``k_true`` (default ``k``) found in the estimated top ``k``.

    >>> topk_recall([5, 4, 3, 2, 1], [5, 3, 4, 1, 2], k=2, k_true=3)
    0.6666666666666666
    >>> topk_recall([5, 4, 3, 2, 1], [5, 3, 4, 1, 2], k=3, k_true=2)
    1.0
    """
    s, t = _pair(scores, truth, ("scores", "truth"))
    est = _top(s, k, "k")
    true = _top(t, k if k_true is None else k_true, "k_true")
    return float(np.isin(true, est).sum() / true.shape[0])


def log_loss(
    model_or_probs: PairwiseModel | ArrayLike,
    left: ArrayLike,
    right: ArrayLike,
    outcome: ArrayLike,
) -> float:
    """Mean held-out log loss (nats per vote) of ``P(left beats right)``.

    ``model_or_probs`` is a fitted model (its :meth:`~algorithms.base.PairwiseModel.prob`
    is used) or an array with one probability per vote. The outcome is the target,
    so a tie (0.5) costs ``-(log p + log(1 - p)) / 2``. Probabilities are clipped to
    ``[1e-15, 1 - 1e-15]``. A coin flip scores ``log 2 ≈ 0.693``.

    >>> round(log_loss([0.5, 0.5], [0, 1], [1, 0], [1.0, 0.0]), 4)
    0.6931
    >>> round(log_loss([0.9, 0.2, 0.5], [0, 1, 2], [1, 2, 0], [1.0, 0.0, 0.5]), 4)
    0.3406
    """
    li, ri, y = as_votes(left, right, outcome)
    if li.size == 0:
        raise ValueError("log_loss needs at least one vote")
    if isinstance(model_or_probs, PairwiseModel):
        if int(max(li.max(), ri.max())) >= model_or_probs.n_items:
            raise ValueError(
                f"item index out of range for a model with n_items={model_or_probs.n_items}"
            )
        p: Any = model_or_probs.prob(li, ri)
    else:
        p = model_or_probs
    pa = np.atleast_1d(np.asarray(p, dtype=np.float64))
    if pa.shape != y.shape:
        raise ValueError(f"probs must have one entry per vote ({y.shape[0]}), got {pa.shape}")
    if not np.all((pa >= 0.0) & (pa <= 1.0)):
        raise ValueError("probs must be in [0, 1]")
    pa = np.clip(pa, _EPS, 1.0 - _EPS)
    return float(-np.mean(y * np.log(pa) + (1.0 - y) * np.log1p(-pa)))


def interval_coverage(
    low: ArrayLike, high: ArrayLike, truth: ArrayLike, *, centre: bool = True
) -> float:
    """Share of items whose true score lies in ``[low, high]``.

    Bradley-Terry scores are identified only up to a common shift, so by default
    the truth is shifted to have the same mean as the interval midpoints
    (``truth - mean(truth) + mean((low + high) / 2)``) before counting; pass
    ``centre=False`` when truth and estimates share an anchor.

    >>> interval_coverage([0.0, 1.0, 2.0], [1.0, 2.0, 3.0], [10.4, 11.5, 12.6])
    1.0
    >>> interval_coverage([0.0, 1.0, 2.0], [1.0, 2.0, 3.0], [10.4, 11.5, 12.6], centre=False)
    0.0
    """
    lo, hi = _pair(low, high, ("low", "high"))
    _, t = _pair(low, truth, ("low", "truth"))
    if np.any(lo > hi):
        raise ValueError("low must be <= high for every item")
    if centre:
        t = t - t.mean() + (0.5 * (lo + hi)).mean()
    return float(np.mean((lo <= t) & (t <= hi)))
