"""Bladeren: every document the reader may see, by facet and in an order, a page at a time — each state a URL to
share; filters apply at once with HTMX and by their button without JavaScript."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, get
from litestar.params import Parameter
from litestar.response import Redirect, Template

from core.errors import ValidationError
from core.ordering import group_key
from matching.browse import DIMENSIONS
from service.auth import audience_of
from service.browse import browse, browse_filters, check_sort
from service.container import Kennismakelaar
from service.ratelimit import limited

# the API's names of the filters → the page's (Dutch) parameters
PARAMS = {"kind": "soort", "atelier": "atelier", "theme": "thema", "knowledge": "kennis", "evidence": "bewijs",
          "target_group": "doelgroep", "year": "jaar", "since": "sinds"}
SORTS = {"datum": "date", "titel": "title", "toegevoegd": "added"}
Text = Annotated[str, Parameter(max_length=200)]


@get("/bladeren", sync_to_thread=True, include_in_schema=False, guards=[limited("public")])
def bladeren(request: Request, km: Kennismakelaar, soort: list[Text] | None = None,
             atelier: list[Text] | None = None, thema: list[Text] | None = None, kennis: list[Text] | None = None,
             bewijs: list[Text] | None = None, doelgroep: list[Text] | None = None,
             jaar: list[Annotated[int, Parameter(ge=1900, le=2100)]] | None = None,
             sinds: Annotated[str | None, Parameter(max_length=10)] = None,
             sorteer: Annotated[str | None, Parameter(max_length=20)] = None,
             pagina: Annotated[int, Parameter(ge=1, le=50)] = 1) -> Template:
    chosen: dict[str, list[Any]] = {
        "kind": soort or [], "atelier": atelier or [], "theme": thema or [], "knowledge": kennis or [],
        "evidence": bewijs or [], "target_group": doelgroep or [], "year": jaar or []}
    context: dict[str, Any] = {"page": "bladeren", "taxonomy": km.taxonomy, "params": PARAMS,
                               "selected": {PARAMS[k]: [group_key(str(v)) if k == "target_group" else str(v)
                                                        for v in vs] for k, vs in chosen.items()},
                               "sorteer": sorteer or "datum", "sinds": sinds or ""}
    try:
        filters = browse_filters(km, kind=soort or (), atelier=atelier or (), theme=thema or (),
                                 knowledge=kennis or (), evidence=bewijs or (), target_group=doelgroep or (),
                                 year=jaar or (), since=sinds or None, names=PARAMS)
        sort = check_sort(sorteer, SORTS)
    except ValidationError as exc:
        return Template("browse.html", context={**context, "error": exc.message}, status_code=400)
    result = browse(km, audience_of(request), filters, sort=sort, page=pagina)
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "pagina"]

    def page_link(n: int) -> str:
        return "/bladeren?" + urlencode([*kept, ("pagina", n)])

    items = [{**i, "snippet": i.get("summary") or i.get("opening") or "", "highlights": [], "page": None,
              "section": []} for i in result.items]
    return Template("browse.html", context={
        **context, "result": result, "items": items, "page_link": page_link, "facets": result.facets,
        "dimensions": list(DIMENSIONS), "filtered": bool(filters)})


FILES = {"apa": "txt", "ris": "ris", "bibtex": "bib"}  # the export form's choice → the API's file


@get("/citeren", sync_to_thread=False, include_in_schema=False)
def cite(km: Kennismakelaar, id: list[Text] | None = None,
         formaat: Annotated[str, Parameter(max_length=10)] = "ris") -> Redirect | Template:
    """The documents ticked on a list, as one file (the API's): a page that says so when none was ticked."""
    if not id or formaat not in FILES:
        return Template("error.html", status_code=400, context={
            "page": "bladeren", "taxonomy": km.taxonomy, "status": 400, "title": "Niets gekozen",
            "message": "Vink eerst documenten aan voor je literatuurlijst, en kies APA, RIS of BibTeX."})
    return Redirect(f"/api/citations.{FILES[formaat]}?" + urlencode([("id", i) for i in id]), status_code=303)


ROUTES = [bladeren, cite]
