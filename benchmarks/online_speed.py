"""Per-vote speed and accuracy of the online models (``bt-online``, ``elo``, ``crowd-bt``).

``python -m benchmarks.online_speed [--quick]``

1. Speed: a Python loop calling ``model.update(l, r, o)`` once per vote (as the service
   applies votes) over 1M synthetic votes on 1,000 items (``--quick``: 100k), best of 3;
   and ``update`` with the whole batch as arrays. ``crowd-bt`` gets a voter id per vote.
2. Synthetic accuracy: 100 items with scores ~ N(0, 1), 5,000 training votes from 40
   voters of whom 10 answer at random, 5,000 held-out votes from the true model.
   Kendall tau and top-10 precision against the truth, held-out log loss (nats/vote),
   coverage of the 95% intervals (truth centred on the estimates). Mean of 3 seeds.
3. Real data (``../shared/data``): held-out log loss over 5 random 80/20 splits (online
   models see the training votes in file order), and Kendall tau against the true
   potato weights. Includes a few values of ``elo``'s ``k`` and ``bt-online``'s
   ``prior_var`` to show where the defaults sit.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from algorithms import create_model
from algorithms.metrics import interval_coverage, kendall_tau, log_loss, topk_precision
from benchmarks._common import print_table, write_json

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"

SPEED_MODELS: list[tuple[str, dict[str, Any], bool]] = [
    ("bt-online", {}, False),
    ("bt-online", {"link": "probit"}, False),
    ("elo", {}, False),
    ("crowd-bt", {}, True),
]

QUALITY_MODELS: list[tuple[str, str, dict[str, Any], str]] = [
    # label, model, params, how: "update" (online, in order) or "fit"
    ("bt", "bt", {}, "fit"),
    ("bt-online", "bt-online", {}, "update"),
    ("bt-online probit", "bt-online", {"link": "probit"}, "update"),
    ("elo", "elo", {}, "update"),
    ("crowd-bt (online)", "crowd-bt", {}, "update"),
    ("crowd-bt (batch fit)", "crowd-bt", {}, "fit"),
]

SWEEP: list[tuple[str, str, dict[str, Any], str]] = [
    ("elo k=0.05", "elo", {"k": 0.05}, "update"),
    ("elo k=0.2", "elo", {"k": 0.2}, "update"),
    ("elo k=0.4", "elo", {"k": 0.4}, "update"),
    ("bt-online prior_var=0.5", "bt-online", {"prior_var": 0.5}, "update"),
    ("bt-online prior_var=2", "bt-online", {"prior_var": 2.0}, "update"),
]


def synth(
    n: int, m: int, rng: np.random.Generator, truth: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    left = rng.integers(0, n, m)
    right = (left + rng.integers(1, n, m)) % n
    y = (rng.random(m) < 1.0 / (1.0 + np.exp(-(truth[left] - truth[right])))).astype(float)
    return left, right, y


def speed(n_votes: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(0)
    n = 1000
    truth = rng.standard_normal(n)
    left, right, y = synth(n, n_votes, rng, truth)
    voter = rng.integers(0, 1000, n_votes)
    ll, rl, yl, vl = left.tolist(), right.tolist(), y.tolist(), voter.tolist()
    rows = []
    for name, params, with_voter in SPEED_MODELS:
        seq = []
        for _ in range(3):
            m = create_model(name, n_items=n, **params)
            up = m.update
            t0 = time.perf_counter()
            if with_voter:
                for a, b, c, v in zip(ll, rl, yl, vl, strict=True):
                    up(a, b, c, v)
            else:
                for a, b, c in zip(ll, rl, yl, strict=True):
                    up(a, b, c)
            seq.append(time.perf_counter() - t0)
        m = create_model(name, n_items=n, **params)
        t0 = time.perf_counter()
        m.update(left, right, y, voter=voter if with_voter else None)
        batch = time.perf_counter() - t0
        label = name + "".join(f" {k}={v}" for k, v in params.items())
        rows.append(
            {
                "model": label,
                "votes": n_votes,
                "sequential_s": min(seq),
                "sequential_votes_per_s": n_votes / min(seq),
                "us_per_vote": 1e6 * min(seq) / n_votes,
                "batch_votes_per_s": n_votes / batch,
            }
        )
    return rows


def run_model(
    model: str, params: dict[str, Any], how: str, n: int, train: tuple[np.ndarray, ...]
) -> Any:
    mdl = create_model(model, n_items=n, **params)
    left, right, y, voter = train
    if how == "fit":
        mdl.fit(left, right, y, voter=voter)
    else:
        mdl.update(left, right, y, voter=voter)
    return mdl


def synthetic_quality(seeds: int) -> list[dict[str, Any]]:
    n, m, n_voters, careless = 100, 5000, 40, 10
    acc: dict[str, list[list[float]]] = {label: [] for label, *_ in QUALITY_MODELS}
    for seed in range(seeds):
        rng = np.random.default_rng(100 + seed)
        truth = rng.standard_normal(n)
        left, right, y = synth(n, m, rng, truth)
        voter = rng.integers(0, n_voters, m)
        bad = voter < careless
        y[bad] = (rng.random(int(bad.sum())) < 0.5).astype(float)
        test = synth(n, 5000, rng, truth)
        for label, model, params, how in QUALITY_MODELS:
            mdl = run_model(model, params, how, n, (left, right, y, voter))
            lo, hi = mdl.intervals(0.95)
            acc[label].append(
                [
                    kendall_tau(mdl.scores(), truth),
                    topk_precision(mdl.scores(), truth, 10),
                    log_loss(mdl, *test),
                    interval_coverage(lo, hi, truth),
                ]
            )
    rows = []
    for label, vals in acc.items():
        mean = np.mean(np.array(vals), axis=0)
        rows.append(
            {
                "model": label,
                "kendall_tau": float(mean[0]),
                "top10_precision": float(mean[1]),
                "heldout_log_loss": float(mean[2]),
                "coverage_95": float(mean[3]),
            }
        )
    return rows


def real_quality(splits: int) -> list[dict[str, Any]]:
    from ranker.votefile import read_votes

    files = ["ncaa_icehockey_2009_10.csv", "epl_football_2008_2013.csv", "potato_weight_visual.csv"]
    if not all((DATA / f).is_file() for f in files):
        print(f"(real data not found under {DATA}; skipped)")
        return []
    tables = {f.split("_")[0]: read_votes(DATA / f) for f in files}
    truth_rank = {}
    for line in (DATA / "potato_weight_truth.csv").read_text().splitlines()[1:]:
        item, rank = line.split(",")
        truth_rank[item] = int(rank)
    potato = tables["potato"]
    potato_truth = -np.array([truth_rank[i] for i in potato.items], dtype=float)
    rows = []
    for label, model, params, how in QUALITY_MODELS + SWEEP:
        row: dict[str, Any] = {"model": label}
        for key, t in tables.items():
            losses = []
            for s in range(splits):
                rng = np.random.default_rng(s)
                test_mask = rng.random(t.n_votes) < 0.2
                tr = ~test_mask
                voter = t.voter[tr] if t.voter is not None else None
                train = (t.left[tr], t.right[tr], t.outcome[tr], voter)
                mdl = run_model(model, params, how, t.n_items, train)
                losses.append(
                    log_loss(mdl, t.left[test_mask], t.right[test_mask], t.outcome[test_mask])
                )
            row[f"{key}_log_loss"] = float(np.mean(losses))
        full = run_model(
            model, params, how, potato.n_items,
            (potato.left, potato.right, potato.outcome, potato.voter),
        )  # fmt: skip
        row["potato_tau_vs_truth"] = kendall_tau(full.scores(), potato_truth)
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    quick = "--quick" in args
    n_votes = 100_000 if quick else 1_000_000
    print(f"## Sequential update speed ({n_votes:,} votes, 1,000 items, best of 3)\n")
    speed_rows = speed(n_votes)
    print_table(speed_rows)
    print("\n## Synthetic: 100 items, 5,000 votes, 10 of 40 voters answer at random (3 seeds)\n")
    syn_rows = synthetic_quality(1 if quick else 3)
    print_table(syn_rows)
    print("\n## Real data: held-out log loss (5 random 80/20 splits), potato tau vs truth\n")
    real_rows = real_quality(2 if quick else 5)
    print_table(real_rows)
    write_json(
        "online_speed",
        {"quick": quick, "speed": speed_rows, "synthetic": syn_rows, "real": real_rows},
    )


if __name__ == "__main__":
    main()
