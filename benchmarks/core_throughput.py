"""Throughput of the voting core, one process, no HTTP: issue a ballot + answer it.

For each backend (memory as the no-I/O reference, SQLite in WAL mode, Redis
with AOF everysec on a private redis-server) and each sampler (the survey
default ``adaptive``, and ``random`` to show the core's own overhead), a
survey with ``--ideas`` ideas (default 1,000) gets ``--answers`` cycles of
``next_ballot`` + ``answer`` from voters who each answer 20 ballots (the
default rate limit of 120 answers per voter per minute stays on). The model is
the survey default (``bt``, O(1) online update per vote, lazy refit).

In the same run, the raw Redis ceiling on the same server:
``redis-benchmark -c 1`` (one connection, unpipelined, like one worker)
for PING and SET, and a redis-py loop of unpipelined PINGs (one Python
process's round-trip ceiling). Without the follower (``follow`` off) one answer cycle costs
two round trips (the catch-up ``XRANGE`` before the pick, the answer script), so the
redis-py PING rate / 2 bounds it; with the follower (``follow`` on, the default) a
background thread follows the stream with ``XREAD BLOCK`` and picks make no round trip,
so a cycle is one round trip (the answer script) and the bound is the PING rate.
``answers_per_cpu_s`` divides by this process's CPU time (the follower thread included)
instead of wall time: on a shared machine it is the steadier measure of the core's own cost
(it excludes the Redis server's CPU and time spent waiting). Rows with ``staleness_s`` 0.05
let picks reuse a projection caught up within the last 50 ms
(``RankerService(max_staleness_s=...)``), which drops the catch-up read from most cycles.

Usage::

    python -m benchmarks.core_throughput [--answers 3000] [--ideas 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._common import print_table, write_json
from ranker.domain import Answer, SurveySpec
from ranker.service import RankerService
from ranker.storage import open_store

SECRET = b"bench-secret-0123456789abcdef0123"


def cycles(
    url: str,
    sampler: str,
    n_ideas: int,
    n_answers: int,
    staleness: float = 0.0,
    follow: bool = False,
) -> dict[str, float]:
    """Run ``n_answers`` ballot+answer cycles; returns answers/s and per-step µs."""
    store = open_store(url)
    svc = RankerService(store, SECRET, max_staleness_s=staleness, follow=follow)
    spec = SurveySpec(
        question="Which is better?", ideas=[f"idea {i}" for i in range(n_ideas)], sampler=sampler
    )
    sid = svc.surveys.create("bench", spec).id
    svc.surveys.open(sid)
    answers = [Answer(choice=c) for c in ("left", "right", "left", "tie")]
    warm = 200
    t_ballot = t_answer = 0.0
    voter = svc.voting.issue_voter(sid)
    clock = time.perf_counter
    cpu0 = 0.0
    for i in range(warm + n_answers):
        if i == warm:
            cpu0 = time.process_time()
        if i % 20 == 0:
            voter = svc.voting.issue_voter(sid)
        t0 = clock()
        b = svc.voting.next_ballot(sid, voter)
        t1 = clock()
        svc.voting.answer(sid, voter, b.token, answers[i % 4])
        t2 = clock()
        if i >= warm:
            t_ballot += t1 - t0
            t_answer += t2 - t1
    cpu = time.process_time() - cpu0
    assert svc.repo.get(sid).n_votes == warm + n_answers
    svc.close()
    store.close()
    total = t_ballot + t_answer
    return {
        "answers_per_s": n_answers / total,
        "answers_per_cpu_s": n_answers / cpu,
        "ballot_us": t_ballot / n_answers * 1e6,
        "answer_us": t_answer / n_answers * 1e6,
    }


def redis_benchmark(port: int, n: int = 20000) -> dict[str, float]:
    """``redis-benchmark`` one connection, unpipelined: requests/s for PING and SET."""
    binary = shutil.which("redis-benchmark")
    if binary is None:
        return {}
    out = subprocess.run(
        [binary, "-p", str(port), "-c", "1", "-n", str(n), "-q", "-t", "ping,set"],
        capture_output=True,
        text=True,
        timeout=300,
    ).stdout
    res = {}
    for line in out.replace("\r", "\n").splitlines():
        m = re.match(r"(PING_INLINE|PING_MBULK|SET): ([\d.]+) requests per second", line.strip())
        if m:
            res[m.group(1)] = float(m.group(2))
    return res


def redis_py_ping(url: str, n: int = 20000) -> float:
    """Unpipelined PINGs per second from this Python process (redis-py)."""
    import redis

    r = redis.Redis.from_url(url)
    r.ping()
    t0 = time.perf_counter()
    for _ in range(n):
        r.ping()
    dt = time.perf_counter() - t0
    r.close()
    return n / dt


def main(argv: list[str] | None = None) -> int:
    from tests.redis_proc import RedisProcess

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--answers", type=int, default=3000)
    p.add_argument("--ideas", type=int, default=1000)
    p.add_argument("--repeat", type=int, default=3, help="runs per cell; the median is reported")
    p.add_argument("--samplers", default="adaptive,random")
    p.add_argument(
        "--staleness",
        default="0,0.05",
        help="max_staleness_s values for sqlite/redis picks (0 = catch up before every pick)",
    )
    args = p.parse_args(argv)
    rows: list[dict[str, Any]] = []
    ceiling: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="ranker-bench-") as tmp:
        server = RedisProcess(Path(tmp) / "redis", appendonly=True, appendfsync="everysec")
        server.start()
        try:
            rb = redis_benchmark(server.port)
            ceiling = {
                "redis_benchmark_c1_ping_per_s": rb.get("PING_MBULK"),
                "redis_benchmark_c1_set_per_s": rb.get("SET"),
                "redis_py_unpipelined_ping_per_s": redis_py_ping(server.url),
            }
            stale_values = [float(x) for x in args.staleness.split(",")]
            cells = [("memory", 0.0, False)]
            cells += [("sqlite", st, False) for st in stale_values]
            cells += [("redis", st, False) for st in stale_values]
            cells += [("redis", 0.0, True)]
            for sampler in args.samplers.split(","):
                for backend, stale, follow in cells:
                    runs = []
                    for k in range(args.repeat):
                        if backend == "redis":
                            import redis

                            redis.Redis.from_url(server.url).flushall()
                            url = server.url
                        elif backend == "sqlite":
                            url = f"sqlite:///{tmp}/bench-{sampler}-{k}.db"
                        else:
                            url = "memory://"
                        runs.append(cycles(url, sampler, args.ideas, args.answers, stale, follow))
                    med = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
                    rows.append(
                        {
                            "backend": backend,
                            "sampler": sampler,
                            "staleness_s": stale,
                            "follow": follow,
                            "ideas": args.ideas,
                            "answers": args.answers,
                            "answers_per_s": round(med["answers_per_s"]),
                            "answers_per_cpu_s": round(med["answers_per_cpu_s"]),
                            "ballot_us": round(med["ballot_us"], 1),
                            "answer_us": round(med["answer_us"], 1),
                            "runs_answers_per_s": [round(r["answers_per_s"]) for r in runs],
                        }
                    )
        finally:
            server.stop()
    print_table(rows)
    print()
    print_table([ceiling])
    ping = ceiling["redis_py_unpipelined_ping_per_s"]
    for r in rows:
        if r["backend"] == "redis":
            trips = 1 if r["follow"] else 2
            print(
                f"redis/{r['sampler']}/staleness {r['staleness_s']}/follow {r['follow']}: "
                f"{r['answers_per_s']} answers/s = "
                f"{r['answers_per_s'] / (ping / trips):.0%} of the {trips}-round-trip redis-py "
                f"ceiling ({ping / trips:.0f}/s)"
            )
    for sampler in args.samplers.split(","):
        base = next(
            r
            for r in rows
            if r["sampler"] == sampler
            and r["backend"] == "redis"
            and not r["follow"]
            and r["staleness_s"] == 0
        )
        fol = next(r for r in rows if r["sampler"] == sampler and r["follow"])
        print(
            f"redis/{sampler}: follower / no follower (staleness 0), same run: "
            f"{fol['answers_per_s'] / base['answers_per_s']:.2f}x answers/s, "
            f"{fol['answers_per_cpu_s'] / base['answers_per_cpu_s']:.2f}x answers per CPU s"
        )
    write_json(
        "core_throughput",
        {
            "rows": rows,
            "ceiling": ceiling,
            "command": "python -m benchmarks.core_throughput " + " ".join(argv or sys.argv[1:]),
            "targets": {"sqlite": 5000, "redis": 3000},
            "loadavg_after": os.getloadavg(),
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
