"""Rankings: of a survey, of one group, of one voter, and the settle estimate."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ranker import errors as E
from ranker.domain import Answer, Limits, Voter
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
    mine = svc.rankings.personal(sid, va)
    assert (mine.voter, mine.n_votes, mine.status) == (va.id, 5, "ranked")
    top = a.ideas[0]
    assert top.rank == 1 and top.rank_lo <= 1 <= top.rank_hi and top.tier == 1
    assert 0.5 < top.p_beats_random < 1 and top.low < top.score < top.high
    est = svc.settling.votes_needed(sid, k=1)
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
            svc.rankings.groups(sid, level=level)  # type: ignore[arg-type]
    for k in (0, -1, True, 1.5):
        with pytest.raises(E.InvalidInput):
            svc.settling.votes_needed(sid, k=k)  # type: ignore[arg-type]
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
    assert svc.settling.votes_needed(sid, k=1).settled is False
    for i in range(300):
        v = svc.voting.issue_voter(sid) if i % 3 == 0 else v
        b = svc.voting.next_ballot(sid, v)
        choice = "left" if b.left < b.right else "right"
        svc.voting.answer(sid, v, b.token, Answer(choice=choice))
    assert svc.settling.votes_needed(sid, k=1).settled is True


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
    assert svc.rankings.personal(sid, vs[1]).n_votes == 0  # voided
    mine = svc.rankings.personal(sid, vs[2])
    assert (mine.n_votes, mine.n_skips, mine.status) == (3, 1, "ranked")  # 4 answers, 1 skip


def test_personal_without_answers(svc: RankerService) -> None:
    sid = survey(svc)
    mine = svc.rankings.personal(sid, svc.voting.issue_voter(sid))
    assert (mine.n_votes, mine.n_skips, mine.status, mine.votes_to_rank) == (0, 0, "no_votes", 3)
    assert mine.favourites == mine.ranking == mine.disagreements == []


def answer_all(svc: RankerService, sid: str, voter: Voter, n: int, prefer: Any) -> None:
    """``n`` answers of ``voter``; ``prefer(left, right)`` -> choice."""
    for _ in range(n):
        b = svc.voting.next_ballot(sid, voter)
        svc.voting.answer(sid, voter, b.token, Answer(choice=prefer(b.left, b.right)))


@memory_only
def test_groups_with_no_or_too_few_votes_show_no_order(svc: RankerService) -> None:
    """Rule: a group is ranked from ``GROUP_MIN_COMPARISONS x ideas / 2`` votes on (15 for 6
    ideas); below, ``too_few_votes`` (``no_votes`` with none) and no ideas at all."""
    sid = survey(svc, n=6, groups=["a", "b", "c"], limits=Limits(answers_per_minute=0))
    by_id = lambda left, right: "left" if left < right else "right"  # noqa: E731
    for _ in range(3):
        answer_all(svc, sid, svc.voting.issue_voter(sid, "a"), 5, by_id)
    answer_all(svc, sid, svc.voting.issue_voter(sid, "b"), 4, by_id)
    vb = svc.voting.issue_voter(sid, "b")
    vote(svc, sid, vb, "skip", reason="same")
    out = svc.rankings.groups(sid)
    assert (out.model, out.seq, out.level) == ("group-bt", svc.store.head(sid), 0.95)
    got = {
        g: (r.status, r.results.n_votes, r.results.n_skips, r.results.n_voters, r.votes_to_rank)
        for g, r in out.groups.items()
    }
    assert got == {
        "a": ("ranked", 15, 0, 3, 15),
        "b": ("too_few_votes", 4, 1, 2, 15),
        "c": ("no_votes", 0, 0, 0, 15),
    }
    for g in ("b", "c"):
        assert out.groups[g].results.ideas == [] and out.groups[g].vs_overall == []
    a = out.groups["a"]
    assert sorted(i.rank for i in a.results.ideas) == list(range(1, 7))
    assert a.results.model == "group-bt" and a.results.group == "a"
    assert sum(i.wins for i in a.results.ideas) == 15  # the group's own counters
    assert {s.idea for s in a.vs_overall} == set(range(6))
    assert out.disagreements == []  # only one group is ranked
    # the single-group read is the same entry
    assert svc.rankings.results(sid, group="c").ideas == []
    assert svc.rankings.results(sid, group="a") == a.results
    with pytest.raises(E.InvalidInput, match="unknown group"):
        svc.rankings.group(sid, "d")


@memory_only
def test_group_differences_are_flagged_only_when_credible(svc: RankerService) -> None:
    """Two groups that disagree about idea 0 (a loves it, b hates it) and agree on the rest:
    the difference on idea 0 is credible (vs each other and vs everyone), and the ideas they
    agree on carry no credible difference."""
    sid = survey(svc, n=4, groups=["a", "b"], limits=Limits(answers_per_minute=0))

    def fan(of_zero: bool) -> Any:
        def choose(left: int, right: int) -> str:
            if 0 in (left, right):
                return "left" if (left == 0) == of_zero else "right"
            return "left" if left < right else "right"

        return choose

    for _ in range(10):
        answer_all(svc, sid, svc.voting.issue_voter(sid, "a"), 6, fan(True))
        answer_all(svc, sid, svc.voting.issue_voter(sid, "b"), 6, fan(False))
    out = svc.rankings.groups(sid)
    assert out.spread > 0
    a, b = out.groups["a"], out.groups["b"]
    assert a.results.ideas[0].idea == 0 and b.results.ideas[-1].idea == 0
    top = a.results.ideas[0]
    assert top.low < top.score < top.high and top.rank_lo <= 1 <= top.rank_hi
    [d] = [d for d in out.disagreements if d.idea == 0]
    assert (d.higher, d.lower, d.text) == ("a", "b", "idea 0")
    assert 0 < d.low < d.diff < d.high and d.p_higher > 0.95
    assert {d.idea for d in out.disagreements} == {0}
    shift = {s.idea: s for s in a.vs_overall}
    assert shift[0].credible and shift[0].direction == "higher" and shift[0].p_higher > 0.95
    assert {s.idea: s.direction for s in b.vs_overall if s.credible} == {0: "lower"}
    assert not any(s.credible for s in a.vs_overall if s.idea != 0)


def test_personal_ranking_blends_a_handful_of_votes_with_the_crowd(svc: RankerService) -> None:
    """Favourites are what the voter picked; the blended ranking keeps the ideas they did not
    compare in the crowd's order and moves what they did; picks against the crowd are listed
    with the crowd's share, and the agreement counts add up."""
    sid = survey(svc, n=6, limits=Limits(answers_per_minute=0))
    crowd = lambda left, right: "left" if left < right else "right"  # noqa: E731
    for _ in range(12):
        answer_all(svc, sid, svc.voting.issue_voter(sid), 8, crowd)
    me = svc.voting.issue_voter(sid)
    contrarian = lambda left, right: "left" if left > right else "right"  # noqa: E731
    answer_all(svc, sid, me, 2, contrarian)
    early = svc.rankings.personal(sid, me)
    assert (early.status, early.n_votes, early.ranking) == ("too_few_votes", 2, [])
    assert sum(f.picked for f in early.favourites) == 2
    answer_all(svc, sid, me, 4, contrarian)
    vote(svc, sid, me, "tie")
    mine = svc.rankings.personal(sid, me)
    assert (mine.status, mine.n_votes, mine.decisive, mine.model) == ("ranked", 7, 6, "bt")
    assert sum(f.picked for f in mine.favourites) == 6
    assert all(0 < f.picked <= f.shown for f in mine.favourites)
    picks = [f.picked for f in mine.favourites]
    assert picks == sorted(picks, reverse=True)
    # every pick went against a crowd that prefers low ids
    assert mine.agreed == 0 and len(mine.disagreements) == 6
    assert all(d.crowd < 0.5 and d.idea > d.over for d in mine.disagreements)
    assert [d.crowd for d in mine.disagreements] == sorted(d.crowd for d in mine.disagreements)
    assert 4 < mine.expected_agreed <= 6
    assert [r.position for r in mine.ranking] == list(range(1, 7))
    assert sorted(r.crowd_position for r in mine.ranking) == list(range(1, 7))
    assert 0 < mine.yours < 1 and all(0 <= r.yours < 1 for r in mine.ranking)
    seen = {r.idea: r for r in mine.ranking}
    unseen = [r for r in mine.ranking if r.seen == 0]
    assert all(r.yours == 0 and r.score == r.crowd_score for r in unseen)
    # a contrarian's answers pull the crowd's favourite down and its last idea up
    assert seen[0].score < seen[0].crowd_score and seen[5].score > seen[5].crowd_score
