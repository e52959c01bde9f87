"""The Logboek (``/coordinatie/logboek``): the audit log with filters in a GET form, and the same rows as a CSV
download (both built by ``service.audit``, as for the API)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Response, get
from litestar.response import Template
from litestar.types import ControllerRouterHandler

from core.errors import ValidationError
from service import audit
from service.audit_query import Action, Before, Coordinator, Since, Until
from service.container import Kennismakelaar
from service.overview import CSV_MEDIA_TYPE
from web.coordination import session_guard

SHOWN = 100  # rows on a page; the CSV holds them all


@get("/coordinatie/logboek", sync_to_thread=True, guards=[session_guard], include_in_schema=False)
def page(km: Kennismakelaar, action: Action = None, coordinator: Coordinator = None, since: Since = None,
         until: Until = None, before: Before = None) -> Template:
    """The log, newest first, a page at a time: the next page is what was written before the last entry shown,
    so entries that arrive meanwhile shift nothing. A wrong filter comes back in the form with its message
    (400)."""
    form = {"action": action or "", "coordinator": coordinator or "", "since": since or "", "until": until or ""}
    context: dict[str, Any] = {"page": "coordinatie", "taxonomy": km.taxonomy, "form": form,
                               "actions": audit.ACTIONS, "retention_days": km.settings.service.audit_retention_days,
                               "coordinators": audit.names(km.coordinators())}
    try:
        found = audit.search(km.audit(), km.coordinators(), action=action, coordinator=coordinator, since=since,
                             until=until, before=before, limit=SHOWN)
    except ValidationError as exc:
        return Template("coordinatie/logboek.html", status_code=400,
                        context={**context, "error": exc.message, "field": exc.field})
    query = {k: v for k, v in form.items() if v}
    shown_up_to = found.first - 1 + len(found.entries)
    return Template("coordinatie/logboek.html", context={
        **context, "found": found, "csv_url": "/coordinatie/logboek.csv?" + urlencode(query),
        "newest_url": "/coordinatie/logboek?" + urlencode(query) if before else None,
        "older_url": "/coordinatie/logboek?" + urlencode({**query, "before": found.entries[-1].cursor})
        if found.entries and shown_up_to < found.total else None})


@get("/coordinatie/logboek.csv", sync_to_thread=True, guards=[session_guard], include_in_schema=False)
def download(km: Kennismakelaar, action: Action = None, coordinator: Coordinator = None, since: Since = None,
             until: Until = None) -> Response[str]:
    """The log as CSV, the same rows as ``GET /api/audit.csv``; a wrong filter is a 400 page."""
    found = audit.search(km.audit(), km.coordinators(), action=action, coordinator=coordinator, since=since,
                         until=until, limit=None)
    return Response(audit.to_csv(found), media_type=CSV_MEDIA_TYPE, headers=audit.download_headers())


ROUTES: list[ControllerRouterHandler] = [page, download]
