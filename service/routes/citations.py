"""Citations of findings: APA (Dutch conventions), RIS and BibTeX, for one document or a selection."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated

from litestar import Request, Response, get
from litestar.params import Parameter

from core.names import slugify
from service import schemas as s
from service.auth import audience_of
from service.citations import Reference, apa, bibtex, in_text, ris
from service.container import Kennismakelaar
from service.ratelimit import limited
from service.routes.deps import errors
from service.views import MAX_CITED, references

Ids = Annotated[list[Annotated[str, Parameter(max_length=500)]], Parameter(
    description=f"Document-id's (hooguit {MAX_CITED}); een selectie wordt één bestand.")]


@get("/api/citations", sync_to_thread=True, responses=errors(404, 429), guards=[limited("public")],
     summary="Citeer bevindingen: APA (Nederlandse conventies), de verwijzing in de tekst, RIS en BibTeX")
def citations(request: Request, km: Kennismakelaar, id: Ids) -> s.CitationsOut:
    refs = references(km, id, audience_of(request))
    return s.CitationsOut(items=[s.CitationOut(document_id=r.document_id, apa=apa(r), in_text=in_text(r),
                                               ris=ris([r]), bibtex=bibtex([r])) for r in refs])


def _file(km: Kennismakelaar, request: Request, ids: Sequence[str], write: Callable[[list[Reference]], str],
          media_type: str, suffix: str) -> Response[str]:
    refs = references(km, ids, audience_of(request))
    # an id may hold any letter: the file's name is its slug (a header holds Latin-1 only)
    stem = (slugify(refs[0].document_id)[:60] or "document") if len(refs) == 1 else "selectie"
    return Response(write(refs), media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{stem}.{suffix}"'})


@get("/api/citations.ris", sync_to_thread=True, responses=errors(404, 429), guards=[limited("public")],
     media_type="application/x-research-info-systems", summary="Bevindingen als RIS-bestand (Zotero, EndNote)")
def citations_ris(request: Request, km: Kennismakelaar, id: Ids) -> Response[str]:
    return _file(km, request, id, ris, "application/x-research-info-systems", "ris")


@get("/api/citations.bib", sync_to_thread=True, responses=errors(404, 429), guards=[limited("public")],
     media_type="application/x-bibtex", summary="Bevindingen als BibTeX-bestand")
def citations_bibtex(request: Request, km: Kennismakelaar, id: Ids) -> Response[str]:
    return _file(km, request, id, bibtex, "application/x-bibtex", "bib")


@get("/api/citations.txt", sync_to_thread=True, responses=errors(404, 429), guards=[limited("public")],
     media_type="text/plain", summary="Bevindingen als literatuurlijst in APA (tekst)")
def citations_apa(request: Request, km: Kennismakelaar, id: Ids) -> Response[str]:
    return _file(km, request, id, lambda refs: "\n\n".join(apa(r) for r in refs) + "\n", "text/plain", "txt")


ROUTES = [citations, citations_ris, citations_bibtex, citations_apa]
