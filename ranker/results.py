"""Results: the ranked ideas of a survey, of one group, of one voter, and the settle estimate.

Survey and group rankings come from the :class:`~ranker.ranking_cache.RankingCache`: the
prepare step copies what it needs under the repository's lock (a copy of the live model, or
a group's answers; the ideas and counters), and the model work (a group's refit, the Laplace
summaries, rank simulation) runs outside it, at most once per log position.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from algorithms import PairwiseModel
from ranker.domain import Results, TopKEstimate, Voter
from ranker.errors import InvalidInput
from ranker.projection import Projection, VoteRow, new_model
from ranker.ranking import rank_view, settle_estimate
from ranker.ranking_cache import RankingCache
from ranker.repository import ProjectionRepository
from ranker.rules import IdeaStatus, Level, parse

__all__ = ["Rankings", "answer_rows", "fit_fresh"]

Rows = tuple[Any, Any, Any, Any]


def fit_fresh(name: str, n_items: int, rows: Rows) -> PairwiseModel:
    """A fresh model of kind ``name`` over ``n_items`` fitted to ``rows`` (left, right, y,
    voter arrays)."""
    model = new_model(name)
    model.add_items(n_items)
    left, right, y, voter = rows
    if left.size:
        model.fit(left, right, y, voter=voter)
    return model


def answer_rows(
    proj: Projection, *, group: str | None = None, voter: str | None = None
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64], NDArray[np.int64]]:
    """Active non-skip votes (optionally of one group or voter) as arrays."""
    keep: set[int] | None = None
    candidates: Iterable[VoteRow] = proj.votes
    if group is not None:  # the group's voters' own answers, in log order
        members = [v for v in proj.voters.values() if v.group == group]
        keep = {v.index for v in members}
        candidates = [proj.by_seq[q] for q in sorted(q for v in members for q in v.answers)]
    if voter is not None:  # one voter's own answers: O(their answers), not O(log)
        info = proj.voters.get(voter)
        keep = set() if info is None else {info.index}
        candidates = [] if info is None else [proj.by_seq[q] for q in info.answers]
    rows = [
        r for r in candidates if r.active and r.y is not None and (keep is None or r.voter in keep)
    ]
    return (
        np.array([r.left for r in rows], dtype=np.int64),
        np.array([r.right for r in rows], dtype=np.int64),
        np.array([r.y for r in rows], dtype=np.float64),
        np.array([r.voter for r in rows], dtype=np.int64),
    )


def _group_counts(proj: Projection, group: str) -> tuple[int, int, int]:
    """A group's (votes, skips, voters with answers)."""
    members = [v for v in proj.voters.values() if v.group == group]
    idx = {v.index for v in members}
    rows = [r for r in proj.votes if r.active and r.voter in idx]
    n_votes = sum(1 for r in rows if r.y is not None)
    return n_votes, len(rows) - n_votes, sum(1 for v in members if v.answers)


class Rankings:
    """Ranking use cases over the repository and the ranking cache."""

    def __init__(self, repo: ProjectionRepository, cache: RankingCache[Results]) -> None:
        self.repo = repo
        self.cache = cache

    def results(
        self,
        survey_id: str,
        *,
        group: str | None = None,
        level: float = 0.95,
        include_retired: bool = False,
    ) -> Results:
        """Ranked active ideas (plus retired ones if asked), overall or for one group (a
        fresh model of the survey's kind fitted to that group's answers)."""
        level = parse(Level, level, "level")
        statuses: tuple[IdeaStatus, ...] = ("active", "retired") if include_retired else ("active",)

        def prepare(proj: Projection) -> Callable[[], Results]:
            survey = proj.survey
            assert survey is not None
            view = proj.results_view(statuses)
            if group is None:
                model = proj.model_copy()
                n_voters = sum(1 for v in proj.voters.values() if v.answers)
                counts = (proj.n_votes, proj.n_skips, n_voters)
                fit: Callable[[], PairwiseModel] = lambda: model  # noqa: E731
            else:
                if group not in survey.groups:
                    raise InvalidInput(f"unknown group {group!r}", field="group")
                rows, n_items = answer_rows(proj, group=group), len(proj.ideas)
                counts = _group_counts(proj, group)
                fit = lambda: fit_fresh(survey.model, n_items, rows)  # noqa: E731
            seq = proj.seq

            def run() -> Results:
                return Results(
                    survey=survey_id,
                    model=survey.model,
                    level=level,
                    n_votes=counts[0],
                    n_skips=counts[1],
                    n_voters=counts[2],
                    seq=seq,
                    group=group,
                    ideas=rank_view(view, fit(), level),
                )

            return run

        return self.cache.get((survey_id, group, level, include_retired), survey_id, prepare)

    def my_results(self, survey_id: str, voter: Voter, level: float = 0.95) -> Results:
        """The ranking implied by one voter's own answers."""
        level = parse(Level, level, "level")
        with self.repo.lock:
            proj = self.repo.get(survey_id)
            survey = proj.survey
            assert survey is not None
            rows = answer_rows(proj, voter=voter.id)
            info = proj.voters.get(voter.id)
            answers = [] if info is None else info.answers
            n_skips = sum(1 for s in answers if proj.by_seq[s].y is None)
            view = proj.results_view()
            seq, n_items = proj.seq, len(proj.ideas)
        model = fit_fresh(survey.model, n_items, rows)  # outside the lock, as results()
        return Results(
            survey=survey_id,
            model=survey.model,
            level=level,
            n_votes=int(rows[0].size),
            n_skips=n_skips,
            n_voters=1 if rows[0].size else 0,
            seq=seq,
            voter=voter.id,
            ideas=rank_view(view, model, level),
        )

    def votes_needed(self, survey_id: str, k: int = 10, level: float = 0.95) -> TopKEstimate:
        """Estimate of further answers needed to settle the top ``k`` active ideas."""
        level = parse(Level, level, "level")
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise InvalidInput("k must be a positive integer", field="k")
        with self.repo.lock:  # copy under the lock, estimate outside it
            proj = self.repo.get(survey_id)
            model, n_votes = proj.model_copy(), proj.n_votes
            idx = np.flatnonzero(proj.active_mask()).astype(np.int64)
        return settle_estimate(model, idx, n_votes, k, level)
