"""The Litestar application: ``create_app()`` in one place.

Model and store load once in the lifespan and are injected into the controllers (``km``). With the
embedded store the service is one process; with ``KM_QDRANT_URL`` it can run several workers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from litestar import Litestar, Router
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.datastructures import State
from litestar.di import Provide
from litestar.logging.config import LoggingConfig
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from service.container import Kennismakelaar
from service.http_errors import exception_to_http_response, route_of
from service.jobs import JobRunner
from service.ratelimit import RateLimiter, limits_from
from service.routes import broker, documents, experts, health
from service.routes.deps import provide_km
from service.settings import Settings
from web import coordination, pages
from web.recent import RecentAnswers
from web.security import csrf_config, security_headers
from web.views import filters

log = logging.getLogger("kennismakelaar.access")
_SWAGGER = "/schema/assets"


def create_app(settings: Settings | None = None, km: Kennismakelaar | None = None) -> Litestar:
    """The app for ``settings`` (default: the environment); tests may pass a ready ``km``."""
    settings = settings or (km.settings if km else Settings.from_env())

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        core = km or Kennismakelaar(settings)
        core.warm_up()  # load the model and open the store now, not on the first request
        core.broker().questions.purge(settings.matching.question_retention_days)
        app.state.km = core
        app.state.jobs = JobRunner(settings.store.data_dir, core.ingestor)
        app.state.jobs.purge()
        app.state.limiter = RateLimiter(lambda: core.catalog().ledger, limits_from(settings))
        app.state.answers = RecentAnswers()
        try:
            yield
        finally:
            app.state.jobs.close()
            if km is None:
                core.close()

    import swagger_ui_bundle

    assets = Path(swagger_ui_bundle.swagger_ui_path)
    web_dir = Path(__file__).resolve().parent.parent / "web"
    return Litestar(
        route_handlers=[*broker.ROUTES, *documents.ROUTES, *experts.ROUTES, *health.ROUTES, *pages.ROUTES,
                        *coordination.ROUTES,
                        # every other body is small: only these two may be as large as an upload
                        Router("/", route_handlers=[*documents.UPLOADS, *coordination.UPLOADS],
                               request_max_body_size=settings.service.max_upload_mb * 1024 * 1024),
                        create_static_files_router(_SWAGGER, [assets], include_in_schema=False, name="api-docs"),
                        create_static_files_router("/static", [web_dir / "static"], include_in_schema=False)],
        template_config=TemplateConfig(directory=web_dir / "templates", engine=JinjaTemplateEngine,
                                       engine_callback=_template_globals(settings)),
        csrf_config=csrf_config(settings),
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
        before_send=[security_headers],
        logging_config=LoggingConfig(log_exceptions="debug", disable_stack_trace={404, 400, 401, 403, 405, 413, 415,
                                                                                 429}),
        state=State({"settings": settings}),
        debug=False,
    )


def _template_globals(settings: Settings) -> Any:
    def configure(engine: JinjaTemplateEngine) -> None:
        from ingestion.taxonomy import Taxonomy

        env = engine.engine
        env.autoescape = True  # every template, whatever its extension
        for name, fn in filters(Taxonomy.load(settings.ingest.taxonomy_file)).items():
            env.filters[name] = fn
    return configure


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
