"""api.responses: the lean no-store JSON response used by the per-vote routes."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar, get
from litestar.datastructures import Cookie
from litestar.testing import TestClient

from api.responses import NoStoreJSON


class Item(msgspec.Struct):
    id: int
    text: str
    score: float | None = None


class Opaque:
    """A value msgspec cannot encode without a type encoder."""


class Wrapped(msgspec.Struct):
    value: Opaque


@get("/item", response_class=NoStoreJSON, sync_to_thread=False, status_code=201)
def item() -> Item:
    return Item(id=3, text="é idea", score=None)


@get("/cookie", response_class=NoStoreJSON, sync_to_thread=False)
def cookie() -> NoStoreJSON:
    return NoStoreJSON(Item(id=1, text="x"), cookies=[Cookie(key="k", value="v")])


@get(
    "/wrapped",
    response_class=NoStoreJSON,
    sync_to_thread=False,
    type_encoders={Opaque: lambda _: "opaque"},
)
def wrapped() -> Wrapped:
    return Wrapped(value=Opaque())


@get("/plain", response_class=NoStoreJSON, sync_to_thread=False)
def plain() -> dict[str, Any]:
    return {"a": [1, 2]}


def client() -> TestClient[Any]:
    return TestClient(Litestar([item, cookie, wrapped, plain], openapi_config=None))


def test_struct_is_encoded_like_litestar_with_no_store() -> None:
    with client() as c:
        r = c.get("/item")
    assert r.status_code == 201
    assert r.content == msgspec.json.encode(Item(id=3, text="é idea"))
    assert r.headers["content-type"] == "application/json"
    assert r.headers["content-length"] == str(len(r.content))
    assert r.headers["cache-control"] == "no-store"


def test_cookies_and_non_structs_take_litestars_path_and_stay_no_store() -> None:
    with client() as c:
        r = c.get("/cookie")
        assert r.json() == {"id": 1, "text": "x", "score": None}
        assert r.cookies["k"] == "v" and r.headers["cache-control"] == "no-store"
        p = c.get("/plain")
        assert p.json() == {"a": [1, 2]} and p.headers["cache-control"] == "no-store"


def test_values_needing_a_type_encoder_fall_back_to_litestar() -> None:
    with client() as c:
        r = c.get("/wrapped")
    assert r.status_code == 200 and r.json() == {"value": "opaque"}
    assert r.headers["cache-control"] == "no-store"
