"""Documents: upload (background ingestion with a job), read, download the original, delete."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.enums import RequestEncodingType
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body
from litestar.response import File
from litestar.types import ControllerRouterHandler

from core.errors import NotFoundError, ValidationError
from core.visibility import COORDINATORS, FIELD, Audience
from service import consequences, documents, meetings
from service import schemas as s
from service.auth import acting, audience_of, coordinator_guard
from service.container import Kennismakelaar
from service.coordinators import Actor
from service.ratelimit import limited
from service.routes.deps import COORDINATOR, errors
from service.uploads import take_in, uploaded_files
from service.views import document_view, servable_file

MEDIA = {"pdf": "application/pdf", "html": "text/html", "htm": "text/html", "md": "text/markdown",
         "txt": "text/plain", "eml": "message/rfc822", "epub": "application/epub+zip",
         "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
         "odt": "application/vnd.oasis.opendocument.text"}
META_KEYS = {"title", "kind", "ateliers", "themes", "date", "authors", "participants", "url", "id", "meeting",
             "knowledge", "evidence", "target_groups", "working_elements", "visibility", "evidence_date",
             "evidence_assessor", "evidence_reason", "summary"}


@post("/api/documents", status_code=202, guards=[coordinator_guard], responses=errors(*COORDINATOR, 413, 415),
      summary="Documenten uploaden (coördinator)",
      description="Multipart: één of meer `files`, en optioneel `metadata` (JSON: kind, ateliers, themes, date, "
                  "authors, participants, url, knowledge, evidence, target_groups, working_elements, visibility, "
                  "evidence_date, evidence_assessor, evidence_reason, summary) die voor alle "
                  "bestanden geldt. Met `meeting` (het id van een "
                  "bijeenkomst) is het ene bestand haar verslag: het krijgt de gegevens van de bijeenkomst, het "
                  "panel als deelnemers, en haar vragen gaan van de agenda. De verwerking loopt op de "
                  "achtergrond; volg ze met GET /api/jobs/{id}.")
async def upload(request: Request, km: Kennismakelaar,
                 data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)]) -> s.JobOut:
    files = uploaded_files(data.get("files"))
    plan = meetings.for_upload(km, documents.checked_metadata(km, _metadata(data.get("metadata"))), len(files))
    job = await take_in(files, request.app.state.jobs, max_bytes=km.settings.ingest.max_file_bytes,
                        metadata=plan.metadata, name=plan.name, then=plan.then, actor=acting(request),
                        audit=km.audit())
    return s.convert(job.__dict__, s.JobOut)


def _metadata(raw: Any) -> dict[str, Any] | None:
    if raw in (None, ""):
        return None
    try:
        data = json.loads(raw) if isinstance(raw, (str, bytes)) else raw
    except ValueError:
        raise ValidationError("'metadata' is geen geldige JSON.", field="metadata") from None
    if not isinstance(data, dict) or set(data) - META_KEYS:
        raise ValidationError("'metadata' is een object met: " + ", ".join(sorted(META_KEYS)) + ".",
                              field="metadata")
    return data


@get("/api/jobs/{job_id:str}", sync_to_thread=True, responses=errors(404, 429), guards=[limited("public")],
     summary="Voortgang van een upload")
def job(request: Request, job_id: str) -> s.JobOut:
    return s.convert(request.app.state.jobs.get(job_id).__dict__, s.JobOut)


# the same path gives the original file when it ends in /file (document ids may hold slashes)
_DOCUMENT_OR_FILE = ResponseSpec(data_container=s.DocumentOut, generate_examples=False,
                                 description="Het document met zijn passages; met /file achter het id: het originele "
                                             "bestand (application/octet-stream of het eigen type).")


class DocumentController(Controller):
    """One document. (A controller: see ``service.routes.experts.ExpertController``.)"""

    path = "/api/documents/{document_id:path}"

    @get(sync_to_thread=True, responses={**errors(404, 429), 200: _DOCUMENT_OR_FILE}, guards=[limited("public")],
         summary="Een document met zijn passages (…/file geeft het originele bestand)")
    def document(self, request: Request, km: Kennismakelaar, document_id: str) -> Any:
        doc_id = document_id.lstrip("/")
        if doc_id.endswith("/file") and km.catalog().document(doc_id) is None:  # ids may contain slashes
            return _file(km, doc_id[: -len("/file")], request.app.state.jobs.files_dir, audience_of(request))
        return document_view(km, document_id, audience=audience_of(request))

    @patch(status_code=200, sync_to_thread=True, guards=[coordinator_guard], responses=errors(*COORDINATOR, 404),
           summary="Wie een document mag zien: openbaar, werkplaats, atelier:<slug> of coordinatie (coördinator); "
                   "geldt meteen, ook als het bestand later opnieuw wordt ingelezen")
    def change_document(self, request: Request, km: Kennismakelaar, document_id: str,
                        data: s.VisibilityIn) -> s.DocumentOut:
        doc_id = document_id.lstrip("/")
        documents.set_visibility(km, doc_id, data.visibility, acting(request))
        return document_view(km, doc_id, audience=COORDINATORS)

    @delete(status_code=200, sync_to_thread=True, guards=[coordinator_guard], responses=errors(*COORDINATOR, 404),
            summary="Een document verwijderen (coördinator)")
    def remove_document(self, request: Request, km: Kennismakelaar, document_id: str) -> s.DeletedOut:
        return _remove(km, document_id, request.app.state.jobs.files_dir, acting(request))


def _file(km: Kennismakelaar, doc_id: str, uploads: Path, audience: Audience) -> File:
    record = km.catalog().document(doc_id)
    if record is not None and not audience.may_see(record.get(FIELD)):
        record = None  # for them it does not exist
    path = servable_file(record, uploads, coordinator=audience.everything) if record else None
    if record is None or path is None:
        raise NotFoundError(f"Het bestand van document {doc_id!r} is er niet (meer), of wordt niet gedeeld.")
    fmt = record.get("format", "")
    return File(path=path, filename=path.name, media_type=MEDIA.get(fmt, "application/octet-stream"),
                content_disposition_type="attachment")


def _remove(km: Kennismakelaar, document_id: str, uploads: Path, actor: Actor) -> s.DeletedOut:
    doc_id = document_id.lstrip("/")
    details = consequences.remove_document(km, doc_id, uploads, actor)  # as the web's confirmed removal does
    return s.DeletedOut(id=doc_id, deleted=True, details=details)


ROUTES: list[ControllerRouterHandler] = [job, DocumentController]
UPLOADS: list[ControllerRouterHandler] = [upload]  # mounted under the upload size limit (service.api.upload_router)
