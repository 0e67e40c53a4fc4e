"""The Litestar application, assembled in one place: :func:`create_app`.

``uvicorn api.app:factory --factory`` (what ``ranker serve`` runs) builds it from
``RANKER_*`` environment variables / ``RANKER_CONFIG``.

Routers live in :mod:`api.routes`; :data:`ROUTERS` lists extra ones to mount. Every route
gets what it uses by dependency injection: each use case of the voting core under its name
(``accounts``, ``surveys``, ``pool``, ``voting``, ``identities``, ``rankings``, ``exports``;
aliases in :mod:`api.deps`), the ``store``, the ``origins`` cache shared with the per-survey
CORS layer (:func:`~api.security.edge_middleware`), and the settings the routes read.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import threading
import time
from typing import Any

from litestar import Litestar, Router
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin

from api.auth import SECURITY_COMPONENTS, StreamTickets, provide_organiser
from api.openapi import StrictStructSchemaPlugin
from api.problems import exception_handlers
from api.routes.docs import docs_router
from api.routes.exports import exports_router
from api.routes.health import health_router
from api.routes.organisers import organiser_router
from api.routes.results import results_router
from api.routes.voters import voter_router
from api.routes.web import web_router
from api.security import OriginCache, edge_middleware
from api.settings import Settings
from ranker.domain import Answer, SurveySpec
from ranker.errors import SurveyNotFound
from ranker.service import RankerService
from ranker.storage import open_store

__all__ = ["ROUTERS", "create_app", "factory"]

ROUTERS: list[Router] = []
"""Extra routers mounted by :func:`create_app`. Append yours here."""

VERSION = "1.0.0"


def create_app(settings: Settings | None = None, service: RankerService | None = None) -> Litestar:
    """Build the app. ``service`` defaults to one over ``settings.store``."""
    settings = settings or Settings.load()
    if service is None:
        service = RankerService(open_store(settings.store), secret=settings.secret_bytes())
    svc = service
    tickets = StreamTickets(settings.secret_bytes(), clock=svc.clock)

    def lookup_origins(survey_id: str) -> list[str] | None:
        try:
            return list(svc.surveys.get(survey_id).embed_origins)
        except SurveyNotFound:
            return None
        except Exception:  # a malformed id or a store hiccup: no CORS, the route answers
            return None

    origins = OriginCache(lookup_origins)

    def constant(value: Any) -> Provide:
        return Provide(lambda: value, use_cache=True, sync_to_thread=False)

    handlers: list[Any] = [
        health_router(),
        voter_router(),
        organiser_router(settings.max_import_bytes),
        results_router(),
        exports_router(),
        web_router(),
        *ROUTERS,
    ]
    if settings.docs:
        handlers.append(docs_router())

    openapi = (
        OpenAPIConfig(
            title="ranker API",
            version=VERSION,
            description="Pairwise 'which is better?' voting. Every error is an RFC 9457 "
            "problem detail (`application/problem+json`) with a stable `code`; each operation's "
            "responses below list the codes it can answer. The same document as JSON: "
            "[/schema/openapi.json](/schema/openapi.json).",
            path="/schema",
            render_plugins=[JsonRenderPlugin()],
            components=[SECURITY_COMPONENTS],
            use_handler_docstrings=False,
        )
        if settings.docs
        else None
    )

    async def on_shutdown() -> None:
        svc.close()  # follower stopped, pending snapshot writes done
        await svc.store.aclose()  # this loop's async connections (Redis), then the rest
        svc.store.close()

    app = Litestar(
        route_handlers=handlers,
        dependencies={
            "accounts": constant(svc.accounts),
            "surveys": constant(svc.surveys),
            "pool": constant(svc.ideas),
            "voting": constant(svc.voting),
            "identities": constant(svc.identities),
            "rankings": constant(svc.rankings),
            "exports": constant(svc.exports),
            "integrity": constant(svc.integrity),
            "settling": constant(svc.settling),
            "store": constant(svc.store),
            "origins": constant(origins),
            "tickets": constant(tickets),
            "organiser": Provide(provide_organiser, sync_to_thread=False),
            "admin_token": constant(settings.admin_token),
            "open_signup": constant(settings.open_signup),
            "voters_per_ip": constant(settings.voters_per_ip_per_minute),
            "sse_interval_s": constant(settings.sse_interval_s),
            "sse_ping_s": constant(settings.sse_ping_s),
            "sse_max_s": constant(settings.sse_max_s),
        },
        exception_handlers=exception_handlers,  # type: ignore[arg-type]
        openapi_config=openapi,
        plugins=[StrictStructSchemaPlugin()],  # additionalProperties: false where it holds
        request_max_body_size=settings.max_body_bytes,
        on_shutdown=[on_shutdown],
        debug=False,
        logging_config=None,
    )
    # CORS + security headers wrap the whole ASGI handler (where Litestar puts its own CORS
    # middleware), so responses Litestar answers before routing (404, 405) are covered too
    app.asgi_handler = edge_middleware(app.asgi_handler, origins)
    return app


def settle_heap() -> None:
    """Warm the voting path up, then move everything alive into the GC's permanent generation.

    A serving process holds ~110k GC-tracked objects from start-up (Litestar, numpy, scipy,
    numba's compiled kernels) that live for ever; every full collection walked them all, a
    70-110 ms pause of the event loop, which is what a vote's p99 latency measured. After
    ``gc.freeze()`` full collections walk only what was created while serving. The warm-up
    (one throwaway survey in memory: picks with the default samplers, answers, a ranking)
    loads the numba kernels and first-call caches first, so they are frozen too and the first
    real voter does not pay for them.
    """
    from ranker.storage import open_store

    svc = RankerService(open_store("memory://"), secret=b"warm-up" * 5, follow=False)
    for sampler in ("adaptive", "random"):
        spec = SurveySpec(
            question="Warm-up?", ideas=[f"idea {i}" for i in range(6)], open=True, sampler=sampler
        )
        sid = svc.surveys.create("warm-up", spec).id
        voter = svc.voting.issue_voter(sid)
        for i in range(8):
            ballot = svc.voting.next_ballot(sid, voter)
            answer = (Answer(choice="left"), Answer(choice="right"), Answer(choice="tie"))[i % 3]
            svc.voting.answer(sid, voter, ballot.token, answer)
        svc.rankings.results(sid)
    svc.close()
    svc.store.close()
    gc.collect()
    gc.freeze()


def exit_with_parent(
    master: int, interval_s: float = 0.5, grace_s: float = 8.0
) -> threading.Thread:
    """Stop this worker (SIGTERM to itself: a graceful shutdown) when its parent, the master
    process ``master``, dies, and exit outright if that shutdown has not finished ``grace_s``
    seconds later.

    uvicorn's supervisor restarts workers but does not take them down if it is itself killed
    (SIGKILL, OOM): they kept serving the port, and a restart failed with "Address already in
    use". ``ranker serve --workers N`` sets ``RANKER_EXIT_WITH_PARENT`` to its own pid; the
    worker then watches its parent id, which changes when the parent dies (the orphan is
    re-parented). It compares with the master's pid, not with its parent at start: a worker
    still starting when the master was killed (CI once) was re-parented already and kept
    serving.
    A graceful shutdown waits for open connections, and a client holding one open (or a
    shutdown hook stuck on a busy machine) kept a worker up past 20 s once in CI: hence the
    deadline. Every acknowledged vote is already durable when it is acknowledged, so exiting
    then loses nothing.
    """

    def watch() -> None:
        while os.getppid() == master:
            time.sleep(interval_s)
        logging.getLogger("api").warning("the server's master process died: stopping")
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(grace_s)
        logging.getLogger("api").warning("graceful shutdown took over %.0f s: exiting", grace_s)
        os._exit(1)

    thread = threading.Thread(target=watch, name="ranker-parent-watch", daemon=True)
    thread.start()
    return thread


def factory() -> Litestar:
    """Entry point for ``uvicorn api.app:factory --factory`` (settings from the environment)."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app = create_app(Settings.load())
    app.on_startup.append(settle_heap)  # a serving process only: tests keep the default GC
    master = os.environ.get("RANKER_EXIT_WITH_PARENT", "")
    if master.isdigit() and int(master) > 1:
        exit_with_parent(int(master))
    return app
