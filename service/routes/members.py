"""Members for coordinators: who may sign in and see what is for the Werkplaats or for their ateliers; each
change at once, on every worker, and in the audit log."""

from __future__ import annotations

from litestar import Controller, Request, delete, get, patch, post
from litestar.types import ControllerRouterHandler

from service import membership
from service import schemas as s
from service.auth import acting, coordinator_guard
from service.container import Kennismakelaar
from service.members import Member
from service.routes.deps import COORDINATOR, errors


def _out(found: Member) -> s.MemberOut:
    return s.MemberOut(id=found.id, email=found.email, name=found.name, ateliers=list(found.ateliers), via=found.via,
                       created_at=found.created_at)


class MembersController(Controller):
    path = "/api/members"
    guards = [coordinator_guard]  # noqa: RUF012

    @get(sync_to_thread=True, responses=errors(*COORDINATOR), summary="De leden (coördinator)")
    def listing(self, km: Kennismakelaar) -> list[s.MemberOut]:
        return [_out(m) for m in km.members().all()]

    @post(status_code=201, sync_to_thread=True, responses=errors(*COORDINATOR),
          summary="Een lid toevoegen, in zijn ateliers (coördinator)")
    def add(self, request: Request, km: Kennismakelaar, data: s.MemberIn) -> s.MemberOut:
        return _out(membership.add(km, data.email, name=data.name, ateliers=data.ateliers, actor=acting(request)))


class MemberController(Controller):
    path = "/api/members/{member_id:str}"
    guards = [coordinator_guard]  # noqa: RUF012

    @patch(sync_to_thread=True, responses=errors(*COORDINATOR, 404),
           summary="De ateliers van een lid: gelden meteen, op elke server (coördinator)")
    def move(self, request: Request, km: Kennismakelaar, member_id: str, data: s.MemberAteliersIn) -> s.MemberOut:
        return _out(membership.move(km, member_id, data.ateliers, acting(request)))

    @delete(status_code=200, sync_to_thread=True, responses=errors(*COORDINATOR, 404),
            summary="Een lid verwijderen, met zijn sessies en inloglinks, ook uit de bestanden van de opslag "
                    "(coördinator)")
    def remove(self, request: Request, km: Kennismakelaar, member_id: str) -> s.DeletedOut:
        membership.remove(km, member_id, acting(request))
        return s.DeletedOut(id=member_id, deleted=True)

    @post("/link", status_code=201, sync_to_thread=True, responses=errors(*COORDINATOR, 404),
          summary="Een inloglink voor een lid, om door te geven: werkt één keer, KM_MEMBER_LINK_MINUTES lang "
                  "(coördinator)")
    def link(self, request: Request, km: Kennismakelaar, member_id: str) -> s.MemberLinkOut:
        made = membership.link_for(km, member_id, str(request.base_url), acting(request))
        return s.MemberLinkOut(link=made, minutes=km.settings.service.member_link_minutes)


ROUTES: list[ControllerRouterHandler] = [MembersController, MemberController]
