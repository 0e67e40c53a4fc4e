"""Compare prior strengths of ``bt`` by cross-validated held-out log loss.

``python -m benchmarks.prior_strength`` runs k-fold cross-validation (k=5, seeded) of the
``bt`` model (side advantage off, so that only the prior differs) over a grid of prior
precisions ``lambda`` on three real data sets in ``../shared/data`` and on synthetic BT data
of several sizes, for three families: ``lambda = c`` (fixed), ``lambda = c *
votes_per_item / 10`` (scaled with the amount of data) and ``"auto"`` (the default: learnt
per training fold by evidence maximisation). It prints the mean held-out log loss per vote
(ties scored under the Davidson model) and the regret of every candidate against the best
value per data set. (``python -m benchmarks.model_quality`` is the issue-14 comparison of
the default against the oracle on all six files.)
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import numpy as np

from algorithms.bt import DEFAULT_PRIOR_STRENGTH, BTModel
from benchmarks._common import print_table, write_json

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
GRID = [0.001, 0.01, 0.03, 0.1, 0.3, 0.5, 1.0, 3.0, 10.0]
FOLDS = 5

Votes = tuple[np.ndarray, np.ndarray, np.ndarray, int]


def read_votes(path: Path) -> Votes:
    """Read ``left,right,outcome`` or ``winner,loser`` CSV into index arrays."""
    names: dict[str, int] = {}
    left: list[int] = []
    right: list[int] = []
    out: list[float] = []
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if "winner" in row:
                a, b, y = row["winner"], row["loser"], 1.0
            else:
                a, b = row["left"], row["right"]
                y = {"left": 1.0, "right": 0.0, "tie": 0.5}[row["outcome"]]
            left.append(names.setdefault(a, len(names)))
            right.append(names.setdefault(b, len(names)))
            out.append(y)
    return np.array(left), np.array(right), np.array(out), len(names)


def synthetic(n: int, m: int, seed: int, sd: float = 1.0) -> Votes:
    """BT votes with scores ~ N(0, sd^2) on uniformly random pairs."""
    rng = np.random.default_rng(seed)
    s = sd * rng.standard_normal(n)
    left = rng.integers(0, n, m)
    right = (left + rng.integers(1, n, m)) % n
    y = (rng.random(m) < 1.0 / (1.0 + np.exp(-(s[left] - s[right])))).astype(float)
    return left, right, y, n


def cv_log_loss(votes: Votes, lam: float | str, seed: int = 0) -> float:
    """Mean held-out negative log-likelihood per vote over ``FOLDS`` folds."""
    left, right, y, n = votes
    fold = np.random.default_rng(seed).permutation(left.shape[0]) % FOLDS
    total = 0.0
    for k in range(FOLDS):
        train, test = fold != k, fold == k
        model = BTModel(n_items=n, prior_strength=lam, side_advantage=False)
        model.fit(left[train], right[train], y[train])
        pw, pt, pl = model.outcome_probs(left[test], right[test])
        yt = y[test]
        if model.tie_param > 0:
            p = np.where(yt == 1.0, pw, np.where(yt == 0.0, pl, pt))
            total += float(-np.log(np.maximum(p, 1e-300)).sum())
        else:  # no tie model: score a tie as half a win
            total += float(-(yt * np.log(pw) + (1.0 - yt) * np.log(pl)).sum())
    return total / left.shape[0]


def main() -> None:
    sets: dict[str, Votes] = {}
    for name in ("epl_football_2008_2013", "ncaa_icehockey_2009_10", "potato_weight_visual"):
        path = DATA / f"{name}.csv"
        if path.exists():
            sets[name.split("_")[0]] = read_votes(path)
    for n, m in ((20, 200), (100, 1000), (100, 10_000), (1000, 20_000)):
        sets[f"synth n={n} m={m}"] = synthetic(n, m, seed=n + m)
    sets["synth sd=2 n=100 m=2000"] = synthetic(100, 2000, seed=7, sd=2.0)

    rows: list[dict[str, Any]] = []
    results: dict[str, Any] = {}
    regrets: dict[str, list[float]] = {}
    for name, votes in sets.items():
        per_item = votes[0].shape[0] / votes[3] * (FOLDS - 1) / FOLDS
        fixed = {f"c={c:g}": cv_log_loss(votes, c) for c in GRID}
        scaled = {f"c={c:g}*vpi/10": cv_log_loss(votes, c * per_item / 10) for c in GRID}
        allv = {
            **{f"fixed {k}": v for k, v in fixed.items()},
            **scaled,
            "auto": cv_log_loss(votes, "auto"),
        }
        best_key = min(allv, key=allv.__getitem__)
        best = allv[best_key]
        for k, v in allv.items():
            regrets.setdefault(k, []).append(v - best)
        results[name] = {"votes_per_item": per_item, "log_loss": allv, "best": best_key}
        row: dict[str, Any] = {"data": name, "votes/item": round(per_item, 1)}
        row.update({f"λ={c:g}": fixed[f"c={c:g}"] for c in GRID})
        row["auto"] = allv["auto"]
        row["best (any)"] = best_key
        row["best loss"] = best
        rows.append(row)
    print("held-out log loss per vote, fixed lambda (5-fold CV)\n")
    print_table(rows)
    summary = [
        {"candidate": k, "max regret": max(v), "mean regret": sum(v) / len(v)}
        for k, v in regrets.items()
    ]
    summary.sort(key=lambda r: r["max regret"])
    print("\nregret vs the best candidate per data set (nats per vote), best 8 and auto\n")
    print_table(summary[:8] + [r for r in summary[8:] if r["candidate"] == "auto"])
    default_key = f"fixed c={DEFAULT_PRIOR_STRENGTH:g}"
    dr = regrets.get(default_key)
    if dr is not None:
        print(
            f"\nformer default prior_strength={DEFAULT_PRIOR_STRENGTH:g}: "
            f"max regret {max(dr):.4f}, mean regret {sum(dr) / len(dr):.4f} nats/vote"
        )
    write_json(
        "prior_strength",
        {
            "grid": GRID,
            "folds": FOLDS,
            "results": results,
            "regret": {k: {"max": max(v), "mean": sum(v) / len(v)} for k, v in regrets.items()},
            "former_default": DEFAULT_PRIOR_STRENGTH,
            "former_default_regret_max": max(dr) if dr else math.nan,
            "auto_regret_max": max(regrets["auto"]),
        },
    )


if __name__ == "__main__":
    main()
