"""Voter (public) routes: the whole voting flow and every error path."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ranker.rules import REASON_MAX
from tests.api_client import Api, assert_problem, make_api
from tests.util import forge


def test_public_info_has_etag_and_revalidates(api: Api, org: dict[str, str]) -> None:
    sid = api.survey(org, groups=["patient"], show_results_to_voters=True)
    r = api.client.get(f"/v1/public/surveys/{sid}")
    assert r.status_code == 200
    body = r.json()
    assert body["question"] == "Which is better?"
    assert body["show_results"] is True and body["groups"] == ["patient"]
    assert "owner" not in body
    assert r.headers["cache-control"] == "public, max-age=30"
    r2 = api.client.get(f"/v1/public/surveys/{sid}", headers={"If-None-Match": r.headers["etag"]})
    assert r2.status_code == 304 and r2.content == b""
    api.client.patch(f"/v1/surveys/{sid}", json={"question": "Which is best?"}, headers=org)
    r3 = api.client.get(f"/v1/public/surveys/{sid}", headers={"If-None-Match": r.headers["etag"]})
    assert r3.status_code == 200 and r3.json()["question"] == "Which is best?"


def test_unknown_survey_is_404(api: Api) -> None:
    assert_problem(api.client.get("/v1/public/surveys/nope"), 404, "survey_not_found")
    assert_problem(api.client.post("/v1/public/surveys/nope/voters"), 404, "survey_not_found")


def test_voter_needs_open_survey_and_known_group(api: Api, org: dict[str, str]) -> None:
    draft = api.survey(org, open=False, groups=["patient"])
    assert_problem(api.client.post(f"/v1/public/surveys/{draft}/voters"), 409, "survey_closed")
    sid = api.survey(org, groups=["patient"])
    r = api.client.post(f"/v1/public/surveys/{sid}/voters", json={"group": "patient"})
    assert r.status_code == 201 and r.json()["group"] == "patient"
    assert r.headers["cache-control"] == "no-store"
    r = api.client.post(f"/v1/public/surveys/{sid}/voters", json={"group": "martian"})
    body = assert_problem(r, 400, "invalid_input")
    assert body["errors"][0]["field"] == "group"
    r = api.client.post(f"/v1/public/surveys/{sid}/voters", json={"grp": "x"})
    assert_problem(r, 400, "validation_error")


def test_vote_cycle_and_idempotent_retry(api: Api, org: dict[str, str]) -> None:
    sid = api.survey(org)
    voter = api.voter(sid)
    b = api.ballot(sid, voter)
    assert b["left"]["id"] != b["right"]["id"]
    assert {b["left"]["text"], b["right"]["text"]} <= {"alpha", "beta", "gamma", "delta"}
    body = {"ballot": b["ballot"], "choice": "right", "response_ms": 1200}
    r1 = api.client.post(f"/v1/public/surveys/{sid}/answers", json=body, headers=voter)
    assert r1.status_code == 201
    assert r1.json()["choice"] == "right"
    for r in (api.client.post(f"/v1/public/surveys/{sid}/ballots", headers=voter), r1):
        assert r.headers["cache-control"] == "no-store"
        assert r.headers["content-type"] == "application/json"
        assert r.headers["content-length"] == str(len(r.content))
        assert r.headers["x-content-type-options"] == "nosniff"
    assert (r1.json()["left"], r1.json()["right"]) == (b["left"]["id"], b["right"]["id"])
    r2 = api.client.post(f"/v1/public/surveys/{sid}/answers", json=body, headers=voter)
    assert r2.status_code == 201 and r2.json() == r1.json()
    other = {"ballot": b["ballot"], "choice": "left"}
    r3 = api.client.post(f"/v1/public/surveys/{sid}/answers", json=other, headers=voter)
    assert_problem(r3, 409, "ballot_used")
    results = api.client.get(f"/v1/surveys/{sid}/results", headers=org).json()
    assert results["n_votes"] == 1


def test_skip_with_reason_and_bad_reason(api: Api, org: dict[str, str]) -> None:
    sid = api.survey(org)
    voter = api.voter(sid)
    b = api.ballot(sid, voter)
    url = f"/v1/public/surveys/{sid}/answers"
    bad = {"ballot": b["ballot"], "choice": "left", "reason": "same"}
    body = assert_problem(api.client.post(url, json=bad, headers=voter), 400, "validation_error")
    assert "only for choice 'skip'" in body["errors"][0]["message"]
    unknown = {"ballot": b["ballot"], "choice": "skip", "reason": "bored"}
    assert_problem(api.client.post(url, json=unknown, headers=voter), 400, "validation_error")
    ok = {"ballot": b["ballot"], "choice": "skip", "reason": "dont_know"}
    r = api.client.post(url, json=ok, headers=voter)
    assert r.status_code == 201 and r.json()["reason"] == "dont_know"
    skips = api.client.get(f"/v1/surveys/{sid}/exports/skips?format=ndjson", headers=org)
    assert skips.text.count("\n") == 1 and '"dont_know"' in skips.text


def test_skip_with_the_voters_own_reason(api: Api, org: dict[str, str]) -> None:
    """ "I can't decide → Other…" with a note: ``reason_text``, kept for the organiser."""
    sid = api.survey(org)
    voter = api.voter(sid)
    url = f"/v1/public/surveys/{sid}/answers"
    b = api.ballot(sid, voter)
    not_skip = {"ballot": b["ballot"], "choice": "left", "reason_text": "hm"}
    body = assert_problem(
        api.client.post(url, json=not_skip, headers=voter), 400, "validation_error"
    )
    assert "only for choice 'skip'" in body["errors"][0]["message"]
    too_long = {
        "ballot": b["ballot"],
        "choice": "skip",
        "reason": "other",
        "reason_text": "x" * (REASON_MAX + 1),
    }
    assert_problem(api.client.post(url, json=too_long, headers=voter), 400, "validation_error")
    note = "Both are  already\u202e done here "
    ok = {"ballot": b["ballot"], "choice": "skip", "reason": "other", "reason_text": note}
    r = api.client.post(url, json=ok, headers=voter)
    assert r.status_code == 201, (r.status_code, r.text)
    skips = api.client.get(f"/v1/surveys/{sid}/exports/skips?format=ndjson", headers=org)
    (row,) = [json.loads(line) for line in skips.text.splitlines()]
    assert (row["reason"], row["reason_text"]) == ("other", "Both are  already done here")


def test_voter_token_missing_forged_or_foreign(api: Api, org: dict[str, str]) -> None:
    sid = api.survey(org)
    other = api.survey(org)
    url = f"/v1/public/surveys/{sid}/ballots"
    assert_problem(api.client.post(url), 401, "voter_token_missing")
    voter = api.voter(sid)
    tok = voter["X-Voter-Token"]
    forged = forge(tok)
    assert_problem(
        api.client.post(url, headers={"X-Voter-Token": forged}), 401, "voter_token_invalid"
    )
    assert_problem(
        api.client.post(url, headers={"X-Voter-Token": "junk"}), 401, "voter_token_invalid"
    )
    foreign = api.voter(other)
    assert_problem(api.client.post(url, headers=foreign), 401, "voter_token_invalid")


def test_ballot_of_another_voter_forged_or_expired(api: Api, org: dict[str, str]) -> None:
    sid = api.survey(org)
    alice, bob = api.voter(sid), api.voter(sid)
    b = api.ballot(sid, alice)
    url = f"/v1/public/surveys/{sid}/answers"
    r = api.client.post(url, json={"ballot": b["ballot"], "choice": "left"}, headers=bob)
    assert_problem(r, 403, "wrong_voter")
    forged = forge(b["ballot"])
    r = api.client.post(url, json={"ballot": forged, "choice": "left"}, headers=alice)
    assert_problem(r, 400, "bad_token")
    api.clock.advance(3601)  # past the default ballot TTL
    r = api.client.post(url, json={"ballot": b["ballot"], "choice": "left"}, headers=alice)
    assert_problem(r, 410, "ballot_expired")


def test_ballot_of_another_survey_is_refused(api: Api, org: dict[str, str]) -> None:
    s1, s2 = api.survey(org), api.survey(org)
    v1 = api.voter(s1)
    b = api.ballot(s1, v1)
    v2 = api.voter(s2)
    r = api.client.post(
        f"/v1/public/surveys/{s2}/answers",
        json={"ballot": b["ballot"], "choice": "left"},
        headers=v2,
    )
    assert_problem(r, 404, "ballot_not_found")


def test_rate_limit_answers_per_minute(api: Api, org: dict[str, str]) -> None:
    sid = api.survey(org, limits={"answers_per_minute": 2})
    voter = api.voter(sid)
    api.vote(sid, voter)
    api.vote(sid, voter)
    b = api.ballot(sid, voter)
    r = api.client.post(
        f"/v1/public/surveys/{sid}/answers",
        json={"ballot": b["ballot"], "choice": "left"},
        headers=voter,
    )
    assert_problem(r, 429, "rate_limited")
    assert int(r.headers["retry-after"]) >= 1
    api.clock.advance(61)
    api.vote(sid, voter)


def test_closed_survey_refuses_ballots_and_answers(api: Api, org: dict[str, str]) -> None:
    sid = api.survey(org)
    voter = api.voter(sid)
    b = api.ballot(sid, voter)
    api.client.post(f"/v1/surveys/{sid}/close", headers=org)
    url = f"/v1/public/surveys/{sid}"
    assert_problem(api.client.post(f"{url}/ballots", headers=voter), 409, "survey_closed")
    r = api.client.post(
        f"{url}/answers", json={"ballot": b["ballot"], "choice": "tie"}, headers=voter
    )
    assert_problem(r, 409, "survey_closed")


def test_undo_last_answer(api: Api, org: dict[str, str]) -> None:
    sid = api.survey(org)
    voter = api.voter(sid)
    url = f"/v1/public/surveys/{sid}/answers/last"
    assert_problem(api.client.delete(url, headers=voter), 404, "nothing_to_undo")
    receipt = api.vote(sid, voter)
    r = api.client.delete(url, headers=voter)
    assert r.status_code == 200 and r.json() == {"undone_seq": receipt["seq"]}
    res = api.client.get(f"/v1/surveys/{sid}/results", headers=org).json()
    assert res["n_votes"] == 0
    api.vote(sid, voter)
    api.clock.advance(121)
    assert_problem(api.client.delete(url, headers=voter), 409, "undo_expired")


def test_submit_idea_moderation_and_limits(api: Api, org: dict[str, str]) -> None:
    sid = api.survey(org, limits={"ideas_per_voter": 1})
    voter = api.voter(sid)
    url = f"/v1/public/surveys/{sid}/ideas"
    r = api.client.post(url, json={"text": "  More evening clinics  "}, headers=voter)
    assert r.status_code == 201 and r.json()["text"] == "More evening clinics"
    pending = api.client.get(f"/v1/surveys/{sid}/ideas?status=pending", headers=org).json()
    assert [i["text"] for i in pending["ideas"]] == ["More evening clinics"]
    full = api.client.post(url, json={"text": "again"}, headers=voter)
    assert_problem(full, 429, "limit_reached")
    assert "retry-after" not in full.headers  # a quota does not come back with time
    assert_problem(
        api.client.post(url, json={"text": "   "}, headers=api.voter(sid)), 400, "text_empty"
    )
    long = "x" * 281
    assert_problem(
        api.client.post(url, json={"text": long}, headers=api.voter(sid)), 400, "text_too_long"
    )
    assert_problem(api.client.post(url, json={"text": ""}, headers=voter), 400, "validation_error")
    no_ideas = api.survey(org, allow_ideas=False)
    r = api.client.post(
        f"/v1/public/surveys/{no_ideas}/ideas", json={"text": "x"}, headers=api.voter(no_ideas)
    )
    assert_problem(r, 403, "ideas_not_allowed")


def test_comments_and_flags(api: Api, org: dict[str, str]) -> None:
    sid = api.survey(org)
    voter = api.voter(sid)
    url = f"/v1/public/surveys/{sid}/ideas"
    r = api.client.post(f"{url}/0/comments", json={"text": "<b>Good</b> idea"}, headers=voter)
    assert r.status_code == 201 and r.json()["idea_id"] == 0
    listed = api.client.get(f"{url}/0/comments").json()["comments"]
    assert [c["text"] for c in listed] == ["<b>Good</b> idea"]
    assert_problem(
        api.client.post(f"{url}/99/comments", json={"text": "x"}, headers=voter),
        404,
        "idea_not_found",
    )
    assert_problem(api.client.get(f"{url}/99/comments"), 404, "idea_not_found")
    assert_problem(
        api.client.post(f"{url}/0/comments", json={"text": "x"}), 401, "voter_token_missing"
    )
    r = api.client.post(f"{url}/1/flags", json={"reason": "offensive"}, headers=voter)
    assert r.status_code == 201 and r.json()["idea"] == 1
    r = api.client.post(f"{url}/1/flags", headers=voter)
    assert r.status_code == 201
    mod = api.client.get(f"/v1/surveys/{sid}/comments", headers=org).json()
    assert len(mod["comments"]) == 1 and [f["reason"] for f in mod["flags"]] == ["offensive", ""]
    api.client.patch(f"/v1/surveys/{sid}/ideas/2", json={"status": "retired"}, headers=org)
    assert_problem(api.client.get(f"{url}/2/comments"), 404, "not_found")


def test_my_results_and_public_results(api: Api, org: dict[str, str]) -> None:
    hidden = api.survey(org)
    assert_problem(api.client.get(f"/v1/public/surveys/{hidden}/results"), 403, "results_hidden")
    sid = api.survey(org, show_results_to_voters=True)
    voter = api.voter(sid)
    for _ in range(3):
        api.vote(sid, voter)
    me = api.client.get(f"/v1/public/surveys/{sid}/me", headers=voter)
    assert me.status_code == 200
    body = me.json()
    assert body["n_votes"] == 3 and body["voter"] and body["status"] == "ranked"
    assert me.headers["cache-control"] == "no-store"
    # "your ranking": the ideas picked (3 left picks), a ranking blended with everyone's, and
    # the picks against everyone's ranking; never a rank range
    assert sum(f["picked"] for f in body["favourites"]) == 3 == body["decisive"]
    assert {"idea", "text", "picked", "shown"} == set(body["favourites"][0])
    ranking = body["ranking"]
    assert [r["position"] for r in ranking] == [1, 2, 3, 4] and 0 < body["yours"] < 1
    assert {"crowd_position", "score", "crowd_score", "seen", "yours"} <= set(ranking[0])
    assert not any("rank_lo" in r for r in ranking)
    assert body["agreed"] + len(body["disagreements"]) <= body["decisive"]
    fresh = api.client.get(f"/v1/public/surveys/{sid}/me", headers=api.voter(sid)).json()
    assert (fresh["status"], fresh["n_votes"], fresh["ranking"]) == ("no_votes", 0, [])
    assert_problem(api.client.get(f"/v1/public/surveys/{sid}/me"), 401, "voter_token_missing")
    pub = api.client.get(f"/v1/public/surveys/{sid}/results")
    assert pub.status_code == 200 and len(pub.json()["ideas"]) == 4
    r = api.client.get(f"/v1/public/surveys/{sid}/results?level=2")
    assert_problem(r, 400, "validation_error")


def test_cors_is_per_survey(api: Api, org: dict[str, str]) -> None:
    sid = api.survey(org, embed_origins=["https://host.example"])
    ok = {"Origin": "https://host.example"}
    bad = {"Origin": "https://evil.example"}
    r = api.client.get(f"/v1/public/surveys/{sid}", headers=ok)
    assert r.headers["access-control-allow-origin"] == "https://host.example"
    assert "access-control-allow-credentials" not in r.headers
    r = api.client.get(f"/v1/public/surveys/{sid}", headers=bad)
    assert "access-control-allow-origin" not in r.headers
    pre = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-voter-token",
    }
    r = api.client.options(f"/v1/public/surveys/{sid}/answers", headers={**ok, **pre})
    assert r.status_code == 204
    assert "x-voter-token" in r.headers["access-control-allow-headers"]
    r = api.client.options(f"/v1/public/surveys/{sid}/answers", headers={**bad, **pre})
    assert r.status_code == 403 and "access-control-allow-origin" not in r.headers
    # organiser routes never answer CORS
    r = api.client.get(f"/v1/surveys/{sid}", headers={**org, **ok})
    assert "access-control-allow-origin" not in r.headers


def test_voters_per_ip_limit() -> None:
    with make_api(voters_per_ip_per_minute=2) as api:
        org = api.organiser()
        sid = api.survey(org)
        api.voter(sid)
        api.voter(sid)
        r = api.client.post(f"/v1/public/surveys/{sid}/voters")
        assert_problem(r, 429, "rate_limited")
        api.clock.advance(61)
        api.voter(sid)


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("redis-cluster", marks=pytest.mark.redis),
    ]
)
def store_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'api.db'}"
    if request.param == "redis-cluster":
        return str(request.getfixturevalue("redis_cluster_url"))
    return str(request.getfixturevalue("redis_url"))


def test_voting_flow_on_real_backends(store_url: str) -> None:
    with make_api(store=store_url) as api:
        org = api.organiser()
        sid = api.survey(org, limits={"answers_per_minute": 3})
        voter = api.voter(sid)
        receipts = [api.vote(sid, voter, choice) for choice in ("left", "right", "tie")]
        assert len({r["seq"] for r in receipts}) == 3
        b = api.ballot(sid, voter)
        r = api.client.post(
            f"/v1/public/surveys/{sid}/answers",
            json={"ballot": b["ballot"], "choice": "left"},
            headers=voter,
        )
        assert_problem(r, 429, "rate_limited")
        api.clock.advance(61)
        body = {"ballot": b["ballot"], "choice": "left"}
        url = f"/v1/public/surveys/{sid}/answers"
        first = api.client.post(url, json=body, headers=voter)
        assert first.status_code == 201
        assert api.client.post(url, json=body, headers=voter).json() == first.json()
        other = {"ballot": b["ballot"], "choice": "right"}
        assert_problem(api.client.post(url, json=other, headers=voter), 409, "ballot_used")
        undone = api.client.delete(f"{url}/last", headers=voter)
        assert undone.json() == {"undone_seq": first.json()["seq"]}
        res = api.client.get(f"/v1/surveys/{sid}/results", headers=org).json()
        assert res["n_votes"] == 3
        votes = api.client.get(f"/v1/surveys/{sid}/exports/votes?format=ndjson", headers=org)
        assert len(votes.text.splitlines()) == 4


def test_no_pair_when_fewer_than_two_active_ideas(api: Api, org: dict[str, str]) -> None:
    sid = api.survey(org, ideas=["only", "pair"])
    voter = api.voter(sid)
    api.client.patch(f"/v1/surveys/{sid}/ideas/1", json={"status": "retired"}, headers=org)
    r = api.client.post(f"/v1/public/surveys/{sid}/ballots", headers=voter)
    assert_problem(r, 409, "no_pair_available")


def test_closed_survey_refuses_ideas_and_comments(api: Api, org: dict[str, str]) -> None:
    sid = api.survey(org)
    voter = api.voter(sid)
    api.client.post(f"/v1/surveys/{sid}/close", headers=org)
    url = f"/v1/public/surveys/{sid}"
    r = api.client.post(f"{url}/ideas", json={"text": "late"}, headers=voter)
    assert_problem(r, 409, "survey_closed")
    r = api.client.post(f"{url}/ideas/0/comments", json={"text": "late"}, headers=voter)
    assert_problem(r, 409, "survey_closed")
    assert_problem(api.client.delete(f"{url}/answers/last", headers=voter), 409, "survey_closed")
    info = api.client.get(url).json()
    assert info["status"] == "closed"


def test_bad_json_and_wrong_types_are_400(api: Api, org: dict[str, str]) -> None:
    sid = api.survey(org)
    voter = api.voter(sid)
    url = f"/v1/public/surveys/{sid}/answers"
    hdrs = {**voter, "Content-Type": "application/json"}
    assert_problem(api.client.post(url, content=b"{", headers=hdrs), 400, "validation_error")
    assert_problem(api.client.post(url, json=[], headers=voter), 400, "validation_error")
    b = api.ballot(sid, voter)
    bad_ms = {"ballot": b["ballot"], "choice": "left", "response_ms": -5}
    assert_problem(api.client.post(url, json=bad_ms, headers=voter), 400, "validation_error")
    r = api.client.get(f"/v1/public/surveys/{sid}/ideas/-1/comments")
    assert r.status_code in (400, 404) and r.headers["content-type"].startswith(
        "application/problem+json"
    )


def test_answer_with_next_returns_the_following_ballot(api: Api, org: dict[str, str]) -> None:
    sid = api.survey(org)
    voter = api.voter(sid)
    url = f"/v1/public/surveys/{sid}/answers"
    ballot = api.ballot(sid, voter)["ballot"]
    seen = []
    for _ in range(3):
        r = api.client.post(
            url, json={"ballot": ballot, "choice": "left", "next": True}, headers=voter
        )
        assert r.status_code == 201
        body = r.json()
        seen.append(body["seq"])
        assert body["next"]["left"]["id"] != body["next"]["right"]["id"]
        ballot = body["next"]["ballot"]
    assert len(set(seen)) == 3
    plain = api.client.post(url, json={"ballot": ballot, "choice": "tie"}, headers=voter).json()
    assert plain["next"] is None
    assert api.client.get(f"/v1/surveys/{sid}/results", headers=org).json()["n_votes"] == 4


def test_answer_on_an_idea_retired_since_the_ballot_is_refused_unlogged(
    api: Api, org: dict[str, str]
) -> None:
    sid = api.survey(org, ideas=["one", "two"])
    voter = api.voter(sid)
    ballot = api.ballot(sid, voter)["ballot"]
    api.client.patch(f"/v1/surveys/{sid}/ideas/1", json={"status": "retired"}, headers=org)
    r = api.client.post(
        f"/v1/public/surveys/{sid}/answers",
        json={"ballot": ballot, "choice": "right", "next": True},
        headers=voter,
    )
    assert_problem(r, 409, "idea_inactive")
    votes = api.client.get(f"/v1/surveys/{sid}/exports/votes?format=ndjson", headers=org)
    assert votes.status_code == 200 and votes.text == ""


@pytest.mark.redis
def test_redis_outage_is_a_503_and_voting_resumes_after_restart(tmp_path: Any) -> None:
    """The awaited answer path: Redis down -> 503 ``store_error`` (nothing half-written);
    Redis back with its data -> the same worker answers again on fresh connections."""
    from tests.redis_proc import RedisProcess

    server = RedisProcess(tmp_path / "r", appendonly=True, appendfsync="always")
    server.start()
    try:
        with make_api(store=server.url) as api:
            org = api.organiser()
            sid = api.survey(org)
            voter = api.voter(sid)
            first = api.vote(sid, voter)
            b = api.ballot(sid, voter)
            url = f"/v1/public/surveys/{sid}/answers"
            server.kill()
            down = api.client.post(
                url, json={"ballot": b["ballot"], "choice": "left"}, headers=voter
            )
            assert_problem(down, 503, "store_error")
            server.start()
            again = api.client.post(
                url, json={"ballot": b["ballot"], "choice": "left"}, headers=voter
            )
            assert again.status_code == 201, again.text
            assert again.json()["seq"] == first["seq"] + 1
            res = api.client.get(f"/v1/surveys/{sid}/results", headers=org).json()
            assert res["n_votes"] == 2
    finally:
        server.stop()


# -- who may vote (the survey's identity mode) ---------------------------------------------------
def _solve(api: Api, sid: str) -> str:
    import msgspec

    from ranker.proof_of_work import Challenge, solve

    r = api.client.get(f"/v1/public/surveys/{sid}/voters/challenge")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    return solve(msgspec.convert(r.json(), Challenge))


def test_proof_of_work_mode_takes_a_solved_challenge(api: Api, org: dict[str, str]) -> None:
    import msgspec

    from ranker.proof_of_work import Challenge, solve

    sid = api.survey(org, identity={"mode": "proof_of_work", "work": 20})
    assert api.client.get(f"/v1/public/surveys/{sid}").json()["identity"] == "proof_of_work"
    voters = f"/v1/public/surveys/{sid}/voters"
    assert_problem(api.client.post(voters), 403, "proof_required")
    proof = _solve(api, sid)
    r = api.client.post(voters, json={"proof": proof})
    assert r.status_code == 201, r.text
    again = api.client.post(voters, json={"proof": proof})  # a replay buys no new voter
    assert again.status_code == 201 and again.json()["voter_id"] == r.json()["voter_id"]
    # every pair costs a proof too: the voter came with the first one's challenge
    ch = msgspec.convert(r.json()["challenge"], Challenge)
    voter = {"X-Voter-Token": r.json()["token"]}
    b = api.client.post(
        f"/v1/public/surveys/{sid}/ballots", json={"proof": solve(ch)}, headers=voter
    )
    assert b.status_code == 201, b.text
    other = api.survey(org, identity={"mode": "proof_of_work", "work": 20})
    body = assert_problem(
        api.client.post(f"/v1/public/surveys/{other}/voters", json={"proof": proof}),
        400,
        "proof_invalid",
    )
    assert "another survey" in body["detail"]
    assert_problem(api.client.post(voters, json={"proof": "bm9wZQ=="}), 400, "proof_invalid")
    api.clock.advance(601)
    assert_problem(api.client.post(voters, json={"proof": proof}), 400, "proof_invalid")


def test_anonymous_mode_asks_a_busy_address_for_work_instead_of_refusing(
    api: Api, org: dict[str, str]
) -> None:
    sid = api.survey(org, identity={"free_per_10min": 2})
    voters = f"/v1/public/surveys/{sid}/voters"
    api.voter(sid)
    api.voter(sid)
    body = assert_problem(api.client.post(voters), 403, "proof_required")
    assert "proof of work" in body["detail"]
    r = api.client.post(voters, json={"proof": _solve(api, sid)})
    assert r.status_code == 201 and r.json()["voter_id"].startswith("w")
    api.voter(api.survey(org))  # another survey: its own budget
    api.clock.advance(600)
    api.voter(sid)  # a new 10 minutes


def test_challenges_need_an_open_survey(api: Api, org: dict[str, str]) -> None:
    draft = api.survey(org, open=False)
    assert_problem(
        api.client.get(f"/v1/public/surveys/{draft}/voters/challenge"), 409, "survey_closed"
    )
    assert_problem(
        api.client.get("/v1/public/surveys/nope/voters/challenge"), 404, "survey_not_found"
    )


def test_site_mode_takes_the_token_the_site_signed(api: Api, org: dict[str, str]) -> None:
    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    identity = {"mode": "site", "site_keys": [public], "site_issuer": "https://host.example"}
    sid = api.survey(org, identity=identity, groups=["staff", "patient"])
    survey = api.client.get(f"/v1/surveys/{sid}", headers=org).json()
    assert survey["identity"]["site_keys"] == [public]  # public: fine to show and export
    voters = f"/v1/public/surveys/{sid}/voters"

    def token(sub: str, **extra: object) -> str:
        now = int(api.clock())
        claims = {"sub": sub, "aud": sid, "iss": "https://host.example", "iat": now}
        return jwt.encode({**claims, "exp": now + 300, **extra}, key, algorithm="ES256")

    assert_problem(api.client.post(voters), 403, "site_token_required")
    a = api.client.post(voters, json={"site_token": token("alice")})
    assert a.status_code == 201, a.text
    api.clock.advance(100)  # alice on another device, later: the same voter
    a2 = api.client.post(voters, json={"site_token": token("alice", group="staff")})
    assert a2.json()["voter_id"] == a.json()["voter_id"] and a2.json()["group"] == "staff"
    b = api.client.post(voters, json={"site_token": token("bob")})
    assert b.json()["voter_id"] != a.json()["voter_id"]
    expired = token("alice", exp=int(api.clock()) - 60)
    body = assert_problem(
        api.client.post(voters, json={"site_token": expired}), 401, "site_token_invalid"
    )
    assert "expired" in body["detail"]
    assert_problem(api.client.post(voters, json={"site_token": "x.y.z"}), 401, "site_token_invalid")
    assert_problem(api.client.post(voters, json={"proof": "bm9wZQ=="}), 403, "site_token_required")


def test_identity_settings_are_checked(api: Api, org: dict[str, str]) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    sid = api.survey(org)
    url = f"/v1/surveys/{sid}"
    private = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    r = api.client.patch(url, json={"identity": {"site_keys": [private]}}, headers=org)
    body = assert_problem(r, 400, "invalid_input")
    assert "private key" in body["detail"] and "PRIVATE" not in body["detail"]
    r = api.client.patch(url, json={"identity": {"mode": "site"}}, headers=org)
    assert_problem(r, 400, "invalid_input")
    r = api.client.patch(url, json={"identity": {"mdoe": "site"}}, headers=org)
    assert_problem(r, 400, "validation_error")
    r = api.client.patch(url, json={"identity": {"mode": "proof_of_work", "work": 0}}, headers=org)
    assert_problem(r, 400, "validation_error")
    r = api.client.patch(url, json={"identity": {"mode": "proof_of_work"}}, headers=org)
    assert r.status_code == 200 and r.json()["identity"]["mode"] == "proof_of_work"
    assert r.json()["identity"]["work"] == 4000
    assert api.client.get(f"/v1/public/surveys/{sid}").json()["identity"] == "proof_of_work"
