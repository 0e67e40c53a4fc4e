"""Organiser routes: surveys, ideas, moderation, results, exports, voiding, streams."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.api_client import ADMIN, Api, assert_problem, make_api
from tests.util import forge


def test_create_organiser_needs_admin_token(api: Api) -> None:
    url = "/v1/organisers"
    assert_problem(api.client.post(url, json={"name": "x"}), 401, "unauthorized")
    wrong = {"Authorization": "Bearer not-the-admin"}
    assert_problem(api.client.post(url, json={"name": "x"}, headers=wrong), 401, "unauthorized")
    ok = api.client.post(url, json={"name": "x"}, headers={"Authorization": f"Bearer {ADMIN}"})
    assert ok.status_code == 201 and ok.json()["api_key"].startswith("rk_")
    bad = api.client.post(url, json={"name": ""}, headers={"Authorization": f"Bearer {ADMIN}"})
    assert_problem(bad, 400, "validation_error")


def test_signup_disabled_without_admin_token_and_open_signup() -> None:
    with make_api(admin_token="") as api:
        assert_problem(
            api.client.post("/v1/organisers", json={"name": "x"}), 403, "signup_disabled"
        )
    with make_api(admin_token="", open_signup=True) as api:
        assert api.client.post("/v1/organisers", json={"name": "x"}).status_code == 201


def test_survey_lifecycle(api: Api, org: dict[str, str]) -> None:
    r = api.client.post(
        "/v1/surveys",
        json={"question": "Q?", "groups": ["a", "b"], "embed_origins": ["https://x.example"]},
        headers=org,
    )
    assert r.status_code == 201
    sid = r.json()["id"]
    assert r.headers["location"] == f"/v1/surveys/{sid}"
    assert r.json()["status"] == "draft" and r.json()["model"] and r.json()["sampler"]
    assert_problem(api.client.post(f"/v1/surveys/{sid}/open", headers=org), 409, "not_enough_ideas")
    for text in ("one", "two"):
        assert (
            api.client.post(
                f"/v1/surveys/{sid}/ideas", json={"text": text}, headers=org
            ).status_code
            == 201
        )
    r = api.client.post(f"/v1/surveys/{sid}/open", headers=org)
    assert r.status_code == 200 and r.json()["status"] == "open"
    r = api.client.post(f"/v1/surveys/{sid}/close", headers=org)
    assert r.json()["status"] == "closed"
    got = api.client.get(f"/v1/surveys/{sid}", headers=org)
    assert got.status_code == 200 and got.json()["groups"] == ["a", "b"]
    again = api.client.get(
        f"/v1/surveys/{sid}", headers={**org, "If-None-Match": got.headers["etag"]}
    )
    assert again.status_code == 304
    r = api.client.patch(
        f"/v1/surveys/{sid}", json={"question": "New?", "show_results_to_voters": True}, headers=org
    )
    assert r.status_code == 200 and r.json()["question"] == "New?"
    assert r.json()["show_results_to_voters"] is True and r.json()["groups"] == ["a", "b"]
    listed = api.client.get("/v1/surveys", headers=org).json()["surveys"]
    assert [s["id"] for s in listed] == [sid]


def test_survey_validation_errors(api: Api, org: dict[str, str]) -> None:
    r = api.client.post("/v1/surveys", json={"question": "Q", "model": "nope"}, headers=org)
    assert assert_problem(r, 400, "invalid_input")["errors"][0]["field"] == "model"
    r = api.client.post("/v1/surveys", json={"question": "Q", "sampler": "nope"}, headers=org)
    assert_problem(r, 400, "invalid_input")
    r = api.client.post(
        "/v1/surveys", json={"question": "Q", "embed_origins": ["ftp://x"]}, headers=org
    )
    body = assert_problem(r, 400, "validation_error")
    assert body["errors"][0]["field"] == "embed_origins[0]"
    r = api.client.post("/v1/surveys", json={"question": ""}, headers=org)
    assert_problem(r, 400, "validation_error")
    r = api.client.post("/v1/surveys", json={"question": "Q", "unknown": 1}, headers=org)
    assert_problem(r, 400, "validation_error")
    r = api.client.post(
        "/v1/surveys", content=b"{not json", headers={**org, "Content-Type": "application/json"}
    )
    assert_problem(r, 400, "validation_error")
    sid = api.survey(org)
    r = api.client.patch(
        f"/v1/surveys/{sid}", json={"limits": {"answers_per_minute": -1}}, headers=org
    )
    assert_problem(r, 400, "validation_error")
    # found by fuzzing: an integer too large to store was a 500 (and nothing was written)
    for field in ("answers_per_minute", "ideas_per_voter"):
        r = api.client.patch(f"/v1/surveys/{sid}", json={"limits": {field: 2**70}}, headers=org)
        assert_problem(r, 400, "validation_error")
        r = api.client.post(
            "/v1/surveys", json={"question": "Q", "limits": {field: 10**19}}, headers=org
        )
        assert_problem(r, 400, "validation_error")


def test_other_organisers_survey_looks_missing(api: Api, org: dict[str, str]) -> None:
    sid = api.survey(org)
    mallory = api.organiser("Mallory")
    for method, path in [
        ("GET", f"/v1/surveys/{sid}"),
        ("POST", f"/v1/surveys/{sid}/close"),
        ("GET", f"/v1/surveys/{sid}/results"),
        ("GET", f"/v1/surveys/{sid}/exports/votes"),
        ("GET", f"/v1/surveys/{sid}/ideas"),
    ]:
        assert_problem(api.client.request(method, path, headers=mallory), 404, "survey_not_found")
    assert api.client.get("/v1/surveys", headers=mallory).json() == {"surveys": []}


def test_ideas_import_csv(api: Api, org: dict[str, str]) -> None:
    sid = api.survey(org, ideas=[], open=False)
    url = f"/v1/surveys/{sid}/ideas/import"
    csv_h = {**org, "Content-Type": "text/csv"}
    body = b'id,text\n1,First idea\n2,"Second, with comma"\n\n'
    r = api.client.post(url, content=body, headers=csv_h)
    assert r.status_code == 201 and r.json()["added"] == 2
    assert [i["text"] for i in r.json()["ideas"]] == ["First idea", "Second, with comma"]
    r = api.client.post(url, content=b"Third\nFourth\n", headers=csv_h)
    assert [i["text"] for i in r.json()["ideas"]] == ["Third", "Fourth"]
    assert_problem(api.client.post(url, content=b"\xff\xfe", headers=csv_h), 400, "csv_invalid")
    assert_problem(api.client.post(url, content=b"\n\n", headers=csv_h), 400, "csv_invalid")
    assert_problem(api.client.post(url, content=b"text\n", headers=csv_h), 400, "csv_invalid")
    assert_problem(api.client.post(url, content=b"a,text\nx,\n", headers=csv_h), 400, "csv_invalid")
    r = api.client.post(url, content=b"x", headers={**org, "Content-Type": "application/json"})
    assert_problem(r, 415, "unsupported_media_type")
    too_long = ("x" * 300 + "\n").encode()
    assert_problem(api.client.post(url, content=too_long, headers=csv_h), 400, "text_too_long")
    ideas = api.client.get(f"/v1/surveys/{sid}/ideas", headers=org).json()["ideas"]
    assert len(ideas) == 4  # failed imports added nothing


def test_import_has_its_own_body_limit() -> None:
    with make_api(max_body_bytes=1000, max_import_bytes=5000) as api:
        org = api.organiser()
        sid = api.survey(org, ideas=[])
        csv_h = {**org, "Content-Type": "text/csv"}
        body = "".join(f"idea number {i}\n" for i in range(150)).encode()  # ~2.3 kB
        assert 1000 < len(body) < 5000
        r = api.client.post(f"/v1/surveys/{sid}/ideas/import", content=body, headers=csv_h)
        assert r.status_code == 201 and r.json()["added"] == 150
        big = b"x\n" * 3000
        r = api.client.post(f"/v1/surveys/{sid}/ideas/import", content=big, headers=csv_h)
        assert_problem(r, 413, "payload_too_large")


def test_moderate_retire_edit_ideas(api: Api, org: dict[str, str]) -> None:
    sid = api.survey(org)
    voter = api.voter(sid)
    submitted = api.client.post(
        f"/v1/public/surveys/{sid}/ideas", json={"text": "Mine"}, headers=voter
    )
    iid = submitted.json()["id"]
    url = f"/v1/surveys/{sid}/ideas/{iid}"
    r = api.client.patch(url, json={"status": "active"}, headers=org)
    assert (
        r.status_code == 200
        and r.json()["status"] == "active"
        and r.json()["author"] == "participant"
    )
    r = api.client.patch(url, json={"status": "rejected", "reason": "duplicate"}, headers=org)
    assert r.json()["status"] == "rejected"
    r = api.client.patch(f"/v1/surveys/{sid}/ideas/0", json={"text": "alpha (edited)"}, headers=org)
    assert r.json()["text"] == "alpha (edited)"
    r = api.client.patch(f"/v1/surveys/{sid}/ideas/1", json={"status": "retired"}, headers=org)
    assert r.json()["status"] == "retired"
    active = api.client.get(f"/v1/surveys/{sid}/ideas?status=active", headers=org).json()["ideas"]
    assert {i["id"] for i in active} == {0, 2, 3}
    assert_problem(
        api.client.patch(f"/v1/surveys/{sid}/ideas/99", json={"status": "active"}, headers=org),
        404,
        "idea_not_found",
    )
    assert_problem(
        api.client.patch(url, json={"status": "deleted"}, headers=org), 400, "validation_error"
    )
    assert_problem(
        api.client.get(f"/v1/surveys/{sid}/ideas?status=bogus", headers=org),
        400,
        "validation_error",
    )


def test_results_json_csv_groups_and_votes_needed(api: Api, org: dict[str, str]) -> None:
    sid = api.survey(org, groups=["clinician", "patient"])
    for group in ("clinician", "patient"):
        voter = api.voter(sid, group)
        for _ in range(4):
            api.vote(sid, voter)
    r = api.client.get(f"/v1/surveys/{sid}/results?top_k=2&level=0.9", headers=org)
    assert r.status_code == 200
    res = r.json()
    assert res["n_votes"] == 8 and res["n_voters"] == 2 and res["level"] == 0.9
    assert sorted(i["rank"] for i in res["ideas"]) == [1, 2, 3, 4]
    row = res["ideas"][0]
    assert row["low"] <= row["score"] <= row["high"]
    assert {"rank_lo", "rank_hi", "tier", "p_beats_random", "wins", "losses"} <= set(row)
    assert res["votes_needed"]["k"] == 2
    g = api.client.get(f"/v1/surveys/{sid}/results?group=patient", headers=org).json()
    assert g["group"] == "patient" and g["n_votes"] == 4 and g["votes_needed"] is None
    assert_problem(
        api.client.get(f"/v1/surveys/{sid}/results?group=nobody", headers=org), 400, "invalid_input"
    )
    assert (g["status"], g["votes_to_rank"], g["ideas"], g["vs_overall"]) == (
        "too_few_votes",
        10,
        [],
        None,
    )
    groups = api.client.get(f"/v1/surveys/{sid}/results/groups", headers=org).json()["groups"]
    assert set(groups) == {"clinician", "patient"} and groups["clinician"]["n_votes"] == 4
    c = api.client.get(f"/v1/surveys/{sid}/results.csv", headers=org)
    assert c.status_code == 200 and c.headers["content-type"].startswith("text/csv")
    assert "attachment" in c.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(c.text)))
    assert [int(x["rank"]) for x in rows] == [i["rank"] for i in res["ideas"]]
    assert_problem(
        api.client.get(f"/v1/surveys/{sid}/results?top_k=0", headers=org), 400, "validation_error"
    )


@pytest.mark.parametrize("kind", ["votes", "skips", "ideas", "comments", "flags"])
def test_exports_csv_and_ndjson(api: Api, org: dict[str, str], kind: str) -> None:
    sid = api.survey(org, ideas=["=cmd|' /C calc'!A0", "@SUM(1)", "plain", "-2+3"])
    voter = api.voter(sid)
    api.vote(sid, voter)
    b = api.ballot(sid, voter)
    api.client.post(
        f"/v1/public/surveys/{sid}/answers",
        json={"ballot": b["ballot"], "choice": "skip", "reason": "same"},
        headers=voter,
    )
    api.client.post(
        f"/v1/public/surveys/{sid}/ideas/0/comments", json={"text": "+1 great"}, headers=voter
    )
    api.client.post(
        f"/v1/public/surveys/{sid}/ideas/0/flags", json={"reason": "spam"}, headers=voter
    )
    r = api.client.get(f"/v1/surveys/{sid}/exports/{kind}?format=csv", headers=org)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    n = api.client.get(f"/v1/surveys/{sid}/exports/{kind}?format=ndjson", headers=org)
    assert n.headers["content-type"].startswith("application/x-ndjson")
    items = [json.loads(line) for line in n.text.splitlines()]
    assert (
        len(rows)
        == len(items)
        == {"votes": 1, "skips": 1, "ideas": 4, "comments": 1, "flags": 1}[kind]
    )
    assert set(rows[0]) == set(items[0])
    if kind == "ideas":
        texts = [row["text"] for row in rows]
        assert texts == ["'=cmd|' /C calc'!A0", "'@SUM(1)", "plain", "'-2+3"]
        assert items[0]["text"] == "=cmd|' /C calc'!A0"  # NDJSON keeps the exact text
    if kind == "skips":
        assert items[0]["reason"] == "same" and items[0]["valid"] is True
    if kind == "comments":
        assert rows[0]["text"] == "'+1 great"


def test_export_unknown_kind_or_format(api: Api, org: dict[str, str]) -> None:
    sid = api.survey(org)
    assert_problem(
        api.client.get(f"/v1/surveys/{sid}/exports/secrets", headers=org), 400, "validation_error"
    )
    assert_problem(
        api.client.get(f"/v1/surveys/{sid}/exports/votes?format=xml", headers=org),
        400,
        "validation_error",
    )


def test_void_voter(api: Api, org: dict[str, str]) -> None:
    sid = api.survey(org)
    bad, good = api.voter(sid), api.voter(sid)
    for _ in range(3):
        api.vote(sid, bad)
    api.vote(sid, good)
    me = api.client.get(f"/v1/public/surveys/{sid}/me", headers=bad).json()
    r = api.client.post(
        f"/v1/surveys/{sid}/voters/{me['voter']}/void", json={"reason": "bot"}, headers=org
    )
    assert r.status_code == 200 and r.json() == {"voter_id": me["voter"], "voided": 3}
    res = api.client.get(f"/v1/surveys/{sid}/results", headers=org).json()
    assert res["n_votes"] == 1
    assert_problem(
        api.client.post(f"/v1/public/surveys/{sid}/ballots", headers=bad), 403, "voter_voided"
    )
    assert_problem(
        api.client.post(f"/v1/surveys/{sid}/voters/nobody/void", headers=org),
        404,
        "voter_not_found",
    )
    votes = api.client.get(f"/v1/surveys/{sid}/exports/votes?format=ndjson", headers=org).text
    assert [json.loads(x)["valid"] for x in votes.splitlines()].count(False) == 3


def test_stream_ticket_and_sse() -> None:
    # the stream ends after sse_max_s so the in-process test client can read it whole
    with make_api(sse_interval_s=0.01, sse_max_s=0.05) as api:
        _stream_checks(api, api.organiser())


def _stream_checks(api: Api, org: dict[str, str]) -> None:
    sid = api.survey(org)
    api.vote(sid, api.voter(sid))
    t = api.client.post(f"/v1/surveys/{sid}/stream-tickets", headers=org)
    assert t.status_code == 201
    ticket = t.json()["ticket"]
    resp = api.client.get(f"/v1/surveys/{sid}/stream?ticket={ticket}")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/event-stream")
    lines = resp.text.splitlines()
    assert "event: results" in lines
    data = json.loads(next(x for x in lines if x.startswith("data:")).removeprefix("data:"))
    assert data["survey"] == sid and data["n_votes"] == 1
    url = f"/v1/surveys/{sid}/stream"
    assert_problem(api.client.get(url), 401, "unauthorized")
    assert_problem(api.client.get(f"{url}?ticket={forge(ticket)}"), 401, "unauthorized")
    other = api.survey(org)
    assert_problem(
        api.client.get(f"/v1/surveys/{other}/stream?ticket={ticket}"), 401, "unauthorized"
    )
    with_key = api.client.get(url, headers=org)
    assert with_key.status_code == 200 and "event: results" in with_key.text
    api.clock.advance(120)
    assert_problem(api.client.get(f"{url}?ticket={ticket}"), 401, "unauthorized")


@pytest.mark.parametrize(
    "origin",
    [
        "https://a.example;script-src",  # would add a directive to the widget's CSP
        "https://a.example,*",
        "https://a.example'",
        "https://a.example:99999",
        "https://*",  # would let any HTTPS site frame the widget
        "https://*.example.org",  # subdomain patterns are not supported
        "https://a.example/path",
    ],
)
def test_embed_origins_must_be_exact_origins(api: Api, org: dict[str, str], origin: str) -> None:
    for method, url in (("POST", "/v1/surveys"), ("PATCH", f"/v1/surveys/{api.survey(org)}")):
        r = api.client.request(
            method, url, json={"question": "Q", "embed_origins": [origin]}, headers=org
        )
        body = r.json()
        assert r.status_code == 400, body
        assert body["code"] in ("invalid_input", "validation_error"), body
        assert "embed_origins" in str(body.get("errors") or body.get("detail")), body


def test_exact_origins_with_ports_and_ipv6_are_accepted(api: Api, org: dict[str, str]) -> None:
    origins = ["https://clinic.example", "http://localhost:8000", "http://[::1]:8080"]
    r = api.client.post(
        "/v1/surveys", json={"question": "Q", "embed_origins": origins}, headers=org
    )
    assert r.status_code == 201 and r.json()["embed_origins"] == origins


def test_group_results_say_which_groups_are_ranked(api: Api, org: dict[str, str]) -> None:
    """A group with enough votes is ranked from the joint group-bt fit, with intervals and its
    differences from everyone; a group without votes says so and shows no order."""
    sid = api.survey(org, groups=["clinician", "patient", "carer"])
    for _ in range(3):
        voter = api.voter(sid, "clinician")
        for _ in range(4):
            api.vote(sid, voter)
    voter = api.voter(sid, "patient")
    api.vote(sid, voter)
    r = api.client.get(f"/v1/surveys/{sid}/results/groups?level=0.9", headers=org)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["model"] == "group-bt" and body["spread"] >= 0 and body["disagreements"] == []
    groups = body["groups"]
    status = {g: (v["status"], v["n_votes"], len(v["ideas"])) for g, v in groups.items()}
    assert status == {
        "clinician": ("ranked", 12, 4),
        "patient": ("too_few_votes", 1, 0),
        "carer": ("no_votes", 0, 0),
    }
    ranked = groups["clinician"]
    assert ranked["model"] == "group-bt" and ranked["level"] == 0.9
    row = ranked["ideas"][0]
    assert row["low"] <= row["score"] <= row["high"] and row["rank_lo"] <= row["rank_hi"]
    shifts = ranked["vs_overall"]
    assert sorted(s["idea"] for s in shifts) == sorted(i["idea"] for i in ranked["ideas"])
    for s in shifts:
        assert s["low"] <= s["diff"] <= s["high"] and 0 <= s["p_higher"] <= 1
        assert s["credible"] == (s["direction"] is not None)
    assert groups["carer"]["vs_overall"] is None and groups["carer"]["votes_to_rank"] == 10
    one = api.client.get(f"/v1/surveys/{sid}/results?group=carer", headers=org).json()
    assert (one["status"], one["ideas"]) == ("no_votes", [])
