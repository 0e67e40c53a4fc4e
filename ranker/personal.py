"""A participant's own ranking, worth looking at after a handful of votes.

A few votes cannot rank dozens of ideas on their own (a fit to ten answers gives every idea a
rank range as wide as the list). What they can say, and what :func:`personal_results` returns:

* **favourites**: the ideas the participant picked, and how often (facts, no model);
* **a blended ranking**: their answers fitted by Bradley-Terry with the crowd's scores as the
  prior mean (:func:`algorithms.anchored.anchored_fit`; prior sd ``sqrt(crowd variance +
  PERSONAL_SPREAD^2)``), so ideas they have not compared stay where everyone puts them and
  ideas they have compared move as far as their answers justify. ``yours`` says how much of
  it is theirs: each compared idea's share of precision that comes from their answers;
* **agreement**: of their decisive answers, how many went the crowd's way, against how many a
  typical participant's would, and their picks that went against the crowd, with the share of
  participants the crowd's model expects to pick the same (``crowd``).

Shown from :data:`~ranker.rules.PERSONAL_MIN_VOTES` votes on (``status``); before that only
the favourites.
"""

from __future__ import annotations

import math

import msgspec
import numpy as np
import scipy.special
from numpy.typing import NDArray

from algorithms.anchored import anchored_fit, predictive_prob
from ranker.domain import Results
from ranker.rules import PERSONAL_MIN_VOTES, PERSONAL_SPREAD, RankStatus

__all__ = ["Disagreement", "Favourite", "PersonalIdea", "PersonalResults", "personal_results"]


class Favourite(msgspec.Struct, frozen=True, kw_only=True):
    """An idea the participant picked."""

    idea: int
    text: str
    picked: int
    """Times they picked it."""
    shown: int
    """Times they answered a pair with it (ties included, skips not)."""


class PersonalIdea(msgspec.Struct, frozen=True, kw_only=True):
    """One idea of the blended ranking (best first)."""

    idea: int
    text: str
    position: int
    """Place in the blended ranking (1 = first); a point order, not a credible rank."""
    crowd_position: int
    """Place in everyone's ranking (by score)."""
    score: float
    """Blended score (log-odds)."""
    crowd_score: float
    seen: int
    """Times the participant answered a pair with this idea."""
    yours: float
    """Share of this idea's placement that comes from the participant's answers (0-1)."""


class Disagreement(msgspec.Struct, frozen=True, kw_only=True):
    """A pick that went against the crowd's ranking."""

    idea: int
    text: str
    """What the participant picked..."""
    over: int
    over_text: str
    """...over this idea."""
    crowd: float
    """Share of participants the crowd's model expects to pick ``idea`` over ``over`` (< 0.5)."""


class PersonalResults(msgspec.Struct, frozen=True, kw_only=True):
    """What one participant's answers say, next to everyone's."""

    survey: str
    voter: str
    model: str
    """The crowd's model."""
    seq: int
    n_votes: int
    """Counted answers (ties included, skips not) on ideas still shown."""
    n_skips: int
    status: RankStatus
    """``ranked`` once ``n_votes >= votes_to_rank``; ``ranking`` is empty before."""
    votes_to_rank: int = PERSONAL_MIN_VOTES
    yours: float = 0.0
    """How much of the blended ranking of the ideas compared comes from the participant's
    answers (mean of their ``yours``), 0-1; the rest is everyone's."""
    decisive: int = 0
    """Answers that picked one idea (not a tie) on ideas still shown."""
    agreed: int = 0
    """Of those, picks the crowd's model also favours."""
    expected_agreed: float = 0.0
    """Picks a typical participant would share with the crowd on the same pairs."""
    favourites: list[Favourite] = msgspec.field(default_factory=list)
    """Ideas picked at least once, most picked first."""
    ranking: list[PersonalIdea] = msgspec.field(default_factory=list)
    disagreements: list[Disagreement] = msgspec.field(default_factory=list)
    """Picks against the crowd, the most surprising first."""


def personal_results(
    crowd: Results,
    rows: tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]],
    *,
    voter: str,
    n_skips: int,
    seq: int,
) -> PersonalResults:
    """One participant's answers ``rows`` (left, right, y) next to the crowd's ranking."""
    ideas = sorted(crowd.ideas, key=lambda i: (-i.score, i.idea))
    pos = {i.idea: k for k, i in enumerate(ideas)}
    n = len(ideas)
    left, right, y = rows
    pairs = zip(left.tolist(), right.tolist(), strict=True)
    keep = np.array([i in pos and j in pos for i, j in pairs], dtype=np.bool_)
    a = np.array([pos[v] for v in left[keep].tolist()], dtype=np.int64)
    b = np.array([pos[v] for v in right[keep].tolist()], dtype=np.int64)
    y = y[keep]
    m = np.array([i.score if math.isfinite(i.score) else 0.0 for i in ideas])
    z = float(scipy.special.ndtri(0.5 + crowd.level / 2.0))
    half = np.array([(i.high - i.low) / 2.0 for i in ideas])
    v = np.where(np.isfinite(half), (half / z) ** 2, 1.0)

    seen = np.bincount(a, minlength=n) + np.bincount(b, minlength=n)
    won = y != 0.5
    winner = np.where(y > 0.5, a, b)[won]
    loser = np.where(y > 0.5, b, a)[won]
    picked = np.bincount(winner, minlength=n)
    favourites = [
        Favourite(idea=ideas[k].idea, text=ideas[k].text, picked=int(picked[k]), shown=int(seen[k]))
        for k in sorted(
            np.flatnonzero(picked).tolist(), key=lambda k: (-picked[k], -picked[k] / seen[k], k)
        )
    ]

    p = predictive_prob(m[winner] - m[loser], v[winner] + v[loser])  # the crowd, for each pick
    against = np.flatnonzero(p < 0.5)
    disagreements = [
        Disagreement(
            idea=ideas[winner[j]].idea,
            text=ideas[winner[j]].text,
            over=ideas[loser[j]].idea,
            over_text=ideas[loser[j]].text,
            crowd=float(p[j]),
        )
        for j in sorted(against.tolist(), key=lambda j: float(p[j]))
    ]
    n_votes = int(y.shape[0])
    status: RankStatus = (
        "no_votes"
        if n_votes == 0
        else "too_few_votes"
        if n_votes < PERSONAL_MIN_VOTES
        else "ranked"
    )
    ranking: list[PersonalIdea] = []
    yours = 0.0
    if status == "ranked":
        fit = anchored_fit(a, b, y, m, v + PERSONAL_SPREAD**2)
        order = np.lexsort((np.arange(n), -fit.mean))
        ranking = [
            PersonalIdea(
                idea=ideas[k].idea,
                text=ideas[k].text,
                position=place + 1,
                crowd_position=k + 1,
                score=float(fit.mean[k]),
                crowd_score=float(m[k]),
                seen=int(seen[k]),
                yours=float(fit.share[k]),
            )
            for place, k in enumerate(order.tolist())
        ]
        yours = float(fit.share[seen > 0].mean())
    return PersonalResults(
        survey=crowd.survey,
        voter=voter,
        model=crowd.model,
        seq=seq,
        n_votes=n_votes,
        n_skips=n_skips,
        status=status,
        yours=yours,
        decisive=int(winner.shape[0]),
        agreed=int(np.count_nonzero(p > 0.5)),
        expected_agreed=float(np.maximum(p, 1.0 - p).sum()),
        favourites=favourites,
        ranking=ranking,
        disagreements=disagreements,
    )
