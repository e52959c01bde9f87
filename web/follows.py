"""Volg deze vraag (or this topic): leave an address, confirm it from the message, and unsubscribe with one click
from any message after (``service.following``)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.response import Template
from litestar.types import ControllerRouterHandler

from core.errors import RateLimitedError, ValidationError
from service import following
from service.container import Kennismakelaar
from service.coordinators import FOLLOWER
from service.http_errors import status_of
from service.ratelimit import client_of
from service.validation import check_slugs, check_text
from web.coordination import Form

# a topic's filters as the search page names them → as ``SearchFilters`` does
TOPIC_FILTERS = {"atelier": ("ateliers", "atelier"), "thema": ("themes", "theme"), "kennis": ("knowledge", "knowledge"),
                 "bewijs": ("evidence", "evidence")}


def _page(km: Kennismakelaar, status: int = 200, **context: Any) -> Template:
    return Template("volgen.html", status_code=status, context={"page": "vraag", "taxonomy": km.taxonomy,
                                                                "days": km.settings.service.follow_retention_days,
                                                                **context})


class Start(Controller):
    """An address left under an answer (a question) or a search (a topic): the same answer for every address."""

    path = "/volgen"
    include_in_schema = False

    @post(sync_to_thread=True)
    def start(self, request: Request, km: Kennismakelaar, data: Form) -> Template:
        try:
            request.app.state.limiter.check("ask", client_of(request))
            if not following.can_follow(km):
                raise ValidationError("Volgen kan hier niet: deze Werkplaats verstuurt geen mail.", field="email")
            what = _what(km, data)
            following.start(km, str(data.get("email") or ""), **what)
        except (ValidationError, RateLimitedError) as exc:
            return _page(km, status_of(exc), error=exc.message)
        return _page(km, started=True)


def _what(km: Kennismakelaar, data: dict[str, Any]) -> dict[str, Any]:
    """What is followed: a question that was asked here, or a search with its filters."""
    question_id = str(data.get("question_id") or "")
    if question_id:
        stored = km.broker().questions.get(question_id)  # a 404 for a question that is gone
        return {"what": "question", "text": stored["text"], "question_id": question_id}
    text = check_text(km, str(data.get("q") or ""), "q")
    filters: dict[str, list[str]] = {}
    for param, (field, kind) in TOPIC_FILTERS.items():
        values = data.get(param)
        chosen = check_slugs(km, values if isinstance(values, list) else [values] if values else [], kind, param)
        if chosen:
            filters[field] = list(chosen)
    return {"what": "topic", "text": text, "filters": filters}


class Confirm(Controller):
    """The link of the first message: a button first (a mail scanner opens links; only a person presses)."""

    path = "/volgen/bevestigen/{token:str}"
    include_in_schema = False

    @get(sync_to_thread=False)
    def ask(self, km: Kennismakelaar, token: str) -> Template:
        return _page(km, confirm=token)

    @post(sync_to_thread=True)
    def confirm(self, km: Kennismakelaar, token: str) -> Template:
        follow = following.follows(km).confirm(token)
        if follow is None:
            return _page(km, 404, error="Deze link werkt niet (meer): hij is verlopen, of al gebruikt. Vraag het "
                                        "opnieuw op de pagina waar je het vroeg.")
        km.audit().record(FOLLOWER, "volgen-bevestigd", "volgen", follow.id)
        return _page(km, confirmed=follow, stop=following.follows(km).token(follow.id, "stop"))


class Stop(Controller):
    """Unsubscribe: from the page (a button), or with one click in a mail program (RFC 8058: a POST without
    anything else, which is why this path needs no CSRF token — the secret in it is the proof)."""

    path = "/volgen/afmelden/{token:str}"
    include_in_schema = False

    @get(sync_to_thread=False)
    def ask(self, km: Kennismakelaar, token: str) -> Template:
        return _page(km, stop_form=token)

    @post(sync_to_thread=True)
    def stop(self, km: Kennismakelaar, token: str) -> Template:
        follow = following.follows(km).by_token(token, "stop")
        if follow is not None:
            following.remove(km, [follow.id], FOLLOWER, "volgen-afgemeld")
        return _page(km, stopped=True)  # gone already, or never there: the same page


ROUTES: list[ControllerRouterHandler] = [Start, Confirm, Stop]
