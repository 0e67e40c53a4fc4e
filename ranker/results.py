"""Results: the ranked ideas of a survey, of its groups, of one voter, and the settle estimate.

Survey and group rankings come from the :class:`~ranker.ranking_cache.RankingCache`: the
prepare step copies what it needs under the repository's lock (a copy of the live model, or
the answers with their groups; the ideas and counters), and the model work (the groups' joint
fit, the Laplace summaries, rank simulation) runs outside it, at most once per log position.
Groups are ranked by :mod:`ranker.groups`, a voter's own answers read by :mod:`ranker.personal`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ranker.domain import Results, Voter
from ranker.errors import InvalidInput
from ranker.groups import GroupResult, GroupResults, prepare_groups
from ranker.integrity import Crowd, down_weight
from ranker.personal import PersonalResults, personal_results
from ranker.projection import Projection, VoteRow
from ranker.ranking import rank_view
from ranker.ranking_cache import RankingCache
from ranker.repository import ProjectionRepository
from ranker.rules import IdeaStatus, Level, parse

__all__ = ["Rankings", "answer_rows"]


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


class Rankings:
    """Ranking use cases over the repository and the ranking cache."""

    def __init__(self, repo: ProjectionRepository, cache: RankingCache[Any]) -> None:
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
        """Ranked active ideas (plus retired ones if asked), overall or for one group (its
        entry of :meth:`groups`: no ideas unless the group has enough votes)."""
        if group is not None:
            return self.group(survey_id, group, level, include_retired).results
        level = parse(Level, level, "level")
        statuses: tuple[IdeaStatus, ...] = ("active", "retired") if include_retired else ("active",)

        def prepare(proj: Projection) -> Callable[[], Results]:
            survey = proj.survey
            assert survey is not None
            view = proj.results_view(statuses)
            model = proj.model_copy()
            n_voters = sum(1 for v in proj.voters.values() if v.answers)
            counts = (proj.n_votes, proj.n_skips, n_voters)
            seq = proj.seq
            crowd = Crowd.of(proj) if survey.down_weight_flagged else None

            def run() -> Results:
                lowered = 0 if crowd is None else down_weight(model, crowd)
                return Results(
                    survey=survey_id,
                    model=survey.model,
                    level=level,
                    n_votes=counts[0],
                    n_skips=counts[1],
                    n_voters=counts[2],
                    seq=seq,
                    ideas=rank_view(view, model, level),
                    down_weighted=lowered,
                )

            return run

        out: Results = self.cache.get((survey_id, None, level, include_retired), survey_id, prepare)
        return out

    def groups(
        self, survey_id: str, level: float = 0.95, include_retired: bool = False
    ) -> GroupResults:
        """Every participant group's ranking from one joint ``group-bt`` fit, with each
        group's status, its credible differences from the overall score and between groups
        (:mod:`ranker.groups`)."""
        level = parse(Level, level, "level")
        statuses: tuple[IdeaStatus, ...] = ("active", "retired") if include_retired else ("active",)

        def prepare(proj: Projection) -> Callable[[], GroupResults]:
            return prepare_groups(proj, survey_id, level, statuses)

        key = ("groups", survey_id, level, include_retired)
        out: GroupResults = self.cache.get(key, survey_id, prepare)
        return out

    def group(
        self, survey_id: str, group: str, level: float = 0.95, include_retired: bool = False
    ) -> GroupResult:
        """One group's entry of :meth:`groups` (``invalid_input`` for a group the survey
        does not have)."""
        found = self.groups(survey_id, level, include_retired).groups.get(group)
        if found is None:
            raise InvalidInput(f"unknown group {group!r}", field="group")
        return found

    def personal(self, survey_id: str, voter: Voter) -> PersonalResults:
        """What one voter's own answers say next to everyone's: favourites, a ranking
        blended with the crowd's, agreement (:mod:`ranker.personal`)."""
        crowd = self.results(survey_id)  # cached: the public ranking's own computation
        with self.repo.lock:
            proj = self.repo.get(survey_id)
            left, right, y, _ = answer_rows(proj, voter=voter.id)
            info = proj.voters.get(voter.id)
            answers = [] if info is None else info.answers
            n_skips = sum(1 for q in answers if proj.by_seq[q].y is None)
            seq = proj.seq
        return personal_results(crowd, (left, right, y), voter=voter.id, n_skips=n_skips, seq=seq)
