"""The knowledge broker: one question in; findings, people and bridges across ateliers out.

    retrieve (dense + BM25, fused here) → group per document, in relevance order → label bridges
                                                 ↘ experts (profile + document votes)

``Broker`` is what the CLI and the service call; every ranking rule lives in the modules it composes.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from core.bm25 import DutchBm25
from core.embedder import Embedder
from core.errors import ValidationError
from core.knowledge import SOURCES
from core.models import MAX_QUESTION_CHARS
from core.names import redact
from core.ordering import date_order
from core.store.catalog import Catalog
from core.store.types import Filter, MatchAny
from core.taxonomy import Taxonomy
from core.visibility import COORDINATORS, Audience
from matching.agenda import build_agenda, knowledge_gaps
from matching.answerability import BEST_PASSAGES, CALIBRATED, Signals, signals
from matching.availability import PassedOver
from matching.bridges import Placement, TaxonomyVectors, bridge
from matching.evidence import EVIDENCE_BOOST, boost
from matching.experts import ExpertFinder, fitting
from matching.filters import SearchFilters
from matching.highlight import matching_words
from matching.panels import Panel, PanelConstraints, compose, recent_invitations
from matching.perspectives import Perspective, perspectives
from matching.questions import QuestionLog, missing
from matching.results import ExpertMatch, Finding
from matching.retrieve import PEOPLE, Encoded, Found, Mode, Passage, Retriever


@dataclass
class SearchPage:
    query: str
    results: list[Finding]
    total: int  # documents among the candidates (for paging)
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    placement: Placement | None = None
    best_score: float = 0.0


@dataclass
class Answer:
    question_id: str | None
    question: str
    atelier: str | None
    atelier_inferred: bool
    findings: list[Finding]
    experts: list[ExpertMatch]
    bridges: list[dict[str, Any]]
    best_score: float
    # kept for the API's shape: nothing counts people without consent (``matching.experts``), so always 0
    hidden_experts: int = 0
    perspectives: list[Perspective] = field(default_factory=list)  # what research, practice, experience say
    answered: bool = True  # whether the Werkplaats knows the answer (``matching.answerability``)
    confidence: float = 1.0
    signals: Signals | None = None


PEOPLE_FOR_PERSPECTIVES = 10  # the people best matched to a question, among whom each kind's are found
DATE_POOL = 30  # the most relevant documents a search "nieuwste eerst" puts in date order
Order = Literal["relevance", "date"]

AGENDA_CLUSTERED = 1000  # the newest open questions the agenda clusters (~20 ms; 2,000 took 74: benchmarks.agenda)
GAPS_CLUSTERED = 500  # per kind of knowledge, the newest questions that missed it


class Broker:
    def __init__(self, catalog: Catalog, embedder: Embedder, taxonomy: Taxonomy, *, bm25: DutchBm25 | None = None,
                 retriever: Retriever | None = None, experts: ExpertFinder | None = None,
                 max_chars: int = MAX_QUESTION_CHARS, audience: Audience = COORDINATORS) -> None:
        self.catalog = catalog
        self.taxonomy = taxonomy
        self.bm25 = bm25 or DutchBm25()
        self.retriever = retriever or Retriever(catalog, embedder, self.bm25)
        self.finder = experts or ExpertFinder(catalog, complete=self.retriever.complete)
        self.places = TaxonomyVectors(taxonomy, embedder)
        self.questions = QuestionLog(catalog)
        self.max_chars = max_chars
        self.people_weights = PEOPLE  # the retrievers' say when documents vote for people (``retrieve.PEOPLE``)
        self.depth = 2 * self.retriever.prefetch  # passages ranked for a question: all that both lists found
        self.voters = self.retriever.prefetch  # fused passages whose documents vote for people
        self.evidence_boost = EVIDENCE_BOOST  # 0: relevance alone (the benchmarks compare both)
        self.judge = CALIBRATED  # whether a question is answered (a benchmark may try another model)
        self.audience = COORDINATORS  # widened here, narrowed by ``scoped`` (one place sets a scope)
        if audience != COORDINATORS:
            self._scope(audience)

    def scoped(self, audience: Audience) -> Broker:
        """This broker for ``audience``: every passage, document, count and person's reason it finds is one that
        audience may see (``core.visibility``). Shares the caches; costs a few copies."""
        if audience == self.audience:
            return self
        other = copy.copy(self)
        other.retriever = copy.copy(self.retriever)
        other.finder = copy.copy(self.finder)
        other.finder.complete = other.retriever.complete
        other._scope(audience)
        return other

    def _scope(self, audience: Audience) -> None:
        self.audience = audience
        self.retriever.scope = audience.filter()
        self.finder.scope, self.finder.scope_key = audience.filter(), audience.key

    # --- search --------------------------------------------------------------------------------------

    def search(self, query: str, filters: SearchFilters | None = None, *, limit: int = 10, offset: int = 0,
               mode: Mode = "hybrid", exclude: Sequence[str] = (), order: Order = "relevance") -> SearchPage:
        """Documents for a question, one per document with its best passage, in relevance order — or, with
        ``order="date"``, the ``DATE_POOL`` most relevant of them newest first (undated last): sorted by date,
        every candidate would put a barely related new verslag above the one that answers."""
        question = self.encode(query)
        filters = filters or SearchFilters()
        placement = self.places.place(question.dense, filters.ateliers[0] if len(filters.ateliers) == 1 else None)
        # every page ranks the same passages, so that each continues the one before (see ``_rank``)
        passages = self.retriever.passages(question, limit=self.depth,
                                           filter=_exclude(filters.to_store_filter(), exclude), mode=mode)
        if mode == "hybrid":  # the boost is sized for fused scores, not for a single retriever's
            passages = self._weighed(passages)
        return self._rank(question, passages, placement, offset + limit, skip=offset, by_date=order == "date")

    def _rank(self, question: Encoded, passages: list[Passage], placement: Placement, n: int, *,
              skip: int = 0, by_date: bool = False) -> SearchPage:
        """The top ``n`` documents in relevance order — each by its best passage — of which the first ``skip``
        (earlier pages) are left out before their texts are fetched.

        No reordering for variety: "op relevantie" means that, and findings from other ateliers have a block of
        their own (``_bridges``). Diversification (MMR) once moved a finding scored 2.97 above one of 4.10.
        """
        best: dict[str, Passage] = {}
        for p in passages:
            best.setdefault(p.document_id, p)
        docs = list(best.values())
        if by_date:
            docs = sorted(docs[:DATE_POOL], key=lambda p: date_order(p.payload.get("date")), reverse=True)
        ranked = docs[skip:n]
        self.retriever.complete(ranked)
        results = [self._finding(p, question, placement) for p in ranked]
        return SearchPage(question.text, results, total=len(docs), facets=_facets(docs), placement=placement,
                          best_score=max((p.dense_score for p in passages), default=0.0))

    def _weighed(self, passages: list[Passage]) -> list[Passage]:
        """Near-ties go to the intervention with the stronger evidence (``matching.evidence``)."""
        return boost(passages, self.taxonomy.evidence_rank, top=self.taxonomy.top_rank, weight=self.evidence_boost)

    def _finding(self, p: Passage, question: Encoded, placement: Placement) -> Finding:
        payload = p.payload
        return Finding(
            document_id=payload["document_id"], title=payload.get("title", ""), score=p.score,
            snippet=payload.get("text", ""), kind=payload.get("kind", ""), ateliers=payload.get("ateliers", []),
            themes=payload.get("themes", []), source=payload.get("source", ""), page=payload.get("page"),
            date=payload.get("date"), section=payload.get("section", []), url=payload.get("url"),
            highlights=matching_words(payload.get("text", ""), frozenset(question.sparse.indices), self.bm25),
            bridge=bridge(payload.get("ateliers", []), payload.get("themes", []), placement, self.taxonomy),
            relevance=round(p.dense_score, 4), knowledge=list(payload.get("knowledge") or []),
            evidence=payload.get("evidence"), visibility=payload.get("visibility") or "openbaar")

    # --- experts -------------------------------------------------------------------------------------

    def experts(self, query: str, *, atelier: str | None = None, limit: int = 10, include_hidden: bool = False,
                mode: Mode = "hybrid", exclude: Sequence[str] = (),
                passed_over: list[PassedOver] | None = None) -> tuple[list[ExpertMatch], int]:
        """The people who know, best first, and a count of people without consent kept for the API's shape: 0,
        whatever the query (a count that depends on it tells whether a named person is registered here)."""
        question = self.encode(query)
        passages = self.retriever.passages(question, limit=self.voters, filter=_exclude(None, exclude), mode=mode,
                                           weights=self.people_weights, title=0.0)
        found = self.finder.rank(question, passages, limit=limit, atelier=atelier, include_hidden=include_hidden,
                                 mode=mode, passed_over=passed_over)
        placement = self.places.place(question.dense, atelier)
        for e in found:
            e.bridge = bridge(e.ateliers, e.themes, placement, self.taxonomy)
        return found, 0

    # --- ask -----------------------------------------------------------------------------------------

    def ask(self, text: str, *, atelier: str | None = None, role: str | None = None, record: bool = True,
            findings: int = 6, people: int = 5, answered: bool | None = None) -> Answer:
        """Findings, people and bridges for one question, and whether the Werkplaats knows the answer
        (``matching.answerability``); the question is recorded for the agenda.

        A question the store cannot answer gets its closest findings, but no people to contact (the coordinator
        is the one to ask), no bridges and no kinds of knowledge filled with findings about something else.
        ``answered`` overrides the judgement (an answer shown again keeps the one it was recorded with)."""
        question = self.encode(text)
        placement = self.places.place(question.dense, atelier)
        both = self.retriever.find(question, limit=self.retriever.prefetch)
        passages = self._weighed(self.retriever.fuse(both, self.retriever.weights, self.depth,
                                                     title=self.retriever.title))
        page = self._rank(question, passages, placement, findings)
        judged = self._signals(question, both, page)
        confidence = self.judge.confidence(judged)
        answered = self.judge.answered(judged) if answered is None else answered
        found: list[ExpertMatch] = []
        bridges: list[dict[str, Any]] = []
        views: list[Perspective] = []
        if answered:
            voters = self.retriever.fuse(both, self.people_weights, self.voters)
            ranked = self.finder.rank(question, voters, limit=max(people, PEOPLE_FOR_PERSPECTIVES))
            for e in ranked:
                e.bridge = bridge(e.ateliers, e.themes, placement, self.taxonomy)
            found = fitting(ranked, people)
            bridges = self._bridges(question, placement, page, found, passages, reach=both.reach)
            views = self._perspectives(question, placement, passages, page, ranked, reach=both.reach)
        question_id = None
        if record:
            question_id = self._record(text, question.dense, atelier=placement.atelier,
                                       atelier_inferred=placement.inferred, best_score=page.best_score, role=role,
                                       answered=answered, confidence=confidence, audience=self.audience.key,
                                       missing=[v.knowledge for v in views if not v.found])
        return Answer(question_id, text, placement.atelier, placement.inferred, page.results, found, bridges,
                      page.best_score, 0, views, answered=answered, confidence=confidence, signals=judged)

    def _signals(self, question: Encoded, found: Found, page: SearchPage) -> Signals:
        """What the judgement weighs: the dense list's cosines, the question's words and its best findings'."""
        best = page.results[:BEST_PASSAGES]
        agree = bool(found.by_dense and found.by_words) and \
            found.by_dense[0].payload["document_id"] == found.by_words[0].payload["document_id"]
        return signals([h.score for h in found.by_dense], set(question.sparse.indices),
                       [self.bm25.terms(f"{f.title}\n{f.snippet}") for f in best], agree=agree)

    def _perspectives(self, question: Encoded, placement: Placement, passages: list[Passage], page: SearchPage,
                      people: list[ExpertMatch], *, reach: float = float("inf")) -> list[Perspective]:
        """Per kind of knowledge, the best findings and people (``matching.perspectives``)."""
        def more(knowledge: str) -> list[Passage]:
            # dense only, as for bridges: a finding must clear a cosine floor anyway
            return self.retriever.passages(question, limit=20, filter=Filter.where(knowledge=knowledge),
                                           mode="dense")

        def describe(chosen: list[Passage]) -> list[Finding]:
            self.retriever.complete(chosen)
            return [self._finding(p, question, placement) for p in chosen]

        shown = {f.document_id for f in page.results}
        return perspectives(passages, people, best=page.best_score, more=more, describe=describe,
                            shown=[p for p in passages if p.document_id in shown], reach=reach)

    def _record(self, text: str, vector: np.ndarray, **fields: Any) -> str:
        """Keep a question for the agenda without the names of people removed on request — also of a removal
        that ran while it was answered: its scrub of the question log may have come before this write, so the
        markers are read again after it, and the question rewritten if they changed (as ingestion does) — its
        first text out of the store's files as well (``QuestionLog.rewrite``)."""
        before = self.catalog.forgotten()
        kept, vector = self._without_removed_people(text, vector, before)
        question_id = self.questions.record(kept, vector, **fields)
        after = self.catalog.forgotten()
        if after - before:
            again, again_vector = self._without_removed_people(kept, vector, after)
            if again != kept:
                self.questions.rewrite(question_id, again, again_vector)
        return question_id

    def _without_removed_people(self, text: str, vector: np.ndarray,
                                forgotten: frozenset[str]) -> tuple[str, np.ndarray]:
        """A question that names a person removed on request is kept without the name (and re-embedded)."""
        if not forgotten:
            return text, vector
        kept, n = redact(text, self.catalog.marked(forgotten))
        return (kept, self.retriever.embedder.embed_query(kept)) if n else (text, vector)

    def _bridges(self, question: Encoded, placement: Placement, page: SearchPage, people: list[ExpertMatch],
                 passages: list[Passage], *, reach: float = float("inf")) -> list[dict[str, Any]]:
        """The best of the *other* ateliers: from the passages already found, or — when the own atelier
        filled them — searched for on their own, so the own atelier cannot hide them (unless the floor lies
        above ``reach``: then the passages found hold every one above it, ``retrieve.Found.reach``)."""
        if not placement.atelier:
            return []
        # as relevant as the main findings, give or take: near the best, or as near as the weakest one shown
        # (one finding far above the rest — a handreiking on exactly the question — must not hide every bridge)
        shown_relevance = [f.relevance for f in page.results if f.relevance is not None]
        floor = min(page.best_score - 0.04, min(shown_relevance, default=1.0) - 0.01)
        shown = {f.document_id for f in page.results}

        def pick(candidates: list[Passage]) -> list[Passage]:
            out: list[Passage] = []
            for p in candidates:
                if placement.atelier in p.payload.get("ateliers", []) or p.document_id in shown \
                        or p.dense_score < floor or p.document_id in {q.document_id for q in out}:
                    continue
                out.append(p)
            return out[:3]

        chosen = pick(passages)
        if not chosen and floor <= reach:  # the own atelier filled the whole list: look elsewhere on purpose
            elsewhere = Filter(must_not=(MatchAny("ateliers", (placement.atelier,)),))
            # dense only: a bridge must clear a cosine floor anyway, and the engine's scores are those cosines
            chosen = pick(self.retriever.passages(question, limit=20, filter=elsewhere, mode="dense"))
        out: list[dict[str, Any]] = []
        self.retriever.complete(chosen)
        for p in chosen:
            finding = self._finding(p, question, placement)
            out.append({"type": "finding", **(finding.bridge or {}), "finding": finding.to_json()})
        for e in people:
            if e.bridge:
                out.append({"type": "expert", **e.bridge, "expert": e.to_json()})
        return out

    # --- panels and agenda ----------------------------------------------------------------------------

    def panel(self, topic: str, k: int, constraints: PanelConstraints | None = None) -> Panel:
        """The best panel of ``k`` people for a meeting on ``topic`` (only people who consented and who are
        available), spreading invitations over people: who sat on many recent panels gives way to others."""
        if not 1 <= k <= 20:
            raise ValidationError("Een panel heeft 1 tot 20 leden.", field="k")
        constraints = constraints or PanelConstraints()
        for slug in constraints.cover_ateliers:
            if slug not in {a.slug for a in self.taxonomy.ateliers}:
                raise ValidationError(f"Onbekend atelier {slug!r}.", field="cover_ateliers")
        passed: list[PassedOver] = []
        candidates, _ = self.experts(topic, limit=max(30, 4 * k), passed_over=passed)
        panel = compose(candidates, k, constraints, self.taxonomy,
                        invitations=recent_invitations(self.catalog.meetings()))
        panel.passed_over = [*passed, *panel.passed_over]  # away or full, then those who gave way to others
        return panel

    def agenda(self, *, threshold: float, similarity: float = 0.9) -> dict[str, Any]:
        """The knowledge agenda: clusters of open questions, and open questions per month and atelier."""
        log = self.questions
        open_ = log.open_recent(threshold, limit=AGENDA_CLUSTERED)
        clusters = build_agenda(open_, threshold=threshold, similarity=similarity)
        gaps: dict[str, dict[str, Any]] = {}
        for source in SOURCES:
            gaps.update((q["question_id"], q) for q in log.recent(limit=GAPS_CLUSTERED, filter=missing(source.slug)))
        found = knowledge_gaps(list(gaps.values()), similarity=similarity)
        for gap in found:  # how many missed it, all of them (the topics are found among the newest)
            gap["questions"] = log.count(missing(gap["knowledge"]))
        return {"questions": log.count(), "open": log.open_count(threshold), "clustered": len(open_),
                "clusters": [c.to_json() for c in clusters], "timeline": log.open_per_month(threshold),
                "knowledge_gaps": found}

    # --- shared --------------------------------------------------------------------------------------

    def encode(self, text: str) -> Encoded:
        return self.retriever.encode(clean_text(text, self.max_chars))

    def fit(self, text: str) -> str:
        """A text cut to what the model reads (and to the character limit), at a word: for batch use, where a
        long question is answered on its first part rather than refused. An empty text stays empty (refused
        later, by ``clean_text``)."""
        words = " ".join(text.split()).split(" ")
        embedder = self.retriever.embedder
        reach = embedder.max_tokens - 8  # the model's "query: " prefix and its special tokens

        def fits(n: int) -> bool:
            part = " ".join(words[:n])
            return len(part) <= self.max_chars and embedder.token_count(part) <= reach

        if fits(len(words)):
            return " ".join(words)
        lo, hi = 0, len(words)  # the longest prefix that fits: lo fits, hi does not
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if fits(mid) else (lo, mid)
        return " ".join(words[:lo])


def clean_text(text: str | None, limit: int, field: str = "question") -> str:
    """A question or search text without surplus space, within ``limit`` characters — the one rule for every
    way in (API, pages, CLI).

    >>> clean_text("  waar   begin ik? ", 100)
    'waar begin ik?'
    """
    text = " ".join((text or "").split())
    if not text:
        raise ValidationError("Typ eerst een vraag of een paar zoekwoorden.", field=field)
    if len(text) > limit:
        raise ValidationError(f"De tekst is te lang ({len(text)} tekens; hooguit {limit}).", field=field,
                              hint="Maak de vraag korter, of stel twee vragen.")
    return text


def _exclude(flt: Filter | None, documents: Sequence[str]) -> Filter | None:
    if not documents:
        return flt
    out = Filter(must_not=(MatchAny("document_id", tuple(documents)),))
    return out.and_(flt) if flt else out


def _facets(passages: Sequence[Passage]) -> dict[str, dict[str, int]]:
    """Counts per atelier, theme, kind, year, knowledge source and evidence level among the documents found
    (for the search page)."""
    facets: dict[str, dict[str, int]] = {"ateliers": {}, "themes": {}, "kind": {}, "year": {}, "knowledge": {},
                                         "evidence": {}}
    for p in passages:
        values = {"ateliers": p.payload.get("ateliers", []), "themes": p.payload.get("themes", []),
                  "kind": [p.payload.get("kind")], "year": [p.payload.get("year")],
                  "knowledge": p.payload.get("knowledge") or [], "evidence": [p.payload.get("evidence")]}
        for facet, items in values.items():
            for item in items:
                if item is not None:
                    facets[facet][str(item)] = facets[facet].get(str(item), 0) + 1
    return facets
