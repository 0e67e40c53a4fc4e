"""How many real, honest voters would ``against_crowd`` flag, and how many coin-clickers?

The rule (:mod:`ranker.signals`) flags a voter whose answers agree with the crowd's model so
little that fewer than ``AGAINST_ALPHA`` (1%) of voters following the model would agree as
little on the same pairs, and no better than a coin (``log_lr <= 0``). Its false-positive rate
is at most 1% only if honest voters answer like the model; real people differ from one another
(tastes, intransitive answers), so this checks it on the shared real data sets that name their
voters (``../shared/data``: beach images, human-like sounds, strong-looking faces, potato
weights; each voter a volunteer in a study, so honest).

Per data set: the crowd's model is ``bt`` (no side advantage: these files list winner and
loser, not sides) fitted on **all** votes, as the service does, and again **leaving each voter
out** (the voter judged against everyone else). Reported: voters with at least ``AGAINST_MIN``
answers, the share of them flagged, and, for power, the share flagged when each voter's answers
are replaced by a fair coin's on the same pairs (``--coins`` draws per voter, all-votes model
refitted with the coin answers in, as the service would see them).

Run: ``python -m benchmarks.flag_rate [--data ../shared/data]``; writes
``benchmarks/results/flag_rate.json``.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import Any

import numpy as np

from algorithms import create_model
from benchmarks._common import print_table, write_json
from ranker.signals import AGAINST_ALPHA, AGAINST_MIN, agreement

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FILES = (
    "beach_preferences.csv",
    "sounds_human_likeness.csv",
    "physical_strength_faces.csv",
    "potato_weight_visual.csv",
)


def read_votes(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """``(voter, winner, loser, items)`` of a ``winner,loser,voter`` file, as codes."""
    items: dict[str, int] = {}
    voters: dict[str, int] = {}
    rows = []
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            w = items.setdefault(row["winner"], len(items))
            lo = items.setdefault(row["loser"], len(items))
            rows.append((voters.setdefault(row["voter"], len(voters)), w, lo))
    arr = np.array(rows, dtype=np.int64)
    return arr[:, 0], arr[:, 1], arr[:, 2], len(items)


def crowd_scores(left: np.ndarray, right: np.ndarray, y: np.ndarray, n: int) -> np.ndarray:
    model = create_model("bt", n_items=n, side_advantage=False)
    model.fit(left, right, y)
    return np.asarray(model.posterior().mean, dtype=np.float64)


def flag_shares(
    voter: np.ndarray, winner: np.ndarray, loser: np.ndarray, n: int, coins: int, seed: int = 0
) -> dict[str, Any]:
    """Shares of eligible voters flagged: all-votes model, leave-one-out, and as coins."""
    y = np.ones(voter.shape[0])
    counts = np.bincount(voter)
    eligible = np.flatnonzero(counts >= AGAINST_MIN)
    agree = agreement(voter, winner, loser, y, crowd_scores(winner, loser, y, n))
    flagged_all = [int(v) for v in eligible if agree[int(v)].against]
    flagged_loo = []
    for v in eligible.tolist():
        mine = voter == v
        mean = crowd_scores(winner[~mine], loser[~mine], y[~mine], n)
        a = agreement(voter[mine], winner[mine], loser[mine], y[mine], mean)
        flagged_loo += [v] if a[v].against else []
    rng = np.random.default_rng(seed)
    coin_hits, coin_tries = 0, 0
    for v in eligible.tolist():
        mine = voter == v
        for _ in range(coins):
            yc = y.copy()
            yc[mine] = (rng.random(int(mine.sum())) < 0.5).astype(np.float64)
            mean = crowd_scores(winner, loser, yc, n)
            a = agreement(voter[mine], winner[mine], loser[mine], yc[mine], mean)
            coin_hits += a[v].against
            coin_tries += 1
    return {
        "voters": int(counts.size),
        "answers_per_voter": f"{int(counts.min())}-{int(counts.max())}",
        "eligible": int(eligible.size),
        "flagged_all_votes": len(flagged_all),
        "flagged_all_share": len(flagged_all) / max(eligible.size, 1),
        "flagged_leave_one_out": len(flagged_loo),
        "flagged_loo_share": len(flagged_loo) / max(eligible.size, 1),
        "coins_flagged_share": coin_hits / max(coin_tries, 1),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--data", type=Path, default=DATA)
    p.add_argument("--coins", type=int, default=5, help="coin-clicker draws per voter")
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    rows = []
    for name in FILES:
        path = args.data / name
        if not path.exists():
            print(f"skipped {name}: not found in {args.data}")
            continue
        voter, winner, loser, n = read_votes(path)
        r = flag_shares(voter, winner, loser, n, args.coins)
        rows.append({"data": name.removesuffix(".csv"), "items": n, **r})
    print(
        f"against_crowd: agreement_p <= {AGAINST_ALPHA} and log_lr <= 0"
        f" over >= {AGAINST_MIN} answers"
    )
    print_table(rows)
    write_json(
        "flag_rate",
        {
            "settings": {"alpha": AGAINST_ALPHA, "min": AGAINST_MIN, "coins": args.coins},
            "rows": rows,
        },
        args.out,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
