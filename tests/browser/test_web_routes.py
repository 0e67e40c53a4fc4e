"""HTTP behaviour of the widget/dashboard routes (``api/routes/web.py``), without a browser."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from api.app import create_app
from api.routes.web import WebAssets, widget_csp
from api.settings import Settings

ORIGINS = {"s1": ["https://host.example", "http://localhost:8001"], "none": []}


@pytest.fixture(scope="module")
def app_and_ids() -> Iterator[tuple[TestClient[Litestar], dict[str, str]]]:
    """The real app on the memory store, with one survey per entry of ORIGINS."""
    settings = Settings.load(
        environ={
            "RANKER_STORE": "memory://",
            "RANKER_SECRET": "s" * 40,
            "RANKER_ADMIN_TOKEN": "adm",
        }
    )
    with TestClient(create_app(settings)) as c:
        r = c.post("/v1/organisers", json={"name": "t"}, headers={"Authorization": "Bearer adm"})
        key = {"Authorization": f"Bearer {r.json()['api_key']}"}
        ids = {}
        for name, origins in ORIGINS.items():
            body = {"question": "Which?", "ideas": ["a", "b"], "embed_origins": origins}
            r = c.post("/v1/surveys", json=body, headers=key)
            assert r.status_code == 201, r.text
            ids[name] = r.json()["id"]
        yield c, ids


@pytest.fixture
def client(app_and_ids: tuple[TestClient[Litestar], dict[str, str]]) -> TestClient[Litestar]:
    return app_and_ids[0]


@pytest.fixture
def ids(app_and_ids: tuple[TestClient[Litestar], dict[str, str]]) -> dict[str, str]:
    return app_and_ids[1]


def frame_ancestors_of(csp: str) -> list[str]:
    for directive in csp.split(";"):
        parts = directive.split()
        if parts and parts[0] == "frame-ancestors":
            return parts[1:]
    raise AssertionError(f"no frame-ancestors in {csp!r}")


def test_widget_page_lists_the_surveys_allowed_sites_as_frame_ancestors(
    client: TestClient[Litestar], ids: dict[str, str]
) -> None:
    r = client.get(f"/w/{ids['s1']}")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert frame_ancestors_of(csp) == ["'self'", "http://localhost:8001", "https://host.example"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert r.headers["cache-control"] == "no-cache"
    assert r.headers["x-content-type-options"] == "nosniff"


def test_widget_page_of_a_survey_without_sites_is_frameable_only_by_itself(
    client: TestClient[Litestar], ids: dict[str, str]
) -> None:
    csp = client.get(f"/w/{ids['none']}").headers["content-security-policy"]
    assert frame_ancestors_of(csp) == ["'self'"]


@pytest.mark.parametrize("survey", ["missing", "bad%20id", "x" * 65])
def test_unknown_survey_is_a_404_page_nobody_may_frame(
    client: TestClient[Litestar], survey: str
) -> None:
    r = client.get(f"/w/{survey}")
    assert r.status_code == 404
    assert frame_ancestors_of(r.headers["content-security-policy"]) == ["'none'"]
    assert "Survey not found" in r.text


def test_injected_origin_cannot_add_csp_directives() -> None:
    csp = widget_csp(["https://ok.example", "https://evil.example; script-src *"])
    assert frame_ancestors_of(csp) == ["'self'", "https://ok.example"]
    assert csp.count("script-src") == 1


def test_etag_revalidation_gives_304(client: TestClient[Litestar], ids: dict[str, str]) -> None:
    for path in (f"/w/{ids['s1']}", "/dashboard", "/embed.js"):
        first = client.get(path)
        again = client.get(path, headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304, path
        assert again.content == b""


def test_dashboard_may_not_be_framed(client: TestClient[Litestar]) -> None:
    r = client.get("/dashboard")
    assert r.status_code == 200
    assert frame_ancestors_of(r.headers["content-security-policy"]) == ["'none'"]


def test_embed_loader_is_cacheable_javascript_loadable_cross_origin(
    client: TestClient[Litestar],
) -> None:
    r = client.get("/embed.js")
    assert r.headers["content-type"].startswith("text/javascript")
    assert r.headers["cache-control"] == "public, max-age=300"
    assert r.headers["cross-origin-resource-policy"] == "cross-origin"
    assert "data-survey" in r.text


def test_versioned_subresources_are_immutable_and_others_revalidate(
    client: TestClient[Litestar],
) -> None:
    html = client.get("/dashboard").text
    urls = re.findall(r'"(/web/dashboard\.(?:js|css)\?v=\w+)"', html)
    assert len(urls) == 2
    for url in urls:
        r = client.get(url)
        assert r.status_code == 200
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    stale = client.get("/web/dashboard.js?v=old")
    assert stale.headers["cache-control"] == "no-cache"
    assert client.get("/web/widget.css").headers["content-type"].startswith("text/css")


@pytest.mark.parametrize("name", ["embed.html", "web.py", "..%2Fapp.py", "widget.html"])
def test_only_known_subresources_are_served(client: TestClient[Litestar], name: str) -> None:
    r = client.get(f"/web/{name}")
    assert r.status_code == 404


def test_html_pages_have_no_inline_script_or_style() -> None:
    assets = WebAssets()
    for name in ("widget.html", "dashboard.html"):
        html = assets.get(name).body.decode()
        assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html) is None, name
        assert " style=" not in html and "<style" not in html, name


def test_embed_loader_answers_head_like_get_without_a_body(client: TestClient[Litestar]) -> None:
    got = client.get("/embed.js")
    head = client.head("/embed.js")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == got.headers["etag"]
    assert head.headers["content-length"] == str(len(got.content))
    assert head.headers["content-type"] == got.headers["content-type"]


def test_the_loader_can_ask_whether_its_page_may_show_a_survey(
    client: TestClient[Litestar], ids: dict[str, str]
) -> None:
    def check(survey: str, origin: str) -> dict[str, object]:
        r = client.get(f"/embed/check/{survey}", headers={"Origin": origin})
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == "*"
        assert r.headers["cache-control"] == "no-store"
        out: dict[str, object] = r.json()
        return out

    assert check(ids["s1"], "https://host.example") == {
        "found": True,
        "allowed": True,
        "origin": "https://host.example",
    }
    assert check(ids["s1"], "https://elsewhere.example")["allowed"] is False
    assert check(ids["none"], "https://host.example")["allowed"] is False
    assert check("no-such-survey", "https://host.example") == {
        "found": False,
        "allowed": False,
        "origin": "https://host.example",
    }
