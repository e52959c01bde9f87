"""Passage retrieval: dense and Dutch BM25 fused inside the engine (prefetch + fusion).

The default fusion is distribution-based score fusion (DBSF: each retriever's scores normalised by their
spread, then summed), which keeps how *sure* each retriever is; on the Dutch PolicyQA set it beat
reciprocal rank fusion (nDCG@10 0.967 against 0.960, dense alone 0.963 — ``benchmarks/quality.py``).

``mode`` selects a single retriever for the baselines of the quality benchmark. Every hit carries the
cosine similarity of its passage to the question (``dense_score``): rank fusion scores say nothing about
how *well* the store answers, the cosine does — the knowledge agenda and the bridges need that.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from core.bm25 import DutchBm25
from core.embedder import Embedder
from core.store.catalog import Catalog
from core.store.types import Filter, Query

Mode = Literal["hybrid", "dense", "bm25"]
MODES: tuple[Mode, ...] = ("hybrid", "dense", "bm25")
LIGHT = ("document_id", "chunk_index", "title", "kind", "ateliers", "themes", "date", "year", "people", "source",
         "page", "section", "url")


@dataclass
class Passage:
    id: str
    score: float  # the ranking score of the chosen mode
    dense_score: float  # cosine similarity to the question
    payload: dict[str, Any]

    @property
    def document_id(self) -> str:
        return self.payload["document_id"]


@dataclass
class Encoded:
    """A question encoded once, reused by every retrieval of one request."""

    text: str
    dense: np.ndarray
    sparse: Any


class Retriever:
    def __init__(self, catalog: Catalog, embedder: Embedder, bm25: DutchBm25, *, prefetch: int = 120,
                 rrf_k: int = 60, weights: tuple[float, float] = (1.0, 1.0), fusion: str = "dbsf") -> None:
        if prefetch < 1 or rrf_k < 1:
            raise ValueError("prefetch and rrf_k must be positive")
        self.catalog = catalog
        self.embedder = embedder
        self.bm25 = bm25
        self.prefetch = prefetch
        self.rrf_k = rrf_k
        self.weights = weights
        self.fusion = fusion

    def encode(self, text: str) -> Encoded:
        return Encoded(text, self.embedder.embed_query(text), self.bm25.embed_query(text))

    def passages(self, question: Encoded, *, limit: int = 60, filter: Filter | None = None,
                 mode: Mode = "hybrid") -> list[Passage]:
        """The best passages, light: everything but their text (``complete`` adds it to the ones shown).

        The cosine of each passage is asked of the engine too (one dense query over exactly these ids),
        which is cheaper than shipping every passage's vector back to compute it here.
        """
        query = Query(dense=question.dense if mode != "bm25" else None,
                      sparse=question.sparse if mode != "dense" and question.sparse.indices else None,
                      limit=limit, filter=filter, prefetch_limit=max(self.prefetch, limit),
                      rrf_k=self.rrf_k,
                      fusion="dbsf" if self.fusion == "dbsf" else "rrf",
                      weights=self.weights if mode == "hybrid" else None, fields=LIGHT)
        if query.dense is None and query.sparse is None:
            return []  # a question of stopwords only has nothing to match in BM25
        hits = self.catalog.search_passages(query)
        if not hits:
            return []
        if query.sparse is None:  # a dense query's scores are the cosines already
            return [Passage(h.id, h.score, h.score, h.payload) for h in hits]
        cosines = self.catalog.passage_cosines(question.dense, [h.id for h in hits])
        return [Passage(h.id, h.score, cosines.get(h.id, 0.0), h.payload) for h in hits]

    def complete(self, passages: Sequence[Passage]) -> None:
        """Fetch the full payload (the text) of the passages that will be shown."""
        missing = [p for p in passages if "text" not in p.payload]
        if missing:
            full = self.catalog.passages([p.id for p in missing])
            for p in missing:
                p.payload = full.get(p.id, p.payload)
