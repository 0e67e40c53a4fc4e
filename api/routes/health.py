"""Liveness and readiness."""

from __future__ import annotations

from litestar import Response, Router, get

from api.deps import StoreDep
from api.problems import problem_response, responses
from api.schemas import HealthOut

__all__ = ["health_router"]


@get(
    "/health",
    summary="Liveness: the process answers",
    responses=responses(),
    sync_to_thread=False,
)
def health() -> Response[HealthOut]:
    return Response(HealthOut(status="ok"), headers={"Cache-Control": "no-store"})


@get(
    "/ready",
    summary="Readiness: the store answers a round trip",
    responses=responses(503),
)
async def ready(store: StoreDep) -> Response[HealthOut]:
    import anyio

    kind = type(store).__name__.removesuffix("Store").lower()
    try:
        await anyio.to_thread.run_sync(store.head, "__ready__")
    except Exception:  # any failure of the store means "not ready"
        return problem_response("not_ready", f"the {kind} store does not answer")  # type: ignore[return-value]
    return Response(HealthOut(status="ready", store=kind), headers={"Cache-Control": "no-store"})


def health_router() -> Router:
    return Router(path="/", route_handlers=[health, ready], tags=["operations"])
