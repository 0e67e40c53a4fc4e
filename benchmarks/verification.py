"""Verification pairs (``algorithms.samplers.verify``): what they buy and what they cost.

Simulated surveys of ``--ideas`` ideas, Bradley-Terry true scores ``N(0, 1)``, voters of
``--answers`` answers each (one after another), a share ``--coins`` of them (every tenth by
default; 0: an honest crowd) answering at random, the survey's default sampler (``settle``)
with verification pairs off and on as a survey has them (share ``--verify``, from the 20th
answer), the same truth and voters in both runs of a seed. Reported per setting:

* **cost**: the share of all pairs shown that were *clear* (the sampler's own model gave the
  winner ``p >= 0.85`` when the pair was picked), off and on: the extra clear pairs are what
  verification spends; Kendall tau of the ``bt`` fit against the truth at 20 and 40 votes
  per idea, off and on (and their difference, paired by seed, ± its standard error), and at
  40 after the organiser voided the flagged voters;
* **benefit**: with the integrity rule of ``ranker.signals`` (``against_crowd``, judged at
  the end against the ``bt`` fit of every answer): the share of coins with >= 40 answers
  flagged and the share of honest voters flagged.

    python -m benchmarks.verification [--seeds 10] [--answers 20,40,100] [--verify 1] [--coins 0.1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any

import numpy as np
from scipy.special import expit

from algorithms import create_model, create_sampler, metrics
from benchmarks._common import print_table, write_json
from ranker.sampling import VERIFY_SHARE
from ranker.signals import AGAINST_MIN, agreement

CLEAR = 0.85
TAU_AT = (20, 40)


def run(
    n: int, answers: int, verify: float, seed: int, per_idea: int, every: int
) -> dict[str, Any]:
    """One survey of ``per_idea`` votes per idea, every ``every``-th voter a coin (0: none);
    the same truth and answers for a seed."""
    th = np.random.default_rng([seed, 0]).normal(size=n)
    u = np.random.default_rng([seed, 1]).random(per_idea * n)
    model = create_model("bt", n_items=n)
    smp = create_sampler("settle", seed=seed, verify=verify, verify_from=AGAINST_MIN)
    rows: list[tuple[int, int, int, float]] = []
    clear = 0
    taus: dict[int | str, float] = {}
    for t in range(per_idea * n):
        voter = t // answers
        i, j = smp.next_pair(model, voter=voter)
        mu, var = smp.guide_mean, smp.guide_var
        p = float(expit((mu[i] - mu[j]) / np.sqrt(1 + np.pi / 8 * (var[i] + var[j]))))
        clear += max(p, 1 - p) >= CLEAR
        coin = every > 0 and voter % every == 0
        y = 1.0 if u[t] < (0.5 if coin else float(expit(th[i] - th[j]))) else 0.0
        model.update(int(i), int(j), y)
        smp.observe(int(i), int(j), y, voter=voter)
        rows.append((voter, int(i), int(j), y))
        if (t + 1) % n == 0 and (t + 1) // n in TAU_AT:
            taus[(t + 1) // n] = metrics.kendall_tau(model.scores(), th)
    arr = np.array(rows, dtype=np.float64)
    who, left, right = (arr[:, c].astype(np.int64) for c in range(3))
    mean = np.asarray(model.posterior().mean, dtype=np.float64)
    agree = agreement(who, left, right, arr[:, 3], mean)
    count = np.bincount(who)
    flagged = {v for v, a in agree.items() if count[v] >= AGAINST_MIN and a.against}
    is_coin = (np.arange(count.size) % every == 0) if every else np.zeros(count.size, bool)
    coins = [v for v in range(count.size) if is_coin[v] and count[v] >= 40]
    honest = [v for v in range(count.size) if not is_coin[v]]
    keep = ~np.isin(who, list(flagged))  # the organiser voids the flagged voters
    clean = create_model("bt", n_items=n)
    clean.fit(left[keep], right[keep], arr[keep, 3])
    taus["voided"] = metrics.kendall_tau(clean.scores(), th)
    return {
        "clear": clear / (per_idea * n),
        "tau": taus,
        "coins_flagged": sum(v in flagged for v in coins) / len(coins) if coins else None,
        "honest_flagged": sum(v in flagged for v in honest) / len(honest),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--ideas", type=int, default=50)
    p.add_argument("--answers", default="20,40,100", help="answers per voter (comma-separated)")
    p.add_argument("--verify", type=float, default=VERIFY_SHARE, help="the share when on")
    p.add_argument("--coins", type=float, default=0.1, help="share of voters who are coins")
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    per_idea = max(TAU_AT)
    started = time.perf_counter()
    rows, per_seed = [], []
    for a in (int(x) for x in args.answers.split(",")):
        got: dict[float, list[dict[str, Any]]] = {0.0: [], args.verify: []}
        for seed in range(args.seeds):
            for v in got:
                every = round(1 / args.coins) if args.coins > 0 else 0
                r = run(args.ideas, a, v, seed, per_idea, every)
                got[v].append(r)
                per_seed.append({"answers": a, "verify": v, "seed": seed, **r})
        off, on = got[0.0], got[args.verify]

        def mean(key: str, sel: list[dict[str, Any]]) -> float | None:
            vals = [r[key] for r in sel if r[key] is not None]
            return round(statistics.mean(vals), 4) if vals else None

        row: dict[str, Any] = {
            "answers per voter": a,
            "clear pairs off / on": f"{mean('clear', off)} / {mean('clear', on)}",
        }
        for k in (*TAU_AT, "voided"):
            d = [y["tau"][k] - x["tau"][k] for x, y in zip(off, on, strict=True)]
            se = statistics.stdev(d) / len(d) ** 0.5 if len(d) > 1 else float("nan")
            row[f"tau@{k} off / on (on - off ± se)"] = (
                f"{statistics.mean(x['tau'][k] for x in off):.4f} / "
                f"{statistics.mean(y['tau'][k] for y in on):.4f} "
                f"({statistics.mean(d):+.4f} ± {se:.4f})"
            )
        row["coins flagged off / on"] = (
            f"{mean('coins_flagged', off)} / {mean('coins_flagged', on)}"
        )
        row["honest flagged off / on"] = (
            f"{mean('honest_flagged', off)} / {mean('honest_flagged', on)}"
        )
        rows.append(row)
        print(f"answers {a} done ({time.perf_counter() - started:.0f} s)", flush=True)
    print_table(rows)
    write_json(
        "verification", {"settings": vars(args), "rows": rows, "per_seed": per_seed}, args.out
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
