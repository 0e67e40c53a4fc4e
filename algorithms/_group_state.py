"""The exact state round trip of ``group-bt`` (:mod:`algorithms.group_bt`): the votes with
their groups, the fit (overall and group scores, ``h``, the tie parameter, ``sigma``), the
Gaussian view and the pooled ``bt`` inside, as little-endian bytes (:mod:`algorithms._wire`).

A mixin of :class:`algorithms.group_bt.GroupBT`, kept apart so each module fits on a few
screens.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Self

import msgspec

from algorithms._gauss import pack_array, unpack_array
from algorithms._group_refit import GroupFields
from algorithms._wire import fresh_model, pack_tau, unpack_i64, unpack_tau
from algorithms.base import FloatArray, IntArray, ModelState
from algorithms.bt import BTModel

__all__ = ["GroupState"]


class GroupState(GroupFields):
    """``state`` and ``from_state``; needs the state of ``GroupBT``."""

    name: ClassVar[str]  # provided by GroupBT, like the fields

    if TYPE_CHECKING:

        def __init__(self, n_items: int = 0, **params: Any) -> None: ...
        def get_params(self) -> dict[str, Any]: ...
        def _ensure(self) -> None: ...
        def _init_state(self, n: int) -> None: ...
        def _votes(self) -> tuple[IntArray, IntArray, FloatArray, IntArray]: ...
        def _append(self, li: IntArray, ri: IntArray, yy: FloatArray, gg: IntArray) -> None: ...

    def state(self) -> ModelState:
        self._ensure()
        left, right, out, group = self._votes()
        data = {
            "n": self._n,
            "n_groups": self._n_groups,
            "left": left.astype("<i8").tobytes(),
            "right": right.astype("<i8").tobytes(),
            "outcome": pack_array(out),
            "group": group.astype("<i8").tobytes(),
            "n_ties": self._n_ties,
            "s": pack_array(self._s),
            "t": pack_array(self._t.ravel()),
            "t_rows": int(self._t.shape[0]),
            "h": self._h,
            "tau": pack_tau(self._tau),
            "sigma": self._sigma,
            "m_est": self._m_est,
            "lam": self._lam,
            "side": self._side,
            "n_fit": self._n_fit,
            "mean": pack_array(self._mean),
            "var": pack_array(self._var),
            "bt": msgspec.to_builtins(self._bt.state()),
        }
        return ModelState(model=self.name, params=self.get_params(), data=data)

    @classmethod
    def from_state(cls, state: ModelState) -> Self:
        model = fresh_model(cls, state)
        d = state.data
        n = int(d["n"])
        model._init_state(n)
        left, right, group = unpack_i64(d["left"]), unpack_i64(d["right"]), unpack_i64(d["group"])
        model._append(left, right, unpack_array(d["outcome"]), group)
        model._n_groups = int(d["n_groups"])
        model._n_ties = int(d["n_ties"])
        model._s = unpack_array(d["s"])
        model._t = unpack_array(d["t"]).reshape(int(d["t_rows"]), n)
        model._h = float(d["h"])
        model._tau = unpack_tau(d["tau"])
        model._sigma = float(d["sigma"])
        model._m_est = int(d["m_est"])
        model._lam = float(d["lam"])
        model._side = bool(d["side"])
        model._bt = BTModel.from_state(msgspec.convert(d["bt"], ModelState))
        model._n_fit = int(d["n_fit"])
        model._mean[:] = unpack_array(d["mean"])
        model._var[:] = unpack_array(d["var"])
        return model
