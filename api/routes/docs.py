"""The interactive API docs page at ``/docs``, with every asset served by this server.

Swagger UI's files come from the ``swagger-ui-py`` wheel (which vendors Swagger UI 5, the first
major version that renders OpenAPI 3.1); the page and its start-up script are ``api/static/``.
A strict CSP (``default-src 'self'``) proves no CDN is contacted.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from litestar import Router, get
from litestar.response import Response
from litestar.static_files import create_static_files_router

__all__ = ["docs_router", "swagger_assets_dir"]

STATIC = Path(__file__).resolve().parent.parent / "static"
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'"
)
_ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js")


def swagger_assets_dir() -> Path | None:
    """Folder of the vendored Swagger UI files, or ``None`` if the package is missing."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "static"
    return folder if all((folder / f).is_file() for f in _ASSETS) else None


@get("/docs", include_in_schema=False, sync_to_thread=False)
def docs_page() -> Response[bytes]:
    """The Swagger UI page."""
    return Response(
        (STATIC / "docs.html").read_bytes(),
        media_type="text/html",
        headers={"Content-Security-Policy": DOCS_CSP, "Cache-Control": "no-cache"},
    )


def docs_router() -> Router:
    """Routes of the docs page; Swagger UI assets only when the package is installed."""
    assets = swagger_assets_dir()
    dirs: list[Any] = [STATIC] if assets is None else [STATIC, assets]
    static = create_static_files_router(
        path="/docs/assets", directories=dirs, name="docs_assets", include_in_schema=False
    )
    return Router(path="/", route_handlers=[docs_page, static])
