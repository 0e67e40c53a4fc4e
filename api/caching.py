"""``ETag`` / ``If-None-Match`` for JSON bodies that are cheap to build but worth revalidating."""

from __future__ import annotations

import hashlib
from typing import Any, TypeVar

import msgspec
from litestar import Request, Response

__all__ = ["etag_of", "json_with_etag"]

T = TypeVar("T")

_encoder = msgspec.json.Encoder()


def etag_of(body: bytes) -> str:
    """A strong validator: the quoted BLAKE2b-128 of the encoded body."""
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def _matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return etag in tags


def json_with_etag(request: Request[Any, Any, Any], value: T, cache_control: str) -> Response[T]:
    """``200`` with ``ETag`` and ``Cache-Control``, or ``304`` when ``If-None-Match`` matches."""
    body = _encoder.encode(value)
    etag = etag_of(body)
    headers = {"ETag": etag, "Cache-Control": cache_control}
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(b"", status_code=304, headers=headers)  # type: ignore[arg-type]
    return Response(value, headers=headers)
