"""Results routes (api/routes/results.py, and the public ranking of api/routes/voters.py): an
idea with too few answers is flagged ``placed: false`` and listed after the ranked ones."""

from __future__ import annotations

import csv
import io

from tests.api_client import Api


def test_a_new_idea_is_flagged_in_json_csv_and_the_public_ranking(api: Api) -> None:
    org = api.organiser()
    sid = api.survey(org, show_results_to_voters=True)
    for _ in range(4):
        voter = api.voter(sid)
        for _ in range(6):
            api.vote(sid, voter)
    before = api.client.get(f"/v1/surveys/{sid}/results", headers=org).json()["ideas"]
    assert all(i["placed"] for i in before)
    r = api.client.post(f"/v1/surveys/{sid}/ideas", json={"text": "epsilon"}, headers=org)
    assert r.status_code == 201, r.text
    new = r.json()["id"]

    res = api.client.get(f"/v1/surveys/{sid}/results", headers=org).json()
    last = res["ideas"][-1]
    assert (last["idea"], last["placed"], last["tier"], last["rank"]) == (new, False, 0, 5)
    assert (last["rank_lo"], last["rank_hi"]) == (1, 5)
    kept = [(i["idea"], i["rank"], i["tier"]) for i in res["ideas"][:4]]
    assert kept == [(i["idea"], i["rank"], i["tier"]) for i in before]

    c = api.client.get(f"/v1/surveys/{sid}/results.csv", headers=org)
    rows = list(csv.DictReader(io.StringIO(c.text)))
    assert [x["placed"] for x in rows] == ["True"] * 4 + ["False"]

    public = api.client.get(f"/v1/public/surveys/{sid}/results").json()["ideas"]
    assert [(i["idea"], i["placed"]) for i in public] == [
        (i["idea"], i["placed"]) for i in res["ideas"]
    ]
