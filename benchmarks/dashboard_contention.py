"""Votes while a dashboard polls the ranking: does computing results hold up voting?

One process, the in-memory store, a survey of ``--ideas`` ideas that already holds ``--votes``
answers (default sampler ``adaptive``, model ``bt``). The main thread votes (pick + answer) at a
fixed ``--rate`` for ``--duration`` seconds and records each vote's latency from its scheduled
time (open loop: a stall delays every vote due during it, as requests queue at a server). In
the second measurement a poller thread asks for the full ranking (``svc.rankings.results`` +
``votes_needed``, what the dashboard's results call does) every ``--poll`` seconds meanwhile.
The first measurement, with no poller, is the baseline of the same run.

Run: ``python -m benchmarks.dashboard_contention`` (``--ideas 1000 --votes 50000`` by default).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from typing import Any

import numpy as np

from benchmarks._common import print_table, write_json
from ranker.domain import Answer, Limits, SurveySpec, Voter
from ranker.rules import Choice
from ranker.service import RankerService
from ranker.storage import open_store


def vote(svc: RankerService, sid: str, voter: Voter, choice: Choice) -> None:
    ballot = svc.voting.next_ballot(sid, voter)
    svc.voting.answer(sid, voter, ballot.token, Answer(choice=choice))


def build(ideas: int, votes: int, voters: int) -> tuple[RankerService, str, list[Voter]]:
    svc = RankerService(open_store("memory://"), b"bench" * 8, snapshot_every=0)
    spec = SurveySpec(
        question="Which?",
        ideas=[f"idea {i}" for i in range(ideas)],
        open=True,
        limits=Limits(answers_per_minute=0),  # one process votes as fast as it can
    )
    sid = svc.surveys.create("bench", spec).id
    people = [svc.voting.issue_voter(sid) for _ in range(voters)]
    choices: tuple[Choice, ...] = ("left", "right", "tie")
    for i in range(votes):
        vote(svc, sid, people[i % voters], choices[i % 3])
    svc.rankings.results(sid)  # a first fit, as a running survey would have
    return svc, sid, people


def measure(
    svc: RankerService,
    sid: str,
    people: list[Voter],
    duration: float,
    rate: float,
    poll: float | None,
) -> dict[str, Any]:
    stop = threading.Event()
    polls: list[float] = []

    def poller() -> None:
        while not stop.is_set():
            t0 = time.perf_counter()
            svc.rankings.results(sid)
            svc.rankings.votes_needed(sid)
            polls.append(time.perf_counter() - t0)
            stop.wait(poll or 0.0)

    th = threading.Thread(target=poller, daemon=True) if poll is not None else None
    if th is not None:
        th.start()
    lat: list[float] = []
    start = time.perf_counter()
    for i in range(int(duration * rate)):
        due = start + i / rate  # open loop: latency counts from the vote's scheduled time
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        vote(svc, sid, people[i % len(people)], "left" if i % 2 else "right")
        lat.append(time.perf_counter() - due)
    stop.set()
    if th is not None:
        th.join()
    a = np.array(lat) * 1000
    return {
        "poller": "none" if poll is None else f"results every {poll:g} s",
        "votes_per_s": rate,
        "vote_p50_ms": float(np.percentile(a, 50)),
        "vote_p99_ms": float(np.percentile(a, 99)),
        "vote_max_ms": float(a.max()),
        "rankings": len(polls),
        "ranking_ms_median": float(np.median(polls) * 1000) if polls else None,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ideas", type=int, default=1000)
    p.add_argument("--votes", type=int, default=50_000)
    p.add_argument("--voters", type=int, default=2000)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--poll", type=float, default=0.5, help="seconds between rankings")
    p.add_argument("--rate", type=float, default=1000.0, help="votes per second (open loop)")
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    svc, sid, people = build(args.ideas, args.votes, args.voters)
    print(f"built {args.ideas} ideas / {args.votes} answers in {time.perf_counter() - t0:.1f} s")
    rows = [
        measure(svc, sid, people, args.duration, args.rate, None),
        measure(svc, sid, people, args.duration, args.rate, args.poll),
    ]
    svc.close()
    rows[1]["p99_vs_baseline"] = rows[1]["vote_p99_ms"] / rows[0]["vote_p99_ms"]
    print_table(rows)
    write_json("dashboard_contention", {"settings": vars(args), "rows": rows}, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
