"""What :func:`algorithms.evaluate.cross_validate` reports: per-fold estimates, calibration
tables, per-model scores, the oracle reference, and their plain-dict form (for JSON).

Kept apart from the cross-validation so each module fits on a few screens; the measures are
explained in :mod:`algorithms.evaluate`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from algorithms.base import FloatArray, IntArray

__all__ = ["BINS", "Calibration", "Estimate", "Evaluation", "ModelScores", "Oracle", "calibration"]

#: Number of equal bins of the predicted probability in a :class:`Calibration` table.
BINS = 10


@dataclass(frozen=True, slots=True)
class Estimate:
    """A mean over folds with its standard error (``sd / sqrt(folds)``) and the fold values."""

    mean: float
    se: float
    folds: tuple[float, ...]

    @classmethod
    def of(cls, values: ArrayLike) -> Estimate:
        """Summarise per-fold values (the SE is ``nan`` for a single fold)."""
        v = np.asarray(values, dtype=np.float64)
        se = float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else math.nan
        return cls(mean=float(v.mean()), se=se, folds=tuple(float(x) for x in v))

    def to_dict(self) -> dict[str, Any]:
        return {"mean": self.mean, "se": self.se, "folds": list(self.folds)}


@dataclass(frozen=True, slots=True)
class Calibration:
    """Reliability diagram over all held-out decisive votes, in ``len(count)`` equal bins of
    the predicted ``P(left wins)``: per bin the mean prediction, the observed share of left
    wins and the number of votes (empty bins hold ``nan``)."""

    edges: FloatArray
    predicted: FloatArray
    observed: FloatArray
    count: IntArray

    @property
    def error(self) -> float:
        """Expected calibration error: count-weighted mean ``|observed - predicted|``."""
        ok = self.count > 0
        w = self.count[ok] / self.count[ok].sum()
        return float(np.sum(w * np.abs(self.observed[ok] - self.predicted[ok])))

    def to_dict(self) -> dict[str, Any]:
        def clean(a: FloatArray) -> list[float | None]:
            return [float(x) if math.isfinite(x) else None for x in a]

        return {
            "edges": self.edges.tolist(),
            "predicted": clean(self.predicted),
            "observed": clean(self.observed),
            "count": self.count.tolist(),
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class ModelScores:
    """Held-out scores of one model (each an :class:`Estimate` over folds)."""

    log_loss: Estimate
    relative: Estimate
    brier: Estimate
    accuracy: Estimate
    fit_time: Estimate
    calibration: Calibration

    def to_dict(self) -> dict[str, Any]:
        return {
            "log_loss": self.log_loss.to_dict(),
            "relative": self.relative.to_dict(),
            "brier": self.brier.to_dict(),
            "accuracy": self.accuracy.to_dict(),
            "fit_time": self.fit_time.to_dict(),
            "calibration": self.calibration.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class Oracle:
    """The reference: plain ``bt`` with its prior strength tuned on each test fold."""

    log_loss: Estimate
    prior_strength: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"log_loss": self.log_loss.to_dict(), "prior_strength": list(self.prior_strength)}


@dataclass(frozen=True, slots=True)
class Evaluation:
    """What :func:`cross_validate` measured: per-model scores and the oracle reference."""

    models: dict[str, ModelScores]
    oracle: Oracle
    folds: int
    seed: int | None
    n_items: int
    n_votes: int
    n_test: int
    """Held-out decisive votes scored, over all folds."""
    side_meaningful: bool
    uses: dict[str, list[str]] = field(default_factory=dict)
    """Per model, the vote facts it was given and reads (``voter``, ``time``, ``group``)."""

    @property
    def best(self) -> str:
        """The model with the lowest mean held-out log loss (the recommendation)."""
        return min(self.models, key=lambda k: self.models[k].log_loss.mean)

    def to_dict(self) -> dict[str, Any]:
        return {
            "folds": self.folds,
            "seed": self.seed,
            "n_items": self.n_items,
            "n_votes": self.n_votes,
            "n_test": self.n_test,
            "side_meaningful": self.side_meaningful,
            "best": self.best,
            "oracle": self.oracle.to_dict(),
            "models": {k: v.to_dict() for k, v in self.models.items()},
            "uses": self.uses,
        }


def calibration(p: FloatArray, y: FloatArray, bins: int = BINS) -> Calibration:
    """The :class:`Calibration` table of predictions ``p`` against outcomes ``y``."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    b = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, bins - 1)
    count = np.bincount(b, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        predicted = np.bincount(b, weights=p, minlength=bins) / count
        observed = np.bincount(b, weights=y, minlength=bins) / count
    return Calibration(
        edges=edges,
        predicted=np.where(count > 0, predicted, np.nan),
        observed=np.where(count > 0, observed, np.nan),
        count=count.astype(np.int64),
    )
