"""Arrays inside model states: little-endian bytes, which msgpack gives back as bytes and
``msgspec.json`` as base64 text. One decoder for every model's ``from_state``."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np

from algorithms.base import FloatArray, IntArray

__all__ = ["as_bytes", "unpack_f64", "unpack_i64"]


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
