"""``group-bt``: Bradley-Terry scores per participant group, shrunk towards the overall score.

Each item has an overall score ``s_i ~ N(0, 1/lam)`` and each participant group ``g`` a
deviation ``d_{g,i} ~ N(0, sigma^2)``; a vote of group ``g`` compares the *group scores*
``t_{g,i} = s_i + d_{g,i}`` (Bradley-Terry, Davidson ties, optional side advantage), a vote
without a group (``-1``) the overall scores. All scores are fitted jointly (MAP), and the
between-group spread ``sigma`` is learnt from the votes by maximising the Laplace evidence
(times a ``Gamma(2)`` prior on ``sigma`` that keeps it off exactly zero) over a grid. So a
group with few votes stays close to the overall ranking, and a difference between groups
needs evidence before it is credible. The maths is in ``docs/models.md``; the numerics in
:mod:`algorithms._group_fit`.
"""

from __future__ import annotations

import math
from typing import Any, Self

import numpy as np
import scipy.optimize
import scipy.special
from numpy.typing import ArrayLike

from algorithms._bt_fit import edge_step, scatter
from algorithms._gauss import AUTO, auto_or_number, check_int, check_positive
from algorithms._group_cov import Covariance
from algorithms._group_reads import GroupDifference, GroupReads
from algorithms._group_refit import REESTIMATE_GROWTH, SPREAD_GRID, GroupRefit
from algorithms._group_state import GroupState
from algorithms.base import (
    FloatArray,
    IntArray,
    PairwiseModel,
    Posterior,
    VoteContext,
    as_votes,
    register_model,
)
from algorithms.bt import DEFAULT_PRIOR_STRENGTH, BTModel

__all__ = ["REESTIMATE_GROWTH", "SPREAD_GRID", "GroupBT", "GroupDifference"]


_TIES = ("davidson", "half")


@register_model("group-bt")
class GroupBT(GroupRefit, GroupState, GroupReads, PairwiseModel):
    """Bradley-Terry MAP with per-group scores as shrunken deviations from the overall score.

    Parameters
    ----------
    n_items
        Number of items to start with (more can be added with :meth:`add_items`).
    prior_strength
        Prior precision ``lam`` of the overall scores: a number, or ``"auto"`` (default)
        for the value ``bt`` learns from all the votes pooled (empirical Bayes).
    group_spread
        Between-group standard deviation ``sigma`` of the deviations. ``None`` (default):
        learnt from the votes (empirical Bayes); a number ``>= 0`` fixes it (``0``: every
        group has the overall scores).
    ties, side_advantage
        As in ``bt`` (``side_advantage="auto"`` keeps the left-side advantage when ``bt``
        on the pooled votes does); the tie parameter and ``h`` are shared by all groups.
    exact_max
        Up to this many parameters (overall scores plus group scores with votes) the
        evidence and the intervals are exact (Cholesky); above, per-item block
        approximations (see ``docs/models.md``).

    Notes
    -----
    The group of each vote comes from ``context.group`` (a dense index, ``-1`` for none);
    without a context every vote counts only towards the overall scores and the model is
    ``bt``. ``sigma`` is learnt only when votes come from at least two sources (two groups,
    or one group and votes without a group); otherwise it is 0.

    Examples
    --------
    Two groups agree on items 1-3; group 1 likes item 0 much less than group 0 does:

    >>> import numpy as np
    >>> from algorithms import VoteContext, create_model
    >>> rng = np.random.default_rng(0)
    >>> left = rng.integers(0, 4, 2000)
    >>> right = (left + rng.integers(1, 4, 2000)) % 4
    >>> group = rng.integers(0, 2, 2000)
    >>> true = np.array([[1.0, 0.5, 0.0, -1.5], [-1.0, 0.5, 0.0, -1.5]])
    >>> p_left = 1 / (1 + np.exp(true[group, right] - true[group, left]))
    >>> out = (rng.random(2000) < p_left).astype(float)
    >>> m = create_model("group-bt", n_items=4)
    >>> m = m.fit(left, right, out, context=VoteContext(group=group))
    >>> diff = m.group_difference(1, 0)  # group 1 minus group 0, per item
    >>> diff.credible.tolist(), bool(diff.high[0] < 0)
    ([True, False, False, False], True)
    """

    uses = frozenset({"group"})

    _s: FloatArray
    _t: FloatArray  # (groups, items): each group's scores (the overall score where inactive)

    def __init__(
        self,
        n_items: int = 0,
        prior_strength: float | str = AUTO,
        group_spread: float | None = None,
        ties: str = "davidson",
        side_advantage: bool | str = AUTO,
        exact_max: int = 400,
    ) -> None:
        super().__init__(n_items)
        self.prior_strength = prior_strength
        self.group_spread = group_spread
        self.ties = ties
        self.side_advantage = side_advantage
        self.exact_max = exact_max
        self._ready = False

    # -- set-up ------------------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        params = {
            "n_items": self.n_items_init,
            "prior_strength": self.prior_strength,
            "group_spread": self.group_spread,
            "ties": self.ties,
            "side_advantage": self.side_advantage,
            "exact_max": self.exact_max,
        }
        return {k: v.item() if isinstance(v, np.generic) else v for k, v in params.items()}

    def _validate(self) -> None:
        check_int("n_items", self.n_items_init)
        auto_or_number("prior_strength", self.prior_strength, allow_zero=False)
        spread, side = self.group_spread, self.side_advantage
        if spread is not None:
            check_positive("group_spread", spread, allow_zero=True)
        if self.ties not in _TIES:
            raise ValueError(f"ties must be one of {_TIES}, got {self.ties!r}")
        if not (isinstance(side, bool | np.bool_) or side == AUTO):
            raise ValueError(f'side_advantage must be True, False or "auto", got {side!r}')
        check_int("exact_max", self.exact_max)

    def _init_state(self, n: int) -> None:
        self._validate()
        # plain bt on all the votes pooled: the whole fit when there are no groups, and
        # where lam, the side decision and the start of a grouped fit come from
        self._bt = BTModel(
            n_items=n,
            prior_strength=self.prior_strength,
            ties=self.ties,
            side_advantage=self.side_advantage,
        )
        auto = self.prior_strength == AUTO
        self._lam = DEFAULT_PRIOR_STRENGTH if auto else float(self.prior_strength)
        self._side = self.side_advantage is True
        self._n = n
        self._m = 0
        self._n_groups = 0
        self._n_ties = 0
        self._left = np.zeros(0, dtype=np.int64)
        self._right = np.zeros(0, dtype=np.int64)
        self._out = np.zeros(0, dtype=np.float64)
        self._group = np.zeros(0, dtype=np.int64)
        self._s = np.zeros(n)
        self._t = np.zeros((0, n))
        self._h = 0.0
        self._tau = -math.inf
        self._sigma = 0.0
        self._m_est = 0  # votes at the last search for sigma
        self._n_fit = 0
        self._mean = np.zeros(n)
        self._var = np.full(n, 1.0 / self._lam)
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

    @property
    def n_groups(self) -> int:
        """Number of groups seen in the votes (the largest group index plus one)."""
        self._ensure()
        return self._n_groups

    @property
    def spread(self) -> float:
        """The fitted between-group standard deviation ``sigma`` (0: no group differences)."""
        self._ensure_fit()
        return self._sigma

    @property
    def fitted_prior_strength(self) -> float:
        """The prior precision ``lam`` of the overall scores in use (``bt``'s on the pooled
        votes when ``prior_strength="auto"``)."""
        self._ensure_fit()
        return self._lam

    @property
    def fitted_side_advantage(self) -> bool:
        """Whether the left-side advantage ``h`` is in use."""
        self._ensure_fit()
        return self._side

    @property
    def side_effect(self) -> float:
        """Estimated left-side advantage ``h`` (0 when it is not in use)."""
        self._ensure_fit()
        return self._h

    def add_items(self, k: int) -> None:
        self._ensure()
        k = check_int("k", k)
        if k == 0:
            return
        self._n += k
        self._bt.add_items(k)
        # an item without votes does not move the MAP of the others: the fit stays valid
        self._s = np.concatenate([self._s, np.zeros(k)])
        self._t = np.concatenate([self._t, np.zeros((self._t.shape[0], k))], axis=1)
        self._mean = np.concatenate([self._mean, np.zeros(k)])
        # new items at the prior, as bt has it (its prior strength, learnt or given)
        self._var = np.concatenate([self._var, self._bt.posterior().var[-k:]])
        self._cache = {}

    def _groups(self, context: VoteContext | None, size: int) -> IntArray:
        raw = None if context is None else context.group
        if raw is None:
            return np.full(size, -1, dtype=np.int64)
        arr = np.asarray(raw)
        if arr.ndim == 0:
            arr = np.full(size, arr.item())
        if arr.shape != (size,):
            raise ValueError(
                f"context.group must have one entry per vote ({size}), got {arr.shape}"
            )
        if arr.size and (
            not np.issubdtype(arr.dtype, np.integer) and not np.all(np.equal(np.mod(arr, 1), 0))
        ):
            raise ValueError("context.group must hold integer group indices (-1: no group)")
        grp = arr.astype(np.int64)
        if grp.size and int(grp.min()) < -1:
            raise ValueError(f"context.group must be >= -1 (-1: no group), got {int(grp.min())}")
        return grp

    def update(
        self,
        left: ArrayLike,
        right: ArrayLike,
        outcome: ArrayLike,
        voter: ArrayLike | None = None,
        context: VoteContext | None = None,
    ) -> None:
        """Absorb one vote (scalars) or a batch (arrays); the group of each vote is
        ``context.group``. Reads refit lazily, warm-started."""
        self._ensure()
        li, ri, yy = as_votes(left, right, outcome, self._n)
        gg = self._groups(context, li.shape[0])
        self._bt.update(li, ri, yy)
        self._append(li, ri, yy, gg)
        self._view_step(li, ri, yy)

    def fit(
        self,
        left: ArrayLike,
        right: ArrayLike,
        outcome: ArrayLike,
        voter: ArrayLike | None = None,
        context: VoteContext | None = None,
    ) -> Self:
        """Forget all votes and fit from scratch on this batch; ``voter`` is ignored."""
        if not self._ready:
            self._validate()
        n = self._n if self._ready else int(self.n_items_init)
        li, ri, yy = as_votes(left, right, outcome, n)
        gg = self._groups(context, li.shape[0])
        self._init_state(n)
        self._bt.update(li, ri, yy)
        self._append(li, ri, yy, gg)
        self._refit()
        return self

    def _append(self, li: IntArray, ri: IntArray, yy: FloatArray, gg: IntArray) -> None:
        m, k = self._m, li.shape[0]
        if m + k > self._left.shape[0]:
            cap = max(16, self._left.shape[0])
            while cap < m + k:
                cap *= 2
            for name in ("_left", "_right", "_out", "_group"):
                old = getattr(self, name)
                new = np.zeros(cap, dtype=old.dtype)
                new[:m] = old[:m]
                setattr(self, name, new)
        self._left[m : m + k] = li
        self._right[m : m + k] = ri
        self._out[m : m + k] = yy
        self._group[m : m + k] = gg
        self._m = m + k
        self._n_ties += int(np.count_nonzero(yy == 0.5))
        if k:
            self._n_groups = max(self._n_groups, int(gg.max()) + 1)

    def _view_step(self, li: IntArray, ri: IntArray, yy: FloatArray) -> None:
        """One diagonal Newton step per vote on the overall Gaussian view (as ``bt``)."""
        if li.size == 0:
            return
        n = self._n
        g, w = edge_step(self._mean[li] - self._mean[ri] + self._h, yy, self._tau)
        grad = scatter(li, g, n) - scatter(ri, g, n)
        self._var[:] = 1.0 / (1.0 / self._var + scatter(li, w, n) + scatter(ri, w, n))
        self._mean += self._var * grad

    # -- fitting -----------------------------------------------------------------
    def _votes(self) -> tuple[IntArray, IntArray, FloatArray, IntArray]:
        m = self._m
        return self._left[:m], self._right[:m], self._out[:m], self._group[:m]

    @property
    def stale_votes(self) -> int:
        """Votes absorbed since the last refit (0 when reads need no refit)."""
        self._ensure()
        return self._m - self._n_fit

    def refit(self) -> None:
        """Bring the fit (and the re-synced posterior view) up to date now."""
        self._ensure_fit()

    def _ensure_fit(self) -> None:
        self._ensure()
        if self._n_fit != self._m:
            self._refit()

    def _covariance(self) -> Covariance:
        """Laplace covariance at the stored fit (rebuilt the same way after a state load)."""
        cov = self._cache.get("cov")
        if cov is None:
            gp = self._cache.get("gp")
            if gp is None or gp.lay.n_items != self._n:
                gp = self._cache["gp"] = self._problem(self._sigma)
            # without group deviations the fit is the pooled bt's, and so are its variances
            var = self._bt.score_sd() ** 2 if self._sigma == 0.0 else None
            cov = Covariance(gp, self._x(gp, self._s, self._t, self._tau), var)
            self._cache["cov"] = cov
        return cov

    def sample_scores(self, size: int, seed: int | np.random.Generator | None = None) -> FloatArray:
        """Joint draws of the overall scores (``bt``'s when there are no group deviations)."""
        self._ensure_fit()
        if self._sigma == 0.0:
            return self._bt.sample_scores(size, seed)
        return super().sample_scores(size, seed)

    # -- reads -------------------------------------------------------------------
    def scores(self) -> FloatArray:
        self._ensure_fit()
        return self._s.copy()

    def posterior(self) -> Posterior:
        self._ensure()
        mean = self._mean.view()
        var = self._var.view()
        mean.flags.writeable = False
        var.flags.writeable = False
        return Posterior(mean=mean, var=var)

    def predict(
        self,
        left: ArrayLike,
        right: ArrayLike,
        voter: ArrayLike | None = None,
        context: VoteContext | None = None,
    ) -> FloatArray:
        """``P(left wins | decisive)`` from the vote's group scores (overall scores for
        ``-1`` or a group never seen), with the side advantage when it is estimated."""
        self._ensure_fit()
        li = np.atleast_1d(np.asarray(left, dtype=np.int64))
        ri = np.atleast_1d(np.asarray(right, dtype=np.int64))
        gg = self._groups(context, li.shape[0])
        table = np.vstack([self._t, self._s[None, :]])
        row = np.where((gg >= 0) & (gg < self._t.shape[0]), gg, self._t.shape[0])
        d = table[row, li] - table[row, ri] + self._h
        return np.asarray(scipy.special.expit(d), dtype=np.float64)
