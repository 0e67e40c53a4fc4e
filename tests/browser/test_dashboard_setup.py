"""The dashboard as a first-time organiser meets it: getting the widget onto a site, editing
ideas, reading vote counts and settings. (The main views are in test_dashboard.py.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import AppServer, HostServer, Survey
from tests.browser.helpers import wait_events
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
