"""``ranker evaluate FILE.csv``: which rating model predicts this survey's votes best?

k-fold cross-validation (:func:`algorithms.evaluate.cross_validate`) of every chosen model on
one vote file: held-out log loss, its ratio to an oracle (plain ``bt`` with its prior
strength tuned on each test fold), Brier score, accuracy and fit time, each as a mean over
folds with a standard error, and the recommended model (the lowest held-out log loss).
The file's voter, timestamp and group columns are given to the models that read them; the
sides of a ``winner,loser`` file are randomised (seeded) first.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from algorithms import MODELS, PairwiseModel, create_model
from algorithms.evaluate import Estimate, Evaluation, cross_validate
from ranker.votefile import VoteFileError, VoteTable, read_votes

__all__ = ["add_parser", "evaluate_table", "model_factories", "plot_reliability", "run"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    names = ", ".join(sorted(MODELS))
    p = sub.add_parser(
        "evaluate",
        help="compare rating models on a CSV vote file by cross-validated held-out log loss",
        description=(
            "Cross-validate rating models on a CSV vote file (header winner,loser or "
            "left,right,outcome; optional voter, timestamp (or season) and group columns are "
            "given to the models that read them). For each model: held-out log loss on decisive "
            "votes, its ratio to an oracle (plain bt with its prior strength tuned on each test "
            "fold; below 1 beats it), Brier score, accuracy and fit time, as mean +- standard "
            "error over folds; the model with the lowest log loss is recommended. The sides of a "
            "winner,loser file are randomised (seeded) before the split."
        ),
    )
    p.add_argument("file", help="CSV file of votes")
    p.add_argument(
        "--models",
        default=",".join(sorted(MODELS)),
        help=f"comma-separated model names, each with its default settings (default: all: {names})",
    )
    p.add_argument(
        "--folds", type=int, default=5, help="number of cross-validation folds, >= 2 (default: 5)"
    )
    p.add_argument(
        "--seed", type=int, default=0, help="seed of the fold split and side swaps (default: 0)"
    )
    p.add_argument(
        "--format",
        choices=("table", "json"),
        default="table",
        help="output format (default: table)",
    )
    p.add_argument(
        "--plots",
        metavar="DIR",
        default=None,
        help="also write a reliability diagram (PNG) of the models' held-out predictions into DIR",
    )
    p.set_defaults(func=run)


def _model_names(raw: str) -> list[str]:
    names: list[str] = []
    for part in raw.split(","):
        name = part.strip()
        if name and name not in names:
            names.append(MODELS.check(name))
    if not names:
        raise ValueError(f"--models names no model; known: {', '.join(sorted(MODELS))}")
    return names


def model_factories(names: list[str]) -> dict[str, Callable[[int], PairwiseModel]]:
    """A factory ``f(n_items)`` per registered model name, with the model's defaults."""

    def factory(name: str) -> Callable[[int], PairwiseModel]:
        return lambda n: create_model(name, n_items=n)

    return {name: factory(MODELS.check(name)) for name in names}


def evaluate_table(
    table: VoteTable,
    models: dict[str, Callable[[int], PairwiseModel]],
    folds: int = 5,
    seed: int = 0,
) -> Evaluation:
    """Cross-validate ``models`` on a vote file's table with every fact the file has."""
    return cross_validate(
        table.left,
        table.right,
        table.outcome,
        models=models,
        voter=table.voter,
        context=table.context(),
        folds=folds,
        seed=seed,
        side_meaningful=table.side_meaningful,
        n_items=table.n_items,
    )


def _pm(e: Estimate, digits: int, scale: float = 1.0) -> str:
    return f"{e.mean * scale:.{digits}f} ± {e.se * scale:.{digits}f}"


def _facts(table: VoteTable) -> str:
    parts = [f"{table.n_votes} votes", f"{table.n_items} items"]
    if table.voter_names is not None:
        parts.append(f"{len(table.voter_names)} voters")
    if table.group_names is not None:
        parts.append(f"{len(table.group_names)} groups")
    if table.time is not None:
        parts.append("timestamps")
    return ", ".join(parts)


def _recommendation(ev: Evaluation) -> str:
    best = ev.best
    b = ev.models[best]
    text = (
        f"Recommended: {best}, the lowest held-out log loss ({b.log_loss.mean:.4f} nats per "
        f"vote, {b.relative.mean:.3f} x the oracle)"
    )
    others = sorted((k for k in ev.models if k != best), key=lambda k: ev.models[k].log_loss.mean)
    if not others:
        return text + "."
    runner = others[0]
    diff = Estimate.of(
        [x - y for x, y in zip(ev.models[runner].log_loss.folds, b.log_loss.folds, strict=True)]
    )
    noise = "within noise" if diff.mean < 2.0 * diff.se else "more than twice its standard error"
    return (
        text + f"; it beats the next best, {runner}, by {diff.mean:.4f} ± {diff.se:.4f} "
        f"nats per vote ({noise})."
    )


def write_table(ev: Evaluation, table: VoteTable, source: str, out: TextIO) -> None:
    """Print the comparison as an aligned text table with a recommendation in words."""
    sides = (
        "left/right as in the file"
        if ev.side_meaningful
        else "sides randomised (winner,loser file)"
    )
    print(
        f"{source}: {_facts(table)}; {ev.folds}-fold cross-validation (seed {ev.seed}), "
        f"{ev.n_test} held-out decisive votes scored; {sides}.",
        file=out,
    )
    head = ["", "model", "log loss", "vs oracle", "Brier", "accuracy", "fit ms", "uses"]
    order = sorted(ev.models, key=lambda k: ev.models[k].log_loss.mean)
    body = []
    for name in order:
        s = ev.models[name]
        body.append(
            [
                "*" if name == ev.best else "",
                name,
                _pm(s.log_loss, 4),
                _pm(s.relative, 3),
                _pm(s.brier, 4),
                _pm(s.accuracy, 3),
                f"{s.fit_time.mean * 1000:.1f}",
                ",".join(ev.uses.get(name, [])) or "-",
            ]
        )
    lam = sorted(ev.oracle.prior_strength)[len(ev.oracle.prior_strength) // 2]
    body.append(["", "oracle", _pm(ev.oracle.log_loss, 4), "1", "", "", "", f"bt, λ≈{lam:.3g}"])
    widths = [max(len(h), *(len(r[k]) for r in body)) for k, h in enumerate(head)]
    left = {0, 1, 7}

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if k in left else c.rjust(w)
            for k, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    print(line(head), file=out)
    for r in body:
        print(line(r), file=out)
    print(
        "log loss: nats per held-out decisive vote (mean ± SE over folds; a coin flip is "
        f"{math.log(2):.3f}); vs oracle: per-fold ratio to plain bt with its prior strength "
        "tuned on the test fold (median λ shown), below 1 beats it.",
        file=out,
    )
    print(_recommendation(ev), file=out)


def plot_reliability(ev: Evaluation, path: Path, title: str) -> Path:
    """Write a reliability diagram of every model (one line each, the diagonal) to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 6))
    ax.plot([0, 1], [0, 1], color="0.6", linestyle="--", linewidth=1, label="perfect calibration")
    for name in sorted(ev.models, key=lambda k: ev.models[k].log_loss.mean):
        cal = ev.models[name].calibration
        ok = cal.count > 0
        label = f"{name} (calibration error {cal.error:.3f})"
        (line,) = ax.plot(cal.predicted[ok], cal.observed[ok], linewidth=1.2, label=label)
        size = 8.0 + 120.0 * cal.count[ok] / max(int(cal.count.max()), 1)
        ax.scatter(cal.predicted[ok], cal.observed[ok], s=size, color=line.get_color(), zorder=3)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xlabel("predicted P(left wins), mean in each tenth")
    ax.set_ylabel("observed share of left wins")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def run(args: argparse.Namespace) -> int:
    err = sys.stderr
    try:
        names = _model_names(args.models)
        table = read_votes(args.file)
        ev = evaluate_table(table, model_factories(names), folds=args.folds, seed=args.seed)
    except (VoteFileError, ValueError) as exc:
        print(f"ranker evaluate: error: {exc}", file=err)
        return 2
    source = Path(args.file).name
    if args.plots:
        title = (
            f"Reliability of held-out predictions: {source}\n"
            f"{ev.folds}-fold cross-validation, {ev.n_test} decisive votes "
            "(marker area ∝ votes in the bin)"
        )
        try:
            path = plot_reliability(ev, Path(args.plots) / f"{Path(args.file).stem}.png", title)
        except OSError as exc:
            print(f"ranker evaluate: error: cannot write plot to {args.plots}: {exc}", file=err)
            return 2
        print(f"wrote {path}", file=err)
    out = sys.stdout
    if args.format == "json":
        body: dict[str, Any] = {"file": source, **ev.to_dict()}
        json.dump(body, out, indent=1)
        out.write("\n")
    else:
        write_table(ev, table, source, out)
    return 0
