"""Is the survey's top ``k`` settled, and how many more answers until it is?

The criterion and the forecast are :mod:`algorithms.settle`'s. The *check* (which ideas
are in, out, practically tied or open) is cheap and computed at the current log position;
the *forecast* (simulations of the rest of the survey with its own sampler) costs up to
``budget_s`` seconds, so it is kept and re-run only when the survey has moved on by 10 % of
its answers (at most every ``min_interval_s``) or a minute has passed, one run per key at a
time. Between runs the forecast counts down by the answers
given since it was made, so progress moves with every vote.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable

import msgspec
import numpy as np
from numpy.typing import NDArray

from algorithms import PairwiseModel, create_sampler
from algorithms.samplers import Sampler
from algorithms.settle import (
    APART,
    EVEN,
    N_SAMPLES,
    STATUS_NAMES,
    UNSURE,
    OrderCheck,
    SettleCheck,
    check_draws,
    check_order,
    forecast,
)
from algorithms.summaries import score_order
from ranker.errors import InvalidInput
from ranker.estimates import OrderEstimate, Place, TopKEstimate
from ranker.repository import ProjectionRepository
from ranker.results import answer_rows
from ranker.rules import Level, Margin, TopK, parse
from ranker.sampling import aim

__all__ = ["Settling", "estimate"]

METHOD = (
    "top k settled when every idea is in or out at the level, or practically tied with the "
    "boundary (preferred by less than the margin); further answers forecast by simulation "
    "from the posterior with the survey's sampler (algorithms.settle)"
)


class _Forecast(msgspec.Struct, frozen=True):
    n_votes: int  # answers when it was made
    made: float  # time.monotonic()
    median: int | None
    low: int | None
    high: int | None
    sims: int
    horizon: int
    above: int | None  # a lower bound of the median when the median is beyond the simulations


def order_estimate(check: OrderCheck) -> OrderEstimate:
    """The whole order's check, wire-ready."""
    return OrderEstimate(
        settled=check.settled,
        borders=int(check.status.size),
        decided=check.decided,
        apart_after=check.places(APART),
        tied_after=check.places(EVEN),
        open_after=check.places(UNSURE),
    )


def estimate(
    check: SettleCheck,
    idx: NDArray[np.int64],
    scores: NDArray[np.float64],
    n_votes: int,
    fc: _Forecast | None,
    whole: OrderCheck | None = None,
) -> TopKEstimate:
    """The wire-ready estimate from a check and the latest forecast (counted down by the
    answers given since), with the whole order's check when given."""
    settled = check.settled
    order = score_order(scores)
    places = [
        Place(idea=int(idx[i]), status=STATUS_NAMES[check.status[i]], p_top=float(check.p_top[i]))  # type: ignore[arg-type]
        for i in order.tolist()
    ]
    since = 0 if fc is None else max(0, n_votes - fc.n_votes)

    def left(v: int | None) -> int | None:
        return None if v is None else max(0, v - since)

    median = 0 if settled else (None if fc is None else left(fc.median))
    if not settled and median == 0:
        median = None  # the forecast thought it would be settled by now: it is not; unknown
    horizon = 0 if fc is None else max(0, fc.horizon - since)
    above = None if settled or median is not None or fc is None else left(fc.above)
    if settled:
        progress = 1.0
    elif median is not None:
        progress = n_votes / max(1, n_votes + median)
    else:
        progress = n_votes / max(1, n_votes + above) if above else 0.0
    return TopKEstimate(
        k=check.k,
        settled=settled,
        votes_needed=median,
        method=METHOD,
        level=check.level,
        margin=check.margin,
        votes_needed_low=0 if settled else (None if fc is None else left(fc.low)),
        votes_needed_high=0 if settled else (None if fc is None else left(fc.high)),
        votes_needed_above=above,
        simulations=0 if fc is None else fc.sims,
        horizon=horizon,
        n_votes=n_votes,
        decided=check.decided,
        n_ideas=int(idx.size),
        progress=float(progress),
        places=places,
        order=None if whole is None else order_estimate(whole),
    )


class Settling:
    """The settle estimate of a survey's top ``k`` (see the module docstring)."""

    def __init__(
        self,
        repo: ProjectionRepository,
        *,
        budget_s: float = 2.0,
        n_sims: int = 12,
        max_age_s: float = 60.0,
        min_interval_s: float = 10.0,
    ) -> None:
        self.repo = repo
        self.budget_s = budget_s
        self.n_sims = n_sims
        self.max_age_s = max_age_s
        self.min_interval_s = min_interval_s
        self._lock = threading.Lock()
        self._forecasts: dict[Hashable, _Forecast] = {}
        self._running: set[Hashable] = set()

    def votes_needed(
        self,
        survey_id: str,
        k: int | None = None,
        level: float = 0.95,
        margin: float | None = None,
    ) -> TopKEstimate:
        """Estimate for the top ``k`` of the active ideas (the survey's ``top_k`` and
        ``margin`` unless given)."""
        level = parse(Level, level, "level")
        with self.repo.lock:  # copy under the lock, compute outside it
            proj = self.repo.get(survey_id)
            survey = proj.survey
            assert survey is not None
            k = survey.top_k if k is None else k
            margin = survey.margin if margin is None else margin
            if isinstance(k, bool) or not isinstance(k, int):
                raise InvalidInput("k must be a positive integer", field="k")
            k = parse(TopK, k, "k")
            margin = parse(Margin, margin, "margin")
            key = (survey_id, k, level, margin)
            model = proj.model_copy()
            n_votes = proj.n_votes
            idx = np.flatnonzero(proj.active_mask()).astype(np.int64)
            sampler_name = survey.sampler
            with self._lock:
                stale = self._stale(self._forecasts.get(key), n_votes)
            # the answers so far prime the sampler of a forecast: copied only if one may run
            history = answer_rows(proj)[:3] if stale else None
        scores = np.asarray(model.scores(), dtype=np.float64)[idx]
        # one set of joint draws for both checks (seeded: the same answers, the same check)
        draws = model.sample_scores(N_SAMPLES, 0)[:, idx] if idx.size >= 2 else None
        whole = None if draws is None else check_order(draws, scores, level, margin)
        if idx.size <= k:
            check = SettleCheck(
                k,
                level,
                margin,
                np.zeros(idx.size, dtype=np.int64),
                np.ones(idx.size),
                np.ones(idx.size, dtype=np.bool_),
            )
            return estimate(check, idx, scores, n_votes, None, whole)
        assert draws is not None  # idx.size > k >= 1
        check = check_draws(draws, scores, k, level, margin)
        with self._lock:
            fc = self._forecasts.get(key)
            # one forecast per key at a time: concurrent requests take the previous one
            run = (
                history is not None
                and not check.settled
                and self._stale(fc, n_votes)
                and key not in self._running
            )
            if run:
                self._running.add(key)
        if run:
            assert history is not None  # run implies it was copied
            try:
                fc = self._forecast(model, sampler_name, k, level, margin, idx, history, n_votes)
            finally:
                with self._lock:
                    self._running.discard(key)
            with self._lock:
                self._forecasts[key] = fc
        return estimate(check, idx, scores, n_votes, fc, whole)

    def _stale(self, fc: _Forecast | None, n_votes: int) -> bool:
        """No forecast yet, or 10 % more answers (at most every ``min_interval_s``), or new
        answers and older than ``max_age_s``, or the votes it forecast have been given."""
        if fc is None:
            return True
        moved = n_votes - fc.n_votes
        if fc.median is not None and moved >= fc.median:
            return True  # it expected the top k settled by now and it is not: ask again
        age = time.monotonic() - fc.made
        grown = moved > 0.1 * max(fc.n_votes, 1) and age >= self.min_interval_s
        return grown or (moved > 0 and age > self.max_age_s)

    def _forecast(
        self,
        model: PairwiseModel,
        sampler_name: str,
        k: int,
        level: float,
        margin: float,
        idx: NDArray[np.int64],
        history: tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]],
        n_votes: int,
    ) -> _Forecast:
        def make() -> Sampler:
            return aim(create_sampler(sampler_name, seed=n_votes), k, margin)

        fc = forecast(
            model,
            make,
            k,
            level,
            margin,
            idx=idx,
            history=history,
            n_sims=self.n_sims,
            deadline_s=self.budget_s,
            seed=n_votes,
        )
        return _Forecast(
            n_votes=n_votes,
            made=time.monotonic(),
            median=fc.median,
            low=fc.quantile(0.1),
            high=fc.quantile(0.9),
            sims=len(fc.needed),
            horizon=fc.horizon,
            above=fc.at_least(0.5) if fc.median is None else None,
        )
