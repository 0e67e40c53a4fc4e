"""The OpenAPI document says what the server does (api/openapi.py, and the ``Allow`` fix in
api/security.py): strict request bodies are ``additionalProperties: false`` (and the server does
refuse unknown fields), optional bodies are not ``required``, the CSV import declares its
``text/csv`` body, and ``OPTIONS`` lists every method of a path."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from litestar.routes import HTTPRoute

from api.openapi import forbids_unknown_fields
from ranker.domain import SurveyPatch
from tests.api_client import Api, assert_problem, make_api

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@pytest.fixture(scope="module")
def api() -> Iterator[Api]:
    with make_api() as a:
        yield a


@pytest.fixture(scope="module")
def doc(api: Api) -> dict[str, Any]:
    r = api.client.get("/schema/openapi.json")
    assert r.status_code == 200
    out: dict[str, Any] = r.json()
    return out


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def json_bodies(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    out = []
    for path, method, op in operations(doc):
        content = op.get("requestBody", {}).get("content", {})
        if "application/json" in content:
            out.append((path, method, content["application/json"]["schema"]))
    return out


def object_schemas(doc: dict[str, Any], schema: Any, seen: set[str]) -> Iterator[tuple[str, Any]]:
    """Every object schema reachable from ``schema`` (through refs, unions, items, properties),
    with the name of the component it is (or ``""`` for an inline one)."""
    if isinstance(schema, list):
        for s in schema:
            yield from object_schemas(doc, s, seen)
        return
    if not isinstance(schema, dict):
        return
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name not in seen:
            seen.add(name)
            target = doc["components"]["schemas"][name]
            if target.get("type") == "object" or "properties" in target:
                yield name, target
            yield from object_schemas(doc, {k: v for k, v in target.items()}, seen)
        return
    if schema.get("type") == "object" and "properties" in schema:
        yield "", schema
    for key in ("oneOf", "anyOf", "allOf", "items", "prefixItems"):
        if key in schema:
            yield from object_schemas(doc, schema[key], seen)
    for key in ("properties", "patternProperties"):
        for sub in schema.get(key, {}).values():
            yield from object_schemas(doc, sub, seen)
    if isinstance(schema.get("additionalProperties"), dict):
        yield from object_schemas(doc, schema["additionalProperties"], seen)


def handlers_with_body(api: Api) -> list[tuple[str, str, Any]]:
    """``(path, method, data parameter)`` of every handler that takes a decoded body."""
    out = []
    for route in api.client.app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for h in route.route_handlers:
            data = h.parsed_fn_signature.parameters.get("data")
            if data is not None:
                for m in h.http_methods:
                    out.append((route.path_format, m.lower(), data))
    return out


# -- unknown fields ---------------------------------------------------------------------
def test_every_json_body_forbids_unknown_fields_down_to_nested_objects(
    doc: dict[str, Any],
) -> None:
    bodies = json_bodies(doc)
    assert len(bodies) >= 10
    checked = set()
    for path, method, schema in bodies:
        for name, obj in object_schemas(doc, schema, set()):
            where = f"{method.upper()} {path}: {name or 'inline object'}"
            assert obj.get("additionalProperties") is False, where
            checked.add(name)
    # the nested settings object is reached, not only the top-level bodies
    assert {"SurveySpecIn", "SurveyPatchIn", "LimitsIn", "AnswerIn", "VoterIn"} <= checked


def test_every_body_type_of_the_server_forbids_unknown_fields(api: Api) -> None:
    """What the document claims holds in the types the server decodes with, nested too: a
    field added later as a lenient Struct fails here."""
    found = handlers_with_body(api)
    assert len(found) >= 10
    for path, method, data in found:
        for info in _struct_types(msgspec.inspect.type_info(data.annotation)):
            assert info.forbid_unknown_fields, f"{method.upper()} {path}: {info.cls.__name__}"


def _struct_types(t: msgspec.inspect.Type) -> Iterator[msgspec.inspect.StructType]:
    if isinstance(t, msgspec.inspect.StructType):
        yield t
        for f in t.fields:
            yield from _struct_types(f.type)
    for attr in ("types", "item_type", "key_type", "value_type"):
        sub = getattr(t, attr, None)
        if isinstance(sub, tuple):
            for s in sub:
                yield from _struct_types(s)
        elif isinstance(sub, msgspec.inspect.Type):
            yield from _struct_types(sub)


def _setup(api: Api) -> dict[str, Any]:
    org = api.organiser()
    sid = api.survey(org)
    voter = api.voter(sid)
    other = api.client.post(f"/v1/public/surveys/{sid}/voters").json()
    api.vote(sid, {"X-Voter-Token": other["token"]})  # a voter with an answer, to void
    voter_id = other["voter_id"]
    return {"org": org, "sid": sid, "voter": voter, "voter_id": voter_id}


def _url(path: str, ids: dict[str, Any]) -> str:
    return (
        path.replace("{survey_id}", ids["sid"])
        .replace("{idea_id}", "0")
        .replace("{voter_id}", ids["voter_id"])
    )


def test_the_server_refuses_an_unknown_field_on_every_json_body(
    api: Api, doc: dict[str, Any]
) -> None:
    from tests.api_client import ADMIN

    ids = _setup(api)
    headers = {**ids["org"], **ids["voter"]}
    for path, method, _schema in json_bodies(doc):
        h = {**headers, "Authorization": f"Bearer {ADMIN}"} if path == "/v1/organisers" else headers
        r = api.client.request(method.upper(), _url(path, ids), json={"zz_unknown": 1}, headers=h)
        body = assert_problem(r, 400, "validation_error")
        assert "unknown field" in r.text, (method, path, body)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/surveys", {"question": "Q?", "limits": {"answer_per_minute": 5}}),
        ("PATCH", "/v1/surveys/{survey_id}", {"limits": {"answer_per_minute": 5}}),
        ("PATCH", "/v1/surveys/{survey_id}", {"question": "Q?", "colour": "red"}),
    ],
)
def test_a_misspelt_setting_is_refused_not_dropped(
    api: Api, method: str, path: str, body: dict[str, Any]
) -> None:
    ids = _setup(api)
    r = api.client.request(method, _url(path, ids), json=body, headers=ids["org"])
    assert_problem(r, 400, "validation_error")
    assert "unknown field" in r.text
    survey = api.client.get(f"/v1/surveys/{ids['sid']}", headers=ids["org"]).json()
    assert survey["question"] == "Which is better?"


def test_a_strict_patch_still_changes_settings_and_limits(api: Api) -> None:
    ids = _setup(api)
    r = api.client.patch(
        f"/v1/surveys/{ids['sid']}",
        json={"question": "New?", "limits": {"ballot_ttl_s": 60}},
        headers=ids["org"],
    )
    assert r.status_code == 200, r.text
    assert r.json()["question"] == "New?"
    assert r.json()["limits"]["ballot_ttl_s"] == 60
    assert r.json()["limits"]["answers_per_minute"] == 120


def test_the_event_log_type_stays_lenient() -> None:
    """The request type is strict; the logged :class:`SurveyPatch` is not, so a log written by
    a newer version (with a setting this one does not know) still decodes."""
    patch = msgspec.json.decode(b'{"question": "Q?", "future": 1}', type=SurveyPatch)
    assert patch.question == "Q?"
    assert not forbids_unknown_fields(SurveyPatch)


# -- optional and raw bodies ------------------------------------------------------------
def test_a_body_is_required_exactly_when_the_handler_needs_one(
    api: Api, doc: dict[str, Any]
) -> None:
    found = handlers_with_body(api)
    optional = set()
    for path, method, data in found:
        body = doc["paths"][path][method]["requestBody"]
        assert body["required"] is not data.has_default, (method, path)
        if data.has_default:
            optional.add((method, path))
    assert optional == {
        ("post", "/v1/public/surveys/{survey_id}/voters"),
        ("post", "/v1/public/surveys/{survey_id}/ballots"),
        ("post", "/v1/public/surveys/{survey_id}/ideas/{idea_id}/flags"),
        ("post", "/v1/surveys/{survey_id}/voters/{voter_id}/void"),
    }


@pytest.mark.parametrize(
    ("path", "who"),
    [
        ("/v1/public/surveys/{survey_id}/voters", "none"),
        ("/v1/public/surveys/{survey_id}/ideas/{idea_id}/flags", "voter"),
        ("/v1/surveys/{survey_id}/voters/{voter_id}/void", "org"),
    ],
)
def test_an_optional_body_may_be_left_out(api: Api, path: str, who: str) -> None:
    ids = _setup(api)
    headers = {"none": {}, "voter": ids["voter"], "org": ids["org"]}[who]
    r = api.client.post(_url(path, ids), headers=headers)
    assert r.status_code in (200, 201), r.text


def test_the_csv_import_declares_its_body(api: Api, doc: dict[str, Any]) -> None:
    op = doc["paths"]["/v1/surveys/{survey_id}/ideas/import"]["post"]
    body = op["requestBody"]
    assert body["required"] is True
    assert body["content"]["text/csv"]["schema"]["type"] == "string"
    assert "application/json" not in body["content"]
    ids = _setup(api)
    url = _url("/v1/surveys/{survey_id}/ideas/import", ids)
    for ctype in body["content"]:  # every declared type is accepted
        r = api.client.post(
            url, content=f"text\n{ctype} idea\n", headers={**ids["org"], "Content-Type": ctype}
        )
        assert r.status_code == 201, r.text
    r = api.client.post(url, json={"text": "x"}, headers=ids["org"])
    assert_problem(r, 415, "unsupported_media_type")


# -- OPTIONS ----------------------------------------------------------------------------
def _allow(r: Any) -> set[str]:
    return {m.strip() for m in r.headers["allow"].split(",")}


def test_options_allow_lists_every_method_of_each_documented_path(
    api: Api, doc: dict[str, Any]
) -> None:
    ids = _setup(api)
    multi = 0
    for path, item in doc["paths"].items():
        documented = {m.upper() for m in METHODS if m in item} | {"OPTIONS"}
        url = _url(path.replace("{kind}", "votes"), ids)
        r = api.client.options(url)
        assert r.status_code == 204, (path, r.status_code)
        assert _allow(r) == documented, path
        multi += len(documented) > 2
    assert multi >= 4  # the paths Litestar got wrong: more than one handler


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/v1/surveys", {"GET", "POST", "OPTIONS"}),
        ("/v1/surveys/abc", {"GET", "PATCH", "OPTIONS"}),
        ("/v1/surveys/abc/ideas", {"GET", "POST", "OPTIONS"}),
        ("/v1/public/surveys/abc/ideas/0/comments", {"GET", "POST", "OPTIONS"}),
        ("/v1/organisers", {"POST", "OPTIONS"}),
        ("/health", {"GET", "OPTIONS"}),
    ],
)
def test_options_allow_by_hand(api: Api, path: str, methods: set[str]) -> None:
    r = api.client.options(path)
    assert r.status_code == 204
    assert _allow(r) == methods
    assert r.headers["x-content-type-options"] == "nosniff"  # still through the edge layer


def test_options_from_a_page_and_a_cors_preflight(api: Api) -> None:
    """A plain ``OPTIONS`` with an ``Origin`` takes the CORS branch of the edge layer: same
    ``Allow``. A preflight is answered by the edge layer itself, unchanged."""
    org = api.organiser()
    sid = api.survey(org, embed_origins=["https://site.example"])
    url = f"/v1/public/surveys/{sid}/ideas/0/comments"
    r = api.client.options(url, headers={"Origin": "https://site.example"})
    assert r.status_code == 204
    assert _allow(r) == {"GET", "POST", "OPTIONS"}
    pre = api.client.options(
        url,
        headers={"Origin": "https://site.example", "Access-Control-Request-Method": "POST"},
    )
    assert pre.status_code == 204
    assert pre.headers["access-control-allow-origin"] == "https://site.example"
    assert "allow" not in pre.headers


def test_a_method_the_path_lacks_is_405_with_the_same_allow(api: Api) -> None:
    r = api.client.put("/v1/surveys")
    assert r.status_code == 405
    assert _allow(r) == _allow(api.client.options("/v1/surveys"))


def test_the_docs_page_links_to_what_is_served(doc: dict[str, Any]) -> None:
    """The description points at a URL this server answers, not at a file of the source tree."""
    description = doc["info"]["description"]
    assert "docs/api.md" not in description
    assert "[/schema/openapi.json](/schema/openapi.json)" in description
