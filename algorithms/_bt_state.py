"""The exact state round trip of :class:`algorithms.bt.BTModel` (``state`` / ``from_state``).

A mixin of ``BTModel``, kept apart so each module fits on a few screens: the votes, the
voters of a model with an ``influence_cap``, the fitted scores and the per-vote view, as
little-endian bytes (:mod:`algorithms._wire`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Self

from algorithms._wire import fresh_model, pack_tau, unpack_f64, unpack_i64, unpack_tau
from algorithms.base import FloatArray, IntArray, ModelState

__all__ = ["BTState"]


class BTState:
    """``state`` and ``from_state``; needs the state of ``BTModel``."""

    # provided by BTModel and its other mixins
    name: ClassVar[str]
    influence_cap: float | None
    _n: int
    _m: int
    _n_ties: int
    _n_fit: int
    _m_est: int
    _s: FloatArray
    _h: float
    _tau: float
    _lam: float
    _side: bool
    _mean: FloatArray
    _var: FloatArray
    _left: IntArray
    _right: IntArray
    _out: FloatArray
    _cap_voter: IntArray

    if TYPE_CHECKING:

        def __init__(self, n_items: int = 0, **params: Any) -> None: ...
        def get_params(self) -> dict[str, Any]: ...
        def _ensure(self) -> None: ...
        def _init_state(self, n: int) -> None: ...
        def _append(self, left: IntArray, right: IntArray, out: FloatArray) -> None: ...
        def _note_voters(self, voter: Any, k: int) -> None: ...

    def state(self) -> ModelState:
        self._ensure()
        m = self._m
        data = {
            "n": self._n,
            "left": self._left[:m].astype("<i8").tobytes(),
            "right": self._right[:m].astype("<i8").tobytes(),
            "outcome": self._out[:m].astype("<f8").tobytes(),
            "n_ties": self._n_ties,
            "s": self._s.astype("<f8").tobytes(),
            "h": self._h,
            "tau": pack_tau(self._tau),
            "n_fit": self._n_fit,
            "lam": self._lam,
            "side": self._side,
            "m_est": self._m_est,
            "mean": self._mean.astype("<f8").tobytes(),
            "var": self._var.astype("<f8").tobytes(),
        }
        if self.influence_cap is not None:
            data["voter"] = self._cap_voter[:m].astype("<i8").tobytes()
        return ModelState(model=self.name, params=self.get_params(), data=data)

    @classmethod
    def from_state(cls, state: ModelState) -> Self:
        model = fresh_model(cls, state)
        d = state.data
        model._init_state(int(d["n"]))
        left, right, out = unpack_i64(d["left"]), unpack_i64(d["right"]), unpack_f64(d["outcome"])
        model._append(left, right, out)
        if "voter" in d:
            model._note_voters(unpack_i64(d["voter"]), model._m)
        model._n_ties = int(d["n_ties"])
        model._s = unpack_f64(d["s"])
        model._h = float(d["h"])
        model._tau = unpack_tau(d["tau"])
        model._n_fit = int(d["n_fit"])
        # states written before prior_strength/side_advantage could be "auto" lack these
        model._lam = float(d.get("lam", model._lam))
        model._side = bool(d.get("side", model._side))
        model._m_est = int(d.get("m_est", 0))
        model._mean[:] = unpack_f64(d["mean"])
        model._var[:] = unpack_f64(d["var"])
        return model
