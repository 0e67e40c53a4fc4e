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

5. **What one identity buys an attacker**: through the real voting core (memory store, the
   default sampler and limits, ``--ideas`` ideas, 300 earlier voters' answers), a fresh voter
   asks for pair after pair and answers only those showing one target idea, for it, until
   bounded influence (``INFLUENCE_CAP``) stops counting more: how many ballots it asked for
   per counted vote for the target.

**Cost per vote, fairly.** The attacker wants *effective* votes for one idea; an honest voter
solves the same proof of work once and gives about ``--honest-answers`` (20) answers, every one
of which counts. So:

* honest effort per vote = (proof + 20 x vote) / 20 (machine time, the proof included);
* attack effort per effective vote = (proof + ballots asked + votes given) / votes counted
  for the target (at most the cap per identity);

and their ratio is the attack's cost in honest votes. Also printed, for comparison with the
earlier figure: the proof alone over one vote's machine time (the honest proof left out, as
though it were free because it runs while the participant reads), per vote of a fake voter
giving 20 answers and per effective vote. Where the fair ratio goes as the work grows (the
honest voter pays the same work): with work per identity it falls towards 20 / votes counted per
identity (the cap); with work per ballot it rises towards the ballots asked per counted vote.

**With a proof per pair** (``identity.ballot_work``, :mod:`ranker.ballot_proof`), measured in
the same run: the browser's and Python's time for one pair's proof, the server's cost to issue,
check and spend one, and an honest vote through the HTTP API with it (the client's Python solve
timed apart and replaced by the browser's CPU time). Then

* honest effort per vote = (proof + 20 x (vote + pair proof)) / 20;
* attack effort per effective vote = (proof + ballots asked x (vote + pair proof) + votes
  given x vote) / votes counted, the attacker solving with the faster of the browser and
  Python (OpenSSL);

and the honest *wait*: the widget solves the next pair's proof while the voter reads the
current one, so a vote waits only if the voter answers faster than the solve's wall time
(printed: median, p90 and max with the widget's workers).

Run: ``python -m benchmarks.identity_cost`` (``--solves 20``, ``--work 4000``,
``--ballot-work 300``, ``--ballot-solves 40``). Writes ``benchmarks/results/identity_cost.json``.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import statistics
import threading
import time
from pathlib import Path
from typing import Any, Literal

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


def server_ballot(ballot_work: int, n: int = 200) -> dict[str, Any]:
    """The server's CPU per pair for its proof: issue a challenge, check and spend a proof."""
    from ranker.ballot_proof import BallotProofs
    from ranker.domain import Identity, Survey
    from ranker.storage import open_store

    survey = Survey(
        id="S",
        owner="o",
        question="?",
        identity=Identity(mode="proof_of_work", ballot_work=ballot_work),
    )
    proofs = BallotProofs(open_store("memory://"), b"s" * 32)
    t0 = time.process_time()
    challenges = [proofs.challenge(survey, "v") for _ in range(n)]
    issue = (time.process_time() - t0) / n
    solved = [solve(c) for c in challenges if c is not None]
    t0 = time.process_time()
    for p in solved:
        proofs.spend(survey, "v", p)
    spend = (time.process_time() - t0) / n
    return {"issue_ms": issue * 1000, "spend_ms": spend * 1000}


def honest_vote(votes: int = 20, voters: int = 10, ballot_work: int = 0) -> dict[str, Any]:
    """Machine time per vote through the HTTP API (``next: true``); with ``ballot_work`` the
    survey is in ``proof_of_work`` mode and every pair's proof is solved in Python, timed apart
    and left out (the caller adds the browser's CPU time for it)."""
    from ranker.proof_of_work import Challenge
    from tests.api_client import make_api

    per_vote = []
    identity = {"mode": "proof_of_work", "work": 1, "ballot_work": ballot_work}
    with make_api() as api:
        org = api.organiser()
        ideas = [f"Idea {i}: a sentence of ordinary length" for i in range(50)]
        sid = api.survey(org, ideas=ideas, **({"identity": identity} if ballot_work else {}))
        for _ in range(voters):
            t0 = time.perf_counter()
            solving = 0.0

            def proof_for(challenge: Any) -> dict[str, str]:
                nonlocal solving
                if challenge is None:
                    return {}
                t = time.perf_counter()
                p = solve(msgspec.convert(challenge, Challenge))
                solving += time.perf_counter() - t
                return {"proof": p}

            if ballot_work:
                body = proof_for(
                    api.client.get(f"/v1/public/surveys/{sid}/voters/challenge").json()
                )
                r = api.client.post(f"/v1/public/surveys/{sid}/voters", json=body)
            else:
                r = api.client.post(f"/v1/public/surveys/{sid}/voters")
            voter = {"X-Voter-Token": r.json()["token"]}
            b = api.client.post(
                f"/v1/public/surveys/{sid}/ballots",
                json=proof_for(r.json()["challenge"]),
                headers=voter,
            )
            ballot = b.json()
            for _ in range(votes):
                r = api.client.post(
                    f"/v1/public/surveys/{sid}/answers",
                    json={
                        "ballot": ballot["ballot"],
                        "choice": "left",
                        "next": True,
                        **proof_for(ballot["challenge"]),
                    },
                    headers=voter,
                )
                assert r.status_code == 201, r.text
                ballot = r.json()["next"]
            per_vote.append((time.perf_counter() - t0 - solving) / votes)
    return {"votes_per_voter": votes, "s_per_vote_median": statistics.median(per_vote)}


def harvest_yield(ideas: int, seed: int = 0, earlier: int = 300) -> dict[str, Any]:
    """Ballots one fresh identity asks for per vote counted for one target idea, until the
    cap stops counting more (see the module docstring)."""
    import numpy as np

    from ranker.domain import Answer, Limits, SurveySpec
    from ranker.errors import BallotExpired, NoPairAvailable, RateLimited
    from ranker.rules import INFLUENCE_CAP
    from ranker.sampling import default_sampler_factory
    from ranker.service import RankerService
    from ranker.storage import open_store

    rng = np.random.default_rng(seed)
    truth = rng.normal(0.0, 1.0, ideas)
    clock = [1_800_000_000.0]
    svc = RankerService(
        open_store("memory://"),
        b"identity-cost-bench" * 2,
        lambda: clock[0],
        sampler_factory=default_sampler_factory(seed),
        follow=False,
    )
    spec = SurveySpec(
        question="Which is better?",
        ideas=[f"idea {i}" for i in range(ideas)],
        open=True,
        limits=Limits(answers_per_minute=0),
    )
    sid = svc.surveys.create("bench", spec).id
    for k in range(earlier):  # a crowd before the attack: 20 answers each
        v = svc.voting.issue_voter(sid, client=f"10.1.{k // 200}.{k % 200}")
        for _ in range(20):
            b = svc.voting.next_ballot(sid, v)
            p = 1.0 / (1.0 + np.exp(-(truth[b.left] - truth[b.right])))
            choice: Literal["left", "right"] = "left" if rng.random() < p else "right"
            svc.voting.answer(sid, v, b.token, Answer(choice=choice, response_ms=3000))
            clock[0] += 0.1
    target = int(np.argsort(-truth)[int(0.7 * ideas)])
    v = svc.voting.issue_voter(sid, client="10.3.0.1")
    ballots = given = 0
    while ballots < 200 * ideas:
        clock[0] += 0.5
        try:
            b = svc.voting.next_ballot(sid, v)
        except NoPairAvailable:
            break
        ballots += 1
        if target not in (b.left, b.right):
            continue
        try:
            choice = "left" if b.left == target else "right"
            svc.voting.answer(sid, v, b.token, Answer(choice=choice, response_ms=900))
        except (BallotExpired, RateLimited):
            continue
        given += 1
        if given >= INFLUENCE_CAP:  # each vote for the target now counts cap / given
            break
    svc.close()
    return {
        "ideas": ideas,
        "cap": INFLUENCE_CAP,
        "ballots_asked": ballots,
        "ballots_per_counted_vote": ballots / max(given, 1),
        "votes_counted": float(min(given, INFLUENCE_CAP)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=int, default=4000, help="the survey's identity.work")
    ap.add_argument("--solves", type=int, default=20, help="challenges solved in the browser")
    ap.add_argument("--native-solves", type=int, default=5)
    ap.add_argument("--ideas", type=int, default=50, help="ideas in the harvested survey")
    ap.add_argument("--honest-answers", type=int, default=20, help="answers per honest voter")
    ap.add_argument(
        "--ballot-work", type=int, default=300, help="the survey's identity.ballot_work"
    )
    ap.add_argument(
        "--ballot-solves", type=int, default=40, help="pair proofs solved in the browser"
    )
    args = ap.parse_args()
    b = browser(args.work, args.solves)
    bb = browser(args.ballot_work, args.ballot_solves)
    nat = native(args.work, args.native_solves)
    nat_b = native(args.ballot_work, 4 * args.native_solves)
    srv = server(args.work)
    srv_b = server_ballot(args.ballot_work)
    vote = honest_vote()
    vote_b = honest_vote(ballot_work=args.ballot_work)
    yields = [harvest_yield(args.ideas, seed) for seed in range(3)]
    ballots = statistics.median(y["ballots_per_counted_vote"] for y in yields)
    counted = yields[0]["votes_counted"]
    proof, v, a = b["cpu_s_per_solve_expected"], vote["s_per_vote_median"], args.honest_answers
    honest_per_vote = (proof + a * v) / a
    attack_per_vote = (proof + counted * ballots * v + counted * v) / counted
    ratios = {
        "honest_s_per_vote": honest_per_vote,
        "attack_s_per_effective_vote": attack_per_vote,
        "fair_ratio": attack_per_vote / honest_per_vote,
        "fair_ratio_bound_work_per_identity": a / counted,
        "fair_ratio_bound_work_per_ballot": ballots,
        "proof_free_ratio_per_fake_vote": (proof / a + v) / v,
        "proof_free_ratio_per_effective_vote": attack_per_vote / v,
    }
    # the same with a proof per pair: the honest voter's is solved by the browser, the
    # attacker's by the faster of the browser and Python/OpenSSL
    pb_honest = bb["cpu_s_per_solve_expected"]
    pb_attack = min(pb_honest, nat_b["cpu_s_per_solve_expected"])
    vb = vote_b["s_per_vote_median"]
    honest_b = (proof + a * (vb + pb_honest)) / a
    attack_b = (proof + counted * ballots * (vb + pb_attack) + counted * vb) / counted
    fewest = min(y["ballots_per_counted_vote"] for y in yields)  # the luckiest harvester
    attack_b_fewest = (proof + counted * fewest * (vb + pb_attack) + counted * vb) / counted
    per_ballot = {
        "ballot_work": args.ballot_work,
        "fair_ratio_luckiest_harvest": attack_b_fewest / honest_b,
        "honest_pair_proof_cpu_s": pb_honest,
        "attack_pair_proof_cpu_s": pb_attack,
        "honest_s_per_vote": honest_b,
        "attack_s_per_effective_vote": attack_b,
        "fair_ratio": attack_b / honest_b,
        "honest_wait_s_median": bb["wall_s_median"],
        "honest_wait_s_p90": bb["wall_s_p90"],
        "honest_wait_s_max": bb["wall_s_max"],
    }
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
        {
            "what": f"harvest: ballots asked per vote counted for one idea ({args.ideas} ideas)",
            "value": ballots,
        },
        {"what": "harvest: votes counted for the idea per identity (cap)", "value": counted},
        {"what": f"honest s per vote: (proof + {a} votes) / {a}", "value": honest_per_vote},
        {"what": "attack s per effective vote", "value": attack_per_vote},
        {"what": "FAIR RATIO: attack / honest effort per vote", "value": ratios["fair_ratio"]},
        {
            "what": f"its limit as work per identity grows ({a} / cap)",
            "value": ratios["fair_ratio_bound_work_per_identity"],
        },
        {
            "what": "its limit as work per ballot grows (ballots per counted vote)",
            "value": ratios["fair_ratio_bound_work_per_ballot"],
        },
        {
            "what": f"proof-free ratio per vote of a fake giving {a} answers (old figure)",
            "value": ratios["proof_free_ratio_per_fake_vote"],
        },
        {
            "what": "proof-free ratio per effective vote",
            "value": ratios["proof_free_ratio_per_effective_vote"],
        },
        {
            "what": f"PER PAIR (ballot_work {args.ballot_work}): browser CPU s per pair proof",
            "value": pb_honest,
        },
        {
            "what": "per pair: python/OpenSSL CPU s per pair proof",
            "value": nat_b["cpu_s_per_solve_expected"],
        },
        {
            "what": f"per pair: browser wall s per proof, {bb['workers']} workers (median)",
            "value": bb["wall_s_median"],
        },
        {"what": "per pair: browser wall s per proof (p90)", "value": bb["wall_s_p90"]},
        {"what": "per pair: browser wall s per proof (max)", "value": bb["wall_s_max"]},
        {"what": "per pair: server ms to issue a pair's challenge", "value": srv_b["issue_ms"]},
        {"what": "per pair: server ms to check and spend a proof", "value": srv_b["spend_ms"]},
        {"what": "per pair: honest vote machine s (client + server, proof apart)", "value": vb},
        {
            "what": f"per pair: honest s per vote: (proof + {a} x (vote + pair proof)) / {a}",
            "value": honest_b,
        },
        {"what": "per pair: attack s per effective vote", "value": attack_b},
        {
            "what": "PER PAIR FAIR RATIO: attack / honest effort per vote",
            "value": per_ballot["fair_ratio"],
        },
        {
            "what": f"per pair: fair ratio, luckiest seed ({fewest:.0f} ballots per counted vote)",
            "value": per_ballot["fair_ratio_luckiest_harvest"],
        },
    ]
    print(f"\nwork = {args.work} expected attempts per solve; ballot_work = {args.ballot_work}")
    print_table(rows)
    write_json(
        "identity_cost",
        {
            "work": args.work,
            "browser": b,
            "native": nat,
            "server": srv,
            "honest_vote": vote,
            "harvest": yields,
            "per_vote": ratios,
            "per_pair": {
                "browser": bb,
                "native": nat_b,
                "server": srv_b,
                "honest_vote": vote_b,
                "per_vote": per_ballot,
            },
        },
    )


if __name__ == "__main__":
    main()
