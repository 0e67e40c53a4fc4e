"""Every pair costs a proof of work in ``proof_of_work`` mode: ``POST .../ballots`` + ``proof``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest

from ranker.proof_of_work import Challenge, solve
from tests.api_client import Api, assert_problem, make_api

POW = {"mode": "proof_of_work", "work": 5, "ballot_work": 5}


def solved(challenge: dict[str, Any]) -> str:
    return solve(msgspec.convert(challenge, Challenge))


def new_voter(api: Api, sid: str) -> tuple[dict[str, str], dict[str, Any]]:
    """A proof-of-work voter: its header and the challenge for its first pair."""
    ch = api.client.get(f"/v1/public/surveys/{sid}/voters/challenge").json()
    r = api.client.post(f"/v1/public/surveys/{sid}/voters", json={"proof": solved(ch)})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["challenge"]["parameters"]["data"]["voter"] == body["voter_id"]
    return {"X-Voter-Token": body["token"]}, body["challenge"]


def ballots(api: Api, sid: str, voter: dict[str, str], proof: str | None = None) -> Any:
    body = None if proof is None else {"proof": proof}
    return api.client.post(f"/v1/public/surveys/{sid}/ballots", json=body, headers=voter)


def test_each_pair_takes_the_proof_that_came_with_the_one_before(
    api: Api, org: dict[str, str]
) -> None:
    sid = api.survey(org, identity=POW)
    voter, challenge = new_voter(api, sid)
    for _ in range(4):  # solve, get a pair and the next challenge, answer, again
        r = ballots(api, sid, voter, solved(challenge))
        assert r.status_code == 201, r.text
        b = r.json()
        challenge = b["challenge"]
        assert challenge["parameters"]["cost"] == 1000
        a = api.client.post(
            f"/v1/public/surveys/{sid}/answers",
            json={"ballot": b["ballot"], "choice": "left"},
            headers=voter,
        )
        assert a.status_code == 201, a.text
    assert api.service.rankings.results(sid).n_votes == 4


def test_missing_invalid_and_misdirected_proofs_are_problems(api: Api, org: dict[str, str]) -> None:
    sid = api.survey(org, identity=POW)
    voter, challenge = new_voter(api, sid)
    body = assert_problem(ballots(api, sid, voter), 403, "proof_required")
    assert "every pair" in body["detail"]
    assert_problem(
        api.client.post(f"/v1/public/surveys/{sid}/ballots", json={}, headers=voter),
        403,
        "proof_required",
    )
    assert_problem(ballots(api, sid, voter, "bm9wZQ=="), 400, "proof_invalid")
    assert_problem(ballots(api, sid, voter, "%%%"), 400, "proof_invalid")
    r = api.client.post(
        f"/v1/public/surveys/{sid}/ballots",
        json={"proof": solved(challenge), "x": 1},
        headers=voter,
    )
    assert_problem(r, 400, "validation_error")  # unknown fields are refused
    proof = solved(challenge)
    # another voter of the same survey cannot spend it
    other, _ = new_voter(api, sid)
    body = assert_problem(ballots(api, sid, other, proof), 400, "proof_invalid")
    assert "another voter" in body["detail"]
    # another survey's ballots neither (the voter token names its survey first)
    sid2 = api.survey(org, identity=POW)
    voter2, _ = new_voter(api, sid2)
    body = assert_problem(ballots(api, sid2, voter2, proof), 400, "proof_invalid")
    assert "another survey" in body["detail"]
    # a new voter's proof is not a pair's proof, nor the reverse
    ch = api.client.get(f"/v1/public/surveys/{sid}/voters/challenge").json()
    assert_problem(ballots(api, sid, voter, solved(ch)), 400, "proof_invalid")
    r = api.client.post(f"/v1/public/surveys/{sid}/voters", json={"proof": proof})
    assert_problem(r, 400, "proof_invalid")
    # refused requests spent nothing: the proof still buys its pair
    assert ballots(api, sid, voter, proof).status_code == 201


def test_a_spent_proof_is_refused(api: Api, org: dict[str, str]) -> None:
    sid = api.survey(org, identity=POW)
    voter, challenge = new_voter(api, sid)
    proof = solved(challenge)
    assert ballots(api, sid, voter, proof).status_code == 201
    body = assert_problem(ballots(api, sid, voter, proof), 400, "proof_invalid")
    assert "already spent" in body["detail"]


def test_an_expired_challenge_is_refused_and_a_fresh_one_can_be_asked(
    api: Api, org: dict[str, str]
) -> None:
    sid = api.survey(org, identity=POW)
    voter, challenge = new_voter(api, sid)
    api.clock.advance(601)
    body = assert_problem(ballots(api, sid, voter, solved(challenge)), 400, "proof_invalid")
    assert "expired" in body["detail"]
    r = api.client.get(f"/v1/public/surveys/{sid}/ballots/challenge", headers=voter)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert ballots(api, sid, voter, solved(r.json())).status_code == 201
    assert_problem(
        api.client.get(f"/v1/public/surveys/{sid}/ballots/challenge"), 401, "voter_token_missing"
    )


def test_next_true_needs_the_next_pairs_proof_before_anything_is_written(
    api: Api, org: dict[str, str]
) -> None:
    sid = api.survey(org, identity=POW)
    voter, challenge = new_voter(api, sid)
    b = ballots(api, sid, voter, solved(challenge)).json()
    url = f"/v1/public/surveys/{sid}/answers"
    answer = {"ballot": b["ballot"], "choice": "left", "next": True}
    assert_problem(api.client.post(url, json=answer, headers=voter), 403, "proof_required")
    assert_problem(
        api.client.post(url, json={**answer, "proof": "bm9wZQ=="}, headers=voter),
        400,
        "proof_invalid",
    )
    assert api.service.rankings.results(sid).n_votes == 0  # nothing written
    proof = solved(b["challenge"])
    r = api.client.post(url, json={**answer, "proof": proof}, headers=voter)
    assert r.status_code == 201, r.text
    following = r.json()["next"]
    assert following["ballot"] and following["challenge"]
    # an identical retry: the answer's receipt again, but the spent proof buys no second pair
    again = api.client.post(url, json={**answer, "proof": proof}, headers=voter)
    assert again.status_code == 201 and again.json()["seq"] == r.json()["seq"]
    assert again.json()["next"] is None
    assert api.service.rankings.results(sid).n_votes == 1


def test_other_modes_and_ballot_work_0_ask_no_proof(api: Api, org: dict[str, str]) -> None:
    for identity in ({}, {"mode": "proof_of_work", "work": 5, "ballot_work": 0}):
        sid = api.survey(org, identity=identity)
        if identity:
            ch = api.client.get(f"/v1/public/surveys/{sid}/voters/challenge").json()
            r = api.client.post(f"/v1/public/surveys/{sid}/voters", json={"proof": solved(ch)})
            voter = {"X-Voter-Token": r.json()["token"]}
        else:
            r = api.client.post(f"/v1/public/surveys/{sid}/voters")
            voter = api.voter(sid)
        assert r.json()["challenge"] is None
        b = api.ballot(sid, voter)
        assert b["challenge"] is None
        api.vote(sid, voter)
        r = api.client.get(f"/v1/public/surveys/{sid}/ballots/challenge", headers=voter)
        assert_problem(r, 404, "not_found")


def test_a_closed_survey_says_so_before_asking_for_a_proof(api: Api, org: dict[str, str]) -> None:
    sid = api.survey(org, identity=POW)
    voter, _ = new_voter(api, sid)
    assert api.client.post(f"/v1/surveys/{sid}/close", headers=org).status_code in (200, 201)
    assert_problem(ballots(api, sid, voter), 409, "survey_closed")
    r = api.client.get(f"/v1/public/surveys/{sid}/ballots/challenge", headers=voter)
    assert_problem(r, 409, "survey_closed")


@pytest.mark.parametrize(
    "kind",
    [
        "sqlite",
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("redis-cluster", marks=pytest.mark.redis),
    ],
)
def test_a_proof_spent_on_one_worker_is_refused_on_another(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path}/workers.db"
    else:
        url = str(
            request.getfixturevalue("redis_cluster_url" if kind == "redis-cluster" else "redis_url")
        )
    with make_api(url) as one, make_api(url) as two:
        org = one.organiser()
        sid = one.survey(org, identity=POW)
        voter, challenge = new_voter(one, sid)
        proof = solved(challenge)
        assert ballots(one, sid, voter, proof).status_code == 201
        assert_problem(ballots(two, sid, voter, proof), 400, "proof_invalid")
        assert_problem(ballots(one, sid, voter, proof), 400, "proof_invalid")
