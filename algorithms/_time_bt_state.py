"""The exact state round trip of :class:`algorithms.time_bt.TimeBT` (``state`` / ``from_state``).

A mixin of ``TimeBT``, kept apart so each module fits on a few screens: the votes with their
times, the fit (hyperparameters, bucket times, the score trajectories) and the posterior view,
as little-endian bytes (:mod:`algorithms._gauss`, :mod:`algorithms._wire`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np

from algorithms._gauss import pack_array, unpack_array
from algorithms._time_bt_search import FitResult
from algorithms._wire import fresh_model, pack_tau, unpack_i64, unpack_tau
from algorithms.base import FloatArray, IntArray, ModelState

__all__ = ["TimeBTState"]


def _pack_int(arr: IntArray) -> bytes:
    return np.ascontiguousarray(arr, dtype="<i8").tobytes()


class TimeBTState:
    """``state`` and ``from_state``; needs the state of ``TimeBT``."""

    # provided by TimeBT
    name: ClassVar[str]
    _n: int
    _m: int
    _n_ties: int
    _n_fit: int
    _left: IntArray
    _right: IntArray
    _out: FloatArray
    _time: FloatArray
    _fit: FitResult
    _last_var: FloatArray
    _mean: FloatArray
    _var: FloatArray

    if TYPE_CHECKING:

        def __init__(self, n_items: int = 0, **params: Any) -> None: ...
        def get_params(self) -> dict[str, Any]: ...
        def _ensure(self) -> None: ...
        def _init_state(self, n: int) -> None: ...
        def _join(self) -> None: ...

    def state(self) -> ModelState:
        self._ensure()
        self._join()
        f = self._fit
        data = {
            "n": self._n,
            "left": _pack_int(self._left),
            "right": _pack_int(self._right),
            "outcome": pack_array(self._out),
            "time": pack_array(self._time),
            "n_fit": self._n_fit,
            "lam": float(f.lam),
            "sigma": float(f.sigma),
            "side": bool(f.side),
            "h": float(f.h),
            "tau": pack_tau(f.tau),
            "times": pack_array(f.times),
            "s": pack_array(f.s.ravel()),
            "score": float(f.score),
            "last_var": pack_array(self._last_var),
            "mean": pack_array(self._mean),
            "var": pack_array(self._var),
        }
        return ModelState(model=self.name, params=self.get_params(), data=data)

    @classmethod
    def from_state(cls, state: ModelState) -> Self:
        model = fresh_model(cls, state)
        d = state.data
        n = int(d["n"])
        model._init_state(n)
        model._left, model._right = unpack_i64(d["left"]), unpack_i64(d["right"])
        model._out, model._time = unpack_array(d["outcome"]), unpack_array(d["time"])
        model._m = model._left.shape[0]
        model._n_ties = int(np.count_nonzero(model._out == 0.5))
        model._n_fit = int(d["n_fit"])
        times = unpack_array(d["times"])
        model._fit = FitResult(
            lam=float(d["lam"]),
            sigma=float(d["sigma"]),
            side=bool(d["side"]),
            h=float(d["h"]),
            tau=unpack_tau(d["tau"]),
            times=times,
            s=unpack_array(d["s"]).reshape(times.shape[0], n),
            score=float(d["score"]),
        )
        model._last_var = unpack_array(d["last_var"])
        model._mean, model._var = unpack_array(d["mean"]), unpack_array(d["var"])
        return model
