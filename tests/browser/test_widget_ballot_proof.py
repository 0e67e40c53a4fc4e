"""Every pair costs a small proof of work in ``proof_of_work`` mode: the widget solves the next
pair's challenge while the voter reads the current one, and recovers when a proof is refused."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

from tests.browser.conftest import AppServer, HostServer, Survey
from tests.browser.helpers import export_rows, results
from tests.browser.test_widget_identity import IDEAS, vote

POW = {"mode": "proof_of_work", "ballot_work": 300}


class Pairs:
    """The widget's pair requests: their bodies, when each was sent, when each answer came back."""

    def __init__(self, page: Any) -> None:
        self.ballots: list[dict[str, Any]] = []
        self.sent: list[float] = []
        self.answered: list[float] = []
        self.challenges = 0
        page.on("request", self._request)
        page.on("requestfinished", self._finished)

    def _request(self, request: Any) -> None:
        if request.url.endswith("/ballots") and request.method == "POST":
            self.ballots.append(json.loads(request.post_data or "{}"))
            self.sent.append(time.monotonic())
        elif request.url.endswith("/ballots/challenge"):
            self.challenges += 1

    def _finished(self, request: Any) -> None:
        if request.url.endswith("/answers") and request.method == "POST":
            self.answered.append(time.monotonic())


def voter_of(proof: str) -> str:
    return str(json.loads(base64.b64decode(proof))["challenge"]["parameters"]["data"]["voter"])


def test_each_pair_carries_a_proof_solved_while_the_last_one_was_read(
    app_server: AppServer,
    organiser_key: str,
    make_survey: Callable[..., Survey],
    host_server: HostServer,
    new_page: Callable[..., Any],
) -> None:
    survey = make_survey(IDEAS, origins=[host_server.origin], identity=POW)
    page = new_page()
    pairs = Pairs(page)
    page.goto(host_server.embed_url(app_server, survey.id))
    vote(page, 6)
    # every pair request brought a proof, for this voter, each a different one; in the normal
    # flow the widget never had to ask for a challenge: each came with the pair before
    assert len(pairs.ballots) >= 6 and all("proof" in b for b in pairs.ballots)
    proofs = [b["proof"] for b in pairs.ballots]
    assert len(set(proofs)) == len(proofs)
    ids = {r["voter"] for r in export_rows(app_server, organiser_key, survey.id, "votes")}
    assert len(ids) == 1 and {voter_of(p) for p in proofs} == ids
    assert pairs.challenges == 0
    gaps = [s - a for a, s in zip(pairs.answered, pairs.sent[1:], strict=False)]
    print(f"\nanswer received -> next pair asked (ms): {[round(g * 1000) for g in gaps]}")
    assert results(app_server, organiser_key, survey.id)["n_votes"] == 6


def test_a_returning_voter_and_a_refused_proof_get_a_fresh_challenge(
    app_server: AppServer,
    organiser_key: str,
    make_survey: Callable[..., Survey],
    host_server: HostServer,
    new_page: Callable[..., Any],
) -> None:
    survey = make_survey(IDEAS, origins=[host_server.origin], identity=POW)
    page = new_page()
    pairs = Pairs(page)
    seen: list[str] = []
    spoiled: list[str] = []

    def spoil_second(route: Any) -> None:
        """The second pair's proof arrives spoilt (as if it had expired on the way)."""
        if route.request.method == "POST":
            seen.append(route.request.post_data or "{}")
            if len(seen) == 2:
                spoiled.append(seen[-1])
                route.continue_(post_data=json.dumps({"proof": "bm9wZQ=="}))
                return
        route.continue_()

    page.route("**/ballots", spoil_second)
    page.goto(host_server.embed_url(app_server, survey.id))
    vote(page, 3)
    assert spoiled and pairs.challenges == 1  # refused once: a fresh challenge, solved, no error
    page.reload()  # a returning voter holds no challenge: asks for one
    vote(page, 1, start=0)
    assert pairs.challenges == 2
    assert results(app_server, organiser_key, survey.id)["n_votes"] == 4
