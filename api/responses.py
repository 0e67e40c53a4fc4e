"""A lean JSON response class for the per-vote routes (``response_class=NoStoreJSON``).

Litestar's generic path turns a handler's return value into a :class:`~litestar.Response`, then
an :class:`~litestar.response.base.ASGIResponse` whose header container is a case-insensitive
mutable mapping filled one ``setdefault`` at a time; on the two requests of a vote cycle that cost
about as much as the routing itself. :class:`NoStoreJSON` keeps the same contract (the handler
still returns a msgspec Struct, so the OpenAPI document is unchanged) and renders it in one step:
msgspec-encoded body, ``content-type: application/json``, ``content-length`` and
``cache-control: no-store`` (ballots and receipts must never be cached). Anything it does not
handle itself (cookies, background tasks, extra headers, HEAD) goes through Litestar's own path.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Response
from litestar.response.base import ASGIResponse
from litestar.types import Receive, Scope, Send

__all__ = ["NoStoreJSON", "RawJSON"]

_encode = msgspec.json.Encoder().encode
_CONTENT_TYPE = (b"content-type", b"application/json")
_NO_STORE = (b"cache-control", b"no-store")


class RawJSON:
    """An ASGI response: ``status`` and an already encoded JSON ``body``, ``no-store``."""

    __slots__ = ("body", "status_code")

    def __init__(self, body: bytes, status_code: int) -> None:
        self.body = body
        self.status_code = status_code

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        start: Any = {
            "type": "http.response.start",
            "status": self.status_code,
            "headers": [
                _CONTENT_TYPE,
                (b"content-length", str(len(self.body)).encode()),
                _NO_STORE,
            ],
        }
        await send(start)
        body: Any = {"type": "http.response.body", "body": self.body, "more_body": False}
        await send(body)


class NoStoreJSON(Response[Any]):
    """``response_class`` for JSON routes whose answers must not be cached."""

    def to_asgi_response(  # type: ignore[override]
        self,
        app: Any,
        request: Any,
        *,
        background: Any = None,
        cookies: Any = None,
        encoded_headers: Any = None,
        headers: dict[str, str] | None = None,
        is_head_response: bool = False,
        media_type: Any = None,
        status_code: int | None = None,
        type_encoders: Any = None,
    ) -> ASGIResponse | RawJSON:
        if (
            self.background is None
            and background is None
            and not self.cookies
            and not cookies
            and not self.headers
            and not headers
            and encoded_headers is None
            and not is_head_response
            and self.media_type in (None, "application/json")
            and isinstance(self.content, msgspec.Struct)
        ):
            # type encoders (Litestar registers pydantic's when pydantic is importable) are
            # msgspec enc_hooks, consulted only for values msgspec cannot encode natively;
            # the Structs of this API hold none, and if one ever did, Litestar's path decides
            try:
                body = _encode(self.content)
            except TypeError:
                pass
            else:
                return RawJSON(body, self.status_code or status_code or 200)
        self.headers.setdefault("cache-control", "no-store")
        return super().to_asgi_response(
            app,
            request,
            background=background,
            cookies=cookies,
            encoded_headers=encoded_headers,
            headers=headers,
            is_head_response=is_head_response,
            media_type=media_type,
            status_code=status_code,
            type_encoders=type_encoders,
        )
