"""The composition root: ``create_app()`` is the one place that knows both the API and the pages.

The API (``service.api``) comes as a Litestar config; the pages, their templates, static files, CSRF check and
security headers are added here. ``kennismakelaar serve`` starts this factory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from core.taxonomy import Taxonomy
from service.api import UPLOADS, api_config, upload_router
from service.auth import signed_in_member
from service.container import Kennismakelaar, keep_private
from service.settings import Settings
from web import audit, browse, contact, coordination, coordinators, follows, inbox, meetings, members, overview, pages
from web.errors import page_or_api_error
from web.recent import RecentAnswers
from web.security import csrf_config, security_headers
from web.views import filters

WEB_DIR = Path(__file__).resolve().parent


def create_app(settings: Settings | None = None, km: Kennismakelaar | None = None) -> Litestar:
    """The app for ``settings`` (default: the environment); tests may pass a ready ``km``."""
    settings = settings or (km.settings if km else Settings.from_env())
    keep_private(settings.store.data_dir)  # before the CSRF key below is derived (its file may be made now)
    config = api_config(settings, km)
    config.route_handlers += [*pages.ROUTES, *browse.ROUTES, *follows.ROUTES, *contact.ROUTES, *coordination.ROUTES,
                              *inbox.ROUTES, *meetings.ROUTES, *overview.ROUTES, *audit.ROUTES, *coordinators.ROUTES,
                              *members.ROUTES,
                              upload_router(settings, [*UPLOADS, *coordination.UPLOADS, *meetings.UPLOADS]),
                              create_static_files_router("/static", [WEB_DIR / "static"], include_in_schema=False)]
    config.template_config = TemplateConfig(directory=WEB_DIR / "templates", engine=JinjaTemplateEngine,
                                            engine_callback=_template_globals(settings))
    config.csrf_config = csrf_config(settings)
    config.exception_handlers = {Exception: page_or_api_error}  # pages get a page, the API its JSON
    config.before_send.append(security_headers)
    config.state["answers"] = RecentAnswers()
    return Litestar.from_config(config)


def _template_globals(settings: Settings) -> Any:
    def configure(engine: JinjaTemplateEngine) -> None:
        env = engine.engine
        env.autoescape = True  # every template, whatever its extension
        env.globals["max_query_chars"] = settings.service.max_query_chars  # the forms' limit is the service's
        env.globals["signed_in"] = signed_in_member  # the header says who is signed in as a member
        for name, fn in filters(Taxonomy.load(settings.ingest.taxonomy_file)).items():
            env.filters[name] = fn
    return configure
