"""Security behaviour: keys, tokens, limits, headers, no internals in errors, no CDN."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from api.app import create_app
from api.settings import Settings
from ranker.service import RankerService
from ranker.storage import open_store
from ranker.surveys import Surveys
from tests.api_client import SECRET, Api, assert_problem, make_api


@pytest.fixture
def api() -> Iterator[Api]:
    with make_api(max_body_bytes=4096) as a:
        yield a


def organiser_operations(api: Api) -> list[tuple[str, str]]:
    """Every operation the OpenAPI document marks as needing the organiser key."""
    doc = api.client.get("/schema/openapi.json").json()
    ops = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if {"organiserKey": []} in op.get("security", []) and {} not in op.get("security"):
                ops.append((method.upper(), path))
    return ops


def fill(path: str, sid: str) -> str:
    return (
        path.replace("{survey_id}", sid)
        .replace("{idea_id}", "0")
        .replace("{voter_id}", "v1")
        .replace("{kind}", "votes")
    )


def test_every_organiser_route_refuses_without_or_with_a_wrong_key(api: Api) -> None:
    org = api.organiser()
    sid = api.survey(org)
    ops = organiser_operations(api)
    assert len(ops) >= 15, ops
    for method, path in ops:
        url = fill(path, sid)
        body: dict[str, Any] = {"json": {}} if method in ("POST", "PATCH") else {}
        r = api.client.request(method, url, **body)
        assert_problem(r, 401, "unauthorized")
        assert r.headers["www-authenticate"].startswith("Bearer")
        for header in ("Bearer rk_wrong", "Basic abc", "Bearer "):
            r = api.client.request(method, url, headers={"Authorization": header}, **body)
            assert_problem(r, 401, "unauthorized")


def test_api_key_is_stored_hashed(api: Api) -> None:
    org = api.organiser()
    key = org["Authorization"].removeprefix("Bearer ")
    store = api.service.store
    assert store.get_organiser(key) is None  # looked up by hash, never by the key itself
    dumped = repr(vars(store)).encode()
    assert key.encode() not in dumped


def test_oversized_body_is_413(api: Api) -> None:
    org = api.organiser()
    r = api.client.post("/v1/surveys", json={"question": "q" * 5000}, headers=org)
    assert_problem(r, 413, "payload_too_large")
    sid = api.survey(org)
    voter = api.voter(sid)
    r = api.client.post(
        f"/v1/public/surveys/{sid}/ideas",
        content=b"{" + b" " * 10_000 + b"}",
        headers={**voter, "Content-Type": "application/json"},
    )
    assert_problem(r, 413, "payload_too_large")


def test_forged_voter_token_with_valid_shape_is_refused(api: Api) -> None:
    org = api.organiser()
    sid = api.survey(org)
    other = RankerService(open_store("memory://"), secret=b"another secret of enough length")
    foreign = other.signer.sign_voter(
        __import__("ranker.tokens", fromlist=["VoterClaims"]).VoterClaims(
            survey=sid, voter="mallory", group=None, issued=0.0
        )
    )
    r = api.client.post(f"/v1/public/surveys/{sid}/ballots", headers={"X-Voter-Token": foreign})
    assert_problem(r, 401, "voter_token_invalid")


def test_public_errors_still_carry_cors_headers(api: Api) -> None:
    org = api.organiser()
    sid = api.survey(org, embed_origins=["https://host.example"])
    r = api.client.post(
        f"/v1/public/surveys/{sid}/ballots", headers={"Origin": "https://host.example"}
    )
    assert_problem(r, 401, "voter_token_missing")
    assert r.headers["access-control-allow-origin"] == "https://host.example"


def test_a_wildcard_embed_origin_is_refused_so_no_survey_allows_every_site(api: Api) -> None:
    org = api.organiser()
    body = {"question": "Which is better?", "ideas": ["a", "b"], "embed_origins": ["*"]}
    r = api.client.post("/v1/surveys", json=body, headers=org)
    assert r.status_code == 400 and r.json()["code"] in ("invalid_input", "validation_error")
    sid = api.survey(org, embed_origins=["https://host.example"])
    r = api.client.patch(f"/v1/surveys/{sid}", json={"embed_origins": ["*"]}, headers=org)
    assert r.status_code == 400 and r.json()["code"] in ("invalid_input", "validation_error")
    r = api.client.get(f"/v1/public/surveys/{sid}", headers={"Origin": "https://other.example"})
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
    assert "*" not in api.client.get(f"/w/{sid}").headers["content-security-policy"]


def test_security_headers_everywhere(api: Api) -> None:
    for path in ("/health", "/v1/surveys", "/v1/public/surveys/none", "/nowhere"):
        r = api.client.get(path)
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert r.headers["content-security-policy"] == "frame-ancestors 'none'"


def test_unknown_route_and_method_are_problems(api: Api) -> None:
    assert_problem(api.client.get("/v1/nowhere"), 404, "not_found")
    r = api.client.put("/v1/surveys")
    assert_problem(r, 405, "method_not_allowed")


class ExplodingSurveys(Surveys):
    def get(self, survey_id: str) -> Any:
        raise RuntimeError("database password is hunter2")


def test_unexpected_error_is_a_bare_500_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    svc = RankerService(open_store("memory://"), secret=SECRET.encode())
    svc.surveys = ExplodingSurveys(svc.repo)
    app = create_app(Settings(store="memory://", secret=SECRET), service=svc)
    from litestar.testing import TestClient

    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/v1/public/surveys/abc")
    body = assert_problem(r, 500, "internal_error")
    assert "hunter2" not in r.text and "Traceback" not in r.text
    assert body.get("detail") is None
    assert any("hunter2" in (rec.exc_text or str(rec.exc_info)) for rec in caplog.records)


def test_docs_page_loads_nothing_from_other_hosts(api: Api) -> None:
    page = api.client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    srcs = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert srcs and all(s.startswith("/") or s.startswith("data:") for s in srcs), srcs
    for s in srcs:
        if s.startswith("/docs/assets/"):
            asset = api.client.get(s)
            assert asset.status_code == 200 and len(asset.content) > 100, s
    init = api.client.get("/docs/assets/docs-init.js").text
    assert "/schema/openapi.json" in init and "http" not in init
    doc = api.client.get("/schema/openapi.json")
    assert doc.status_code == 200 and doc.json()["openapi"].startswith("3.1")


def test_openapi_declares_problem_responses(api: Api) -> None:
    doc = api.client.get("/schema/openapi.json").json()
    for path, item in doc["paths"].items():
        for method, op in item.items():
            for status in ("400", "500"):
                assert status in op["responses"], (method, path, status)
                content = op["responses"][status]["content"]
                assert "application/problem+json" in content, (method, path)


def test_edge_layer_covers_preflight_unknown_routes_and_keeps_a_routes_own_csp(api: Api) -> None:
    org = api.organiser()
    sid = api.survey(org, embed_origins=["https://host.example"])
    pre = {"Origin": "https://host.example", "Access-Control-Request-Method": "POST"}
    r = api.client.options(f"/v1/public/surveys/{sid}/answers", headers=pre)
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == "https://host.example"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-security-policy"] == "frame-ancestors 'none'"
    r = api.client.get(f"/v1/public/surveys/{sid}/nowhere", headers={"Origin": pre["Origin"]})
    assert_problem(r, 404, "not_found")
    assert r.headers["access-control-allow-origin"] == "https://host.example"
    assert r.headers["referrer-policy"] == "no-referrer"
    r = api.client.get(f"/v1/public/surveys/{sid}", headers={"Origin": "https://evil.example"})
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
    assert r.headers["vary"] == "origin"
    page = api.client.get(f"/w/{sid}")
    csp = page.headers.get_list("content-security-policy")
    assert len(csp) == 1 and "https://host.example" in csp[0]
    assert page.headers["x-content-type-options"] == "nosniff"


def test_json_nested_deeper_than_the_decoder_goes_is_a_400_on_every_write(api: Api) -> None:
    """A 2 KB body of ``[[[[...]]]]`` made msgspec give up with a RecursionError, which
    every POST/PATCH answered with a 500 (no key needed): it is the client's bad body."""
    org = api.organiser()
    sid = api.survey(org)
    voter = api.voter(sid)
    deep = b"[" * 1000 + b"]" * 1000
    doc = api.client.get("/schema/openapi.json").json()
    writes = [
        (method.upper(), path)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in ("post", "patch")
        and "application/json" in op.get("requestBody", {}).get("content", {})
    ]
    assert len(writes) >= 8, writes
    for method, path in writes:
        headers = {"content-type": "application/json", **org, **voter}
        r = api.client.request(method, fill(path, sid), content=deep, headers=headers)
        assert r.status_code == 400, (method, path, r.status_code, r.text)
        assert r.json()["code"] in ("validation_error", "unsupported_media_type"), r.text
