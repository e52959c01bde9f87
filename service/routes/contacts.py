"""Contact requests: anyone may ask to be put in touch (rate-limited); coordinators list, move, close and remove
them. Every edit carries a version: a request is read with an ``ETag``, and each change honours ``If-Match``
(412 when the request changed since; without it, of two changes at once one wins and the other gets 409)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, TypeVar

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.datastructures import ResponseHeader
from litestar.exceptions import HTTPException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter
from litestar.types import ControllerRouterHandler

from core.errors import ConflictError, ValidationError
from service import contacts
from service import schemas as s
from service.auth import acting, coordinator_guard
from service.container import Kennismakelaar
from service.ratelimit import limited
from service.routes.deps import COORDINATOR, errors

NEXT_STEP = ("Je verzoek is ontvangen. Een coördinator van de Werkplaats bekijkt het binnen een paar werkdagen en "
             "brengt je in contact, of laat je weten wie je beter kunt benaderen. Je hoort het via je e-mailadres.")
_ETAG = [ResponseHeader(name="ETag", documentation_only=True,
                        description="De versie van het verzoek: stuur haar terug in If-Match bij een wijziging.")]
_VERSIONED = {
    409: ResponseSpec(data_container=s.ErrorOut, generate_examples=False,
                      description="Iemand anders wijzigde het verzoek op hetzelfde moment; niets opgeslagen"),
    412: ResponseSpec(data_container=s.ErrorOut, generate_examples=False,
                      description="If-Match: het verzoek is gewijzigd sinds deze versie; niets opgeslagen"),
}
IfMatch = Annotated[str | None, Parameter(header="If-Match", required=False, max_length=40,
                                          description='De ETag van het verzoek zoals je het las, bijvoorbeeld "3".')]
T = TypeVar("T")


class RequestsController(Controller):
    """Making a request (anyone), listing them and forgetting one asker's (coordinators). (A controller: sync
    handlers that share a path as plain functions are wrapped twice, see
    ``service.routes.experts.ExpertController``.)"""

    path = "/api/contact-requests"

    @post(status_code=201, sync_to_thread=True, responses=errors(404, 413, 429), guards=[limited("ask")],
          summary="Vraag contact aan met iemand die het weet")
    def submit(self, data: s.ContactIn, km: Kennismakelaar) -> s.ContactReceivedOut:
        request = contacts.submit(km, name=data.name, email=data.email, message=data.message,
                                  organization=data.organization, role=data.role, question=data.question,
                                  question_id=data.question_id, expert_id=data.expert_id,
                                  publish_consent=data.publish_consent)
        return s.ContactReceivedOut(id=request.id, status=request.status, next=NEXT_STEP)

    @get(sync_to_thread=True, guards=[coordinator_guard], responses=errors(*COORDINATOR),
         summary="Alle contactverzoeken, nieuwste eerst (coördinator)")
    def listing(self, km: Kennismakelaar,
                status: Annotated[str | None, Parameter(
                    pattern=r"^(nieuw|doorgestuurd|verbonden|afgewezen|afgerond)$")] = None,
                atelier: str | None = None) -> list[s.ContactRequestOut]:
        return [_out(r) for r in contacts.listing(km, status=status, atelier=atelier)]

    @delete(status_code=200, sync_to_thread=True, guards=[coordinator_guard], responses=errors(*COORDINATOR),
            summary="Alle contactverzoeken van één e-mailadres verwijderen, op verzoek van de vrager; "
                    "withdraw_findings: ook de kennisvragen die ervan gemaakt zijn (coördinator)")
    def forget_asker(self, request: Request, km: Kennismakelaar,
                     email: Annotated[str, Parameter(min_length=3, max_length=contacts.MAX_EMAIL)],
                     withdraw_findings: bool = False) -> s.DeletedOut:
        gone = contacts.forget_asker(km, email, actor=acting(request), withdraw_findings=withdraw_findings)
        return s.DeletedOut(id=email.strip(), deleted=gone["requests"] > 0, details=gone)


class ContactController(Controller):
    """One request. (A controller: see ``service.routes.experts.ExpertController``.)"""

    path = "/api/contact-requests/{request_id:str}"
    guards = [coordinator_guard]  # noqa: RUF012

    @get(sync_to_thread=True, responses=errors(*COORDINATOR, 404), response_headers=_ETAG,
         summary="Eén contactverzoek, met zijn versie als ETag (coördinator)")
    def one(self, km: Kennismakelaar, request_id: str) -> Response[s.ContactRequestOut]:
        return _versioned(contacts.get(km, request_id))

    @patch(sync_to_thread=True, responses={**errors(*COORDINATOR, 404, 413), **_VERSIONED}, response_headers=_ETAG,
           summary="Status of notitie van een contactverzoek wijzigen (coördinator)")
    def change(self, request: Request, km: Kennismakelaar, request_id: str, data: s.ContactUpdateIn,
               if_match: IfMatch = None) -> Response[s.ContactRequestOut]:
        return _versioned(_precondition(if_match, lambda rev: contacts.move(
            km, request_id, data.status, note=data.note, forwarded_to=data.forwarded_to, actor=acting(request),
            rev=rev)))

    @post("/forward", status_code=200, sync_to_thread=True, response_headers=_ETAG,
          responses={**errors(*COORDINATOR, 404, 413, 502), **_VERSIONED},
          summary="Een contactverzoek per e-mail doorsturen naar een expert (coördinator)")
    def forward(self, request: Request, km: Kennismakelaar, request_id: str, data: s.ForwardIn,
                if_match: IfMatch = None) -> Response[s.ForwardOut]:
        done = _precondition(if_match, lambda rev: contacts.forward(
            km, request_id, expert_id=data.expert_id, cc_asker=data.cc_asker, note=data.note, actor=acting(request),
            rev=rev))
        out = s.convert({**done.to_json(), "request": _out(done.request)}, s.ForwardOut)
        return Response(out, headers={"ETag": _etag(done.request.rev)})

    @post("/preview", status_code=200, sync_to_thread=True, responses=errors(*COORDINATOR, 404, 413),
          summary="Wat afronden als beantwoord openbaar zou maken, woord voor woord (coördinator)")
    def preview(self, km: Kennismakelaar, request_id: str, data: s.CloseIn) -> s.FindingPreviewOut:
        finding = contacts.preview(km, request_id, outcome=data.outcome, question=data.question, themes=data.themes)
        return s.convert(finding.to_json(), s.FindingPreviewOut)

    @post("/close", status_code=200, sync_to_thread=True, response_headers=_ETAG,
          responses={**errors(*COORDINATOR, 404, 413), **_VERSIONED},
          summary="Een contactverzoek afronden met de uitkomst; beantwoord wordt het een vindbare kennisvraag — "
                  "alleen zoals eerst bekeken met …/preview (coördinator)")
    def close(self, request: Request, km: Kennismakelaar, request_id: str, data: s.CloseIn,
              preview: Annotated[str | None, Parameter(max_length=64, description=(
                  "De digest uit …/preview: alleen wat je daar zag, wordt gepubliceerd."))] = None,
              if_match: IfMatch = None) -> Response[s.ContactRequestOut]:
        return _versioned(_precondition(if_match, lambda rev: contacts.close(
            km, request_id, outcome=data.outcome, answered=data.answered, themes=data.themes, question=data.question,
            seen=preview, actor=acting(request), rev=rev)))

    @post("/merge", status_code=200, sync_to_thread=True, response_headers=_ETAG,
          responses={**errors(*COORDINATOR, 404), **_VERSIONED},
          summary="Een dubbel contactverzoek samenvoegen met het verzoek `into`: dit verzoek wordt afgerond, zijn "
                  "notitie gaat mee; het antwoord is het verzoek dat blijft, met zijn ETag. If-Match geldt dit "
                  "verzoek (coördinator)")
    def merge(self, request: Request, km: Kennismakelaar, request_id: str, data: s.MergeIn,
              if_match: IfMatch = None) -> Response[s.ContactRequestOut]:
        kept = _precondition(if_match, lambda rev: contacts.merge(km, request_id, data.into, actor=acting(request),
                                                                  rev=rev))
        response = _versioned(kept)  # its ETag is the kept request's, which Content-Location names
        response.headers["Content-Location"] = f"/api/contact-requests/{kept.id}"
        return response

    @get("/suggestions", sync_to_thread=True, responses=errors(*COORDINATOR, 404),
         summary="Wie dit verzoek kan beantwoorden, en wie nu niet wordt voorgesteld en waarom (coördinator)")
    def suggestions(self, km: Kennismakelaar, request_id: str) -> s.SuggestionsOut:
        return s.convert(contacts.suggestions(km, contacts.get(km, request_id)), s.SuggestionsOut)

    @delete(status_code=200, sync_to_thread=True, responses=errors(*COORDINATOR, 404),
            summary="Een contactverzoek verwijderen, op verzoek van de vrager; withdraw_finding: ook de kennisvraag "
                    "die ervan gemaakt is (coördinator)")
    def remove(self, request: Request, km: Kennismakelaar, request_id: str,
               withdraw_finding: bool = False) -> s.DeletedOut:
        withdrawn = contacts.remove(km, request_id, acting(request), withdraw_finding=withdraw_finding)
        return s.DeletedOut(id=request_id, deleted=True, details={"findings": withdrawn})


def _etag(rev: int) -> str:
    return f'"{rev}"'


def _out(request: contacts.ContactRequest) -> s.ContactRequestOut:
    return s.convert({**request.__dict__, "number": request.number}, s.ContactRequestOut)


def _versioned(request: contacts.ContactRequest) -> Response[s.ContactRequestOut]:
    return Response(_out(request), headers={"ETag": _etag(request.rev)})


def _precondition(if_match: str | None, change: Callable[[int | None], T]) -> T:
    """Run ``change`` on the version ``If-Match`` names (any version without it, or with ``*``); a request that
    changed since is a 412 — the client based its change on what is no longer there."""
    rev = _revision(if_match)
    try:
        return change(rev)
    except ConflictError as exc:
        if rev is None or exc.field != "rev":  # another record's conflict: not what If-Match named
            raise
        raise HTTPException(status_code=412, detail=f"{exc.message} {exc.hint or ''}".strip()) from exc


def _revision(if_match: str | None) -> int | None:
    """The version an ``If-Match`` header names.

    >>> _revision('"3"'), _revision('W/"3"'), _revision("*"), _revision(None)
    (3, 3, None, None)
    """
    if if_match is None or if_match.strip() == "*":
        return None
    found = re.fullmatch(r'\s*(?:W/)?"(\d{1,9})"\s*', if_match)
    if found is None:
        raise ValidationError('If-Match: geef één ETag van het verzoek, zoals je die las (bijvoorbeeld "3").',
                              field="If-Match")
    return int(found.group(1))


ROUTES: list[ControllerRouterHandler] = [RequestsController, ContactController]
