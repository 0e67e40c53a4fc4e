"""The interactive API docs page renders in chromium with no request leaving the server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.browser.conftest import AppServer


def test_docs_page_renders_offline_in_chromium(
    app_server: AppServer, new_page: Callable[..., Any]
) -> None:
    server = app_server.base
    page = new_page()
    foreign: list[str] = []
    errors: list[str] = []
    page.on(
        "request",
        lambda r: None if r.url.startswith((server, "data:")) else foreign.append(r.url),
    )
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{server}/docs")
    page.wait_for_selector(".opblock", timeout=20_000)
    assert page.locator(".opblock").count() >= 25
    assert foreign == [] and errors == []
