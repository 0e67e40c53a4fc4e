"""``ranker fit FILE.csv``: fit a rating model to a vote file and print the ranked list."""

from __future__ import annotations

import argparse
import csv
import inspect
import json
import math
import sys
from typing import Any, TextIO

import numpy as np

from algorithms import MODELS, PairwiseModel, create_model, create_sampler
from algorithms.base import FloatArray
from algorithms.settle import (
    MARGIN,
    N_SAMPLES,
    STATUS_NAMES,
    UNSURE,
    check_draws,
    check_model,
    check_order,
    forecast,
)
from ranker.ranking import ResultsView, rank_view
from ranker.rules import PLACE_MIN_VOTES
from ranker.sampling import aim
from ranker.votefile import VoteFileError, VoteTable, read_votes

COLUMNS = (
    "rank",
    "item",
    "score",
    "low",
    "high",
    "rank_lo",
    "rank_hi",
    "tier",
    "p_beats_random",
    "wins",
    "losses",
    "ties",
    "comparisons",
    "placed",
    "settle",
    "p_top",
)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "fit",
        help="fit a rating model to a CSV vote file and print the ranked list",
        description=(
            "Fit a rating model to a CSV vote file (header winner,loser or left,right,outcome; "
            "an optional voter column is used by models that weigh voters) and print the ranked "
            "list with intervals, rank ranges and counts."
        ),
    )
    p.add_argument("file", help="CSV file of votes")
    p.add_argument(
        "--model", default="bt", help=f"rating model: {', '.join(sorted(MODELS))} (default: bt)"
    )
    p.add_argument(
        "--level", type=float, default=0.95, help="interval level in (0, 1) (default: 0.95)"
    )
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="model hyperparameter, e.g. -p prior_strength=0.5 (repeatable)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed for rank-range simulation")
    p.add_argument("--top", type=int, default=None, help="print only the first N items")
    p.add_argument(
        "--min-votes",
        type=int,
        default=PLACE_MIN_VOTES,
        help="comparisons an item needs to be placed; fewer: listed last, in no tier "
        f"(default: {PLACE_MIN_VOTES})",
    )
    p.add_argument(
        "--top-k", type=int, default=10, help="k of 'is the top k settled?' (default: 10)"
    )
    p.add_argument(
        "--margin",
        type=float,
        default=MARGIN,
        help=f"ideas preferred by less than this are practically tied (default: {MARGIN})",
    )
    p.add_argument(
        "--sampler",
        default="settle",
        help="sampler the votes-needed forecast simulates (default: settle, the survey default)",
    )
    p.add_argument(
        "--forecast-s",
        type=float,
        default=10.0,
        help="seconds the votes-needed forecast may take; 0: no forecast (default: 10)",
    )
    p.set_defaults(func=run)


def _parse_params(pairs: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--param must look like NAME=VALUE, got {pair!r}")
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        params[name.strip()] = value
    return params


def _build_model(name: str, n_items: int, params: dict[str, Any]) -> PairwiseModel:
    known = [p for p in inspect.signature(MODELS.get_class(name)).parameters if p != "n_items"]
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ValueError(
            f"unknown parameter(s) {', '.join(unknown)} for model {name!r}; "
            f"known: {', '.join(known) or 'none'}"
        )
    return create_model(name, n_items=n_items, **params)


def fit_table(
    table: VoteTable, model_name: str, params: dict[str, Any], seed: int
) -> tuple[PairwiseModel, tuple[Any, Any, Any]]:
    """The fitted model and the (left, right, outcome) arrays it was fitted to."""
    model = _build_model(model_name, table.n_items, params)
    left, right, outcome = table.left, table.right, table.outcome
    if not table.side_meaningful:
        # winner,loser files put every winner on the left: swap sides at random (seeded),
        # as cross-validation does, or a side-aware model reads "left always wins"
        swap = np.random.default_rng(seed).random(left.shape[0]) < 0.5
        left, right = np.where(swap, right, left), np.where(swap, left, right)
        outcome = np.where(swap, 1.0 - outcome, outcome)
    model.fit(left, right, outcome, voter=table.voter)
    return model, (left, right, outcome)


def rank_rows(
    table: VoteTable,
    model_name: str,
    level: float,
    params: dict[str, Any],
    seed: int,
    min_votes: int = PLACE_MIN_VOTES,
    top_k: int = 10,
    margin: float = MARGIN,
    fitted: PairwiseModel | None = None,
) -> list[dict[str, Any]]:
    """Fit the model and return one row per item, best first: the placed items (at least
    ``min_votes`` comparisons), then the others (``placed`` false, tier 0), as the service
    ranks them (:func:`ranker.ranking.rank_view`); ``settle`` is each item's place against
    the top-``top_k`` boundary (:mod:`algorithms.settle`: in, out, tied or open)."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"--level must be in (0, 1), got {level}")
    if min_votes < 0:
        raise ValueError(f"--min-votes must be >= 0, got {min_votes}")
    model = fitted if fitted is not None else fit_table(table, model_name, params, seed)[0]
    check = check_model(model, min(top_k, table.n_items), level, margin, seed=seed)
    counts = {k: [int(c) for c in v] for k, v in table.counts().items()}
    n = table.n_items
    view = ResultsView(
        idx=np.arange(n, dtype=np.int64),
        texts=list(table.items),
        statuses=["active"] * n,
        wins=counts["wins"],
        losses=counts["losses"],
        ties=counts["ties"],
        skips=[0] * n,
        shown_left=[0] * n,
        shown_right=[0] * n,
        n_votes=table.n_votes,
    )
    return [
        {
            "rank": r.rank,
            "item": r.text,
            "score": r.score,
            "low": r.low,
            "high": r.high,
            "rank_lo": r.rank_lo,
            "rank_hi": r.rank_hi,
            "tier": r.tier,
            "p_beats_random": r.p_beats_random,
            "wins": r.wins,
            "losses": r.losses,
            "ties": r.ties,
            "comparisons": counts["comparisons"][r.idea],
            "placed": r.placed,
            "settle": STATUS_NAMES[check.status[r.idea]],
            "p_top": float(check.p_top[r.idea]),
        }
        for r in rank_view(view, model, level, min_votes=min_votes, seed=seed)
    ]


def _write_table(rows: list[dict[str, Any]], out: TextIO, title: str) -> None:
    head = ["rank", "item", "score", "interval", "ranks", "tier", "P(beats)", "W", "L", "T", "n"]
    body = [
        [
            str(r["rank"]) if r["placed"] else "-",
            r["item"],
            f"{r['score']:+.3f}",
            f"[{r['low']:+.2f}, {r['high']:+.2f}]",
            _ranks(r),
            str(r["tier"]) if r["placed"] else "-",
            f"{r['p_beats_random']:.3f}",
            str(r["wins"]),
            str(r["losses"]),
            str(r["ties"]),
            str(r["comparisons"]),
        ]
        for r in rows
    ]
    widths = [max(len(h), *(len(b[k]) for b in body)) for k, h in enumerate(head)]
    left_aligned = {1}
    print(title, file=out)

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if k in left_aligned else c.rjust(w)
            for k, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    print(line(head), file=out)
    for b in body:
        print(line(b), file=out)
    unplaced = sum(1 for r in rows if not r["placed"])
    if unplaced:
        print(
            f"not placed (too few comparisons, listed last, in no tier): {unplaced} item(s)",
            file=out,
        )


def _ranks(r: dict[str, Any]) -> str:
    if not r["placed"]:
        return "too few"
    return f"{r['rank_lo']}-{r['rank_hi']}" if r["rank_lo"] != r["rank_hi"] else str(r["rank_lo"])


def _finite_or_none(v: Any) -> Any:
    return None if isinstance(v, float) and not math.isfinite(v) else v


def run(args: argparse.Namespace) -> int:
    err = sys.stderr
    try:
        params = _parse_params(args.param)
        table = read_votes(args.file)
        if not 0.5 < args.margin < 1.0:
            raise ValueError(f"--margin must be in (0.5, 1), got {args.margin}")
        if args.top_k < 1:
            raise ValueError(f"--top-k must be >= 1, got {args.top_k}")
        model, votes = fit_table(table, args.model, params, args.seed)
        rows = rank_rows(
            table, args.model, args.level, params, args.seed, args.min_votes,
            top_k=args.top_k, margin=args.margin, fitted=model,
        )  # fmt: skip
        note = settle_note(model, votes, args) if args.format == "table" else None
    except (VoteFileError, ValueError) as exc:
        print(f"ranker fit: error: {exc}", file=err)
        return 2
    if args.top is not None:
        rows = rows[: max(args.top, 0)]
    out = sys.stdout
    if args.format == "json":
        clean = [
            {
                k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in r.items()
            }
            for r in rows
        ]
        json.dump(clean, out, indent=1)
        out.write("\n")
    elif args.format == "csv":
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        title = (
            f"{args.model} fit of {table.n_votes} votes on {table.n_items} items "
            f"({args.level:.0%} intervals, log-odds scale)"
        )
        _write_table(rows, out, title)
        if note:
            print(note, file=out)
    return 0


def order_note(draws: FloatArray, mean: FloatArray, args: argparse.Namespace) -> str:
    """Is the whole order settled (every two neighbouring places told apart or practically
    tied, :func:`algorithms.settle.check_order`), in words."""
    c = check_order(draws, mean, args.level, args.margin)
    said = f"whole order: {c.decided} of {c.status.size} neighbouring places told apart or tied"
    if c.settled:
        return f"{said}: settled"
    runs = c.runs(UNSURE)
    shown = ", ".join(f"{a}-{b}" for a, b in runs[:8])
    return f"{said}; order still open among places {shown}{' ...' if len(runs) > 8 else ''}"


def settle_note(model: PairwiseModel, votes: tuple[Any, Any, Any], args: argparse.Namespace) -> str:
    """ "Is the top k settled?" in words, with the forecast of the votes still needed."""
    n = model.n_items
    k = min(args.top_k, n)
    # one set of joint draws for both checks, as the service does (ranker.settling)
    draws = model.sample_scores(N_SAMPLES, args.seed)
    mean = np.asarray(model.scores(), dtype=np.float64)
    check = check_draws(draws, mean, k, args.level, args.margin)
    counts = {s: int(np.count_nonzero(check.status == i)) for i, s in enumerate(STATUS_NAMES)}
    tie = round(100 * args.margin)
    head = (
        f"top {k} at {args.level:.0%}, ideas within {tie}/{100 - tie} practically tied: "
        + ("settled" if check.settled else "not settled")
        + f" ({counts['in']} in, {counts['out']} out, {counts['tied']} tied, "
        + f"{counts['open']} open)"
    )
    if n >= 2:
        head = f"{order_note(draws, mean, args)}\n{head}"
    if check.settled or k >= n or args.forecast_s <= 0:
        return head
    left, right, y = (np.asarray(v) for v in votes)
    fc = forecast(
        model,
        lambda: aim(create_sampler(args.sampler, seed=args.seed), k, args.margin),
        k,
        args.level,
        args.margin,
        history=(left, right, y),
        deadline_s=args.forecast_s,
        seed=args.seed,
    )
    lo, mid, hi = fc.quantile(0.1), fc.median, fc.quantile(0.9)
    if mid is None:
        more = f"more than {fc.at_least(0.5) or 0:,} more votes (the simulations stopped there)"
    else:
        sims = len(fc.needed)
        span = f"{lo:,}-{hi:,} in 80%" if hi is not None else f"at least {lo:,} in 90%"
        more = f"about {mid:,} more votes ({span} of {sims} simulations)"
    return f"{head}; {more} with sampler {args.sampler}"
