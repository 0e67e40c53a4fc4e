"""The organiser dashboard in a real browser, against the real app."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import AppServer, HostServer, Survey
from tests.browser.helpers import cast_votes, wait_events

IDEAS = [
    "Video follow-up by default for stable patients",
    "Nurse-led telephone clinics",
    "Patient-initiated follow-up instead of fixed appointments",
    "Shared care records patients can read",
]
PAYLOAD = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script><b>bold</b>'


def sign_in(page: Any, app: AppServer, key: str, survey_id: str) -> None:
    page.goto(f"{app.base}/dashboard#survey={survey_id}")
    page.get_by_label("Organiser key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#db-app")).to_have_attribute("data-survey", survey_id)


def test_sign_in_refuses_a_wrong_key(app_server: AppServer, new_page: Callable[..., Any]) -> None:
    page = new_page()
    page.goto(f"{app_server.base}/dashboard")
    page.get_by_label("Organiser key").fill("rk_not-a-real-key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#db-signin-error")).to_have_text(
        "That key was not accepted. Check it and try again."
    )
    expect(page.locator("#db-app")).to_be_hidden()
    assert page.evaluate("sessionStorage.length") == 0


def test_dashboard_shows_the_ranking_and_updates_live_after_votes(
    app_server: AppServer,
    organiser_key: str,
    make_survey: Callable[..., Survey],
    new_page: Callable[..., Any],
    artifacts: Path,
) -> None:
    survey = make_survey(IDEAS, groups=["clinician", "patient"])
    page = new_page(1280, 900)
    sign_in(page, app_server, organiser_key, survey.id)
    expect(page.locator("#db-question")).to_have_text(survey.raw["question"])
    rows = page.locator("#db-ranking-body tr[data-idea]")  # not the "not enough votes" head
    expect(rows).to_have_count(len(IDEAS))
    expect(page.locator("#db-n-votes")).to_have_text("0")
    expect(page.locator("#db-live")).to_have_text("Live")
    # The key lives in this tab's sessionStorage only.
    assert page.evaluate("sessionStorage.getItem('ranker:organiser-key')") == organiser_key
    assert page.evaluate("localStorage.length") == 0

    # Votes arrive over HTTP from two groups; clinicians always prefer IDEAS[0], patients IDEAS[3].
    def prefer(best: str) -> Callable[[str, str], str]:
        return lambda left, right: "left" if left == best else "right"

    cast_votes(app_server, survey.id, 6, prefer(IDEAS[0]), group="clinician")
    cast_votes(app_server, survey.id, 6, prefer(IDEAS[3]), group="patient")

    # The page updates by itself (server-sent events): no reload, no click.
    expect(page.locator("#db-n-votes")).to_have_text("12")
    expect(page.locator("#db-n-voters")).to_have_text("2")
    texts = page.locator("#db-ranking-body .db-idea-text").all_text_contents()
    assert sorted(texts) == sorted(IDEAS)
    # Every row has a forest-plot bar and a rank (range); wins add up to the votes cast.
    expect(page.locator("#db-ranking-body .db-plot-bar")).to_have_count(len(IDEAS))
    wlt = page.locator("#db-ranking-body td[data-label='W / L / T']").all_text_contents()
    assert sum(int(t.split("/")[0]) for t in wlt) == 12
    expect(page.locator("#db-enough-label")).to_have_text(
        "Are there enough votes for a settled top 2?"
    )
    expect(page.locator("#db-enough-text")).not_to_have_text("No votes yet.")
    page.screenshot(path=artifacts / "dashboard-desktop.png", full_page=True, animations="disabled")

    # Per-group columns: 6 votes on 4 ideas are too few to rank a group (10 needed), so
    # neither group shows an order yet (test_group_columns_* covers ranked groups).
    page.get_by_role("tab", name="Groups").click()
    expect(page.locator("#db-groups-head th")).to_have_count(4)
    head = page.locator("#db-groups-head th").all_text_contents()
    assert [h.split(" ")[0] for h in head[2:]] == ["clinician", "patient"]
    notes = page.locator("#db-groups-body td.db-group-note")
    expect(notes).to_have_text(["Too few votes to rank (6 of 10 needed)"] * 2)
    expect(page.locator("#db-groups-body td.db-group-cell")).to_have_count(0)
    expect(page.locator("#db-enough-text")).not_to_have_text("–")

    # Votes over time: a chart with one bar per time bucket, plus a table.
    page.get_by_role("tab", name="Activity").click()
    expect(page.locator("#db-chart svg rect")).not_to_have_count(0)
    counts = page.locator("#db-activity-table tbody td.db-num").all_text_contents()
    assert sum(int(c) for c in counts) == 12

    # Phones: the same page at 390 px has no horizontal overflow.
    page.get_by_role("tab", name="Ranking").click()
    page.set_viewport_size({"width": 390, "height": 844})
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow == 0
    page.screenshot(path=artifacts / "dashboard-phone.png", full_page=True, animations="disabled")


def test_moderation_queue_approves_a_participants_idea(
    app_server: AppServer,
    organiser_key: str,
    make_survey: Callable[..., Survey],
    new_page: Callable[..., Any],
) -> None:
    survey = make_survey(IDEAS[:2], allow_ideas=True, moderate_ideas=True)
    page = new_page(1100, 900)
    sign_in(page, app_server, organiser_key, survey.id)
    expect(page.locator("#db-pending-badge")).to_be_hidden()
    expect(page.locator("#db-live")).to_have_text("Live")
    # Participants submit ideas while the organiser watches: the queue fills by itself.
    with app_server.client() as c:
        token = c.post(f"/v1/public/surveys/{survey.id}/voters", json={}).json()["token"]
        for text in ("Evening clinics", "Drop-in blood tests"):
            r = c.post(
                f"/v1/public/surveys/{survey.id}/ideas",
                json={"text": text},
                headers={"X-Voter-Token": token},
            )
            assert r.status_code == 201, r.text
    expect(page.locator("#db-pending-badge")).to_have_text("2")
    page.get_by_role("tab", name="Ideas").click()
    page.get_by_role("button", name="Approve: Evening clinics").click()
    page.get_by_role("button", name="Reject: Drop-in blood tests").click()
    expect(page.locator("#db-pending li")).to_have_count(0)
    expect(page.locator("#db-pending-badge")).to_be_hidden()
    with app_server.client(organiser_key) as c:
        ideas = c.get(f"/v1/surveys/{survey.id}/ideas").json()["ideas"]
    status = {i["text"]: i["status"] for i in ideas}
    assert status["Evening clinics"] == "active"
    assert status["Drop-in blood tests"] == "rejected"
    # The approved idea joins the ranking.
    expect(page.locator("#db-ranking-body tr[data-idea]")).to_have_count(3)


def test_settings_change_the_embed_allow_list(
    app_server: AppServer,
    organiser_key: str,
    make_survey: Callable[..., Survey],
    host_server: HostServer,
    new_page: Callable[..., Any],
) -> None:
    survey = make_survey(IDEAS[:3], origins=["https://elsewhere.example"])
    page = new_page(1100, 1000)
    sign_in(page, app_server, organiser_key, survey.id)
    page.get_by_role("tab", name="Settings").click()
    origins = page.get_by_label("Allowed embedding sites")
    origins.fill("not a url")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#db-settings-error")).to_contain_text("Not a site origin")
    origins.fill(f"https://elsewhere.example\n{host_server.origin}/")
    expect(page.get_by_label("Pair sampler")).to_have_value("settle")  # the default
    expect(page.get_by_label("Top k to settle")).to_have_value("10")
    page.get_by_label("Pair sampler").select_option("random")
    page.get_by_label("Top k to settle").fill("1")
    page.get_by_label("Practically tied below").select_option("0.6")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#db-settings-note")).to_have_text("Settings saved.")
    with app_server.client(organiser_key) as c:
        saved = c.get(f"/v1/surveys/{survey.id}").json()
    assert saved["embed_origins"] == ["https://elsewhere.example", host_server.origin]
    assert (saved["sampler"], saved["top_k"], saved["margin"]) == ("random", 1, 0.6)
    expect(page.locator("#db-enough-label")).to_have_text(
        "Are there enough votes for a settled top 1?"
    )

    # The embed code on the "Embed & export" tab works on the newly allowed site.
    page.get_by_role("tab", name="Embed & export").click()
    snippet = page.locator("#db-embed-script").input_value()
    assert f'src="{app_server.base}/embed.js"' in snippet and survey.id in snippet
    host = new_page()
    host.goto(host_server.embed_url(app_server, survey.id))
    assert wait_events(host, "ready", 1)[0]["survey"] == survey.id


def test_html_payloads_are_inert_text_in_widget_and_dashboard(
    app_server: AppServer,
    organiser_key: str,
    make_survey: Callable[..., Survey],
    new_page: Callable[..., Any],
    artifacts: Path,
) -> None:
    question = "<i>Which</i> is better? <script>window.__pwned=3</script>"
    survey = make_survey([PAYLOAD, "A plain idea"], question=question)
    payload_id = survey.ideas[PAYLOAD]
    with app_server.client() as c:
        token = c.post(f"/v1/public/surveys/{survey.id}/voters", json={}).json()["token"]
        r = c.post(
            f"/v1/public/surveys/{survey.id}/ideas/{payload_id}/comments",
            json={"text": PAYLOAD},
            headers={"X-Voter-Token": token},
        )
        assert r.status_code == 201, r.text

    # Widget: the question and both ideas are shown as the literal text.
    widget = new_page(800, 600)
    widget.goto(f"{app_server.base}/w/{survey.id}")
    expect(widget.locator("#rk-left")).to_be_enabled()
    expect(widget.locator("#rk-question")).to_have_text(question)
    shown = sorted(widget.locator(".rk-text").all_text_contents())
    assert shown == sorted([PAYLOAD, "A plain idea"])
    assert widget.locator("main img, main script, main b, main i").count() == 0
    widget.locator("#rk-left").click()
    expect(widget.locator("#rk-left")).to_be_enabled()
    assert widget.evaluate("window.__pwned") is None
    assert widget.dialogs == []

    # Dashboard: ranking, idea list and comments all show the literal text.
    page = new_page(1100, 900)
    sign_in(page, app_server, organiser_key, survey.id)
    expect(page.locator("#db-ranking-body tr[data-idea]")).to_have_count(2)
    expect(page.locator("#db-question")).to_have_text(question)
    expect(page.locator("#db-ranking-body .db-idea-text", has_text="onerror")).to_have_text(PAYLOAD)
    page.get_by_role("tab", name="Ideas").click()
    expect(page.locator("#db-ideas .db-idea-text", has_text="onerror")).to_have_text(PAYLOAD)
    page.get_by_role("tab", name="Comments").click()
    expect(page.locator("#db-comments li > span").first).to_have_text(PAYLOAD)
    expect(page.locator("#db-comments h3 span").first).to_have_text(PAYLOAD)
    assert page.locator("#db-main img, #db-main script, #db-main b, #db-main i").count() == 0
    assert page.evaluate("window.__pwned") is None
    assert page.dialogs == []
    page.screenshot(path=artifacts / "dashboard-comments.png", animations="disabled")


def test_group_columns_show_intervals_and_empty_groups_no_order(
    app_server: AppServer,
    organiser_key: str,
    make_survey: Callable[..., Survey],
    new_page: Callable[..., Any],
    artifacts: Path,
) -> None:
    """Two groups with enough votes are ranked (rank range and interval per idea); a group
    without votes says so and shows no order, and so does one with too few."""
    survey = make_survey(IDEAS, groups=["clinician", "patient", "carer", "family"])

    def prefer(best: str) -> Callable[[str, str], str]:
        return lambda left, right: "left" if left == best else "right"

    for _ in range(2):  # each voter answers the 6 pairs once
        cast_votes(app_server, survey.id, 6, prefer(IDEAS[0]), group="clinician")
        cast_votes(app_server, survey.id, 6, prefer(IDEAS[3]), group="patient")
    cast_votes(app_server, survey.id, 3, prefer(IDEAS[1]), group="family")
    page = new_page(1280, 800)
    sign_in(page, app_server, organiser_key, survey.id)
    page.get_by_role("tab", name="Groups").click()
    head = page.locator("#db-groups-head th")
    expect(head).to_have_count(6)
    assert [t.split(" ")[0] for t in head.all_text_contents()[2:]] == [
        "clinician",
        "patient",
        "carer",
        "family",
    ]
    expect(page.locator("#db-groups-body td.db-group-note[data-group='carer']")).to_have_text(
        "No votes yet"
    )
    expect(page.locator("#db-groups-body td.db-group-note[data-group='family']")).to_have_text(
        "Too few votes to rank (3 of 10 needed)"
    )
    for group, favourite in (("clinician", IDEAS[0]), ("patient", IDEAS[3])):
        cells = page.locator(f"#db-groups-body td.db-group-cell[data-group='{group}']")
        expect(cells).to_have_count(len(IDEAS))
        expect(cells.locator(".db-plot-bar")).to_have_count(len(IDEAS))  # an interval each
        first = page.locator(
            "#db-groups-body tr", has=page.locator(f"td[data-group='{group}'][data-rank='1']")
        )
        expect(first.locator(".db-idea-text")).to_have_text(favourite)
    assert page.locator("#db-groups-body td[data-group='carer'].db-group-cell").count() == 0
    page.screenshot(
        path=artifacts / "dashboard-groups-status.png", full_page=True, animations="disabled"
    )


def test_groups_that_disagree_are_highlighted(
    app_server: AppServer,
    organiser_key: str,
    make_survey: Callable[..., Survey],
    new_page: Callable[..., Any],
    artifacts: Path,
) -> None:
    survey = make_survey(IDEAS, groups=["clinician", "patient"])
    contested = IDEAS[0]

    def loves(left: str, right: str) -> str:
        return "right" if right == contested else "left"

    def hates(left: str, right: str) -> str:
        return "right" if left == contested else "left"

    for _ in range(8):  # one voice per voter and pair: each voter answers the 6 pairs once
        cast_votes(app_server, survey.id, 6, loves, group="clinician")
        cast_votes(app_server, survey.id, 6, hates, group="patient")
    page = new_page(1280, 800)
    sign_in(page, app_server, organiser_key, survey.id)
    page.get_by_role("tab", name="Groups").click()
    row = page.locator("#db-groups-body tr", has_text=contested)
    expect(row).to_have_attribute("data-disagree", "true")
    expect(row.locator(".db-disagree")).to_have_text("disagree")
    expect(row.locator("td.db-disagree-cell")).to_have_count(2)
    # Each group's cell says which way it differs from everyone (credibly, at 95%).
    expect(row.locator("td[data-group='clinician']")).to_have_attribute("data-shift", "higher")
    expect(row.locator("td[data-group='patient']")).to_have_attribute("data-shift", "lower")
    expect(row.locator("td[data-group='clinician'] .db-shift")).to_have_text("▲ higher")
    # The API agrees: a credible difference between the groups on the contested idea (and on
    # no other), and its intervals in the two groups do not overlap.
    with app_server.client(organiser_key) as c:
        body = c.get(f"/v1/surveys/{survey.id}/results/groups").json()
    groups = body["groups"]
    contested_id = survey.ideas[contested]
    assert {(d["idea"], d["higher"], d["lower"]) for d in body["disagreements"]} >= {
        (contested_id, "clinician", "patient")
    }
    iv = {
        g: next((i["low"], i["high"]) for i in r["ideas"] if i["text"] == contested)
        for g, r in groups.items()
    }
    assert iv["patient"][1] < iv["clinician"][0]
    expect(page.locator("#db-enough-text")).not_to_have_text("–")
    page.screenshot(path=artifacts / "dashboard-groups.png", full_page=True, animations="disabled")


def test_exports_download_with_the_organiser_key(
    app_server: AppServer,
    organiser_key: str,
    make_survey: Callable[..., Survey],
    new_page: Callable[..., Any],
) -> None:
    survey = make_survey(IDEAS[:3])
    cast_votes(app_server, survey.id, 3, lambda left, right: "left")
    page = new_page(1100, 900)
    sign_in(page, app_server, organiser_key, survey.id)
    page.get_by_role("tab", name="Embed & export").click()
    with page.expect_download() as info:
        page.get_by_role("button", name=f"Download {survey.id}-votes.ndjson").click()
    download = info.value
    assert download.suggested_filename == f"{survey.id}-votes.ndjson"
    lines = Path(download.path()).read_text().strip().splitlines()
    assert len(lines) == 3
    with page.expect_download() as info:
        page.get_by_role("button", name=f"Download {survey.id}-results.csv").click()
    rows = Path(info.value.path()).read_text().strip().splitlines()
    assert len(rows) == 1 + 3  # header + one row per idea


def test_new_survey_dialog_and_keyboard_tabs(
    app_server: AppServer,
    organiser_key: str,
    make_survey: Callable[..., Survey],
    new_page: Callable[..., Any],
) -> None:
    first = make_survey(IDEAS[:2])
    page = new_page(1100, 900)
    sign_in(page, app_server, organiser_key, first.id)
    # Tabs follow the WAI-ARIA pattern: arrow keys move the selection and the focus.
    ranking = page.get_by_role("tab", name="Ranking")
    ranking.focus()
    page.keyboard.press("ArrowRight")
    groups = page.get_by_role("tab", name="Groups")
    expect(groups).to_be_focused()
    expect(groups).to_have_attribute("aria-selected", "true")
    expect(page.get_by_role("tabpanel", name="Groups")).to_be_visible()
    expect(page.get_by_role("tabpanel", name="Ranking")).to_be_hidden()
    page.keyboard.press("End")
    expect(page.get_by_role("tab", name="Settings")).to_be_focused()

    # A new survey with starting ideas, created from the dialog, becomes the current one.
    page.get_by_role("button", name="New survey").click()
    dialog = page.get_by_role("dialog", name="New survey")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Question").fill("Which clinic change first?")
    dialog.get_by_label("Starting ideas, one per line").fill("Longer hours\nMore nurses\n\n")
    dialog.get_by_role("button", name="Create").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#db-question")).to_have_text("Which clinic change first?")
    expect(page.locator("#db-status")).to_have_text("draft")
    with app_server.client(organiser_key) as c:
        surveys = c.get("/v1/surveys").json()["surveys"]
    created = [s for s in surveys if s["question"] == "Which clinic change first?"]
    assert len(created) == 1
    with app_server.client(organiser_key) as c:
        ideas = c.get(f"/v1/surveys/{created[0]['id']}/ideas").json()["ideas"]
    assert sorted(i["text"] for i in ideas) == ["Longer hours", "More nurses"]
    # Opening it from Settings makes it votable.
    page.get_by_role("button", name="Open for voting").click()
    expect(page.locator("#db-status")).to_have_text("open")


def test_each_idea_keeps_its_own_direction_and_near_repeats_are_shown_to_the_moderator(
    app_server: AppServer,
    organiser_key: str,
    make_survey: Callable[..., Survey],
    new_page: Callable[..., Any],
    artifacts: Path,
) -> None:
    hebrew = "ספרייה פתוחה בערב"  # "a library open in the evening", right to left
    survey = make_survey(
        ["Longer opening hours for the library", hebrew], allow_ideas=True, moderate_ideas=False
    )
    base = f"/v1/public/surveys/{survey.id}/ideas"
    with app_server.client() as c:
        token = c.post(f"/v1/public/surveys/{survey.id}/voters", json={}).json()["token"]
        voter = {"X-Voter-Token": token}
        evil = c.post(base, json={"text": "\u202eevil\u202c plan"}, headers=voter)
        assert evil.status_code == 201 and evil.json()["text"] == "evil plan"
        blank = c.post(base, json={"text": "\u200b\u2066\u2069\u200d"}, headers=voter)
        assert (blank.status_code, blank.json()["code"]) == (400, "text_empty")
        same = c.post(base, json={"text": "LONGER opening hours, for the library!"}, headers=voter)
        assert (same.status_code, same.json()["code"]) == (409, "duplicate_idea")
        assert "idea 0" in same.json()["detail"]
        near = c.post(base, json={"text": "Longer library opening hours please"}, headers=voter)
        assert near.status_code == 201, near.text

    page = new_page(1100, 900)
    sign_in(page, app_server, organiser_key, survey.id)
    expect(page.locator("#db-pending-badge")).to_have_text("1")  # held: it nearly repeats #0
    page.get_by_role("tab", name="Ideas").click()
    similar = page.locator("#db-pending li .db-similar")
    expect(similar).to_have_text("similar to #0: Longer opening hours for the library")
    expect(similar).to_have_attribute("data-similar-to", "0")

    def directions(selector: str, target: Any) -> list[list[str]]:
        return list(
            target.eval_on_selector_all(
                selector,
                "els => els.map(e => [e.textContent, e.dir, getComputedStyle(e).unicodeBidi,"
                " getComputedStyle(e).direction])",
            )
        )

    shown = directions("#db-ideas .db-idea-text, #db-pending .db-idea-text", page)
    assert {t for t, *_ in shown} >= {hebrew, "evil plan", "Longer library opening hours please"}
    for text, dir_, bidi, direction in shown:
        assert (dir_, bidi) == ("auto", "isolate"), text
        assert direction == ("rtl" if text == hebrew else "ltr"), text
    page.screenshot(path=artifacts / "dashboard-similar.png", animations="disabled")
    ranking = directions("#db-ranking-body .db-idea-text", page)
    assert ranking and all(row[1:3] == ["auto", "isolate"] for row in ranking)

    widget = new_page(800, 600)
    widget.goto(f"{app_server.base}/w/{survey.id}")
    expect(widget.locator("#rk-left")).to_be_enabled()
    for _ in range(4):  # several pairs: the right-to-left idea shows up among them
        pair = directions(".rk-text", widget)
        assert len(pair) == 2
        for text, dir_, bidi, direction in pair:
            assert (dir_, bidi) == ("auto", "isolate"), text
            assert direction == ("rtl" if text == hebrew else "ltr"), text
        widget.locator("#rk-left").click()
        expect(widget.locator("#rk-left")).to_be_enabled()


MORE_IDEAS = [*IDEAS, "Evening and weekend clinics", "Text reminders a day before"]
STRENGTH = {text: 6 - k for k, text in enumerate(MORE_IDEAS)}


def rank_rows(page: Any) -> list[dict[str, Any]]:
    """The placed rows of the ranking table, top to bottom: rank range and tier."""
    return list(
        page.eval_on_selector_all(
            "#db-ranking-body tr[data-placed='true']",
            "rows => rows.map(r => ({lo: +r.dataset.rankLo, hi: +r.dataset.rankHi,"
            " tier: +r.dataset.tier, text: r.querySelector('.db-idea-text').textContent}))",
        )
    )


def test_ideas_with_too_few_votes_are_listed_apart_and_tiers_agree_with_rank_ranges(
    app_server: AppServer,
    organiser_key: str,
    make_survey: Callable[..., Survey],
    new_page: Callable[..., Any],
    artifacts: Path,
) -> None:
    """Issue 11: an idea with too few answers is "not enough votes yet", below the ranking,
    never with a rank or tier; tiers never split ideas whose rank ranges overlap."""
    survey = make_survey(MORE_IDEAS)

    def voter(swap: tuple[str, str] | None) -> Callable[[str, str], str]:
        s = dict(STRENGTH)
        if swap:  # this voter sees two neighbours the other way round
            s[swap[0]], s[swap[1]] = s[swap[1]], s[swap[0]]
        return lambda left, right: "left" if s[left] > s[right] else "right"

    for swap in (None, None, (MORE_IDEAS[1], MORE_IDEAS[2]), (MORE_IDEAS[3], MORE_IDEAS[4])):
        cast_votes(app_server, survey.id, 15, voter(swap))  # each voter: all 15 pairs once
    late = ["A late idea nobody has compared", "Another late idea"]
    with app_server.client(organiser_key) as c:
        for text in late:
            r = c.post(f"/v1/surveys/{survey.id}/ideas", json={"text": text})
            assert r.status_code == 201, r.text

    page = new_page(1280, 1000)
    sign_in(page, app_server, organiser_key, survey.id)
    expect(page.locator("#db-n-votes")).to_have_text("60")
    placed = page.locator("#db-ranking-body tr[data-placed='true']")
    unplaced = page.locator("#db-ranking-body tr[data-placed='false']")
    expect(placed).to_have_count(len(MORE_IDEAS))
    expect(unplaced).to_have_count(2)
    head = page.locator("#db-unplaced-head")
    expect(head).to_contain_text("Not enough votes yet")
    expect(head).to_contain_text("2 ideas have been compared too few times to place")
    # the section comes after every ranked row; its rows have no rank, tier or score bar
    order = page.eval_on_selector_all(
        "#db-ranking-body tr", "rows => rows.map(r => r.dataset.placed || 'head')"
    )
    assert order == ["true"] * len(MORE_IDEAS) + ["head", "false", "false"]
    expect(unplaced.locator(".db-idea-text")).to_have_text(late, ignore_case=False)
    expect(unplaced.locator(".db-unplaced-badge")).to_have_text(["not enough votes yet"] * 2)
    expect(unplaced.locator(".db-rank, .db-tier, .db-plot-bar, .db-plot-dot")).to_have_count(0)
    expect(unplaced.locator(".db-plot-none")).to_have_text(["0 votes so far"] * 2)

    rows = rank_rows(page)
    assert rows[0]["text"] == MORE_IDEAS[0]
    ranks = list(range(1, len(rows) + 1))
    assert [r["tier"] for r in rows] == sorted(r["tier"] for r in rows)  # tiers go down the list
    assert len({r["tier"] for r in rows}) >= 2
    for a in rows:  # overlapping rank ranges share a tier...
        for b in rows:
            if a["lo"] <= b["hi"] and b["lo"] <= a["hi"]:
                assert a["tier"] == b["tier"], (a, b)
    for t in {r["tier"] for r in rows}:  # ...and each range stays within its tier's places
        places = [k for k, r in zip(ranks, rows, strict=True) if r["tier"] == t]
        assert all(min(places) <= r["lo"] <= r["hi"] <= max(places) for r in rows if r["tier"] == t)
    tier_labels = page.locator("#db-ranking-body tr[data-placed='true'] .db-tier")
    expect(tier_labels).to_have_text([f"tier {r['tier']}" for r in rows])
    page.screenshot(
        path=artifacts / "dashboard-not-enough-votes.png", full_page=True, animations="disabled"
    )
    page.set_viewport_size({"width": 390, "height": 844})
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow == 0
    page.locator("#db-unplaced-head").scroll_into_view_if_needed()
    page.screenshot(path=artifacts / "dashboard-not-enough-votes-phone.png", animations="disabled")


def test_settle_card_shows_forecast_progress_and_each_ideas_place(
    app_server: AppServer,
    organiser_key: str,
    make_survey: Callable[..., Survey],
    new_page: Callable[..., Any],
    artifacts: Path,
) -> None:
    """Issue 11: "are there enough votes for a settled top k?" answers with a forecast that
    moves, and says which ideas are in, out, practically tied or still open."""
    ideas = [f"Proposal {c}" for c in "ABCDEFGHIJ"]  # A best ... J worst, but C and D, at the
    # top-3 border, are equally good: voters pick the better idea of every other pair and split
    # C against D evenly. 120 such votes cannot settle place 3 (0 of 40 runs through the service
    # did), where honest voters with random choices had settled by then in about 1 run in 10,
    # rightly, when chance had shown large gaps (a CI run failed on it)
    strength = [9, 8, 7, 7, 6, 5, 4, 3, 2, 1]
    survey = make_survey(ideas, top_k=3)
    page = new_page(1280, 900)
    sign_in(page, app_server, organiser_key, survey.id)
    expect(page.locator("#db-enough-label")).to_have_text(
        "Are there enough votes for a settled top 3?"
    )
    expect(page.locator("#db-enough-text")).to_have_text("No votes yet.")
    met: dict[tuple[str, str], int] = {}

    def honest(left: str, right: str) -> str:
        a, b = strength[ideas.index(left)], strength[ideas.index(right)]
        if a != b:
            return "left" if a > b else "right"
        pair = (min(left, right), max(left, right))
        n = met.get(pair, 0)
        met[pair] = n + 1
        return "left" if pair[n % 2] == left else "right"  # C, D, C, D, ...

    for _ in range(4):
        cast_votes(app_server, survey.id, 30, honest)
    expect(page.locator("#db-n-votes")).to_have_text("120")
    text = page.locator("#db-enough-text")
    expect(text).to_contain_text("more votes")
    expect(page.locator("#db-settle-strip li")).to_have_count(10)
    statuses = page.locator("#db-settle-strip li").evaluate_all(
        "els => els.map(e => e.dataset.status)"
    )
    assert set(statuses) <= {"in", "out", "tied", "open"} and "open" in statuses
    # the strip is in score order: nothing "in" below an idea that is "out"
    ins = [i for i, s in enumerate(statuses) if s == "in"]
    outs = [i for i, s in enumerate(statuses) if s == "out"]
    assert not ins or not outs or max(ins) < min(outs)
    notes = page.locator("#db-settle-notes li")
    expect(notes.first).to_contain_text("Of 10 ideas:")
    expect(page.locator("#db-settle-notes")).to_contain_text("Still open: places")
    # and the whole order: C and D are not yet told apart nor known to be tied
    expect(page.locator("#db-settle-notes li[data-order=open]")).to_have_text(
        re.compile(
            r"Whole order: \d of 9 pairs of neighbouring places told apart or practically tied; "
            r"still open among places \d+–\d+"
        )
    )
    progress = page.locator("#db-enough-progress")
    before = int(progress.get_attribute("value") or 0)
    assert 0 < before < 100
    page.locator("#db-settle").screenshot(path=artifacts / "dashboard-settle.png")

    # Many more honest votes: the card moves. Progress is the votes so far over those plus the
    # forecast, which is simulated again as votes grow, so it may also step back a little.
    for _ in range(10):
        cast_votes(app_server, survey.id, 30, honest)
    expect(page.locator("#db-n-votes")).to_have_text("420")
    expect(progress).not_to_have_attribute("value", str(before))
    page.locator("#db-settle").screenshot(path=artifacts / "dashboard-settle-later.png")


def test_an_idea_being_edited_keeps_its_form_when_votes_arrive(
    app_server: AppServer,
    organiser_key: str,
    make_survey: Callable[..., Survey],
    new_page: Callable[..., Any],
) -> None:
    """The live results re-render the ideas list (new vote counts); a half-typed edit stays."""
    survey = make_survey(IDEAS)
    page = new_page(1280, 900)
    sign_in(page, app_server, organiser_key, survey.id)
    page.get_by_role("tab", name="Ideas").click()
    page.get_by_role("button", name=f"Edit: {IDEAS[1]}").click()
    field = page.locator(".db-edit-idea input").first
    field.fill("Nurse-led telephone clinics, evenings too")
    cast_votes(app_server, survey.id, 3, lambda left, right: "left")
    expect(page.locator("#db-n-votes")).to_have_text("3")
    expect(page.locator(".db-edit-idea input").first).to_have_value(
        "Nurse-led telephone clinics, evenings too"
    )
    page.locator(".db-edit-idea button[type=submit]").click()
    expect(page.locator("#db-ideas")).to_contain_text("evenings too")
    expect(page.locator(".db-edit-idea")).to_have_count(0)
