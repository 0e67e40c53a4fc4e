"""Per-survey CORS, security headers and ``frame-ancestors`` for the embeddable widget.

Voter routes (``/v1/public/surveys/{id}/...``) are called from third-party pages, so CORS is
answered per survey: only origins on the survey's ``embed_origins`` list get
``Access-Control-Allow-Origin`` (the list holds exact ``http(s)://host[:port]`` origins; the core
refuses a wildcard when the survey is saved). No credentials are ever allowed (voters use a header
token, not cookies). Every other route gets no CORS headers at all. Body size limits are enforced
by Litestar (``request_max_body_size``), configured in :mod:`api.app`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "PUBLIC_PREFIX",
    "OriginCache",
    "allowed_methods",
    "edge_middleware",
    "frame_ancestors",
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
        return allowed is not None and origin in allowed


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


_STATIC_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)
_DEFAULT_CSP = (b"content-security-policy", b"frame-ancestors 'none'")
_SECURITY_NAMES = frozenset(k for k, _ in (*_STATIC_HEADERS, _DEFAULT_CSP))


def _with_security_headers(headers: Any) -> list[tuple[bytes, bytes]]:
    """``headers`` plus ``nosniff``, ``no-referrer`` and ``frame-ancestors 'none'``, each only
    when the response did not set it (the widget page sets its own CSP)."""
    hdrs: list[tuple[bytes, bytes]] = list(headers)
    present = [k.lower() for k, _ in hdrs if k.lower() in _SECURITY_NAMES] if hdrs else []
    if not present:
        hdrs += _STATIC_HEADERS
        hdrs.append(_DEFAULT_CSP)
        return hdrs
    hdrs += [h for h in _STATIC_HEADERS if h[0] not in present]
    if _DEFAULT_CSP[0] not in present:
        hdrs.append(_DEFAULT_CSP)
    return hdrs


def allowed_methods(scope: Scope) -> bytes | None:
    """The ``Allow`` value of the route ``scope`` was routed to: every method of its path.

    Litestar's automatic ``OPTIONS`` answer lists the methods of the path's *first* handler
    only (``/v1/surveys`` answered ``GET, OPTIONS``, without ``POST``): when a second handler
    joins a path, the route is rebuilt but keeps the first route's ``OPTIONS`` handler, whose
    ``Allow`` is that first route's. The app's routes know the whole set.
    """
    app, template = scope.get("app"), scope.get("path_template")
    for route in getattr(app, "routes", ()):
        if isinstance(route, HTTPRoute) and route.path_format == template:
            return ", ".join(sorted(route.methods)).encode("ascii")
    return None


def _with_allow(scope: Scope, send: Send) -> Send:
    """``send`` with the ``Allow`` header of a successful ``OPTIONS`` answer corrected."""

    async def send_allow(message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] < 300:
            hdrs = list(message.get("headers", ()))
            allow = allowed_methods(scope)
            if allow is not None and any(k.lower() == b"allow" for k, _ in hdrs):
                hdrs = [(k, v) for k, v in hdrs if k.lower() != b"allow"]
                hdrs.append((b"allow", allow))
                message["headers"] = hdrs
        await send(message)

    return send_allow


def edge_middleware(app: ASGIApp, origins: OriginCache) -> ASGIApp:
    """The outermost HTTP layer: per-survey CORS and the security headers, in one ``send``.

    It wraps the whole app (as Litestar's own ``CORSMiddleware`` does), so 404/405 answered
    before any route get the security headers too, and errors of public routes carry CORS.
    One wrapper instead of a route middleware plus a ``before_send`` hook: each layer costs a
    closure and an extra coroutine hop per message on every request. ``OPTIONS`` (rare) gets
    one more, correcting ``Allow`` (:func:`allowed_methods`).
    """

    async def edge(scope: Scope, receive: Receive, send: Send) -> None:
        if str(scope["type"]) != "http":
            await app(scope, receive, send)
            return
        if scope.get("method") == "OPTIONS":
            send = _with_allow(scope, send)
        survey = _survey_of(scope["path"])
        origin = _header(scope, b"origin") if survey is not None else None
        if origin is None:

            async def send_secure(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = _with_security_headers(message.get("headers", ()))
                await send(message)

            await app(scope, receive, send_secure)
            return
        assert survey is not None
        allowed = origins.allows(survey, origin)
        if scope.get("method") == "OPTIONS" and _header(scope, b"access-control-request-method"):
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
                "headers": _with_security_headers(headers),
            }
            await send(start)
            end: Any = {"type": "http.response.body", "body": b""}
            await send(end)
            return
        cors = [(b"vary", b"origin")]
        if allowed:
            cors += [
                (b"access-control-allow-origin", origin.encode("latin-1")),
                (b"access-control-expose-headers", EXPOSE_HEADERS),
            ]

        async def send_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                hdrs = _with_security_headers(message.get("headers", ()))
                hdrs += cors
                message["headers"] = hdrs
            await send(message)

        await app(scope, receive, send_cors)

    return edge


def frame_ancestors(origins: Sequence[str]) -> str:
    """The CSP ``frame-ancestors`` directive for a survey's embed allow-list.

    >>> frame_ancestors(["https://a.example", "https://b.example"])
    "frame-ancestors 'self' https://a.example https://b.example"
    >>> frame_ancestors([])
    "frame-ancestors 'self'"
    """
    clean = [o for o in origins if o.startswith(("http://", "https://"))]
    clean = [o for o in clean if not any(c in o for c in " ;,'\"\r\n")]
    return "frame-ancestors " + " ".join(["'self'", *clean])
