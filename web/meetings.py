"""Bijeenkomsten: plan a meeting from a cluster on the agenda (a panel proposed, invitations spread), see it,
and upload its verslag — which closes its questions on the agenda and names the panel as participants."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect, Template
from litestar.types import ControllerRouterHandler

from core.errors import FileTooLargeError, UnsupportedFileError, ValidationError
from matching.agenda import LADDER
from service import consequences, meetings
from service.auth import acting
from service.container import Kennismakelaar
from service.http_errors import status_of
from service.uploads import take_in, uploaded_files
from web.coordination import Form, Multipart, _list, _page, confirm_then, confirmation, flash, session_guard

BASE = "/coordinatie/bijeenkomsten"


class Meetings(Controller):
    """The list and the plan form's post. (A controller: two sync handlers on one path, see
    ``service.routes.experts.ExpertController``.)"""

    path = BASE
    guards = [session_guard]  # noqa: RUF012
    include_in_schema = False

    @get(sync_to_thread=True)
    def listing(self, request: Request, km: Kennismakelaar) -> Template:
        return _page("bijeenkomsten", km, request=request,
                     meetings=[meetings.view(km, m) for m in meetings.listing(km)])

    @post(sync_to_thread=True)
    def create(self, request: Request, km: Kennismakelaar, data: Form) -> Template | Redirect:
        form: dict[str, Any] = {**data, "ateliers": _list(data.get("ateliers")),
                                "question_ids": _list(data.get("question_ids"))}
        try:
            k = str(form.get("k") or "4")
            if not k.isdigit():
                raise ValidationError("Kies een aantal tussen 1 en 20.", field="k")
            meeting = meetings.plan(km, title=str(form.get("title", "")), date=str(form.get("date", "")),
                                    step=str(form.get("step", "")), ateliers=form["ateliers"],
                                    question_ids=form["question_ids"], topic=str(form.get("topic", "")), k=int(k),
                                    actor=acting(request))
        except ValidationError as exc:
            return _page("bijeenkomst_nieuw", km, 400, form=form, ladder=LADDER, error=exc.message, field=exc.field)
        return flash(Redirect(f"{BASE}/{meeting.id}", status_code=303), km, "bijeenkomst-gepland")


@get(f"{BASE}/nieuw", sync_to_thread=True, guards=[session_guard], include_in_schema=False)
def new(km: Kennismakelaar, request: Request) -> Template:
    """The plan form, filled from the agenda's cluster (its questions, topic, ateliers and next step)."""
    q = request.query_params
    form = {"title": q.get("titel", ""), "topic": q.get("onderwerp", ""), "step": q.get("stap", "expertmeeting"),
            "ateliers": q.getall("atelier", []), "question_ids": q.getall("vraag", []), "k": "4", "date": ""}
    return _page("bijeenkomst_nieuw", km, form=form, ladder=LADDER)


@get(f"{BASE}/{{meeting_id:str}}", sync_to_thread=True, guards=[session_guard], include_in_schema=False)
def one(request: Request, km: Kennismakelaar, meeting_id: str) -> Template:
    return _meeting_page(km, meetings.get(km, meeting_id), request=request)


def _meeting_page(km: Kennismakelaar, meeting: meetings.Meeting, status: int = 200,
                  error: str | None = None, request: Request | None = None) -> Template:
    catalog = km.catalog()
    questions = [q["text"] for q in (catalog.question(i) for i in meeting.question_ids) if q]
    report = catalog.document(meeting.report_id) if meeting.report_id else None
    return _page("bijeenkomst", km, status, request, meeting=meetings.view(km, meeting), questions=questions,
                 report=report, error=error)


class Removal(Controller):
    """A meeting's removal: the confirmation (GET), then the removal (POST with ``bevestigd``)."""

    path = f"{BASE}/{{meeting_id:str}}/verwijderen"
    guards = [session_guard]  # noqa: RUF012
    include_in_schema = False

    @get(sync_to_thread=True)
    def confirm(self, request: Request, km: Kennismakelaar, meeting_id: str) -> Template:
        return self._confirm(request, km, meeting_id)

    @post(sync_to_thread=True)
    def remove(self, request: Request, km: Kennismakelaar, meeting_id: str,
               data: Form) -> Template | Response[Any]:
        return confirm_then(request, km, data, ask=lambda: self._confirm(request, km, meeting_id),
                            act=lambda: meetings.remove(km, meeting_id, acting(request)), back=BASE,
                            notice="bijeenkomst-verwijderd")

    @staticmethod
    def _confirm(request: Request, km: Kennismakelaar, meeting_id: str) -> Template:
        found = consequences.meeting(km, meeting_id)
        return confirmation(request, km, found, action=f"{BASE}/{meeting_id}/verwijderen",
                            cancel=f"{BASE}/{meeting_id}", title=f"Bijeenkomst ‘{found.name}’ verwijderen?",
                            button="Ja, verwijder deze bijeenkomst")


@post(f"{BASE}/{{meeting_id:str}}/verslag", guards=[session_guard], include_in_schema=False)
async def report(request: Request, km: Kennismakelaar, meeting_id: str, data: Multipart) -> Template | Redirect:
    """The verslag: one file, ingested in the background like any upload, linked to the meeting at once."""
    files = uploaded_files(data.get("files"))
    try:
        plan = meetings.for_upload(km, {"meeting": meeting_id}, len(files))  # an unknown meeting: 404
        job = await take_in(files, request.app.state.jobs, max_bytes=km.settings.ingest.max_file_bytes,
                            metadata=plan.metadata, name=plan.name, then=plan.then, actor=acting(request),
                            audit=km.audit())
    except (ValidationError, UnsupportedFileError, FileTooLargeError) as exc:
        return _meeting_page(km, meetings.get(km, meeting_id), status_of(exc), error=exc.message)
    return Redirect(f"/coordinatie/taken/{job.id}", status_code=303)


ROUTES: list[ControllerRouterHandler] = [Meetings, new, one, Removal]
UPLOADS: list[ControllerRouterHandler] = [report]  # under the upload size limit (service.api.upload_router)
