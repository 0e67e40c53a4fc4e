"""Median ``next_pair`` latency of every sampler at n = 1k, 10k, 100k items.

Each pick is timed on its own (``perf_counter`` around ``next_pair`` only); between
picks the vote is absorbed by a ``bt-online`` model and ``observe`` (not timed), so
the sampler works on a live, changing posterior and per-voter history.

Targets (issue 3): median <= 50 µs at 1k, <= 200 µs at 10k, <= 2 ms at 100k.

    python -m benchmarks.sampler_speed [--sizes 1000,10000,100000] [--picks 400]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import numpy as np

from algorithms import SAMPLERS, create_model, create_sampler
from benchmarks._common import print_table, write_json

TARGET_US = {1_000: 50.0, 10_000: 200.0, 100_000: 2000.0}
SKIP = {"info-gain-exact"}  # O(n^2) reference, n <= 300 only


def measure(name: str, n: int, picks: int, seed: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    truth = rng.standard_normal(n)
    model = create_model("bt-online", n_items=n)
    # warm start: two random votes per item so the posterior is not flat
    m = 2 * n
    a = rng.integers(n, size=m)
    b = (a + 1 + rng.integers(n - 1, size=m)) % n
    y = (rng.random(m) < 1.0 / (1.0 + np.exp(-(truth[a] - truth[b])))).astype(float)
    model.update(a, b, y)
    sampler = create_sampler(name, seed=seed)
    for i, j, o in zip(a.tolist(), b.tolist(), y.tolist(), strict=True):
        sampler.observe(i, j, o)
    times = []
    for t in range(picks + 20):
        voter = t % 50
        t0 = time.perf_counter()
        i, j = sampler.next_pair(model, voter=voter)
        dt = time.perf_counter() - t0
        if t >= 20:  # warm-up picks are not counted
            times.append(dt)
        o = float(rng.random() < 1.0 / (1.0 + np.exp(-(truth[i] - truth[j]))))
        model.update(i, j, o)
        sampler.observe(i, j, o, voter=voter)
    med = statistics.median(times) * 1e6
    return {
        "sampler": name,
        "n": n,
        "median_us": med,
        "p90_us": float(np.percentile(times, 90) * 1e6),
        "target_us": TARGET_US.get(n),
        "ok": (med <= TARGET_US[n]) if n in TARGET_US else None,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--picks", type=int, default=400)
    ap.add_argument("--samplers", default=",".join(s for s in sorted(SAMPLERS) if s not in SKIP))
    args = ap.parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",")]
    rows = []
    for n in sizes:
        for name in args.samplers.split(","):
            rows.append(measure(name, n, args.picks))
    print_table(rows, ["sampler", "n", "median_us", "p90_us", "target_us", "ok"])
    write_json("sampler_speed", {"picks": args.picks, "model": "bt-online", "rows": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
