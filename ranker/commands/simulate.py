"""``ranker simulate``: compare samplers x models on simulated or replayed surveys.

Answers "which sampler and model should my survey use?" with one command: prints a
summary table over seeds whose every column names its statistic (the median votes per
item to reach each target with the number of seeds that reached it; each metric's
median and 10th-90th percentile at the end of the budget), optionally writes every
curve and the summary as JSON and one PNG plot per metric (median line and 10-90 %
band over seeds, one line per sampler/model, reference lines for the nominal coverage
and the targets).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import msgspec
import numpy as np

from algorithms import MODELS, SAMPLERS, create_model
from algorithms.simulation import (
    METRICS,
    PERCENTILES,
    TRUTHS,
    Curve,
    Replay,
    SimConfig,
    band,
    run_grid,
    votes_to_target,
)
from ranker.votefile import VoteFileError, VoteTable, read_votes

if TYPE_CHECKING:
    from matplotlib.figure import Figure

TARGETS = {"kendall_tau": 0.8, "top_k_recall": 0.9}
"""Targets whose first crossing the table reports (votes per item to reach them)."""


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """``(default: X)`` after every option that has a default (not after flags or None)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


_NUMBERS: tuple[tuple[str, str, float, str], ...] = (
    ("--seeds", "N", 5, "runs per sampler x model"),
    ("--n-items", "N", 100, "items (a file sets its own)"),
    ("--spread", "SD", 1.0, "sd of the true scores"),
    ("--careless", "SHARE", 0.0, "share of random voters"),
    ("--left-bias", "LOGODDS", 0.0, "log-odds bonus of the left item"),
    ("--arriving", "SHARE", 0.0, "share of items added mid-survey"),
    ("--voters", "N", 50, "number of simulated voters"),
    ("--votes-per-item", "VPI", 30.0, "budget: votes per item to simulate"),
    ("--checkpoint", "VPI", 1.0, "read the metrics every VPI votes per item"),
    ("--top-k", "K", 10, "k of the top-k recall"),
    ("--level", "LEVEL", 0.95, "interval level for coverage"),
)
"""Numeric options: flag, metavar, default (its type is the option's type), help."""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "simulate",
        help="compare samplers and models on simulated or replayed surveys",
        description=(
            "Simulate surveys (or replay real answers) for every sampler x model x seed and "
            "report Kendall tau, Spearman, top-k recall, interval coverage and log loss "
            "against votes per item (votes / items): a table of medians over seeds with "
            "their 10th-90th percentiles, and optionally JSON and one plot per metric."
        ),
        formatter_class=_HelpFormatter,
    )
    samplers, models = ", ".join(sorted(SAMPLERS)), ", ".join(sorted(MODELS))
    p.add_argument(
        "--samplers",
        metavar="NAMES",
        default="random,adaptive",
        help=f"comma-separated, from: {samplers}",
    )
    p.add_argument(
        "--models", metavar="NAMES", default="bt", help=f"comma-separated, from: {models}"
    )
    p.add_argument("--truth", choices=TRUTHS, default="bt", help="how simulated voters answer")
    for flag, metavar, default, text in _NUMBERS:
        p.add_argument(flag, metavar=metavar, type=type(default), default=default, help=text)
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
    p.add_argument(
        "--json", metavar="OUT.json", help="write the config, the summary and every curve"
    )
    p.add_argument("--plots", metavar="DIR", help="write one PNG per metric into DIR")
    p.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
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


def _censored_median(values: list[float]) -> float:
    """Median of first crossings, a seed that never reached counting as beyond every
    crossing: ``inf`` unless more than half of the seeds reached the target."""
    v = sorted(values)
    mid = len(v) // 2
    return v[mid] if len(v) % 2 else (v[mid - 1] + v[mid]) / 2  # inf + x is inf


def target_key(metric: str, target: float) -> str:
    """Summary key prefix of a target, e.g. ``vpi_to_kendall_tau_0.8``."""
    return f"vpi_to_{metric}_{target:g}"


def summarize(curves: list[Curve], targets: Mapping[str, float] = TARGETS) -> list[dict[str, Any]]:
    """One row per sampler/model of statistics over seeds; each key names its statistic.

    ``vpi_to_<metric>_<target>_median``: median over seeds of the votes per item at which
    the metric first reaches the target, a seed that never reached it counting as beyond
    the budget (so ``None`` unless more than half reached it); ``..._reached``: how many
    seeds reached it. ``<metric>_final_median``, ``_p10``, ``_p90``: the metric at the end of
    each run, median and 10th / 90th percentile over seeds (the last point of the plots).

    >>> ms = {m: [0.5, 0.9] for m in METRICS}
    >>> c = Curve(sampler="random", model="bt", seed=0, votes_per_item=[1.0, 2.0], metrics=ms)
    >>> row = summarize([c])[0]
    >>> row["vpi_to_kendall_tau_0.8_median"], row["vpi_to_kendall_tau_0.8_reached"]
    (1.75, 1)
    """
    rows = []
    keys = sorted({(c.sampler, c.model) for c in curves}, key=lambda k: (k[1], k[0]))
    for s, m in keys:
        group = [c for c in curves if (c.sampler, c.model) == (s, m)]
        row: dict[str, Any] = {"sampler": s, "model": m, "seeds": len(group)}
        for metric, target in targets.items():
            v = [votes_to_target(c, metric, target) for c in group]
            med = _censored_median(v)
            row[f"{target_key(metric, target)}_median"] = med if med < np.inf else None
            row[f"{target_key(metric, target)}_reached"] = sum(x < np.inf for x in v)
        for metric in METRICS:
            q = np.percentile([c.metrics[metric][-1] for c in group], PERCENTILES)
            for name, value in zip(("p10", "median", "p90"), q.tolist(), strict=True):
                row[f"{metric}_final_{name}"] = value
        rows.append(row)
    return rows


def _short(metric: str, top_k: int, level: float) -> str:
    """Metric name in the table: ``tau``, ``top10 recall``, ``coverage95``..."""
    return {
        "kendall_tau": "tau",
        "top_k_recall": f"top{top_k} recall",
        "coverage": f"coverage{level * 100:g}",
        "log_loss": "log loss",
    }.get(metric, metric)


def print_table(
    rows: list[dict[str, Any]],
    out: TextIO,
    *,
    budget: float,
    top_k: int = 10,
    level: float = 0.95,
    targets: Mapping[str, float] = TARGETS,
) -> None:
    """The :func:`summarize` rows as a table with a two-line header (quantity, statistic)."""
    head = [("sampler", ""), ("model", ""), ("seeds", "")]
    cells: list[list[str]] = [[r["sampler"], r["model"], str(r["seeds"])] for r in rows]
    for metric, target in targets.items():
        head.append((f"vpi to {_short(metric, top_k, level)}>={target:g}", "median (reached/N)"))
        key = target_key(metric, target)
        for r, c in zip(rows, cells, strict=True):
            med = r[f"{key}_median"]
            c.append(f"{med:.1f}" if med is not None else f">{budget:g}")
            c[-1] += f" ({r[f'{key}_reached']}/{r['seeds']})"
    for metric in METRICS:
        head.append((f"{_short(metric, top_k, level)} at {budget:g} vpi", "median [p10, p90]"))
        for r, c in zip(rows, cells, strict=True):
            p10, med, p90 = (r[f"{metric}_final_{k}"] for k in ("p10", "median", "p90"))
            c.append(f"{med:.3f} [{p10:.3f}, {p90:.3f}]")
    widths = [max(len(h[0]), len(h[1]), *(len(c[i]) for c in cells)) for i, h in enumerate(head)]
    for line in ([h[0] for h in head], [h[1] for h in head], *cells):
        out.write("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip())
        out.write("\n")
    out.write(
        "vpi = votes per item (votes / items); over seeds: median [10th, 90th percentile]\n"
        "vpi to X: votes per item at which X is first reached (interpolated between checkpoints)"
        f"\nreached/N: seeds that reached it within {budget:g} vpi; "
        f">{budget:g}: half of the seeds or more did not\n"
    )


def _titles(metric: str, top_k: int, level: float) -> tuple[str, str]:
    """Plot title and y-axis label of a metric."""
    pct = f"{level * 100:g}%"
    return {
        "kendall_tau": ("Kendall τ vs true order", "Kendall τ"),
        "spearman": ("Spearman ρ vs true order", "Spearman ρ"),
        "top_k_recall": (
            f"Top-{top_k} recall: share of the true top {top_k} in the estimated top {top_k}",
            f"top-{top_k} recall",
        ),
        "coverage": (
            f"Coverage of the {pct} intervals",
            "share of true scores inside their interval",
        ),
        "log_loss": (
            "Log loss vs true win probabilities (lower is better)",
            "expected log loss (nats)",
        ),
    }[metric]


def figure(
    curves: list[Curve], metric: str, *, title: str = "", top_k: int = 10, level: float = 0.95
) -> Figure:
    """The plot of one metric: median over seeds with a 10-90 % band per sampler/model,
    a dashed line at the nominal ``level`` for coverage and a dotted one at each target.
    ``title`` (e.g. the simulated setting) is appended to the subtitle."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    keys = sorted({(c.sampler, c.model) for c in curves})
    groups = {k: [c for c in curves if (c.sampler, c.model) == k] for k in keys}
    counts = sorted({len(g) for g in groups.values()})
    for (s, m), group in groups.items():
        xs, q = band(group, metric)
        label = s if len({k[1] for k in keys}) == 1 else f"{s} + {m}"
        label += f" ({len(group)} seeds)" if len(counts) > 1 else ""
        (line,) = ax.plot(xs, q[1], label=label)
        ax.fill_between(xs, q[0], q[2], color=line.get_color(), alpha=0.2, linewidth=0)
    if metric == "coverage":
        ax.axhline(level, color="black", ls="--", lw=1, label=f"nominal {level * 100:g}%")
    elif metric in TARGETS:
        ax.axhline(TARGETS[metric], color="grey", ls=":", lw=1, label=f"target {TARGETS[metric]:g}")
    main, ylabel = _titles(metric, top_k, level)
    n = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}–{counts[-1]}"
    sub = f"median with 10–90% band over {n} seeds" + (f"; {title}" if title else "")
    fig.suptitle(main)
    ax.set_title(sub, fontsize=9)
    ax.set_xlabel("votes per item (votes / items)")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def plot(
    curves: list[Curve], outdir: Path, title: str = "", *, top_k: int = 10, level: float = 0.95
) -> list[Path]:
    """One PNG per metric (see :func:`figure`), its titles also in the PNG's metadata."""
    outdir.mkdir(parents=True, exist_ok=True)
    paths = []
    for metric in METRICS:
        fig = figure(curves, metric, title=title, top_k=top_k, level=level)
        meta = {"Title": fig.get_suptitle(), "Description": fig.axes[0].get_title()}
        path = outdir / f"{metric}.png"
        fig.savefig(path, dpi=100, bbox_inches="tight", metadata=meta)
        paths.append(path)
    return paths


def _setting(args: argparse.Namespace, n_items: int) -> str:
    """A few words on what was simulated, for the plots' subtitle."""
    if args.replay:
        return f"replay of {Path(args.replay).name}"
    where = f"truth: bt fit to {Path(args.truth_from).name}" if args.truth_from else ""
    words = [f"{n_items} items", where or f"{args.truth} truth"]
    words += [f"{args.careless:.0%} careless"] if args.careless else []
    return ", ".join(words)


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
    k, level = config.top_k, config.level
    print_table(rows, sys.stdout, budget=config.votes_per_item, top_k=k, level=level)
    if args.json:
        body = {
            "config": msgspec.to_builtins(config),
            "source": {"truth_from": args.truth_from, "replay": args.replay},
            "targets": TARGETS,
            "summary": rows,
            "curves": msgspec.to_builtins(curves),
        }
        Path(args.json).write_text(json.dumps(body, indent=1) + "\n")
    if args.plots:
        for path in plot(curves, Path(args.plots), _setting(args, n_items), top_k=k, level=level):
            print(f"wrote {path}", file=sys.stderr)
    return 0
