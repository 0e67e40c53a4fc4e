"""What a new identity costs: a proof of work at the survey's ``work`` against an honest vote.

Measured on this machine, in one run:

1. **Browser**: the vendored ALTCHA worker (``api/web/vendor/altcha-pbkdf2.js``) in Debian's
   chromium (headless, Playwright), solving real challenges of :mod:`ranker.proof_of_work` the
   way the widget does: ``min(4, hardwareConcurrency)`` workers, each every n-th counter. Wall
   time per solve, and CPU seconds per solve = attempts x the one-worker time per attempt (one
   worker keeps one core busy, so its wall time per attempt is CPU time).
2. **Native attacker**: the same search in Python (``ranker.proof_of_work.solve``: the PyPI
   ``altcha`` package over OpenSSL's PBKDF2), one core.
3. **Server**: issuing a challenge (one key derivation) and verifying a proof (two HMACs).
4. **Honest vote**: the machine effort of one vote of a voter answering 20 pairs through the
   HTTP API (``POST .../answers`` with ``next: true``, the widget's one request per vote),
   client and server in one process (TestClient over the memory store), so wall time is the
   CPU both sides spend.

Run: ``python -m benchmarks.identity_cost`` (``--solves 20``, ``--work 4000``). Writes
``benchmarks/results/identity_cost.json``.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import statistics
import threading
import time
from pathlib import Path
from typing import Any

import msgspec

from benchmarks._common import print_table, write_json
from ranker.proof_of_work import Work, solve

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "api" / "web" / "vendor"
CHROMIUM = "/usr/bin/chromium"

_PAGE = b"""<!doctype html><html><body><script>
window.solve = (challenge, n) => new Promise((resolve) => {
  const workers = [], t0 = performance.now();
  let left = n;
  for (let i = 0; i < n; i++) {
    const w = new Worker("/altcha-pbkdf2.js");
    workers.push(w);
    w.onmessage = (e) => {
      if (e.data && Number.isInteger(e.data.counter)) {
        workers.forEach((x) => x.terminate());
        resolve({ms: performance.now() - t0, counter: e.data.counter});
      } else if (--left === 0) resolve(null);
    };
    w.postMessage({type: "work", challenge, counterStart: i, counterStep: n,
                   counterMode: "uint32", timeout: 120000});
  }
});
</script></body></html>"""


class _Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(_PAGE)))
            self.end_headers()
            self.wfile.write(_PAGE)
            return
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def browser(work: int, solves: int) -> dict[str, Any]:
    """Solve ``solves`` challenges in chromium with the widget's workers, then with one."""
    from playwright.sync_api import sync_playwright

    srv = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Handler, directory=str(VENDOR))
    )
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    pow_ = Work(b"b" * 32)
    out: dict[str, Any] = {}
    try:
        with sync_playwright() as pw:
            b = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = b.new_page()
            page.goto(f"http://127.0.0.1:{srv.server_address[1]}/")
            cores = int(page.evaluate("navigator.hardwareConcurrency"))
            n = max(1, min(4, cores))
            for label, workers in (("widget", n), ("one_worker", 1)):
                runs = []
                for _ in range(solves):
                    ch = msgspec.to_builtins(pow_.challenge("S", work, time.time()))
                    r = page.evaluate("([c, n]) => solve(c, n)", [ch, workers])
                    runs.append((r["ms"] / 1000, r["counter"] + 1))
                out[label] = runs
            b.close()
    finally:
        srv.shutdown()
        srv.server_close()
    per_attempt = sum(s for s, _ in out["one_worker"]) / sum(a for _, a in out["one_worker"])
    walls = sorted(s for s, _ in out["widget"])
    return {
        "workers": n,
        "per_attempt_ms": per_attempt * 1000,
        "cpu_s_per_solve_expected": per_attempt * (work + 1),
        "wall_s_median": statistics.median(walls),
        "wall_s_p90": walls[int(0.9 * (len(walls) - 1))],
        "wall_s_max": walls[-1],
    }


def native(work: int, solves: int) -> dict[str, Any]:
    pow_ = Work(b"n" * 32)
    secs, attempts = 0.0, 0
    for _ in range(solves):
        ch = pow_.challenge("S", work, time.time())
        t0 = time.process_time()
        proof = solve(ch)
        secs += time.process_time() - t0
        attempts += (
            msgspec.json.decode(__import__("base64").b64decode(proof))["solution"]["counter"] + 1
        )
    per_attempt = secs / attempts
    return {
        "per_attempt_ms": per_attempt * 1000,
        "cpu_s_per_solve_expected": per_attempt * (work + 1),
    }


def server(work: int) -> dict[str, Any]:
    pow_ = Work(b"s" * 32)
    n = 200
    t0 = time.process_time()
    challenges = [pow_.challenge("S", work, time.time()) for _ in range(n)]
    issue = (time.process_time() - t0) / n
    proof = solve(pow_.challenge("S", 20, time.time()))
    t0 = time.process_time()
    for _ in range(n):
        pow_.verify(proof, "S", time.time())
    verify = (time.process_time() - t0) / n
    del challenges
    return {"issue_ms": issue * 1000, "verify_ms": verify * 1000}


def honest_vote(votes: int = 20, voters: int = 10) -> dict[str, Any]:
    from tests.api_client import make_api

    per_vote = []
    with make_api() as api:
        org = api.organiser()
        ideas = [f"Idea {i}: a sentence of ordinary length" for i in range(50)]
        sid = api.survey(org, ideas=ideas)
        for _ in range(voters):
            t0 = time.perf_counter()
            voter = api.voter(sid)
            ballot = api.ballot(sid, voter)
            for _ in range(votes):
                r = api.client.post(
                    f"/v1/public/surveys/{sid}/answers",
                    json={"ballot": ballot["ballot"], "choice": "left", "next": True},
                    headers=voter,
                )
                assert r.status_code == 201, r.text
                ballot = r.json()["next"]
            per_vote.append((time.perf_counter() - t0) / votes)
    return {"votes_per_voter": votes, "s_per_vote_median": statistics.median(per_vote)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=int, default=4000, help="the survey's identity.work")
    ap.add_argument("--solves", type=int, default=20, help="challenges solved in the browser")
    ap.add_argument("--native-solves", type=int, default=5)
    args = ap.parse_args()
    b = browser(args.work, args.solves)
    nat = native(args.work, args.native_solves)
    srv = server(args.work)
    vote = honest_vote()
    rows = [
        {
            "what": "browser: CPU s per solve (chromium, one worker's rate)",
            "value": b["cpu_s_per_solve_expected"],
        },
        {
            "what": f"browser: wall s per solve, {b['workers']} workers (median)",
            "value": b["wall_s_median"],
        },
        {"what": "browser: wall s per solve (p90)", "value": b["wall_s_p90"]},
        {"what": "browser: ms per attempt (1,000 PBKDF2 iterations)", "value": b["per_attempt_ms"]},
        {"what": "python/OpenSSL: CPU s per solve", "value": nat["cpu_s_per_solve_expected"]},
        {"what": "python/OpenSSL: ms per attempt", "value": nat["per_attempt_ms"]},
        {"what": "server: ms to issue a challenge", "value": srv["issue_ms"]},
        {"what": "server: ms to verify a proof", "value": srv["verify_ms"]},
        {
            "what": "honest vote: machine s per vote (client + server)",
            "value": vote["s_per_vote_median"],
        },
        {
            "what": "one identity = this many honest votes' machine effort",
            "value": b["cpu_s_per_solve_expected"] / vote["s_per_vote_median"],
        },
    ]
    print(f"\nwork = {args.work} expected attempts per solve")
    print_table(rows)
    write_json(
        "identity_cost",
        {"work": args.work, "browser": b, "native": nat, "server": srv, "honest_vote": vote},
    )


if __name__ == "__main__":
    main()
