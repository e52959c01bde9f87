"""Coördinatie: token login, panel builder, knowledge agenda, uploads with progress, expert management."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

from litestar import Controller, Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import BaseRouteHandler
from litestar.params import Body
from litestar.response import Redirect, Template
from litestar.types import ControllerRouterHandler

from core.errors import (
    ConflictError,
    FileTooLargeError,
    KennismakelaarError,
    NotFoundError,
    PreconditionRequiredError,
    StaleVersionError,
    UnsupportedFileError,
    ValidationError,
)
from core.names import slugify
from core.store.revisions import revision
from core.visibility import COORDINATORS, choices
from ingestion.discover import DOCUMENT_FORMATS
from matching.availability import unavailable
from matching.panels import PanelConstraints
from service import consequences, documents, following, meetings
from service.auth import SESSION_COOKIE, acting, attempt_login, session_coordinator
from service.consequences import Consequences
from service.contacts import ContactRequest
from service.container import Kennismakelaar
from service.coordinators import Actor
from service.http_errors import status_of
from service.profiles import availability_of, availability_version, remove_person, save_profile, set_availability
from service.uploads import take_in, uploaded_files
from service.validation import check_slug, check_text
from service.views import by_surname
from web.charts import stacked_bars

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
Multipart = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)]


def session_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if session_coordinator(connection) is None:
        raise NotAuthorizedException("login")  # the error mapping sends web pages to the login form


def _page(name: str, km: Kennismakelaar, status: int = 200, request: Request | None = None,
          **context: Any) -> Template:
    """A coordinator's page; with ``request``, it shows (once) the notice a redirect left for it (``flash``)."""
    notice = flashed(request) if request is not None else None
    if notice and not context.get("notice"):
        context["notice"] = notice
    page = Template(f"coordinatie/{name}.html", status_code=status,
                    context={"page": "coordinatie", "taxonomy": km.taxonomy,
                             "default_visibility": km.default_visibility,
                             "levels": choices(km.taxonomy.atelier_names()), **context})
    if request is not None and FLASH in request.cookies:
        page.delete_cookie(FLASH, path="/coordinatie")
    return page


class Login(Controller):
    """The login form and its post. (A controller: two sync handlers on one path, see
    ``service.routes.experts.ExpertController``.)"""

    path = "/coordinatie/inloggen"
    include_in_schema = False

    @get(sync_to_thread=True)
    def form(self, request: Request, km: Kennismakelaar) -> Template | Redirect:
        if session_coordinator(request) is not None:
            return Redirect("/coordinatie")
        return _page("login", km, configured=_configured(km))

    @post(sync_to_thread=True)
    def login(self, request: Request, km: Kennismakelaar, data: Form) -> Template | Redirect:
        token = str(data.get("token", "")).strip()
        actor = attempt_login(request, token)
        if actor is None:
            return _page("login", km, 401, configured=_configured(km), error="Dit token klopt niet.")
        coordinators = km.coordinators()
        response = Redirect("/coordinatie", status_code=303)
        response.set_cookie(SESSION_COOKIE, coordinators.open_session(actor, token), httponly=True, samesite="lax",
                            secure=km.settings.service.secure_cookies, max_age=int(coordinators.session_seconds),
                            path="/")
        km.audit().record(actor, "ingelogd")
        return response


@post("/coordinatie/uitloggen", sync_to_thread=True, include_in_schema=False)
def logout(request: Request, km: Kennismakelaar) -> Redirect:
    """The session ends on the server, not only in this browser: a copied cookie opens nothing any more."""
    actor = session_coordinator(request)
    km.coordinators().close_session(request.cookies.get(SESSION_COOKIE))
    if actor is not None:
        km.audit().record(actor, "uitgelogd")
    response = Redirect("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _configured(km: Kennismakelaar) -> bool:
    """Whether anyone can log in at all: a shared token in the settings, or a personal one."""
    return bool(km.settings.service.tokens) or bool(km.coordinators().all())


@get("/coordinatie", sync_to_thread=True, guards=[session_guard], include_in_schema=False)
def dashboard(request: Request, km: Kennismakelaar) -> Template:
    """The coordinator's start page: what waits for them, each block a few items and a link to all of it."""
    catalog = km.catalog()
    ledger = catalog.ledger
    # a page of the newest and a count, both inside the engine: the inbox may hold thousands
    new = [ContactRequest.from_record(r) for r in ledger.latest("contact", START_ITEMS, status="nieuw")]
    today = dt.date.today().isoformat()
    upcoming = [m for m in meetings.listing(km) if m.status == "gepland" and m.date >= today]
    return _page("index", km, request=request, counts=catalog.counts(), new_requests=new,
                 new_count=ledger.tally("contact", status="nieuw"), open_questions=_open_questions(km),
                 upcoming=upcoming[:START_ITEMS], upcoming_count=len(upcoming))


START_ITEMS = 3  # each block of the start page: a few items, then "alle …"


def _open_questions(km: Kennismakelaar) -> int:
    """How many questions the agenda holds (``is_open``), counted in the engine."""
    return km.broker().questions.open_count(km.settings.matching.answer_threshold)


# --- removals through a confirmation; notices after a redirect ---------------------------------------------

NOTICES = {  # what a page says once after a redirect: a fixed text per key, never text from the request
    "profiel-opgeslagen": "Het profiel is opgeslagen.",
    "beschikbaarheid-opgeslagen": "De beschikbaarheid is opgeslagen.",
    "persoon-verwijderd": "Verwijderd, met alle koppelingen ({aantal} documenten bijgewerkt).",
    "document-verwijderd": "Het document is verwijderd.",
    "bijeenkomst-gepland": "De bijeenkomst is gepland en opgeslagen.",
    "bijeenkomst-verwijderd": "De bijeenkomst is verwijderd.",
    "lid-verplaatst": "De ateliers van het lid zijn opgeslagen; ze gelden meteen.",
    "lid-verwijderd": "Het lid is verwijderd; zijn sessies zijn beëindigd.",
}
R = TypeVar("R", bound=Response[Any])
FLASH = "km_melding"  # a short-lived cookie, not server memory: the next page may come from another worker


def flash(response: R, km: Kennismakelaar, melding: str, aantal: int | None = None) -> R:
    """Mark ``response`` (a redirect) so that the next coordinator's page says ``NOTICES[melding]`` once."""
    response.set_cookie(FLASH, melding if aantal is None else f"{melding}.{aantal}", max_age=120, httponly=True,
                        samesite="lax", secure=km.settings.service.secure_cookies, path="/coordinatie")
    return response


def flashed(request: Request) -> str | None:
    """The notice a redirect left for this page (``flash``), or None; ``_page`` drops the cookie again."""
    melding, _, aantal = request.cookies.get(FLASH, "").partition(".")
    text = NOTICES.get(melding)
    # only ASCII digits: "²".isdigit() holds, and int("²") raises (a cookie is anyone's to set)
    return text.format(aantal=int(aantal) if re.fullmatch(r"[0-9]{1,6}", aantal) else 0) if text else None


def confirmation(request: Request, km: Kennismakelaar, found: Consequences, *, action: str, cancel: str,
                 title: str, button: str) -> Template:
    """The page that names what a removal will do, with the one form that does it (``bevestigd=ja``). With
    htmx, its submit first swaps in the busy state (``?stap=bezig``), which then posts: the button is disabled
    and says "Bezig met verwijderen…" while a removal of seconds runs. Without JavaScript the form posts
    itself."""
    if request.headers.get("hx-request") and request.query_params.get("stap") == "bezig":
        return Template("coordinatie/bevestigen_bezig.html", context={"action": action, "slow": found.slow})
    return _page("bevestigen", km, found=found, action=action, cancel=cancel, title=title, button=button)


def confirmed(data: dict[str, Any]) -> bool:
    return str(data.get("bevestigd", "")) == "ja"


def confirm_then(request: Request, km: Kennismakelaar, data: dict[str, Any], *, ask: Callable[[], Template],
                 act: Callable[[], object], back: str, notice: str) -> Template | Response[Any]:
    """A removal's post: without ``bevestigd`` the confirmation (``ask``: an old one-click form removes
    nothing), else the removal (``act``), then back to ``back`` with ``notice``; any refusal is said where the
    busy state stood."""
    if not confirmed(data):
        return ask()
    try:
        act()
    except KennismakelaarError as exc:
        return failed(request, km, exc, back)
    return flash(finished(request, back), km, notice)


def finished(request: Request, url: str) -> Response[Any]:
    """After a removal: a 303 to ``url``; to htmx (which would follow a 303 inside the page) the same as
    ``HX-Redirect``, so the browser goes there as a whole page."""
    if request.headers.get("hx-request"):
        return Response(b"", status_code=200, headers={"HX-Redirect": url})
    return Redirect(url, status_code=303)


def failed(request: Request, km: Kennismakelaar, exc: KennismakelaarError, back: str) -> Template:
    """A removal refused or impossible: said where the busy state stood (htmx swaps only a 200), else a page."""
    if request.headers.get("hx-request"):
        return Template("coordinatie/bevestigen_bezig.html", context={"error": exc.message, "back": back})
    return _page("bevestigen", km, status_of(exc), error=exc.message, cancel=back, title="Niet verwijderd")


@get("/coordinatie/panel", sync_to_thread=False, guards=[session_guard], include_in_schema=False)
def panel_form(km: Kennismakelaar) -> Template:
    return _page("panel", km, form={"k": "4"})


@post("/coordinatie/panel", sync_to_thread=True, guards=[session_guard], include_in_schema=False)
def panel(km: Kennismakelaar, data: Form) -> Template:
    form = {k: v for k, v in data.items()}
    try:
        topic = check_text(km, str(form.get("topic", "")), "topic")
        k = int(form.get("k") or 4)
        roles = {r: 1 for r in _list(form.get("min_role")) if r}
        per_org = 1 if form.get("per_org") else None
        cover = tuple(a for a in (check_slug(km, x, "atelier", "cover") for x in _list(form.get("cover"))) if a)
        result = km.broker(COORDINATORS).panel(topic, k, PanelConstraints(min_roles=roles, max_per_organization=per_org,
                                                              cover_ateliers=cover))
    except (ValueError, TypeError, ValidationError) as exc:  # TypeError: k sent twice arrives as a list
        message = exc.message if isinstance(exc, KennismakelaarError) else "Kies een aantal tussen 1 en 20."
        return _page("panel", km, 400, form=form, error=message)
    return _page("panel", km, form=form, panel=result, contact=True)


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


@get("/coordinatie/agenda", sync_to_thread=True, guards=[session_guard], include_in_schema=False)
def agenda(km: Kennismakelaar) -> Template:
    m = km.settings.matching
    data = following.with_followers(km, km.broker().agenda(threshold=m.answer_threshold,
                                                            similarity=m.agenda_similarity))
    keys = [a.slug for a in km.taxonomy.ateliers] + ["onbekend"]
    labels = {a.slug: a.name for a in km.taxonomy.ateliers} | {"onbekend": "Atelier onbekend"}
    used = [k for k in keys if any(k in v for v in data["timeline"].values())]
    chart = stacked_bars(data["timeline"], used or keys[:3], labels)
    return _page("agenda", km, agenda=data, chart=chart)


@get("/coordinatie/upload", sync_to_thread=False, guards=[session_guard], include_in_schema=False)
def upload_form(km: Kennismakelaar) -> Template:
    return _page("upload", km, formats=sorted(DOCUMENT_FORMATS))


@post("/coordinatie/upload", guards=[session_guard], include_in_schema=False)
async def upload(request: Request, km: Kennismakelaar, data: Multipart) -> Template | Redirect:
    files = uploaded_files(data.get("files"))
    people = {f: [n.strip() for n in re.split(r"[;\n]", str(data.get(f) or "")) if n.strip()] or None
              for f in ("authors", "participants")}
    # a title names one document: given with several files it would name them all alike
    title = str(data.get("title") or "").strip() if len(files) == 1 else ""
    meta = {k: v for k, v in {"title": title or None, **people,
                              "kind": data.get("kind") or None, "ateliers": _list(data.get("ateliers")) or None,
                              "themes": _list(data.get("themes")) or None, "date": data.get("date") or None,
                              "knowledge": _list(data.get("knowledge")) or None,
                              "evidence": data.get("evidence") or None,
                              "target_groups": data.get("target_groups") or None,
                              "working_elements": data.get("working_elements") or None,
                              "visibility": data.get("visibility") or None}.items()
            if v}
    try:
        meta = documents.checked_metadata(km, meta) or {}
        job = await take_in(files, request.app.state.jobs,
                            max_bytes=km.settings.ingest.max_file_bytes, metadata=meta or None,
                            actor=acting(request), audit=km.audit())
    except (ValidationError, UnsupportedFileError, FileTooLargeError) as exc:
        return _page("upload", km, status_of(exc), formats=sorted(DOCUMENT_FORMATS), error=exc.message)
    return Redirect(f"/coordinatie/taken/{job.id}", status_code=303)


@get("/coordinatie/taken/{job_id:str}", sync_to_thread=False, guards=[session_guard], include_in_schema=False)
def job(request: Request, km: Kennismakelaar, job_id: str) -> Template:
    current = request.app.state.jobs.get(job_id)
    name = "partials/job" if request.headers.get("hx-request") else "coordinatie/job"
    return Template(f"{name}.html", context={"page": "coordinatie", "job": current, "taxonomy": km.taxonomy})


@get("/coordinatie/experts", sync_to_thread=True, guards=[session_guard], include_in_schema=False)
def experts(request: Request, km: Kennismakelaar) -> Template:
    return _experts_page(km, request=request)


def _experts_page(km: Kennismakelaar, notice: str | None = None, status: int = 200,
                  request: Request | None = None) -> Template:
    return _page("experts", km, status, request, people=sorted(km.catalog().experts(), key=by_surname),
                 notice=notice, away=unavailable(km.catalog()))


class ExpertEditor(Controller):
    """One profile's form. (A controller: see ``service.routes.experts.ExpertController``.)"""

    path = "/coordinatie/experts/{expert_id:str}"
    guards = [session_guard]  # noqa: RUF012 (Litestar's own attribute)
    include_in_schema = False

    @get(sync_to_thread=True)
    def form(self, request: Request, km: Kennismakelaar, expert_id: str) -> Template:
        if expert_id == "nieuw":
            return _page("expert_form", km, person={}, new=True)
        return _profile_form(km, expert_id, request=request)

    @post(sync_to_thread=True)
    def save(self, request: Request, km: Kennismakelaar, expert_id: str, data: Form) -> Template | Redirect:
        return _save_expert(km, expert_id, data, acting(request))


def _profile_form(km: Kennismakelaar, expert_id: str, status: int = 200, request: Request | None = None,
                  **context: Any) -> Template:
    """The form of a stored profile as it is *now*, with the versions it is based on (the profile's and the
    availability's, in hidden fields): a save based on another version is refused. A profile that is gone (removed
    on request meanwhile) gets no form: an edit never creates."""
    person = km.catalog().expert(expert_id)
    if person is None:
        return _experts_page(km, f"Het profiel {expert_id!r} bestaat niet (meer); er is niets opgeslagen.", 404)
    availability = {**availability_of(km, expert_id), "version": availability_version(km, expert_id)}
    return _page("expert_form", km, status, request, person=person, new=False, version=revision(person),
                 availability=availability, **context)


_CURRENT = "Hieronder staat het profiel zoals het nu is; breng je wijziging daarin opnieuw aan als die nog nodig is."


def _save_expert(km: Kennismakelaar, expert_id: str, data: dict[str, Any], actor: Actor) -> Template | Redirect:
    form = {k: v for k, v in data.items()}
    name = str(form.get("name", "")).strip()
    new = expert_id == "nieuw"
    try:
        save_profile(km, slugify(str(form.get("id") or name)) if new else expert_id, name=name,
                     role=str(form.get("role", "")), organization=str(form.get("organization", "")),
                     ateliers=_list(form.get("ateliers")), themes=_list(form.get("themes")),
                     expertise=str(form.get("expertise", "")), email=str(form.get("email", "")),
                     consent=bool(form.get("consent")), source="web", new=new,
                     expected=None if new else _version(form.get("version")),
                     recreate_removed=new and bool(form.get("recreate_removed")), actor=actor)
    except NotFoundError as exc:
        return _experts_page(km, f"{exc.message} Er is niets opgeslagen.", 404)
    except (StaleVersionError, PreconditionRequiredError) as exc:
        # based on another version than the stored one: nothing written; the form again, as it is now
        return _profile_form(km, expert_id, 409, error=f"{exc.message} {_CURRENT}")
    except (ConflictError, ValidationError) as exc:  # what was typed, again, with what is wrong with it
        return _page("expert_form", km, status_of(exc), person=_typed(form, expert_id), new=new,
                     version=form.get("version"), error=exc.message, confirm_recreate=exc.field == "recreate_removed")
    return flash(Redirect("/coordinatie/experts", status_code=303), km, "profiel-opgeslagen")


def _typed(form: dict[str, Any], expert_id: str) -> dict[str, Any]:
    """A posted form in the shape of a stored profile, to show it again."""
    return {**form, "expert_id": expert_id, "ateliers": _list(form.get("ateliers")),
            "themes": _list(form.get("themes")), "consent": bool(form.get("consent"))}


def _version(value: Any) -> int:
    """The version a form was rendered with (its hidden field); a form without one is from before versions."""
    text = str(value or "").strip()
    if not text.isdigit():
        raise PreconditionRequiredError("Dit formulier is verouderd: het zegt niet op welke versie het gebaseerd is; "
                                        "er is niets opgeslagen.")
    return int(text)


@post("/coordinatie/experts/{expert_id:str}/beschikbaarheid", sync_to_thread=True, guards=[session_guard],
      include_in_schema=False)
def availability(request: Request, km: Kennismakelaar, expert_id: str, data: Form) -> Template | Redirect:
    cap = str(data.get("max_per_month") or "").strip()
    try:
        if cap and not cap.isdigit():
            raise ValidationError("Het maximum per maand is een geheel getal.", field="max_per_month")
        set_availability(km, expert_id, unavailable_until=str(data.get("unavailable_until") or "") or None,
                         max_per_month=int(cap) if cap else None, expected=_version(data.get("availability_version")),
                         actor=acting(request))
    except NotFoundError as exc:
        return _experts_page(km, f"{exc.message} Er is niets opgeslagen.", 404)
    except (ConflictError, PreconditionRequiredError) as exc:
        return _profile_form(km, expert_id, 409, error=f"{exc.message} Hieronder staat de beschikbaarheid zoals die "
                                                       "nu is; breng je wijziging opnieuw aan als die nog nodig is.")
    except ValidationError as exc:
        return _profile_form(km, expert_id, 400, error=exc.message)
    return flash(Redirect(f"/coordinatie/experts/{expert_id}", status_code=303), km, "beschikbaarheid-opgeslagen")


class ExpertRemoval(Controller):
    """A person's removal on request: the confirmation (GET), then the removal (POST with ``bevestigd``)."""

    path = "/coordinatie/experts/{expert_id:str}/verwijderen"
    guards = [session_guard]  # noqa: RUF012
    include_in_schema = False

    @get(sync_to_thread=True)
    def confirm(self, request: Request, km: Kennismakelaar, expert_id: str) -> Template:
        return _confirm_person(request, km, expert_id)

    @post(sync_to_thread=True)
    def remove(self, request: Request, km: Kennismakelaar, expert_id: str,
               data: Form) -> Template | Response[Any]:
        if not confirmed(data):  # an old one-click form, or a forged post: the confirmation, nothing removed
            return _confirm_person(request, km, expert_id)
        try:
            details = remove_person(km, expert_id, acting(request))
        except KennismakelaarError as exc:  # any refusal: said where the busy state stood
            return failed(request, km, exc, "/coordinatie/experts")
        return flash(finished(request, "/coordinatie/experts"), km, "persoon-verwijderd", details["documents"])


def _confirm_person(request: Request, km: Kennismakelaar, expert_id: str) -> Template:
    found = consequences.person(km, expert_id)
    return confirmation(request, km, found, action=f"/coordinatie/experts/{expert_id}/verwijderen",
                        cancel="/coordinatie/experts", title=f"{found.name} verwijderen?",
                        button="Ja, verwijder deze persoon overal")


class DocumentRemoval(Controller):
    """A document's removal: the confirmation (GET), then the removal (POST with ``bevestigd``). The id is the
    path's last part: document ids may hold slashes."""

    path = "/coordinatie/documenten/verwijderen/{document_id:path}"
    guards = [session_guard]  # noqa: RUF012
    include_in_schema = False

    @get(sync_to_thread=True)
    def confirm(self, request: Request, km: Kennismakelaar, document_id: str) -> Template:
        return _confirm_document(request, km, document_id.lstrip("/"))

    @post(sync_to_thread=True)
    def remove(self, request: Request, km: Kennismakelaar, document_id: str,
               data: Form) -> Template | Response[Any]:
        doc_id = document_id.lstrip("/")
        if not confirmed(data):
            return _confirm_document(request, km, doc_id)
        try:
            consequences.remove_document(km, doc_id, request.app.state.jobs.files_dir, acting(request))
        except KennismakelaarError as exc:  # any refusal: said where the busy state stood
            return failed(request, km, exc, "/coordinatie")
        return flash(finished(request, "/coordinatie"), km, "document-verwijderd")


@post("/coordinatie/documenten/zichtbaarheid/{document_id:path}", sync_to_thread=True, guards=[session_guard],
      include_in_schema=False)
def document_visibility(request: Request, km: Kennismakelaar, document_id: str, data: Form) -> Redirect:
    """Who may see a document, chosen on its page: back to that page, which says it saved."""
    doc_id = document_id.lstrip("/")
    documents.set_visibility(km, doc_id, str(data.get("visibility") or ""), acting(request))
    return Redirect(f"/documenten/{quote(doc_id)}?opgeslagen=ja", status_code=303)


def _confirm_document(request: Request, km: Kennismakelaar, doc_id: str) -> Template:
    found = consequences.document(km, doc_id, request.app.state.jobs.files_dir)
    return confirmation(request, km, found, action=f"/coordinatie/documenten/verwijderen/{doc_id}",
                        cancel=f"/documenten/{doc_id}", title=f"Document ‘{found.name}’ verwijderen?",
                        button="Ja, verwijder dit document")


ROUTES: list[ControllerRouterHandler] = [Login, logout, dashboard, panel_form, panel, agenda, job, experts,
                                         ExpertEditor, availability, ExpertRemoval, DocumentRemoval,
                                         document_visibility]
# under the upload size limit (service.api.upload_router); the form's GET too: one path lives in one router
UPLOADS: list[ControllerRouterHandler] = [upload_form, upload]
