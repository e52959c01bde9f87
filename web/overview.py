"""The coordinator's overview (``/coordinatie/overzicht``): filters in a GET form, a table per period, charts,
the recurring themes, and the same numbers as a CSV download (built by ``service.overview``, as for the API)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Response, get
from litestar.response import Template
from litestar.types import ControllerRouterHandler

from core.errors import ValidationError
from service import overview as ov
from service.contacts import STATUSES
from service.container import Kennismakelaar
from web.charts import grouped_bars, stacked_bars
from web.coordination import session_guard

_PERIOD_WORD = {"maand": "maand", "kwartaal": "kwartaal", "jaar": "jaar"}


@get("/coordinatie/overzicht", sync_to_thread=True, guards=[session_guard], include_in_schema=False)
def page(km: Kennismakelaar, period: str | None = None, atelier: str | None = None, since: str | None = None,
         until: str | None = None) -> Template:
    """The overview page; a wrong filter comes back in the form with its message (400)."""
    form = {"period": period or "maand", "atelier": atelier or "", "since": since or "", "until": until or ""}
    context: dict[str, Any] = {"page": "coordinatie", "taxonomy": km.taxonomy, "form": form,
                               "periods": ov.PERIODS, "statuses": STATUSES}
    try:
        data = ov.overview(km, period=form["period"], atelier=atelier or None, since=since or None,
                           until=until or None)
    except ValidationError as exc:
        return Template("coordinatie/overzicht.html", status_code=400,
                        context={**context, "error": exc.message, "field": exc.field})
    query = {k: v for k, v in {"period": data.period, "atelier": data.atelier, "since": data.since,
                               "until": data.until}.items() if v}
    return Template("coordinatie/overzicht.html", context={
        **context, "data": data, "charts": charts(data), "csv_url": "/coordinatie/overzicht.csv?" + urlencode(query),
        "period_word": _PERIOD_WORD[data.period]})


@get("/coordinatie/overzicht.csv", sync_to_thread=True, guards=[session_guard], include_in_schema=False)
def download(km: Kennismakelaar, period: str | None = None, atelier: str | None = None, since: str | None = None,
             until: str | None = None) -> Response[str]:
    """The overview as CSV, the same rows as ``GET /api/overview.csv``; a wrong filter is a 400 page."""
    data = ov.overview(km, period=period or "maand", atelier=atelier or None, since=since or None,
                       until=until or None)
    return Response(ov.to_csv(data), media_type=ov.CSV_MEDIA_TYPE, headers=ov.download_headers(data))


def charts(data: ov.Overview) -> list[dict[str, str]]:
    """Three charts (SVG with a title and a text alternative) and their captions; none without data."""
    if not data.buckets:
        return []
    word = _PERIOD_WORD[data.period]
    answered = {b.period: {"goed": b.answered_well, "onvoldoende": b.answered_poorly} for b in data.buckets}
    flow = {b.period: {"verzoeken": b.contact_requests, "verbonden": b.connected,
                       "beantwoord": b.answered_by_contact, "bijeenkomsten": b.meetings_held} for b in data.buckets}
    waits = {b.period: {"dagen": b.median_days_to_connection or 0.0} for b in data.buckets}
    questions_title = f"Vragen per {word}: goed en onvoldoende beantwoord"
    flow_title = f"Contactverzoeken en bijeenkomsten per {word}"
    wait_title = f"Mediaan aantal dagen tot verbinding per {word}"
    made = [
        {"svg": stacked_bars(answered, ["goed", "onvoldoende"],
                             {"goed": "Goed beantwoord", "onvoldoende": "Onvoldoende beantwoord"},
                             title=questions_title), "caption": questions_title},
        {"svg": grouped_bars(flow, ["verzoeken", "verbonden", "beantwoord", "bijeenkomsten"],
                             {"verzoeken": "Contactverzoeken", "verbonden": "In contact gebracht",
                              "beantwoord": "Beantwoord via contact", "bijeenkomsten": "Bijeenkomsten gehouden"},
                             chart_id="grafiek-contact", title=flow_title), "caption": flow_title},
    ]
    # no connection in any period: a chart of zeros would say "the same day", which nobody measured
    if any(b.median_days_to_connection is not None for b in data.buckets):
        made.append({"svg": grouped_bars(waits, ["dagen"], {"dagen": "Mediaan dagen tot verbinding"},
                                         chart_id="grafiek-wachttijd", title=wait_title), "caption": wait_title})
    return made


ROUTES: list[ControllerRouterHandler] = [page, download]
