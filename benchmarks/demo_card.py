"""What the dashboard's settle card says on the demo survey as votes arrive (issue 11).

``python -m benchmarks.demo_card [--seeds 5] [--cap 6000]``

The survey ``ranker demo`` creates (32 ideas, three groups, every default: ``bt`` with the
service's influence cap, the ``settle`` sampler with verification pairs, top 10, margin
55/45), run through the service itself (:class:`ranker.service.RankerService` on the memory
store) with simulated honest voters of 20 answers each (true scores ``N(0, 1)`` or
``Exp(1)``, a few strong ideas and many weak; the rate limit off). At 105, 233, 500 and
1,000 answers (the first two are where the issue read "about 173,318 more votes needed (1 %
of the way)" and 328,562) the card's estimate is read as the API serves it
(``Settling.votes_needed``: forecast median, 10-90 % range, progress, ideas decided, the whole
order's decided borders); then voting goes on until the top 10 is settled (checked every 20
answers) or ``--cap`` answers, and each forecast is compared with the answers it actually
took. Writes ``benchmarks/results/demo_card.json``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import secrets
import statistics
import time
from typing import Any

import numpy as np
from scipy.special import expit

from algorithms.settle import check_model
from benchmarks._common import print_table, write_json
from ranker.commands.serve import DEMO_IDEAS, DEMO_QUESTION
from ranker.domain import Answer, Limits, SurveySpec
from ranker.service import RankerService
from ranker.storage import open_store

CHECKPOINTS = (105, 233, 500, 1000)
PER_VOTER = 20
GROUPS = ["clinician", "patient", "carer"]


def run(seed: int, kind: str, cap: int) -> list[dict[str, Any]]:
    """One demo survey voted on until settled; a row per checkpoint."""
    rng = np.random.default_rng([seed, 1 if kind == "heavy" else 0])
    n = len(DEMO_IDEAS)
    theta = rng.exponential(size=n) if kind == "heavy" else rng.normal(size=n)
    store = open_store("memory://")
    svc = RankerService(store, secret=secrets.token_bytes(32), follow=False)
    try:
        spec = SurveySpec(
            question=DEMO_QUESTION,
            ideas=DEMO_IDEAS,
            groups=GROUPS,
            open=True,
            limits=Limits(answers_per_minute=0),
        )
        sid = svc.surveys.create("org", spec).id
        # minutes pass between the checkpoints of a real survey: each one forecasts afresh
        svc.settling.min_interval_s = svc.settling.max_age_s = 0.0
        survey = svc.surveys.get(sid)
        rows: list[dict[str, Any]] = []
        votes, voter, settled_at = 0, None, None
        while votes < cap and settled_at is None:
            if votes % PER_VOTER == 0:
                voter = svc.voting.issue_voter(sid, group=GROUPS[(votes // PER_VOTER) % 3])
            assert voter is not None
            ballot = svc.voting.next_ballot(sid, voter)
            left_wins = rng.random() < expit(theta[ballot.left] - theta[ballot.right])
            choice = "left" if left_wins else "right"
            svc.voting.answer(sid, voter, ballot.token, Answer(choice=choice))
            votes += 1
            if votes in CHECKPOINTS:
                t0 = time.perf_counter()
                est = svc.settling.votes_needed(sid)
                whole = est.order
                rows.append(
                    {
                        "truth": kind,
                        "seed": seed,
                        "answers": votes,
                        "settled": est.settled,
                        "needed": est.votes_needed,
                        "low": est.votes_needed_low,
                        "high": est.votes_needed_high,
                        "above": est.votes_needed_above,
                        "progress": round(est.progress, 3),
                        "decided": f"{est.decided}/{est.n_ideas}",
                        "order decided": f"{whole.decided}/{whole.borders}" if whole else "-",
                        "card s": round(time.perf_counter() - t0, 2),
                    }
                )
            if votes % 20 == 0 and votes >= CHECKPOINTS[0]:
                proj = svc.repo.get(sid)
                idx = np.flatnonzero(proj.active_mask())
                if check_model(proj.model_copy(), survey.top_k, 0.95, survey.margin, idx).settled:
                    settled_at = votes
        for row in rows:
            row["settled at"] = settled_at if settled_at is not None else f">{votes}"
            left = None if settled_at is None else settled_at - row["answers"]
            row["actually needed"] = left
            fc, above = row["needed"], row["above"]
            row["forecast / actual"] = (
                round(fc / left, 2) if fc is not None and left is not None and left > 0 else None
            )
            # "more than N": true when the survey did need more than N (or had not settled
            # when stopped beyond N)
            row["'more than' true"] = (
                None if above is None else (left > above if left is not None else votes > above)
            )
        return rows
    finally:
        svc.close()
        store.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=5, help="surveys per truth (default 5)")
    ap.add_argument("--cap", type=int, default=6000, help="answers at most per survey")
    ap.add_argument("--json", default=None, help="output path (default results/demo_card.json)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    rows = [
        r for kind in ("normal", "heavy") for s in range(args.seeds) for r in run(s, kind, args.cap)
    ]
    print_table(rows)
    ratios = [r["forecast / actual"] for r in rows if r["forecast / actual"] is not None]
    bounds = [r["'more than' true"] for r in rows if r["'more than' true"] is not None]
    summary = {
        "forecasts with a median": len(ratios),
        "median forecast / actual": statistics.median(ratios) if ratios else None,
        "within a factor 2": (
            sum(0.5 <= x <= 2.0 for x in ratios) / len(ratios) if ratios else None
        ),
        "'more than N' forecasts": len(bounds),
        "'more than N' true": sum(bounds),
        "largest forecast or bound": max(r["needed"] or r["above"] or 0 for r in rows),
    }
    print(summary)
    payload = {"config": vars(args), "rows": rows, "summary": summary}
    payload["seconds"] = time.perf_counter() - t0
    write_json("demo_card", payload, args.json)


if __name__ == "__main__":
    main()
