"""Crash test: SIGKILL a writer (and redis-server) at random moments, then audit the log.

A writer process answers ballots as fast as it can and prints one ``ack`` line
per acknowledged answer. The parent kills it with SIGKILL after a random delay
(for Redis, in some rounds it SIGKILLs redis-server first), restarts
everything and repeats. At the end it checks, for every backend:

* every acknowledged answer is in the log, at the acknowledged sequence number;
* no ballot appears twice in the log;
* the projection rebuilt from the log equals the one a long-lived reader kept in
  step across the crashes, and the one restored from the writer's last snapshot.

Usage::

    python -m benchmarks.crash [--rounds 8] [--seed 1]
        [--backends sqlite,redis-everysec,redis-always]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._common import print_table, write_json
from ranker import events as ev
from ranker.domain import Answer, Limits, SurveySpec
from ranker.service import RankerService
from ranker.snapshots import digest
from ranker.storage import open_store

SECRET = b"crash-test-secret-0123456789abcdef"
ROOT = Path(__file__).resolve().parent.parent


def writer(url: str, survey: str) -> None:
    """Answer ballots forever, printing ``ack <seq> <ballot>`` after each acknowledgement."""
    svc = RankerService(open_store(url), SECRET, snapshot_every=50)
    out = sys.stdout
    n = 0
    answers = (
        Answer(choice="left"),
        Answer(choice="right"),
        Answer(choice="tie"),
        Answer(choice="skip", reason="same"),
    )
    voter = svc.voting.issue_voter(survey)
    while True:
        if n % 25 == 0:
            voter = svc.voting.issue_voter(survey)
        b = svc.voting.next_ballot(survey, voter)
        r = svc.voting.answer(survey, voter, b.token, answers[n % 4])
        out.write(f"ack {r.seq} {r.ballot}\n")
        out.flush()
        n += 1


def _spawn_writer(
    url: str, survey: str, acks: list[tuple[int, str]], errlog: Path
) -> subprocess.Popen[str]:
    with errlog.open("ab") as err:
        return _popen(url, survey, acks, err)


def _popen(url: str, survey: str, acks: list[tuple[int, str]], err: Any) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        # "=" forms: a survey id may start with "-" (ids are base64url), which argparse
        # would otherwise take for an option
        [sys.executable, "-m", "benchmarks.crash", f"--writer={url}", f"--survey={survey}"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=err,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            parts = line.split()
            if len(parts) == 3 and parts[0] == "ack":
                acks.append((int(parts[1]), parts[2]))

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    proc.pump = thread  # type: ignore[attr-defined]
    return proc


def _kill(proc: subprocess.Popen[str]) -> bool:
    """SIGKILL the writer, then drain and close its pipe (every ack it printed is kept).

    Returns False if the writer had already died on its own (a harness failure).
    """
    alive = proc.poll() is None
    if alive:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.pump.join(timeout=30)  # type: ignore[attr-defined]
    assert proc.stdout is not None
    proc.stdout.close()
    return alive


def audit(
    url: str, survey: str, acks: list[tuple[int, str]], live: RankerService
) -> dict[str, Any]:
    """Check the log against the acknowledgements and the projections against each other."""
    store = open_store(url)
    try:
        logged: dict[str, int] = {}
        dup = 0
        for item in store.iter_events(survey):
            e = ev.decode(item.data)
            if isinstance(e, ev.VoteCast | ev.VoteSkipped):
                dup += e.ballot in logged
                logged[e.ballot] = item.seq
        lost = sum(1 for seq, ballot in acks if logged.get(ballot) != seq)
        fresh = RankerService(store, SECRET)  # starts from the latest snapshot
        snap = store.load_snapshot(survey)
        rebuilt = fresh.repo.rebuild(survey)
        restored = fresh.repo.get(survey)
        kept = live.repo.get(survey)
        same = digest(rebuilt) == digest(restored) == digest(kept)
        close = bool(
            np.allclose(rebuilt.model.scores(), restored.model.scores(), atol=1e-6)
            and np.allclose(rebuilt.model.scores(), kept.model.scores(), atol=1e-6)
        )
        return {
            "acked": len(acks),
            "logged_answers": len(logged),
            "lost_acked": lost,
            "duplicate_ballots": dup,
            "snapshot_seq": None if snap is None else snap.seq,
            "log_len": rebuilt.seq,
            "projections_equal": same and close,
        }
    finally:
        store.close()


def run(backend: str, rounds: int, seed: int, workdir: Path) -> dict[str, Any]:
    """Run ``rounds`` kill/restart cycles against one backend and audit the result."""
    from tests.redis_proc import RedisProcess

    rng = random.Random(seed)
    server: RedisProcess | None = None
    if backend == "sqlite":
        url = f"sqlite:///{workdir}/crash.db"
    else:
        fsync = backend.split("-", 1)[1]
        server = RedisProcess(workdir / f"redis-{fsync}", appendonly=True, appendfsync=fsync)
        server.start()
        url = server.url
    server_kills = 0
    writer_deaths = 0
    errlog = workdir / f"writer-{backend}.log"
    try:
        setup = RankerService(open_store(url), SECRET)
        spec = SurveySpec(
            question="Crash test",
            ideas=[f"idea {i}" for i in range(40)],
            limits=Limits(answers_per_minute=0),
            open=True,
        )
        survey = setup.surveys.create("crash", spec).id
        setup.store.close()
        live = RankerService(open_store(url), SECRET)  # a reader kept in step across crashes
        acks: list[tuple[int, str]] = []
        for r in range(rounds):
            before = len(acks)
            proc = _spawn_writer(url, survey, acks, errlog)
            deadline = time.monotonic() + 120
            while len(acks) == before and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)  # start-up (imports, JIT) is not the moment we want to test
            time.sleep(rng.uniform(0.05, 0.6))
            if server is not None and r % 2 == 1:  # crash the database under the writer
                writer_deaths += proc.poll() is not None
                server.kill()
                server_kills += 1
                _kill(proc)
                server.start()
                live.store.close()  # its connections died with the server: reconnect
                live.repo.store = open_store(url)
            else:
                writer_deaths += not _kill(proc)
            if server is None or r % 2 == 0:
                live.repo.get(survey)  # catch up incrementally between crashes
        res = audit(url, survey, list(acks), live)
        live.store.close()
        if writer_deaths:
            print(errlog.read_text(errors="replace")[-3000:], file=sys.stderr)
        return {
            "backend": backend,
            "rounds": rounds,
            "server_kills": server_kills,
            "writer_died_early": writer_deaths,
            **res,
        }
    finally:
        if server is not None:
            server.stop()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--backends", default="sqlite,redis-everysec,redis-always")
    p.add_argument("--writer", metavar="URL", help=argparse.SUPPRESS)
    p.add_argument("--survey", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.writer:
        if not args.survey:
            p.error("--writer needs --survey")
        writer(args.writer, args.survey)
        return 0
    rows = []
    with tempfile.TemporaryDirectory(prefix="ranker-crash-") as tmp:
        for i, backend in enumerate(args.backends.split(",")):
            rows.append(run(backend, args.rounds, args.seed + i, Path(tmp)))
    print_table(rows)
    write_json("crash", {"rows": rows, "rounds": args.rounds, "seed": args.seed})
    ok = all(
        r["lost_acked"] == 0
        and r["duplicate_ballots"] == 0
        and r["projections_equal"]
        and r["writer_died_early"] == 0
        and r["acked"] > 0
        for r in rows
    )
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
