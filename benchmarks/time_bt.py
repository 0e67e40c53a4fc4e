"""What ``time-bt`` measures: the learnt drift, held-out log loss against the oracle, fit time.

1. 5-fold held-out log loss relative to the oracle (plain ``bt`` tuned on each test fold,
   :func:`algorithms.evaluate.cross_validate`) of ``bt`` (its defaults), ``bt+side`` and
   ``time-bt``: on the real files of ``../shared/data`` that have a time (``timestamp``
   column), on the EPL file with its ``season`` read as the time (seasons 0..4; the vote file
   reader knows only ``timestamp``), and on synthetic drifting data: 30 items with scores
   ``N(0, 1)`` plus a random walk of ``sigma`` per day over 60 days, 6,000 random pairs.
2. The drift ``time-bt`` learns on the synthetic data against the truth, and the fit time
   (one cold fit and one refit after one more vote) on larger synthetic surveys.

    python -m benchmarks.time_bt [--quick]
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path
from typing import Any

import numpy as np

from algorithms import PairwiseModel, TimeBT, VoteContext, create_model
from algorithms.evaluate import cross_validate
from benchmarks._common import print_table, write_json
from benchmarks.model_quality import DATA
from ranker.votefile import read_votes


def drifting(
    n: int, m: int, sigma: float, steps: int = 60, seed: int = 0
) -> tuple[Any, Any, Any, Any]:
    """``left, right, outcome, day`` for ``n`` items whose scores drift by ``sigma`` per day."""
    rng = np.random.default_rng(seed)
    truth = rng.normal(0, 1, n) + np.cumsum(rng.normal(0, sigma, (steps, n)), axis=0)
    day = np.sort(rng.integers(0, steps, m))
    left = rng.integers(0, n, m)
    right = (left + rng.integers(1, n, m)) % n
    p = 1.0 / (1.0 + np.exp(-(truth[day, left] - truth[day, right])))
    return left, right, (rng.random(m) < p).astype(np.float64), day.astype(np.float64)


def _make(name: str, **params: Any) -> Any:
    def build(n: int) -> PairwiseModel:
        return create_model(name, n_items=n, **params)

    return build


MODELS = {
    "bt": _make("bt"),
    "bt+side": _make("bt", side_advantage=True),
    "time-bt": _make("time-bt"),
}


def held_out(folds: int) -> list[dict[str, Any]]:
    cases: list[tuple[str, Any, Any, Any, VoteContext | None, bool]] = []
    for path in sorted(DATA.glob("*.csv")):
        try:
            table = read_votes(path)
        except ValueError:
            continue
        if table.time is not None:
            cases.append(
                (
                    path.stem,
                    table.left,
                    table.right,
                    table.outcome,
                    table.context(),
                    table.side_meaningful,
                )
            )
    epl = DATA / "epl_football_2008_2013.csv"
    if epl.exists():
        table = read_votes(epl)
        with epl.open(encoding="utf-8") as fh:
            seasons = [row["season"] for row in csv.DictReader(fh)]
        order = sorted(set(seasons))
        season = np.array([order.index(s) for s in seasons], dtype=np.float64)
        cases.append(
            (
                "epl (season as time)",
                table.left,
                table.right,
                table.outcome,
                VoteContext(time=season),
                True,
            )
        )
    for sigma in (0.0, 0.1, 0.3):
        left, right, out, day = drifting(30, 6000, sigma, seed=100)
        cases.append(
            (f"synthetic, drift {sigma}/day", left, right, out, VoteContext(time=day), False)
        )
    rows = []
    for label, left, right, out, ctx, side in cases:
        ev = cross_validate(
            left,
            right,
            out,
            models=MODELS,
            context=ctx,
            folds=folds,
            seed=0,
            side_meaningful=side,
        )
        row: dict[str, Any] = {"data": label}
        for name, sc in ev.models.items():
            row[name] = f"{sc.relative.mean:.3f} ± {sc.relative.se:.3f}"
        row["time-bt fit (s)"] = round(ev.models["time-bt"].fit_time.mean, 2)
        rows.append(row)
    return rows


def drift_and_speed(quick: bool) -> list[dict[str, Any]]:
    sizes = [(30, 6000), (100, 20_000), (200, 40_000), (1000, 100_000)]
    if not quick:
        sizes.append((10_000, 1_000_000))
    create_model("time-bt", n_items=3).fit([0, 1], [1, 2], [1.0, 0.0])  # numba's compile
    rows = []
    for n, m in sizes:
        left, right, out, day = drifting(n, m, 0.1, seed=1)
        t0 = time.perf_counter()
        model = TimeBT(n_items=n)
        model.fit(left, right, out, context=VoteContext(time=day))
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        model.update(0, 1, 1.0, context=VoteContext(time=60.0))
        model.scores()
        again = time.perf_counter() - t0
        rows.append(
            {
                "items": n,
                "votes": m,
                "buckets": len(model.bucket_times),
                "drift learnt (truth 0.1)": round(model.fitted_drift, 3),
                "cold fit (s)": round(cold, 2),
                "refit after 1 vote (s)": round(again, 2),
            }
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true", help="2 folds, no 10k-item survey")
    args = ap.parse_args(argv)
    print("Held-out log loss relative to the oracle (mean ± SE over folds; < 1 beats it):")
    rows = held_out(2 if args.quick else 5)
    print_table(rows)
    print("\nLearnt drift and fit time (synthetic, 60 days):")
    speed = drift_and_speed(args.quick)
    print_table(speed)
    out = write_json("time_bt", {"held_out": rows, "drift_and_speed": speed})
    print(f"\nwritten to {Path(out)}")


if __name__ == "__main__":
    main()
