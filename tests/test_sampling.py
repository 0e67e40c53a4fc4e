"""How a survey's settings reach its sampler (:mod:`ranker.sampling`): the top ``k`` and
margin, and verification pairs (on by default, off by a setting)."""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from algorithms.samplers.focus import SettleSampler
from ranker.domain import Answer, Limits, SurveyPatch
from ranker.sampling import VERIFY_SHARE
from ranker.service import RankerService
from ranker.signals import AGAINST_MIN
from tests.core_fixtures import Clock, survey


def _sampler(svc: RankerService, sid: str) -> SettleSampler:
    s = svc.repo.get(sid).sampler
    assert isinstance(s, SettleSampler)  # the default
    return s


def test_verification_pairs_are_on_by_default_and_a_setting_switches_them_off(
    svc: RankerService,
) -> None:
    sid = survey(svc, n=5, top_k=2)
    s = _sampler(svc, sid)
    assert svc.surveys.get(sid).verify_voters is True
    assert (s.verify, s.verify_from, s.k) == (VERIFY_SHARE, AGAINST_MIN, 2)
    voter = svc.voting.issue_voter(sid)
    b = svc.voting.next_ballot(sid, voter)
    svc.voting.answer(sid, voter, b.token, Answer(choice="left"))
    svc.surveys.update(sid, SurveyPatch(verify_voters=False))
    s = _sampler(svc, sid)
    assert s.verify == 0.0 and s.k == 2
    assert s.evidence[voter.id][0] == 1  # the evidence so far is kept
    off = survey(svc, n=5, verify_voters=False)
    assert _sampler(svc, off).verify == 0.0


def _clear_pairs_of_a_random_clicker(svc: RankerService, clock: Clock, verify: bool) -> int:
    """Clear pairs (p >= 0.85 under the sampler's posterior when shown) among answers 21-40 of
    a voter clicking at random, on a survey whose other voters follow a wide truth."""
    sid = survey(svc, n=12, limits=Limits(answers_per_minute=0), verify_voters=verify)
    truth = np.linspace(3.0, -3.0, 12)
    rng = np.random.default_rng(0)
    for _ in range(30):
        for v in [svc.voting.issue_voter(sid) for _ in range(10)]:
            b = svc.voting.next_ballot(sid, v)
            won = rng.random() < expit(truth[b.left] - truth[b.right])
            svc.voting.answer(sid, v, b.token, Answer(choice="left" if won else "right"))
        clock.t += 1.0
    clicker, clear = svc.voting.issue_voter(sid), 0
    for k in range(40):
        b = svc.voting.next_ballot(sid, clicker)
        s = _sampler(svc, sid)
        p = float(expit(s.guide_mean[b.left] - s.guide_mean[b.right]))
        clear += k >= AGAINST_MIN and max(p, 1.0 - p) >= 0.85
        svc.voting.answer(
            sid, clicker, b.token, Answer(choice="left" if rng.random() < 0.5 else "right")
        )
    return clear


def test_a_random_clicker_is_shown_clear_pairs_once_the_rule_can_flag_them(
    svc: RankerService, clock: Clock
) -> None:
    off = _clear_pairs_of_a_random_clicker(svc, clock, verify=False)
    on = _clear_pairs_of_a_random_clicker(svc, clock, verify=True)
    assert on >= off + 5
