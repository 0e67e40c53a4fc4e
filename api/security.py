"""Per-survey CORS, security headers and ``frame-ancestors`` for the embeddable widget.

Voter routes (``/v1/public/surveys/{id}/...``) are called from third-party pages, so CORS is
answered per survey: only origins on the survey's ``embed_origins`` list (``*`` allows any) get
``Access-Control-Allow-Origin``. No credentials are ever allowed (voters use a header token, not
cookies). Every other route gets no CORS headers at all. Body size limits are enforced by Litestar
(``request_max_body_size``), configured in :mod:`api.app`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "PUBLIC_PREFIX",
    "OriginCache",
    "cors_middleware",
    "frame_ancestors",
    "security_headers",
]

PUBLIC_PREFIX = "/v1/public/surveys/"
ALLOW_METHODS = b"GET, POST, DELETE, OPTIONS"
ALLOW_HEADERS = b"content-type, x-voter-token, if-none-match"
EXPOSE_HEADERS = b"etag, location, retry-after"


class OriginCache:
    """Caches ``survey_id -> allowed origins`` for ``ttl`` seconds (``None``: no such survey)."""

    def __init__(
        self,
        lookup: Callable[[str], Sequence[str] | None],
        ttl: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lookup = lookup
        self.ttl = ttl
        self.clock = clock
        self._cache: dict[str, tuple[float, frozenset[str] | None]] = {}

    def get(self, survey_id: str) -> frozenset[str] | None:
        now = self.clock()
        hit = self._cache.get(survey_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        found = self.lookup(survey_id)
        value = None if found is None else frozenset(found)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[survey_id] = (now + self.ttl, value)
        return value

    def allows(self, survey_id: str, origin: str) -> bool:
        allowed = self.get(survey_id)
        return bool(allowed) and ("*" in allowed or origin in allowed)  # type: ignore[operator]


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _survey_of(path: str) -> str | None:
    if not path.startswith(PUBLIC_PREFIX):
        return None
    rest = path[len(PUBLIC_PREFIX) :]
    return rest.split("/", 1)[0] or None


def cors_middleware(origins: OriginCache) -> Callable[[ASGIApp], ASGIApp]:
    """ASGI middleware answering CORS (preflight and actual requests) per survey."""

    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if str(scope["type"]) != "http":
                await app(scope, receive, send)
                return
            survey = _survey_of(scope["path"])
            origin = _header(scope, b"origin")
            if survey is None or origin is None:
                await app(scope, receive, send)
                return
            allowed = origins.allows(survey, origin)
            if scope.get("method") == "OPTIONS" and _header(
                scope, b"access-control-request-method"
            ):
                headers: list[tuple[bytes, bytes]] = [(b"vary", b"origin")]
                if allowed:
                    headers += [
                        (b"access-control-allow-origin", origin.encode("latin-1")),
                        (b"access-control-allow-methods", ALLOW_METHODS),
                        (b"access-control-allow-headers", ALLOW_HEADERS),
                        (b"access-control-max-age", b"600"),
                    ]
                start: Any = {
                    "type": "http.response.start",
                    "status": 204 if allowed else 403,
                    "headers": headers,
                }
                await send(start)
                end: Any = {"type": "http.response.body", "body": b""}
                await send(end)
                return

            async def send_cors(message: Message) -> None:
                if message["type"] == "http.response.start":
                    hdrs = list(message.get("headers", ()))
                    hdrs.append((b"vary", b"origin"))
                    if allowed:
                        hdrs.append((b"access-control-allow-origin", origin.encode("latin-1")))
                        hdrs.append((b"access-control-expose-headers", EXPOSE_HEADERS))
                    message = {**message, "headers": hdrs}
                await send(message)

            await app(scope, receive, send_cors)

        return middleware

    return factory


_STATIC_HEADERS: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]
_DEFAULT_CSP = (b"content-security-policy", b"frame-ancestors 'none'")


async def security_headers(message: Message, scope: Scope) -> None:
    """``before_send`` hook (so it also covers 404/405 answered before any route): adds
    ``nosniff``, ``no-referrer`` and, unless the route set its own CSP, ``frame-ancestors
    'none'`` (only the widget page may be framed, by its survey's sites)."""
    if message["type"] != "http.response.start":
        return
    hdrs: list[Any] = list(message.get("headers", ()))
    names = {bytes(k).lower() for k, _ in hdrs}
    hdrs += [h for h in _STATIC_HEADERS if h[0] not in names]
    if b"content-security-policy" not in names:
        hdrs.append(_DEFAULT_CSP)
    message["headers"] = hdrs


def frame_ancestors(origins: Sequence[str]) -> str:
    """The CSP ``frame-ancestors`` directive for a survey's embed allow-list.

    >>> frame_ancestors(["https://a.example", "https://b.example"])
    "frame-ancestors 'self' https://a.example https://b.example"
    >>> frame_ancestors([])
    "frame-ancestors 'self'"
    """
    clean = [o for o in origins if o == "*" or o.startswith(("http://", "https://"))]
    clean = [o for o in clean if not any(c in o for c in " ;,'\"\r\n")]
    return "frame-ancestors " + " ".join(["'self'", *clean])
