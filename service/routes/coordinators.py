"""Coordinators for coordinators: who may log in, add someone (their token shown once), remove someone (their
token and sessions stop at once, on every worker). Each change in the audit log under who made it."""

from __future__ import annotations

from litestar import Controller, Request, delete, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.types import ControllerRouterHandler

from service import coordinator_admin
from service import schemas as s
from service.auth import acting, coordinator_guard
from service.container import Kennismakelaar
from service.routes.deps import COORDINATOR, errors


class CoordinatorsController(Controller):
    """The list and adding. (A controller: two sync handlers on one path, see
    ``service.routes.experts.ExpertController``.)"""

    path = "/api/coordinators"
    guards = [coordinator_guard]  # noqa: RUF012

    @get(sync_to_thread=True, responses=errors(*COORDINATOR),
         summary="De coördinatoren met een persoonlijk token; met removed=true ook de verwijderde (coördinator)")
    def listing(self, km: Kennismakelaar, removed: bool = False) -> list[s.CoordinatorOut]:
        return [s.convert(c, s.CoordinatorOut) for c in coordinator_admin.listing(km, removed=removed)]

    @post(status_code=201, sync_to_thread=True, responses=errors(*COORDINATOR, 409),
          summary="Een coördinator toevoegen; het persoonlijke token staat alleen in dit antwoord (coördinator)")
    def add(self, request: Request, km: Kennismakelaar, data: s.CoordinatorIn) -> s.CoordinatorAddedOut:
        added, token = coordinator_admin.add(km, data.name, acting(request))
        return s.CoordinatorAddedOut(id=added.id, name=added.name, token=token)


@delete("/api/coordinators/{coordinator_id:str}", status_code=200, sync_to_thread=True, guards=[coordinator_guard],
        responses={**errors(*COORDINATOR, 404), 409: ResponseSpec(
            data_container=s.ErrorOut, generate_examples=False,
            description="Die coördinator verwijdert op dit moment zelf iemand: probeer het zo opnieuw")},
        summary="Een coördinator verwijderen: het token en alle sessies werken meteen niet meer; 409 zolang die zelf "
                "iemand aan het verwijderen is (coördinator)")
def remove(request: Request, km: Kennismakelaar, coordinator_id: str) -> s.DeletedOut:
    coordinator_admin.remove(km, coordinator_id, acting(request))
    return s.DeletedOut(id=coordinator_id, deleted=True)


ROUTES: list[ControllerRouterHandler] = [CoordinatorsController, remove]
