"""``time-bt``: Bradley-Terry scores that drift over time (a Gaussian random walk per item).

Votes are grouped into time buckets; each item's score follows a random walk from bucket to
bucket, ``s_{i,b} = s_{i,b-1} + eps``, ``eps ~ N(0, sigma^2 (t_b - t_{b-1}))``, starting from
``N(0, 1/lam)`` at the item's first bucket. The fit is the joint MAP of all the scores (Newton
on the block-tridiagonal Hessian, :mod:`algorithms._time_bt_fit`); ``lam``, the drift ``sigma``
and whether to keep a side advantage are chosen by empirical Bayes (the Laplace evidence).
With no times, or no drift in the data, it is plain ``bt`` with a learned prior strength.
See ``docs/models.md`` for the maths and references.
"""

from __future__ import annotations

import math
from typing import Any, Self

import numpy as np
from numpy.typing import ArrayLike

from algorithms._bt_objective import edge_step, scatter
from algorithms._gauss import check_int
from algorithms._time_bt_fit import EXACT_ITEMS
from algorithms._time_bt_params import AUTO, auto_or_number, vote_times
from algorithms._time_bt_reads import TimeBTReads
from algorithms._time_bt_search import (
    DEFAULT_PRIOR_STRENGTH,
    FitResult,
    fit_time_bt,
    latest_posterior,
)
from algorithms._time_bt_state import TimeBTState
from algorithms.base import (
    FloatArray,
    IntArray,
    PairwiseModel,
    Posterior,
    VoteContext,
    as_votes,
    register_model,
)

__all__ = ["TimeBT"]

_TIES = ("davidson", "half")


@register_model("time-bt")
class TimeBT(TimeBTReads, TimeBTState, PairwiseModel):
    """Time-aware Bradley-Terry: per-item scores follow a random walk over time buckets.

    ``P(left wins | decisive) = σ(s_{l,t} − s_{r,t} + h)`` with the scores at the vote's time.

    Parameters
    ----------
    n_items
        Number of items to start with.
    prior_strength
        Prior precision ``lam`` of an item's score at its first bucket, or ``"auto"``
        (default): maximise the Laplace evidence (with a weak hyperprior centred on ``bt``'s
        ``0.5``).
    drift
        ``sigma``, the standard deviation of a score's change per unit of time (the unit of
        ``context.time``), ``0`` for static scores, or ``"auto"`` (default): by evidence.
    bucket_width
        Width of the time buckets in units of time, or ``"auto"`` (default): equal-count buckets
        of about ``max(10, n_items / 2)`` votes, at most 100.
    side_advantage
        Estimate a left-side advantage ``h`` (``True``), not (``False``), or keep it only when
        the evidence supports it (``"auto"``, default).
    ties
        ``"davidson"`` (default) or ``"half"``, as in ``bt``.

    Votes give their times in ``context=VoteContext(time=...)`` (any increasing unit; numpy
    ``datetime64`` is read as days); votes without a time (NaN, or no context) count in the
    latest bucket. :meth:`scores` are the latest scores; :meth:`scores_at` reads any time.

    Examples
    --------
    >>> import numpy as np
    >>> from algorithms import VoteContext, create_model
    >>> t = np.repeat([0.0, 1.0], 20)
    >>> left, right = np.zeros(40, dtype=int), np.ones(40, dtype=int)
    >>> out = np.r_[np.ones(18), np.zeros(2), np.zeros(18), np.ones(2)]  # 0 leads, then 1
    >>> m = create_model("time-bt", n_items=2, drift=1.0, side_advantage=False)
    >>> m.fit(left, right, out, context=VoteContext(time=t)).fitted_drift
    1.0
    >>> bool(m.scores_at(0.0)[0] > m.scores_at(0.0)[1]), bool(m.scores()[1] > m.scores()[0])
    (True, True)
    """

    uses = frozenset({"time"})

    def __init__(
        self,
        n_items: int = 0,
        prior_strength: float | str = AUTO,
        drift: float | str = AUTO,
        bucket_width: float | str = AUTO,
        side_advantage: bool | str = AUTO,
        ties: str = "davidson",
    ) -> None:
        super().__init__(n_items)
        self.prior_strength = prior_strength
        self.drift = drift
        self.bucket_width = bucket_width
        self.side_advantage = side_advantage
        self.ties = ties
        self._ready = False

    # -- set-up ------------------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        params = {
            "n_items": self.n_items_init,
            "prior_strength": self.prior_strength,
            "drift": self.drift,
            "bucket_width": self.bucket_width,
            "side_advantage": self.side_advantage,
            "ties": self.ties,
        }
        return {k: v.item() if isinstance(v, np.generic) else v for k, v in params.items()}

    def _validate(self) -> None:
        check_int("n_items", self.n_items_init)
        self._lam_fixed = auto_or_number("prior_strength", self.prior_strength, allow_zero=False)
        self._sigma_fixed = auto_or_number("drift", self.drift, allow_zero=True)
        self._width = auto_or_number("bucket_width", self.bucket_width, allow_zero=False)
        side = self.side_advantage
        if not (isinstance(side, bool | np.bool_) or (isinstance(side, str) and side == AUTO)):
            raise ValueError(
                f"side_advantage must be True, False or 'auto', got {self.side_advantage!r}"
            )
        if self.ties not in _TIES:
            raise ValueError(f"ties must be one of {_TIES}, got {self.ties!r}")

    def _init_state(self, n: int) -> None:
        self._validate()
        lam = self._lam_fixed or DEFAULT_PRIOR_STRENGTH
        self._n = n
        self._m = 0
        self._n_ties = 0
        self._left = np.zeros(0, dtype=np.int64)
        self._right = np.zeros(0, dtype=np.int64)
        self._out = np.zeros(0)
        self._time = np.zeros(0)
        self._pending: list[tuple[IntArray, IntArray, FloatArray, FloatArray]] = []
        self._n_fit = 0
        self._fit = FitResult(lam, 0.0, False, 0.0, -math.inf, np.zeros(1), np.zeros((1, n)), 0.0)
        self._last_var = np.full(n, 1.0 / lam)
        self._mean = np.zeros(n)
        self._var = np.full(n, 1.0 / lam)
        self._cov: FloatArray | None = None
        self._ready = True

    def _ensure(self) -> None:
        if not self._ready:
            self._init_state(int(self.n_items_init))

    def _join(self) -> None:
        """Append the votes of the updates since the last refit to the vote arrays."""
        if self._pending:
            parts = [(self._left, self._right, self._out, self._time), *self._pending]
            self._left, self._right, self._out, self._time = (
                np.concatenate([p[c] for p in parts]) for c in range(4)
            )
            self._pending = []

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
        k = check_int("k", k)
        if k == 0:
            return
        # an item without votes does not move the others' MAP (its nodes are prior only)
        self._n += k
        lam = self._fit.lam
        f = self._fit
        s = np.concatenate([f.s, np.zeros((f.s.shape[0], k))], axis=1)
        self._fit = FitResult(f.lam, f.sigma, f.side, f.h, f.tau, f.times, s, f.score)
        self._last_var = np.concatenate([self._last_var, np.full(k, 1.0 / lam)])
        self._mean = np.concatenate([self._mean, np.zeros(k)])
        self._var = np.concatenate([self._var, np.full(k, 1.0 / lam)])
        self._cov = None

    def update(
        self,
        left: ArrayLike,
        right: ArrayLike,
        outcome: ArrayLike,
        voter: ArrayLike | None = None,
        context: VoteContext | None = None,
    ) -> None:
        """Absorb one vote (scalars) or a batch (arrays); reads refit lazily."""
        self._ensure()
        li, ri, yy = as_votes(left, right, outcome, self._n)
        tt = vote_times(context, li.shape[0])
        self._pending.append((li, ri, yy, tt))  # joined at the next refit or state()
        self._m += li.shape[0]
        self._n_ties += int(np.count_nonzero(yy == 0.5))
        # the posterior view: one diagonal Newton step per item on the latest scores
        n = self._n
        d = self._mean[li] - self._mean[ri] + self._fit.h
        g, w = edge_step(d, yy, self._fit.tau)
        grad = scatter(li, g, n) - scatter(ri, g, n)
        curv = scatter(li, w, n) + scatter(ri, w, n)
        self._var = 1.0 / (1.0 / self._var + curv)
        self._mean = self._mean + self._var * grad

    def fit(
        self,
        left: ArrayLike,
        right: ArrayLike,
        outcome: ArrayLike,
        voter: ArrayLike | None = None,
        context: VoteContext | None = None,
    ) -> Self:
        """Forget all votes and fit from scratch; ``voter`` is ignored."""
        if not self._ready:
            self._validate()
        n = self._n if self._ready else int(self.n_items_init)
        li, ri, yy = as_votes(left, right, outcome, n)
        tt = vote_times(context, li.shape[0])
        self._init_state(n)
        self._left, self._right, self._out, self._time = li, ri, yy, tt
        self._m = li.shape[0]
        self._n_ties = int(np.count_nonzero(yy == 0.5))
        self._refit()
        return self

    # -- fitting -----------------------------------------------------------------
    def _davidson(self) -> bool:
        return self.ties == "davidson" and self._n_ties > 0

    def _refit(self) -> None:
        self._join()
        side = None if isinstance(self.side_advantage, str) else bool(self.side_advantage)
        self._fit = fit_time_bt(
            self._left,
            self._right,
            self._out,
            self._time,
            self._n,
            lam=self._lam_fixed,
            sigma=self._sigma_fixed,
            width=self._width,
            side=side,
            davidson=self._davidson(),
        )
        self._n_fit = self._m
        self._cov = None
        if self._m == 0:
            self._last_var, self._cov = np.full(self._n, 1.0 / self._fit.lam), None
        else:
            self._last_var, self._cov = latest_posterior(
                self._left,
                self._right,
                self._out,
                self._time,
                self._n,
                self._width,
                self._davidson(),
                self._fit,
            )
        self._mean = self._fit.s[-1].copy()
        self._var = self._last_var.copy()

    def _ensure_fit(self) -> None:
        self._ensure()
        if self._n_fit != self._m:
            self._refit()

    def _latest_cov(self) -> FloatArray | None:
        """Covariance of the latest scores (exact path), recomputed after a state round trip
        or ``add_items`` (a deterministic function of the votes and the fit)."""
        if self._cov is None and self._m and self._n <= EXACT_ITEMS:
            self._join()
            _, self._cov = latest_posterior(
                self._left,
                self._right,
                self._out,
                self._time,
                self._n,
                self._width,
                self._davidson(),
                self._fit,
            )
        return self._cov

    def refit(self) -> None:
        """Bring the MAP up to date now (every read does this lazily)."""
        self._ensure_fit()

    # -- reads (more in TimeBTReads; the state round trip is TimeBTState's) ------
    def scores(self) -> FloatArray:
        """The latest scores (the last time bucket)."""
        self._ensure_fit()
        return np.array(self._fit.s[-1], dtype=np.float64)

    @property
    def fitted_drift(self) -> float:
        """``sigma`` in use (learnt when ``drift="auto"``): sd of a score's change per unit of
        time; 0 for static scores."""
        self._ensure_fit()
        return self._fit.sigma

    @property
    def fitted_prior_strength(self) -> float:
        """The prior precision ``lam`` in use (learnt when ``prior_strength="auto"``)."""
        self._ensure_fit()
        return self._fit.lam

    @property
    def fitted_side_advantage(self) -> bool:
        """Whether the side advantage ``h`` is in use (decided when ``"auto"``)."""
        self._ensure_fit()
        return self._fit.side

    @property
    def side_effect(self) -> float:
        """Estimated left-side advantage ``h`` (0 when it is not kept)."""
        self._ensure_fit()
        return self._fit.h

    @property
    def tie_param(self) -> float:
        """Davidson ``nu`` (0 when no ties were seen or ``ties="half"``)."""
        self._ensure_fit()
        return math.exp(self._fit.tau) if math.isfinite(self._fit.tau) else 0.0

    @property
    def bucket_times(self) -> FloatArray:
        """Representative time of each bucket (the mean time of its votes)."""
        self._ensure_fit()
        return self._fit.times.copy()

    @property
    def trajectories(self) -> FloatArray:
        """MAP scores per bucket, shape ``(n_buckets, n_items)``."""
        self._ensure_fit()
        return self._fit.s.copy()

    def posterior(self) -> Posterior:
        self._ensure()
        mean = self._mean.view()
        var = self._var.view()
        mean.flags.writeable = False
        var.flags.writeable = False
        return Posterior(mean=mean, var=var)
