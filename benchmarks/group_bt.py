"""What ``group-bt`` measures on synthetic grouped votes, and its held-out log loss (issue 14).

Synthetic data: ``n`` items with overall scores ``N(0, 1)``, three groups whose true scores
are ``s + dev[g]``, random pairs, Bradley-Terry outcomes. Printed:

1. the learnt between-group spread ``sigma`` against the true one (4 seeds per row);
2. calibration: coverage of the 90% intervals of group scores and of group differences
   when the deviations are drawn as the model assumes (``N(0, 0.6^2)``), and the share of
   item differences flagged credible at 95% when the groups are identical (should be
   ~0) or when one group differs on 8 of 40 items (found / falsely flagged);
3. the per-item block approximations used above ``exact_max`` parameters against the exact
   path (spread and mean width of the difference intervals);
4. 5-fold held-out log loss relative to the oracle (:func:`algorithms.evaluate.cross_validate`)
   of ``bt``, ``group-bt`` and ``group-bt`` with the spread fixed at 0 (pooled) and at 10
   (about one separate fit per group), on synthetic grouped data and on the real files of
   ``../shared/data`` (which have no group column: ``group-bt`` must equal ``bt`` there).

    python -m benchmarks.group_bt [--quick]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import scipy.special

from algorithms import GroupBT, VoteContext, create_model
from algorithms.evaluate import cross_validate
from benchmarks.model_quality import comparison_files
from ranker.commands.evaluate import evaluate_table
from ranker.votefile import read_votes


def grouped_votes(
    seed: int, dev: np.ndarray[Any, Any], per_group: tuple[int, ...]
) -> tuple[Any, Any, Any, Any, np.ndarray[Any, Any]]:
    """``left, right, outcome, group, truth`` for groups with true scores ``s + dev[g]``."""
    rng = np.random.default_rng(seed)
    n = dev.shape[1]
    truth = rng.normal(0.0, 1.0, n) + dev
    parts = []
    for g, m in enumerate(per_group):
        left = rng.integers(0, n, m)
        right = (left + rng.integers(1, n, m)) % n
        p = scipy.special.expit(truth[g, left] - truth[g, right])
        parts.append((left, right, (rng.random(m) < p).astype(float), np.full(m, g)))
    left, right, out, group = (np.concatenate(x) for x in zip(*parts, strict=True))
    return left, right, out, group, truth


def fit(votes: tuple[Any, ...], **params: Any) -> GroupBT:
    left, right, out, group = votes[:4]
    n = int(max(left.max(), right.max())) + 1
    return GroupBT(n_items=n, **params).fit(left, right, out, context=VoteContext(group=group))


def spread_table(seeds: int) -> None:
    print("\n1. learnt spread sigma vs the true one (per seed)\n")
    print("| true σ | items | votes per group | σ̂ (per seed) | fit (median) |")
    print("|---|---|---|---|---|")
    for sd in (0.0, 0.3, 0.6, 1.2):
        for n, per in ((40, (3000, 3000, 3000)), (20, (400, 200, 100))):
            got, secs = [], []
            for seed in range(seeds):
                dev = np.random.default_rng(seed).normal(0.0, 1.0, (3, n)) * sd
                t0 = time.perf_counter()
                got.append(fit(grouped_votes(50 + seed, dev, per)).spread)
                secs.append(time.perf_counter() - t0)
            per_s = "/".join(str(v) for v in per)
            seeds_s = " ".join(f"{g:.2f}" for g in got)
            print(f"| {sd:.1f} | {n} | {per_s} | {seeds_s} | {np.median(secs):.3f} s |")


def calibration(seeds: int) -> None:
    print("\n2. calibration")
    n, level = 25, 0.9
    cover = {"group scores": [0, 0], "differences": [0, 0]}
    for seed in range(seeds):
        dev = np.random.default_rng(100 + seed).normal(0.0, 0.6, (3, n))
        votes = grouped_votes(200 + seed, dev, (1500, 800, 300))
        truth = votes[4]
        m = fit(votes)
        for g in range(3):
            lo, hi = m.group_intervals(g, level)
            cover["group scores"][0] += int(np.sum((lo <= truth[g]) & (truth[g] <= hi)))
            cover["group scores"][1] += n
        for g, h in ((0, 1), (0, 2), (1, 2)):
            d = m.group_difference(g, h, level)
            true = truth[g] - truth[h]
            cover["differences"][0] += int(np.sum((d.low <= true) & (true <= d.high)))
            cover["differences"][1] += n
    for what, (hit, tot) in cover.items():
        print(f"  coverage of 90% intervals of {what}: {hit / tot:.3f} ({tot} intervals)")
    flags = total = 0
    for seed in range(seeds):
        m = fit(grouped_votes(300 + seed, np.zeros((3, 20)), (1000, 600, 200)))
        for g, h in ((0, 1), (0, 2), (1, 2), (0, -1), (1, -1), (2, -1)):
            flags += int(m.group_difference(g, h).credible.sum())
            total += 20
    print(f"  identical groups: {flags} of {total} item differences flagged at 95%")
    dev = np.zeros((3, 40))
    dev[2, :4], dev[2, 4:8] = 1.5, -1.5
    found = real = false = null = 0
    for seed in range(seeds):
        votes = grouped_votes(10 + seed, dev, (2500, 2500, 2500))
        m, truth = fit(votes), votes[4]
        for g, h in ((2, 0), (2, 1), (0, 1)):
            c = m.group_difference(g, h).credible
            differs = truth[g] != truth[h]
            found, real = found + int(c[differs].sum()), real + int(differs.sum())
            false, null = false + int(c[~differs].sum()), null + int((~differs).sum())
    print(
        f"  group 2 differs on 8 of 40 items by 1.5: {found} of {real} real differences "
        f"flagged, {false} of {null} others"
    )


def approximation(seeds: int) -> None:
    print("\n3. block approximations (exact_max=0) vs exact, 100 items, 3 groups\n")
    print("| true σ | votes per group | σ̂ exact | σ̂ blocks | width exact | width blocks |")
    print("|---|---|---|---|---|---|")
    for sd in (0.0, 0.5, 1.0):
        for per in ((500,) * 3, (2000,) * 3, (8000,) * 3):
            rows = []
            for seed in range(seeds):
                dev = np.random.default_rng(seed).normal(0, sd, (3, 100))
                votes = grouped_votes(seed, dev, per)
                for em in (1000, 0):
                    m = fit(votes, exact_max=em)
                    d = m.group_difference(0, 1)
                    rows.append((em, m.spread, float(np.mean(d.high - d.low))))
            ex = [r for r in rows if r[0]]
            ap = [r for r in rows if not r[0]]
            s_ex = " ".join(f"{r[1]:.3f}" for r in ex)
            s_ap = " ".join(f"{r[1]:.3f}" for r in ap)
            w_ex, w_ap = np.mean([r[2] for r in ex]), np.mean([r[2] for r in ap])
            print(f"| {sd} | {per[0]} | {s_ex} | {s_ap} | {w_ex:.3f} | {w_ap:.3f} |")


def held_out(seeds: int) -> None:
    print("\n4. held-out log loss relative to the oracle (5 folds, mean ± se over folds)\n")
    models: dict[str, Any] = {
        "bt": lambda n: create_model("bt", n_items=n),
        "group-bt": lambda n: create_model("group-bt", n_items=n),
        "pooled (sigma=0)": lambda n: create_model("group-bt", n_items=n, group_spread=0.0),
        "unpooled (sigma=10)": lambda n: create_model("group-bt", n_items=n, group_spread=10.0),
    }
    sparse = np.zeros((3, 40))
    sparse[2, :4], sparse[2, 4:8] = 1.5, -1.5
    cases = {
        "groups differ (sd 0.6), 40 items, votes 3000/1500/500": (
            np.random.default_rng(1).normal(0, 0.6, (3, 40)),
            (3000, 1500, 500),
        ),
        "group 2 differs on 8 of 40 items by 1.5, same votes": (sparse, (3000, 1500, 500)),
        "identical groups, same votes": (np.zeros((3, 40)), (3000, 1500, 500)),
        "groups differ (sd 0.6), 30 items, votes 300/150/60": (
            np.random.default_rng(2).normal(0, 0.6, (3, 30)),
            (300, 150, 60),
        ),
    }
    print("| data | " + " | ".join(models) + " |")
    print("|---" * (len(models) + 1) + "|")
    for label, (dev, per) in cases.items():
        for seed in range(seeds):
            left, right, out, group, _ = grouped_votes(10 + seed, dev, per)
            ev = cross_validate(
                left, right, out, models=models, context=VoteContext(group=group), seed=0
            )
            cells = " | ".join(
                f"{v.relative.mean:.4f} ± {v.relative.se:.4f}" for v in ev.models.values()
            )
            print(f"| {label} (seed {seed}) | {cells} |")
    for path in comparison_files():
        ev = evaluate_table(read_votes(path), {k: models[k] for k in ("bt", "group-bt")})
        b, g = ev.models["bt"], ev.models["group-bt"]
        print(
            f"| `{path.name}` (no groups) | {b.relative.mean:.4f} ± {b.relative.se:.4f} | "
            f"{g.relative.mean:.4f} ± {g.relative.se:.4f} (log loss {g.log_loss.mean:.6f} vs "
            f"{b.log_loss.mean:.6f}) | | |"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one seed per row")
    args = parser.parse_args(argv)
    seeds = 1 if args.quick else 4
    spread_table(seeds)
    calibration(2 if args.quick else 6)
    approximation(1 if args.quick else 3)
    held_out(1 if args.quick else 2)


if __name__ == "__main__":
    main()
