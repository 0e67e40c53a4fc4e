"""Browser test harness: the real app under uvicorn, host pages on other origins, Debian chromium.

- ``app_server``: ``uvicorn api.app:factory --factory`` in a child process on ``127.0.0.1`` (a free
  port), SQLite in a temp dir, fixed secret and admin token; stopped by PID.
- ``host_server`` / ``other_host_server``: tiny HTTP servers on ``localhost`` (other ports), i.e.
  different origins from the app. ``/embed`` embeds a survey with the one-script-tag loader and
  records the widget's events in ``window.rankerEvents``; ``/iframe`` uses a plain iframe.
- ``browser``: Playwright driving ``/usr/bin/chromium``; ``new_page(width, height)`` gives a page in
  a fresh context (closed after the test).
- Screenshots go to ``tests/artifacts/`` (gitignored) for review.
"""

from __future__ import annotations

import html
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.redis_proc import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
ADMIN_TOKEN = "admin-" + secrets.token_urlsafe(16)
WIDGET_EVENTS = ("ready", "resize", "vote", "skip", "undo", "idea", "comment", "flag", "error")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder that uses the browser is marked ``browser``.

    (pytest calls this hook with the whole session's items, so it checks the folder.)"""
    here = Path(__file__).resolve().parent
    for item in items:
        if here in item.path.parents and "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)


# --------------------------------------------------------------------------- the app


@dataclass
class AppServer:
    base: str
    proc: subprocess.Popen[bytes]
    log: Path

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.base, headers=headers, timeout=10.0)


@pytest.fixture(scope="session")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """The real API + web app, one uvicorn worker, SQLite in a temp dir."""
    work = tmp_path_factory.mktemp("app")
    port = free_port()
    env = {
        **os.environ,
        "RANKER_STORE": f"sqlite:///{work / 'ranker.db'}",
        "RANKER_SECRET": secrets.token_urlsafe(32),
        "RANKER_ADMIN_TOKEN": ADMIN_TOKEN,
        "RANKER_SSE_INTERVAL_S": "0.2",
    }
    log = work / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "api.app:factory",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                os.environ.get("RANKER_TEST_LOG_LEVEL", "warning"),
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, proc, log)
        yield AppServer(base, proc, log)
    finally:
        proc.terminate()
        if os.environ.get("RANKER_TEST_KEEP_LOG"):
            print(f"server log: {log}")
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_until_up(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"app server exited:\n{log.read_text()}")
        try:
            if httpx.get(base + "/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"app server did not start:\n{log.read_text()}")


@pytest.fixture(scope="session")
def organiser_key(app_server: AppServer) -> str:
    """An organiser's API key, created with the admin token."""
    with app_server.client(ADMIN_TOKEN) as c:
        r = c.post("/v1/organisers", json={"name": "Browser tests"})
        assert r.status_code == 201, r.text
        return str(r.json()["api_key"])


@dataclass
class Survey:
    id: str
    ideas: dict[str, int]
    """idea text -> idea id"""
    raw: dict[str, Any] = field(default_factory=dict)


@pytest.fixture
def make_survey(app_server: AppServer, organiser_key: str) -> Callable[..., Survey]:
    """Create and open a survey owned by the test organiser."""

    def make(
        ideas: list[str],
        origins: list[str] | None = None,
        question: str = "Which idea would improve outpatient follow-up most?",
        **extra: Any,
    ) -> Survey:
        body = {"question": question, "ideas": ideas, "embed_origins": origins or [], **extra}
        with app_server.client(organiser_key) as c:
            r = c.post("/v1/surveys", json=body)
            assert r.status_code == 201, r.text
            sid = r.json()["id"]
            r = c.post(f"/v1/surveys/{sid}/open")
            assert r.status_code == 200, r.text
            listed = c.get(f"/v1/surveys/{sid}/ideas").json()["ideas"]
        return Survey(sid, {i["text"]: i["id"] for i in listed}, r.json())

    return make


# --------------------------------------------------------------------------- host pages


def _host_page(query: dict[str, list[str]]) -> str:
    app = query["app"][0]
    survey = query["survey"][0]
    attrs = "".join(
        f' data-{html.escape(k)}="{html.escape(v[0])}"'
        for k, v in query.items()
        if k not in ("app", "survey", "mode")
    )
    listen = (
        "window.rankerEvents = []; window.rankerMessages = [];"
        f"for (const t of {json.dumps(WIDGET_EVENTS)}) document.addEventListener('ranker:' + t,"
        " (e) => window.rankerEvents.push(e.detail));"
        "window.addEventListener('message', (e) => window.rankerMessages.push("
        "{origin: e.origin, data: e.data}));"
    )
    if query.get("mode", ["embed"])[0] == "iframe":
        widget = (
            f'<iframe id="plain" src="{html.escape(app)}/w/{html.escape(survey)}" width="100%"'
            ' height="460" style="border:0" title="Vote"></iframe>'
        )
    else:
        widget = (
            f'<script src="{html.escape(app)}/embed.js" data-survey="{html.escape(survey)}"'
            f"{attrs} async></script>"
        )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<title>Host page</title><style>body{font-family:sans-serif;margin:0;padding:16px;"
        "background:#eef1f5} main{max-width:820px;margin:auto;background:#fff;padding:16px;"
        "border-radius:12px}</style></head><body><main><h1>Community health forum</h1>"
        "<p>Tell us which ideas matter most.</p>"
        f"<script>{listen}</script>{widget}"
        "<p>Footer text of the host page.</p></main></body></html>"
    )


class _HostHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if url.path in ("/embed", "/iframe") and "app" in query and "survey" in query:
            if url.path == "/iframe":
                query["mode"] = ["iframe"]
            body = _host_page(query).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
        else:
            body = b"not found"
            self.send_response(404)
            self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass


@dataclass
class HostServer:
    origin: str

    def embed_url(self, app: AppServer, survey: str, **data: str) -> str:
        params = httpx.QueryParams({"app": app.base, "survey": survey, **data})
        return f"{self.origin}/embed?{params}"

    def iframe_url(self, app: AppServer, survey: str) -> str:
        params = httpx.QueryParams({"app": app.base, "survey": survey})
        return f"{self.origin}/iframe?{params}"


def _serve_host() -> Iterator[HostServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HostHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        # "localhost" vs the app's "127.0.0.1" (and another port): a different origin and site.
        yield HostServer(f"http://localhost:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def host_server() -> Iterator[HostServer]:
    """A host page origin that surveys in these tests allow."""
    yield from _serve_host()


@pytest.fixture(scope="session")
def other_host_server() -> Iterator[HostServer]:
    """A second host origin that is on no survey's allow-list."""
    yield from _serve_host()


# --------------------------------------------------------------------------- the browser


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """``new_page(width=1024, height=768, **context_options)``: a page in a fresh context."""
    contexts: list[Any] = []

    def make(width: int = 1024, height: int = 768, **options: Any) -> Any:
        ctx = browser.new_context(viewport={"width": width, "height": height}, **options)
        ctx.set_default_timeout(15_000)
        contexts.append(ctx)
        page = ctx.new_page()
        page.dialogs = []
        page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
        # What the page (and its frames) asked the app for, to explain a failing wait.
        page.requests_log = []
        page.on(
            "requestfinished",
            lambda r: page.requests_log.append(f"{r.method} {urlsplit(r.url).path} done"),
        )
        page.on(
            "requestfailed",
            lambda r: page.requests_log.append(f"{r.method} {urlsplit(r.url).path} {r.failure}"),
        )
        page.on("console", lambda m: page.requests_log.append("console " + m.text))
        page.on("request", lambda r: page.requests_log.append(f"{r.method} {urlsplit(r.url).path}"))
        return page

    yield make
    for ctx in contexts:
        ctx.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
