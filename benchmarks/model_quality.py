"""Held-out log loss of every registered model on the real files of ``../shared/data`` (issue 14).

For each comparison file (``manifest.json`` entries of kind ``comparisons``), 5-fold
cross-validation (:func:`algorithms.evaluate.cross_validate`, seed 0) of every model in
``MODELS`` with its default settings, plus ``bt+side`` (``bt`` with the side advantage
forced on). Every model gets the file's voter, timestamp and group columns where it has
them; the sides of ``winner,loser`` files are randomised (seeded). The figure is the mean
over folds of ``model log loss / oracle log loss`` on the held-out decisive votes, where the
oracle is plain ``bt`` with its prior strength tuned on each test fold (below 1 beats it).

Prints the table (rows = files, columns = models), the average per model, the default
model's average and maximum, the best model per file and its average, and the issue's
targets next to what was measured; writes ``benchmarks/results/model_quality.json``.

    python -m benchmarks.model_quality [--folds 5] [--seed 0] [--quick]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from algorithms import MODELS, PairwiseModel, create_model
from algorithms.evaluate import Evaluation
from benchmarks._common import print_table, write_json
from ranker.commands.evaluate import evaluate_table
from ranker.sampling import DEFAULT_MODEL
from ranker.votefile import VoteTable, read_votes

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

#: The issue's targets (relative log loss vs the oracle).
TARGET_DEFAULT_MEAN = 1.002
TARGET_DEFAULT_MAX = 1.01
TARGET_BEST_MEAN = 0.99
TARGET_CROWD_MAX = 1.002
CROWD_MODEL = "crowd-bt"


def comparison_files(data: Path = DATA) -> list[Path]:
    """The comparison files of the shared data folder (its manifest, else every CSV that
    has a winner,loser or left,right,outcome header)."""
    manifest = data / "manifest.json"
    if manifest.exists():
        entries = json.loads(manifest.read_text())
        return sorted(data / e["file"] for e in entries if e.get("kind") == "comparisons")
    out = []
    for path in sorted(data.glob("*.csv")):
        head = {c.strip().lower() for c in path.open(encoding="utf-8-sig").readline().split(",")}
        if {"winner", "loser"} <= head or {"left", "right", "outcome"} <= head:
            out.append(path)
    return out


def factories() -> dict[str, Any]:
    """Every registered model with its defaults, plus ``bt+side``."""

    def make(name: str, **params: Any) -> Any:
        def build(n: int) -> PairwiseModel:
            return create_model(name, n_items=n, **params)

        return build

    models = {name: make(name) for name in sorted(MODELS)}
    models["bt+side"] = make("bt", side_advantage=True)
    return models


def _label(path: Path, table: VoteTable) -> str:
    extra = []
    if table.voter_names is not None:
        extra.append(f"{len(table.voter_names)} voters")
    if table.time is not None:
        extra.append("time")
    if table.side_meaningful:
        extra.append("sides")
    return path.stem + (f" ({', '.join(extra)})" if extra else "")


def revision() -> str | None:
    """``git describe --always --dirty`` of the checkout (``-dirty``: uncommitted changes)."""
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    ap.add_argument("--seed", type=int, default=0, help="seed of splits and side swaps")
    ap.add_argument(
        "--quick", action="store_true", help="a smoke run: 2 folds on the first 600 votes of each"
    )
    ap.add_argument("--data", type=Path, default=DATA, help="folder of comparison files")
    ap.add_argument("--json", default=None, help="output path (default results/model_quality.json)")
    args = ap.parse_args(argv)
    folds = 2 if args.quick else args.folds

    files = comparison_files(args.data)
    if not files:
        sys.exit(f"no comparison files found in {args.data}")
    models = factories()
    names = list(models)
    rows: list[dict[str, Any]] = []
    detail: list[dict[str, Any]] = []
    results: dict[str, Any] = {}
    rel: dict[str, dict[str, float]] = {}
    voters: dict[str, int] = {}
    t0 = time.perf_counter()
    for k, path in enumerate(files, 1):
        sys.stderr.write(f"[{k}/{len(files)}] {path.name} ...")
        sys.stderr.flush()
        table = read_votes(path)
        if args.quick:
            table = _head(table, 600)
        ev: Evaluation = evaluate_table(table, models, folds=folds, seed=args.seed)
        sys.stderr.write(f" {time.perf_counter() - t0:.1f}s\n")
        stem = path.stem
        voters[stem] = len(table.voter_names) if table.voter_names is not None else 0
        rel[stem] = {m: ev.models[m].relative.mean for m in names}
        best = min(names, key=lambda m: ev.models[m].relative.mean)
        row: dict[str, Any] = {"file": _label(path, table)}
        row.update({m: round(rel[stem][m], 3) for m in names})
        row["best"] = f"{best} {rel[stem][best]:.3f}"
        rows.append(row)
        detail.append(
            {
                "file": path.stem,
                "votes": table.n_votes,
                "items": table.n_items,
                "oracle log loss": round(ev.oracle.log_loss.mean, 4),
                "oracle λ (median)": float(np.median(ev.oracle.prior_strength)),
                **{f"SE {m}": round(ev.models[m].relative.se, 3) for m in names},
            }
        )
        results[stem] = {"voters": voters[stem], **ev.to_dict()}

    avg = {m: float(np.mean([rel[f][m] for f in rel])) for m in names}
    best_per_file = {f: min(names, key=rel[f].__getitem__) for f in rel}
    best_avg = float(np.mean([rel[f][best_per_file[f]] for f in rel]))
    avg_row: dict[str, Any] = {"file": "average"}
    avg_row.update({m: round(avg[m], 3) for m in names})
    avg_row["best"] = f"best per file {best_avg:.3f}"
    rows.append(avg_row)

    print(
        f"\nHeld-out log loss relative to oracle-tuned plain bt ({folds}-fold CV, seed "
        f"{args.seed}, decisive test votes; below 1 beats the oracle; revision {revision()})"
        + (" -- QUICK run, not comparable" if args.quick else "")
        + "\n"
    )
    print_table(rows, ["file", *names, "best"])
    print("\nper file: oracle and standard errors of the ratios (over folds)\n")
    print_table(detail)

    default = DEFAULT_MODEL
    d_vals = [rel[f][default] for f in rel]
    d_mean, d_max = float(np.mean(d_vals)), float(np.max(d_vals))
    targets: dict[str, Any] = {
        "default_model": default,
        "default_mean": d_mean,
        "default_max": d_max,
        "default_mean_met": d_mean <= TARGET_DEFAULT_MEAN,
        "default_max_met": d_max <= TARGET_DEFAULT_MAX,
        "best_per_file": best_per_file,
        "best_per_file_mean": best_avg,
        "best_per_file_met": best_avg <= TARGET_BEST_MEAN,
    }
    print("\nIssue 14 targets (measured in this run):")
    print(
        f"  default model ({default}): average {d_mean:.3f} (target <= {TARGET_DEFAULT_MEAN}: "
        f"{_verdict(d_mean <= TARGET_DEFAULT_MEAN)}), worst file {d_max:.3f} "
        f"(target <= {TARGET_DEFAULT_MAX}: {_verdict(d_max <= TARGET_DEFAULT_MAX)})"
    )
    print(
        f"  best model per file: average {best_avg:.3f} (target <= {TARGET_BEST_MEAN}: "
        f"{_verdict(best_avg <= TARGET_BEST_MEAN)}); "
        + ", ".join(f"{f}: {m}" for f, m in best_per_file.items())
    )
    if CROWD_MODEL in names:
        voter_files = [f for f in rel if voters[f] > 0]
        if voter_files:
            c_max = max(rel[f][CROWD_MODEL] for f in voter_files)
            targets["crowd_max_on_voter_files"] = c_max
            targets["crowd_met"] = c_max <= TARGET_CROWD_MAX
            print(
                f"  {CROWD_MODEL} on the {len(voter_files)} files with voters: worst {c_max:.3f} "
                f"(target <= {TARGET_CROWD_MAX} on every file: "
                f"{_verdict(c_max <= TARGET_CROWD_MAX)})"
            )
    write_json(
        "model_quality",
        {
            "revision": revision(),
            "folds": folds,
            "seed": args.seed,
            "quick": args.quick,
            "models": names,
            "relative": rel,
            "average": avg,
            "targets": targets,
            "results": results,
            "seconds": time.perf_counter() - t0,
        },
        path=args.json,
    )


def _head(table: VoteTable, m: int) -> VoteTable:
    """The first ``m`` votes of a table (for ``--quick``); items keep their indices."""
    if table.n_votes <= m:
        return table

    def cut(a: Any) -> Any:
        return None if a is None else a[:m]

    return VoteTable(
        items=table.items,
        left=table.left[:m],
        right=table.right[:m],
        outcome=table.outcome[:m],
        voter=cut(table.voter),
        voter_names=table.voter_names,
        time=cut(table.time),
        group=cut(table.group),
        group_names=table.group_names,
        side_meaningful=table.side_meaningful,
    )


if __name__ == "__main__":
    main()
