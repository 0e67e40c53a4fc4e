"""Held-out evaluation of rating models: k-fold cross-validation against an oracle reference.

:func:`cross_validate` splits the votes into ``folds`` seeded random folds, fits every model
on the other folds and scores its :meth:`~algorithms.base.PairwiseModel.predict` on the
*decisive* votes (no ties) of the held-out fold, given everything the file knows about
each vote (side, voter, time, group). Per model it reports, each as a mean over folds with
a standard error:

* **log loss** ``-mean[y log p + (1 - y) log(1 - p)]`` in nats per vote
  (``p = P(left wins | decisive)``, clipped to ``[1e-15, 1 - 1e-15]``; a coin flip scores
  ``log 2 ≈ 0.693``);
* **relative** log loss: the mean over folds of the per-fold ratio
  ``model log loss / oracle log loss`` (below 1 beats the oracle);
* **Brier** score ``mean (p - y)^2`` and **accuracy** (``p > 0.5`` called right, ``p = 0.5``
  counts one half);
* **fit time** in seconds (construction plus ``fit``);

and a **calibration** table (reliability diagram) pooled over all held-out votes.

The **oracle** is plain ``bt`` (no side advantage, default ties) whose prior strength is
tuned *on each test fold* over a grid: the best that plain Bradley-Terry could do with
hindsight. A model with a relative log loss below 1 beats it fairly; ``1.01`` is 1 % worse.
The standard errors treat the folds as independent, which they are not quite (the training
sets overlap), so they are a little optimistic; use them to see which differences are
noise, not as exact confidence intervals.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from algorithms._evaluate_report import (
    Calibration,
    Estimate,
    Evaluation,
    ModelScores,
    Oracle,
    calibration,
)
from algorithms.base import FloatArray, IntArray, PairwiseModel, VoteContext, as_votes
from algorithms.bt import BTModel

__all__ = [
    "ORACLE_GRID",
    "Calibration",
    "Estimate",
    "Evaluation",
    "ModelScores",
    "Oracle",
    "cross_validate",
]

#: Prior strengths (``lambda``) tried by the oracle on each test fold (then refined locally).
ORACLE_GRID: tuple[float, ...] = tuple(float(x) for x in np.geomspace(1e-4, 1e3, 15))

_EPS = 1e-15

ModelFactory = Callable[[int], PairwiseModel]


def _log_loss(p: FloatArray, y: FloatArray) -> float:
    pc = np.clip(p, _EPS, 1.0 - _EPS)
    return float(-np.mean(y * np.log(pc) + (1.0 - y) * np.log1p(-pc)))


def _take(values: ArrayLike | None, idx: IntArray, m: int, name: str) -> Any:
    """``values[idx]`` for a per-vote array; a scalar applies to every vote."""
    if values is None:
        return None
    a = np.asarray(values)
    if a.ndim == 0:
        return np.full(idx.shape[0], a.item())
    if a.shape[0] != m:
        raise ValueError(f"{name} must have one entry per vote ({m}), got {a.shape[0]}")
    return a[idx]


def _subset(
    voter: ArrayLike | None, context: VoteContext | None, idx: IntArray, m: int
) -> tuple[Any, VoteContext | None]:
    v = _take(voter, idx, m, "voter")
    if context is None:
        return v, None
    ctx = VoteContext(
        time=_take(context.time, idx, m, "context.time"),
        group=_take(context.group, idx, m, "context.group"),
    )
    return v, ctx


def _oracle_fold(
    n: int,
    train: tuple[IntArray, IntArray, FloatArray],
    test: tuple[IntArray, IntArray, FloatArray],
    grid: tuple[float, ...],
) -> tuple[float, float]:
    """Best decisive log loss of plain ``bt`` on ``test`` over ``lambda``: a grid, then a
    golden-section refinement in ``log lambda`` between the best point's neighbours."""
    lt, rt, yt = test

    def loss(log_lam: float) -> float:
        # exact_max=0: the cheap approximate variances (predictions do not use them)
        model = BTModel(
            n_items=n, prior_strength=math.exp(log_lam), side_advantage=False, exact_max=0
        )
        model.fit(*train)
        return _log_loss(model.predict(lt, rt), yt)

    xs = [math.log(g) for g in grid]
    fs = [loss(x) for x in xs]
    k = int(np.argmin(fs))
    lo, hi = xs[max(k - 1, 0)], xs[min(k + 1, len(xs) - 1)]
    best_x, best_f = xs[k], fs[k]
    g = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = lo, hi
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = loss(c), loss(d)
    for _ in range(10):  # the bracket shrinks to 0.62^10 of two grid steps: 0.02 in log lambda
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = loss(c)
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = loss(d)
    for x, f in ((c, fc), (d, fd)):
        if f < best_f:
            best_x, best_f = x, f
    return best_f, math.exp(best_x)


def cross_validate(
    left: ArrayLike,
    right: ArrayLike,
    outcome: ArrayLike,
    *,
    models: Mapping[str, ModelFactory],
    voter: ArrayLike | None = None,
    context: VoteContext | None = None,
    folds: int = 5,
    seed: int | np.random.Generator | None = 0,
    side_meaningful: bool = True,
    n_items: int | None = None,
    oracle_grid: tuple[float, ...] = ORACLE_GRID,
) -> Evaluation:
    """k-fold held-out log loss, Brier score, accuracy, calibration and fit time per model.

    Parameters
    ----------
    left, right, outcome
        The votes (item indices; outcome 1 left wins, 0 right wins, 0.5 tie).
    models
        Name -> factory ``f(n_items) -> PairwiseModel`` making a fresh, unfitted model.
        Every model knows all ``n_items`` items, so items that a training fold never saw
        still get a prediction (at the model's prior).
    voter, context
        Per-vote voter ids and :class:`~algorithms.base.VoteContext` (time, group); every
        model gets them, at fit and at prediction (models ignore what they do not use).
    folds
        Number of folds, ``>= 2``: a seeded random split of the votes (each fold has
        ``len(votes) // folds`` or one more votes); training keeps the file's vote order.
    seed
        Seed (or generator) of the split and of the side randomisation.
    side_meaningful
        ``False`` when left/right carry no meaning (``winner,loser`` files): each vote's
        sides are swapped at random (seeded) first, so that the winner is not always left.
    n_items
        Number of items (default: the largest index + 1).
    oracle_grid
        Prior strengths tried by the oracle (then refined between the best one's neighbours).

    Returns
    -------
    Evaluation
        Per model a :class:`ModelScores`, the :class:`Oracle` and :attr:`Evaluation.best`.

    Examples
    --------
    >>> import numpy as np
    >>> from algorithms import create_model
    >>> rng = np.random.default_rng(1)
    >>> s = np.linspace(2, -2, 8)
    >>> left = rng.integers(0, 8, 400)
    >>> right = (left + rng.integers(1, 8, 400)) % 8
    >>> y = (rng.random(400) < 1 / (1 + np.exp(s[right] - s[left]))).astype(float)
    >>> ev = cross_validate(left, right, y, models={
    ...     "bt": lambda n: create_model("bt", n_items=n),
    ...     "elo": lambda n: create_model("elo", n_items=n)})
    >>> ev.best
    'bt'
    >>> 0.95 < ev.models["bt"].relative.mean < 1.05
    True
    """
    if not models:
        raise ValueError("models must name at least one model factory")
    if isinstance(folds, bool) or not isinstance(folds, int | np.integer) or folds < 2:
        raise ValueError(f"folds must be an integer >= 2, got {folds!r}")
    if not isinstance(side_meaningful, bool):
        raise ValueError(f"side_meaningful must be True or False, got {side_meaningful!r}")
    if not oracle_grid or any(not (0.0 < g < math.inf) for g in oracle_grid):
        raise ValueError("oracle_grid must be a non-empty sequence of finite numbers > 0")
    li, ri, yy = as_votes(left, right, outcome, n_items)
    m = li.shape[0]
    if m < folds:
        raise ValueError(f"folds={folds} needs at least {folds} votes, got {m}")
    n = int(max(li.max(), ri.max())) + 1 if n_items is None else int(n_items)
    rng = np.random.default_rng(seed)
    if not side_meaningful:
        swap = rng.random(m) < 0.5
        li, ri = np.where(swap, ri, li), np.where(swap, li, ri)
        yy = np.where(swap, 1.0 - yy, yy)
    fold_of = rng.permutation(m) % folds
    decisive = yy != 0.5
    for k in range(folds):
        if not np.any(decisive & (fold_of == k)):
            raise ValueError(f"fold {k} has no decisive (non-tie) vote to score; use fewer folds")

    names = list(models)
    per: dict[str, dict[str, list[float]]] = {
        name: {"log_loss": [], "relative": [], "brier": [], "accuracy": [], "fit_time": []}
        for name in names
    }
    preds: dict[str, list[FloatArray]] = {name: [] for name in names}
    ys: list[FloatArray] = []
    oracle_loss: list[float] = []
    oracle_lam: list[float] = []
    uses: dict[str, list[str]] = {}
    given = {
        "voter": voter is not None,
        "time": context is not None and context.time is not None,
        "group": context is not None and context.group is not None,
    }
    for k in range(folds):
        tr = np.flatnonzero(fold_of != k)
        te = np.flatnonzero((fold_of == k) & decisive)
        v_tr, c_tr = _subset(voter, context, tr, m)
        v_te, c_te = _subset(voter, context, te, m)
        y_te = yy[te]
        ys.append(y_te)
        o_loss, o_lam = _oracle_fold(
            n, (li[tr], ri[tr], yy[tr]), (li[te], ri[te], y_te), oracle_grid
        )
        oracle_loss.append(o_loss)
        oracle_lam.append(o_lam)
        for name in names:
            t0 = time.perf_counter()
            model = models[name](n)
            model.fit(li[tr], ri[tr], yy[tr], voter=v_tr, context=c_tr)
            elapsed = time.perf_counter() - t0
            uses.setdefault(name, sorted(u for u in type(model).uses if given.get(u)))
            p = np.asarray(model.predict(li[te], ri[te], voter=v_te, context=c_te), np.float64)
            if p.shape != y_te.shape or not np.all((p >= 0.0) & (p <= 1.0)):
                raise ValueError(
                    f"model {name!r}: predict must return one probability in [0, 1] per vote"
                )
            ll = _log_loss(p, y_te)
            row = per[name]
            row["log_loss"].append(ll)
            row["relative"].append(ll / o_loss)
            row["brier"].append(float(np.mean((p - y_te) ** 2)))
            row["accuracy"].append(float(np.mean(np.where(p == 0.5, 0.5, (p > 0.5) == y_te))))
            row["fit_time"].append(elapsed)
            preds[name].append(p)

    y_all = np.concatenate(ys)
    scores = {
        name: ModelScores(
            log_loss=Estimate.of(per[name]["log_loss"]),
            relative=Estimate.of(per[name]["relative"]),
            brier=Estimate.of(per[name]["brier"]),
            accuracy=Estimate.of(per[name]["accuracy"]),
            fit_time=Estimate.of(per[name]["fit_time"]),
            calibration=calibration(np.concatenate(preds[name]), y_all),
        )
        for name in names
    }
    return Evaluation(
        models=scores,
        oracle=Oracle(log_loss=Estimate.of(oracle_loss), prior_strength=tuple(oracle_lam)),
        folds=int(folds),
        seed=seed if isinstance(seed, int) else None,
        n_items=n,
        n_votes=m,
        n_test=int(y_all.shape[0]),
        side_meaningful=side_meaningful,
        uses=uses,
    )
