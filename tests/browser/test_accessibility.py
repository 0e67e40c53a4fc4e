"""Accessibility audited in a real browser: axe-core on every state of the widget and every tab
of the dashboard, at 320 and 1280 px, light and dark; and a keyboard-only walk through the widget.

axe-core comes bundled in ``axe-playwright-python`` (no download at run time). The audit runs the
rules tagged WCAG 2.0, 2.1 and 2.2 A and AA, and expects zero violations. Each test walks one
page through every state and reports every violation it met at the end, so one run shows them all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.base import AXE_SCRIPT
from playwright.sync_api import expect

from api.problems import PROBLEMS
from tests.browser.conftest import AppServer, Survey
from tests.browser.helpers import cast_votes, export_rows

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
IDEAS = [
    "Video follow-up by default for stable patients",
    "Nurse-led telephone clinics",
    "Patient-initiated follow-up instead of fixed appointments",
    "Shared care records patients can read",
    "Group clinics for long-term conditions",
]
LOOKS = [
    pytest.param(320, "light", id="320-light"),
    pytest.param(320, "dark", id="320-dark"),
    pytest.param(1280, "light", id="1280-light"),
    pytest.param(1280, "dark", id="1280-dark"),
]


class Audit:
    """Runs axe on a page in several states and keeps what each state violated."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.found: list[str] = []

    def __call__(self, state: str) -> None:
        self.page.wait_for_timeout(200)  # let entry animations and transitions finish
        if not self.page.evaluate("typeof window.axe !== 'undefined'"):
            self.page.evaluate(AXE_SCRIPT)
        result = self.page.evaluate(
            "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags},"
            " resultTypes: ['violations']})",
            WCAG_TAGS,
        )
        for v in result["violations"]:
            for node in v["nodes"]:
                self.found.append(
                    f"[{state}] {v['id']} ({v['impact']}): {', '.join(map(str, node['target']))}"
                    f"\n    {node['html'][:160]}\n    {node.get('failureSummary', '')[:300]}"
                )

    def check(self) -> None:
        assert not self.found, f"{len(self.found)} axe violations:\n" + "\n".join(self.found)


@pytest.fixture(scope="module")
def surveys(app_server: AppServer, organiser_key: str) -> dict[str, str]:
    """One survey with groups and ideas from voters, and one with some votes for the dashboard."""
    out = {}
    with app_server.client(organiser_key) as c:
        for name, extra in [
            ("groups", {"groups": ["Patient", "Carer", "Staff"], "allow_ideas": True}),
            ("plain", {"allow_ideas": True, "show_results_to_voters": True}),
        ]:
            body = {"question": "Which idea would improve follow-up most?", "ideas": IDEAS, **extra}
            body["description"] = "Pick the idea you think helps patients more."
            r = c.post("/v1/surveys", json=body)
            assert r.status_code == 201, r.text
            sid = r.json()["id"]
            assert c.post(f"/v1/surveys/{sid}/open").status_code == 200
            out[name] = sid
    cast_votes(app_server, out["plain"], 6, lambda a, b: "left" if a < b else "right")
    cast_votes(app_server, out["plain"], 4, lambda a, b: "right", group=None)
    return out


@pytest.fixture(scope="module")
def looks(browser: Any) -> Iterator[Callable[[int, str], Any]]:
    contexts: list[Any] = []

    def make(width: int, scheme: str) -> Any:
        ctx = browser.new_context(
            viewport={"width": width, "height": 800}, color_scheme=scheme, reduced_motion="reduce"
        )
        ctx.set_default_timeout(15_000)
        contexts.append(ctx)
        return ctx.new_page()

    yield make
    for ctx in contexts:
        ctx.close()


@pytest.mark.parametrize(("width", "scheme"), LOOKS)
def test_every_widget_state_has_no_axe_violations(
    app_server: AppServer,
    surveys: dict[str, str],
    looks: Callable[[int, str], Any],
    browser: Any,
    width: int,
    scheme: str,
) -> None:
    page = looks(width, scheme)
    audit = Audit(page)
    page.goto(f"{app_server.base}/w/{surveys['groups']}?thanks=2&accent=2952cc")
    expect(page.locator("#rk-group-view")).to_be_visible()
    audit("group question")
    # white text on the blue accent (6.6:1), not near-black (2.9:1) from misreading #2952cc
    accent_fg = "getComputedStyle(document.documentElement).getPropertyValue('--rk-accent-fg')"
    assert page.evaluate(accent_fg).strip() == "#ffffff"
    page.get_by_role("button", name="Staff").click()
    expect(page.locator("#rk-left")).to_be_enabled()
    audit("pair")
    page.locator("#rk-skip").click()
    page.get_by_role("button", name="Other…").click()
    expect(page.locator("#rk-other-text")).to_be_visible()
    audit("can't decide")
    page.locator("#rk-add").click()
    expect(page.locator("#rk-idea-text")).to_be_visible()
    page.locator("#rk-idea-submit").click()  # empty: shows the error message
    expect(page.locator("#rk-idea-error")).to_be_visible()
    audit("add idea")
    page.locator("#rk-comment").click()
    expect(page.locator("#rk-comment-text")).to_be_visible()
    audit("comment")
    page.keyboard.press("Escape")
    for _ in range(2):
        expect(page.locator("#rk-left")).to_be_enabled()
        page.locator("#rk-left").click()
    expect(page.locator("#rk-done-view")).to_be_visible()
    audit("thank you")
    page.locator("#rk-show-mine").click()
    expect(page.locator("#rk-results")).to_be_visible()
    audit("personal ranking")
    # the error state: the network fails while fetching the next pair
    page.route("**/ballots", lambda route: route.abort())
    page.locator("#rk-continue").click()
    expect(page.locator("#rk-retry")).to_be_visible()
    audit("error")
    page.unroute("**/ballots")

    public = looks(width, scheme)
    public_audit = Audit(public)
    public.goto(f"{app_server.base}/w/{surveys['plain']}?thanks=1&accent=%230a7c4f")
    expect(public.locator("#rk-left")).to_be_enabled()
    public.locator("#rk-right").click()
    public.locator("#rk-show-results").click()
    expect(public.locator("#rk-ranking li").first).to_be_visible()
    public_audit("public ranking")
    audit.found += public_audit.found
    audit.check()


@pytest.mark.parametrize(("width", "scheme"), LOOKS)
def test_every_dashboard_tab_has_no_axe_violations(
    app_server: AppServer,
    organiser_key: str,
    surveys: dict[str, str],
    looks: Callable[[int, str], Any],
    width: int,
    scheme: str,
) -> None:
    page = looks(width, scheme)
    audit = Audit(page)
    page.goto(f"{app_server.base}/dashboard#survey={surveys['plain']}")
    expect(page.get_by_label("Organiser key")).to_be_visible()
    audit("sign in")
    page.get_by_label("Organiser key").fill(organiser_key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#db-app")).to_have_attribute("data-survey", surveys["plain"])
    expect(page.locator("#db-n-votes")).not_to_have_text("–")  # (the widget test adds votes)
    expect(page.locator("#db-ranking-body tr").first).to_be_visible()
    tabs = page.get_by_role("tab")
    assert tabs.count() >= 7  # every tab there is, including ones added later
    for i in range(tabs.count()):
        tab = tabs.nth(i)
        tab.click()
        expect(tab).to_have_attribute("aria-selected", "true")
        audit(" ".join((tab.text_content() or "").split()))
    audit.check()


def test_keyboard_only_vote_skip_with_a_reason_undo_add_an_idea_and_comment(
    app_server: AppServer,
    organiser_key: str,
    make_survey: Callable[..., Survey],
    new_page: Callable[..., Any],
) -> None:
    survey = make_survey(IDEAS, allow_ideas=True, moderate_ideas=False)
    page = new_page(1024, 800)
    page.goto(f"{app_server.base}/w/{survey.id}")
    left = page.locator("#rk-left")
    expect(left).to_be_enabled()

    def tab_to(selector: str, limit: int = 20) -> None:
        for _ in range(limit):
            if page.evaluate("(s) => document.activeElement?.matches(s)", selector):
                return
            page.keyboard.press("Tab")
        raise AssertionError(f"Tab never reached {selector}")

    # vote: Tab to the first idea, Enter; then "2" picks the second idea of the next pair
    tab_to("#rk-left")
    page.keyboard.press("Enter")
    expect(page.locator("#rk-count")).to_have_text("1 vote")
    expect(left).to_be_focused()
    page.keyboard.press("2")
    expect(page.locator("#rk-count")).to_have_text("2 votes")

    # skip with a reason of one's own
    tab_to("#rk-skip")
    page.keyboard.press("Enter")
    expect(page.locator("#rk-skip-panel")).to_be_visible()
    tab_to("#rk-reasons [data-reason='other']")
    page.keyboard.press("Enter")
    expect(page.locator("#rk-other-text")).to_be_focused()
    page.keyboard.type("Both need more detail")
    tab_to("#rk-other button[type='submit']")
    page.keyboard.press("Enter")
    expect(page.locator("#rk-live")).to_contain_text("Skipped")
    expect(page.locator("#rk-message")).to_be_hidden()

    # undo twice (the skip, then the second vote), as the API allows
    for expected_count in ("2 votes", "1 vote"):
        tab_to("#rk-undo")
        page.keyboard.press("Enter")
        expect(page.locator("#rk-live")).to_contain_text("undone")
        expect(page.locator("#rk-count")).to_have_text(expected_count)
    page.wait_for_timeout(100)

    # add an idea
    tab_to("#rk-add")
    page.keyboard.press("Enter")
    expect(page.locator("#rk-idea-text")).to_be_focused()
    page.keyboard.type("Evening clinics once a week")
    tab_to("#rk-idea-submit")
    page.keyboard.press("Enter")
    expect(page.locator("#rk-message")).to_contain_text("Thank you")

    # comment on the second idea of the pair
    tab_to("#rk-comment")
    page.keyboard.press("Enter")
    expect(page.locator("#rk-comment-text")).to_be_focused()
    expect(page.locator("#rk-message")).to_be_hidden()  # the "idea sent" banner has gone
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("ArrowDown")  # the radio group: the second idea
    tab_to("#rk-comment-text")
    page.keyboard.type("Works well for people who work days")
    tab_to("#rk-comment-submit")
    page.keyboard.press("Enter")
    expect(page.locator("#rk-message")).to_contain_text("comment was posted")

    skips = export_rows(app_server, organiser_key, survey.id, "skips")
    assert [(s["reason"], s["reason_text"], s["valid"]) for s in skips] == [
        ("other", "Both need more detail", False)
    ]
    votes = export_rows(app_server, organiser_key, survey.id, "votes")
    assert [v["valid"] for v in votes] == [True, False]
    with app_server.client(organiser_key) as c:
        comments = c.get(f"/v1/surveys/{survey.id}/comments").json()
        ideas = c.get(f"/v1/surveys/{survey.id}/ideas").json()["ideas"]
    assert any(i["text"] == "Evening clinics once a week" for i in ideas)
    assert "Works well for people who work days" in str(comments)


def test_the_widget_has_a_sentence_for_every_problem_a_voter_can_meet() -> None:
    """Each problem ``code`` maps to words a voter understands (never the API's own detail)."""
    source = (Path(__file__).parents[2] / "api" / "web" / "widget.js").read_text()
    start = source.index("const MESSAGES = {")
    table = source[start : source.index("};", start)]
    known = set(re.findall(r"^\s+([a-z_]+):", table, flags=re.M))
    organiser_only = {"unauthorized", "signup_disabled", "survey_exists", "csv_invalid"}
    assert set(PROBLEMS) - organiser_only - known == set()
    assert "err.message" not in source  # the API's own wording is never shown to a voter


def test_the_description_is_plain_text_with_its_line_breaks(
    app_server: AppServer, make_survey: Callable[..., Survey], new_page: Callable[..., Any]
) -> None:
    """Descriptions are plain text (no Markdown): shown as written, line breaks kept."""
    text = "Two short paragraphs.\nThe second says *this* and <b>that</b> literally."
    survey = make_survey(IDEAS[:3], description=text)
    page = new_page(800, 600)
    page.goto(f"{app_server.base}/w/{survey.id}")
    desc = page.locator("#rk-desc")
    expect(desc).to_have_text(text)
    assert desc.evaluate("(d) => d.children.length") == 0
    lines = desc.evaluate(
        "(d) => Math.round(d.getBoundingClientRect().height"
        " / parseFloat(getComputedStyle(d).lineHeight))"
    )
    assert lines == 2
