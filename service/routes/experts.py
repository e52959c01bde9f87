"""Expert profiles: read (public: consenting people only, no contact), create, change and remove (coordinator).

Every change names the version it is based on: ``GET`` answers a coordinator with an ``ETag``, ``PUT`` needs it back
in ``If-Match`` (without: 428; another version is stored now: 412 with the current state, nothing written). A
``PUT`` replaces the whole profile (every field required) and never creates one: ``POST /api/experts`` does, and
creates someone removed on request again only with ``"recreate_removed": true``.

Removing a person removes them everywhere: the profile, their name on every document, and — as a salted
hash — a note that keeps a re-ingest of old source files from bringing them back.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post, put
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter
from litestar.types import ControllerRouterHandler

from core.errors import NotFoundError, PreconditionRequiredError, StaleVersionError, ValidationError
from core.names import slugify
from service import schemas as s
from service.auth import acting, audience_of, coordinator_guard, is_coordinator
from service.container import Kennismakelaar
from service.http_errors import etag
from service.profiles import (
    availability_of,
    availability_version,
    profile_version,
    remove_person,
    save_profile,
    set_availability,
)
from service.ratelimit import limited
from service.routes.deps import COORDINATOR, errors
from service.views import profile_view

IfMatch = Parameter(header="If-Match", required=False, description='De versie waarop de wijziging gebaseerd is: de '
                    'ETag van GET (bijvoorbeeld "3"), of * voor de versie die nu is opgeslagen.')


def _versioned(*codes: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries of a versioned write: the usual errors, 412 and 428."""
    return {**errors(*COORDINATOR, *codes),
            412: ResponseSpec(data_container=s.ErrorOut, generate_examples=False,
                              description="Intussen gewijzigd: niets opgeslagen; de huidige stand staat in 'current'"),
            428: ResponseSpec(data_container=s.ErrorOut, generate_examples=False,
                              description="If-Match ontbreekt: stuur de ETag van GET mee")}


class ExpertController(Controller):
    """One person. (A controller, because Litestar 2.25 double-wraps sync handlers when three or more plain
    route functions share a path.)"""

    path = "/api/experts/{expert_id:str}"

    @get(sync_to_thread=True, responses=errors(404, 429), guards=[limited("public")],
         summary="Een expertprofiel met zijn documenten (een coördinator krijgt ook de versie: ETag)")
    def profile(self, request: Request, km: Kennismakelaar, expert_id: str) -> Response[s.ExpertProfileOut]:
        if not is_coordinator(request):
            return Response(profile_view(km, expert_id, coordinator=False, audience=audience_of(request)))
        # the version first: should a write land in between, the body is newer than its tag, and a change based on
        # the tag is refused rather than lost
        version = profile_version(km, expert_id)
        return Response(profile_view(km, expert_id, coordinator=True), headers={"ETag": etag(version)})

    @put(sync_to_thread=True, guards=[coordinator_guard], responses=_versioned(404, 409, 413),
         summary="Een expertprofiel vervangen, alle velden, met If-Match (coördinator)")
    def save_profile(self, request: Request, km: Kennismakelaar, expert_id: str, data: s.ExpertIn,
                     if_match: str | None = IfMatch) -> Response[s.ExpertProfileOut]:
        expected = _expected(if_match, lambda: profile_version(km, expert_id))
        try:
            saved = save_profile(km, expert_id, name=data.name, role=data.role, organization=data.organization,
                                 ateliers=data.ateliers, themes=data.themes, expertise=data.expertise,
                                 email=data.email or "", consent=data.consent, source="api", expected=expected,
                                 actor=acting(request))
        except StaleVersionError as exc:
            raise _with_current(exc, km, expert_id) from None
        return _answer(km, expert_id, saved.version)

    @delete(status_code=200, sync_to_thread=True, guards=[coordinator_guard], responses=errors(*COORDINATOR, 404),
            summary="Een persoon volledig verwijderen (coördinator)")
    def remove_profile(self, request: Request, km: Kennismakelaar, expert_id: str) -> s.DeletedOut:
        details = remove_person(km, expert_id, acting(request))
        return s.DeletedOut(id=expert_id, deleted=True, details=details)


@post("/api/experts", status_code=201, sync_to_thread=True, guards=[coordinator_guard],
      responses=errors(*COORDINATOR, 409, 413),
      summary="Een nieuw expertprofiel; iemand die op verzoek is verwijderd alleen met recreate_removed (coördinator)")
def create_profile(request: Request, km: Kennismakelaar, data: s.ExpertNewIn) -> Response[s.ExpertProfileOut]:
    expert_id = data.id if data.id is not None else slugify(data.name)
    saved = save_profile(km, expert_id, name=data.name, role=data.role, organization=data.organization,
                         ateliers=data.ateliers, themes=data.themes, expertise=data.expertise, email=data.email,
                         consent=data.consent, source="api", new=True, recreate_removed=data.recreate_removed,
                         actor=acting(request))
    return _answer(km, expert_id, saved.version, status=201)


class AvailabilityController(Controller):
    """When someone may be suggested: away until a day, or a cap on requests per month (coordinator). Versioned
    apart from the profile (``ETag`` "0": never set)."""

    path = "/api/experts/{expert_id:str}/availability"
    guards = [coordinator_guard]  # noqa: RUF012

    @get(sync_to_thread=True, responses=errors(*COORDINATOR, 404), summary="Beschikbaarheid van een expert, met "
         "haar versie (ETag) (coördinator)")
    def read(self, km: Kennismakelaar, expert_id: str) -> Response[s.AvailabilityOut]:
        if km.catalog().expert(expert_id) is None:
            raise NotFoundError(f"Expert {expert_id!r} bestaat niet (meer).")
        return Response(s.convert(availability_of(km, expert_id), s.AvailabilityOut),
                        headers={"ETag": etag(availability_version(km, expert_id))})

    @put(sync_to_thread=True, responses=_versioned(404, 413),
         summary="Afwezig tot een datum, of een maximum aantal verzoeken per maand, met If-Match (coördinator)")
    def set(self, request: Request, km: Kennismakelaar, expert_id: str, data: s.AvailabilityIn,
            if_match: str | None = IfMatch) -> Response[s.AvailabilityOut]:
        expected = _expected(if_match, lambda: availability_version(km, expert_id))
        done = set_availability(km, expert_id, unavailable_until=data.unavailable_until,
                                max_per_month=data.max_per_month, expected=expected, actor=acting(request))
        return Response(s.convert(done, s.AvailabilityOut), headers={"ETag": etag(done["version"])})


def _expected(if_match: str | None, current: Any) -> int:
    """The version ``If-Match`` names; ``*`` is the version stored now (``current()``, which raises for a record
    that does not exist: an edit never creates)."""
    tag = (if_match or "").strip()
    if not tag:
        raise PreconditionRequiredError(
            "Stuur de versie mee waarop je wijziging gebaseerd is (If-Match); zonder versie kan een oudere stand "
            "een intussen genomen beslissing ongedaan maken.", hint='Haal eerst GET op en stuur de ETag daarvan '
            'terug als If-Match, bijvoorbeeld If-Match: "3".', field="If-Match")
    if tag == "*":
        return int(current())
    value = tag[1:-1] if len(tag) > 1 and tag[0] == tag[-1] == '"' else tag
    if not value.isdigit():  # a weak tag (W/"3") never matches in If-Match, and a list is not one version
        raise ValidationError('If-Match moet één versie zijn zoals de ETag die GET gaf, bijvoorbeeld "3".',
                              field="If-Match")
    return int(value)


def _answer(km: Kennismakelaar, expert_id: str, version: int, *, status: int = 200) -> Response[s.ExpertProfileOut]:
    """The profile as stored now, tagged with the version this write made: if another write came right after, the
    body may be newer than the tag — and a change based on the tag is then refused, never lost."""
    headers = {"ETag": etag(version)}
    if status == 201:
        headers["Location"] = f"/api/experts/{expert_id}"
    return Response(profile_view(km, expert_id, coordinator=True), status_code=status, headers=headers)


def _with_current(exc: StaleVersionError, km: Kennismakelaar, expert_id: str) -> StaleVersionError:
    """The refusal with the profile as it is now, as ``GET`` shows it to a coordinator (not the stored record)."""
    current: dict[str, Any] | None
    try:
        current = msgspec.to_builtins(profile_view(km, expert_id, coordinator=True))
    except NotFoundError:
        current = None
    exc.current = current
    return exc


ROUTES: list[ControllerRouterHandler] = [ExpertController, create_profile, AvailabilityController]
