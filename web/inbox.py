"""The coordinator's inbox of contact requests (``/coordinatie/verzoeken``): a list in pages (found by the
number the asker was given, too), and one page per request to read, forward, move, note, close, merge into
another (a duplicate) and delete it.

The list never searches: who could answer a request is looked up when the request is opened, one expert search
for the request opened — so a flood of anonymous requests costs the inbox nothing. Every form carries the version
of the request it showed (``rev``): a form another coordinator overtook is refused, never silently applied.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, get, post
from litestar.params import Parameter
from litestar.response import Redirect, Template
from litestar.types import ControllerRouterHandler

from core.errors import KennismakelaarError, NotFoundError, ValidationError
from core.names import fold
from service import contacts
from service.auth import acting
from service.container import Kennismakelaar
from service.http_errors import status_of
from web.coordination import Form, session_guard

FORWARDABLE = ("nieuw", "doorgestuurd")
PAGE_SIZE = 25
LIMITS = {"question": contacts.MAX_PUBLIC_QUESTION, "outcome": contacts.MAX_OUTCOME, "note": contacts.MAX_MESSAGE}


class Inbox(Controller):
    """The list and each request's page with its forms. (A controller: two handlers share a path, see
    ``service.routes.experts.ExpertController``.)"""

    path = "/coordinatie/verzoeken"
    guards = [session_guard]  # noqa: RUF012
    include_in_schema = False

    @get(sync_to_thread=True)
    def listing(self, km: Kennismakelaar, status: str | None = None, atelier: str | None = None,
                nummer: Annotated[str | None, Parameter(max_length=32)] = None,
                pagina: Annotated[int, Parameter(ge=1, le=10_000)] = 1) -> Template:
        return _inbox(km, status=status or None, atelier=atelier or None, number=(nummer or "").strip() or None,
                      pagina=pagina)

    @get("/{request_id:str}", sync_to_thread=True)
    def one(self, km: Kennismakelaar, request_id: str) -> Template:
        return _request_page(km, request_id)

    @post("/{request_id:str}", sync_to_thread=True)
    def change(self, request: Request, km: Kennismakelaar, request_id: str, data: Form) -> Template | Redirect:
        try:
            contacts.move(km, request_id, str(data.get("status") or "") or None, note=str(data.get("note", "")),
                          forwarded_to=str(data.get("forwarded_to") or "") or None, actor=acting(request),
                          rev=_rev(data))
        except KennismakelaarError as exc:
            return _refused(km, request_id, exc)
        return _back(request_id)

    @post("/{request_id:str}/doorsturen", sync_to_thread=True)
    def forward(self, request: Request, km: Kennismakelaar, request_id: str, data: Form) -> Template | Redirect:
        """Send the message to the chosen person; without a mail server, show it ready to copy."""
        try:
            done = contacts.forward(km, request_id, expert_id=str(data.get("expert_id") or ""),
                                    cc_asker=bool(data.get("cc_asker")), note=str(data.get("note", "")),
                                    actor=acting(request), rev=_rev(data))
        except KennismakelaarError as exc:
            return _refused(km, request_id, exc)
        if done.sent:
            return _back(request_id)
        return Template("coordinatie/verzoeken_doorsturen.html", context={
            "page": "coordinatie", "taxonomy": km.taxonomy, "r": done.request,  # "request": Litestar's own
            "expert_id": str(data.get("expert_id")), "mail": done.to_json()})

    @post("/{request_id:str}/afronden", sync_to_thread=True)
    def close(self, request: Request, km: Kennismakelaar, request_id: str, data: Form) -> Template | Redirect:
        """Close with the outcome. Answered, nothing is published before the coordinator saw it: the first post
        shows the finding as it would be published; only "Publiceer" on that very text publishes it."""
        entered = _close_form(data)
        try:
            if entered["answered"] and data.get("stap") != "publiceer":
                return _preview(km, request_id, entered, rev=_rev(data))
            contacts.close(km, request_id, outcome=entered["outcome"], answered=entered["answered"],
                           themes=entered["themes"], question=entered["question"],
                           seen=str(data.get("gezien") or "") or None, actor=acting(request), rev=_rev(data))
        except ValidationError as exc:
            if exc.field == "preview":  # what would be published changed since it was shown: show it again
                return _preview(km, request_id, entered, rev=_rev(data), notice=exc.message)
            return _refused(km, request_id, exc, entered)
        except KennismakelaarError as exc:  # a stale form, or the outcome's file refused: said
            return _refused(km, request_id, exc, entered)
        return _back(request_id)

    @post("/{request_id:str}/samenvoegen", sync_to_thread=True)
    def merge(self, request: Request, km: Kennismakelaar, request_id: str, data: Form) -> Template | Redirect:
        """Close this request into another one (the asker sent it twice): on to the one that stays."""
        try:
            kept = contacts.merge(km, request_id, str(data.get("into") or ""), actor=acting(request), rev=_rev(data))
        except KennismakelaarError as exc:
            return _refused(km, request_id, exc)
        return _back(kept.id)

    @post("/{request_id:str}/verwijderen", sync_to_thread=True)
    def remove(self, request: Request, km: Kennismakelaar, request_id: str, data: Form) -> Template | Redirect:
        """Delete a request at its asker's request, and the finding made from it when that box is ticked."""
        try:
            contacts.remove(km, request_id, acting(request), withdraw_finding=data.get("withdraw_finding") == "ja")
        except KennismakelaarError as exc:
            return _refused(km, request_id, exc)
        return Redirect("/coordinatie/verzoeken", status_code=303)


def _back(request_id: str) -> Redirect:
    return Redirect(f"/coordinatie/verzoeken/{request_id}", status_code=303)


def _rev(data: dict[str, Any]) -> int | None:
    """The version of the request the form showed (``None``: a form without one, as from a script)."""
    value = str(data.get("rev") or "").strip()
    if value and not value.isdigit():
        raise ValidationError("Dit formulier is beschadigd: laad het verzoek opnieuw.", field="rev")
    return int(value) if value else None


def _close_form(data: dict[str, Any]) -> dict[str, Any]:
    themes = data.get("themes")
    return {"answered": data.get("answered") == "ja", "question": str(data.get("question", "")),
            "outcome": str(data.get("outcome", "")),
            "themes": [str(t) for t in themes] if isinstance(themes, list) else [str(themes)] if themes else []}


def _preview(km: Kennismakelaar, request_id: str, entered: dict[str, Any], *, rev: int | None,
             notice: str | None = None) -> Template:
    finding = contacts.preview(km, request_id, outcome=entered["outcome"], question=entered["question"] or None,
                               themes=entered["themes"])
    return Template("coordinatie/verzoeken_voorbeeld.html", context={
        "page": "coordinatie", "taxonomy": km.taxonomy, "r": contacts.get(km, request_id), "finding": finding,
        "rev": rev, "notice": notice})


def _refused(km: Kennismakelaar, request_id: str, exc: KennismakelaarError,
             entered: dict[str, Any] | None = None) -> Template:
    """The request's page again (as it is stored now), with what went wrong and what the coordinator entered."""
    status = status_of(exc) if status_of(exc) < 500 else 400
    try:
        return _request_page(km, request_id, error=exc.message, hint=exc.hint, http_status=status, entered=entered)
    except NotFoundError as gone:
        return _inbox(km, status=None, atelier=None, number=None, pagina=1, error=gone.message, http_status=404)


def _inbox(km: Kennismakelaar, *, status: str | None, atelier: str | None, number: str | None, pagina: int,
           error: str | None = None, http_status: int = 200) -> Template:
    requests = contacts.listing(km, status=status if status in contacts.STATUSES else None, atelier=atelier,
                                number=number)
    pages = max(1, math.ceil(len(requests) / PAGE_SIZE))
    pagina = min(pagina, pages)
    shown = requests[(pagina - 1) * PAGE_SIZE: pagina * PAGE_SIZE]
    names = _names(km, {i for r in shown for i in (r.expert_id, r.forwarded_to) if i})
    rows = [{**r.__dict__, "number": r.number, "age_days": _age(r), "expert": names.get(r.expert_id or ""),
             "forwarded": names.get(r.forwarded_to or "")} for r in shown]
    kept = [(k, v) for k, v in (("status", status), ("atelier", atelier), ("nummer", number)) if v]

    def page_link(n: int) -> str:
        return "/coordinatie/verzoeken?" + urlencode([*kept, ("pagina", n)])

    return Template("coordinatie/verzoeken.html", status_code=http_status, context={
        "page": "coordinatie", "taxonomy": km.taxonomy, "rows": rows, "statuses": contacts.STATUSES,
        "status": status, "atelier": atelier, "number": number, "error": error, "total": len(requests),
        "pagina": pagina, "pages": pages, "page_link": page_link})


def _request_page(km: Kennismakelaar, request_id: str, *, error: str | None = None, hint: str | None = None,
                  http_status: int = 200, entered: dict[str, Any] | None = None) -> Template:
    """One request with its forms; the people to forward it to are looked up here, for this request only."""
    r = contacts.get(km, request_id)
    names = _names(km, {i for i in (r.expert_id, r.forwarded_to) if i})
    closing = entered or {"answered": r.status == "verbonden", "outcome": "", "themes": [],
                          "question": r.question if r.publish_consent else ""}
    return Template("coordinatie/verzoeken_een.html", status_code=http_status, context={
        "page": "coordinatie", "taxonomy": km.taxonomy, "r": r, "age_days": _age(r), "next": contacts.NEXT[r.status],
        "expert": names.get(r.expert_id or ""), "forwarded": names.get(r.forwarded_to or ""),
        "suggested": contacts.suggestions(km, r) if r.status in FORWARDABLE else None, "closing": closing,
        "finding_public": bool(r.finding_id and km.catalog().document(r.finding_id)), "error": error, "hint": hint,
        "mail_ready": km.settings.mail.configured, "limits": LIMITS, "same_asker": _same_asker(km, r),
        "merged_into": contacts.number_of(r.duplicate_of) if r.duplicate_of else None,
        "merged_here": sum(1 for o in contacts.listing(km) if o.duplicate_of == r.id)})


def _same_asker(km: Kennismakelaar, r: contacts.ContactRequest) -> list[contacts.ContactRequest]:
    """The asker's other open requests: the likely duplicates to merge this one into (no search, a read)."""
    if r.status == "afgerond":
        return []
    mine = fold(r.email)
    return [o for o in contacts.listing(km) if o.id != r.id and fold(o.email) == mine and o.status != "afgerond"]


def _age(r: contacts.ContactRequest) -> int:
    return (dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(r.created_at)).days


def _names(km: Kennismakelaar, expert_ids: set[str]) -> dict[str, str]:
    catalog = km.catalog()
    return {i: e["name"] for i in expert_ids if (e := catalog.expert(i)) is not None}


ROUTES: list[ControllerRouterHandler] = [Inbox]
