"""Checks of :class:`algorithms.time_bt.TimeBT`'s hyperparameters and of the vote times.

Kept apart from the model so each module fits on a few screens. A hyperparameter is either
``"auto"`` (learnt by empirical Bayes) or a finite number; times are numbers in any unit or
numpy ``datetime64`` (read as days), NaN where unknown.
"""

from __future__ import annotations

import numpy as np

from algorithms._gauss import AUTO, auto_or_number
from algorithms.base import FloatArray, VoteContext

__all__ = ["AUTO", "auto_or_number", "vote_times"]


def vote_times(context: VoteContext | None, m: int) -> FloatArray:
    """Per-vote times as float64 (NaN: unknown); ``datetime64`` becomes days."""
    raw = None if context is None else context.time
    if raw is None:
        return np.full(m, np.nan)
    t = np.asarray(raw)
    if t.dtype.kind == "M":
        nat = np.isnat(t)
        t = t.astype("datetime64[s]").astype(np.int64).astype(np.float64) / 86400.0
        t[nat] = np.nan
    elif t.dtype.kind in "biuf":
        t = t.astype(np.float64)
    else:
        raise ValueError(f"context.time must hold numbers or datetimes, got dtype {t.dtype}")
    if t.ndim == 0:
        t = np.full(m, float(t))
    if t.shape != (m,):
        raise ValueError(f"context.time must have one entry per vote ({m}), got shape {t.shape}")
    if np.isinf(t).any():
        raise ValueError("context.time must be finite (NaN: time unknown)")
    return t
