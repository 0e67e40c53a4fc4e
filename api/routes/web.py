"""Routes serving the embeddable widget, its loader and the organiser dashboard.

The assets are plain files in ``api/web/`` (no build step), read once at import and kept in memory
with a content hash:

``GET /embed.js`` (and ``HEAD``)
    The one-script-tag loader. ``Cache-Control: public, max-age=300`` (hosts pick up a new
    loader within minutes) and ``Cross-Origin-Resource-Policy: cross-origin`` so pages with
    COEP can load it.
``GET /embed/check/{survey_id}``
    ``{"found", "allowed", "origin"}``: may the asking page's ``Origin`` frame the widget? The
    loader asks, so a site missing from the allow-list shows what to add instead of a broken
    frame. Open to every origin (the widget page's CSP already lists the allowed sites).
``GET /w/{survey_id}``
    The widget page. Its ``Content-Security-Policy`` allows scripts, styles and requests only
    from this origin, and ``frame-ancestors`` lists the survey's allowed embedding sites (plus
    ``'self'``), so only those sites can frame it. ``Cache-Control: no-cache`` because the
    allow-list can change. An unknown survey gets a 404 page that nobody may frame.
``GET /dashboard``
    The organiser dashboard; ``frame-ancestors 'none'`` (no click-jacking of organiser actions).
``GET /web/{name}``, ``GET /web/i18n/{name}``, ``GET /web/vendor/{name}``
    The page's scripts and styles, the message catalogues of ``api/web/i18n/`` (one file per
    page and language, plus ``i18n.js`` that picks the language), and the third-party files
    vendored in ``api/web/vendor/`` (the ALTCHA proof-of-work worker and its licence). The HTML
    pages reference them as ``/web/NAME?v=HASH``; a request carrying the current hash is
    ``immutable`` for a year, any other gets ``no-cache``.

Every response carries a strong ``ETag`` and answers ``If-None-Match`` with ``304``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import msgspec
from litestar import HttpMethod, Request, Response, Router, get, route
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery

from api.security import OriginCache, frame_ancestors

__all__ = [
    "ASSET_DIR",
    "WIDGET_CSP",
    "Asset",
    "WebAssets",
    "web_router",
    "widget_csp",
]

ASSET_DIR = Path(__file__).resolve().parent.parent / "web"

_MEDIA_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".txt": "text/plain; charset=utf-8",
}
_VENDOR = ("vendor/altcha-pbkdf2.js", "vendor/altcha-LICENSE.txt")
_SUBRESOURCES = ("widget.js", "widget.css", "dashboard.js", "dashboard.css", *_VENDOR)
"""Sub-resources besides the catalogues (every ``i18n/*.js``)."""
_SURVEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

WIDGET_CSP = (
    "default-src 'none'; script-src 'self'; worker-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; "
    "form-action 'none'"
)
"""The widget page's CSP without its ``frame-ancestors`` directive (``worker-src 'self'``: the
proof-of-work solver runs in Web Workers started from this origin's vendored script)."""
_DASHBOARD_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
_NOT_FOUND_CSP = "default-src 'none'; style-src 'self'; base-uri 'none'; frame-ancestors 'none'"

_NOT_FOUND_HTML = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Survey not found</title><link rel="stylesheet" href="/web/widget.css"></head>
<body><main class="rk"><h1 class="rk-question">Survey not found</h1>
<p class="rk-desc">This survey does not exist or is no longer available.</p></main></body></html>
"""


@dataclass(frozen=True, slots=True)
class Asset:
    """One file served from memory."""

    body: bytes
    media_type: str
    etag: str
    """Strong validator: quoted prefix of the body's SHA-256."""

    @classmethod
    def of(cls, body: bytes, media_type: str) -> Asset:
        return cls(body, media_type, '"' + hashlib.sha256(body).hexdigest()[:20] + '"')


class WebAssets:
    """The files of ``api/web/``, with HTML pages pointing at versioned sub-resource URLs.

    >>> assets = WebAssets()
    >>> assets.get("widget.js").media_type
    'text/javascript'
    >>> f"/web/widget.js?v={assets.version('widget.js')}" in assets.get("widget.html").body.decode()
    True
    """

    def __init__(self, root: Path = ASSET_DIR) -> None:
        self.root = root
        self._assets: dict[str, Asset] = {}
        i18n = sorted((root / "i18n").glob("*.js"))
        for path in sorted([*root.iterdir(), *(root / "vendor").glob("*"), *i18n]):
            media = _MEDIA_TYPES.get(path.suffix)
            name = path.relative_to(root).as_posix()
            if (
                media is not None
                and path.is_file()
                and (path.parent == root or name in _VENDOR or path in i18n)
            ):
                self._assets[name] = Asset.of(path.read_bytes(), media)
        missing = [
            n for n in ("widget.html", "dashboard.html", "embed.js") if n not in self._assets
        ]
        if missing:
            raise FileNotFoundError(f"web assets missing from {root}: {', '.join(missing)}")
        for name, asset in list(self._assets.items()):
            if name.endswith(".html"):
                html = asset.body.decode()
                for sub in self.subresources():
                    html = html.replace(f'"/web/{sub}"', f'"/web/{sub}?v={self.version(sub)}"')
                self._assets[name] = Asset.of(html.encode(), asset.media_type)

    def get(self, name: str) -> Asset:
        """The asset called ``name``; ``KeyError`` if there is none."""
        return self._assets[name]

    def version(self, name: str) -> str:
        """Short content hash used as the ``v`` query parameter of a sub-resource."""
        return self._assets[name].etag.strip('"')[:12]

    def names(self) -> Iterable[str]:
        return self._assets.keys()

    def subresources(self) -> list[str]:
        """Names served under ``/web/``: scripts, styles, catalogues and vendored files."""
        return [n for n in self._assets if n in _SUBRESOURCES or n.startswith("i18n/")]


def widget_csp(origins: Iterable[str]) -> str:
    """The widget page's full CSP for a survey's embed allow-list.

    >>> widget_csp(["https://a.example"]).endswith("frame-ancestors 'self' https://a.example")
    True
    """
    return f"{WIDGET_CSP}; {frame_ancestors(list(origins))}"


def _not_modified(request: Request[Any, Any, Any], etag: str) -> bool:
    header = request.headers.get("if-none-match")
    if not header:
        return False
    return header.strip() == "*" or etag in [
        t.strip().removeprefix("W/") for t in header.split(",")
    ]


def _serve(
    request: Request[Any, Any, Any],
    asset: Asset,
    cache: str,
    extra: Mapping[str, str] | None = None,
    status: int = 200,
) -> Response[bytes]:
    etag = asset.etag
    csp = (extra or {}).get("Content-Security-Policy")
    if csp is not None:  # the validator must change when the policy does
        etag = '"' + hashlib.sha256(asset.etag.encode() + csp.encode()).hexdigest()[:20] + '"'
    headers = {"ETag": etag, "Cache-Control": cache, **(extra or {})}
    if status == 200 and _not_modified(request, etag):
        return Response(content=b"", status_code=304, headers=headers, media_type=asset.media_type)
    return Response(
        content=asset.body, status_code=status, headers=headers, media_type=asset.media_type
    )


Assets: TypeAlias = NamedDependency[WebAssets]
"""``web_assets``: the files of ``api/web``, read once per router."""
Origins: TypeAlias = NamedDependency[OriginCache]
"""``origins``: the app's :class:`api.security.OriginCache`, the same cache the per-survey
CORS layer reads, so both agree on a survey's allow-list."""


@get("/embed/check/{survey_id:str}", include_in_schema=False, sync_to_thread=True)
def embed_check(
    request: Request[Any, Any, Any], origins: Origins, survey_id: FromPath[str]
) -> Response[bytes]:
    """May the page asking (its ``Origin``) frame this survey's widget? The loader asks, so a
    site that is not on the allow-list shows its owner what to do instead of a broken frame."""
    origin = request.headers.get("origin")
    allowed = origins.get(survey_id) if _SURVEY_ID.match(survey_id) else None
    own = f"{request.url.scheme}://{request.url.netloc}"  # 'self' may always frame it
    ok = allowed is not None and origin is not None and (origin in allowed or origin == own)
    body = msgspec.json.encode({"found": allowed is not None, "allowed": ok, "origin": origin})
    headers = {"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store"}
    return Response(content=body, media_type="application/json", headers=headers)


@route(
    "/embed.js",
    http_method=[HttpMethod.GET, HttpMethod.HEAD],
    include_in_schema=False,
    sync_to_thread=False,
)
def embed_js(request: Request[Any, Any, Any], web_assets: Assets) -> Response[bytes]:
    """The loader script that inserts the widget's iframe into a host page."""
    return _serve(
        request,
        web_assets.get("embed.js"),
        "public, max-age=300",
        {"Cross-Origin-Resource-Policy": "cross-origin", "Access-Control-Allow-Origin": "*"},
    )


@get("/w/{survey_id:str}", include_in_schema=False, sync_to_thread=True)
def widget_page(
    request: Request[Any, Any, Any],
    web_assets: Assets,
    origins: Origins,
    survey_id: FromPath[str],
) -> Response[bytes]:
    """The voting widget for one survey, frameable only by the survey's allowed sites."""
    allowed = origins.get(survey_id) if _SURVEY_ID.match(survey_id) else None
    if allowed is None:
        css = f"/web/widget.css?v={web_assets.version('widget.css')}".encode()
        page = Asset.of(_NOT_FOUND_HTML.replace(b"/web/widget.css", css), _MEDIA_TYPES[".html"])
        return _serve(
            request, page, "no-store", {"Content-Security-Policy": _NOT_FOUND_CSP}, status=404
        )
    return _serve(
        request,
        web_assets.get("widget.html"),
        "no-cache",
        {"Content-Security-Policy": widget_csp(sorted(allowed))},
    )


@get("/dashboard", include_in_schema=False, sync_to_thread=False)
def dashboard_page(request: Request[Any, Any, Any], web_assets: Assets) -> Response[bytes]:
    """The organiser dashboard (sign in with the organiser key)."""
    return _serve(
        request,
        web_assets.get("dashboard.html"),
        "no-cache",
        {"Content-Security-Policy": _DASHBOARD_CSP},
    )


@get("/web/{name:str}", include_in_schema=False, sync_to_thread=False)
def web_asset(
    request: Request[Any, Any, Any],
    web_assets: Assets,
    name: FromPath[str],
    v: FromQuery[str | None] = None,
) -> Response[bytes]:
    """A script or stylesheet of the widget or dashboard; immutable when the URL is versioned."""
    return _subresource(request, web_assets, name, v)


@get("/web/i18n/{name:str}", include_in_schema=False, sync_to_thread=False)
def i18n_asset(
    request: Request[Any, Any, Any],
    web_assets: Assets,
    name: FromPath[str],
    v: FromQuery[str | None] = None,
) -> Response[bytes]:
    """A message catalogue (``api/web/i18n/``); immutable when the URL is versioned."""
    return _subresource(request, web_assets, f"i18n/{name}", v)


@get("/web/vendor/{name:str}", include_in_schema=False, sync_to_thread=False)
def vendor_asset(
    request: Request[Any, Any, Any],
    web_assets: Assets,
    name: FromPath[str],
    v: FromQuery[str | None] = None,
) -> Response[bytes]:
    """A vendored third-party file (``api/web/vendor/``); immutable when the URL is versioned."""
    return _subresource(request, web_assets, f"vendor/{name}", v)


def _subresource(
    request: Request[Any, Any, Any], assets: WebAssets, name: str, v: str | None
) -> Response[bytes]:
    if name not in assets.subresources():
        return Response(
            content=b'{"title":"Not found","status":404,"code":"not_found"}',
            status_code=404,
            media_type="application/problem+json",
        )
    current = v is not None and v == assets.version(name)
    cache = "public, max-age=31536000, immutable" if current else "no-cache"
    return _serve(request, assets.get(name), cache)


def web_router() -> Router:
    """The widget, loader and dashboard routes (assets read once, when this is called)."""
    assets = WebAssets()
    return Router(
        path="/",
        route_handlers=[
            embed_js,
            embed_check,
            widget_page,
            dashboard_page,
            web_asset,
            i18n_asset,
            vendor_asset,
        ],
        dependencies={"web_assets": Provide(lambda: assets, use_cache=True, sync_to_thread=False)},
        include_in_schema=False,
    )
