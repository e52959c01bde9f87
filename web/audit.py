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
from service.container import Kennismakelaar
from service.overview import CSV_MEDIA_TYPE
from service.routes.audit import Action, Coordinator, Offset, Since, Until
from web.coordination import session_guard

SHOWN = 100  # rows on a page; the CSV holds them all


@get("/coordinatie/logboek", sync_to_thread=True, guards=[session_guard], include_in_schema=False)
def page(km: Kennismakelaar, action: Action = None, coordinator: Coordinator = None, since: Since = None,
         until: Until = None, offset: Offset = 0) -> Template:
    """The log, newest first, a page at a time; a wrong filter comes back in the form with its message (400)."""
    form = {"action": action or "", "coordinator": coordinator or "", "since": since or "", "until": until or ""}
    context: dict[str, Any] = {"page": "coordinatie", "taxonomy": km.taxonomy, "form": form,
                               "actions": audit.ACTIONS, "retention_days": km.settings.service.audit_retention_days,
                               "coordinators": audit.names(km.coordinators())}
    try:
        found = audit.search(km.audit(), km.coordinators(), action=action, coordinator=coordinator, since=since,
                             until=until, limit=SHOWN, offset=offset)
    except ValidationError as exc:
        return Template("coordinatie/logboek.html", status_code=400,
                        context={**context, "error": exc.message, "field": exc.field})
    query = {k: v for k, v in form.items() if v}
    return Template("coordinatie/logboek.html", context={
        **context, "found": found, "offset": offset, "csv_url": "/coordinatie/logboek.csv?" + urlencode(query),
        "newer_url": _page_url(query, offset - SHOWN) if offset > 0 else None,
        "older_url": _page_url(query, offset + SHOWN) if offset + SHOWN < found.total else None})


def _page_url(query: dict[str, str], offset: int) -> str:
    return "/coordinatie/logboek?" + urlencode({**query, **({"offset": str(offset)} if offset > 0 else {})})


@get("/coordinatie/logboek.csv", sync_to_thread=True, guards=[session_guard], include_in_schema=False)
def download(km: Kennismakelaar, action: Action = None, coordinator: Coordinator = None, since: Since = None,
             until: Until = None) -> Response[str]:
    """The log as CSV, the same rows as ``GET /api/audit.csv``; a wrong filter is a 400 page."""
    found = audit.search(km.audit(), km.coordinators(), action=action, coordinator=coordinator, since=since,
                         until=until, limit=None)
    return Response(audit.to_csv(found), media_type=CSV_MEDIA_TYPE, headers=audit.download_headers())


ROUTES: list[ControllerRouterHandler] = [page, download]
