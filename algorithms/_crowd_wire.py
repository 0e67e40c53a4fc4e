"""Voter ids and the state round trip of ``crowd-bt`` (:mod:`algorithms.crowd_bt`).

Kept apart so each module fits on a few screens: how voter ids become dense codes, and what a
``crowd-bt`` state holds beyond ``bt``'s (the voters, each vote's voter and weight, the
reliabilities and their prior, the voters' tastes), as little-endian bytes
(:mod:`algorithms._wire`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from algorithms._crowd_em import RELIABILITY_GRID, reliability_masses
from algorithms._gauss import pack_array, unpack_array, voter_array
from algorithms._voter_taste import Taste
from algorithms._wire import unpack_i64
from algorithms.base import IntArray

if TYPE_CHECKING:
    from algorithms.crowd_bt import CrowdBT

__all__ = ["load_state", "state_data", "voter_codes", "voter_id"]


def voter_id(v: Any) -> int | str:
    """Normalise a voter id to a plain ``int`` or ``str`` (what survives a JSON round trip).

    >>> voter_id(np.int64(3)), voter_id("ann")
    (3, 'ann')
    """
    if type(v) is int or type(v) is str:
        return v
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, str):
        return str(v)
    raise ValueError(f"voter ids must be ints or strings, got {v!r} ({type(v).__name__})")


def voter_codes(
    voter: ArrayLike | None, size: int, known: dict[int | str, int]
) -> tuple[IntArray, list[int | str]]:
    """Codes per vote (``-1`` anonymous) and the new voter ids in order of their codes (after
    those in ``known``). Nothing is registered: the caller does that once the whole batch is
    valid.

    >>> codes, new = voter_codes(["b", "a", "b"], 3, {"b": 0})
    >>> codes.tolist(), new
    ([0, 1, 0], ['a'])
    """
    if voter is None:
        return np.full(size, -1, dtype=np.int64), []
    vs = voter_array(voter)
    if vs.ndim == 0:
        vs = np.full(size, vs.item(), dtype=vs.dtype)
    if vs.shape != (size,):
        raise ValueError(f"voter must have one entry per vote ({size}), got shape {vs.shape}")
    if size == 0:
        return np.zeros(0, dtype=np.int64), []
    try:
        uniq, inv = np.unique(vs, return_inverse=True)
    except TypeError:
        raise ValueError("voter ids in one batch must all be ints or all strings") from None
    ids = [voter_id(v) for v in uniq.tolist()]
    new: list[int | str] = []
    table = np.empty(len(ids), dtype=np.int64)
    for u, vid in enumerate(ids):
        code = known.get(vid)
        if code is None:
            code = len(known) + len(new)
            new.append(vid)
        table[u] = code
    return table[inv.reshape(-1)], new


def state_data(model: CrowdBT) -> dict[str, Any]:
    """What a ``crowd-bt`` state (version 3) holds beyond ``bt``'s."""
    m = model._m
    taste = model._taste
    return {
        "voters": list(model._voter_index),
        "voter_code": model._vcode[:m].astype("<i8").tobytes(),
        "weight": pack_array(model._w[:m]),
        "reliability": pack_array(model._rel),
        "prior": list(model._hyper),
        "taste_sigma": taste.sigma,
        "taste_key": taste.key.astype("<i8").tobytes(),
        "taste_u": pack_array(taste.u),
        "taste_x": pack_array(taste.t),
        "taste_m_est": model._taste_m_est,
    }


def load_state(model: CrowdBT, d: dict[str, Any], version: int) -> None:
    """Restore what :func:`state_data` wrote into ``model`` (``bt``'s part already loaded).
    A version 2 state has no tastes: the next read fits them."""
    m = model._m
    ids = [voter_id(v) for v in d["voters"]]
    rel = unpack_array(d["reliability"])
    codes = unpack_i64(d["voter_code"])
    w = unpack_array(d["weight"])
    if not (len(ids) == rel.shape[0] and codes.shape[0] == w.shape[0] == m):
        raise ValueError("state data: voters, reliabilities and votes differ in length")
    model._voter_index = {vid: k for k, vid in enumerate(ids)}
    model._rel = rel
    model._vcode[:m] = codes
    model._w[:m] = w
    a, b = (float(x) for x in d["prior"])
    model._hyper = (a, b)
    model._rbar = float(reliability_masses(a, b) @ RELIABILITY_GRID)
    if version >= 3:
        key, x = unpack_i64(d["taste_key"]), unpack_array(d["taste_x"])
        if key.shape != x.shape:
            raise ValueError("state data: taste keys and values differ in length")
        model._taste = Taste(float(d["taste_sigma"]), unpack_array(d["taste_u"]), key, x)
        model._taste_m_est = int(d["taste_m_est"])
    elif model.voter_taste and model._n_fit == m:
        model._n_fit = -1  # no tastes in the state: the next read refits and fits them
