"""Public pages: ask (home), the answer, search, documents, the expert directory and profiles."""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.response import Redirect, Template

from core.errors import RateLimitedError, ValidationError
from core.visibility import PUBLIC, choices
from matching.browse import BrowseFilters
from matching.filters import SearchFilters
from matching.questions import ROLES
from service import following
from service.auth import audience_of
from service.citations import apa_html, in_text
from service.container import Kennismakelaar
from service.ratelimit import client_of, limited
from service.validation import check_slug, check_slugs, check_text
from service.views import directory, document_view, profile_view, references

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
PAGE_SIZE = 10


def _ask_page(km: Kennismakelaar, status: int = 200, **context: Any) -> Template:
    return Template("ask.html", context={"page": "vraag", "taxonomy": km.taxonomy, "roles": ROLES, **context},
                    status_code=status)


VISITS = "km_bezoek"  # the days of the reader's previous and latest visit, kept in their browser only
VISITS_DAYS = 400
OFF = "uit"  # the reader asked not to keep their visits


def visit_days(cookie: str | None, today: dt.date) -> tuple[str | None, str]:
    """(the day of the visit before today's, the cookie to keep) from the cookie a browser sent: what is new is
    new since that day, all day long, and the next day since today.

    >>> visit_days(None, dt.date(2026, 12, 6))
    (None, '_2026-12-06')
    >>> visit_days("_2026-11-20", dt.date(2026, 12, 6))
    ('2026-11-20', '2026-11-20_2026-12-06')
    >>> visit_days("2026-11-20_2026-12-06", dt.date(2026, 12, 6)), visit_days("<script>", dt.date(2026, 12, 6))
    (('2026-11-20', '2026-11-20_2026-12-06'), (None, '_2026-12-06'))
    """
    previous, _, latest = (cookie or "").partition("_")
    day = today.isoformat()

    def valid(value: str) -> str | None:
        day = _day(value)
        return day if day is not None and day <= today.isoformat() else None

    before, last = valid(previous), valid(latest)
    if last is not None and last < day:  # the first visit today: the latest one becomes the previous one
        before = last
    return before, f"{before or ''}_{day}"


def _day(value: str | None) -> str | None:
    """An ISO day (yyyy-mm-dd) as the engine takes it, or None for anything else ("20261120", "2024-02-30").

    >>> _day("2026-11-20"), _day("20261120"), _day("2024-02-30"), _day(None)
    ('2026-11-20', None, None, None)
    """
    if not value or len(value) != 10:
        return None
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        return None


@get("/", sync_to_thread=True, include_in_schema=False)
def home(request: Request, km: Kennismakelaar,
         sinds: Annotated[str | None, Parameter(max_length=10)] = None) -> Template:
    kept = request.cookies.get(VISITS)
    since, keep = (None, OFF) if kept == OFF else visit_days(kept, dt.date.today())
    since = _day(sinds) or since  # a date in the link that is no date is no reason to fail the start page
    new = km.browser(audience_of(request)).browse(BrowseFilters(since=since), sort="added", size=5,
                                                  facets=False) if since else None
    page = _ask_page(km, form={}, since=since, new=new, remembering=keep != OFF)
    page.set_cookie(VISITS, keep, max_age=VISITS_DAYS * 86400, httponly=True, samesite="lax", path="/")
    return page


@post("/bezoek", sync_to_thread=False, include_in_schema=False)
def visits(data: Form) -> Redirect:
    """The reader decides: forget the visits and keep none (``onthouden=nee``), or keep them again."""
    response = Redirect("/", status_code=303)
    if str(data.get("onthouden", "")) == "nee":
        response.set_cookie(VISITS, OFF, max_age=VISITS_DAYS * 86400, httponly=True, samesite="lax", path="/")
    else:
        response.delete_cookie(VISITS, path="/")
    return response


@post("/vraag", sync_to_thread=True, include_in_schema=False)
def ask(request: Request, km: Kennismakelaar, data: Form) -> Template | Redirect:
    form = {k: str(v) for k, v in data.items() if k in ("question", "atelier", "role")}
    try:
        request.app.state.limiter.check("ask", client_of(request))
        question = check_text(km, form.get("question", ""), "question")
        atelier = check_slug(km, form.get("atelier") or None, "atelier", "atelier")
        role = form.get("role") or None
        if role is not None and role not in ROLES:
            raise ValidationError("Kies een rol uit de lijst.", field="role")
    except (ValidationError, RateLimitedError) as exc:
        return _ask_page(km, 429 if isinstance(exc, RateLimitedError) else 400, form=form, error=exc.message)
    freshness = km.catalog().freshness()  # before asking: a removal meanwhile must void this answer
    audience = audience_of(request)
    answer = km.broker(audience).ask(question, atelier=atelier, role=role)
    request.app.state.answers.put(answer.question_id, freshness, answer, audience.key)
    return Redirect(f"/antwoord/{answer.question_id}", status_code=303)


@get("/antwoord/{question_id:str}", sync_to_thread=True, include_in_schema=False, guards=[limited("public")])
def answer(request: Request, km: Kennismakelaar, question_id: str) -> Template:
    audience = audience_of(request)  # a link to an answer shows each reader what they may see
    broker = km.broker(audience)
    stored = broker.questions.get(question_id)  # its feedback marks, and a 404 for a purged question
    freshness = km.catalog().freshness()
    result = request.app.state.answers.get(question_id, freshness, audience.key)
    if result is None:  # asked in another process, a while ago, or before the store changed
        # recomputed, the page keeps the judgement the question was recorded with (the one the agenda holds)
        # the judgement it was recorded with, when made for this reader's audience; for another, judged again (an
        # answer from what a member may see must not tell the public that such an answer exists)
        same = stored.get("audience", PUBLIC.key) == audience.key
        result = broker.ask(stored["text"], atelier=stored["atelier"] if not stored.get("atelier_inferred") else None,
                            record=False, answered=stored.get("answered") if same else None)
        request.app.state.answers.put(question_id, freshness, result, audience.key)
    marked = {(f["type"], f["id"]): f["helpful"] for f in stored.get("feedback", [])}
    others = [b for b in result.bridges if b["type"] == "finding"]
    return Template("answer.html", context={
        "page": "vraag", "question_id": question_id, "answer": result, "bridges": others, "marked": marked,
        "taxonomy": km.taxonomy, "contact_email": km.settings.service.contact_email,
        "can_follow": following.can_follow(km), "follow_days": km.settings.service.follow_retention_days})


@post("/feedback", sync_to_thread=True, include_in_schema=False, guards=[limited("public")])
def feedback(request: Request, km: Kennismakelaar, data: Form) -> Template | Redirect:
    question_id = str(data.get("question_id", ""))
    item_type, item_id = str(data.get("type", "")), str(data.get("id", ""))
    helpful = str(data.get("helpful", "")) == "ja"
    km.broker().questions.feedback(question_id, item_type=item_type, item_id=item_id, helpful=helpful,
                                   audience=audience_of(request))
    if request.headers.get("hx-request"):
        return Template("partials/feedback_done.html", context={"helpful": helpful})
    return Redirect(f"/antwoord/{question_id}#{item_type}-{item_id}", status_code=303)


@get("/zoeken", sync_to_thread=True, include_in_schema=False, guards=[limited("public")])
def search(request: Request, km: Kennismakelaar, q: str | None = None, atelier: list[str] | None = None,
           thema: list[str] | None = None, soort: list[str] | None = None,
           jaar: list[Annotated[int, Parameter(ge=1900, le=2100)]] | None = None,
           kennis: list[str] | None = None, bewijs: list[str] | None = None,
           pagina: Annotated[int, Parameter(ge=1, le=50)] = 1,
           sorteer: Literal["relevantie", "datum"] = "relevantie") -> Template:
    context: dict[str, Any] = {"page": "zoeken", "q": q or "", "taxonomy": km.taxonomy, "sorteer": sorteer,
                               "selected": {"atelier": atelier or [], "thema": thema or [], "soort": soort or [],
                                            "jaar": [str(j) for j in jaar or []], "kennis": kennis or [],
                                            "bewijs": bewijs or []}}
    if not q or not q.strip():
        return Template("search.html", context=context)
    try:
        query = check_text(km, q, "q")
        ateliers, themes = check_slugs(km, atelier, "atelier", "atelier"), check_slugs(km, thema, "theme", "thema")
        knowledge, evidence = check_slugs(km, kennis, "knowledge", "kennis"), check_slugs(km, bewijs, "evidence",
                                                                                          "bewijs")
    except ValidationError as exc:
        return Template("search.html", context={**context, "error": exc.message}, status_code=400)
    years = sorted(jaar or [])
    filters = SearchFilters(ateliers=ateliers, themes=themes, kinds=tuple(soort or ()),
                            year_from=years[0] if years else None, year_to=years[-1] if years else None,
                            knowledge=knowledge, evidence=evidence)
    broker = km.broker(audience_of(request))
    offset = (pagina - 1) * PAGE_SIZE
    result = broker.search(query, filters, limit=PAGE_SIZE, offset=offset,
                           order="date" if sorteer == "datum" else "relevance")
    # facet counts come from the question without filters, so every option stays visible and countable
    facets = broker.search(query, limit=PAGE_SIZE).facets if filters else result.facets
    pages = max(1, math.ceil(min(result.total, 50 * PAGE_SIZE) / PAGE_SIZE))
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "pagina"]

    def page_link(n: int) -> str:
        return "/zoeken?" + urlencode([*kept, ("pagina", n)])

    return Template("search.html", context={**context, "result": result, "facets": facets, "pagina": pagina,
                                            "pages": pages, "page_link": page_link,
                                            "can_follow": following.can_follow(km)})


@get("/documenten/{document_id:path}", sync_to_thread=True, include_in_schema=False, guards=[limited("public")])
def document(request: Request, km: Kennismakelaar, document_id: str,
             opgeslagen: Annotated[str | None, Parameter(max_length=2)] = None) -> Template:
    audience = audience_of(request)
    doc = document_view(km, document_id, audience=audience)
    ref = references(km, [doc.document_id], audience)[0]
    # a coordinator reading a document is where they see who may see it, and whether it should go at all
    return Template("document.html", context={"page": "zoeken", "doc": doc, "taxonomy": km.taxonomy,
                                              "apa": apa_html(ref), "in_text": in_text(ref),
                                              "coordinator": audience.everything,
                                              "levels": choices(km.taxonomy.atelier_names()),
                                              "saved": opgeslagen == "ja"})


@get("/experts", sync_to_thread=True, include_in_schema=False, guards=[limited("public")])
def experts(km: Kennismakelaar, atelier: str | None = None, rol: str | None = None) -> Template:
    people, roles = directory(km, atelier=atelier, role=rol)
    return Template("experts.html", context={"page": "experts", "people": people, "taxonomy": km.taxonomy,
                                             "atelier": atelier, "rol": rol, "roles": roles})


@get("/experts/{expert_id:str}", sync_to_thread=True, include_in_schema=False, guards=[limited("public")])
def expert(request: Request, km: Kennismakelaar, expert_id: str) -> Template:
    profile = profile_view(km, expert_id, coordinator=False, audience=audience_of(request))
    return Template("expert.html", context={"page": "experts", "person": profile, "taxonomy": km.taxonomy})


ROUTES = [home, visits, ask, answer, feedback, search, document, experts, expert]
