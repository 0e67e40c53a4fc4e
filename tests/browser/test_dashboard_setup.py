"""The dashboard as a first-time organiser meets it: getting the widget onto a site, editing
ideas, reading vote counts and settings. (The main views are in test_dashboard.py.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import AppServer, HostServer, Survey
from tests.browser.helpers import cast_votes, export_rows, wait_events
from tests.browser.test_dashboard import IDEAS, sign_in


def test_share_tab_says_which_origin_to_add_and_allows_it(
    app_server: AppServer,
    organiser_key: str,
    make_survey: Callable[..., Survey],
    host_server: HostServer,
    new_page: Callable[..., Any],
) -> None:
    survey = make_survey(IDEAS[:3], origins=["https://elsewhere.example"])
    page = new_page(1100, 1000)
    sign_in(page, app_server, organiser_key, survey.id)
    page.get_by_role("tab", name="Embed & export").click()
    site_note = page.locator("#db-embed-site-note")
    expect(site_note).to_contain_text("Allowed now: https://elsewhere.example")
    page_address = page.get_by_label("Address of a page that will show the widget")
    page_address.fill("not a web address at all")
    expect(site_note).to_contain_text("not a web address")
    page_address.fill(f"{host_server.origin}/consultation/page?x=1")
    expect(site_note).to_contain_text(f"{host_server.origin} is not allowed yet")
    page.get_by_role("button", name="Allow this site").click()
    expect(site_note).to_contain_text(f"{host_server.origin} is allowed now")
    with app_server.client(organiser_key) as c:
        saved = c.get(f"/v1/surveys/{survey.id}").json()
    assert saved["embed_origins"] == ["https://elsewhere.example", host_server.origin]
    expect(page.get_by_role("button", name="Allow this site")).to_be_disabled()
    # the widget now shows on that site
    host = new_page()
    host.goto(host_server.embed_url(app_server, survey.id))
    assert wait_events(host, "ready", 1)[0]["survey"] == survey.id


def test_voiding_a_voter_lowers_the_voters_count(
    app_server: AppServer,
    organiser_key: str,
    make_survey: Callable[..., Survey],
    new_page: Callable[..., Any],
) -> None:
    survey = make_survey(IDEAS)
    cast_votes(app_server, survey.id, 2, lambda a, b: "left")
    cast_votes(app_server, survey.id, 2, lambda a, b: "right")
    page = new_page(1100, 1000)
    sign_in(page, app_server, organiser_key, survey.id)
    expect(page.locator("#db-n-voters")).to_have_text("2")
    expect(page.locator("#db-n-votes")).to_have_text("4")
    voter = export_rows(app_server, organiser_key, survey.id, "votes")[0]["voter"]
    page.get_by_role("tab", name="Settings").click()
    page.locator("#db-void-id").fill(voter)
    page.evaluate("window.confirm = () => true")  # (the fixture dismisses real dialogs)
    page.locator("#db-void button[type='submit']").click()
    expect(page.locator("#db-void-note")).to_contain_text("Voided 2 votes")
    expect(page.locator("#db-n-votes")).to_have_text("2")
    expect(page.locator("#db-n-voters")).to_have_text("1")


def test_ideas_tab_shows_vote_counts_and_edits_an_idea(
    app_server: AppServer,
    organiser_key: str,
    make_survey: Callable[..., Survey],
    new_page: Callable[..., Any],
) -> None:
    survey = make_survey(IDEAS)
    cast_votes(app_server, survey.id, 3, lambda a, b: "left")
    page = new_page(1100, 1000)
    sign_in(page, app_server, organiser_key, survey.id)
    page.get_by_role("tab", name="Ideas").click()
    rows = page.locator("#db-ideas li")
    expect(rows).to_have_count(len(IDEAS))
    expect(rows.first).to_contain_text("time")
    statuses = page.locator("#db-ideas .db-idea-status").all_text_contents()
    votes = [int(t.split(" vote")[0].rsplit("· ", 1)[1]) for t in statuses]
    assert sum(votes) == 2 * 3  # each answer counts for both ideas of its pair

    old = IDEAS[1]
    page.get_by_role("button", name=f"Edit: {old}").click()
    field = page.get_by_label("Idea text")
    expect(field).to_be_focused()
    field.fill("Nurse-led telephone and video clinics")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#db-ideas-note")).to_contain_text("Its votes are kept")
    expect(page.locator("#db-ideas")).to_contain_text("Nurse-led telephone and video clinics")
    with app_server.client(organiser_key) as c:
        listed = c.get(f"/v1/surveys/{survey.id}/ideas").json()["ideas"]
    texts = {i["id"]: i["text"] for i in listed}
    assert texts[survey.ideas[old]] == "Nurse-led telephone and video clinics"


def test_settings_say_what_each_model_and_sampler_does(
    app_server: AppServer,
    organiser_key: str,
    make_survey: Callable[..., Survey],
    new_page: Callable[..., Any],
) -> None:
    survey = make_survey(IDEAS[:3])
    page = new_page(1100, 1000)
    sign_in(page, app_server, organiser_key, survey.id)
    page.get_by_role("tab", name="Settings").click()
    model = page.get_by_label("Rating model")
    expect(model.locator("option[value='bt']")).to_have_text("bt: Bradley-Terry (recommended)")
    expect(page.locator("#set-model-hint")).to_contain_text("honest confidence intervals")
    sampler = page.get_by_label("Pair sampler")
    sampler.select_option("topk")
    expect(page.locator("#set-sampler-hint")).to_contain_text("top k")
    sampler.select_option("info-gain")
    expect(page.locator("#set-sampler-hint")).to_contain_text("too narrow")
    # every option says what it is, not only its id
    for select in (model, sampler):
        for text in select.locator("option").all_text_contents():
            assert ": " in text, text


def test_on_a_phone_every_tab_is_in_view_and_activity_times_name_their_zone(
    app_server: AppServer,
    organiser_key: str,
    make_survey: Callable[..., Survey],
    new_page: Callable[..., Any],
) -> None:
    survey = make_survey(IDEAS[:3])
    cast_votes(app_server, survey.id, 2, lambda a, b: "left")
    page = new_page(390, 844, timezone_id="Europe/Berlin")
    sign_in(page, app_server, organiser_key, survey.id)
    tabs = page.get_by_role("tab")
    expect(tabs.first).to_be_visible()
    assert tabs.count() >= 7
    for i in range(tabs.count()):
        box = tabs.nth(i).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    assert page.evaluate(
        "(() => { const t = document.getElementById('db-tabs');"
        " return t.scrollWidth <= t.clientWidth; })()"
    )
    page.get_by_role("tab", name="Activity").click()
    expect(page.locator("#db-activity-summary")).to_contain_text("Times are in Europe/Berlin (UTC+")
    expect(page.locator("#db-activity-table th").first).to_contain_text("From (Europe/Berlin")
