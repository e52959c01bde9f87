"""Search: a question in, one result per document out, with its best passage."""

from __future__ import annotations

from typing import Any

from ingestion.embed import Embedder
from ingestion.sparse import DutchBm25
from ingestion.store.catalog import CHUNKS, EXPERTS, Catalog
from ingestion.store.types import Filter, Hit, Query
from matching.filters import SearchFilters
from matching.results import ExpertMatch, Finding, Reason


class Searcher:
    def __init__(self, catalog: Catalog, embedder: Embedder, bm25: DutchBm25) -> None:
        self.catalog = catalog
        self.embedder = embedder
        self.bm25 = bm25

    def search(self, query: str, filters: SearchFilters | None = None, limit: int = 10) -> list[Finding]:
        vector = self.embedder.embed_query(query)
        flt = filters.to_store_filter() if filters else None
        hits = self.catalog.store.query(CHUNKS, Query(dense=vector, limit=min(400, limit * 10), filter=flt))
        return [_finding(h) for h in _best_per_document(hits)[:limit]]

    def experts(self, query: str, *, atelier: str | None = None, limit: int = 10) -> list[ExpertMatch]:
        vector = self.embedder.embed_query(query)
        public = Filter.where(visibility="public")
        if atelier:
            public = public.and_(Filter.where(ateliers=atelier))
        hits = self.catalog.store.query(EXPERTS, Query(dense=vector, limit=limit, filter=public))
        return [_expert(h) for h in hits]


def _best_per_document(hits: list[Hit]) -> list[Hit]:
    best: dict[str, Hit] = {}
    for hit in hits:
        doc = hit.payload.get("document_id", "")
        if doc not in best or hit.score > best[doc].score:
            best[doc] = hit
    return sorted(best.values(), key=lambda h: -h.score)


def _finding(hit: Hit) -> Finding:
    p: dict[str, Any] = hit.payload
    return Finding(document_id=p["document_id"], title=p.get("title", ""), score=hit.score,
                   snippet=p.get("text", ""), kind=p.get("kind", ""), ateliers=p.get("ateliers", []),
                   themes=p.get("themes", []), source=p.get("source", ""), page=p.get("page"),
                   date=p.get("date"), section=p.get("section", []), url=p.get("url"))


def _expert(hit: Hit) -> ExpertMatch:
    p = hit.payload
    return ExpertMatch(id=p["expert_id"], name=p["name"], score=hit.score, role=p.get("role", ""),
                       organization=p.get("organization", ""), ateliers=p.get("ateliers", []),
                       themes=p.get("themes", []),
                       reasons=[Reason("profile", None, p["name"], p.get("expertise", "")[:300])])
