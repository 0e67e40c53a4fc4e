"""Who may vote, in a real browser: the widget solves proofs of work (in proof_of_work mode and
past an address's free budget) and takes its voter from the embedding site's signed token."""

from __future__ import annotations

import importlib.util
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from playwright.sync_api import expect

from tests.browser.conftest import ROOT, AppServer, HostServer, Survey
from tests.browser.helpers import export_rows, results, wait_events

IDEAS = [
    "Video follow-up by default for stable patients",
    "Nurse-led telephone clinics",
    "Patient-initiated follow-up instead of fixed appointments",
    "Shared care records patients can read",
]
ISSUER = "https://host.example"
KEY = ec.generate_private_key(ec.SECP256R1())
PRIVATE = KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
PUBLIC = (
    KEY.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)
SITE = {"mode": "site", "site_keys": [PUBLIC], "site_issuer": ISSUER}


class Voters:
    """What the widget sent to ``POST .../voters`` and when it asked for a challenge."""

    def __init__(self, page: Any) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.challenged: list[float] = []
        self.posted: list[float] = []
        self.urls: list[str] = []
        page.on("request", self._seen)

    def _seen(self, request: Any) -> None:
        self.urls.append(request.url)
        if request.url.endswith("/voters/challenge"):
            self.challenged.append(time.monotonic())
        elif request.url.endswith("/voters") and request.method == "POST":
            self.posted.append(time.monotonic())
            self.bodies.append(json.loads(request.post_data or "{}"))


def vote(page: Any, n: int, start: int = 0) -> None:
    widget = page.frame_locator("iframe.ranker-widget")
    for i in range(n):
        expect(widget.locator("#rk-left")).to_be_enabled()
        widget.locator("#rk-left").click()
        wait_events(page, "vote", start + i + 1)


def voter_ids(app: AppServer, key: str, survey_id: str) -> list[str]:
    return [r["voter"] for r in export_rows(app, key, survey_id, "votes")]


def site_token(survey_id: str, user: str, ttl: int = 600) -> str:
    now = int(time.time())
    claims = {"sub": user, "aud": survey_id, "iss": ISSUER, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, PRIVATE, algorithm="ES256")


def test_proof_of_work_mode_the_widget_solves_before_its_first_pair(
    app_server: AppServer,
    organiser_key: str,
    make_survey: Callable[..., Survey],
    host_server: HostServer,
    new_page: Callable[..., Any],
) -> None:
    survey = make_survey(IDEAS, origins=[host_server.origin], identity={"mode": "proof_of_work"})
    csp = httpx.get(f"{app_server.base}/w/{survey.id}").headers["content-security-policy"]
    assert "worker-src 'self'" in csp and "script-src 'self';" in csp  # no CDN, no blob: worker
    page = new_page()
    seen = Voters(page)
    page.goto(host_server.embed_url(app_server, survey.id))
    vote(page, 3)
    assert len(seen.bodies) == 1 and set(seen.bodies[0]) == {"proof"}
    assert all(u.startswith((host_server.origin, app_server.base)) for u in seen.urls)
    print(f"\nproof of work in chromium: {seen.posted[0] - seen.challenged[0]:.2f} s")
    ids = voter_ids(app_server, organiser_key, survey.id)
    assert len(ids) == 3 and len(set(ids)) == 1 and ids[0].startswith("w")
    # a returning participant keeps their voter: no second proof
    page.reload()
    vote(page, 1)
    assert len(seen.bodies) == 1
    assert results(app_server, organiser_key, survey.id)["n_voters"] == 1


def test_past_the_free_budget_a_new_voter_solves_a_proof_instead_of_being_refused(
    app_server: AppServer,
    organiser_key: str,
    make_survey: Callable[..., Survey],
    host_server: HostServer,
    new_page: Callable[..., Any],
) -> None:
    survey = make_survey(IDEAS, origins=[host_server.origin], identity={"free_per_10min": 1})
    first = new_page()
    first.goto(host_server.embed_url(app_server, survey.id))
    vote(first, 1)
    page = new_page()  # another browser behind the same address (a school, a ward)
    seen = Voters(page)
    page.goto(host_server.embed_url(app_server, survey.id))
    vote(page, 2)
    assert [set(b) for b in seen.bodies] == [set(), {"proof"}]
    assert results(app_server, organiser_key, survey.id)["n_voters"] == 2


def test_site_mode_one_voter_per_site_user_on_every_device(
    app_server: AppServer,
    organiser_key: str,
    make_survey: Callable[..., Survey],
    host_server: HostServer,
    new_page: Callable[..., Any],
) -> None:
    survey = make_survey(IDEAS, origins=[host_server.origin], identity=SITE)
    devices = [("alice", 2), ("alice", 1), ("bob", 1)]  # alice on a laptop, then her phone
    for user, n in devices:
        page = new_page()
        seen = Voters(page)
        token = site_token(survey.id, user)
        page.goto(host_server.embed_url(app_server, survey.id, **{"site-token": token}))
        vote(page, n)
        widget = page.frame_locator("iframe.ranker-widget")
        expect(widget.locator(".rk-status")).to_contain_text("Your account on this site")
        assert [set(b) for b in seen.bodies] == [{"site_token"}]
        # the token reached the app in a request body only, never in a URL
        assert not [u for u in seen.urls if u.startswith(app_server.base) and token in u]
    ids = voter_ids(app_server, organiser_key, survey.id)
    assert len(ids) == 4 and ids[0] == ids[1] == ids[2] != ids[3]
    assert results(app_server, organiser_key, survey.id)["n_voters"] == 2


def test_site_mode_without_a_token_asks_to_sign_in(
    app_server: AppServer,
    make_survey: Callable[..., Survey],
    host_server: HostServer,
    new_page: Callable[..., Any],
) -> None:
    survey = make_survey(IDEAS, origins=[host_server.origin], identity=SITE)
    page = new_page()
    page.goto(host_server.embed_url(app_server, survey.id))
    widget = page.frame_locator("iframe.ranker-widget")
    expect(widget.locator("#rk-message")).to_have_text("Please sign in on this site to vote.")
    assert wait_events(page, "error", 1)[-1]["code"] == "site_token_required"


def test_the_example_host_signs_its_users_in(
    app_server: AppServer,
    organiser_key: str,
    make_survey: Callable[..., Survey],
    new_page: Callable[..., Any],
) -> None:
    spec = importlib.util.spec_from_file_location(
        "site_identity_host", ROOT / "examples" / "site_identity" / "host.py"
    )
    assert spec is not None and spec.loader is not None
    host = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(host)
    assert host.ISSUER == ISSUER
    # the survey's embed origin needs the host's port, and the host needs the survey's id
    probe = host.make_server(app_server.base, "", PRIVATE)
    port = probe.server_address[1]
    probe.server_close()
    origin = f"http://localhost:{port}"
    survey = make_survey(IDEAS, origins=[origin], identity=SITE)
    server = host.make_server(app_server.base, survey.id, PRIVATE, port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        page = new_page()
        page.goto(f"{origin}/")
        expect(page.locator("body")).to_contain_text("You are not signed in")
        page.goto(f"{origin}/login?user=carol")
        widget = page.frame_locator("iframe.ranker-widget")
        expect(widget.locator("#rk-left")).to_be_enabled()
        widget.locator("#rk-left").click()
        expect(widget.locator("#rk-count")).to_have_text("1 vote")
        page.goto(f"{origin}/login?user=carol")  # a fresh page load: the same voter
        expect(widget.locator("#rk-count")).to_have_text("1 vote")
        expect(widget.locator("#rk-left")).to_be_enabled()
        widget.locator("#rk-left").click()
        expect(widget.locator("#rk-count")).to_have_text("2 votes")
    finally:
        server.shutdown()
        server.server_close()
    ids = voter_ids(app_server, organiser_key, survey.id)
    assert len(ids) == 2 and ids[0] == ids[1]
