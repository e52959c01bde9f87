"""The coordinator's overview: per period and atelier, as JSON and as CSV (one row per period)."""

from __future__ import annotations

from typing import Annotated

from litestar import get
from litestar.params import Parameter
from litestar.response import Response
from litestar.types import ControllerRouterHandler

from service import overview as ov
from service import schemas as s
from service.auth import coordinator_guard
from service.container import Kennismakelaar
from service.routes.deps import COORDINATOR, errors

# checked by ``service.overview`` (a 400 naming the field), so the parameters are plain text here
Period = Annotated[str, Parameter(max_length=20, description="maand (standaard), kwartaal of jaar")]
Atelier = Annotated[str | None, Parameter(max_length=200, description="Alleen dit atelier (slug of naam)")]
Since = Annotated[str | None, Parameter(max_length=20, description="Vanaf deze datum (JJJJ-MM-DD, inclusief)")]
Until = Annotated[str | None, Parameter(max_length=20, description="Tot en met deze datum (JJJJ-MM-DD)")]


@get("/api/overview", sync_to_thread=True, guards=[coordinator_guard], responses=errors(*COORDINATOR),
     summary="Overzicht per periode en atelier: vragen, contactverzoeken, bijeenkomsten, terugkerende thema's "
             "(coördinator)")
def overview(km: Kennismakelaar, period: Period = "maand", atelier: Atelier = None, since: Since = None,
             until: Until = None) -> s.OverviewOut:
    data = ov.overview(km, period=period, atelier=atelier, since=since, until=until)
    return s.convert(data.to_json(), s.OverviewOut)


@get("/api/overview.csv", sync_to_thread=True, guards=[coordinator_guard], responses=errors(*COORDINATOR),
     media_type=ov.CSV_MEDIA_TYPE, summary="Het overzicht als CSV, één regel per periode (coördinator)")
def overview_csv(km: Kennismakelaar, period: Period = "maand", atelier: Atelier = None, since: Since = None,
                 until: Until = None) -> Response[str]:
    data = ov.overview(km, period=period, atelier=atelier, since=since, until=until)
    return Response(ov.to_csv(data), media_type=ov.CSV_MEDIA_TYPE, headers=ov.download_headers(data))


ROUTES: list[ControllerRouterHandler] = [overview, overview_csv]
