"""Rankings per participant group, shown for what they are.

All groups are fitted at once by ``group-bt`` (:class:`algorithms.GroupBT`): each group's
score of an idea is the overall score plus a deviation shrunk towards 0, with the spread of
the deviations learnt from the votes. A small group therefore stays close to the overall
ranking until its votes say otherwise, and a difference is *credible* only when its interval
at the survey's level excludes 0 (the joint posterior, so shared votes count once).

A group is ranked only once it has enough votes (:data:`ranker.rules.GROUP_MIN_COMPARISONS`):
before that its status is ``no_votes`` or ``too_few_votes`` and it carries no order at all.

:func:`prepare_groups` runs under the repository's lock and copies the answers (with each
voter's group) and the ideas; the fit, rank ranges and differences run outside it, in the
:class:`~ranker.ranking_cache.RankingCache`, once per log position.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

import msgspec
import numpy as np
from numpy.typing import NDArray

from algorithms import GroupBT, ModelState, PairwiseModel, Posterior, VoteContext
from algorithms.base import FloatArray
from ranker.domain import Results
from ranker.projection import Projection
from ranker.ranking import ResultsView, rank_view
from ranker.rules import GROUP_MIN_COMPARISONS, IdeaStatus, RankStatus

__all__ = [
    "GROUP_MODEL",
    "GroupDisagreement",
    "GroupResult",
    "GroupResults",
    "GroupShift",
    "group_status",
    "prepare_groups",
]

GROUP_MODEL = "group-bt"
"""The model the group rankings and their differences come from."""


class GroupShift(msgspec.Struct, frozen=True, kw_only=True):
    """How one group's score of an idea differs from the overall score (log-odds)."""

    idea: int
    diff: float
    """Group score minus overall score (posterior mean)."""
    low: float
    high: float
    """Interval of ``diff`` at the results' level."""
    p_higher: float
    """Posterior probability that the group scores the idea higher than everyone."""
    credible: bool
    """The interval excludes 0: a difference worth showing."""
    direction: Literal["higher", "lower"] | None = None
    """The credible difference's sign (``null`` when it is not credible)."""


class GroupDisagreement(msgspec.Struct, frozen=True, kw_only=True):
    """A credible difference between two ranked groups on one idea."""

    idea: int
    text: str
    higher: str
    """The group that scores the idea higher."""
    lower: str
    diff: float
    """Score in ``higher`` minus score in ``lower`` (log-odds, > 0)."""
    low: float
    high: float
    p_higher: float
    """Posterior probability that ``higher`` does score the idea higher than ``lower``."""


class GroupResult(msgspec.Struct, frozen=True, kw_only=True):
    """One group: its ranking (``results.ideas``, empty unless ``status`` is ``ranked``)."""

    results: Results
    status: RankStatus
    votes_to_rank: int
    """Votes the group needs before it is ranked (the rule of ``GROUP_MIN_COMPARISONS``)."""
    vs_overall: list[GroupShift] = msgspec.field(default_factory=list)


class GroupResults(msgspec.Struct, frozen=True, kw_only=True):
    """Every group of a survey, from one joint ``group-bt`` fit."""

    survey: str
    level: float
    seq: int
    model: str = GROUP_MODEL
    spread: float = 0.0
    """Fitted between-group standard deviation of the scores (0: no group differs)."""
    groups: dict[str, GroupResult] = msgspec.field(default_factory=dict)
    disagreements: list[GroupDisagreement] = msgspec.field(default_factory=list)
    """Credible differences between ranked groups, largest first."""


def group_status(n_votes: int, n_ideas: int) -> tuple[RankStatus, int]:
    """A group's status by the rule of :data:`~ranker.rules.GROUP_MIN_COMPARISONS`, and the
    votes it needs to be ranked.

    >>> group_status(0, 32), group_status(79, 32), group_status(80, 32)
    (('no_votes', 80), ('too_few_votes', 80), ('ranked', 80))
    """
    need = max(1, math.ceil(GROUP_MIN_COMPARISONS * n_ideas / 2))
    if n_votes == 0:
        return "no_votes", need
    return ("ranked" if n_votes >= need else "too_few_votes"), need


class _GroupView(PairwiseModel):
    """Read-only view of one group's scores of a fitted :class:`GroupBT` as a model, so
    :func:`~ranker.ranking.rank_view` ranks a group as it ranks the survey."""

    def __init__(self, model: GroupBT, group: int) -> None:
        super().__init__(model.n_items)
        self._model, self._g = model, group

    @property
    def n_items(self) -> int:
        return self._model.n_items

    @property
    def n_votes(self) -> int:
        return self._model.n_votes

    def _read_only(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("a group view is read-only")

    update = fit = add_items = _read_only

    def scores(self) -> FloatArray:
        return self._model.group_scores(self._g)

    def score_sd(self) -> FloatArray:
        return self._model.group_sd(self._g)

    def posterior(self) -> Posterior:
        return Posterior(self.scores(), self.score_sd() ** 2)

    def intervals(self, level: float = 0.95) -> tuple[FloatArray, FloatArray]:
        return self._model.group_intervals(self._g, level)

    def sample_scores(self, size: int, seed: int | np.random.Generator | None = None) -> FloatArray:
        return self._model.sample_group_scores(self._g, size, seed)

    def state(self) -> ModelState:
        raise TypeError("a group view has no state of its own")

    @classmethod
    def from_state(cls, state: ModelState) -> _GroupView:
        raise TypeError("a group view has no state of its own")


class _Rows(msgspec.Struct, frozen=True):
    """Every active answer (skips included: ``y`` is NaN) with its voter's group index."""

    left: NDArray[np.int64]
    right: NDArray[np.int64]
    y: NDArray[np.float64]
    group: NDArray[np.int64]
    voter: NDArray[np.int64]


def _copy_rows(proj: Projection, groups: list[str]) -> _Rows:
    index = {g: k for k, g in enumerate(groups)}
    of = {v.index: index.get(v.group, -1) if v.group else -1 for v in proj.voters.values()}
    rows = [r for r in proj.votes if r.active]
    return _Rows(
        np.array([r.left for r in rows], dtype=np.int64),
        np.array([r.right for r in rows], dtype=np.int64),
        np.array([np.nan if r.y is None else r.y for r in rows], dtype=np.float64),
        np.array([of[r.voter] for r in rows], dtype=np.int64),
        np.array([r.voter for r in rows], dtype=np.int64),
    )


def _group_view(base: ResultsView, rows: _Rows, mask: NDArray[np.bool_], n: int) -> ResultsView:
    """``base`` with the counters of the answers in ``mask`` only (a group's own)."""
    left, right, y = rows.left[mask], rows.right[mask], rows.y[mask]
    skip, tie = np.isnan(y), y == 0.5
    won_l, won_r = y > 0.5, y < 0.5

    def count(idx: NDArray[np.int64], where: NDArray[np.bool_]) -> NDArray[np.int64]:
        return np.bincount(idx[where], minlength=n)

    every = np.ones(left.shape[0], dtype=np.bool_)
    wins = count(left, won_l) + count(right, won_r)
    losses = count(right, won_l) + count(left, won_r)
    ties, skips = count(left, tie) + count(right, tie), count(left, skip) + count(right, skip)
    shown_l, shown_r = count(left, every), count(right, every)
    ids = base.idx

    def pick(a: NDArray[np.int64]) -> list[int]:
        return [int(v) for v in a[ids]]

    return msgspec.structs.replace(
        base,
        wins=pick(wins),
        losses=pick(losses),
        ties=pick(ties),
        skips=pick(skips),
        shown_left=pick(shown_l),
        shown_right=pick(shown_r),
        n_votes=int(np.count_nonzero(~skip)),
    )


def _shifts(model: GroupBT, g: int, idx: NDArray[np.int64], level: float) -> list[GroupShift]:
    d = model.group_difference(g, -1, level)
    out = []
    for i in idx.tolist():
        credible = bool(d.credible[i])
        out.append(
            GroupShift(
                idea=int(i),
                diff=float(d.diff[i]),
                low=float(d.low[i]),
                high=float(d.high[i]),
                p_higher=float(d.prob_positive[i]),
                credible=credible,
                direction=("higher" if d.diff[i] > 0 else "lower") if credible else None,
            )
        )
    return out


def _disagreements(
    model: GroupBT, ranked: list[tuple[int, str]], view: ResultsView, level: float
) -> list[GroupDisagreement]:
    out = []
    for a, (g, g_name) in enumerate(ranked):
        for h, h_name in ranked[a + 1 :]:
            d = model.group_difference(g, h, level)
            for k, i in enumerate(view.idx.tolist()):
                if not d.credible[i]:
                    continue
                up = bool(d.diff[i] > 0)
                sign = 1.0 if up else -1.0
                lo, hi = sorted((sign * float(d.low[i]), sign * float(d.high[i])))
                out.append(
                    GroupDisagreement(
                        idea=int(i),
                        text=view.texts[k],
                        higher=g_name if up else h_name,
                        lower=h_name if up else g_name,
                        diff=abs(float(d.diff[i])),
                        low=lo,
                        high=hi,
                        p_higher=float(d.prob_positive[i] if up else 1.0 - d.prob_positive[i]),
                    )
                )
    return sorted(out, key=lambda x: (-x.diff, x.idea))


def prepare_groups(
    proj: Projection, survey_id: str, level: float, statuses: tuple[IdeaStatus, ...]
) -> Callable[[], GroupResults]:
    """Copy what the group rankings need (under the lock); return the work (outside it)."""
    survey = proj.survey
    assert survey is not None
    groups, n_items, seq = list(survey.groups), len(proj.ideas), proj.seq
    base = proj.results_view(statuses)
    n_active = int(np.count_nonzero(proj.active_mask()))
    rows = _copy_rows(proj, groups)

    def run() -> GroupResults:
        decisive = ~np.isnan(rows.y)
        model = GroupBT(n_items=n_items)
        model.fit(
            rows.left[decisive],
            rows.right[decisive],
            rows.y[decisive],
            context=VoteContext(group=rows.group[decisive]),
        )
        out: dict[str, GroupResult] = {}
        ranked: list[tuple[int, str]] = []
        for g, name in enumerate(groups):
            mine = rows.group == g
            view = _group_view(base, rows, mine, n_items)
            status, need = group_status(view.n_votes, n_active)
            ideas, shifts = [], []
            if status == "ranked":
                ranked.append((g, name))
                ideas = rank_view(view, _GroupView(model, g), level)
                shifts = _shifts(model, g, base.idx, level)
            results = Results(
                survey=survey_id,
                model=GROUP_MODEL,
                level=level,
                n_votes=view.n_votes,
                n_skips=int(np.count_nonzero(mine)) - view.n_votes,
                n_voters=int(np.unique(rows.voter[mine]).shape[0]),
                seq=seq,
                group=name,
                ideas=ideas,
            )
            out[name] = GroupResult(
                results=results, status=status, votes_to_rank=need, vs_overall=shifts
            )
        return GroupResults(
            survey=survey_id,
            level=level,
            seq=seq,
            spread=float(model.spread),
            groups=out,
            disagreements=_disagreements(model, ranked, base, level),
        )

    return run
