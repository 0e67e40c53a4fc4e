"""The embeddable widget in a real browser, embedded by a host page on another origin."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import AppServer, HostServer, Survey
from tests.browser.helpers import cast_votes, export_rows, results, wait_events, wait_fitted

IDEAS = [
    "Video follow-up by default for stable patients",
    "Nurse-led telephone clinics",
    "Patient-initiated follow-up instead of fixed appointments",
    "Shared care records patients can read",
    "Group clinics for long-term conditions",
]


def open_embedded(page: Any, host: HostServer, app: AppServer, survey: Survey, **data: str) -> Any:
    """Load the host page, wait for the widget's ready event and a votable pair."""
    page.goto(host.embed_url(app, survey.id, **data))
    wait_events(page, "ready", 1)
    widget = page.frame_locator("iframe.ranker-widget")
    expect(widget.locator("#rk-left")).to_be_enabled()
    return widget


def test_vote_by_click_and_keyboard_and_the_host_hears_every_vote(
    app_server: AppServer,
    organiser_key: str,
    make_survey: Callable[..., Survey],
    host_server: HostServer,
    new_page: Callable[..., Any],
    artifacts: Path,
) -> None:
    survey = make_survey(IDEAS, origins=[host_server.origin])
    page = new_page(1024, 900)
    widget = open_embedded(page, host_server, app_server, survey)
    expect(widget.locator("#rk-question")).to_have_text(survey.raw["question"])
    frame = page.locator("iframe.ranker-widget")
    frame.screenshot(path=artifacts / "widget-desktop.png", animations="disabled")

    expected: list[tuple[str, int, int]] = []  # (choice, left id, right id)

    def pair() -> tuple[int, int]:
        left = widget.locator("#rk-left-text").text_content()
        right = widget.locator("#rk-right-text").text_content()
        assert left and right and left != right
        return survey.ideas[left], survey.ideas[right]

    # 1. mouse click on the first idea
    left, right = pair()
    widget.locator("#rk-left").click()
    expected.append(("left", left, right))
    vote = wait_events(page, "vote", 1)[-1]
    assert (vote["choice"], vote["winner"], vote["loser"]) == ("left", left, right)

    # 2-4. keyboard: "2", the left arrow, then Enter on the focused button. Focus moves to the
    # new pair after each vote, so the keys need no clicking in between.
    for n, (key, choice) in enumerate([("2", "right"), ("ArrowLeft", "left"), ("Enter", "left")]):
        expect(widget.locator("#rk-left")).to_be_enabled()
        expect(widget.locator("#rk-left")).to_be_focused()
        left, right = pair()
        page.keyboard.press(key)
        expected.append((choice, left, right))
        vote = wait_events(page, "vote", n + 2)[-1]
        winner, loser = (left, right) if choice == "left" else (right, left)
        assert (vote["choice"], vote["winner"], vote["loser"]) == (choice, winner, loser)

    expect(widget.locator("#rk-count")).to_have_text("4 votes")
    expect(widget.locator("#rk-live")).to_contain_text("Vote recorded")

    # The server recorded exactly these answers, in order.
    rows = export_rows(app_server, organiser_key, survey.id, "votes")
    assert [(r["outcome"], r["left"], r["right"]) for r in rows] == expected
    assert results(app_server, organiser_key, survey.id)["n_votes"] == 4

    # Every event is versioned and names the survey; every message came from the app's origin.
    events = page.evaluate("window.rankerEvents")
    assert {e["ranker"] for e in events} == {1}
    assert {e["survey"] for e in events} == {survey.id}
    origins = page.evaluate(
        "window.rankerMessages.filter((m) => m.data && m.data.ranker).map((m) => m.origin)"
    )
    assert set(origins) == {app_server.base}
    # The loader resized the iframe to the widget's reported height.
    height = wait_events(page, "resize", 1)[-1]["height"]
    frame_height = page.locator("iframe.ranker-widget").evaluate("(f) => f.style.height")
    assert frame_height == f"{max(120, height)}px"


def test_loader_ignores_messages_not_sent_by_its_widget(
    app_server: AppServer,
    make_survey: Callable[..., Survey],
    host_server: HostServer,
    new_page: Callable[..., Any],
) -> None:
    survey = make_survey(IDEAS[:3], origins=[host_server.origin])
    page = new_page()
    open_embedded(page, host_server, app_server, survey)
    frame = page.evaluate("window.rankerEvents[0].frame")
    before = page.locator("iframe.ranker-widget").evaluate("(f) => f.style.height")
    # A script on the host page (any origin but the widget's) forges widget messages.
    page.evaluate(
        """([frame, survey]) => {
            window.postMessage({ranker: 1, type: "vote", frame, survey, choice: "left"}, "*");
            window.postMessage({ranker: 1, type: "resize", frame, survey, height: 3000}, "*");
        }""",
        [frame, survey.id],
    )
    page.wait_for_function(
        "window.rankerMessages.filter((m) => m.origin === location.origin).length >= 2"
    )
    assert wait_events(page, "vote", 0) == []
    assert page.locator("iframe.ranker-widget").evaluate("(f) => f.style.height") == before


def test_a_site_not_on_the_allow_list_cannot_frame_the_widget(
    app_server: AppServer,
    make_survey: Callable[..., Survey],
    host_server: HostServer,
    other_host_server: HostServer,
    new_page: Callable[..., Any],
) -> None:
    survey = make_survey(IDEAS[:3], origins=[host_server.origin])

    # Control: the allowed site embeds it with a plain iframe, and hears "ready".
    page = new_page()
    page.goto(host_server.iframe_url(app_server, survey.id))
    page.wait_for_function("window.rankerMessages.some((m) => m.data && m.data.type === 'ready')")
    ready = page.evaluate("window.rankerMessages.find((m) => m.data.type === 'ready')")
    assert ready["origin"] == app_server.base

    # Another origin: chromium refuses to render the frame (CSP frame-ancestors).
    blocked = new_page()
    with blocked.expect_event(
        "console", predicate=lambda m: "frame-ancestors" in m.text
    ) as violation:
        blocked.goto(other_host_server.embed_url(app_server, survey.id))
    assert "violates the following Content Security Policy" in violation.value.text
    # The frame shows chromium's error page instead of the widget.
    blocked.frames[1].wait_for_url(lambda url: url.startswith("chrome-error://"))
    # ...so the loader shows the site owner which origin the organiser must add, in its place.
    notice = blocked.locator(".ranker-widget-refused")
    expect(notice).to_contain_text("cannot be shown on this site yet")
    expect(notice).to_contain_text(f"add {other_host_server.origin} to its allowed embedding sites")
    expect(blocked.locator("iframe.ranker-widget")).to_be_hidden()
    events = wait_events(blocked, "error", 1)
    assert [(e["code"], e["origin"]) for e in events] == [
        ("origin_not_allowed", other_host_server.origin)
    ]
    assert page.locator(".ranker-widget-refused").count() == 0  # the allowed site: no notice


def test_cant_decide_with_reason_tie_undo_and_adding_an_idea(
    app_server: AppServer,
    organiser_key: str,
    make_survey: Callable[..., Survey],
    host_server: HostServer,
    new_page: Callable[..., Any],
) -> None:
    survey = make_survey(IDEAS, origins=[host_server.origin], allow_ideas=True, moderate_ideas=True)
    page = new_page(800, 900)
    widget = open_embedded(page, host_server, app_server, survey)

    # "I can't decide" opens the reasons; a reason skips the pair.
    skip = widget.locator("#rk-skip")
    expect(widget.locator("#rk-skip-panel")).to_be_hidden()
    skip.click()
    expect(skip).to_have_attribute("aria-expanded", "true")
    expect(widget.locator("#rk-skip-panel")).to_be_visible()
    wait_fitted(page)
    widget.get_by_role("button", name="I don’t know enough").click()
    assert wait_events(page, "skip", 1)[-1]["reason"] == "dont_know"
    skips = export_rows(app_server, organiser_key, survey.id, "skips")
    assert [s.get("reason") for s in skips] == ["dont_know"]

    # "They're equally good" records a tie.
    expect(widget.locator("#rk-left")).to_be_enabled()
    skip.click()
    wait_fitted(page)
    widget.get_by_role("button", name="They’re equally good").click()
    assert wait_events(page, "vote", 1)[-1]["choice"] == "tie"

    # Undo removes the last answer on the server.
    undo = widget.locator("#rk-undo")
    expect(undo).to_be_enabled()
    undo.click()
    wait_events(page, "undo", 1)
    expect(widget.locator("#rk-message")).to_have_text("Your last answer was undone.")
    # Said once: in the live region, while the visible banner is no live region of its own.
    expect(widget.locator("#rk-live")).to_have_text("Your last answer was undone.")
    expect(widget.locator("#rk-message")).not_to_have_attribute("role", re.compile("."))
    assert results(app_server, organiser_key, survey.id)["n_votes"] == 0
    expect(undo).to_be_enabled()  # the skip before it can be taken back too, as in the API

    # Add your own idea: moderated, so it waits for review.
    widget.locator("#rk-add").click()
    wait_fitted(page)
    text = "Evening clinics for people who work"
    widget.get_by_label("Your idea").fill(text)
    expect(widget.locator("#rk-idea-count")).to_have_text(str(len(text)))
    widget.get_by_role("button", name="Submit idea").click()
    event = wait_events(page, "idea", 1)[-1]
    expect(widget.locator("#rk-message")).to_contain_text("review")
    with app_server.client(organiser_key) as c:
        pending = c.get(f"/v1/surveys/{survey.id}/ideas", params={"status": "pending"}).json()
    assert [(i["id"], i["text"]) for i in pending["ideas"]] == [(event["idea"], text)]
    assert event["status"] in ("pending", None)  # the API may not report the status


def test_thank_you_after_the_checkpoint_shows_the_current_ranking(
    app_server: AppServer,
    make_survey: Callable[..., Survey],
    host_server: HostServer,
    new_page: Callable[..., Any],
) -> None:
    survey = make_survey(IDEAS[:3], origins=[host_server.origin], show_results_to_voters=True)
    page = new_page(800, 900)
    widget = open_embedded(page, host_server, app_server, survey, thanks="2")
    for n in (1, 2):
        expect(widget.locator("#rk-left")).to_be_enabled()
        widget.locator("#rk-left").click()
        wait_events(page, "vote", n)
    done = widget.locator("#rk-done-view")
    expect(done).to_be_visible()
    expect(done).to_be_focused()
    widget.get_by_role("button", name="See the current ranking").click()
    # two votes place no idea (issue 11): none is ranked, all are "not enough votes yet"
    expect(widget.locator("#rk-ranking li")).to_have_count(0)
    expect(widget.locator("#rk-ranking-none")).to_be_visible()
    unplaced = widget.locator("#rk-unplaced-list li").all_text_contents()
    assert sorted(unplaced) == sorted(IDEAS[:3])
    # "Your own ranking" after two votes: too few for a ranking of one's own, and it says so.
    widget.get_by_role("button", name="Your own ranking").click()
    expect(widget.locator("#rk-results-title")).to_have_text("Your own ranking")
    expect(widget.locator("#rk-mine .rk-mine-basis")).to_have_text(
        "Based on your 2 votes. Vote at least 3 times to see your own ranking."
    )
    expect(widget.locator("#rk-ranking")).to_be_hidden()
    expect(widget.locator("#rk-unplaced")).to_be_hidden()
    expect(widget.locator("#rk-mine .rk-mine-ranking")).to_have_count(0)
    widget.get_by_role("button", name="Keep voting").click()
    expect(widget.locator("#rk-left")).to_be_enabled()


def test_your_own_ranking_after_a_handful_of_votes(
    app_server: AppServer,
    make_survey: Callable[..., Survey],
    host_server: HostServer,
    new_page: Callable[..., Any],
    artifacts: Path,
) -> None:
    """After six votes that go against everyone's order: the ideas picked (with how often), a
    ranking blended with everyone's (positions, no rank ranges, moves vs everyone) and the
    picks against everyone, with the share of people who would pick the same."""
    survey = make_survey(IDEAS, origins=[host_server.origin])
    order = {text: k for k, text in enumerate(IDEAS)}
    for _ in range(4):  # everyone else prefers the ideas in the order of IDEAS
        cast_votes(
            app_server, survey.id, 10, lambda a, b: "left" if order[a] < order[b] else "right"
        )
    page = new_page(800, 1100)
    widget = open_embedded(page, host_server, app_server, survey, thanks="6")
    for n in range(1, 7):  # this participant prefers the later idea of every pair
        expect(widget.locator("#rk-left")).to_be_enabled()
        left = widget.locator("#rk-left-text").text_content() or ""
        right = widget.locator("#rk-right-text").text_content() or ""
        widget.locator("#rk-left" if order[left] > order[right] else "#rk-right").click()
        wait_events(page, "vote", n)
    expect(widget.locator("#rk-done-view")).to_be_visible()
    widget.get_by_role("button", name="Your own ranking").click()
    mine = widget.locator("#rk-mine")
    expect(mine).to_be_visible()
    expect(widget.locator("#rk-results-title")).to_have_text("Your own ranking")
    expect(mine.locator(".rk-mine-basis")).to_have_text(
        "Based on your 6 votes, next to everyone’s."
    )
    titles = mine.locator(".rk-mine-title")
    expect(titles).to_have_text(
        [
            "Your favourites so far",
            "Your ranking, blended with everyone’s",
            "Where you agree and differ with everyone",
        ]
    )
    favourites = mine.locator(".rk-mine-favourites li")
    expect(favourites.first).to_contain_text("picked")
    picked = favourites.locator(".rk-mine-note").all_text_contents()
    assert all(p.startswith("picked ") for p in picked)
    rows = mine.locator(".rk-mine-ranking li")
    expect(rows).to_have_count(len(IDEAS))
    assert rows.locator(".rk-rank").all_text_contents() == ["1", "2", "3", "4", "5"]  # no ranges
    notes = rows.locator(".rk-mine-note").all_text_contents()
    assert any("▲" in t for t in notes) and any("▼" in t for t in notes), notes
    expect(mine.locator(".rk-mine-agreement")).to_contain_text("of your 6 choices")
    differ = mine.locator(".rk-mine-differ li")
    expect(differ.first).to_contain_text("in 100 people would")
    assert "–" not in (mine.text_content() or "").replace("everyone’s", "")
    page.locator("iframe.ranker-widget").screenshot(
        path=artifacts / "widget-your-ranking.png", animations="disabled"
    )


def test_narrow_widths_stack_the_pair_without_overflow(
    app_server: AppServer,
    make_survey: Callable[..., Survey],
    new_page: Callable[..., Any],
    artifacts: Path,
) -> None:
    long = "A considerably longer idea text that needs to wrap over several lines on a phone"
    survey = make_survey([long, *IDEAS[:2]])
    page = new_page(320, 640)
    page.goto(f"{app_server.base}/w/{survey.id}")
    expect(page.locator("#rk-left")).to_be_enabled()
    page.screenshot(path=artifacts / "widget-320.png", full_page=True, animations="disabled")
    for width in (320, 280):
        page.set_viewport_size({"width": width, "height": 640})
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow == 0, f"horizontal overflow at {width}px"
        left = page.locator("#rk-left").bounding_box()
        right = page.locator("#rk-right").bounding_box()
        assert left and right
        assert right["y"] >= left["y"] + left["height"], "the two ideas should stack"
        assert left["width"] >= width - 40, "the buttons should use the full width"
        assert left["height"] >= 44 and right["height"] >= 44, "touch targets"


def test_theming_by_url_parameters_and_reduced_motion(
    app_server: AppServer,
    make_survey: Callable[..., Survey],
    new_page: Callable[..., Any],
    artifacts: Path,
) -> None:
    survey = make_survey(IDEAS[:3])
    page = new_page(640, 560, reduced_motion="reduce")
    page.goto(f"{app_server.base}/w/{survey.id}?theme=dark&accent=%23e0467c&radius=4&font=Georgia")
    expect(page.locator("#rk-left")).to_be_enabled()
    page.screenshot(path=artifacts / "widget-dark.png", animations="disabled")
    style = page.evaluate(
        """() => {
            const root = getComputedStyle(document.documentElement);
            const button = getComputedStyle(document.getElementById("rk-left"));
            return {
                theme: document.documentElement.dataset.theme,
                accent: root.getPropertyValue("--rk-accent").trim(),
                accentFg: root.getPropertyValue("--rk-accent-fg").trim(),
                bg: getComputedStyle(document.body).backgroundColor,
                radius: button.borderTopLeftRadius,
                font: button.fontFamily,
                transition: button.transitionDuration,
            };
        }"""
    )
    assert style["theme"] == "dark"
    assert style["accent"] == "#e0467c"
    assert style["accentFg"] in ("#ffffff", "#0b1020")
    assert style["bg"] == "rgb(16, 20, 28)"
    assert style["radius"] == "4px"
    assert style["font"].startswith("Georgia")
    assert all(float(d.rstrip("s")) < 0.001 for d in style["transition"].split(","))

    # Values that are not plain colours / sizes are ignored, not injected.
    page.goto(f"{app_server.base}/w/{survey.id}?accent=red;background:url(//x)&radius=9999")
    expect(page.locator("#rk-left")).to_be_enabled()
    accent = page.evaluate(
        "getComputedStyle(document.documentElement).getPropertyValue('--rk-accent').trim()"
    )
    assert accent == "#2952cc"
    radius = page.locator("#rk-left").evaluate("(b) => getComputedStyle(b).borderTopLeftRadius")
    assert radius == "40px"


def test_participants_choose_their_group_first_when_the_survey_has_groups(
    app_server: AppServer,
    organiser_key: str,
    make_survey: Callable[..., Survey],
    new_page: Callable[..., Any],
) -> None:
    survey = make_survey(IDEAS[:3], groups=["clinician", "patient"])
    page = new_page(700, 700)
    page.goto(f"{app_server.base}/w/{survey.id}")
    chooser = page.get_by_role("region", name="Which best describes you?")
    expect(chooser).to_be_visible()
    names = chooser.get_by_role("button").all_text_contents()
    assert names == ["clinician", "patient", "Prefer not to say"]
    expect(page.locator("#rk-vote-view")).to_be_hidden()
    chooser.get_by_role("button", name="patient").click()
    expect(page.locator("#rk-left")).to_be_enabled()
    expect(page.locator("#rk-left")).to_be_focused()
    page.keyboard.press("1")
    expect(page.locator("#rk-count")).to_have_text("1 vote")
    rows = export_rows(app_server, organiser_key, survey.id, "votes")
    assert [(r["group"], r["outcome"]) for r in rows] == [("patient", "left")]


def test_a_closed_survey_says_so_and_reports_an_error_event(
    app_server: AppServer,
    organiser_key: str,
    make_survey: Callable[..., Survey],
    host_server: HostServer,
    new_page: Callable[..., Any],
) -> None:
    survey = make_survey(IDEAS[:3], origins=[host_server.origin])
    with app_server.client(organiser_key) as c:
        assert c.post(f"/v1/surveys/{survey.id}/close").status_code == 200
    page = new_page()
    page.goto(host_server.embed_url(app_server, survey.id))
    error = wait_events(page, "error", 1)[-1]
    assert error["code"] == "survey_closed"
    widget = page.frame_locator("iframe.ranker-widget")
    expect(widget.locator("#rk-message")).to_have_text(
        "This survey is closed. Thank you for your interest."
    )
    expect(widget.locator("#rk-message")).to_have_attribute("role", "alert")
    expect(widget.locator("#rk-vote-view")).to_be_hidden()


@pytest.mark.parametrize(
    ("code", "said"),
    [
        ("bad_token", "That pair is no longer available"),
        ("idea_inactive", "One of those ideas was withdrawn"),
    ],
)
def test_a_refused_ballot_gets_a_fresh_pair_and_no_error(
    code: str,
    said: str,
    app_server: AppServer,
    organiser_key: str,
    make_survey: Callable[..., Survey],
    host_server: HostServer,
    new_page: Callable[..., Any],
) -> None:
    survey = make_survey(IDEAS, origins=[host_server.origin])
    page = new_page()
    spoiled: list[str] = []
    shown: list[int] = []  # the left idea of the first pair

    def spoil_first_answer(route: Any) -> None:
        if route.request.method != "POST" or spoiled:
            route.continue_()
            return
        spoiled.append(code)
        if code == "bad_token":  # a forged signature: the real server refuses it
            body = json.loads(route.request.post_data or "{}")
            head, mac = body["ballot"].rsplit(".", 1)
            body["ballot"] = f"{head}.{'B' if mac[0] == 'A' else 'A'}{mac[1:]}"
            route.continue_(post_data=json.dumps(body))
        else:  # the organiser retires an idea of the pair before the answer arrives
            with app_server.client(organiser_key) as c:
                r = c.patch(f"/v1/surveys/{survey.id}/ideas/{shown[0]}", json={"status": "retired"})
                assert r.status_code == 200, r.text
            route.continue_()

    page.context.route("**/v1/public/surveys/*/answers", spoil_first_answer)
    widget = open_embedded(page, host_server, app_server, survey)
    shown.append(survey.ideas[widget.locator("#rk-left-text").text_content()])
    widget.locator("#rk-left").click()
    expect(widget.locator("#rk-live")).to_contain_text(said)
    assert spoiled == [code]
    expect(widget.locator("#rk-left")).to_be_enabled()
    expect(widget.locator("#rk-message")).not_to_have_attribute("role", "alert")
    widget.locator("#rk-left").click()
    wait_events(page, "vote", 1)
    expect(widget.locator("#rk-count")).to_have_text("1 vote")
    assert page.evaluate("window.rankerEvents.filter((e) => e.type === 'error')") == []
    assert len(page.evaluate("window.rankerEvents.filter((e) => e.type === 'vote')")) == 1
    assert results(app_server, organiser_key, survey.id)["n_votes"] == 1
    # the refused answer was never logged
    assert len(export_rows(app_server, organiser_key, survey.id, "votes")) == 1


def test_widget_semantics_for_assistive_technology(
    app_server: AppServer,
    make_survey: Callable[..., Survey],
    host_server: HostServer,
    new_page: Callable[..., Any],
) -> None:
    survey = make_survey(IDEAS[:3], origins=[host_server.origin], allow_ideas=True)
    page = new_page()
    widget = open_embedded(page, host_server, app_server, survey)
    # The iframe has an accessible name on the host page.
    expect(page.get_by_title("Vote: which idea is better?")).to_be_visible()
    # Real buttons whose names are the idea texts; the key hints are not read as part of them.
    left = widget.locator("#rk-left-text").text_content()
    expect(widget.get_by_role("button", name=left, exact=True)).to_be_visible()
    expect(widget.get_by_role("group", name="Choose one of two ideas")).to_be_visible()
    expect(widget.locator("#rk-left")).to_have_accessible_description(
        "First idea. Press 1 or the left arrow key."
    )
    expect(widget.get_by_role("heading", level=1)).to_have_text(survey.raw["question"])
    expect(widget.locator("#rk-live")).to_have_attribute("aria-live", "polite")
    expect(widget.locator("html")).to_have_attribute("lang", "en")
    # Every button has an accessible name; disclosure buttons say whether they are open.
    for button in widget.get_by_role("button").all():
        name = button.evaluate("(b) => b.getAttribute('aria-label') || b.textContent.trim()")
        assert name, button.evaluate("(b) => b.outerHTML")
    expect(widget.locator("#rk-skip")).to_have_attribute("aria-expanded", "false")
    expect(widget.locator("#rk-add")).to_have_attribute("aria-expanded", "false")


def test_a_returning_participant_resumes_when_storage_is_allowed(
    app_server: AppServer,
    make_survey: Callable[..., Survey],
    host_server: HostServer,
    new_page: Callable[..., Any],
) -> None:
    survey = make_survey(IDEAS[:3], origins=[host_server.origin])
    # Opened directly (first-party), the widget keeps its voter token in localStorage.
    page = new_page(700, 700)
    page.goto(f"{app_server.base}/w/{survey.id}")
    for n in (1, 2):
        expect(page.locator("#rk-left")).to_be_enabled()
        page.locator("#rk-left").click()
        expect(page.locator("#rk-count")).to_have_text(f"{n} vote" + ("s" if n > 1 else ""))
    page.reload()
    expect(page.locator("#rk-left")).to_be_enabled()
    expect(page.locator("#rk-count")).to_have_text("2 votes")
    # Embedded in another site, chromium denies the frame its storage; the loader keeps the token
    # in the host page's own storage instead, so the visitor still resumes.
    host = new_page()
    widget = open_embedded(host, host_server, app_server, survey)
    denied = widget.locator("html").evaluate(
        "() => { try { localStorage.length; return false; } catch (e) { return true; } }"
    )
    assert denied
    widget.locator("#rk-left").click()
    expect(widget.locator("#rk-count")).to_have_text("1 vote")
    key = f"ranker:voter:{survey.id}"
    assert host.evaluate("(k) => localStorage.getItem(k)", key)
    assert wait_events(host, "vote", 1)  # the token itself is not re-dispatched to the page
    assert host.evaluate("window.rankerEvents.filter((e) => e.type === 'voter').length") == 0
    host.reload()
    widget = host.frame_locator("iframe.ranker-widget")
    expect(widget.locator("#rk-left")).to_be_enabled()
    expect(widget.locator("#rk-count")).to_have_text("1 vote")
    # data-remember="false": nothing is kept, each visit is a new anonymous participant.
    other = new_page()
    widget = open_embedded(other, host_server, app_server, survey, remember="false")
    widget.locator("#rk-left").click()
    expect(widget.locator("#rk-count")).to_have_text("1 vote")
    assert other.evaluate("localStorage.length") == 0
    other.reload()
    widget = other.frame_locator("iframe.ranker-widget")
    expect(widget.locator("#rk-left")).to_be_enabled()
    expect(widget.locator("#rk-count")).to_have_text("0 votes")


def test_comment_on_and_report_an_idea_from_the_widget(
    app_server: AppServer,
    organiser_key: str,
    make_survey: Callable[..., Survey],
    host_server: HostServer,
    new_page: Callable[..., Any],
) -> None:
    survey = make_survey(IDEAS[:3], origins=[host_server.origin])
    page = new_page(800, 1000)
    widget = open_embedded(page, host_server, app_server, survey)
    right = widget.locator("#rk-right-text").text_content()
    assert right

    button = widget.get_by_role("button", name="Comment", exact=True)
    button.click()
    expect(button).to_have_attribute("aria-expanded", "true")
    wait_fitted(page)
    widget.get_by_role("radio", name=right).check()
    widget.get_by_label("Your comment").fill("Works well for rural patients")
    widget.get_by_role("button", name="Post comment").click()
    assert wait_events(page, "comment", 1)[-1]["idea"] == survey.ideas[right]
    expect(widget.locator("#rk-message")).to_have_text("Thank you! Your comment was posted.")
    expect(button).to_be_focused()

    # Escape closes the panel and returns focus to the button that opened it.
    button.click()
    expect(widget.locator("#rk-comment-panel")).to_be_visible()
    page.keyboard.press("Escape")
    expect(widget.locator("#rk-comment-panel")).to_be_hidden()
    expect(button).to_be_focused()

    button.click()
    wait_fitted(page)
    widget.get_by_role("button", name="Report as inappropriate").click()
    left_id = wait_events(page, "flag", 1)[-1]["idea"]
    assert left_id in survey.ideas.values() and left_id != survey.ideas[right]

    with app_server.client(organiser_key) as c:
        body = c.get(f"/v1/surveys/{survey.id}/comments").json()
    comments = [(c.get("idea_id", c.get("idea")), c["text"]) for c in body["comments"]]
    assert comments == [(survey.ideas[right], "Works well for rural patients")]
    assert [f.get("idea_id", f.get("idea")) for f in body["flags"]] == [left_id]


def test_the_public_ranking_lists_only_placed_ideas_and_names_the_rest_apart(
    app_server: AppServer,
    organiser_key: str,
    make_survey: Callable[..., Survey],
    host_server: HostServer,
    new_page: Callable[..., Any],
    artifacts: Path,
) -> None:
    """Issue 11: an idea with too few votes is never in the numbered public top list."""
    survey = make_survey(IDEAS, origins=[host_server.origin], show_results_to_voters=True)
    rank = {text: k for k, text in enumerate(IDEAS)}
    for _ in range(3):  # each voter answers all 10 pairs once: 12 answers per idea
        cast_votes(app_server, survey.id, 10, lambda a, b: "left" if rank[a] < rank[b] else "right")
    late = "A late idea with hardly any votes"
    with app_server.client(organiser_key) as c:
        r = c.post(f"/v1/surveys/{survey.id}/ideas", json={"text": late})
        assert r.status_code == 201, r.text
    page = new_page(800, 1100)
    widget = open_embedded(page, host_server, app_server, survey, thanks="2")
    for n in (1, 2):
        expect(widget.locator("#rk-left")).to_be_enabled()
        widget.locator("#rk-left").click()
        wait_events(page, "vote", n)
    widget.get_by_role("button", name="See the current ranking").click()
    ranked = widget.locator("#rk-ranking li")
    expect(ranked).to_have_count(len(IDEAS))
    names = widget.locator("#rk-ranking li span:nth-child(2)").all_text_contents()
    assert late not in names and sorted(names) == sorted(IDEAS)
    assert names[0] == IDEAS[0]
    expect(widget.locator("#rk-unplaced")).to_be_visible()
    expect(widget.locator("#rk-unplaced-title")).to_have_text("Not enough votes yet")
    expect(widget.locator("#rk-unplaced-list li")).to_have_text([late])
    expect(widget.locator("#rk-ranking-none")).to_be_hidden()
    wait_fitted(page)
    page.screenshot(path=artifacts / "widget-not-enough-votes.png", full_page=True)
