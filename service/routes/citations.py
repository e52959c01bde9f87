"""Citations of findings: APA (Dutch conventions), RIS and BibTeX, for one document or a selection."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Request, Response, get
from litestar.params import Parameter

from service import schemas as s
from service.auth import audience_of
from service.citations import apa, bibtex, in_text, ris
from service.container import Kennismakelaar
from service.ratelimit import limited
from service.routes.deps import errors
from service.views import MAX_CITED, references

# what a reference manager recognises a file by
MEDIA = {"ris": "application/x-research-info-systems", "bibtex": "application/x-bibtex",
         "apa": "text/plain; charset=utf-8"}
SUFFIX = {"ris": "ris", "bibtex": "bib", "apa": "txt"}


@get("/api/citations", sync_to_thread=True, responses=errors(404, 429), guards=[limited("public")],
     summary="Citeer bevindingen: APA (Nederlandse conventies), RIS of BibTeX",
     description="Eén of meer `id`'s van documenten (een selectie wordt één bestand). Zonder `format`: JSON met "
                 "per document de APA-verwijzing, de verwijzing in de tekst, RIS en BibTeX. Met `format=apa`, "
                 "`ris` of `bibtex`: het bestand om te downloaden.")
def citations(request: Request, km: Kennismakelaar,
              id: Annotated[list[Annotated[str, Parameter(max_length=500)]], Parameter(
                  description=f"Document-id's (hooguit {MAX_CITED}).")],
              format: Literal["json", "apa", "ris", "bibtex"] = "json") -> s.CitationsOut | Response[str]:
    refs = references(km, id, audience_of(request))
    if format == "json":
        return s.CitationsOut(items=[s.CitationOut(document_id=r.document_id, apa=apa(r), in_text=in_text(r),
                                                   ris=ris([r]), bibtex=bibtex([r])) for r in refs])
    body = {"apa": lambda: "\n\n".join(apa(r) for r in refs) + "\n", "ris": lambda: ris(refs),
            "bibtex": lambda: bibtex(refs)}[format]()
    name = f"{refs[0].document_id.replace('/', '-')[:60] if len(refs) == 1 else 'selectie'}.{SUFFIX[format]}"
    return Response(body, media_type=MEDIA[format],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


ROUTES = [citations]
