"""The dashboard's Voters tab: flagged voters with the evidence in words, voided in one click."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import AppServer, Survey
from tests.browser.helpers import cast_votes
from tests.browser.test_dashboard import sign_in

IDEAS = [
    "Video follow-up by default for stable patients",
    "Nurse-led telephone clinics",
    "Patient-initiated follow-up instead of fixed appointments",
    "Shared care records patients can read",
    "Evening clinics twice a week",
    "Text message reminders",
    "One named contact per patient",
    "Results sent before the appointment",
]


def _bot(app: AppServer, survey_id: str, answers: int) -> str:
    """A voter who always picks the left idea within 0.1 s; returns its id."""
    prefix = f"/v1/public/surveys/{survey_id}"
    with app.client() as c:
        r = c.post(prefix + "/voters", json={})
        assert r.status_code == 201, r.text
        voter = r.json()
        headers = {"X-Voter-Token": voter["token"]}
        for _ in range(answers):
            b = c.post(prefix + "/ballots", headers=headers).json()
            body = {"ballot": b["ballot"], "choice": "left", "response_ms": 100}
            a = c.post(prefix + "/answers", headers=headers, json=body)
            assert a.status_code == 201, a.text
    return str(voter["voter_id"])


def test_voters_tab_lists_a_bot_with_evidence_and_voids_it_after_confirming(
    app_server: AppServer,
    organiser_key: str,
    make_survey: Callable[..., Survey],
    new_page: Callable[..., Any],
    artifacts: Path,
) -> None:
    survey = make_survey(IDEAS, limits={"answers_per_minute": 0})
    for _ in range(4):  # honest voters, too few answers to be judged
        cast_votes(
            app_server, survey.id, 6, lambda left, right: "left" if left < right else "right"
        )
    bot = _bot(app_server, survey.id, 25)

    page = new_page(1280, 900)
    sign_in(page, app_server, organiser_key, survey.id)
    expect(page.locator("#db-flagged-badge")).to_have_text("1")
    page.get_by_role("tab", name=re.compile("Voters")).click()
    card = page.locator(f"#db-voters article[data-voter='{bot}']")
    expect(card).to_be_visible()
    expect(page.locator("#db-voters article")).to_have_count(1)  # the honest voters are not
    expect(card.locator(".db-flags")).to_contain_text(["Always one side", "Too fast to read"])
    evidence = card.locator(".db-evidence li")
    expect(evidence.filter(has_text="chose the left idea in 100% of answers")).to_have_count(1)
    expect(evidence.filter(has_text="within 0.4 s of the pair appearing")).to_have_count(1)
    page.screenshot(path=artifacts / "dashboard-voters.png", full_page=True, animations="disabled")
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=artifacts / "dashboard-voters-phone.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})

    expect(page.locator("#db-voters-mode")).to_contain_text("Down-weighting is off")

    # Counting flagged voters a tenth is a setting, off until the organiser turns it on.
    page.get_by_role("tab", name="Settings").click()
    box = page.get_by_label("Count their answers a tenth automatically")
    expect(box).not_to_be_checked()
    box.check()
    page.locator("#db-settings button[type='submit']").first.click()
    expect(page.locator("#db-settings-note")).not_to_be_empty()
    with app_server.client(organiser_key) as c:
        assert c.get(f"/v1/surveys/{survey.id}").json()["down_weight_flagged"] is True
        assert c.get(f"/v1/surveys/{survey.id}/results").json()["down_weighted"] == 1
    page.get_by_role("tab", name=re.compile("Voters")).click()
    expect(page.locator("#db-voters-mode")).to_contain_text("Down-weighting is on")

    votes_before = int(page.locator("#db-n-votes").inner_text().replace(",", ""))
    # The page asks first; dismissing (what the test page does with every dialog) voids nothing.
    card.get_by_role("button", name=f"Void voter {bot}").click()
    assert "stop counting" in page.dialogs[-1]
    expect(card).to_be_visible()
    page.evaluate("window.confirm = () => true")  # now the organiser confirms
    card.get_by_role("button", name=f"Void voter {bot}").click()
    expect(page.locator("#db-voters-note")).to_contain_text(f"Voided voter {bot}")
    expect(page.locator("#db-voters-empty")).to_be_visible()
    expect(page.locator("#db-flagged-badge")).to_be_hidden()
    counted = re.search(
        r": (\d+) answers no longer count", page.locator("#db-voters-note").inner_text()
    )
    assert counted is not None and int(counted.group(1)) > 0
    # The results were recomputed without the bot's answers.
    expect(page.locator("#db-n-votes")).to_have_text(str(votes_before - int(counted.group(1))))
    page.screenshot(path=artifacts / "dashboard-voters-voided.png", animations="disabled")
