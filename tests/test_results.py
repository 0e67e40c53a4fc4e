"""Rankings: of a survey, of one group, of one voter, and the settle estimate."""

from __future__ import annotations

import numpy as np
import pytest

from ranker import errors as E
from ranker.domain import Answer, Limits
from ranker.results import answer_rows
from ranker.service import RankerService
from tests.core_fixtures import memory_only, survey, vote


def test_results_groups_my_results_and_votes_needed(svc: RankerService) -> None:
    sid = survey(svc, n=4, groups=["a", "b"], limits=Limits(answers_per_minute=0))
    # 8 voters per group, 5 answers each (distinct pairs: the sampler does not repeat a
    # voter's pair while fresh ones remain); group a prefers low ids, group b high ids
    voters = {g: [svc.voting.issue_voter(sid, g) for _ in range(8)] for g in ("a", "b")}
    for group, low in (("a", True), ("b", False)):
        for v in voters[group]:
            for _ in range(5):
                b = svc.voting.next_ballot(sid, v)
                choice = "left" if (b.left < b.right) == low else "right"
                svc.voting.answer(sid, v, b.token, Answer(choice=choice))
    a = svc.rankings.results(sid, group="a")
    b = svc.rankings.results(sid, group="b")
    assert a.ideas[0].idea == 0 and b.ideas[0].idea == 3
    assert (a.group, a.n_votes, a.n_voters, a.seq) == ("a", 40, 8, svc.store.head(sid))
    overall = svc.rankings.results(sid)
    assert (overall.group, overall.n_votes, overall.n_voters) == (None, 80, 16)
    va = voters["a"][0]
    mine = svc.rankings.my_results(sid, va)
    assert mine.voter == va.id and mine.n_votes == 5
    top = a.ideas[0]
    assert top.rank == 1 and top.rank_lo <= 1 <= top.rank_hi and top.tier == 1
    assert 0.5 < top.p_beats_random < 1 and top.low < top.score < top.high
    est = svc.rankings.votes_needed(sid, k=1)
    assert est.k == 1 and (est.settled or est.votes_needed is None or est.votes_needed > 0)


@memory_only
def test_bad_ranking_requests_are_refused(svc: RankerService) -> None:
    sid = survey(svc, groups=["a"])
    with pytest.raises(E.InvalidInput, match="unknown group"):
        svc.rankings.results(sid, group="c")
    for level in (2.0, 0.1, "high"):
        with pytest.raises(E.InvalidInput):
            svc.rankings.results(sid, level=level)  # type: ignore[arg-type]
        with pytest.raises(E.InvalidInput):
            svc.rankings.my_results(sid, svc.voting.issue_voter(sid), level=level)  # type: ignore[arg-type]
    for k in (0, -1, True, 1.5):
        with pytest.raises(E.InvalidInput):
            svc.rankings.votes_needed(sid, k=k)  # type: ignore[arg-type]
    with pytest.raises(E.SurveyNotFound):
        svc.rankings.results("nope")


def test_retired_ideas_are_ranked_only_when_asked(svc: RankerService) -> None:
    sid = survey(svc, n=3)
    vote(svc, sid, svc.voting.issue_voter(sid))
    svc.ideas.set_status(sid, 0, "retired")
    svc.ideas.set_status(sid, 1, "rejected")
    assert [i.idea for i in svc.rankings.results(sid).ideas] == [2]
    shown = svc.rankings.results(sid, include_retired=True).ideas
    assert sorted((i.idea, i.status) for i in shown) == [(0, "retired"), (2, "active")]


def test_votes_needed_shrinks_with_evidence(svc: RankerService) -> None:
    sid = survey(svc, n=3, model="bt-online", limits=Limits(answers_per_minute=0))
    v = svc.voting.issue_voter(sid)
    for _ in range(3):
        vote(svc, sid, v, "tie")
    assert svc.rankings.votes_needed(sid, k=1).settled is False
    for i in range(300):
        v = svc.voting.issue_voter(sid) if i % 3 == 0 else v
        b = svc.voting.next_ballot(sid, v)
        choice = "left" if b.left < b.right else "right"
        svc.voting.answer(sid, v, b.token, Answer(choice=choice))
    assert svc.rankings.votes_needed(sid, k=1).settled is True


def test_a_voters_rows_match_a_scan_of_the_whole_log(svc: RankerService) -> None:
    """``answer_rows(proj, voter=...)`` reads the voter's own answer list; it must select
    exactly what a scan of every answer would (undone, voided and skipped ones left out)."""
    sid = survey(svc, n=5, groups=["g1", "g2"])
    vs = [svc.voting.issue_voter(sid, group) for group in ("g1", "g2", "g1")]
    for i in range(12):
        choice = ("left", "right", "tie", "skip")[i % 4]
        vote(svc, sid, vs[i % 3], choice, **({"reason": "same"} if choice == "skip" else {}))
    svc.voting.undo_last(sid, vs[0])
    svc.voting.void_voter(sid, vs[1].id)
    proj = svc.repo.get(sid)
    for v in vs:
        info = proj.voters[v.id]
        scan = [r for r in proj.votes if r.active and r.y is not None and r.voter == info.index]
        left, right, y, voter = answer_rows(proj, voter=v.id)
        assert left.tolist() == [r.left for r in scan] and y.tolist() == [r.y for r in scan]
        assert right.tolist() == [r.right for r in scan]
        assert set(np.unique(voter).tolist()) <= {info.index}
    assert answer_rows(proj, voter="nobody")[0].size == 0
    for group in (None, "g1", "g2"):  # a group's rows: its voters' answers in log order
        keep = {i.index for i in proj.voters.values() if group is None or i.group == group}
        scan = [r for r in proj.votes if r.active and r.y is not None and r.voter in keep]
        assert [a.tolist() for a in answer_rows(proj, group=group)[:3]] == [
            [r.left for r in scan],
            [r.right for r in scan],
            [r.y for r in scan],
        ]
    assert svc.rankings.my_results(sid, vs[1]).n_votes == 0  # voided
    mine = svc.rankings.my_results(sid, vs[2])
    assert (mine.n_votes, mine.n_skips, mine.n_voters) == (3, 1, 1)  # 4 answers, one a skip


def test_my_results_without_answers(svc: RankerService) -> None:
    sid = survey(svc)
    mine = svc.rankings.my_results(sid, svc.voting.issue_voter(sid))
    assert (mine.n_votes, mine.n_skips, mine.n_voters, len(mine.ideas)) == (0, 0, 0, 4)
