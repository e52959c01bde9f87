"""Ask, search, experts, feedback, panels, agenda and the taxonomy."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Request, get, post
from litestar.params import Parameter

from core.errors import ValidationError
from core.visibility import COORDINATORS
from matching.filters import SearchFilters, parse_date
from matching.panels import PanelConstraints
from matching.questions import ROLES
from service import following
from service import schemas as s
from service.auth import audience_of, coordinator_guard, is_coordinator
from service.container import Kennismakelaar
from service.ratelimit import limited
from service.routes.deps import COORDINATOR, errors, expert_json
from service.validation import check_slug, check_slugs, check_text

Q = Annotated[str, Parameter(min_length=1,
                             description="De vraag of zoektekst (hooguit KM_MAX_QUERY_CHARS tekens, standaard 2000).")]
Limit = Annotated[int, Parameter(ge=1, le=50)]


@post("/api/ask", status_code=200, sync_to_thread=True, responses=errors(413, 429), guards=[limited("ask")],
      summary="Stel een vraag: bevindingen, mensen, bruggen")
def ask(data: s.AskIn, request: Request, km: Kennismakelaar) -> s.AskOut:
    question = check_text(km, data.question, "question")
    atelier = check_slug(km, data.atelier, "atelier", "atelier")
    if data.role is not None and data.role not in ROLES:
        raise ValidationError(f"Onbekende rol {data.role!r}.", field="role", hint="Kies uit: " + ", ".join(ROLES))
    answer = km.broker(audience_of(request)).ask(question, atelier=atelier, role=data.role)
    contact = is_coordinator(request)
    return s.AskOut(
        question_id=answer.question_id, question=answer.question, atelier=answer.atelier,
        atelier_inferred=answer.atelier_inferred, best_score=round(answer.best_score, 4),
        hidden_experts=answer.hidden_experts,
        findings=[s.convert(f.to_json(), s.FindingOut) for f in answer.findings],
        experts=[s.convert(expert_json(e, contact=contact), s.ExpertOut) for e in answer.experts],
        bridges=[s.convert(b, s.BridgeOut) for b in answer.bridges],  # their people carry no contact details
        perspectives=[s.convert(v.to_json(contact=contact), s.PerspectiveOut) for v in answer.perspectives],
        answered=answer.answered, confidence=round(answer.confidence, 4))


@get("/api/search", sync_to_thread=True, responses=errors(429), guards=[limited("public")],
     summary="Zoek in eerdere bevindingen (één resultaat per document)")
def search(request: Request, km: Kennismakelaar, q: Q, atelier: list[str] | None = None,
           theme: list[str] | None = None,
           kind: list[Annotated[str, Parameter(max_length=80)]] | None = None,
           person: list[Annotated[str, Parameter(max_length=200)]] | None = None,
           date_from: Annotated[str | None, Parameter(query="from", pattern=r"^\d{4}-\d{2}-\d{2}$")] = None,
           date_to: Annotated[str | None, Parameter(query="to", pattern=r"^\d{4}-\d{2}-\d{2}$")] = None,
           year: Annotated[int | None, Parameter(ge=1900, le=2100)] = None,
           knowledge: list[Annotated[str, Parameter(max_length=40)]] | None = None,
           evidence: list[Annotated[str, Parameter(max_length=60)]] | None = None,
           limit: Limit = 10, offset: Annotated[int, Parameter(ge=0, le=500)] = 0,
           sort: Annotated[Literal["relevance", "date"], Parameter(description=(
               "relevance, of date: de 30 best passende documenten, nieuwste eerst"))] = "relevance",
           ) -> s.SearchOut:
    """``knowledge``: onderzoek, praktijk, ervaring; ``evidence``: an evidence level of GET /api/taxonomy;
    ``person``: an expert's id or name — for the public, of people with a public profile only."""
    query = check_text(km, q, "q")
    filters = SearchFilters(
        ateliers=check_slugs(km, atelier, "atelier", "atelier"), themes=check_slugs(km, theme, "theme", "theme"),
        kinds=tuple(kind or ()), people=tuple(person or ()), date_from=parse_date(date_from, "from"),
        date_to=parse_date(date_to, "to"), year_from=year, year_to=year,
        knowledge=check_slugs(km, knowledge, "knowledge", "knowledge"), evidence=check_slugs(km, evidence, "evidence",
                                                                                   "evidence"))
    if not is_coordinator(request):  # a person without consent is no filter: it would show their documents
        filters = filters.for_public(km.catalog())
    page = km.broker(audience_of(request)).search(query, filters, limit=limit, offset=offset, order=sort)
    return s.SearchOut(query=query, results=[s.convert(f.to_json(), s.FindingOut) for f in page.results],
                       total=page.total, facets=page.facets)


@get("/api/experts", sync_to_thread=True, responses=errors(429), guards=[limited("public")],
     summary="Vind mensen die het weten")
def experts(request: Request, km: Kennismakelaar, q: Q, atelier: str | None = None, limit: Limit = 10) -> s.ExpertsOut:
    query = check_text(km, q, "q")
    atelier = check_slug(km, atelier, "atelier", "atelier")
    found, hidden = km.broker(audience_of(request)).experts(query, atelier=atelier, limit=limit)
    contact = is_coordinator(request)
    return s.ExpertsOut(query=query, experts=[s.convert(expert_json(e, contact=contact), s.ExpertOut) for e in found],
                        hidden=hidden)


@post("/api/feedback", status_code=200, sync_to_thread=True, responses=errors(404, 413, 429),
      guards=[limited("public")],
      summary="Was een resultaat nuttig?")
def feedback(data: s.FeedbackIn, request: Request, km: Kennismakelaar) -> s.FeedbackOut:
    updated = km.broker().questions.feedback(data.question_id, item_type=data.type, item_id=data.id,
                                             helpful=data.helpful, audience=audience_of(request))
    return s.FeedbackOut(question_id=data.question_id, helpful=updated["helpful"], unhelpful=updated["unhelpful"])


@post("/api/panels", status_code=200, sync_to_thread=True, guards=[coordinator_guard],
      responses=errors(*COORDINATOR, 413),
      summary="Stel een panel samen voor een bijeenkomst (coördinator)")
def panels(data: s.PanelIn, km: Kennismakelaar) -> s.PanelOut:
    topic = check_text(km, data.topic, "topic")
    ateliers = tuple(a for a in (check_slug(km, x, "atelier", "cover_ateliers") for x in data.cover_ateliers) if a)
    constraints = PanelConstraints(min_roles=dict(data.min_roles), max_per_organization=data.max_per_organization,
                                   cover_ateliers=ateliers, exclude=tuple(data.exclude))
    panel = km.broker(COORDINATORS).panel(topic, data.k, constraints)
    return s.PanelOut(topic=topic, unmet=panel.unmet, candidates=panel.candidates, members=[
        s.PanelMemberOut(expert=s.convert(m.expert.to_json(contact=True), s.ExpertOut), why=m.why)
        for m in panel.members], passed_over=[s.PassedOverOut(**p.to_json()) for p in panel.passed_over])


@get("/api/agenda", sync_to_thread=True, guards=[coordinator_guard], responses=errors(*COORDINATOR),
     summary="De kennisagenda: vragen die de Werkplaats nog niet kan beantwoorden (coördinator)")
def agenda(km: Kennismakelaar) -> s.AgendaOut:
    m = km.settings.matching
    agenda = km.broker().agenda(threshold=m.answer_threshold, similarity=m.agenda_similarity)
    return s.convert(following.with_followers(km, agenda), s.AgendaOut)


@get("/api/taxonomy", sync_to_thread=False, summary="De ateliers en thema's")
def taxonomy(km: Kennismakelaar) -> s.TaxonomyOut:
    return s.convert(km.taxonomy.to_dict(), s.TaxonomyOut)


ROUTES = [ask, search, experts, feedback, panels, agenda, taxonomy]
