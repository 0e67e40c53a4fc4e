"""Rankings from a model: the ranked rows of the ideas shown.

:func:`rank_view` turns a model and a :class:`ResultsView` (the ideas and their counters,
copied out of a projection under the repository's lock) into ranked
:class:`~ranker.domain.IdeaResult` rows; it does the model work (refit, Laplace summaries,
rank simulation) and so runs outside the lock, in :mod:`ranker.ranking_cache`.
"""

from __future__ import annotations

from typing import Any

import msgspec
import numpy as np
from numpy.typing import NDArray

from algorithms import ModelState, PairwiseModel, Posterior
from algorithms.base import FloatArray
from algorithms.summaries import (
    p_beats_random,
    point_ranks,
    rank_ranges,
    score_sd,
    tiers_from_ranges,
)
from ranker.domain import IdeaResult
from ranker.rules import PLACE_MIN_VOTES, IdeaStatus

__all__ = ["ResultsView", "placed_mask", "rank_view", "subset"]


class ResultsView(msgspec.Struct, frozen=True, kw_only=True):
    """The ideas to rank and their counters, copied out of a projection."""

    idx: NDArray[np.int64]
    texts: list[str]
    statuses: list[IdeaStatus]
    wins: list[int]
    losses: list[int]
    ties: list[int]
    skips: list[int]
    shown_left: list[int]
    shown_right: list[int]
    n_votes: int


def placed_mask(view: ResultsView, min_votes: int = PLACE_MIN_VOTES) -> NDArray[np.bool_]:
    """Which ideas of ``view`` have enough answers to be placed: at least ``min_votes``
    counted answers (wins, losses, ties; not skips), ``rules.PLACE_MIN_VOTES`` by default."""
    counted = np.asarray(view.wins) + np.asarray(view.losses) + np.asarray(view.ties)
    return np.asarray(counted >= min_votes, dtype=np.bool_).reshape(-1)


def rank_view(
    view: ResultsView,
    model: PairwiseModel,
    level: float,
    *,
    min_votes: int = PLACE_MIN_VOTES,
    seed: int = 0,
) -> list[IdeaResult]:
    """The ranked ideas of ``view`` under ``model`` (scores, intervals, ranks, tiers).

    Ideas with fewer than ``min_votes`` counted answers are not placed (:func:`placed_mask`):
    ranks, rank ranges and tiers are those among the placed ideas, which come first, best
    first; the others follow, by score, with ``rank`` after the placed ones, ``rank_lo..
    rank_hi`` the whole list (not estimated) and ``tier`` 0. Scores, intervals and
    ``p_beats_random`` are the model's for every idea; ``seed`` seeds the rank simulation.
    """
    n = int(view.idx.size)
    if n == 0:
        return []
    every = subset(model, view.idx, view.n_votes)
    score = np.asarray(every.scores(), dtype=np.float64)
    low, high = every.intervals(level)
    beats = p_beats_random(every)
    placed = placed_mask(view, min_votes)
    rank = np.zeros(n, dtype=np.int64)
    rank_lo, rank_hi = np.ones(n, dtype=np.int64), np.full(n, n, dtype=np.int64)
    tier = np.zeros(n, dtype=np.int64)
    pos = np.flatnonzero(placed)
    if pos.size:
        part = subset(every, pos.astype(np.int64), view.n_votes)
        rank[pos] = point_ranks(score[pos])
        rank_lo[pos], rank_hi[pos] = rank_ranges(part, level, seed=seed)
        tier[pos] = tiers_from_ranges(rank[pos], rank_lo[pos], rank_hi[pos])
    rest = np.flatnonzero(~placed)
    rank[rest] = pos.size + point_ranks(score[rest])
    out = []
    for k in np.argsort(rank, kind="stable").tolist():
        out.append(
            IdeaResult(
                idea=int(view.idx[k]),
                text=view.texts[k],
                status=view.statuses[k],
                score=float(score[k]),
                low=float(low[k]),
                high=float(high[k]),
                rank=int(rank[k]),
                rank_lo=int(rank_lo[k]),
                rank_hi=int(rank_hi[k]),
                tier=int(tier[k]),
                p_beats_random=float(beats[k]),
                wins=view.wins[k],
                losses=view.losses[k],
                ties=view.ties[k],
                skips=view.skips[k],
                shown_left=view.shown_left[k],
                shown_right=view.shown_right[k],
                placed=bool(placed[k]),
            )
        )
    return out


class _Subset(PairwiseModel):
    """Read-only view of ``model`` restricted to the items ``idx`` (e.g. the active ideas),
    so :func:`algorithms.summaries.summarize` ranks only what is shown."""

    def __init__(self, model: PairwiseModel, idx: NDArray[np.int64], n_votes: int) -> None:
        super().__init__(int(idx.size))
        self._model, self._idx, self._n_votes = model, idx, n_votes

    @property
    def n_items(self) -> int:
        return int(self._idx.size)

    @property
    def n_votes(self) -> int:
        return self._n_votes

    def _read_only(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("a subset view is read-only")

    update = fit = add_items = _read_only

    def scores(self) -> FloatArray:
        return np.asarray(self._model.scores(), dtype=np.float64)[self._idx]

    def posterior(self) -> Posterior:
        post = self._model.posterior()
        return Posterior(np.asarray(post.mean)[self._idx], np.asarray(post.var)[self._idx])

    def intervals(self, level: float = 0.95) -> tuple[FloatArray, FloatArray]:
        low, high = self._model.intervals(level)
        return np.asarray(low)[self._idx], np.asarray(high)[self._idx]

    def score_sd(self) -> FloatArray:
        return np.asarray(score_sd(self._model), dtype=np.float64)[self._idx]

    def sample_scores(self, size: int, seed: int | np.random.Generator | None = None) -> FloatArray:
        return np.asarray(self._model.sample_scores(size, seed), dtype=np.float64)[:, self._idx]

    def state(self) -> ModelState:
        raise TypeError("a subset view has no state of its own")

    @classmethod
    def from_state(cls, state: ModelState) -> _Subset:
        raise TypeError("a subset view has no state of its own")


def subset(model: PairwiseModel, idx: NDArray[np.int64], n_votes: int) -> PairwiseModel:
    """``model`` itself when ``idx`` is every item, else a read-only view of those items."""
    if idx.size == model.n_items and np.array_equal(idx, np.arange(model.n_items)):
        return model
    return _Subset(model, idx, n_votes)
