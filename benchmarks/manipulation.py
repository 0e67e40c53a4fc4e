"""Manipulation: can one voter, fake voters or bots move the ranking, and are bots flagged?

Each seed simulates a survey of ``--ideas`` ideas with Bradley-Terry true scores N(0, 1) and
``--honest`` honest voters giving ``--answers`` answers each (the truth's probability, a human
response time), through the real voting core (``RankerService`` on the memory store, the
survey's default sampler, the default limits). Over the same 10 simulated minutes one attack
runs alongside:

(a) ``harvest``: one voter pushes a weak idea (true rank ~70% down the list) for 10 minutes:
    asks for ballot after ballot without answering until one shows the target, then answers
    it for the target, as fast as the per-voter rate limit allows;
(b) ``fakes``: 50 fake voters from one client push the same idea (the target wins whenever it
    is shown, the other pairs are answered at random), 20 answers each;
(c) ``random_bots``: 10% extra voters clicking at random, 40 answers each;
(d) ``left_bots``: 10% extra voters always choosing the left idea, 40 answers each.

Every voter comes from their own client address, except the 50 fakes, who share one. Honest
voters answer with common random numbers (the same answer to the same pair in every run of a
seed), so the attack-free run differs from an attacked one only through the attack and the pairs
it makes the sampler choose.

Defences **off** is how the first version counted: every logged answer counts (a fit on the raw
log: no supersede, no cap, no void). **Cap only** is this version's ranking with nobody voided:
one voice per voter and pair, three answerable open ballots per voter, bounded influence in
``bt`` (``INFLUENCE_CAP``). Defences **on** adds the organiser voiding every voter the integrity
signals flag (``ranker.signals``), one click each.

Reported per attack and seed: the places the target was pushed up, against **the same run
without the attackers' answers** (the attack's own push; its 95% rank range from the same run's
ranking with every attacker voided), and against the seed's separate attack-free run (which adds
that run's noise: other pairs were shown); the share of attackers with >= 40 answers (all fakes)
flagged and of honest voters flagged; Kendall tau against the truth minus the same run's
without attackers, and minus the attack-free run's. Targets (issue 12): (a) shift <= 1 and inside
the range; (b) shift <= 3 with >= 80% of fakes flagged; (c, d) >= 80% of bots flagged, <= 5% of
honest voters flagged, tau within 0.02. ``--influence-cap`` explores other caps,
``--no-verify`` turns the surveys' verification pairs off (``verify_voters``: a voter whose
answers do not yet tell a person from a coin is shown clear pairs from their 20th answer),
``--attacks`` runs a subset.

Run: ``python -m benchmarks.manipulation [--seeds 10] [--quick]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from typing import Any

import numpy as np
from scipy.special import erfinv
from scipy.stats import kendalltau

from algorithms import create_model
from benchmarks._common import print_table, write_json
from ranker import events as ev
from ranker import projection
from ranker.domain import Answer, Limits, SurveySpec
from ranker.errors import BallotExpired, RateLimited
from ranker.rules import INFLUENCE_CAP
from ranker.sampling import default_sampler_factory
from ranker.service import RankerService
from ranker.storage import open_store

ATTACKS = ("none", "harvest", "fakes", "random_bots", "left_bots")
MINUTES = 10.0


class Clock:
    def __init__(self) -> None:
        self.t = 1_800_000_000.0

    def __call__(self) -> float:
        return self.t


def _choose(seed: int, voter: int, truth: np.ndarray, left: int, right: int) -> tuple[str, int]:
    """An honest voter's answer and response time, the same in every run of a seed for the
    same voter and pair (common random numbers: the attack-free run differs only by the
    attack, not by other honest answers)."""
    u = np.random.default_rng([seed, voter, min(left, right), max(left, right)]).random(2)
    p = 1.0 / (1.0 + np.exp(-(truth[left] - truth[right])))
    won = u[0] < (p if left < right else 1.0 - p)  # the lower index wins with u < its p
    choice = "left" if won == (left < right) else "right"
    return choice, int(np.exp(np.log(3000) + 0.5 * np.sqrt(2) * float(erfinv(2 * u[1] - 1))))


def simulate(seed: int, attack: str, args: argparse.Namespace) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    truth = rng.normal(0.0, 1.0, args.ideas)
    order = np.argsort(-truth)
    target = int(order[int(0.7 * args.ideas)])
    honest_rng = np.random.default_rng([seed, 99])  # the same honest timeline in every run
    rng = np.random.default_rng([seed, ATTACKS.index(attack)])
    clock = Clock()
    svc = RankerService(
        open_store("memory://"),
        b"manipulation-bench" * 2,
        clock,
        sampler_factory=default_sampler_factory(seed),
        follow=False,
    )
    spec = SurveySpec(
        question="Which is better?",
        ideas=[f"idea {i}" for i in range(args.ideas)],
        open=True,
        limits=Limits(),
        verify_voters=not args.no_verify,
    )
    sid = svc.surveys.create("bench", spec).id
    # each honest voter and bot from their own address; the 50 fakes from one
    honest = [
        svc.voting.issue_voter(sid, client=f"10.1.{k // 200}.{k % 200}") for k in range(args.honest)
    ]
    n_extra = {"fakes": 50, "random_bots": args.honest // 10, "left_bots": args.honest // 10}
    attackers = [
        svc.voting.issue_voter(sid, client="203.0.113.7" if attack == "fakes" else f"10.2.0.{k}")
        for k in range(n_extra.get(attack, 0))
    ]
    harvester = svc.voting.issue_voter(sid, client="10.3.0.1") if attack == "harvest" else None
    per_attacker = 20 if attack == "fakes" else 40
    # a timeline of actions over MINUTES: (time, kind, voter index)
    events: list[tuple[float, str, int]] = []
    span = MINUTES * 60
    for k in range(args.honest):
        start = honest_rng.uniform(0, span * 0.8)
        gaps = honest_rng.uniform(3, 8, args.answers)
        events += [(start + j * gaps[j], "honest", k) for j in range(args.answers)]
    for k in range(len(attackers)):
        start = rng.uniform(0, span * 0.8)
        gap = 1.0 if attack != "fakes" else 2.0
        events += [(start + j * gap, attack, k) for j in range(per_attacker)]
    if harvester is not None:
        events += [(t, "harvest", 0) for t in np.arange(0.0, span, 0.5)]
    events.sort()
    t0 = clock.t
    for when, kind, k in events:
        clock.t = t0 + float(when)
        try:
            if kind == "honest":
                v = honest[k]
                b = svc.voting.next_ballot(sid, v)
                choice, ms = _choose(seed, k, truth, b.left, b.right)
            elif kind == "harvest":
                assert harvester is not None
                v = harvester
                for _ in range(4 * args.ideas):  # ask until the target is shown
                    b = svc.voting.next_ballot(sid, v)
                    if target in (b.left, b.right):
                        break
                else:
                    continue
                choice = "left" if b.left == target else "right"
                ms = 400
            else:
                v = attackers[k]
                b = svc.voting.next_ballot(sid, v)
                if kind == "left_bots":
                    choice, ms = "left", int(rng.uniform(200, 900))
                elif kind == "fakes" and target in (b.left, b.right):
                    choice, ms = ("left" if b.left == target else "right"), 1500
                else:
                    choice, ms = (
                        ("left" if rng.random() < 0.5 else "right"),
                        int(rng.uniform(300, 1500)),
                    )
            svc.voting.answer(sid, v, b.token, Answer(choice=choice, response_ms=ms))  # type: ignore[arg-type]
        except (RateLimited, BallotExpired):
            continue
    return _measure(svc, sid, truth, target, honest, attackers, harvester, attack)


def _ranks(scores: np.ndarray) -> np.ndarray:
    out = np.empty(scores.size, dtype=np.int64)
    out[np.argsort(-scores, kind="stable")] = np.arange(1, scores.size + 1)
    return out


def _raw_scores(svc: RankerService, sid: str, n: int, without: set[str]) -> np.ndarray:
    """What the previous version counted: every logged answer (no supersede, no cap, no
    void), leaving out the answers of the voters in ``without``."""
    rows = [
        (e.left, e.right, {"left": 1.0, "right": 0.0, "tie": 0.5}[e.outcome])
        for _, e in svc.exports.events(sid)
        if isinstance(e, ev.VoteCast) and e.voter not in without
    ]
    model = create_model("bt")
    model.add_items(n)
    arr = np.array(rows, dtype=np.float64)
    model.fit(arr[:, 0].astype(np.int64), arr[:, 1].astype(np.int64), arr[:, 2])
    return np.asarray(model.scores())


def _ranking(svc: RankerService, sid: str, target: int) -> tuple[np.ndarray, tuple[int, int]]:
    """The service's scores and the target's 95% rank range."""
    res = svc.rankings.results(sid)
    scores = np.zeros(len(res.ideas))
    span = (0, 0)
    for r in res.ideas:
        scores[r.idea] = r.score
        if r.idea == target:
            span = (r.rank_lo, r.rank_hi)
    return scores, span


def _measure(
    svc: RankerService,
    sid: str,
    truth: np.ndarray,
    target: int,
    honest: list[Any],
    attackers: list[Any],
    harvester: Any,
    attack: str,
) -> dict[str, Any]:
    """The target's rank and Kendall tau with defences off, with bounded influence only
    (``cap``), and on (cap, then the flagged voters voided), each also for the same run
    without the attackers' answers (``clean``: the attack's own push, free of the noise of
    a different run)."""
    n = truth.size
    bad = [*attackers, *([harvester] if harvester is not None else [])]
    bad_ids = {v.id for v in bad}
    flagged = {f.voter for f in svc.integrity.flagged(sid)}
    proj = svc.repo.get(sid)
    answers = {v: len(info.answers) for v, info in proj.voters.items()}
    cast = {v: info.cast for v, info in proj.voters.items()}
    bad_40 = [v.id for v in bad if cast.get(v.id, 0) >= 40 or attack == "fakes"]
    off = _raw_scores(svc, sid, n, set())
    off_clean = _raw_scores(svc, sid, n, bad_ids)
    cap, _ = _ranking(svc, sid, target)
    for v in flagged:  # the organiser voids every flagged voter
        svc.voting.void_voter(sid, v)
    on, on_span = _ranking(svc, sid, target)
    for v in bad_ids - flagged:  # the same run without any attacker
        if v in proj.voters:
            svc.voting.void_voter(sid, v)
    clean, clean_span = _ranking(svc, sid, target)
    svc.close()

    def rank(scores: np.ndarray) -> int:
        return int(_ranks(scores)[target])

    def tau(scores: np.ndarray) -> float:
        return float(kendalltau(scores, truth)[0])

    return {
        "off_rank": rank(off),
        "off_clean_rank": rank(off_clean),
        "cap_rank": rank(cap),
        "on_rank": rank(on),
        "clean_rank": rank(clean),
        "on_rank_range": on_span,
        "clean_rank_range": clean_span,
        "off_tau": tau(off),
        "off_clean_tau": tau(off_clean),
        "cap_tau": tau(cap),
        "on_tau": tau(on),
        "clean_tau": tau(clean),
        "bots_flagged": (sum(v in flagged for v in bad_40) / len(bad_40)) if bad_40 else None,
        "honest_flagged": sum(v.id in flagged for v in honest) / len(honest),
        "harvester_answers": answers.get(harvester.id, 0) if harvester is not None else None,
        "harvester_cast": cast.get(harvester.id, 0) if harvester is not None else None,
    }


def summarise(per_seed: list[dict[str, Any]], attacks: list[str]) -> list[dict[str, Any]]:
    """One row per attack: medians and maxima over the seeds (flag rates as means)."""
    rows = []
    for attack in attacks:
        sel = [r for r in per_seed if r["attack"] == attack]

        def med(key: str, sel: list[dict[str, Any]] = sel) -> float | None:
            vals = [r[key] for r in sel if r[key] is not None]
            return round(float(statistics.median(vals)), 4) if vals else None

        def mean(key: str, sel: list[dict[str, Any]] = sel) -> float | None:
            vals = [r[key] for r in sel if r[key] is not None]
            return round(float(statistics.mean(vals)), 3) if vals else None

        def top(key: str, sel: list[dict[str, Any]] = sel) -> int:
            return max(abs(r[key]) for r in sel)

        def share(key: str, sel: list[dict[str, Any]] = sel) -> str:
            return f"{sum(r[key] for r in sel)}/{len(sel)}"

        rows.append(
            {
                "attack": attack,
                "seeds": len(sel),
                "pushed off (med / max)": f"{med('push_off')} / {top('push_off')}",
                "pushed, cap only (med / max)": f"{med('push_cap')} / {top('push_cap')}",
                "pushed on (med / max)": f"{med('push_on')} / {top('push_on')}",
                "in 95% range off / cap / on": (
                    f"{share('inside_range_off')} / {share('inside_range_cap')}"
                    f" / {share('inside_range_on')}"
                ),
                "vs attack-free run on (med / max)": (
                    f"{med('shift_vs_base_on')} / {top('shift_vs_base_on')}"
                ),
                "in attack-free run's range on": share("inside_base_range_on"),
                "bots flagged (mean)": mean("bots_flagged"),
                "honest flagged (max)": round(max(r["honest_flagged"] for r in sel), 4),
                "tau without attackers (median)": med("tau_clean"),
                "tau change off / cap / on (median)": (
                    f"{med('tau_change_off')} / {med('tau_change_cap')} / {med('tau_change_on')}"
                ),
                "tau vs attack-free run off / on": (
                    f"{med('tau_vs_base_off')} / {med('tau_vs_base_on')}"
                ),
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--ideas", type=int, default=50)
    p.add_argument("--honest", type=int, default=300)
    p.add_argument("--answers", type=int, default=20)
    p.add_argument("--quick", action="store_true", help="2 seeds, 100 honest voters")
    p.add_argument("--out", default=None)
    p.add_argument(
        "--attacks", default=",".join(ATTACKS[1:]), help="comma-separated subset of attacks"
    )
    p.add_argument(
        "--no-verify",
        action="store_true",
        help="surveys without verification pairs (verify_voters off; default on)",
    )
    p.add_argument(
        "--influence-cap",
        type=float,
        default=INFLUENCE_CAP,
        help=f"the service's bounded influence (default {INFLUENCE_CAP:g}), to explore others",
    )
    args = p.parse_args(argv)
    attacks = [a for a in ATTACKS[1:] if a in args.attacks.split(",")]
    projection.INFLUENCE_CAP = args.influence_cap
    if args.quick:
        args.seeds, args.honest = 2, 100
    started = time.perf_counter()
    per_seed: list[dict[str, Any]] = []
    for seed in range(args.seeds):
        base = simulate(seed, "none", args)
        for attack in attacks:
            m = simulate(seed, attack, args)
            lo, hi = m["clean_rank_range"]
            blo, bhi = base["on_rank_range"]
            per_seed.append(
                {
                    "seed": seed,
                    "attack": attack,
                    # places the target was pushed up, against the same run without attackers
                    "push_off": m["off_clean_rank"] - m["off_rank"],
                    "push_cap": m["clean_rank"] - m["cap_rank"],
                    "push_on": m["clean_rank"] - m["on_rank"],
                    "inside_range_off": lo <= m["off_rank"] <= hi,
                    "inside_range_cap": lo <= m["cap_rank"] <= hi,
                    "inside_range_on": lo <= m["on_rank"] <= hi,
                    # ... and against the attack-free run of the seed (adds that run's noise)
                    "shift_vs_base_off": base["off_rank"] - m["off_rank"],
                    "shift_vs_base_on": base["on_rank"] - m["on_rank"],
                    "inside_base_range_on": blo <= m["on_rank"] <= bhi,
                    "bots_flagged": m["bots_flagged"],
                    "honest_flagged": m["honest_flagged"],
                    "tau_change_off": m["off_tau"] - m["off_clean_tau"],
                    "tau_change_cap": m["cap_tau"] - m["clean_tau"],
                    "tau_change_on": m["on_tau"] - m["clean_tau"],
                    "tau_vs_base_off": m["off_tau"] - base["off_tau"],
                    "tau_vs_base_on": m["on_tau"] - base["on_tau"],
                    "tau_clean": m["clean_tau"],
                    "harvester_answers_counted": m["harvester_answers"],
                    "harvester_answers_logged": m["harvester_cast"],
                }
            )
        print(f"seed {seed} done ({time.perf_counter() - started:.0f} s)", flush=True)
    rows = summarise(per_seed, attacks)
    print_table(rows)
    write_json(
        "manipulation",
        {"settings": vars(args), "rows": rows, "per_seed": per_seed},
        args.out,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
