"""A/B two versions of the code with one benchmark, back to back on this machine.

Each side is a git revision (``HEAD``, a commit, a tag) checked out in a temporary worktree,
optionally with a patch applied (``REV+PATCH.diff``), or ``.`` for the working tree as it is.
The benchmark (``python -m benchmarks.NAME ARGS``) runs in each side's own tree, alternating
A, B, A, B, ... so that the machine's drift and neighbours' load fall on both sides alike.
Rows are matched by position and labelled by their text fields and parameters; for each
numeric metric the table shows the median of each side and the ratio B / A.

Run: ``python -m benchmarks.ab A B [--runs 2] [--metrics m1,m2] -- NAME [ARGS...]``, e.g.
``python -m benchmarks.ab 2130ecf . --runs 2 --metrics cycles_per_s,vs_ceiling -- http_load``.
Writes ``benchmarks/results/ab_NAME.json`` (``--out`` to change).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks._common import print_table, write_json

ROOT = Path(__file__).resolve().parent.parent


def checkout(side: str, where: Path) -> Path:
    """A tree holding ``side`` (``REV`` or ``REV+PATCH``; ``.`` is this working tree)."""
    if side == ".":
        return ROOT
    rev, _, patch = side.partition("+")
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(where), rev],
        check=True,
        capture_output=True,
    )
    if patch:
        subprocess.run(["git", "-C", str(where), "apply", str(Path(patch).resolve())], check=True)
    return where


def run_once(tree: Path, name: str, args: list[str], out_dir: Path) -> list[dict[str, Any]]:
    """Run the benchmark in ``tree``; its JSON rows."""
    env = {**os.environ, "RANKER_BENCH_DIR": str(out_dir), "PYTHONPATH": str(tree)}
    subprocess.run(
        [sys.executable, "-m", f"benchmarks.{name}", *args], cwd=tree, env=env, check=True
    )
    data = json.loads((out_dir / f"{name}.json").read_text())
    rows: list[dict[str, Any]] = data["rows"]
    return rows


def numeric(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def compare(
    a_runs: list[list[dict[str, Any]]],
    b_runs: list[list[dict[str, Any]]],
    metrics: list[str] | None,
) -> list[dict[str, Any]]:
    """One row per (benchmark row, metric): medians of each side and B / A.

    Rows are matched by position (a benchmark prints its rows in a fixed order); a row is
    labelled by its text fields and by the numbers that are the same in every run of both
    sides (its parameters, e.g. ``ideas`` or ``staleness_s``), which are not compared.
    """
    out: list[dict[str, Any]] = []
    runs = a_runs + b_runs
    for pos, row in enumerate(a_runs[0]):
        same = [r[pos] for r in runs if pos < len(r)]
        if len(same) != len(runs) or any(
            {k: v for k, v in r.items() if isinstance(v, str)}
            != {k: v for k, v in row.items() if isinstance(v, str)}
            for r in same
        ):
            raise SystemExit(f"row {pos} differs between runs: cannot match them")
        params = {k: v for k, v in row.items() if numeric(v) and all(r.get(k) == v for r in same)}
        label = " / ".join(
            [str(v) for v in row.values() if isinstance(v, str)]
            + [f"{k}={v}" for k, v in params.items()]
        )
        names = metrics or [k for k, v in row.items() if numeric(v) and k not in params]
        for m in names:
            a = [r[pos][m] for r in a_runs if numeric(r[pos].get(m))]
            b = [r[pos][m] for r in b_runs if numeric(r[pos].get(m))]
            if not a or not b:
                continue
            ma, mb = statistics.median(a), statistics.median(b)
            out.append(
                {
                    "row": label,
                    "metric": m,
                    "A": ma,
                    "B": mb,
                    "B_over_A": mb / ma if ma else None,
                    "A_runs": a,
                    "B_runs": b,
                }
            )
    return out


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    bench: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, bench = argv[:i], argv[i + 1 :]
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("a", help="side A: REV, REV+PATCH or . (the working tree)")
    p.add_argument("b", help="side B: REV, REV+PATCH or .")
    p.add_argument("--runs", type=int, default=2, help="runs per side, alternating (default 2)")
    p.add_argument("--metrics", default="", help="comma-separated numeric fields (default all)")
    p.add_argument("--out", default=None, help="JSON path")
    args = p.parse_args(argv)
    if not bench:
        p.error("name the benchmark after --, e.g. -- http_load --duration 5")
    name, bench_args = bench[0], bench[1:]
    metrics = [m for m in args.metrics.split(",") if m] or None
    with tempfile.TemporaryDirectory(prefix="ranker-ab-") as tmp:
        work = Path(tmp)
        trees = {s: checkout(side, work / s) for s, side in (("A", args.a), ("B", args.b))}
        runs: dict[str, list[list[dict[str, Any]]]] = {"A": [], "B": []}
        try:
            for i in range(args.runs):
                for side in ("A", "B"):
                    print(f"== run {i + 1}/{args.runs}, side {side}", flush=True)
                    out_dir = work / f"out-{side}-{i}"
                    out_dir.mkdir()
                    runs[side].append(run_once(trees[side], name, bench_args, out_dir))
        finally:
            for tree in trees.values():
                if tree != ROOT:
                    subprocess.run(
                        ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                        check=False,
                        capture_output=True,
                    )
    rows = compare(runs["A"], runs["B"], metrics)
    print(f"\nA = {args.a}, B = {args.b}; medians of {args.runs} alternating runs each")
    print_table(rows, ["row", "metric", "A", "B", "B_over_A"])
    write_json(
        f"ab_{name}",
        {"a": args.a, "b": args.b, "benchmark": bench, "runs": args.runs, "rows": rows},
        args.out,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
