"""Ranked rows (ranker/ranking.py): ideas with too few answers are "not enough votes yet"."""

from __future__ import annotations

import numpy as np
import pytest

from algorithms import BTModel
from ranker.domain import Limits
from ranker.ranking import ResultsView, placed_mask, rank_view
from ranker.rules import PLACE_MIN_VOTES
from ranker.service import RankerService
from tests.core_fixtures import memory_only, survey, vote


def view_of(wins: list[int], losses: list[int], ties: list[int] | None = None) -> ResultsView:
    n = len(wins)
    return ResultsView(
        idx=np.arange(n, dtype=np.int64),
        texts=[f"idea {i}" for i in range(n)],
        statuses=["active"] * n,
        wins=wins,
        losses=losses,
        ties=ties or [0] * n,
        skips=[0] * n,
        shown_left=[0] * n,
        shown_right=[0] * n,
        n_votes=sum(wins) + sum(ties or [0]) // 2,
    )


def chain_model(
    n: int, chain: int, reps: int, extra: tuple[list[int], list[int]] = ([], [])
) -> BTModel:
    """Idea i beats idea i + 1 (i + 1 < ``chain``), ``reps`` times each, plus the ``extra``
    (winner, loser) votes."""
    left = list(range(chain - 1)) * reps + extra[0]
    right = list(range(1, chain)) * reps + extra[1]
    m = BTModel(n_items=n, side_advantage=False)  # the winner is always left here
    m.update(left, right, [1.0] * len(left))
    return m


def test_the_rule_counts_answers_not_skips() -> None:
    v = view_of([5, 2, 0, 1], [0, 2, 4, 1], [0, 1, 0, 2])
    assert placed_mask(v).tolist() == [True, True, False, False]  # 5, 5, 4, 4 answers
    assert placed_mask(v, min_votes=4).all() and PLACE_MIN_VOTES == 5


def test_unplaced_ideas_come_last_in_no_tier_and_leave_the_placed_ranks_alone() -> None:
    # ideas 0..5 in a well-measured chain; idea 6 won its only 2 votes (against 0 and 1),
    # so its score is high but it is not placed
    m = chain_model(7, 6, 30, ([6, 6], [0, 1]))
    wins = [30, 30, 30, 30, 30, 0, 2]
    losses = [1, 31, 30, 30, 30, 30, 0]
    rows = rank_view(view_of(wins, losses), m, 0.95)
    assert [r.placed for r in rows] == [True] * 6 + [False]
    last = rows[-1]
    assert (last.idea, last.rank, last.rank_lo, last.rank_hi, last.tier) == (6, 7, 1, 7, 0)
    assert last.score > rows[1].score  # ranked by the prior and two wins it would be near the top
    placed = rows[:6]
    assert [r.rank for r in placed] == [1, 2, 3, 4, 5, 6]
    assert all(r.rank_hi <= 6 for r in placed)
    # the placed ideas' ranks, ranges and tiers are those of a ranking without idea 6
    alone = rank_view(view_of(wins[:6], losses[:6]), chain_model(6, 6, 30), 0.95, min_votes=0)
    assert [r.tier for r in placed] == [r.tier for r in alone]
    assert [(r.rank_lo, r.rank_hi) for r in placed] == [(r.rank_lo, r.rank_hi) for r in alone]
    # min_votes=0 places everything, by score
    everyone = rank_view(view_of(wins, losses), m, 0.95, min_votes=0)
    assert all(r.placed for r in everyone) and everyone[0].tier == 1
    scores = [r.score for r in everyone]
    assert scores == sorted(scores, reverse=True)


def test_nothing_placed_yet() -> None:
    rows = rank_view(view_of([1, 0, 0], [0, 1, 0]), BTModel(n_items=3), 0.95)
    assert [r.placed for r in rows] == [False] * 3
    assert [r.rank for r in rows] == [1, 2, 3] and {r.tier for r in rows} == {0}
    assert all((r.rank_lo, r.rank_hi) == (1, 3) for r in rows)


def test_tiers_of_placed_ideas_agree_with_their_rank_ranges() -> None:
    rng = np.random.default_rng(2)
    n, m = 12, 600
    s = 2.5 * rng.standard_normal(n)
    left = rng.integers(0, n, m)
    right = (left + rng.integers(1, n, m)) % n
    y = (rng.random(m) < 1 / (1 + np.exp(-(s[left] - s[right])))).astype(float)
    model = BTModel(n_items=n).fit(left, right, y)
    wins = np.bincount(np.where(y == 1, left, right), minlength=n).tolist()
    losses = np.bincount(np.where(y == 1, right, left), minlength=n).tolist()
    rows = [r for r in rank_view(view_of(wins, losses), model, 0.95) if r.placed]
    assert len({r.tier for r in rows}) > 1
    for a in rows:  # overlapping rank ranges share a tier
        for b in rows:
            if a.rank_lo <= b.rank_hi and b.rank_lo <= a.rank_hi:
                assert a.tier == b.tier
    for t in {r.tier for r in rows}:  # every rank range lies within its tier's places
        ranks = [r.rank for r in rows if r.tier == t]
        assert all(min(ranks) <= r.rank_lo <= r.rank_hi <= max(ranks) for r in rows if r.tier == t)


@memory_only
def test_a_new_idea_is_not_enough_votes_yet(svc: RankerService) -> None:
    sid = survey(svc, n=4, limits=Limits(answers_per_minute=0))
    for _ in range(6):
        v = svc.voting.issue_voter(sid)
        for _ in range(6):
            vote(svc, sid, v)
    before = svc.rankings.results(sid).ideas
    assert all(r.placed for r in before)
    new = svc.ideas.add(sid, "a late idea", organiser="org")
    after = svc.rankings.results(sid).ideas
    assert after[-1].idea == new.id and not after[-1].placed and after[-1].tier == 0
    assert [(r.idea, r.rank, r.tier) for r in after[:4]] == [
        (r.idea, r.rank, r.tier) for r in before
    ]


@pytest.mark.parametrize("bad", [-1])
def test_fit_refuses_a_negative_minimum(bad: int) -> None:
    from ranker.commands.fit import rank_rows
    from ranker.votefile import parse_votes

    table = parse_votes("winner,loser\nA,B\n")
    with pytest.raises(ValueError, match="min-votes"):
        rank_rows(table, "bt", 0.95, {}, 0, min_votes=bad)
