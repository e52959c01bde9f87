"""The HTTP API as a Litestar application config: its routes, the lifespan that loads model and store once,
the dependencies, the one error mapping and the OpenAPI document.

``web.app.create_app`` — the one composition root — adds the pages to this config. The model and the store
load once in the lifespan and are injected into the controllers (``km``). With the embedded store the
service is one process; with ``KM_QDRANT_URL`` it can run several workers.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from litestar import Litestar, Router
from litestar.config.app import AppConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.logging.config import LoggingConfig
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.static_files import create_static_files_router
from litestar.types import ASGIApp, ControllerRouterHandler, Message, Receive, Scope, Send

from service import following, retention
from service.container import Kennismakelaar
from service.http_errors import exception_to_http_response, route_of
from service.jobs import JobRunner
from service.ratelimit import RateLimiter, limits_from
from service.routes import (
    audit,
    broker,
    browse,
    citations,
    contacts,
    coordinators,
    documents,
    experts,
    follows,
    health,
    meetings,
    members,
    overview,
)
from service.routes.deps import provide_km
from service.settings import Settings

log = logging.getLogger("kennismakelaar.access")
_SWAGGER = "/schema/assets"
ROUTES: list[ControllerRouterHandler] = [
    *broker.ROUTES, *browse.ROUTES, *citations.ROUTES, *contacts.ROUTES, *documents.ROUTES, *experts.ROUTES,
    *follows.ROUTES, *health.ROUTES, *meetings.ROUTES, *overview.ROUTES, *audit.ROUTES, *coordinators.ROUTES,
    *members.ROUTES]
UPLOADS = documents.UPLOADS  # mounted under the upload size limit, see ``upload_router``


def api_config(settings: Settings, km: Kennismakelaar | None = None) -> AppConfig:
    """The API's part of the application: everything but the pages.

    ``km`` is a ready core (tests); without it the lifespan builds one from ``settings`` and closes it after.
    """

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        core = km or Kennismakelaar(settings)
        core.warm_up()  # load the model and open the store now, not on the first request
        app.state.km = core
        app.state.jobs = JobRunner(settings.store.data_dir, core.ingestor, after=lambda: following.run_soon(core))
        app.state.limiter = RateLimiter(lambda: core.catalog().ledger, limits_from(settings))
        try:
            retention.sweep(core, app.state.jobs)  # what expired while the service was down: before any request
            # what start-up made (model, store, taxonomy: ~50,000 objects) lives as long as the process: out of
            # the collector's sight, a full collection takes 1 ms instead of 20–25 (at a million passages one
            # search in a hundred waited for one: python -m benchmarks.scale)
            gc.collect()
            gc.freeze()
            async with retention.sweeping(core, app.state.jobs) as app.state.retention:
                yield
        finally:
            gc.unfreeze()
            app.state.jobs.close()
            if km is None:
                core.close()

    import swagger_ui_bundle

    assets = Path(swagger_ui_bundle.swagger_ui_path)
    return AppConfig(
        route_handlers=[*ROUTES,
                        create_static_files_router(_SWAGGER, [assets], include_in_schema=False, name="api-docs")],
        lifespan=[lifespan],
        dependencies={"km": Provide(provide_km, sync_to_thread=False)},
        exception_handlers={Exception: exception_to_http_response},
        openapi_config=OpenAPIConfig(
            title="Kennismakelaar", version="1.0.0", path="/schema",
            description="Zoeken en verbinden in de kennis van de Werkplaats Sociaal Domein.",
            render_plugins=[SwaggerRenderPlugin(path="/", js_url=f"{_SWAGGER}/swagger-ui-bundle.js",
                                                css_url=f"{_SWAGGER}/swagger-ui.css",
                                                standalone_preset_js_url=f"{_SWAGGER}/swagger-ui-standalone-preset.js",
                                                favicon="")]),
        # enforced on the bytes received, not just the announced length (chunked bodies too): 413 "too_large"
        request_max_body_size=settings.service.max_body_kb * 1024,
        middleware=[access_log],
        logging_config=LoggingConfig(log_exceptions="debug", disable_stack_trace={404, 400, 401, 403, 405, 413, 415,
                                                                                 429}),
        state=State({"settings": settings}),
        debug=False,
    )


def upload_router(settings: Settings, handlers: Sequence[ControllerRouterHandler]) -> Router:
    """Every other body is small: only the upload handlers may take a body as large as an upload."""
    return Router("/", route_handlers=handlers,
                  request_max_body_size=settings.service.max_upload_mb * 1024 * 1024)


def access_log(app: ASGIApp) -> ASGIApp:
    """One line per request: method, path (never the query string: it may hold a question), status, time."""
    async def logged(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await app(scope, receive, capture)
        except Exception as exc:  # answered further out (the CSRF check's 403): log that status, not a 500
            status = getattr(exc, "status_code", 500)
            raise
        finally:
            log.info("%s %s %s %.0fms", scope.get("method"), route_of(scope), status,
                     (time.perf_counter() - started) * 1000)
    return logged
