"""The coordinator's inbox of contact requests (``/coordinatie/verzoeken``): filter, read, move, note."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template
from litestar.types import ControllerRouterHandler

from core.errors import ConfigError, FileRejected, MailError, NotFoundError, ValidationError
from service import contacts
from service.auth import acting
from service.container import Kennismakelaar
from web.coordination import Form, session_guard

FORWARDABLE = ("nieuw", "doorgestuurd")


class Inbox(Controller):
    """Every request with its status and age; one form per request moves it along. (A controller: two
    handlers share a path, see ``service.routes.experts.ExpertController``.)"""

    path = "/coordinatie/verzoeken"
    guards = [session_guard]  # noqa: RUF012
    include_in_schema = False

    @get(sync_to_thread=True)
    def listing(self, km: Kennismakelaar, status: str | None = None, atelier: str | None = None) -> Template:
        return _inbox(km, status=status or None, atelier=atelier or None)

    @post("/{request_id:str}", sync_to_thread=True)
    def change(self, request: Request, km: Kennismakelaar, request_id: str, data: Form) -> Template | Redirect:
        try:
            contacts.move(km, request_id, str(data.get("status") or contacts.get(km, request_id).status),
                          note=str(data.get("note", "")), forwarded_to=str(data.get("forwarded_to") or "") or None,
                          actor=acting(request))
        except ValidationError as exc:
            return _inbox(km, status=None, atelier=None, error=exc.message, http_status=400)
        return _back(request_id)

    @post("/{request_id:str}/doorsturen", sync_to_thread=True)
    def forward(self, request: Request, km: Kennismakelaar, request_id: str, data: Form) -> Template | Redirect:
        """Send the message to the chosen person; without a mail server, show it ready to copy."""
        try:
            done = contacts.forward(km, request_id, expert_id=str(data.get("expert_id") or ""),
                                    cc_asker=bool(data.get("cc_asker")), note=str(data.get("note", "")),
                                    actor=acting(request))
        except (ValidationError, NotFoundError, MailError, ConfigError) as exc:
            return _inbox(km, status=None, atelier=None, error=exc.message, http_status=400)
        if done.sent:
            return _back(request_id)
        return Template("coordinatie/doorsturen.html", context={
            "page": "coordinatie", "taxonomy": km.taxonomy, "request": done.request,
            "expert_id": str(data.get("expert_id")), "mail": done.to_json()})

    @post("/{request_id:str}/afronden", sync_to_thread=True)
    def close(self, request: Request, km: Kennismakelaar, request_id: str, data: Form) -> Template | Redirect:
        """Close with the outcome; answered, the outcome becomes a findable kennisvraag."""
        themes = data.get("themes")
        try:
            contacts.close(km, request_id, outcome=str(data.get("outcome", "")), answered=data.get("answered") == "ja",
                           themes=[str(t) for t in themes] if isinstance(themes, list) else [str(themes)] if themes
                           else [], question=str(data.get("question", "")), actor=acting(request))
        except (ValidationError, FileRejected) as exc:  # a wrong field, or the outcome's file refused: said
            return _inbox(km, status=None, atelier=None, error=exc.message, http_status=400)
        return _back(request_id)


def _back(request_id: str) -> Redirect:
    return Redirect(f"/coordinatie/verzoeken#verzoek-{request_id}", status_code=303)


def _inbox(km: Kennismakelaar, *, status: str | None, atelier: str | None, error: str | None = None,
           http_status: int = 200) -> Template:
    requests = contacts.listing(km, status=status if status in contacts.STATUSES else None, atelier=atelier)
    today = dt.datetime.now(dt.UTC)
    rows: list[dict[str, Any]] = [{**r.__dict__, "age_days": (today - dt.datetime.fromisoformat(r.created_at)).days,
                                   "next": contacts.NEXT[r.status], "expert": _name(km, r.expert_id),
                                   "forwarded": _name(km, r.forwarded_to),
                                   "suggested": contacts.suggestions(km, r) if r.status in FORWARDABLE else None}
                                  for r in requests]
    return Template("coordinatie/verzoeken.html", status_code=http_status, context={
        "page": "coordinatie", "taxonomy": km.taxonomy, "rows": rows, "statuses": contacts.STATUSES,
        "status": status, "atelier": atelier, "error": error, "mail_ready": km.settings.mail.configured})


def _name(km: Kennismakelaar, expert_id: str | None) -> str:
    expert = km.catalog().expert(expert_id) if expert_id else None
    return expert["name"] if expert else ""


ROUTES: list[ControllerRouterHandler] = [Inbox]
