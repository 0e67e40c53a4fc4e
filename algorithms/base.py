"""The interface every rating model implements, and the model registry :data:`MODELS`.

Items are dense integer indices ``0..n-1``. An *outcome* is the score of the
left item: ``1.0`` left wins, ``0.0`` right wins, ``0.5`` tie. Scores live on the
natural log-odds scale, so for Bradley-Terry models
``P(i beats j) = 1 / (1 + exp(-(s_i - s_j)))``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, NamedTuple, Self

import msgspec
import numpy as np
from numpy.typing import ArrayLike, NDArray

from algorithms.registry import Registry

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

__all__ = [
    "MODELS",
    "FloatArray",
    "IntArray",
    "ModelState",
    "PairwiseModel",
    "Posterior",
    "VoteContext",
    "as_votes",
    "create_model",
    "register_model",
]


class ModelState(msgspec.Struct, frozen=True, kw_only=True):
    """Everything needed to rebuild a model exactly.

    ``model`` is the registry name, ``params`` the hyperparameters given to
    ``__init__`` and ``data`` the learned state (lists of floats/ints, or bytes
    holding little-endian numpy buffers for large arrays). Round trips through
    ``msgspec.json`` and ``msgspec.msgpack`` are exact.
    """

    model: str
    params: dict[str, Any]
    data: dict[str, Any]
    version: int = 1


class Posterior(msgspec.Struct, frozen=True):
    """A cheap per-item Gaussian view of a model: mean and variance of each score.

    The arrays are read-only views kept current in O(1) per vote; samplers read them.
    """

    mean: FloatArray
    var: FloatArray


class VoteContext(NamedTuple):
    """Facts about each vote beyond the pair and the voter, for the models that use them.

    Each field is ``None`` or an array with one entry per vote of the batch (a scalar for a
    single vote). A model names the fields it reads in :attr:`PairwiseModel.uses`; callers
    may pass the others or leave them out.
    """

    time: ArrayLike | None = None
    """When each vote was cast, in any increasing unit (seconds since the epoch, days...)."""
    group: ArrayLike | None = None
    """The voter's participant group per vote, as a dense index (``-1``: no group)."""


def as_votes(
    left: ArrayLike, right: ArrayLike, outcome: ArrayLike, n_items: int | None = None
) -> tuple[IntArray, IntArray, FloatArray]:
    """Validate a batch of votes and return fresh ``int64, int64, float64`` arrays.

    Raises ``ValueError`` naming the offending argument when shapes differ, an
    index is out of range, an item is compared with itself, or an outcome is
    outside ``[0, 1]``. The inputs are never mutated.
    """
    lft = np.atleast_1d(np.asarray(left))
    rgt = np.atleast_1d(np.asarray(right))
    out = np.atleast_1d(np.asarray(outcome, dtype=np.float64))
    if lft.ndim != 1 or rgt.ndim != 1 or out.ndim != 1:
        raise ValueError("left, right and outcome must be scalars or 1-d arrays")
    if not (lft.shape == rgt.shape == out.shape):
        raise ValueError(
            f"left, right and outcome must have the same length, got "
            f"{lft.shape[0]}, {rgt.shape[0]} and {out.shape[0]}"
        )
    for name, arr in (("left", lft), ("right", rgt)):
        if (
            arr.size
            and not np.issubdtype(arr.dtype, np.integer)
            and not np.all(np.equal(np.mod(arr, 1), 0))
        ):
            raise ValueError(f"{name} must hold integer item indices")
    li = lft.astype(np.int64, copy=True)
    ri = rgt.astype(np.int64, copy=True)
    if li.size:
        lo = min(int(li.min()), int(ri.min()))
        if lo < 0:
            raise ValueError(f"item indices must be >= 0, got {lo}")
        if n_items is not None:
            hi = max(int(li.max()), int(ri.max()))
            if hi >= n_items:
                raise ValueError(f"item index {hi} out of range for n_items={n_items}")
        if np.any(li == ri):
            raise ValueError("an item cannot be compared with itself (left == right)")
        if not np.all(np.isfinite(out)) or out.min() < 0.0 or out.max() > 1.0:
            raise ValueError("outcome must be in [0, 1]: 1 left wins, 0 right wins, 0.5 tie")
    return li, ri, out.copy()


class PairwiseModel(ABC):
    """Base class of all rating models.

    Follows the scikit-learn split: ``__init__`` only stores hyperparameters
    (validated on first use); learned state lives in attributes set by
    :meth:`add_items`, :meth:`update` and :meth:`fit`. Stateful methods return
    ``None`` (``fit`` returns ``self`` for chaining); reads have no side effects
    visible to the caller.
    """

    name: ClassVar[str] = ""
    uses: ClassVar[frozenset[str]] = frozenset()
    """What the model reads beyond the pair and the outcome: ``"voter"`` and the
    :class:`VoteContext` fields (``"time"``, ``"group"``). Others ignore them."""

    def __init__(self, n_items: int = 0) -> None:
        self.n_items_init = n_items

    # -- core -----------------------------------------------------------------
    @property
    @abstractmethod
    def n_items(self) -> int:
        """Number of items the model knows."""

    @property
    @abstractmethod
    def n_votes(self) -> int:
        """Number of votes the model has absorbed."""

    @abstractmethod
    def update(
        self,
        left: ArrayLike,
        right: ArrayLike,
        outcome: ArrayLike,
        voter: ArrayLike | None = None,
        context: VoteContext | None = None,
    ) -> None:
        """Absorb one vote (scalars) or a batch (arrays), in order."""

    @abstractmethod
    def fit(
        self,
        left: ArrayLike,
        right: ArrayLike,
        outcome: ArrayLike,
        voter: ArrayLike | None = None,
        context: VoteContext | None = None,
    ) -> Self:
        """Forget all votes and fit from scratch on this batch; returns ``self``."""

    @abstractmethod
    def add_items(self, k: int) -> None:
        """Append ``k`` new items with prior scores."""

    @abstractmethod
    def scores(self) -> FloatArray:
        """Scores on the natural log-odds scale, shape ``(n_items,)``."""

    @abstractmethod
    def posterior(self) -> Posterior:
        """Cheap per-item Gaussian view (mean, variance), current in O(1) per vote."""

    @abstractmethod
    def intervals(self, level: float = 0.95) -> tuple[FloatArray, FloatArray]:
        """Per-item ``(low, high)`` interval of the score at ``level``."""

    @abstractmethod
    def state(self) -> ModelState:
        """Exact serialisable state; ``type(m).from_state(m.state())`` equals ``m``."""

    @classmethod
    @abstractmethod
    def from_state(cls, state: ModelState) -> Self:
        """Rebuild a model from :meth:`state`."""

    # -- derived reads (shared) --------------------------------------------------
    def prob(self, i: ArrayLike, j: ArrayLike) -> Any:
        """``P(i beats j)`` under the model; vectorised over arrays of indices."""
        s = self.scores()
        ii = np.asarray(i, dtype=np.int64)
        jj = np.asarray(j, dtype=np.int64)
        p = 1.0 / (1.0 + np.exp(-(s[ii] - s[jj])))
        return float(p) if p.ndim == 0 else p

    def predict(
        self,
        left: ArrayLike,
        right: ArrayLike,
        voter: ArrayLike | None = None,
        context: VoteContext | None = None,
    ) -> FloatArray:
        """``P(left beats right | the vote is decisive)`` for each vote of a batch, using all
        the model knows about a vote (side, voter, time, group): what held-out evaluation
        scores (:mod:`algorithms.evaluate`). The default is :meth:`prob`."""
        return np.atleast_1d(np.asarray(self.prob(left, right), dtype=np.float64))

    def sample_scores(self, size: int, seed: int | np.random.Generator | None = None) -> FloatArray:
        """Draw ``size`` joint samples of all scores from the (approximate) posterior.

        Returns shape ``(size, n_items)``. The default draws independently from
        :meth:`posterior`; models with a joint covariance (``bt``) override it.
        """
        rng = np.random.default_rng(seed)
        post = self.posterior()
        z = rng.standard_normal((size, post.mean.shape[0]))
        return np.asarray(post.mean + z * np.sqrt(post.var), dtype=np.float64)

    def get_params(self) -> dict[str, Any]:
        """Hyperparameters as given to ``__init__`` (scikit-learn convention)."""
        return {"n_items": self.n_items_init}


MODELS: Registry[PairwiseModel] = Registry("model", PairwiseModel)
"""Every rating model by name; an unknown name raises :class:`~algorithms.registry.UnknownName`."""

register_model = MODELS.register
"""Class decorator adding a model to :data:`MODELS`: ``@register_model("bt")``."""


def create_model(name: str, **params: Any) -> PairwiseModel:
    """Create a registered model by name, hyperparameters by keyword (:meth:`Registry.create`).

    >>> from algorithms import create_model
    >>> m = create_model("elo", n_items=3)
    >>> m.update(0, 1, 1.0)
    >>> bool(m.scores()[0] > m.scores()[1])
    True
    """
    return MODELS.create(name, **params)
