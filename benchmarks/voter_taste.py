"""Does ``crowd-bt``'s voter taste help where voters differ, and cost nothing where they agree?

Synthetic panels: ``items`` items with crowd scores ``N(0, 1)``; each of ``voters`` voters
compares random pairs with their own scores ``s + N(0, spread²)`` per item (``spread = 0``:
everyone agrees), and a share ``careless`` of the voters answers at random. For each row
(``seeds`` seeds) the table gives:

- ``crowd/bt``: ``crowd-bt``'s 5-fold held-out log loss over plain ``bt``'s (below 1: better),
  mean and worst seed, and the same with tastes switched off (``voter_taste=False``);
- ``spread``: the learnt spread (median over seeds; 0 when the Bayes factor found no tastes);
- ``tau``: Kendall tau of ``crowd-bt``'s scores (the ranking) with the true crowd scores,
  with tastes on and off (tastes change predictions for a voter, not the ranking: equal).

    python -m benchmarks.voter_taste [--seeds 6] [--quick]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import scipy.special
from scipy.stats import kendalltau

from algorithms import create_model
from algorithms.evaluate import cross_validate
from benchmarks._common import print_table, write_json


def panel(
    seed: int, items: int, voters: int, each: int, spread: float, careless: float
) -> tuple[np.ndarray[Any, Any], ...]:
    """``left, right, outcome, voter, crowd`` of one synthetic panel."""
    rng = np.random.default_rng(seed)
    crowd = rng.normal(size=items)
    own = crowd + rng.normal(scale=spread, size=(voters, items))  # spread 0: all agree
    voter = np.repeat(np.arange(voters), each)
    left = rng.integers(0, items, voter.shape[0])
    right = (left + rng.integers(1, items, voter.shape[0])) % items
    p = scipy.special.expit(own[voter, left] - own[voter, right])
    p[voter < round(careless * voters)] = 0.5
    out = (rng.random(voter.shape[0]) < p).astype(float)
    return left, right, out, voter, crowd


def row(
    spread: float, careless: float, seeds: int, items: int, voters: int, each: int
) -> dict[str, Any]:
    on, off, learnt, tau_on, tau_off = [], [], [], [], []
    for seed in range(seeds):
        left, right, out, voter, crowd = panel(seed, items, voters, each, spread, careless)
        ev = cross_validate(
            left, right, out, voter=voter, n_items=items, seed=seed,
            models={
                "bt": lambda n: create_model("bt", n_items=n),
                "crowd": lambda n: create_model("crowd-bt", n_items=n),
                "careless": lambda n: create_model("crowd-bt", n_items=n, voter_taste=False),
            },
        )  # fmt: skip
        bt = ev.models["bt"].log_loss.mean
        on.append(ev.models["crowd"].log_loss.mean / bt)
        off.append(ev.models["careless"].log_loss.mean / bt)
        full = create_model("crowd-bt", n_items=items).fit(left, right, out, voter=voter)
        plain = create_model("crowd-bt", n_items=items, voter_taste=False)
        plain.fit(left, right, out, voter=voter)
        learnt.append(float(full.taste_spread))  # type: ignore[attr-defined]
        tau_on.append(float(kendalltau(full.scores(), crowd)[0]))
        tau_off.append(float(kendalltau(plain.scores(), crowd)[0]))
    return {
        "spread": spread,
        "careless": careless,
        "crowd/bt mean": float(np.mean(on)),
        "crowd/bt worst": float(np.max(on)),
        "no taste/bt mean": float(np.mean(off)),
        "learnt spread": float(np.median(learnt)),
        "tau": float(np.mean(tau_on)),
        "tau no taste": float(np.mean(tau_off)),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=6, help="seeds per row (default: 6)")
    ap.add_argument("--items", type=int, default=20, help="items (default: 20)")
    ap.add_argument("--voters", type=int, default=40, help="voters (default: 40)")
    ap.add_argument("--each", type=int, default=30, help="answers per voter (default: 30)")
    ap.add_argument("--quick", action="store_true", help="2 seeds, two rows (smoke run)")
    args = ap.parse_args(argv)
    grid = [(0.0, 0.0), (0.5, 0.0), (1.0, 0.0), (2.0, 0.0), (0.0, 0.1), (1.0, 0.1)]
    if args.quick:
        args.seeds, grid = 2, [(0.0, 0.0), (1.0, 0.1)]
    t0 = time.perf_counter()
    rows = [row(s, c, args.seeds, args.items, args.voters, args.each) for s, c in grid]
    print(
        f"crowd-bt with voter taste vs bt: {args.items} items, {args.voters} voters x "
        f"{args.each} answers, {args.seeds} seeds, 5-fold held-out log loss"
    )
    print_table(rows)
    write_json(
        "voter_taste",
        {
            "config": vars(args),
            "rows": rows,
            "seconds": time.perf_counter() - t0,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
