"""Bradley-Terry with a Gaussian prior (MAP), Davidson ties and a side advantage.

``P(i beats j | not a tie) = 1 / (1 + exp(-(s_i - s_j)))``; see ``docs/models.md`` for the
maths. By default the prior strength is learnt from the votes (empirical Bayes) and the
left-side advantage is kept only when the votes support it (:mod:`algorithms._bt_auto`).
Votes are kept in growable buffers; every read (``scores``, ``intervals``, ``prob``,
``sample_scores``) first refits, warm-started, when votes arrived since the last fit.
Between refits :meth:`BTModel.posterior` moves with each vote by one diagonal Newton
(Gaussian) step per item (:mod:`algorithms._bt_votes`).
"""

from __future__ import annotations

import math
from typing import Any, Self

import numpy as np
import scipy.linalg
import scipy.special
from numpy.typing import ArrayLike

from algorithms._bt_auto import AUTO, LAM_BASE, STEP_TOL, BTAdaptive, is_auto
from algorithms._bt_fit import initial_scores, laplace_var, newton
from algorithms._bt_influence import BTInfluence
from algorithms._bt_objective import Edges, Problem, aggregate
from algorithms._bt_state import BTState
from algorithms._bt_uncertainty import BTUncertainty
from algorithms._bt_votes import BTVotes
from algorithms.base import (
    FloatArray,
    PairwiseModel,
    VoteContext,
    as_votes,
    register_model,
)

__all__ = ["DEFAULT_PRIOR_STRENGTH", "BTModel"]

#: The base prior precision: what ``prior_strength="auto"`` starts from before the first
#: vote and the mode of its hyperprior; a sensible fixed value for models that take one.
DEFAULT_PRIOR_STRENGTH = LAM_BASE

_TIES = ("davidson", "half")


@register_model("bt")
class BTModel(BTAdaptive, BTVotes, BTUncertainty, BTInfluence, BTState, PairwiseModel):
    """Bradley-Terry MAP with a Gaussian prior ``N(0, 1/prior_strength)`` on each score.

    Parameters
    ----------
    n_items
        Number of items to start with (more can be added with :meth:`add_items`).
    prior_strength
        Prior precision ``lambda > 0``, or ``"auto"`` (default): learnt from the votes by
        maximising the Laplace evidence under a weak hyperprior centred on 0.5, within
        ``[0.01, 100]``, and re-estimated when the votes have grown by 10%
        (``fitted_prior_strength`` is the value in use; see ``docs/models.md``).
    ties
        ``"davidson"`` (default): a tie has probability ``nu sqrt(pi_i pi_j) / (pi_i +
        pi_j + nu sqrt(pi_i pi_j))`` with ``log nu`` estimated, once ties exist.
        ``"half"``: a tie counts as half a win for each side (Chatbot Arena).
    side_advantage
        ``True``: estimate a left-side advantage ``h``; ``P(left wins)`` uses
        ``s_l + h - s_r``. ``False``: ``h = 0``. ``"auto"`` (default): keep ``h`` only when
        a score test finds it at least 3 standard errors from 0 and the votes tell it apart
        from the scores (items seen on both sides); ``fitted_side_advantage`` says whether
        it is in use. Decided, like ``prior_strength``, when the votes have grown by 10%.
    exact_max
        Up to this many items, Laplace variances use the exact inverse Hessian.
    n_boot
        Bootstrap replicates for ``intervals(method="bootstrap")``.
    influence_cap
        ``None`` (default): every vote weighs 1. A number ``c > 0``: the votes' ``voter`` is
        kept and each vote weighs ``min(1, c / n[v, i], c / n[v, j])``, ``n[v, i]`` being voter
        ``v``'s votes involving item ``i``, so no voter weighs more than ``c`` votes on any
        item (:mod:`algorithms._bt_influence`; the ranker service uses ``5``).

    Examples
    --------
    >>> from algorithms import create_model
    >>> m = create_model("bt", n_items=3)
    >>> m.update([0, 0, 1, 1], [1, 2, 2, 0], [1.0, 1.0, 1.0, 0.0])
    >>> [int(i) for i in m.scores().argsort()[::-1]]
    [0, 1, 2]
    """

    def __init__(
        self,
        n_items: int = 0,
        prior_strength: float | str = AUTO,
        ties: str = "davidson",
        side_advantage: bool | str = AUTO,
        exact_max: int = 2000,
        n_boot: int = 200,
        influence_cap: float | None = None,
    ) -> None:
        super().__init__(n_items)
        self.prior_strength = prior_strength
        self.ties = ties
        self.side_advantage = side_advantage
        self.exact_max = exact_max
        self.n_boot = n_boot
        self.influence_cap = influence_cap
        self._ready = False

    # -- set-up ------------------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        params = {
            "n_items": self.n_items_init,
            "prior_strength": self.prior_strength,
            "ties": self.ties,
            "side_advantage": self.side_advantage,
            "exact_max": self.exact_max,
            "n_boot": self.n_boot,
        }
        if self.influence_cap is not None:  # absent otherwise: older states, subclasses
            params["influence_cap"] = self.influence_cap
        # numpy scalars become plain Python numbers so that state() always encodes
        return {k: v.item() if isinstance(v, np.generic) else v for k, v in params.items()}

    def _validate(self) -> None:
        n = self.n_items_init
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
            raise ValueError(f"n_items must be an integer >= 0, got {n!r}")
        lam = self.prior_strength
        if not is_auto(lam) and (
            isinstance(lam, bool)
            or not isinstance(lam, int | float | np.integer | np.floating)
            or not (0.0 < float(lam) < math.inf)
        ):
            raise ValueError(f'prior_strength must be "auto" or a finite number > 0, got {lam!r}')
        if self.ties not in _TIES:
            raise ValueError(f"ties must be one of {_TIES}, got {self.ties!r}")
        side = self.side_advantage
        if not (isinstance(side, bool | np.bool_) or is_auto(side)):
            raise ValueError(f'side_advantage must be True, False or "auto", got {side!r}')
        if not isinstance(self.exact_max, int | np.integer) or self.exact_max < 0:
            raise ValueError(f"exact_max must be an integer >= 0, got {self.exact_max!r}")
        if not isinstance(self.n_boot, int | np.integer) or self.n_boot < 2:
            raise ValueError(f"n_boot must be an integer >= 2, got {self.n_boot!r}")
        self._check_cap()

    def _init_state(self, n: int) -> None:
        self._validate()
        self._lam = LAM_BASE if is_auto(self.prior_strength) else float(self.prior_strength)
        self._side = not is_auto(self.side_advantage) and bool(self.side_advantage)
        self._m_est = 0  # votes at the last estimate of lam / the side decision
        self._n = n
        self._m = 0
        self._n_ties = 0
        self._alloc_votes(16)
        self._reset_voters()
        self._s = np.zeros(n)
        self._h = 0.0
        self._tau = -math.inf  # Davidson log(nu); -inf until ties are seen (or ties="half")
        self._n_fit = 0
        self._mean = np.zeros(n)
        self._var = np.full(n, 1.0 / self._lam)
        self._bind_views()
        self._cache: dict[str, Any] = {}
        self._ready = True

    def _ensure(self) -> None:
        if not self._ready:
            self._init_state(int(self.n_items_init))

    # -- interface ---------------------------------------------------------------
    @property
    def n_items(self) -> int:
        self._ensure()
        return self._n

    @property
    def n_votes(self) -> int:
        self._ensure()
        return self._m

    def add_items(self, k: int) -> None:
        self._ensure()
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 0:
            raise ValueError(f"k must be an integer >= 0, got {k!r}")
        k = int(k)
        if k == 0:
            return
        self._n += k
        # an item without votes does not move the MAP of the others: the fit stays valid
        self._s = np.concatenate([self._s, np.zeros(k)])
        self._mean = np.concatenate([self._mean, np.zeros(k)])
        self._var = np.concatenate([self._var, np.full(k, 1.0 / self._lam)])
        self._bind_views()
        self._cache = {}
        self._cap_at = -1

    def update(
        self,
        left: ArrayLike,
        right: ArrayLike,
        outcome: ArrayLike,
        voter: ArrayLike | None = None,
        context: VoteContext | None = None,
    ) -> None:
        """Absorb one vote (scalars, the cheap path) or a batch (arrays), in order."""
        if type(left) is int and type(right) is int and type(outcome) is float and self._ready:
            self._update_one(left, right, outcome)  # the service's path: no conversions
            if self.influence_cap is not None:
                self._note_voters(voter, 1)
            return
        self._ensure()
        if (
            isinstance(left, int | np.integer)
            and isinstance(right, int | np.integer)
            and isinstance(outcome, float | int | np.floating | np.integer)
            and not isinstance(left, bool)
            and not isinstance(right, bool)
        ):
            self._update_one(int(left), int(right), float(outcome))
            self._note_voters(voter, 1)
            return
        li, ri, yy = as_votes(left, right, outcome, self._n)
        self._append(li, ri, yy)
        self._note_voters(voter, li.shape[0])
        self._batch_step(li, ri, yy)

    def fit(
        self,
        left: ArrayLike,
        right: ArrayLike,
        outcome: ArrayLike,
        voter: ArrayLike | None = None,
        context: VoteContext | None = None,
    ) -> Self:
        """Forget all votes and fit from scratch (cold start); ``voter`` is read only with an
        ``influence_cap``."""
        if not self._ready:
            self._validate()
        n = self._n if self._ready else int(self.n_items_init)
        li, ri, yy = as_votes(left, right, outcome, n)
        self._init_state(n)
        # the validated arrays are fresh copies: adopt them as the vote buffers
        self._left, self._right, self._out = li, ri, yy
        self._lmv, self._rmv, self._omv = li.data, ri.data, yy.data
        self._m = li.shape[0]
        self._n_ties = int(np.count_nonzero(yy == 0.5))
        self._note_voters(voter, self._m)
        self._refit()
        return self

    # -- fitting -----------------------------------------------------------------
    def _davidson_active(self) -> bool:
        return self.ties == "davidson" and self._n_ties > 0

    def _problem(
        self, weight: FloatArray | None = None, side: bool | None = None, lam: float | None = None
    ) -> Problem:
        """The MAP problem of the votes, with the fitted ``lam`` and side unless given, and the
        influence weights (times ``weight``) with an ``influence_cap``."""
        m = self._m
        cap_w = self._influence()
        if cap_w is not None:
            weight = cap_w if weight is None else weight * cap_w
        side = self._side if side is None else side
        edges: Edges = aggregate(
            self._left[:m],
            self._right[:m],
            self._out[:m],
            self._n,
            weight=weight,
            ordered=side,
        )
        lam = self._lam if lam is None else lam
        return Problem(edges, self._n, lam, side, self._davidson_active())

    def _x(self, p: Problem) -> FloatArray:
        # warm start: the Gaussian view, i.e. the last MAP moved by one diagonal Newton
        # step per vote since (closer to the new MAP than the old MAP itself)
        parts = [self._mean.copy() if self._n_fit else initial_scores(p)]
        if p.side:
            parts.append(np.array([self._h]))
        if p.davidson:
            tau = self._tau
            if not math.isfinite(tau):  # start from the tie rate at equal scores
                rate = min(max(self._n_ties / max(self._m, 1), 1e-6), 0.99)
                tau = math.log(2.0 * rate / (1.0 - rate))
            parts.append(np.array([tau]))
        return np.concatenate(parts)

    def _refit(self) -> None:
        var: FloatArray | None = None
        if self._adaptive and self._due():
            p, x, ev, var = self._estimate()
            self._lam, self._side, self._m_est = p.lam, p.side, self._m
        else:
            p = self._problem()
            x, _, ev = newton(p, self._x(p), step_tol=STEP_TOL)
        self._set_x(p, x)
        self._n_fit = self._m
        self._cache = {}
        # re-sync the Gaussian view to the MAP and the Laplace variance diagonal (exact
        # for small n; above, the O(votes) approximation without the component search,
        # or the search's own, moved to the final lam, when lam was just learnt)
        self._mean[:] = self._s
        if self._n <= min(self.exact_max, 300):
            self._var[:] = self._laplace_var(p)
        elif var is not None:
            self._var[:] = var
        else:
            self._var[:] = laplace_var(p, x, 0, ev=ev, components=False)

    def _set_x(self, p: Problem, x: FloatArray) -> None:
        n = self._n
        self._s = x[:n].copy()
        self._h = float(x[n]) if p.side else 0.0
        self._tau = float(x[-1]) if p.davidson else -math.inf

    @property
    def stale_votes(self) -> int:
        """Votes absorbed since the last refit (0 when ``scores()`` needs no refit)."""
        self._ensure()
        return self._m - self._n_fit

    def refit(self) -> None:
        """Bring the MAP (and the re-synced posterior view) up to date now.

        Every read does this lazily; a service can call it in the background "every so
        often" so that reads stay cheap and ``posterior()`` is re-synced.
        """
        self._ensure_fit()

    def _ensure_fit(self) -> None:
        self._ensure()
        if self._n_fit != self._m:
            self._refit()

    def _full_x(self, p: Problem) -> FloatArray:
        parts = [self._s]
        if p.side:
            parts.append(np.array([self._h]))
        if p.davidson:
            parts.append(np.array([self._tau]))
        return np.concatenate(parts)

    # -- reads -------------------------------------------------------------------
    def scores(self) -> FloatArray:
        self._ensure_fit()
        return self._s.copy()

    @property
    def side_effect(self) -> float:
        """Estimated left-side advantage ``h`` (0 when the side advantage is not in use)."""
        self._ensure_fit()
        return self._h

    @property
    def tie_param(self) -> float:
        """Davidson ``nu`` (0 when no ties were seen or ``ties="half"``)."""
        self._ensure_fit()
        return math.exp(self._tau) if math.isfinite(self._tau) else 0.0

    def outcome_probs(
        self, left: ArrayLike, right: ArrayLike
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """``(P(left wins), P(tie), P(right wins))`` with the side advantage and Davidson ties.

        With ``ties="half"`` (or no ties seen) ``P(tie)`` is 0.
        """
        self._ensure_fit()
        li = np.asarray(left, dtype=np.int64)
        ri = np.asarray(right, dtype=np.int64)
        d = self._s[li] - self._s[ri] + self._h
        if not math.isfinite(self._tau):
            pw = scipy.special.expit(d)
            return pw, np.zeros_like(pw), 1.0 - pw
        a = 0.5 * d
        big = np.maximum(np.abs(a), self._tau)
        ew, el, et = np.exp(a - big), np.exp(-a - big), np.exp(self._tau - big)
        tot = ew + el + et
        return ew / tot, et / tot, el / tot

    def predict(
        self,
        left: ArrayLike,
        right: ArrayLike,
        voter: ArrayLike | None = None,
        context: VoteContext | None = None,
    ) -> FloatArray:
        """``P(left wins | decisive)``, with the side advantage when it is estimated."""
        pw, _, pl = self.outcome_probs(np.atleast_1d(left), np.atleast_1d(right))
        return np.asarray(pw / (pw + pl), dtype=np.float64)
