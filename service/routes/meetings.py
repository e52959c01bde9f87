"""Meetings planned from the knowledge agenda: plan one with a proposed panel, list, read, remove (coordinator).
A meeting's verslag is uploaded through ``POST /api/documents`` with ``{"meeting": id}`` in its metadata."""

from __future__ import annotations

from litestar import Controller, Request, delete, get, post
from litestar.types import ControllerRouterHandler

from service import meetings
from service import schemas as s
from service.auth import acting, coordinator_guard
from service.container import Kennismakelaar
from service.routes.deps import COORDINATOR, errors


def _out(km: Kennismakelaar, meeting: meetings.Meeting) -> s.MeetingOut:
    return s.convert(meetings.view(km, meeting), s.MeetingOut)


class MeetingsController(Controller):
    """Planning and the list. (A controller: two sync handlers on one path, see
    ``service.routes.experts.ExpertController``.)"""

    path = "/api/meetings"
    guards = [coordinator_guard]  # noqa: RUF012

    @post(status_code=201, sync_to_thread=True, responses=errors(*COORDINATOR, 413),
          summary="Een bijeenkomst plannen bij vragen van de agenda, met een voorgesteld panel (coördinator)")
    def plan(self, request: Request, km: Kennismakelaar, data: s.MeetingIn) -> s.MeetingOut:
        return _out(km, meetings.plan(km, title=data.title, date=data.date, step=data.step, ateliers=data.ateliers,
                                      question_ids=data.question_ids, topic=data.topic, k=data.k,
                                      actor=acting(request)))

    @get(sync_to_thread=True, responses=errors(*COORDINATOR),
         summary="Alle bijeenkomsten: eerst de geplande, dan de gehouden (coördinator)")
    def listing(self, km: Kennismakelaar) -> list[s.MeetingOut]:
        return [_out(km, m) for m in meetings.listing(km)]


class MeetingController(Controller):
    """One meeting. (A controller: see ``service.routes.experts.ExpertController``.)"""

    path = "/api/meetings/{meeting_id:str}"
    guards = [coordinator_guard]  # noqa: RUF012

    @get(sync_to_thread=True, responses=errors(*COORDINATOR, 404), summary="Eén bijeenkomst (coördinator)")
    def one(self, km: Kennismakelaar, meeting_id: str) -> s.MeetingOut:
        return _out(km, meetings.get(km, meeting_id))

    @delete(status_code=200, sync_to_thread=True, responses=errors(*COORDINATOR, 404),
            summary="Een bijeenkomst verwijderen (coördinator)")
    def remove(self, request: Request, km: Kennismakelaar, meeting_id: str) -> s.DeletedOut:
        meetings.remove(km, meeting_id, acting(request))
        return s.DeletedOut(id=meeting_id, deleted=True)


ROUTES: list[ControllerRouterHandler] = [MeetingsController, MeetingController]
