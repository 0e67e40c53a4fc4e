"""Model states: the arrays inside them (little-endian bytes, which msgpack gives back as bytes
and ``msgspec.json`` as base64 text) and the opening of every ``from_state``. One decoder for
every model."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from algorithms.base import FloatArray, IntArray, ModelState

__all__ = ["as_bytes", "fresh_model", "unpack_f64", "unpack_i64"]

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
