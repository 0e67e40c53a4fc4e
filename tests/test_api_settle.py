"""The settle estimate in the results API: places, forecast, the survey's top_k and margin."""

from __future__ import annotations

from tests.api_client import Api, assert_problem


def test_results_carry_the_settle_estimate_of_the_surveys_top_k(api: Api) -> None:
    org = api.organiser()
    sid = api.survey(org, top_k=2, margin=0.6)
    survey = api.client.get(f"/v1/surveys/{sid}", headers=org).json()
    assert (survey["top_k"], survey["margin"], survey["sampler"]) == (2, 0.6, "settle")
    for _ in range(3):
        voter = api.voter(sid)
        for _ in range(4):
            api.vote(sid, voter)
    res = api.client.get(f"/v1/surveys/{sid}/results", headers=org).json()
    vn = res["votes_needed"]
    assert (vn["k"], vn["margin"], vn["level"], vn["n_votes"], vn["n_ideas"]) == (
        2,
        0.6,
        0.95,
        12,
        4,
    )
    assert [p["idea"] for p in vn["places"]] == [i["idea"] for i in res["ideas"]]
    assert {p["status"] for p in vn["places"]} <= {"in", "out", "tied", "open"}
    assert 0.0 <= vn["progress"] <= 1.0 and vn["decided"] <= 4
    whole = vn["order"]
    borders = sorted(whole["apart_after"] + whole["tied_after"] + whole["open_after"])
    assert (whole["borders"], borders) == (3, [1, 2, 3])
    assert whole["decided"] == 3 - len(whole["open_after"])
    assert whole["settled"] == (whole["open_after"] == [])
    if not vn["settled"]:
        assert vn["simulations"] >= 3 and vn["horizon"] > 0
        if vn["votes_needed"] is None:  # beyond the simulations: "more than N", N known
            assert 0 < vn["votes_needed_above"] <= vn["horizon"]
    asked = api.client.get(f"/v1/surveys/{sid}/results?top_k=3&margin=0.55", headers=org).json()
    assert (asked["votes_needed"]["k"], asked["votes_needed"]["margin"]) == (3, 0.55)


def test_bad_settle_parameters_are_refused(api: Api) -> None:
    org = api.organiser()
    sid = api.survey(org)
    for query in ("margin=0.5", "margin=0.95", "margin=x", "top_k=0", "top_k=1001"):
        r = api.client.get(f"/v1/surveys/{sid}/results?{query}", headers=org)
        assert_problem(r, 400, "validation_error")
    for body in ({"top_k": 0}, {"margin": 0.45}, {"margin": "wide"}):
        r = api.client.patch(f"/v1/surveys/{sid}", json=body, headers=org)
        assert r.status_code == 400, body
    ok = api.client.patch(f"/v1/surveys/{sid}", json={"top_k": 3, "margin": 0.7}, headers=org)
    assert ok.status_code == 200 and (ok.json()["top_k"], ok.json()["margin"]) == (3, 0.7)
