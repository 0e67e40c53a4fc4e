"""Small helpers shared by the browser tests (HTTP voter flow, waiting for host events)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.browser.conftest import AppServer


def wait_events(page: Any, kind: str, count: int) -> list[dict[str, Any]]:
    """Wait until the host page has seen ``count`` widget events of ``kind``; return them."""
    try:
        page.wait_for_function(
            "([kind, n]) => window.rankerEvents.filter((e) => e.type === kind).length >= n",
            arg=[kind, count],
        )
    except Exception as exc:  # say what the host did see
        seen = page.evaluate("window.rankerEvents.map((e) => JSON.stringify(e))")
        requests = getattr(page, "requests_log", [])[-12:]
        raise AssertionError(
            f"waited for {count} {kind!r} events; the host saw {seen}; last requests {requests}"
        ) from exc
    events: list[dict[str, Any]] = page.evaluate(
        "(kind) => window.rankerEvents.filter((e) => e.type === kind)", kind
    )
    return events


def cast_votes(
    app: AppServer,
    survey_id: str,
    n: int,
    choose: Callable[[str, str], str],
    group: str | None = None,
) -> list[dict[str, Any]]:
    """Vote ``n`` times as one new voter over HTTP; ``choose(left_text, right_text)`` -> choice."""
    prefix = f"/v1/public/surveys/{survey_id}"
    receipts = []
    with app.client() as c:
        r = c.post(prefix + "/voters", json={"group": group} if group else {})
        assert r.status_code == 201, r.text
        headers = {"X-Voter-Token": r.json()["token"]}
        for _ in range(n):
            b = c.post(prefix + "/ballots", headers=headers)
            assert b.status_code == 201, b.text
            ballot = b.json()
            choice = choose(ballot["left"]["text"], ballot["right"]["text"])
            a = c.post(
                prefix + "/answers",
                headers=headers,
                json={"ballot": ballot["ballot"], "choice": choice},
            )
            assert a.status_code == 201, a.text
            receipts.append(a.json())
    return receipts


def export_rows(app: AppServer, key: str, survey_id: str, kind: str) -> list[dict[str, Any]]:
    """The organiser NDJSON export ``kind`` of a survey, parsed."""
    with app.client(key) as c:
        r = c.get(f"/v1/surveys/{survey_id}/exports/{kind}", params={"format": "ndjson"})
        assert r.status_code == 200, r.text
    return [json.loads(line) for line in r.text.splitlines() if line.strip()]


def results(app: AppServer, key: str, survey_id: str) -> dict[str, Any]:
    with app.client(key) as c:
        r = c.get(f"/v1/surveys/{survey_id}/results")
        assert r.status_code == 200, r.text
        out: dict[str, Any] = r.json()
        return out


def wait_fitted(page: Any) -> None:
    """Wait until the host has resized the widget's iframe to the widget's current content.

    When a panel opens, the content grows before the host hears about it; clicking in that
    moment can hit a control that is about to move. Tests wait for the layout to settle.
    """
    frame = page.frame_locator("iframe.ranker-widget").locator("html")
    height = frame.evaluate("(html) => Math.ceil(html.getBoundingClientRect().height)")
    page.wait_for_function(
        "(h) => document.querySelector('iframe.ranker-widget').style.height"
        " === `${Math.max(120, h)}px`",
        arg=height,
    )
    # The iframe runs in its own renderer process: chromium routes a click by hit-test data that
    # is only refreshed when the next frames are drawn, so let two frames pass after a resize.
    page.evaluate("new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
