"""HTTP load: vote cycles (get a pair + answer it) against ``ranker serve``, with a ceiling.

For each backend (SQLite file, then Redis from ``tests.redis_proc.RedisProcess``) the real server
is started as a subprocess (``ranker serve``, 1 worker; uvicorn picks uvloop + httptools when
installed). The load generator is another process on the same machine (``benchmarks._loadgen``:
raw asyncio sockets, HTTP/1.1 keep-alive; not httpx, whose client overhead would eat the shared
CPU). In the same run the same generator drives a bare Litestar app (``benchmarks._bare_app``:
one tiny GET + one tiny POST) under the same uvicorn settings: that is the ceiling.

Two measurements per target:

- closed loop: ``--concurrency`` connections run cycles back to back -> max cycles/s;
- open loop: cycles start at a fixed ``--rate`` (default 1,000/s) -> p50/p99 cycle latency,
  measured from each cycle's scheduled start (no coordinated omission).

Each ranker backend is measured twice: the issue's cycle (``POST .../ballots`` then
``POST .../answers``), and ``answer+next`` where the answer asks for the next ballot in the same
response (``next: true``), which is how the widget votes: one request per vote.

Server CPU time per cycle (from ``/proc``) is reported too: on a shared machine wall-clock rates
swing with other people's load, CPU per cycle much less; ``cpu_vs_ceiling`` is the same ratio on
that basis.

Targets (issue 5): ranker cycles/s >= 30% of the bare ceiling; p99 <= 20 ms at 1,000 cycles/s.

Run: ``python -m benchmarks.http_load`` (``--quick`` for a short smoke run; ``--warm 20`` to
measure on a survey that already holds ~80k answers).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks._common import print_table, write_json
from tests.redis_proc import RedisProcess, free_port

ADMIN = "bench-admin-token"
ROOT = Path(__file__).resolve().parent.parent


def wait_ready(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server at {url} did not become ready")


def start(cmd: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        cmd,
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=open(cwd / "server.log", "ab"),
        start_new_session=True,
    )


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def setup_survey(base: str, n_ideas: int, n_voters: int) -> tuple[str, list[str]]:
    """Organiser, an open survey of ``n_ideas`` ideas and ``n_voters`` voter tokens."""
    with httpx.Client(base_url=base, timeout=30.0) as c:
        r = c.post(
            "/v1/organisers", json={"name": "bench"}, headers={"Authorization": f"Bearer {ADMIN}"}
        )
        r.raise_for_status()
        org = {"Authorization": f"Bearer {r.json()['api_key']}"}
        ideas = [
            f"Idea number {i}: a realistic sentence of moderate length" for i in range(n_ideas)
        ]
        # every simulated voter comes from this one address: lift the survey's free budget of
        # new voters per address (past it each new voter would need a proof of work)
        free = {"free_per_10min": 100_000, "free_per_day": 1_000_000}
        body = {"question": "Which?", "ideas": ideas, "open": True, "identity": free}
        r = c.post("/v1/surveys", json=body, headers=org)
        r.raise_for_status()
        sid = r.json()["id"]
        tokens = []
        for _ in range(n_voters):
            v = c.post(f"/v1/public/surveys/{sid}/voters")
            v.raise_for_status()
            tokens.append(v.json()["token"])
    return sid, tokens


def cpu_seconds(pid: int) -> float:
    """User + system CPU time used so far by process ``pid`` (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_gen(spec: dict[str, Any]) -> dict[str, Any]:
    out = subprocess.run(  # the spec goes on stdin: thousands of voter tokens overflow argv
        [sys.executable, "-m", "benchmarks._loadgen", "-"],
        input=json.dumps(spec),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def measure(
    target: str, port: int, pid: int, spec: dict[str, Any], args: argparse.Namespace
) -> list[dict[str, Any]]:
    base = {"host": "127.0.0.1", "port": port, **spec}
    cpu0 = cpu_seconds(pid)
    closed = run_gen(
        {**base, "mode": "closed", "concurrency": args.concurrency, "duration": args.duration}
    )
    cpu1 = cpu_seconds(pid)
    opened = run_gen(
        {
            **base,
            "mode": "open",
            "rate": args.rate,
            "connections": args.connections,
            "duration": args.duration,
        }
    )
    cpu2 = cpu_seconds(pid)
    n_closed = closed["cycles"] + closed["failed"]
    n_open = opened["cycles"] + opened["failed"]
    return [
        {
            "target": target,
            "mode": f"closed c={args.concurrency}",
            "server_cpu_us_per_cycle": (cpu1 - cpu0) / max(1, n_closed) * 1e6,
            "cycles_per_s": closed["cycles_per_s"],
            "failed": closed["failed"],
            "req_p50_ms": closed["req_p50_ms"],
            "req_p99_ms": closed["req_p99_ms"],
            "cycle_p50_ms": None,
            "cycle_p99_ms": None,
            "errors": closed["errors"],
        },
        {
            "target": target,
            "mode": f"open {args.rate:.0f}/s",
            "server_cpu_us_per_cycle": (cpu2 - cpu1) / max(1, n_open) * 1e6,
            "cycles_per_s": opened["achieved_cycles_per_s"],
            "failed": opened["failed"],
            "req_p50_ms": opened["req_p50_ms"],
            "req_p99_ms": opened["req_p99_ms"],
            "cycle_p50_ms": opened["cycle_p50_ms"],
            "cycle_p99_ms": opened["cycle_p99_ms"],
            "errors": opened["errors"],
        },
    ]


def bench_bare(workdir: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    port = free_port()
    proc = start(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "benchmarks._bare_app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        {**os.environ, "PYTHONPATH": str(ROOT)},
        workdir,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}/pair")
        return measure("bare litestar", port, proc.pid, {"kind": "bare"}, args)
    finally:
        stop(proc)


def bench_ranker(
    store: str, label: str, workdir: Path, args: argparse.Namespace
) -> list[dict[str, Any]]:
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "RANKER_SECRET": "bench-secret-" + "x" * 32,
        "RANKER_ADMIN_TOKEN": ADMIN,
        "RANKER_VOTERS_PER_IP_PER_MINUTE": "0",
    }
    proc = start(
        [
            sys.executable,
            "-m",
            "ranker.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--store",
            store,
            "--log-level",
            "warning",
        ],
        env,
        workdir,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(f"{base}/ready")
        sid, tokens = setup_survey(base, args.ideas, args.voters)
        spec = {"kind": "ranker", "prefix": f"/v1/public/surveys/{sid}", "voters": tokens}
        if args.warm > 0:  # grow the survey's log first (not measured): a long-running survey
            warm = {"host": "127.0.0.1", "port": port, **spec, "kind": "ranker_next"}
            run_gen(
                {**warm, "mode": "closed", "concurrency": args.concurrency, "duration": args.warm}
            )
        rows = measure(label, port, proc.pid, spec, args)
        if args.answer_next:
            spec = {**spec, "kind": "ranker_next"}
            rows += measure(f"{label} (answer+next)", port, proc.pid, spec, args)
        return rows
    finally:
        stop(proc)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    p.add_argument("--concurrency", type=int, default=16, help="closed-loop connections")
    p.add_argument("--rate", type=float, default=1000.0, help="open-loop cycles per second")
    p.add_argument("--connections", type=int, default=64, help="open-loop connection pool")
    p.add_argument("--ideas", type=int, default=100)
    p.add_argument("--voters", type=int, default=2000, help="voters (answers/min/voter is capped)")
    p.add_argument(
        "--no-answer-next",
        dest="answer_next",
        action="store_false",
        help="skip the one-request-per-vote variant (POST answers with next: true)",
    )
    p.add_argument("--backends", default="sqlite,redis")
    p.add_argument(
        "--warm",
        type=float,
        default=0.0,
        help="seconds of unmeasured closed-loop voting before measuring each ranker backend "
        "(~4k answers/s: grows the log, e.g. 20 s -> ~80k answers)",
    )
    p.add_argument("--quick", action="store_true", help="3 s per measurement, 200 voters")
    p.add_argument(
        "--out", default=None, help="JSON path (default benchmarks/results/http_load.json)"
    )
    args = p.parse_args(argv)
    if args.quick:
        args.duration, args.voters = 3.0, 600
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="http_load_") as tmp:
        work = Path(tmp)
        rows += bench_bare(work, args)
        for backend in args.backends.split(","):
            if backend == "sqlite":
                rows += bench_ranker(f"sqlite:///{work / 'bench.db'}", "ranker sqlite", work, args)
            elif backend == "redis":
                with RedisProcess(work / "redis") as redis_proc:
                    rows += bench_ranker(redis_proc.url, "ranker redis", work, args)
            else:
                raise SystemExit(f"unknown backend {backend!r}")
        log = (
            (work / "server.log").read_text(errors="replace")
            if (work / "server.log").exists()
            else ""
        )
    ceiling = next(
        r["cycles_per_s"]
        for r in rows
        if r["target"] == "bare litestar" and r["mode"].startswith("closed")
    )
    bare_cpu = next(
        r["server_cpu_us_per_cycle"]
        for r in rows
        if r["target"] == "bare litestar" and r["mode"].startswith("closed")
    )
    for r in rows:
        if r["mode"].startswith("closed"):
            r["vs_ceiling"] = r["cycles_per_s"] / ceiling
            r["cpu_vs_ceiling"] = bare_cpu / r["server_cpu_us_per_cycle"]
    cols = [
        "target",
        "mode",
        "cycles_per_s",
        "vs_ceiling",
        "server_cpu_us_per_cycle",
        "cpu_vs_ceiling",
        "failed",
        "req_p50_ms",
        "req_p99_ms",
        "cycle_p50_ms",
        "cycle_p99_ms",
    ]
    print_table(rows, cols)
    verdict = []
    for r in rows:
        if r["target"].startswith("ranker") and r["mode"].startswith("closed"):
            verdict.append(f"{r['target']}: {r['vs_ceiling']:.0%} of ceiling (target >= 30%)")
        if r["target"].startswith("ranker") and r["mode"].startswith("open"):
            verdict.append(
                f"{r['target']}: p99 cycle {r['cycle_p99_ms']:.1f} ms at {args.rate:.0f}/s"
                " (target <= 20 ms)"
            )
    load = os.getloadavg()
    verdict.append(f"load average during the run: {load[0]:.1f} / {load[1]:.1f} (1 / 5 min)")
    print("\n" + "\n".join(verdict))
    if any(r["failed"] for r in rows):
        print(
            "\nfailures:", {r["target"] + " " + r["mode"]: r["errors"] for r in rows if r["failed"]}
        )
        if log:
            print("server log tail:\n" + log[-2000:])
    write_json(
        "http_load",
        {
            "settings": vars(args),
            "generator": "benchmarks._loadgen (raw asyncio sockets, HTTP/1.1 keep-alive)",
            "server": "ranker serve (uvicorn, 1 worker; uvloop/httptools when installed)",
            "rows": rows,
            "loadavg": os.getloadavg(),
        },
        args.out,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
