"""The widget after a failure: words a voter understands, and no reload needed to carry on."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import AppServer, Survey
from tests.browser.helpers import export_rows

IDEAS = ["Evening clinics", "Telephone follow-up", "Shared care records", "Group clinics"]


def test_a_refused_answer_leaves_the_pair_usable_and_try_again_brings_a_fresh_pair(
    app_server: AppServer,
    organiser_key: str,
    make_survey: Callable[..., Survey],
    new_page: Callable[..., Any],
) -> None:
    survey = make_survey(IDEAS)
    page = new_page(900, 700)
    page.goto(f"{app_server.base}/w/{survey.id}")
    left = page.locator("#rk-left")
    expect(left).to_be_enabled()

    # The server refuses the answer as invalid (what "Other…" with a note used to meet).
    problem = {
        "title": "Request failed validation",
        "status": 400,
        "code": "validation_error",
        "detail": "Validation failed for POST /v1/public/surveys/x/answers",
    }
    page.route(
        "**/answers",
        lambda route: route.fulfill(
            status=400, content_type="application/problem+json", body=json.dumps(problem)
        ),
    )
    first_pair = page.locator("#rk-left-text").text_content()
    left.click()
    message = page.locator("#rk-message")
    expect(message).to_have_text(
        "Something went wrong sending your answer. Press “Try again” to carry on."
    )
    expect(message).not_to_contain_text("Validation failed")
    expect(left).to_be_enabled()  # the pair stays usable
    page.unroute("**/answers")
    page.locator("#rk-retry").click()  # a fresh pair, not the same request again
    expect(message).to_be_hidden()
    expect(left).to_be_enabled()
    left.click()
    expect(page.locator("#rk-count")).to_have_text("1 vote")
    assert len(export_rows(app_server, organiser_key, survey.id, "votes")) == 1
    assert first_pair  # (the refused pair is simply not answered)

    # The network fails: "Try again" sends the same answer once more, and it counts once.
    page.route("**/answers", lambda route: route.abort())
    expect(left).to_be_enabled()
    page.locator("#rk-right").click()
    expect(message).to_have_text("Could not reach the server. Check your connection and try again.")
    page.unroute("**/answers")
    page.locator("#rk-retry").click()
    expect(page.locator("#rk-count")).to_have_text("2 votes")
    assert len(export_rows(app_server, organiser_key, survey.id, "votes")) == 2


def test_other_with_a_note_is_accepted(
    app_server: AppServer,
    organiser_key: str,
    make_survey: Callable[..., Survey],
    new_page: Callable[..., Any],
) -> None:
    survey = make_survey(IDEAS)
    page = new_page(900, 700)
    page.goto(f"{app_server.base}/w/{survey.id}")
    expect(page.locator("#rk-left")).to_be_enabled()
    page.locator("#rk-skip").click()
    page.get_by_role("button", name="Other…").click()
    page.get_by_label("Your reason (optional)").fill("Both are already done here")
    page.get_by_role("button", name="Skip this pair").click()
    expect(page.locator("#rk-live")).to_contain_text("Skipped. New pair:")
    expect(page.locator("#rk-message")).to_be_hidden()
    skips = export_rows(app_server, organiser_key, survey.id, "skips")
    assert [(s["reason"], s["reason_text"]) for s in skips] == [
        ("other", "Both are already done here")
    ]
