"""Contact requests: anyone may ask to be put in touch (rate-limited); coordinators list, move and remove them."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, delete, get, patch, post
from litestar.params import Parameter
from litestar.types import ControllerRouterHandler

from service import contacts
from service import schemas as s
from service.auth import acting, coordinator_guard
from service.container import Kennismakelaar
from service.ratelimit import limited
from service.routes.deps import COORDINATOR, errors

NEXT_STEP = ("Je verzoek is ontvangen. Een coördinator van de Werkplaats bekijkt het binnen een paar werkdagen en "
             "brengt je in contact, of laat je weten wie je beter kunt benaderen. Je hoort het via je e-mailadres.")


@post("/api/contact-requests", status_code=201, sync_to_thread=True, responses=errors(404, 413, 429),
      guards=[limited("ask")], summary="Vraag contact aan met iemand die het weet")
def submit(data: s.ContactIn, km: Kennismakelaar) -> s.ContactReceivedOut:
    request = contacts.submit(km, name=data.name, email=data.email, message=data.message,
                              organization=data.organization, role=data.role, question=data.question,
                              question_id=data.question_id, expert_id=data.expert_id)
    return s.ContactReceivedOut(id=request.id, status=request.status, next=NEXT_STEP)


@get("/api/contact-requests", sync_to_thread=True, guards=[coordinator_guard], responses=errors(*COORDINATOR),
     summary="Alle contactverzoeken, nieuwste eerst (coördinator)")
def listing(km: Kennismakelaar,
            status: Annotated[str | None, Parameter(pattern=r"^(nieuw|doorgestuurd|verbonden|afgewezen|afgerond)$")]
            = None, atelier: str | None = None) -> list[s.ContactRequestOut]:
    return [s.convert(r.__dict__, s.ContactRequestOut) for r in contacts.listing(km, status=status, atelier=atelier)]


class ContactController(Controller):
    """One request. (A controller: see ``service.routes.experts.ExpertController``.)"""

    path = "/api/contact-requests/{request_id:str}"
    guards = [coordinator_guard]  # noqa: RUF012

    @get(sync_to_thread=True, responses=errors(*COORDINATOR, 404), summary="Eén contactverzoek (coördinator)")
    def one(self, km: Kennismakelaar, request_id: str) -> s.ContactRequestOut:
        return s.convert(contacts.get(km, request_id).__dict__, s.ContactRequestOut)

    @patch(sync_to_thread=True, responses=errors(*COORDINATOR, 404, 413),
           summary="Status of notitie van een contactverzoek wijzigen (coördinator)")
    def change(self, request: Request, km: Kennismakelaar, request_id: str, data: s.ContactUpdateIn
               ) -> s.ContactRequestOut:
        current = contacts.get(km, request_id)
        moved = contacts.move(km, request_id, data.status or current.status, note=data.note,
                              forwarded_to=data.forwarded_to, actor=acting(request))
        return s.convert(moved.__dict__, s.ContactRequestOut)

    @post("/forward", status_code=200, sync_to_thread=True, responses=errors(*COORDINATOR, 404, 413, 502),
          summary="Een contactverzoek per e-mail doorsturen naar een expert (coördinator)")
    def forward(self, request: Request, km: Kennismakelaar, request_id: str, data: s.ForwardIn) -> s.ForwardOut:
        done = contacts.forward(km, request_id, expert_id=data.expert_id, cc_asker=data.cc_asker, note=data.note,
                                actor=acting(request))
        return s.ForwardOut(**done.to_json(), request=s.convert(done.request.__dict__, s.ContactRequestOut))

    @post("/close", status_code=200, sync_to_thread=True, responses=errors(*COORDINATOR, 404, 413),
          summary="Een contactverzoek afronden met de uitkomst; beantwoord wordt het een vindbare kennisvraag "
                  "(coördinator)")
    def close(self, request: Request, km: Kennismakelaar, request_id: str, data: s.CloseIn) -> s.ContactRequestOut:
        closed = contacts.close(km, request_id, outcome=data.outcome, answered=data.answered, themes=data.themes,
                                question=data.question, actor=acting(request))
        return s.convert(closed.__dict__, s.ContactRequestOut)

    @get("/suggestions", sync_to_thread=True, responses=errors(*COORDINATOR, 404),
         summary="Wie dit verzoek kan beantwoorden, en wie nu niet wordt voorgesteld en waarom (coördinator)")
    def suggestions(self, km: Kennismakelaar, request_id: str) -> s.SuggestionsOut:
        return s.convert(contacts.suggestions(km, contacts.get(km, request_id)), s.SuggestionsOut)

    @delete(status_code=200, sync_to_thread=True, responses=errors(*COORDINATOR, 404),
            summary="Een contactverzoek verwijderen, op verzoek van de vrager (coördinator)")
    def remove(self, request: Request, km: Kennismakelaar, request_id: str) -> s.DeletedOut:
        contacts.remove(km, request_id, acting(request))
        return s.DeletedOut(id=request_id, deleted=True)


ROUTES: list[ControllerRouterHandler] = [submit, listing, ContactController]
