"""Model states: the arrays inside them (little-endian bytes, which msgpack gives back as bytes
and ``msgspec.json`` as base64 text) and the opening of every ``from_state``. One decoder for
every model."""

from __future__ import annotations

import base64
import math
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from algorithms.base import FloatArray, IntArray, ModelState

__all__ = ["as_bytes", "fresh_model", "pack_tau", "unpack_f64", "unpack_i64", "unpack_tau"]

M = TypeVar("M")


def fresh_model(cls: Callable[..., M], state: ModelState) -> M:
    """A new model of class ``cls`` with the state's parameters, before its data is loaded;
    ``ValueError`` when the state is another model's."""
    name = getattr(cls, "name", None)
    if state.model != name:
        raise ValueError(f"state is for model {state.model!r}, not {name!r}")
    return cls(**state.params)


def as_bytes(value: Any) -> bytes:
    """The raw bytes of a state field: base64 text (JSON) decoded, bytes (msgpack) as they are.

    >>> as_bytes(b"ab"), as_bytes("YWI=")
    (b'ab', b'ab')
    """
    return base64.b64decode(value) if isinstance(value, str) else bytes(value)


def unpack_f64(value: Any) -> FloatArray:
    """A float64 array from little-endian ``<f8`` bytes (or their base64 text)."""
    return np.frombuffer(as_bytes(value), dtype="<f8").astype(np.float64)


def unpack_i64(value: Any) -> IntArray:
    """An int64 array from little-endian ``<i8`` bytes (or their base64 text)."""
    return np.frombuffer(as_bytes(value), dtype="<i8").astype(np.int64)


def pack_tau(tau: float) -> float | None:
    """The tie parameter of a state: ``None`` for "no ties" (``-inf``, which JSON cannot hold).

    >>> pack_tau(-math.inf), pack_tau(0.5), unpack_tau(None), unpack_tau(0.5)
    (None, 0.5, -inf, 0.5)
    """
    return float(tau) if math.isfinite(tau) else None


def unpack_tau(value: float | None) -> float:
    """The tie parameter from a state (:func:`pack_tau`)."""
    return -math.inf if value is None else float(value)
