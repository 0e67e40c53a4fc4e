"""Fit speed of ``bt`` against choix, and per-vote update throughput of the online models.

``python -m benchmarks.fit_speed [--quick]``

Synthetic BT data, scores ~ N(0, 1), uniformly random pairs, at (n=100, 10k votes),
(1k, 100k) and (10k, 1M). For each size and for two settings of ``bt``, the default
(``prior_strength="auto"``, ``side_advantage="auto"``) and the old fixed default
(``prior_strength=0.5``, no side advantage), run back to back: the cold fit (median and
minimum of 7), the warm refit after 1% new votes (median and minimum of 7: ``update`` with
the new batch, then the lazy refit in ``scores()``), and for the default the refit after
10% new votes, which re-estimates ``lambda`` and the side decision. Then choix's exact MAP
fitters with the L2 penalty of the default's learnt ``lambda`` (``alpha = lambda / 2``),
each run once; the fastest choix method that reaches our penalised log-likelihood (within
1e-3 nats) is the baseline of the speed-up. choix is skipped where it would take over 2
minutes. Then ``bt``, ``bt-online`` and ``elo``
sequential ``update`` over 1M votes, one vote after another in a Python loop as the service
applies them. ``--quick`` skips choix and uses 100k votes for the sequential rows.
"""

from __future__ import annotations

import copy
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import choix
import numpy as np
import scipy.stats

from algorithms import MODELS, create_model
from algorithms.bt import BTModel
from benchmarks._common import print_table, write_json

SIZES = [(100, 10_000), (1_000, 100_000), (10_000, 1_000_000)]
CHOIX_LIMIT_S = 120.0
#: The settings compared: the default, and the fixed prior of before issue 14.
VARIANTS: dict[str, dict[str, Any]] = {
    "bt": {},
    "bt λ=0.5 no side": {"prior_strength": 0.5, "side_advantage": False},
}


def make_votes(n: int, m: int, seed: int, s: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """True scores (drawn unless given) and ``m`` BT votes on uniformly random pairs."""
    rng = np.random.default_rng(seed)
    s = rng.standard_normal(n) if s is None else s
    left = rng.integers(0, n, m)
    right = (left + rng.integers(1, n, m)) % n
    y = (rng.random(m) < 1.0 / (1.0 + np.exp(-(s[left] - s[right])))).astype(float)
    return s, left, right, y


def pen_loglik(
    s: np.ndarray, left: np.ndarray, right: np.ndarray, y: np.ndarray, lam: float
) -> float:
    """sum of log P(outcome) - lam/2 |s|^2 (the log posterior up to a constant)."""
    d = s[left] - s[right]
    ll = -(y * np.logaddexp(0.0, -d) + (1.0 - y) * np.logaddexp(0.0, d)).sum()
    return float(ll - 0.5 * lam * float(s @ s))


def tau(a: np.ndarray, b: np.ndarray) -> float:
    return float(scipy.stats.kendalltau(a, b).statistic)


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """Median and minimum wall time of ``fn()`` over ``repeat`` runs, and its last result."""
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times), out


def warm_refit_time(
    model: BTModel, new: tuple[np.ndarray, ...], repeat: int
) -> tuple[float, float]:
    """Median and minimum time of the lazy warm refit after a batch of new votes."""
    times = []
    for _ in range(repeat):
        m = copy.deepcopy(model)
        m.update(new[0], new[1], new[2])
        t0 = time.perf_counter()
        m.scores()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times)


def choix_methods(
    n: int, pairs: list[tuple[int, int]], lam: float
) -> dict[str, Callable[[], np.ndarray]]:
    alpha = lam / 2.0  # choix penalty alpha * |s|^2 == our prior lam / 2 * |s|^2
    return {
        "choix opt_pairwise Newton-CG": lambda: choix.opt_pairwise(n, pairs, alpha=alpha),
        "choix opt_pairwise BFGS": lambda: choix.opt_pairwise(n, pairs, alpha=alpha, method="BFGS"),
        # I-LSR has no L2 prior: it converges to the unpenalised ML (kept as a reference)
        "choix ilsr_pairwise (ML, no prior)": lambda: choix.ilsr_pairwise(n, pairs),
    }


def fit_rows(n: int, m: int, quick: bool) -> list[dict[str, Any]]:
    s, left, right, y = make_votes(n, m, seed=n)
    size = f"{n // 1000}k/{m // 1000}k" if n >= 1000 else f"{n}/{m // 1000}k"
    rows: list[dict[str, Any]] = []
    repeat = 3 if quick else 7
    BTModel(n_items=n).fit(left, right, y)  # warm up imports and caches
    k = m // 100
    _, nl, nr, ny = make_votes(n, k, seed=n + 1, s=s)
    _, gl, gr, gy = make_votes(n, m // 10, seed=n + 2, s=s)
    model, t_default = BTModel(n_items=n), 1.0
    for label, params in VARIANTS.items():

        def cold(params: dict[str, Any] = params) -> BTModel:
            return BTModel(n_items=n, **params).fit(left, right, y)

        t_cold, t_cold_min, fitted = timed(cold, repeat)
        ours = fitted.scores()
        lam = fitted.fitted_prior_strength
        rows.append(
            {
                "size": size,
                "what": f"{label} cold fit",
                "seconds": t_cold,
                "min s": t_cold_min,
                "λ": lam,
                "pen. loglik": pen_loglik(ours, left, right, y, lam),
                "tau vs truth": tau(ours, s),
            }
        )
        t_warm, t_warm_min = warm_refit_time(fitted, (nl, nr, ny), repeat)
        rows.append(
            {
                "size": size,
                "what": f"{label} warm refit (+{k} votes)",
                "seconds": t_warm,
                "min s": t_warm_min,
                "note": "update(batch) then the lazy refit in scores()",
            }
        )
        if not params:
            model, t_default = fitted, t_cold
            t_est, t_est_min = warm_refit_time(fitted, (gl, gr, gy), repeat)
            rows.append(
                {
                    "size": size,
                    "what": f"{label} refit re-estimating λ (+{m // 10} votes)",
                    "seconds": t_est,
                    "min s": t_est_min,
                    "note": "votes grew by 10%: λ and the side decision re-estimated",
                }
            )
    lam = model.fitted_prior_strength
    ours = model.scores()
    ll_ours = pen_loglik(ours, left, right, y, lam)
    budget_ok = n * m <= 1_000 * 100_000  # choix loops over votes in Python; 10k/1M > 2 min
    if quick or not budget_ok:
        rows.append(
            {
                "size": size,
                "what": "choix (all exact methods)",
                "note": "skipped: would take over 2 minutes"
                if not budget_ok
                else "skipped (--quick)",
            }
        )
        return rows
    pairs = [
        (int(a), int(b)) if o == 1.0 else (int(b), int(a))
        for a, b, o in zip(left, right, y, strict=True)
    ]
    best: tuple[float, str] | None = None
    for name, fn in choix_methods(n, pairs, lam).items():
        t0 = time.perf_counter()
        try:
            est = fn()
        except RuntimeError as exc:  # e.g. I-LSR did not converge
            rows.append({"size": size, "what": name, "note": f"failed: {exc}"})
            continue
        t = time.perf_counter() - t0
        ll = pen_loglik(est, left, right, y, lam)
        reaches = ll >= ll_ours - 1e-3
        rows.append(
            {
                "size": size,
                "what": name,
                "seconds": t,
                "pen. loglik": ll,
                "Δ loglik vs bt": ll - ll_ours,
                "tau vs truth": tau(est, s),
                "note": "reaches the MAP" if reaches else "does not reach the MAP",
            }
        )
        if reaches and (best is None or t < best[0]):
            best = (t, name)
        if t > CHOIX_LIMIT_S:
            break
    if best is not None:
        rows.append(
            {
                "size": size,
                "what": "speed-up: fastest exact choix / bt cold",
                "ratio": best[0] / t_default,
                "note": best[1],
            }
        )
    return rows


def throughput_rows(n: int, m: int) -> list[dict[str, Any]]:
    _, left, right, y = make_votes(n, m, seed=7)
    ll, rr, yy = left.tolist(), right.tolist(), y.tolist()
    rows: list[dict[str, Any]] = []
    for name in ("bt", "bt-online", "elo"):
        if name not in MODELS:
            rows.append(
                {
                    "size": f"{n // 1000}k/{m // 1000}k",
                    "what": f"{name} sequential update",
                    "note": "skipped: model not registered",
                }
            )
            continue
        model = create_model(name, n_items=n)
        update = model.update
        t0 = time.perf_counter()
        for a, b, o in zip(ll, rr, yy, strict=True):
            update(a, b, o)
        t = time.perf_counter() - t0
        rows.append(
            {
                "size": f"{n // 1000}k/{m // 1000}k",
                "what": f"{name} sequential update",
                "seconds": t,
                "votes/s": m / t,
                "note": "one vote per call, Python loop",
            }
        )
    return rows


def main() -> None:
    quick = "--quick" in sys.argv
    load_start = os.getloadavg()
    rows: list[dict[str, Any]] = []
    for n, m in SIZES:
        rows += fit_rows(n, m, quick)
        print(f"done {n}/{m}", file=sys.stderr)
    rows += throughput_rows(10_000, 1_000_000 if not quick else 100_000)
    cols = [
        "size",
        "what",
        "seconds",
        "min s",
        "votes/s",
        "ratio",
        "λ",
        "pen. loglik",
        "Δ loglik vs bt",
        "tau vs truth",
        "note",
    ]
    load_end = os.getloadavg()
    print("\nbt fit speed, synthetic BT data, scores ~ N(0,1)")
    print(
        f"1-min load average {load_start[0]:.1f} at start, {load_end[0]:.1f} at end "
        f"({os.cpu_count()} CPUs); seconds = median, min s = fastest run\n"
    )
    text = print_table(rows, cols)
    write_json(
        "fit_speed",
        {
            "variants": VARIANTS,
            "loadavg_start": load_start,
            "loadavg_end": load_end,
            "rows": rows,
            "table": text,
        },
    )


if __name__ == "__main__":
    main()
