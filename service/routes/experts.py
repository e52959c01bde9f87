"""Expert profiles: read (public: consenting people only, no contact), create/replace and remove (coordinator).

Removing a person removes them everywhere: the profile, their name on every document, and — as a salted
hash — a note that keeps a re-ingest of old source files from bringing them back.
"""

from __future__ import annotations

from litestar import Controller, Request, delete, get, put

from core.errors import NotFoundError
from service import schemas as s
from service.auth import acting, coordinator_guard, is_coordinator
from service.container import Kennismakelaar
from service.coordinators import Actor
from service.profiles import availability_of, remove_person, save_profile, set_availability
from service.ratelimit import limited
from service.routes.deps import COORDINATOR, errors
from service.views import profile_view


class ExpertController(Controller):
    """One person. (A controller, because Litestar 2.25 double-wraps sync handlers when three or more plain
    route functions share a path.)"""

    path = "/api/experts/{expert_id:str}"

    @get(sync_to_thread=True, responses=errors(404, 429), guards=[limited("public")],
         summary="Een expertprofiel met zijn documenten")
    def profile(self, request: Request, km: Kennismakelaar, expert_id: str) -> s.ExpertProfileOut:
        return profile_view(km, expert_id, coordinator=is_coordinator(request))

    @put(sync_to_thread=True, guards=[coordinator_guard], responses=errors(*COORDINATOR, 413),
         summary="Een expertprofiel aanmaken of vervangen (coördinator)")
    def save_profile(self, request: Request, km: Kennismakelaar, expert_id: str, data: s.ExpertIn
                     ) -> s.ExpertProfileOut:
        return _save(km, expert_id, data, acting(request))

    @delete(status_code=200, sync_to_thread=True, guards=[coordinator_guard], responses=errors(*COORDINATOR, 404),
            summary="Een persoon volledig verwijderen (coördinator)")
    def remove_profile(self, request: Request, km: Kennismakelaar, expert_id: str) -> s.DeletedOut:
        details = remove_person(km, expert_id, acting(request))
        return s.DeletedOut(id=expert_id, deleted=True, details=details)


class AvailabilityController(Controller):
    """When someone may be suggested: away until a day, or a cap on requests per month (coordinator)."""

    path = "/api/experts/{expert_id:str}/availability"
    guards = [coordinator_guard]  # noqa: RUF012

    @get(sync_to_thread=True, responses=errors(*COORDINATOR, 404), summary="Beschikbaarheid van een expert "
         "(coördinator)")
    def read(self, km: Kennismakelaar, expert_id: str) -> s.AvailabilityOut:
        if km.catalog().expert(expert_id) is None:
            raise NotFoundError(f"Expert {expert_id!r} bestaat niet.")
        return s.convert(availability_of(km, expert_id), s.AvailabilityOut)

    @put(sync_to_thread=True, responses=errors(*COORDINATOR, 404, 413),
         summary="Afwezig tot een datum, of een maximum aantal verzoeken per maand (coördinator)")
    def set(self, request: Request, km: Kennismakelaar, expert_id: str, data: s.AvailabilityIn
            ) -> s.AvailabilityOut:
        return s.convert(set_availability(km, expert_id, unavailable_until=data.unavailable_until,
                                          max_per_month=data.max_per_month, actor=acting(request)),
                         s.AvailabilityOut)


def _save(km: Kennismakelaar, expert_id: str, data: s.ExpertIn, actor: Actor) -> s.ExpertProfileOut:
    save_profile(km, expert_id, name=data.name, role=data.role, organization=data.organization,
                 ateliers=data.ateliers, themes=data.themes, expertise=data.expertise, email=data.email,
                 consent=data.consent, source="api", actor=actor)
    return profile_view(km, expert_id, coordinator=True)


ROUTES = [ExpertController, AvailabilityController]
