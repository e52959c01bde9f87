"""The audit log for coordinators: who changed people's data or the collection, and when (JSON and CSV)."""

from __future__ import annotations

from litestar import get
from litestar.response import Response
from litestar.types import ControllerRouterHandler

from service import audit
from service import schemas as s
from service.audit_query import Action, Before, Coordinator, Limit, Offset, Since, Until
from service.auth import coordinator_guard
from service.container import Kennismakelaar
from service.overview import CSV_MEDIA_TYPE
from service.routes.deps import COORDINATOR, errors


@get("/api/audit", sync_to_thread=True, guards=[coordinator_guard], responses=errors(*COORDINATOR),
     summary="Het logboek: wie wat veranderde aan gegevens van mensen en aan de collectie, en wanneer "
             "(coördinator)")
def audit_log(km: Kennismakelaar, action: Action = None, coordinator: Coordinator = None, since: Since = None,
              until: Until = None, before: Before = None, limit: Limit = 100, offset: Offset = 0) -> s.AuditOut:
    found = audit.search(km.audit(), km.coordinators(), action=action, coordinator=coordinator, since=since,
                         until=until, before=before, limit=limit, offset=offset)
    return s.AuditOut(entries=[s.convert(e.row(found.coordinators), s.AuditEntryOut) for e in found.entries],
                      total=found.total, coordinators=found.coordinators, actions=audit.ACTIONS)


@get("/api/audit.csv", sync_to_thread=True, guards=[coordinator_guard], responses=errors(*COORDINATOR),
     media_type=CSV_MEDIA_TYPE, summary="Het logboek als CSV, alle regels voor de filters (coördinator)")
def audit_csv(km: Kennismakelaar, action: Action = None, coordinator: Coordinator = None, since: Since = None,
              until: Until = None) -> Response[str]:
    found = audit.search(km.audit(), km.coordinators(), action=action, coordinator=coordinator, since=since,
                         until=until, limit=None)
    return Response(audit.to_csv(found), media_type=CSV_MEDIA_TYPE, headers=audit.download_headers())


ROUTES: list[ControllerRouterHandler] = [audit_log, audit_csv]
