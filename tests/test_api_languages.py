"""The survey's ``language`` and ``translations`` settings and ideas' ``translations`` over
HTTP: set by the organiser, validated, and shown to the widget (survey info and ballots)."""

from __future__ import annotations

from tests.api_client import Api, assert_problem


def test_translations_reach_the_widget(api: Api) -> None:
    org = api.organiser()
    sid = api.survey(
        org,
        ideas=["alpha", "beta"],
        language="EN",
        translations={"cy": {"question": "Pa un sy’n well?", "description": "Dewiswch un."}},
    )
    r = api.client.patch(
        f"/v1/surveys/{sid}/ideas/0",
        json={"translations": {"ar": "ألفا", "CY": "alffa"}},
        headers=org,
    )
    assert r.status_code == 200, r.text
    assert r.json()["translations"] == {"ar": "ألفا", "cy": "alffa"}
    assert r.json()["text"] == "alpha"
    info = api.client.get(f"/v1/public/surveys/{sid}").json()
    assert info["language"] == "en"
    assert info["translations"] == {
        "cy": {"question": "Pa un sy’n well?", "description": "Dewiswch un."}
    }
    ballot = api.ballot(sid, api.voter(sid))
    sides = {ballot[s]["id"]: ballot[s]["translations"] for s in ("left", "right")}
    assert sides == {0: {"ar": "ألفا", "cy": "alffa"}, 1: {}}
    # results (organiser and public) keep the organiser's text
    res = api.client.get(f"/v1/surveys/{sid}/results", headers=org).json()
    assert {i["text"] for i in res["ideas"]} == {"alpha", "beta"}


def test_language_settings_are_validated(api: Api) -> None:
    org = api.organiser()
    sid = api.survey(org)
    for body in (
        {"language": "english"},
        {"translations": {"en_GB": {"question": "x"}}},
        {"translations": {"cy": {"question": "x" * 301}}},
        {"translations": {"cy": {"title": "x"}}},
    ):
        r = api.client.patch(f"/v1/surveys/{sid}", json=body, headers=org)
        assert r.status_code in (400, 422), (body, r.text)
        assert r.json()["code"] in ("validation_error", "invalid_input", "text_too_long"), r.text
    r = api.client.patch(
        f"/v1/surveys/{sid}/ideas/0", json={"translations": {"cy": "x" * 281}}, headers=org
    )
    assert_problem(r, 400, "text_too_long")
    r = api.client.patch(
        f"/v1/surveys/{sid}", json={"language": "pl", "translations": {}}, headers=org
    )
    assert r.status_code == 200, r.text
    assert r.json()["language"] == "pl"
    r = api.client.patch(f"/v1/surveys/{sid}", json={"language": ""}, headers=org)
    assert r.json()["language"] == ""
