"""Shared pieces of the per-item Gaussian models (``bt-online``, ``elo``, ``crowd-bt``).

Maths used by more than one model (the probit approximation of the
logistic-Gaussian integral, Mills ratios, normal quantiles), parameter checks,
exact array packing for :class:`~algorithms.base.ModelState`, and
:class:`GaussianItemModel`, the common storage of a mean and a variance per item.

The per-vote hot paths work on ``memoryview`` objects over the numpy storage,
so a single vote costs no numpy call and no allocation, while
:meth:`GaussianItemModel.posterior` hands out read-only numpy views that are
current after every vote.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from statistics import NormalDist
from typing import Any, ClassVar, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

from algorithms._wire import fresh_model, unpack_f64
from algorithms.base import (
    FloatArray,
    ModelState,
    PairwiseModel,
    Posterior,
    VoteContext,
    as_votes,
)

__all__ = [
    "AUTO",
    "LAMBDA2",
    "GaussianItemModel",
    "auto_or_number",
    "check_int",
    "check_positive",
    "mills",
    "pack_array",
    "unpack_array",
    "voter_array",
    "z_value",
]

#: ``λ² = π/8``: the standard probit approximation ``σ(x) ≈ Φ(λx)`` (equal slopes at 0),
#: which gives ``E[σ(d)] ≈ σ(μ / sqrt(1 + π v / 8))`` for ``d ~ N(μ, v)``.
LAMBDA2 = math.pi / 8.0
_SQRT1_2 = math.sqrt(0.5)
_INV_SQRT2PI = 1.0 / math.sqrt(2.0 * math.pi)


def mills(t: float) -> float:
    """``φ(t) / Φ(t)``, the inverse Mills ratio, accurate for very negative ``t``.

    >>> round(mills(0.0), 6)
    0.797885
    >>> round(mills(-40.0), 3)  # φ and Φ both underflow here; the asymptote takes over
    40.025
    """
    if t > -30.0:
        return _INV_SQRT2PI * math.exp(-0.5 * t * t) / (0.5 * math.erfc(-t * _SQRT1_2))
    # asymptotic series of Φ(t)/φ(t) = (1/|t|)(1 - 1/t² + 3/t⁴ - 15/t⁶ ...)
    u = 1.0 / (t * t)
    return -t / (1.0 - u + 3.0 * u * u - 15.0 * u * u * u)


def z_value(level: float) -> float:
    """Two-sided standard normal quantile for a central interval at ``level``.

    >>> round(z_value(0.95), 4)
    1.96
    """
    if not (isinstance(level, int | float) and 0.0 < level < 1.0):
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    return NormalDist().inv_cdf(0.5 + 0.5 * float(level))


def check_positive(name: str, value: Any, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a float, or raise ``ValueError`` naming ``name``."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if ok and (value > 0 or (allow_zero and value == 0)):
        return float(value)
    bound = ">= 0" if allow_zero else "> 0"
    raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")


#: The value of a hyperparameter that is learnt from the votes.
AUTO = "auto"


def auto_or_number(name: str, value: Any, *, allow_zero: bool) -> float | None:
    """``None`` for ``"auto"``, else ``value`` as a float; ``ValueError`` naming ``name`` when
    it is neither ``"auto"`` nor a finite number above 0 (or equal to it, with ``allow_zero``).

    >>> auto_or_number("drift", "auto", allow_zero=True), auto_or_number("lam", 2, allow_zero=False)
    (None, 2.0)
    """
    if isinstance(value, str) and value == AUTO:
        return None
    ok = (
        isinstance(value, int | float | np.integer | np.floating)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
        and (float(value) > 0.0 or (allow_zero and float(value) == 0.0))
    )
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be 'auto' or a finite number {bound}, got {value!r}")
    return float(value)


def check_int(name: str, value: Any) -> int:
    """Return ``value`` as an int >= 0, or raise ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    return int(value)


def pack_array(arr: FloatArray) -> bytes:
    """Little-endian float64 bytes of ``arr`` (exact; inverse of :func:`unpack_array`)."""
    return np.ascontiguousarray(arr, dtype="<f8").tobytes()


def unpack_array(value: Any) -> FloatArray:
    """A fresh writable float64 array from :func:`pack_array` output.

    Accepts the bytes themselves (msgpack) or their base64 text (what
    ``msgspec.json`` turns bytes into inside an untyped ``dict``), or a list of floats.

    >>> import base64
    >>> a = np.array([0.1, -2.5, 1e-300])
    >>> bool(np.array_equal(unpack_array(pack_array(a)), a))
    True
    >>> bool(np.array_equal(unpack_array(base64.b64encode(pack_array(a)).decode()), a))
    True
    """
    if isinstance(value, str | bytes | bytearray | memoryview):
        return unpack_f64(value)
    return np.array(value, dtype=np.float64)


def voter_array(voter: ArrayLike) -> NDArray[Any]:
    """``voter`` as a numpy array without silently turning mixed ints and strings into strings.

    >>> voter_array([3, 4]).dtype.kind, voter_array(["a", "b"]).dtype.kind
    ('i', 'U')
    """
    if isinstance(voter, list | tuple) and voter:
        kinds = {isinstance(v, str | np.str_) for v in voter}
        if len(kinds) > 1:
            raise ValueError("voter ids in one batch must be all ints or all strings")
    return np.asarray(voter)


def _float_view(arr: FloatArray) -> memoryview[float]:
    """A ``memoryview`` of float64 items sharing ``arr``'s buffer (typed for mypy)."""
    return arr.data.cast("B").cast("d")


class GaussianItemModel(PairwiseModel):
    """Base of the models that keep a mean and a variance per item, updated vote by vote.

    Subclasses implement :meth:`_step` (one validated vote, plain Python
    numbers, no numpy) and list their hyperparameters in :meth:`get_params`;
    ``update`` dispatches single votes of plain ints/floats straight to
    ``_step`` and loops over batches in order.
    """

    #: ``fit`` is a reset plus sequential updates, so its result depends on vote order.
    #: (A class flag read by the contract tests; batch-fit models leave it out or set True.)
    fit_order_invariant: ClassVar[bool] = False

    def __init__(self, n_items: int = 0, *, prior_var: float = 1.0) -> None:
        super().__init__(n_items)
        self.prior_var = prior_var
        self._validate_params()
        self._reset()

    # -- hyperparameters --------------------------------------------------------
    def _validate_params(self) -> None:
        check_int("n_items", self.n_items_init)
        check_positive("prior_var", self.prior_var)

    def get_params(self) -> dict[str, Any]:
        # plain Python numbers, so that state() encodes even if numpy scalars were passed
        return {"n_items": int(self.n_items_init), "prior_var": float(self.prior_var)}

    # -- learned state ----------------------------------------------------------
    def _reset(self) -> None:
        n = int(self.n_items_init)
        self._set_arrays(np.zeros(n), np.full(n, float(self.prior_var)))
        self._votes = 0

    def _set_arrays(self, mean: FloatArray, var: FloatArray) -> None:
        self.mean_ = np.ascontiguousarray(mean, dtype=np.float64)
        self.var_ = np.ascontiguousarray(var, dtype=np.float64)
        # the hot path reads and writes these views: no numpy call per vote
        self._mu = _float_view(self.mean_)
        self._s2 = _float_view(self.var_)
        self._n = int(self.mean_.shape[0])

    @property
    def n_items(self) -> int:
        return self._n

    @property
    def n_votes(self) -> int:
        return self._votes

    # -- updates ----------------------------------------------------------------
    def _step(self, i: int, j: int, y: float, voter: Any) -> None:
        """Absorb one vote whose arguments are already validated."""
        raise NotImplementedError

    def _bad_vote(self, left: Any, right: Any, outcome: Any) -> ValueError:
        """The error for a single vote that failed the fast checks."""
        try:
            as_votes(left, right, outcome, self._n)
        except ValueError as exc:
            return exc
        return ValueError(f"invalid vote {left!r}, {right!r}, {outcome!r}")  # pragma: no cover

    def _voters(self, voter: ArrayLike | None, size: int) -> Iterator[Any]:
        """One voter id per vote of a batch (``None`` when not given)."""
        if voter is None:
            return iter([None] * size)
        vs = voter_array(voter)
        if vs.ndim == 0:
            return iter([vs.item()] * size)
        if vs.shape != (size,):
            raise ValueError(f"voter must have one entry per vote ({size}), got shape {vs.shape}")
        return iter(vs.tolist())

    def update(
        self,
        left: ArrayLike,
        right: ArrayLike,
        outcome: ArrayLike,
        voter: ArrayLike | None = None,
        context: VoteContext | None = None,
    ) -> None:
        """Absorb one vote (plain ints/float) or a batch (arrays), in order.

        A batch is validated as a whole first: if any vote is invalid none is applied.
        """
        if type(left) is int and type(right) is int and type(outcome) in (float, int):
            n = self._n
            y = float(outcome)
            if 0 <= left < n and 0 <= right < n and left != right and 0.0 <= y <= 1.0:
                self._step(left, right, y, voter)
                self._votes += 1
                return
            raise self._bad_vote(left, right, outcome)
        li, ri, out = as_votes(left, right, outcome, self._n)
        voters = self._voters(voter, li.shape[0])
        step = self._step
        for i, j, y, v in zip(li.tolist(), ri.tolist(), out.tolist(), voters, strict=True):
            step(i, j, y, v)
        self._votes += li.shape[0]

    def fit(
        self,
        left: ArrayLike,
        right: ArrayLike,
        outcome: ArrayLike,
        voter: ArrayLike | None = None,
        context: VoteContext | None = None,
    ) -> Self:
        """Forget all votes, keep the items, and :meth:`update` with the batch in order.

        Online models are order dependent: ``fit`` equals a fresh model of the
        same size fed the votes one by one.
        """
        li, ri, out = as_votes(left, right, outcome, self._n)
        self._reset_to(self._n)
        self.update(li, ri, out, voter)
        return self

    def _reset_to(self, n: int) -> None:
        """Forget everything learned, then hold ``n`` items at the prior."""
        self._reset()
        if n > self._n:
            self.add_items(n - self._n)

    def add_items(self, k: int) -> None:
        """Append ``k`` items with the prior mean 0 and variance ``prior_var``."""
        k = check_int("k", k)
        if k == 0:
            return
        mean = np.concatenate([self.mean_, np.zeros(k)])
        var = np.concatenate([self.var_, np.full(k, float(self.prior_var))])
        self._release_views()
        self._set_arrays(mean, var)

    def _release_views(self) -> None:
        self._mu.release()
        self._s2.release()

    # -- reads --------------------------------------------------------------------
    def scores(self) -> FloatArray:
        return self.mean_.copy()

    def posterior(self) -> Posterior:
        """Read-only views of the means and variances, current after every vote.

        The views go stale (stop following updates) after :meth:`add_items`; read again.
        """
        mean = self.mean_.view()
        var = self.var_.view()
        mean.flags.writeable = False
        var.flags.writeable = False
        return Posterior(mean, var)

    def intervals(self, level: float = 0.95) -> tuple[FloatArray, FloatArray]:
        """``mean ± z·sd`` from the per-item Gaussian."""
        half = z_value(level) * np.sqrt(self.var_)
        return self.mean_ - half, self.mean_ + half

    # -- state ----------------------------------------------------------------------
    def _state_data(self) -> dict[str, Any]:
        return {}

    def _load_state_data(self, data: dict[str, Any]) -> None:
        return None

    def state(self) -> ModelState:
        data = {
            "mean": pack_array(self.mean_),
            "var": pack_array(self.var_),
            "n_votes": self._votes,
            **self._state_data(),
        }
        return ModelState(model=self.name, params=self.get_params(), data=data)

    @classmethod
    def from_state(cls, state: ModelState) -> Self:
        model = fresh_model(cls, state)
        data = state.data
        mean, var = unpack_array(data["mean"]), unpack_array(data["var"])
        if mean.shape != var.shape:
            raise ValueError("state data: mean and var differ in length")
        model._release_views()
        model._set_arrays(mean, var)
        model._votes = int(data["n_votes"])
        model._load_state_data(data)
        return model
