"""Issue 11's settle benchmark: the "enough votes?" forecast, the default sampler against
``random``, and the coverage of rank ranges and score intervals.

Simulated surveys of 20, 50 and 200 ideas, true scores ``N(0, 1)`` or heavy-tailed (a few
strong ideas, many weak: ``Exp(1)``, sd 1), 10 % careless voters (every tenth voter answers
at random), 10 % of the ideas arriving between 1 and 4 votes per idea, voters of 20 answers
each. The model is the service's (``bt``, refitted when read); the criterion is
:mod:`algorithms.settle` (top 10, margin 55/45, level 0.95), checked on the schedule of
:func:`algorithms.settle.next_check` (every ~5 % of the votes).

For each seed (same truth and voters for both samplers):

* ``random`` and the default sampler run until settled (or ``--cap`` votes per idea);
  votes until settled and Kendall τ of the whole order at 5/10/20/40 votes per idea;
* with the default sampler, at 5, 10 and 20 votes per idea (if not settled yet) the
  forecast (:func:`algorithms.settle.forecast`, ``--sims`` simulations from the current
  posterior with the same sampler) is compared with the votes actually still needed;
* at the same checkpoints, the coverage of the 95 % rank ranges (true rank of each idea
  among the ideas present) and of the 95 % score intervals (true scores centred on the
  fitted ones' mean).

    python -m benchmarks.settle [--seeds 20] [--sizes 20,50,200] [--jobs 2]
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    # one BLAS thread per process: with a process per core, threaded 200x200 Choleskys run
    # 7x slower (oversubscription), as in the service (ranker serve sets the same)
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from scipy.special import expit  # noqa: E402

from algorithms import create_model, create_sampler, metrics  # noqa: E402
from algorithms.settle import check_model, forecast, next_check  # noqa: E402
from algorithms.summaries import rank_ranges  # noqa: E402
from benchmarks._common import print_table, write_json  # noqa: E402

K, MARGIN, LEVEL = 10, 0.55, 0.95
CHECKPOINTS = (5, 10, 20)
TAU_AT = (5, 10, 20, 40)
DEFAULT = "settle"
VOTES_PER_VOTER = 20
CARELESS = 0.1  # every tenth voter answers at random


def truth(n: int, kind: str, seed: int) -> np.ndarray:
    rng = np.random.default_rng([seed, 0])
    if kind == "normal":
        return rng.normal(size=n)
    return rng.exponential(size=n)  # sd 1, right tail: a few strong ideas, many weak


def make(spec: str, seed: int) -> Any:
    """A sampler from a spec: a name, or ``settle@F`` for ``settle`` with ``focus=F``."""
    name, _, focus = spec.partition("@")
    params = {"focus": float(focus)} if focus else {}
    return create_sampler(name, seed=seed, **params)


def run(n: int, kind: str, seed: int, sampler: str, cap: int, sims: int) -> dict[str, Any]:
    """One survey until settled and at least 40 votes per idea (for τ at every budget);
    forecasts and coverage at the checkpoints for the samplers other than ``random``."""
    th = truth(n, kind, seed)
    rng = np.random.default_rng([seed, 1])
    n0 = n - round(0.1 * n)
    arrivals = np.linspace(1 * n, 4 * n, n - n0).astype(int).tolist()
    model = create_model("bt", n_items=n0)
    smp = make(sampler, seed)
    left: list[int] = []
    right: list[int] = []
    ys: list[float] = []
    taus: dict[int, float] = {}
    checks: dict[int, dict[str, Any]] = {}
    t, due, settled_at = 0, next_check(0, n0), None
    u = rng.random(cap * n)
    while t < cap * n and (settled_at is None or t < max(TAU_AT) * n):
        while arrivals and arrivals[0] <= t:
            model.add_items(1)
            arrivals.pop(0)
        voter = t // VOTES_PER_VOTER
        i, j = smp.next_pair(model, voter=voter)
        p = 0.5 if voter % round(1 / CARELESS) == 0 else float(expit(th[i] - th[j]))
        y = 1.0 if u[t] < p else 0.0
        model.update(int(i), int(j), y)
        smp.observe(int(i), int(j), y, voter=voter)
        left.append(int(i))
        right.append(int(j))
        ys.append(y)
        t += 1
        if t % n == 0 and t // n in TAU_AT:
            m = model.n_items
            taus[t // n] = metrics.kendall_tau(model.scores(), th[:m])
        if sampler != "random" and settled_at is None and t % n == 0 and t // n in CHECKPOINTS:
            checks[t // n] = checkpoint(
                model, th, sampler, seed, (left, right, ys), cap * n - t, sims
            )
        if settled_at is None and t >= due:
            if check_model(model, K, LEVEL, MARGIN).settled:
                settled_at = t
            due = next_check(t, model.n_items)
    return {
        "n": n,
        "truth": kind,
        "seed": seed,
        "sampler": sampler,
        "settled_at": settled_at,
        "cap": cap * n,
        "tau": taus,
        "checks": checks,
    }


def projected(th: np.ndarray, careless: float = CARELESS) -> np.ndarray:
    """The Bradley-Terry scores closest (in KL, every pair weighted alike) to what the
    voters actually do: ``P(i beats j) = careless / 2 + (1 - careless) σ(θ_i - θ_j)``.

    A BT fit converges to these, not to ``θ`` (careless answers flatten every preference), so
    score intervals are checked against them; ``θ`` itself is reported too.
    """
    p = careless / 2 + (1 - careless) * expit(th[:, None] - th[None, :])
    s = th * (1 - careless)
    for _ in range(50):
        q = expit(s[:, None] - s[None, :])
        np.fill_diagonal(q, 0.5)
        grad = (p - q).sum(axis=1)
        w = q * (1 - q)
        np.fill_diagonal(w, 0.0)
        hess = np.diag(w.sum(axis=1)) - w + 1e-9
        step = np.linalg.lstsq(hess, grad, rcond=None)[0]
        s = s + step
        if np.abs(step).max() < 1e-10:
            break
    return s - s.mean()


def checkpoint(model, th, sampler, seed, hist, horizon, sims) -> dict[str, Any]:
    m = model.n_items
    lo, hi = rank_ranges(model, LEVEL, n_samples=1000, seed=seed)
    order = np.argsort(-th[:m], kind="stable")
    true_rank = np.empty(m, dtype=np.int64)
    true_rank[order] = np.arange(1, m + 1)
    low, high = model.intervals(LEVEL)
    s = model.scores()
    centred = th[:m] - th[:m].mean() + s.mean()
    proj = projected(th[:m]) + s.mean()
    out: dict[str, Any] = {
        "votes": int(model.n_votes),
        "rank_cover": float(np.mean((lo <= true_rank) & (true_rank <= hi))),
        "score_cover": float(np.mean((low <= proj) & (proj <= high))),
        "score_cover_theta": float(np.mean((low <= centred) & (centred <= high))),
        "settled": bool(check_model(model, K, LEVEL, MARGIN).settled),
    }
    if not out["settled"] and sims > 0:
        hist_arr = tuple(np.asarray(h) for h in hist)
        fc = forecast(
            model,
            lambda: make(sampler, seed + 1000),
            K,
            LEVEL,
            MARGIN,
            history=hist_arr,
            n_sims=sims,
            horizon=horizon,
            seed=seed,
        )
        out.update(median=fc.median, low=fc.quantile(0.1), high=fc.quantile(0.9))
    return out


def _job(args: tuple[int, str, int, str, int, int]) -> dict[str, Any]:
    return run(*args)


def _per_idea(r: dict[str, Any]) -> float:
    """Votes per idea until settled (inf when the cap was reached first)."""
    return math.inf if r["settled_at"] is None else r["settled_at"] / r["n"]


def summarise(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per size x truth x sampler (other than ``random``), against ``random``'s
    runs of the same seeds: votes per idea until settled (median), τ gaps at each budget
    (mean ± standard error over seeds, paired), forecast accuracy, coverage."""
    rows = []
    groups: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for r in results:
        groups.setdefault((r["n"], r["truth"]), []).append(r)
    for (n, kind), rs in sorted(groups.items()):
        rnd = {r["seed"]: r for r in rs if r["sampler"] == "random"}
        for spec in sorted({r["sampler"] for r in rs} - {"random"}):
            mine = {r["seed"]: r for r in rs if r["sampler"] == spec}
            seeds = sorted(set(mine) & set(rnd))
            d = [_per_idea(mine[s]) for s in seeds]
            base = [_per_idea(rnd[s]) for s in seeds]
            ratios, cover_r, cover_s, cover_t = [], [], [], []
            for s in seeds:
                r = mine[s]
                for ck in r["checks"].values():
                    cover_r.append(ck["rank_cover"])
                    cover_s.append(ck["score_cover"])
                    cover_t.append(ck["score_cover_theta"])
                    if ck["settled"] or r["settled_at"] is None or "median" not in ck:
                        continue
                    actual = r["settled_at"] - ck["votes"]
                    ratios.append(
                        math.inf if ck["median"] is None else ck["median"] / max(actual, 1)
                    )
            row: dict[str, Any] = {
                "n": n,
                "truth": kind,
                "sampler": spec,
                "seeds": len(seeds),
                "settle": float(np.median(d)),
                "settle_random": float(np.median(base)),
            }
            med_r = row["settle_random"]
            row["ratio"] = row["settle"] / med_r if math.isfinite(med_r) else None
            for b in TAU_AT:
                gap = np.array(
                    [mine[s]["tau"].get(b, np.nan) - rnd[s]["tau"].get(b, np.nan) for s in seeds]
                )
                gap = gap[~np.isnan(gap)]
                se = float(gap.std(ddof=1) / math.sqrt(gap.size)) if gap.size > 1 else math.nan
                row[f"tau_gap@{b}"] = f"{gap.mean():+.3f}±{se:.3f}" if gap.size else None
            rat = np.array(ratios)
            row["forecasts"] = len(ratios)
            row["fc_median_ratio"] = float(np.median(rat)) if ratios else None
            row["fc_within_2x"] = float(np.mean((rat >= 0.5) & (rat <= 2.0))) if ratios else None
            row["rank_cover"] = float(np.mean(cover_r)) if cover_r else None
            row["score_cover"] = float(np.mean(cover_s)) if cover_s else None
            row["score_cover_theta"] = float(np.mean(cover_t)) if cover_t else None
            rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--sizes", default="20,50,200")
    ap.add_argument("--truths", default="normal,heavy")
    ap.add_argument("--cap", type=int, default=300, help="votes per idea before giving up")
    ap.add_argument("--sims", type=int, default=8, help="simulations per forecast (0: none)")
    ap.add_argument(
        "--samplers",
        default=DEFAULT,
        help="samplers compared with random, comma-separated; settle@F: focus F",
    )
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--json", default=None, help="output path (default benchmarks/results)")
    a = ap.parse_args(argv)
    jobs = [
        (n, kind, seed, s, a.cap, a.sims)
        for n in (int(x) for x in a.sizes.split(","))
        for kind in a.truths.split(",")
        for seed in range(a.seeds)
        for s in ["random", *a.samplers.split(",")]
    ]
    jobs.sort(key=lambda j: -j[0])  # the long ones first
    t0 = time.perf_counter()
    results = []
    with ProcessPoolExecutor(a.jobs) as ex:
        for k, r in enumerate(ex.map(_job, jobs), 1):
            results.append(r)
            sys.stderr.write(f"\r[{k}/{len(jobs)}] {time.perf_counter() - t0:7.0f}s")
    sys.stderr.write("\n")
    rows = summarise(results)
    print_table(rows)
    write_json("settle", {"args": vars(a), "rows": rows, "runs": results}, a.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
