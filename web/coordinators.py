"""Coördinatoren (``/coordinatie/coordinatoren``): who may log in; add someone (their personal token shown on
the next page, once), remove someone (their token and sessions stop at once). The same path as the CLI and
the API (``service.coordinator_admin``), so it works while the service runs on the embedded store."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get, post
from litestar.response import Template
from litestar.types import ControllerRouterHandler

from core.errors import KennismakelaarError
from service import consequences, coordinator_admin
from service.auth import acting
from service.container import Kennismakelaar
from service.coordinators import Actor
from service.http_errors import status_of
from web.coordination import Form, _page, confirmation, confirmed, failed, finished, session_guard

BASE = "/coordinatie/coordinatoren"


class Coordinators(Controller):
    """The list and the add form's post. (A controller: two sync handlers on one path, see
    ``service.routes.experts.ExpertController``.)"""

    path = BASE
    guards = [session_guard]  # noqa: RUF012
    include_in_schema = False

    @get(sync_to_thread=True)
    def listing(self, request: Request, km: Kennismakelaar, removed: str | None = None) -> Template:
        """``removed``: the id just removed (the removal's post redirects here), said in a notice."""
        gone = km.coordinators().get(removed) if removed else None
        notice = f"{gone['name']} is verwijderd: het token en alle sessies werken niet meer." \
            if gone and gone.get("removed_at") else None
        return _listing(km, acting(request), notice=notice)

    @post(sync_to_thread=True)
    def add(self, request: Request, km: Kennismakelaar, data: Form) -> Template:
        """The token is in this page only: the response is not cached (``web.security``), and it is never
        stored in clear."""
        me = acting(request)
        name = str(data.get("name", ""))
        try:
            added, token = coordinator_admin.add(km, name, me)
        except KennismakelaarError as exc:
            return _listing(km, me, status_of(exc), error=exc.message, typed=name)
        return _listing(km, me, 201, added=added, token=token)


class Removal(Controller):
    """A coordinator's removal: the confirmation (GET), then the removal (POST with ``bevestigd``). Removing
    yourself is refused before either (400)."""

    path = f"{BASE}/{{coordinator_id:str}}/verwijderen"
    guards = [session_guard]  # noqa: RUF012
    include_in_schema = False

    @get(sync_to_thread=True)
    def confirm(self, request: Request, km: Kennismakelaar, coordinator_id: str) -> Template:
        return self._confirm(request, km, coordinator_id)

    @post(sync_to_thread=True)
    def remove(self, request: Request, km: Kennismakelaar, coordinator_id: str,
               data: Form) -> Template | Response[Any]:
        if not confirmed(data):  # an old one-click form: the confirmation, nothing removed
            return self._confirm(request, km, coordinator_id)
        me = acting(request)
        try:
            gone = coordinator_admin.remove(km, coordinator_id, me)
        except KennismakelaarError as exc:
            if request.headers.get("hx-request"):
                return failed(request, km, exc, BASE)
            return _listing(km, me, status_of(exc), error=exc.message)
        return finished(request, f"{BASE}?{urlencode({'removed': gone.id})}")  # a reload posts nothing again

    @staticmethod
    def _confirm(request: Request, km: Kennismakelaar, coordinator_id: str) -> Template:
        me = acting(request)
        try:
            found = consequences.coordinator(km, coordinator_id, me)
        except KennismakelaarError as exc:  # yourself, or someone already gone: the list, saying so
            return _listing(km, me, status_of(exc), error=exc.message)
        return confirmation(request, km, found, action=f"{BASE}/{coordinator_id}/verwijderen", cancel=BASE,
                            title=f"{found.name} verwijderen als coördinator?", button="Ja, verwijder deze coördinator")


def _listing(km: Kennismakelaar, me: Actor, status: int = 200, **context: Any) -> Template:
    return _page("coordinatoren", km, status, me=me, people=coordinator_admin.listing(km),
                 shared=bool(km.settings.service.tokens), **context)


ROUTES: list[ControllerRouterHandler] = [Coordinators, Removal]
