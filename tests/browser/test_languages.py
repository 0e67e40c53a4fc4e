"""The widget and the dashboard in every language they ship: complete catalogues, every widget
state and dashboard tab translated (no English left, no word from outside a catalogue) and free
of axe violations, right-to-left mirrored, the widget's language chosen by survey setting ->
embed -> browser -> English, and the organiser's translations entered and shown to voters.

Screenshots of every state in every language: ``tests/artifacts/lang-widget-{lang}-{state}.png``
and ``tests/artifacts/lang-dashboard-{lang}-{tab}.png``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS, AppServer, Survey
from tests.browser.helpers import cast_votes
from tests.browser.i18n_check import (
    CONTENT,
    SHOWN_TEXT,
    catalogue,
    english_fragments,
    forms,
    outside_catalogues,
    placeholders,
    pseudo,
    untranslated,
)
from tests.browser.test_accessibility import Audit
from tests.browser.test_dashboard import sign_in

LANGUAGES = ["cy", "pl", "ar"]
PAGES = ["widget", "dashboard"]
IDEAS = [
    "Video follow-up by default for stable patients",
    "Nurse-led telephone clinics",
    "Patient-initiated follow-up instead of fixed appointments",
    "Shared care records patients can read",
    "Group clinics for long-term conditions",
]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("page_name", PAGES)
def test_every_catalogue_has_every_key_with_the_same_placeholders(
    page_name: str, lang: str
) -> None:
    en, other = catalogue(page_name, "en"), catalogue(page_name, lang)
    assert sorted(set(en) - set(other)) == [], "missing"
    assert sorted(set(other) - set(en)) == [], "not in English (stale)"
    for key, message in en.items():
        assert isinstance(other[key], dict) == isinstance(message, dict), key
        assert placeholders(other[key]) == placeholders(message), key
        assert all(t.strip() for t in forms(other[key])), key


def test_counts_have_every_plural_form_of_their_language(new_page: Callable[..., Any]) -> None:
    """Each count message has exactly the Intl.PluralRules categories of its language."""
    page = new_page(400, 300)
    for page_name in PAGES:
        for lang in ["en", *LANGUAGES]:
            wanted = set(
                page.evaluate(
                    "(l) => new Intl.PluralRules(l).resolvedOptions().pluralCategories", lang
                )
            )
            for key, message in catalogue(page_name, lang).items():
                if isinstance(message, dict):
                    assert set(message) == wanted, (page_name, lang, key)


@pytest.fixture(scope="module")
def survey(app_server: AppServer, organiser_key: str) -> str:
    """Groups, ideas from voters, a public ranking and some votes: every widget state."""
    body = {
        "question": "Which idea would improve follow-up most?",
        "description": "Pick the idea you think helps patients more.",
        "ideas": IDEAS,
        "groups": ["Patient", "Carer", "Staff"],
        "allow_ideas": True,
        "show_results_to_voters": True,
    }
    with app_server.client(organiser_key) as c:
        r = c.post("/v1/surveys", json=body)
        assert r.status_code == 201, r.text
        sid = str(r.json()["id"])
        assert c.post(f"/v1/surveys/{sid}/open").status_code == 200
    cast_votes(app_server, sid, 8, lambda a, b: "left" if a < b else "right")
    cast_votes(app_server, sid, 6, lambda a, b: "right", group="Staff")
    with app_server.client() as c:  # a comment and a flag for the Comments tab
        voter = c.post(f"/v1/public/surveys/{sid}/voters", json={}).json()["token"]
        headers = {"X-Voter-Token": voter}
        assert (
            c.post(
                f"/v1/public/surveys/{sid}/ideas/0/comments",
                json={"text": "Works for me"},
                headers=headers,
            ).status_code
            == 201
        )
        assert (
            c.post(
                f"/v1/public/surveys/{sid}/ideas/1/flags",
                json={"reason": "off topic"},
                headers=headers,
            ).status_code
            == 201
        )
    return sid


def walk_widget(page: Any, base: str, sid: str, lang: str, seen: Callable[[str], None]) -> None:
    """Take the widget through every state, calling ``seen(state)`` in each."""
    page.goto(f"{base}/w/{sid}?thanks=2&lang={lang}")
    expect(page.locator("#rk-group-view")).to_be_visible()
    seen("group")
    page.locator("#rk-groups button").nth(1).click()
    expect(page.locator("#rk-left")).to_be_enabled()
    seen("pair")
    page.locator("#rk-skip").click()
    page.locator("#rk-reasons [data-reason=other]").click()
    expect(page.locator("#rk-other-text")).to_be_visible()
    seen("cant-decide")
    page.locator("#rk-add").click()
    page.locator("#rk-idea-text").fill("Evening clinics")
    page.locator("#rk-idea-text").fill("")
    page.locator("#rk-idea-submit").click()
    expect(page.locator("#rk-idea-error")).to_be_visible()
    seen("add-idea")
    page.locator("#rk-comment").click()
    expect(page.locator("#rk-comment-text")).to_be_visible()
    page.locator("#rk-comment-submit").click()
    expect(page.locator("#rk-comment-error")).to_be_visible()
    seen("comment")
    page.keyboard.press("Escape")
    for _ in range(2):
        expect(page.locator("#rk-left")).to_be_enabled()
        page.locator("#rk-left").click()
    expect(page.locator("#rk-done-view")).to_be_visible()
    expect(page.locator("#rk-live")).not_to_be_empty()
    seen("thank-you")
    page.locator("#rk-show-results").click()
    expect(page.locator("#rk-ranking li").first).to_be_visible()
    seen("public-ranking")
    page.locator("#rk-show-mine").click()
    expect(page.locator("#rk-mine")).to_be_visible()
    seen("personal-ranking")
    page.route("**/ballots", lambda route: route.abort())
    page.locator("#rk-continue").click()
    expect(page.locator("#rk-retry")).to_be_visible()
    seen("error")
    page.unroute("**/ballots")


@pytest.mark.parametrize("lang", ["en", *LANGUAGES])
def test_every_widget_state_is_in_the_language_asked_for(
    app_server: AppServer, survey: str, new_page: Callable[..., Any], lang: str
) -> None:
    """... with zero axe violations (WCAG 2.2 AA) in each, right to left included."""
    page = new_page(760, 900, reduced_motion="reduce")
    fragments = english_fragments("widget", lang) if lang != "en" else set()
    found: list[str] = []
    audit = Audit(page)

    def seen(state: str) -> None:
        audit(f"{lang} {state}")
        assert page.evaluate("document.documentElement.lang") == lang
        assert page.evaluate("document.documentElement.dir") == ("rtl" if lang == "ar" else "ltr")
        shown = page.evaluate(SHOWN_TEXT, ["#rk", CONTENT])
        found.extend(f"[{state}] {f}" for f in untranslated(shown, fragments))
        page.screenshot(path=str(ARTIFACTS / f"lang-widget-{lang}-{state}.png"), full_page=True)

    walk_widget(page, app_server.base, survey, lang, seen)
    assert not found, "English words left:\n" + "\n".join(found)
    audit.check()


def test_every_widget_word_comes_from_a_catalogue(
    app_server: AppServer, survey: str, new_page: Callable[..., Any]
) -> None:
    """With a catalogue that marks each message ⟦so⟧, nothing on the page is unmarked."""
    page = new_page(760, 900, reduced_motion="reduce")
    body = f'rankerI18n.add("widget", "cy", {pseudo("widget")});'
    page.route(
        "**/web/i18n/widget.cy.js*",
        lambda route: route.fulfill(body=body, content_type="text/javascript"),
    )
    found: list[str] = []

    def seen(state: str) -> None:
        page.wait_for_timeout(100)
        shown = page.evaluate(SHOWN_TEXT, ["#rk", CONTENT])
        found.extend(f"[{state}] {line}" for line in outside_catalogues(shown))

    walk_widget(page, app_server.base, survey, "cy", seen)
    assert not found, "words from no catalogue:\n" + "\n".join(found)


@pytest.fixture
def translated(
    make_survey: Callable[..., Survey], app_server: AppServer, organiser_key: str
) -> Iterator[Survey]:
    survey = make_survey(
        ["More nurses", "Longer opening hours", "عيادات مسائية Evening clinics"],
        question="Which is better?",
        description="Pick one.",
        translations={"cy": {"question": "Pa un sy’n well?", "description": "Dewiswch un."}},
    )
    with app_server.client(organiser_key) as c:
        for text, tr in [
            ("More nurses", {"cy": "Mwy o nyrsys", "ar": "مزيد من الممرضين"}),
            ("Longer opening hours", {"cy": "Oriau agor hirach"}),
        ]:
            r = c.patch(
                f"/v1/surveys/{survey.id}/ideas/{survey.ideas[text]}", json={"translations": tr}
            )
            assert r.status_code == 200, r.text
    yield survey


def test_voters_see_the_organisers_translations_in_their_language(
    app_server: AppServer, translated: Survey, new_page: Callable[..., Any]
) -> None:
    page = new_page(760, 700)
    page.goto(f"{app_server.base}/w/{translated.id}?lang=cy")
    expect(page.locator("#rk-question")).to_have_text("Pa un sy’n well?")
    expect(page.locator("#rk-question")).to_have_attribute("lang", "cy")
    expect(page.locator("#rk-desc")).to_have_text("Dewiswch un.")
    expect(page.locator("#rk-left")).to_be_enabled()
    shown = {
        page.locator("#rk-left-text").inner_text(),
        page.locator("#rk-right-text").inner_text(),
    }
    welsh = {"Mwy o nyrsys", "Oriau agor hirach", "عيادات مسائية Evening clinics"}
    assert shown <= welsh, shown
    for side in ("#rk-left-text", "#rk-right-text"):
        assert page.locator(side).get_attribute("dir") == "auto"  # mixed-script ideas isolated
    page.screenshot(path=str(ARTIFACTS / "lang-widget-cy-organiser-translations.png"))


def test_the_language_follows_survey_then_embed_then_browser(
    app_server: AppServer,
    make_survey: Callable[..., Survey],
    organiser_key: str,
    new_page: Callable[..., Any],
) -> None:
    survey = make_survey(IDEAS[:3])
    url = f"{app_server.base}/w/{survey.id}"
    polish_browser = new_page(700, 500, locale="pl-PL")
    polish_browser.goto(url)
    expect(polish_browser.locator("#rk-skip")).to_have_text("Nie mogę się zdecydować")
    polish_browser.goto(url + "?lang=ar")  # the embed's choice beats the browser's
    expect(polish_browser.locator("html")).to_have_attribute("dir", "rtl")
    expect(polish_browser.locator("#rk-skip")).to_have_text("لا أستطيع أن أقرّر")
    with app_server.client(organiser_key) as c:
        assert c.patch(f"/v1/surveys/{survey.id}", json={"language": "cy"}).status_code == 200
    polish_browser.goto(url + "?lang=ar")  # the survey's setting beats both
    expect(polish_browser.locator("#rk-skip")).to_have_text("Alla i ddim penderfynu")
    expect(polish_browser.locator("html")).to_have_attribute("lang", "cy")
    unknown = new_page(700, 500, locale="ja-JP")
    unknown.goto(f"{app_server.base}/w/{make_survey(IDEAS[:3]).id}?lang=xx")
    expect(unknown.locator("#rk-skip")).to_have_text("I can’t decide")  # English at the end


def test_right_to_left_mirrors_the_pair_and_the_arrow_keys(
    app_server: AppServer, make_survey: Callable[..., Survey], new_page: Callable[..., Any]
) -> None:
    survey = make_survey(IDEAS[:3])
    page = new_page(900, 600)
    page.goto(f"{app_server.base}/w/{survey.id}?lang=ar")
    expect(page.locator("#rk-left")).to_be_enabled()
    first = page.locator("#rk-left").bounding_box()
    second = page.locator("#rk-right").bounding_box()
    assert first and second and first["x"] > second["x"]  # the first idea is on the right
    first_text = page.locator("#rk-left-text").inner_text()
    page.keyboard.press("ArrowRight")  # points at the first idea
    expect(page.locator("#rk-live")).to_contain_text(first_text)


def test_the_organiser_enters_translations_in_the_dashboard(
    app_server: AppServer,
    organiser_key: str,
    make_survey: Callable[..., Survey],
    new_page: Callable[..., Any],
) -> None:
    """Settings: the survey's language and its question translated; Ideas: an idea translated
    (Edit); the widget then shows them to a Welsh voter, the dashboard keeps the organiser's."""
    survey = make_survey(["More nurses", "Longer opening hours"], question="Which is better?")
    page = new_page(1100, 1200)
    sign_in(page, app_server, organiser_key, survey.id)
    page.get_by_role("tab", name="Settings").click()
    page.get_by_role("button", name="Add a translation").click()
    page.get_by_label("Language tag").fill("cy")
    page.get_by_label("Question in Welsh").fill("Pa un sy’n well?")
    page.locator("#set-language-fields").screenshot(
        path=str(ARTIFACTS / "lang-dashboard-settings.png")
    )
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#db-settings-note")).to_contain_text("Settings saved")
    page.get_by_role("tab", name="Ideas").click()
    page.get_by_role("button", name="Edit: More nurses").click()
    page.get_by_label("Idea in Welsh (cy)").fill("Mwy o nyrsys")
    page.get_by_label("Another language: tag").fill("ar")
    page.get_by_label("Another language: the idea in it").fill("مزيد من الممرضين")
    page.screenshot(path=str(ARTIFACTS / "lang-dashboard-idea-translations.png"))
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#db-ideas-note")).to_contain_text("Translations")
    expect(page.locator("#db-ideas")).to_contain_text("More nurses")
    expect(page.locator("#db-ideas")).to_contain_text("in cy and ar")
    page.screenshot(path=str(ARTIFACTS / "lang-dashboard-translations.png"), full_page=True)
    with app_server.client(organiser_key) as c:
        s = c.get(f"/v1/surveys/{survey.id}").json()
        idea = c.get(f"/v1/surveys/{survey.id}/ideas").json()["ideas"][survey.ideas["More nurses"]]
    assert s["translations"] == {"cy": {"question": "Pa un sy’n well?", "description": ""}}
    assert s["language"] == ""
    assert idea["translations"] == {"cy": "Mwy o nyrsys", "ar": "مزيد من الممرضين"}
    widget = new_page(700, 500)
    widget.goto(f"{app_server.base}/w/{survey.id}?lang=cy")
    expect(widget.locator("#rk-question")).to_have_text("Pa un sy’n well?")
    expect(widget.locator("#rk-pair")).to_contain_text("Mwy o nyrsys")


def walk_dashboard(
    page: Any, base: str, key: str, sid: str, lang: str, seen: Callable[[str], None]
) -> None:
    """Sign in and visit every tab of the dashboard (and the edit and new-survey forms)."""
    page.goto(f"{base}/dashboard?lang={lang}#survey={sid}")
    expect(page.locator("#db-key")).to_be_visible()
    seen("sign-in")
    page.locator("#db-key").fill(key)
    page.locator("#db-signin-submit").click()
    expect(page.locator("#db-app")).to_have_attribute("data-survey", sid)
    expect(page.locator("#db-ranking-body tr").first).to_be_visible()
    tabs = page.get_by_role("tab")
    for i in range(tabs.count()):
        tab = tabs.nth(i)
        tab.click()
        expect(tab).to_have_attribute("aria-selected", "true")
        name = (tab.get_attribute("id") or f"tab-{i}").removeprefix("tab-")
        page.wait_for_timeout(300)  # the tab's data
        seen(name)
        if name == "ideas":
            page.locator("#db-ideas li").first.get_by_role("button").first.click()
            expect(page.locator(".db-edit-idea")).to_be_visible()
            seen("ideas-edit")
            page.locator(".db-edit-idea button[type=button]").click()
    page.locator("#db-new-survey").click()
    expect(page.locator("#db-new-dialog")).to_be_visible()
    seen("new-survey")
    page.locator("#db-new-cancel").click()


@pytest.mark.parametrize("lang", ["en", *LANGUAGES])
def test_every_dashboard_tab_is_in_the_language_asked_for(
    app_server: AppServer, organiser_key: str, survey: str, new_page: Callable[..., Any], lang: str
) -> None:
    """... with zero axe violations in each tab, right to left included."""
    page = new_page(1280, 1000, reduced_motion="reduce")
    fragments = english_fragments("dashboard", lang) if lang != "en" else set()
    found: list[str] = []
    audit = Audit(page)

    def seen(state: str) -> None:
        audit(f"{lang} {state}")
        assert page.evaluate("document.documentElement.lang") == lang
        assert page.evaluate("document.documentElement.dir") == ("rtl" if lang == "ar" else "ltr")
        shown = page.evaluate(SHOWN_TEXT, ["body", CONTENT])
        for idea in IDEAS:  # in labels only screen readers read ("Edit: <idea>")
            shown = shown.replace(idea, "▣")
        found.extend(f"[{state}] {f}" for f in untranslated(shown, fragments))
        page.screenshot(path=str(ARTIFACTS / f"lang-dashboard-{lang}-{state}.png"), full_page=True)

    walk_dashboard(page, app_server.base, organiser_key, survey, lang, seen)
    assert not found, "English words left:\n" + "\n".join(found)
    audit.check()


def test_every_dashboard_word_comes_from_a_catalogue(
    app_server: AppServer, organiser_key: str, survey: str, new_page: Callable[..., Any]
) -> None:
    """With a catalogue that marks each message, nothing on any tab is unmarked."""
    page = new_page(1280, 1000, reduced_motion="reduce")
    body = f'rankerI18n.add("dashboard", "cy", {pseudo("dashboard")});'
    page.route(
        "**/web/i18n/dashboard.cy.js*",
        lambda route: route.fulfill(body=body, content_type="text/javascript"),
    )
    found: list[str] = []

    def seen(state: str) -> None:
        shown = page.evaluate(SHOWN_TEXT, ["body", CONTENT])
        found.extend(f"[{state}] {line}" for line in outside_catalogues(shown))

    walk_dashboard(page, app_server.base, organiser_key, survey, "cy", seen)
    assert not found, "words from no catalogue:\n" + "\n".join(found)


# The tests above audit every language at one width in the light scheme; these cover the
# other widths and schemes, so each translated language is audited at 320 and 1280 px (760
# for the widget), light and dark, as English is in test_accessibility.
COMBOS = [(320, "light"), (320, "dark"), (1280, "dark")]


@pytest.mark.parametrize(("width", "scheme"), COMBOS)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_axe_violations_at_every_width_and_scheme(
    app_server: AppServer,
    organiser_key: str,
    survey: str,
    new_page: Callable[..., Any],
    lang: str,
    width: int,
    scheme: str,
) -> None:
    widget = new_page(width, 900, reduced_motion="reduce", color_scheme=scheme)
    audit = Audit(widget)
    walk_widget(widget, app_server.base, survey, lang, lambda s: audit(f"widget {s}"))
    dash = new_page(width, 1000, reduced_motion="reduce", color_scheme=scheme)
    board = Audit(dash)
    walk_dashboard(dash, app_server.base, organiser_key, survey, lang, lambda s: board(f"tab {s}"))
    audit.check()
    board.check()
