"""The dashboard's Voters tab: flagged voters with the evidence in words, voided one by one or
all at once; and the survey's clear pairs for undecided voters (``verify_voters``) in Settings."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import AppServer, Survey
from tests.browser.helpers import cast_votes
from tests.browser.test_accessibility import Audit
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


def test_void_all_voids_every_listed_voter_after_confirming_and_names_failures(
    app_server: AppServer,
    organiser_key: str,
    make_survey: Callable[..., Survey],
    new_page: Callable[..., Any],
    artifacts: Path,
) -> None:
    survey = make_survey(IDEAS, limits={"answers_per_minute": 0})
    for _ in range(3):  # honest voters, too few answers to be judged
        cast_votes(
            app_server, survey.id, 6, lambda left, right: "left" if left < right else "right"
        )
    bots = [_bot(app_server, survey.id, 25) for _ in range(4)]

    page = new_page(1280, 900)
    sign_in(page, app_server, organiser_key, survey.id)
    expect(page.locator("#db-flagged-badge")).to_have_text("4")
    page.get_by_role("tab", name=re.compile("Voters")).click()
    expect(page.locator("#db-voters article")).to_have_count(4)
    void_all = page.get_by_role("button", name="Void all 4 listed voters")
    expect(void_all).to_be_visible()
    audit = Audit(page)
    audit("voters listed")
    page.screenshot(path=artifacts / "dashboard-voters-void-all.png", animations="disabled")

    # Right to left: the button is translated and starts at the right, like the cards.
    arabic = new_page(1280, 900)
    arabic.goto(f"{app_server.base}/dashboard?lang=ar#survey={survey.id}")
    arabic.locator("#db-key").fill(organiser_key)
    arabic.locator("#db-signin-submit").click()
    arabic.locator("#tab-voters").click()
    button = arabic.locator("#db-void-all")
    expect(button).to_have_text("ألغِ المصوّتين المدرجين الـ4 جميعًا")
    # The list is redrawn as it refreshes, so both edges are read in one go in the page (two
    # separate bounding_box calls once straddled a redraw and found the card detached).
    expect(arabic.locator("#db-voters article")).to_have_count(4)
    right_edges = arabic.evaluate(
        """() => ["#db-void-all", "#db-voters article"]
            .map((sel) => document.querySelector(sel).getBoundingClientRect().right)"""
    )
    assert abs(right_edges[0] - right_edges[1]) < 2, right_edges
    Audit(arabic)("ar voters listed")
    arabic.screenshot(path=artifacts / "dashboard-voters-void-all-ar.png", animations="disabled")

    # The page asks first, naming how many and what happens; dismissing voids nothing.
    void_all.click()
    asked = page.dialogs[-1]
    assert "Void all 4 listed voters?" in asked and "stop counting" in asked, asked
    assert "cannot be undone" in asked, asked
    expect(page.locator("#db-voters article")).to_have_count(4)

    # One void fails (the server refuses it): the others go through, the failure is named.
    failing = bots[1]
    problem = '{"title": "Server error", "detail": "Try again later", "status": 500}'
    page.route(
        f"**/voters/{failing}/void",
        lambda route: route.fulfill(
            status=500, body=problem, content_type="application/problem+json"
        ),
    )
    page.evaluate("window.confirm = () => true")  # now the organiser confirms
    void_all.click()
    note = page.locator("#db-voters-note")
    expect(note).to_contain_text("Voided 3 voters: 75 answers no longer count")
    expect(note).to_contain_text(f"1 voter could not be voided: voter \u2068{failing}\u2069")
    expect(note).to_contain_text("Try again later")
    expect(note).to_have_attribute("data-kind", "error")
    expect(page.locator("#db-voters article")).to_have_count(1)
    expect(page.locator(f"#db-voters article[data-voter='{failing}']")).to_be_visible()
    retry = page.get_by_role("button", name="Void the 1 listed voter")
    expect(retry).to_be_enabled()
    expect(retry).to_be_focused()  # the button is still there: the focus stays on it

    page.unroute(f"**/voters/{failing}/void")
    retry.click()
    expect(note).to_have_text(
        "Voided 1 voter: 25 answers no longer count. The ranking has been recomputed."
    )
    expect(page.locator("#db-voters-empty")).to_be_visible()
    expect(page.locator("#db-voters-bulk")).to_be_hidden()
    expect(page.locator("#db-flagged-badge")).to_be_hidden()
    expect(note).to_be_focused()  # the button went away with the list: the summary has focus
    audit("all voided")
    audit.check()
    with app_server.client(organiser_key) as c:
        path = f"/v1/surveys/{survey.id}/voters/flagged"
        assert c.get(path).json()["voters"] == []
        listed = c.get(path, params={"include_voided": "true"}).json()["voters"]
    assert {v["voter"] for v in listed if v["voided"]} == set(bots)
    assert int(page.locator("#db-n-votes").inner_text().replace(",", "")) == 3 * 6
    page.screenshot(
        path=artifacts / "dashboard-voters-void-all-done.png", full_page=True, animations="disabled"
    )


def test_clear_pairs_for_undecided_voters_is_a_setting_that_round_trips(
    app_server: AppServer,
    organiser_key: str,
    make_survey: Callable[..., Survey],
    new_page: Callable[..., Any],
    artifacts: Path,
) -> None:
    survey = make_survey(IDEAS)
    page = new_page(1280, 1400)
    sign_in(page, app_server, organiser_key, survey.id)
    page.get_by_role("tab", name="Settings").click()
    box = page.get_by_label("Clear pairs for undecided voters")
    expect(box).to_be_checked()  # on by default, as the API's
    hint = page.locator("#set-verify-hint")
    expect(hint).to_contain_text("nothing measurable")
    expect(hint).to_contain_text("until you void the listed bots")
    page.locator("#set-down-weight-fields").screenshot(path=artifacts / "dashboard-verify.png")

    box.uncheck()
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#db-settings-note")).to_contain_text("Settings saved")
    with app_server.client(organiser_key) as c:
        assert c.get(f"/v1/surveys/{survey.id}").json()["verify_voters"] is False

    page.reload()  # the key stays in this tab: the form is filled from the server again
    expect(page.locator("#db-app")).to_have_attribute("data-survey", survey.id)
    page.get_by_role("tab", name="Settings").click()
    expect(page.get_by_label("Clear pairs for undecided voters")).not_to_be_checked()
    page.get_by_label("Clear pairs for undecided voters").check()
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#db-settings-note")).to_contain_text("Settings saved")
    with app_server.client(organiser_key) as c:
        assert c.get(f"/v1/surveys/{survey.id}").json()["verify_voters"] is True
