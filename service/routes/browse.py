"""Browse every document without a question, as in a databank."""

from __future__ import annotations

from typing import Annotated

from litestar import Request, get
from litestar.params import Parameter

from service import schemas as s
from service.auth import audience_of
from service.browse import browse as browse_page
from service.browse import browse_filters, check_sort
from service.container import Kennismakelaar
from service.ratelimit import limited
from service.routes.deps import errors

Text = Annotated[str, Parameter(max_length=200)]
Year = Annotated[int, Parameter(ge=1900, le=2100)]


@get("/api/browse", sync_to_thread=True, responses=errors(429), guards=[limited("public")],
     summary="Blader door alle documenten: per soort, atelier, thema, kennis, bewijs, doelgroep en jaar")
def browse(request: Request, km: Kennismakelaar, kind: list[Text] | None = None, atelier: list[Text] | None = None,
           theme: list[Text] | None = None, knowledge: list[Text] | None = None,
           evidence: list[Text] | None = None, target_group: list[Text] | None = None,
           year: list[Year] | None = None,
           since: Annotated[str | None, Parameter(pattern=r"^\d{4}-\d{2}-\d{2}$", description=(
               "Alleen wat sinds deze datum (jjjj-mm-dd) in de Werkplaats kwam."))] = None,
           sort: Annotated[str | None, Parameter(description="date (nieuwste eerst), title (A-Z) of added "
                                                             "(laatst toegevoegd eerst)")] = None,
           page: Annotated[int, Parameter(ge=1, le=50)] = 1) -> s.BrowseOut:
    """Every filter may be given more than once (any of its values matches); the facets count each value under
    the choices made in the other filters. Only documents the caller may see are counted or listed."""
    filters = browse_filters(km, kind=kind or (), atelier=atelier or (), theme=theme or (),
                             knowledge=knowledge or (), evidence=evidence or (), target_group=target_group or (),
                             year=year or (), since=since)
    result = browse_page(km, audience_of(request), filters, sort=check_sort(sort), page=page)
    return s.BrowseOut(
        total=result.total, page=result.page, pages=result.pages, sort=result.sort,
        items=[s.BrowseItemOut(
            document_id=i["document_id"], title=i.get("title", ""), kind=i.get("kind", ""), date=i.get("date"),
            ateliers=i.get("ateliers") or [], themes=i.get("themes") or [], knowledge=i.get("knowledge") or [],
            evidence=i.get("evidence"), target_groups=i.get("target_groups") or [],
            summary=i.get("summary") or i.get("opening"), source=i.get("source", ""), url=i.get("url"),
            visibility=i.get("visibility") or "openbaar", added=(i.get("ingested_at") or "")[:10] or None)
            for i in result.items],
        facets={name: [s.FacetValueOut(value=v, count=n) for v, n in values]
                for name, values in result.facets.items()})


ROUTES = [browse]
