"""``crowd-bt``: Bradley-Terry with each voter's taste and careless-answer reliability, both
shrunk to the crowd.

Voter ``k`` answers by the model with probability ``r_k`` and at random otherwise:
``P(k says i beats j) = r_k σ(s_i - s_j + h) + (1 - r_k) / 2``. The scores ``s`` are
``bt``'s (same Gaussian prior, Davidson ties, optional side advantage ``h``); the
reliabilities have a Beta prior ``Beta(a, b)`` learned from all voters by empirical
Bayes, with one imaginary perfectly honest voter as hyperprior. An honest crowd
therefore shrinks everyone to ``r ≈ 1`` and the model becomes ``bt``; voters who
answer at random are found and their votes count less. See ``docs/models.md``.

The batch fit (every read after new votes, as ``bt``) is EM: given the scores, each
voter's posterior of ``r`` on a fixed grid and the Beta prior (marginal likelihood)
are exact; given those, the scores are ``bt``'s MAP with each vote weighted by the
posterior probability that it was answered by the model. Between refits ``update``
moves the Gaussian view by one weighted Newton step per vote, with each voter's
reliability as of the last refit (:mod:`algorithms._crowd_online`).

**Taste.** Voters also differ in what they like: voter ``k`` may compare their own scores
``t_{k,i} = u_i + x_{k,i}``, ``x ~ N(0, sigma²)``, around a typical voter's ``u``. Whether the
votes support such tastes is a Bayes factor; when they do, the tastes are fitted (with
``sigma`` by empirical Bayes) and alternated with the E-step, and a known voter's answers are
predicted from their own scores (:mod:`algorithms._voter_taste`). ``scores`` and intervals stay
the crowd's consensus above: tastes change what is predicted for a voter, not the ranking.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import expit

from algorithms._bt_fit import Problem, edge_step, newton, scatter
from algorithms._crowd_em import (
    HONEST,
    RELIABILITY_GRID,
    e_step,
    fit_reliability_prior,
    log_prior_params,
    reliability_masses,
)
from algorithms._crowd_online import plugin_weights, update_one
from algorithms._crowd_wire import load_state, state_data, voter_codes, voter_id
from algorithms._gauss import check_int, check_positive
from algorithms._voter_taste import alternate, no_taste
from algorithms.base import (
    FloatArray,
    IntArray,
    ModelState,
    VoteContext,
    as_votes,
    register_model,
)
from algorithms.bt import BTModel

__all__ = ["RELIABILITY_GRID", "CrowdBT", "fit_reliability_prior", "reliability_masses"]


@register_model("crowd-bt")
class CrowdBT(BTModel):
    """Bradley-Terry plus a careless-answer reliability per voter, with an empirical Bayes prior.

    Parameters
    ----------
    n_items, prior_strength, ties, side_advantage, exact_max, n_boot
        As :class:`~algorithms.bt.BTModel` (the item scores are ``bt``'s).
    honest_voters
        Weight of the hyperprior: imaginary voters known to answer by the model
        (``r = 1``) added to the empirical Bayes fit of the reliability prior. Without
        voters the prior is "everyone honest", i.e. plain ``bt``.
    max_iter, tol
        Cap on EM iterations per refit, and the largest change of a vote's weight
        (probability that it was answered by the model) at which EM stops.
    voter_taste
        Learn each voter's taste when the votes support it (default); ``False`` models
        carelessness only.

    Notes
    -----
    Voter ids are ints or strings (they must survive a JSON round trip). A vote without
    a voter is from an unknown voter: it is weighted with the crowd's prior and teaches
    nothing about reliabilities. A tie (any outcome other than 0 or 1) says nothing
    about the voter and is weighted by the voter's mean reliability.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> left = rng.integers(0, 8, 2000)
    >>> right = (left + rng.integers(1, 8, 2000)) % 8
    >>> voter = rng.integers(0, 10, 2000)
    >>> truth = np.linspace(2, -2, 8)
    >>> p = 1 / (1 + np.exp(truth[right] - truth[left]))
    >>> p[voter == 0] = 0.5  # voter 0 clicks at random
    >>> outcome = (rng.random(2000) < p).astype(float)
    >>> m = CrowdBT(n_items=8).fit(left, right, outcome, voter=voter)
    >>> r = m.voter_reliability()
    >>> bool(r[0] < 0.3 and min(r[k] for k in range(1, 10)) > 0.9)
    True
    """

    uses = frozenset({"voter"})

    _vcode: IntArray
    _w: FloatArray

    def __init__(
        self,
        n_items: int = 0,
        prior_strength: float | str = "auto",
        ties: str = "davidson",
        side_advantage: bool | str = "auto",
        exact_max: int = 2000,
        n_boot: int = 200,
        *,
        honest_voters: float = 1.0,
        max_iter: int = 200,
        tol: float = 1e-7,
        voter_taste: bool = True,
    ) -> None:
        super().__init__(n_items, prior_strength, ties, side_advantage, exact_max, n_boot)
        self.honest_voters = honest_voters
        self.max_iter = max_iter
        self.tol = tol
        self.voter_taste = voter_taste

    # -- set-up ------------------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        params = {
            **super().get_params(),
            "honest_voters": self.honest_voters,
            "max_iter": self.max_iter,
            "tol": self.tol,
            "voter_taste": self.voter_taste,
        }
        return {k: v.item() if isinstance(v, np.generic) else v for k, v in params.items()}

    def _validate(self) -> None:
        super()._validate()
        check_positive("honest_voters", self.honest_voters, allow_zero=True)
        if check_int("max_iter", self.max_iter) < 1:
            raise ValueError(f"max_iter must be an integer >= 1, got {self.max_iter!r}")
        check_positive("tol", self.tol)
        if not isinstance(self.voter_taste, bool | np.bool_):
            raise ValueError(f"voter_taste must be True or False, got {self.voter_taste!r}")

    def _init_state(self, n: int) -> None:
        super()._init_state(n)
        self._voter_index: dict[int | str, int] = {}
        self._rel = np.zeros(0)  # posterior mean reliability per voter code
        self._hyper = HONEST
        self._rbar = float(reliability_masses(*self._hyper) @ RELIABILITY_GRID)
        self._taste = no_taste()
        self._taste_m_est = 0  # votes at the last search for the taste spread

    def _alloc_votes(self, cap: int) -> None:
        old = self._m if hasattr(self, "_vcode") else 0
        super()._alloc_votes(cap)
        vcode: IntArray = np.full(cap, -1, dtype=np.int64)
        w: FloatArray = np.ones(cap, dtype=np.float64)
        if old:
            vcode[:old] = self._vcode[:old]
            w[:old] = self._w[:old]
        self._vcode, self._w = vcode, w
        self._cmv: Any = vcode.data  # the single-vote path writes through these
        self._wmv: Any = w.data

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()  # memoryviews cannot be pickled: rebound on load
        state.pop("_cmv", None)
        state.pop("_wmv", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        if self._ready:
            self._cmv, self._wmv = self._vcode.data, self._w.data

    # -- voters ------------------------------------------------------------------
    def _voter_codes(
        self, voter: ArrayLike | None, size: int, known: dict[int | str, int]
    ) -> tuple[IntArray, list[int | str]]:
        return voter_codes(voter, size, known)

    def _register(self, new: list[int | str]) -> None:
        for vid in new:
            self._voter_index[vid] = len(self._voter_index)
        if new:
            self._rel = np.concatenate([self._rel, np.full(len(new), self._rbar)])

    def voter_reliability(self) -> dict[int | str, float]:
        """Posterior mean reliability ``E[r_k]`` of every voter seen (after a refit)."""
        self._ensure_fit()
        return {vid: float(self._rel[k]) for vid, k in self._voter_index.items()}

    @property
    def reliability_prior(self) -> tuple[float, float]:
        """The learned ``Beta(a, b)`` prior of the reliabilities, as ``(a, b)``."""
        self._ensure_fit()
        return self._hyper

    # -- votes ------------------------------------------------------------------------
    def update(
        self,
        left: ArrayLike,
        right: ArrayLike,
        outcome: ArrayLike,
        voter: ArrayLike | None = None,
        context: VoteContext | None = None,
    ) -> None:
        """Absorb one vote or a batch: stored for the next refit, and one weighted Newton
        step of the Gaussian view per vote, with each voter's reliability of the last refit."""
        if (
            type(left) is int
            and type(right) is int
            and type(outcome) is float
            and (voter is None or type(voter) is int or type(voter) is str)
            and self._ready
        ):
            update_one(self, left, right, outcome, voter)
            return
        self._ensure()
        li, ri, yy = as_votes(left, right, outcome, self._n)
        codes, new = self._voter_codes(voter, li.shape[0], self._voter_index)
        self._register(new)
        m = self._m
        self._append(li, ri, yy)
        self._vcode[m : self._m] = codes
        if li.size == 0:
            return
        d = self._mean[li] - self._mean[ri] + self._h
        w = plugin_weights(self, d, yy, codes)
        self._w[m : self._m] = w
        g, c = edge_step(d, yy, self._tau)
        g *= w
        c *= w
        n = self._n
        grad = scatter(li, g, n) - scatter(ri, g, n)
        curv = scatter(li, c, n) + scatter(ri, c, n)
        self._var[:] = 1.0 / (1.0 / self._var + curv)
        self._mean += self._var * grad

    def fit(
        self,
        left: ArrayLike,
        right: ArrayLike,
        outcome: ArrayLike,
        voter: ArrayLike | None = None,
        context: VoteContext | None = None,
    ) -> Self:
        """Forget all votes and fit from scratch; vote order does not matter."""
        if not self._ready:
            self._validate()
        n = self._n if self._ready else int(self.n_items_init)
        li, ri, yy = as_votes(left, right, outcome, n)
        codes, new = self._voter_codes(voter, li.shape[0], {})
        self._init_state(n)
        self._register(new)
        self._append(li, ri, yy)
        self._vcode[: self._m] = codes
        self._refit()
        return self

    # -- fitting ------------------------------------------------------------------
    def _problem(
        self, weight: FloatArray | None = None, side: bool | None = None, lam: float | None = None
    ) -> Problem:
        w = self._w[: self._m]
        return super()._problem(w if weight is None else w * weight, side, lam)

    def _refit(self) -> None:
        """EM from plain ``bt``: the voters' posteriors and the prior, then ``bt``'s MAP with
        the votes weighted, until no weight moves by more than ``tol`` (or ``max_iter``).

        When ``bt`` has just learnt ``lam`` / the side advantage (``"auto"``, on bt's
        schedule), they are learnt again on the weighted votes once EM has settled, and EM
        continues from there: the prior strength is the one this model's evidence prefers.
        """
        m = self._m
        self._w[:m] = 1.0
        super()._refit()  # plain bt
        relearn = self._m_est == m > 0  # bt re-estimated lam / the side in this refit
        start = None  # the first prior fit searches a coarse grid, later ones warm-start
        moved = False
        for _ in range(int(self.max_iter)):
            w = self._e_step(start)
            start = log_prior_params(self._hyper)
            if m == 0 or float(np.max(np.abs(w - self._w[:m]))) <= self.tol:
                if not (relearn and moved):
                    break
                relearn = False
                self._m_est = 0  # due again: bt's estimate, now on the weighted votes
                self._mean[:] = self._s
                super()._refit()
                continue
            self._w[:m] = w
            p = self._problem()
            x, _, _ = newton(p, self._full_x(p))
            self._set_x(p, x)
            moved = True
        if self.voter_taste:
            moved = alternate(self) or moved
        else:
            self._taste = no_taste()
        if moved:  # re-sync the Gaussian view and the Laplace variances to the weighted MAP
            self._mean[:] = self._s
            super()._refit()

    @property
    def taste_spread(self) -> float:
        """The fitted spread ``sigma`` of the voters' tastes (0: none fitted)."""
        self._ensure_fit()
        return self._taste.sigma

    def voter_scores(self, voter: int | str) -> FloatArray:
        """The scores as this voter sees them: the crowd's plus their taste (the crowd's for
        a voter not seen)."""
        self._ensure_fit()
        return self._taste.scores_of(self._voter_index.get(voter_id(voter), -1), self._s)

    def _e_step(self, start: tuple[float, float] | None) -> FloatArray:
        """Each voter's posterior of ``r``, the prior (empirical Bayes) and each vote's
        probability of having been answered by the model, at the current scores."""
        m = self._m
        li, ri, y, codes = self._left[:m], self._right[:m], self._out[:m], self._vcode[:m]
        d = self._s[li] - self._s[ri] + self._h
        q = np.where(y == 1.0, expit(d), expit(-d))  # P(the observed answer | by the model)
        decisive = (y == 1.0) | (y == 0.0)
        res = e_step(q, decisive, codes, len(self._voter_index), self.honest_voters, start)
        self._hyper, self._rel, self._rbar = res.prior, res.reliability, res.mean_reliability
        return res.weight

    # -- reads ---------------------------------------------------------------------
    def predict(
        self,
        left: ArrayLike,
        right: ArrayLike,
        voter: ArrayLike | None = None,
        context: VoteContext | None = None,
    ) -> FloatArray:
        """``P(left wins | decisive)`` for each vote: ``r σ(s_l - s_r + h) + (1 - r)/2`` with
        the voter's posterior mean reliability ``r`` (the crowd's mean for unknown voters)."""
        self._ensure_fit()
        li = np.atleast_1d(np.asarray(left, dtype=np.int64))
        ri = np.atleast_1d(np.asarray(right, dtype=np.int64))
        as_votes(li, ri, np.ones(li.shape[0]), self._n)  # the standard checks of items
        codes, _ = self._voter_codes(voter, li.shape[0], self._voter_index)
        n_known = self._rel.shape[0]
        codes[codes >= n_known] = -1  # voters seen only now: the crowd's mean
        p = expit(self._taste.difference(codes, li, ri, self._s) + self._h)
        r = np.append(self._rel, self._rbar)[codes]
        return np.asarray(r * p + 0.5 * (1.0 - r), dtype=np.float64)

    # -- state -------------------------------------------------------------------------
    def state(self) -> ModelState:
        base = super().state()
        data = {**base.data, **state_data(self)}
        return ModelState(model=self.name, params=self.get_params(), data=data, version=3)

    @classmethod
    def from_state(cls, state: ModelState) -> Self:
        if state.model == cls.name and state.version not in (2, 3):
            raise ValueError(f"state version {state.version} of {cls.name!r} is not readable")
        model = super().from_state(state)
        load_state(model, state.data, state.version)
        return model
