"""``ranker simulate``: compare samplers x models on simulated or replayed surveys.

Answers "which sampler and model should my survey use?" with one command: prints a
summary table (votes per item to reach the targets, final metrics, median over
seeds), optionally writes every curve as JSON and one PNG plot per metric
(median line and 10-90 % band over seeds, one line per sampler/model).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from pathlib import Path
from typing import Any, TextIO

import msgspec
import numpy as np

from algorithms import MODELS, SAMPLERS, create_model
from algorithms.simulation import (
    METRICS,
    TRUTHS,
    Curve,
    Replay,
    SimConfig,
    band,
    run_grid,
    votes_to_target,
)
from ranker.votefile import VoteFileError, VoteTable, read_votes

TARGETS = {"kendall_tau": 0.8, "top_k_recall": 0.9}


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "simulate",
        help="compare samplers and models on simulated or replayed surveys",
        description=(
            "Simulate surveys (or replay real answers) for every sampler x model x seed and "
            "report Kendall tau, Spearman, top-k recall, interval coverage and log loss "
            "against votes per item (votes / items)."
        ),
    )
    p.add_argument("--samplers", default="random,adaptive", help="comma-separated sampler names")
    p.add_argument("--models", default="bt", help="comma-separated model names")
    p.add_argument("--seeds", type=int, default=5, help="number of seeds (default 5)")
    p.add_argument("--n-items", type=int, default=100)
    p.add_argument("--truth", choices=TRUTHS, default="bt", help="how simulated voters answer")
    p.add_argument("--spread", type=float, default=1.0, help="sd of the true scores")
    p.add_argument("--careless", type=float, default=0.0, help="share of random voters")
    p.add_argument("--left-bias", type=float, default=0.0, help="log-odds bonus of the left item")
    p.add_argument("--arriving", type=float, default=0.0, help="share of items added mid-survey")
    p.add_argument("--voters", type=int, default=50, help="number of simulated voters")
    p.add_argument("--votes-per-item", type=float, default=30.0, help="vote budget / items")
    p.add_argument("--checkpoint", type=float, default=1.0, help="metrics every X votes/item")
    p.add_argument("--top-k", type=int, default=10)
    p.add_argument("--level", type=float, default=0.95, help="interval level for coverage")
    p.add_argument("--truth-from", metavar="FILE.csv", help="true scores = bt fit to this file")
    p.add_argument(
        "--replay",
        metavar="FILE.csv",
        help="answer picks by drawing recorded answers of this complete design",
    )
    p.add_argument(
        "--truth-rank",
        metavar="FILE.csv",
        help="with --replay: CSV item,true_rank (1 = best) for the rank metrics",
    )
    p.add_argument("--json", metavar="OUT.json", help="write all curves and the summary")
    p.add_argument("--plots", metavar="DIR", help="write one PNG per metric into DIR")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _progress(stream: TextIO) -> Any:
    def show(done: int, total: int, label: str) -> None:
        width = 30
        fill = int(width * done / total)
        stream.write(f"\r[{'#' * fill}{'.' * (width - fill)}] {done}/{total} {label:<40}")
        if done == total:
            stream.write("\n")
        stream.flush()

    return show


def _bt_scores(table: VoteTable) -> np.ndarray:
    model = create_model("bt", n_items=table.n_items)
    model.fit(table.left, table.right, table.outcome)
    return np.asarray(model.scores(), dtype=np.float64)


def _read_truth_rank(path: str, items: list[str]) -> np.ndarray:
    ranks: dict[str, float] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or not {"item", "true_rank"} <= set(reader.fieldnames):
            raise VoteFileError(f"{path}: needs the columns item,true_rank")
        for row in reader:
            try:
                ranks[row["item"]] = float(row["true_rank"])
            except ValueError:
                raise VoteFileError(
                    f"{path}:{reader.line_num}: true_rank must be a number"
                ) from None
    missing = [it for it in items if it not in ranks]
    if missing:
        raise VoteFileError(f"{path}: no true_rank for item {missing[0]!r}")
    return -np.array([ranks[it] for it in items])  # rank 1 is best: higher score


def summarize(curves: list[Curve]) -> list[dict[str, Any]]:
    """One row per sampler/model: median votes-to-target and final metrics over seeds."""
    rows = []
    keys = sorted({(c.sampler, c.model) for c in curves}, key=lambda k: (k[1], k[0]))
    for s, m in keys:
        group = [c for c in curves if (c.sampler, c.model) == (s, m)]
        row: dict[str, Any] = {"sampler": s, "model": m, "seeds": len(group)}
        for metric, target in TARGETS.items():
            v = [votes_to_target(c, metric, target) for c in group]
            row[f"vpi_{metric}>={target}"] = float(np.median(v))
        for metric in METRICS:
            row[f"final_{metric}"] = float(np.mean([c.metrics[metric][-1] for c in group]))
        rows.append(row)
    return rows


def _print_rows(rows: list[dict[str, Any]], out: TextIO) -> None:
    cols = list(rows[0])

    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return "never" if math.isinf(v) else f"{v:.3f}"
        return str(v)

    cells = [[fmt(r[c]) for c in cols] for r in rows]
    widths = [max(len(c), *(len(x[i]) for x in cells)) for i, c in enumerate(cols)]
    out.write("  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)) + "\n")
    for x in cells:
        out.write("  ".join(v.ljust(w) for v, w in zip(x, widths, strict=True)) + "\n")


def plot(curves: list[Curve], outdir: Path, title: str = "") -> list[Path]:
    """One PNG per metric: median over seeds with a 10-90 % band, one line per run kind."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    outdir.mkdir(parents=True, exist_ok=True)
    keys = sorted({(c.sampler, c.model) for c in curves})
    paths = []
    for metric in METRICS:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for s, m in keys:
            group = [c for c in curves if (c.sampler, c.model) == (s, m)]
            xs, q = band(group, metric)
            label = s if len({k[1] for k in keys}) == 1 else f"{s} + {m}"
            (line,) = ax.plot(xs, q[1], label=label)
            ax.fill_between(xs, q[0], q[2], color=line.get_color(), alpha=0.2)
        ax.set_xlabel("votes per item")
        ax.set_ylabel(metric.replace("_", " "))
        ax.set_title(title or metric)
        ax.grid(alpha=0.3)
        ax.legend()
        path = outdir / f"{metric}.png"
        fig.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(fig)
        paths.append(path)
    return paths


def run(args: argparse.Namespace) -> int:
    try:
        samplers = [s for s in args.samplers.split(",") if s]
        models = [m for m in args.models.split(",") if m]
        for s in samplers:
            SAMPLERS.check(s)
        for m in models:
            MODELS.check(m)
        if args.seeds < 1:
            raise ValueError("--seeds must be >= 1")
        if args.replay and args.truth_from:
            raise ValueError("--replay and --truth-from cannot be combined")
        if args.truth_rank and not args.replay:
            raise ValueError("--truth-rank needs --replay")
        truth = None
        replay = None
        n_items = args.n_items
        if args.truth_from:
            table = read_votes(args.truth_from)
            truth = _bt_scores(table)
            n_items = table.n_items
        elif args.replay:
            table = read_votes(args.replay)
            ref = _bt_scores(table)
            rank = _read_truth_rank(args.truth_rank, table.items) if args.truth_rank else None
            replay = Replay(table.left, table.right, table.outcome, table.n_items, ref, rank)
            n_items = table.n_items
        config = SimConfig(
            n_items=n_items,
            truth=args.truth,
            spread=args.spread,
            careless=args.careless,
            left_bias=args.left_bias,
            arriving=args.arriving,
            n_voters=args.voters,
            votes_per_item=args.votes_per_item,
            checkpoint=args.checkpoint,
            top_k=args.top_k,
            level=args.level,
        )
        config.validate()
        curves = run_grid(
            config,
            samplers,
            models,
            list(range(args.seeds)),
            truth=truth,
            replay=replay,
            progress=None if args.quiet else _progress(sys.stderr),
        )
    except (ValueError, OSError) as exc:  # VoteFileError is a ValueError
        print(f"ranker simulate: error: {exc}", file=sys.stderr)
        return 2
    rows = summarize(curves)
    _print_rows(rows, sys.stdout)
    if args.json:
        body = {
            "config": msgspec.to_builtins(config),
            "source": {"truth_from": args.truth_from, "replay": args.replay},
            "summary": rows,
            "curves": msgspec.to_builtins(curves),
        }
        Path(args.json).write_text(json.dumps(body, indent=1, default=_inf) + "\n")
    if args.plots:
        for path in plot(curves, Path(args.plots)):
            print(f"wrote {path}", file=sys.stderr)
    return 0


def _inf(v: Any) -> Any:  # pragma: no cover - json only calls this for unknown types
    return str(v)
