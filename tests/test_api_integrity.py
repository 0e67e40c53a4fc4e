"""The flagged-voters route: an organiser sees bots with the evidence and voids them."""

from __future__ import annotations

from tests.api_client import Api, assert_problem


def test_an_always_left_fast_voter_is_listed_and_voided_in_one_click(api: Api) -> None:
    org = api.organiser()
    sid = api.survey(org, ideas=[f"idea {i}" for i in range(8)], limits={"answers_per_minute": 0})
    bot = api.voter(sid)
    for _ in range(25):
        b = api.ballot(sid, bot)
        r = api.client.post(
            f"/v1/public/surveys/{sid}/answers",
            json={"ballot": b["ballot"], "choice": "left", "response_ms": 90},
            headers=bot,
        )
        assert r.status_code == 201
    r = api.client.get(f"/v1/surveys/{sid}/voters/flagged", headers=org)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    (flagged,) = r.json()["voters"]
    assert {"side_bias", "fast"} <= set(flagged["reasons"]) and flagged["left_share"] == 1.0
    void = api.client.post(f"/v1/surveys/{sid}/voters/{flagged['voter']}/void", headers=org)
    assert void.status_code == 200 and void.json()["voided"] == 25
    assert api.client.get(f"/v1/surveys/{sid}/voters/flagged", headers=org).json()["voters"] == []


def test_another_organisers_survey_is_not_found(api: Api) -> None:
    sid = api.survey(api.organiser("a"))
    r = api.client.get(f"/v1/surveys/{sid}/voters/flagged", headers=api.organiser("b"))
    assert_problem(r, 404, "survey_not_found")
