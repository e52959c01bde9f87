"""Passage retrieval: dense and Dutch BM25 fused inside the engine (prefetch + fusion).

The default fusion is distribution-based score fusion (DBSF: each retriever's scores normalised by their
spread, then summed), which keeps how *sure* each retriever is; on the Dutch PolicyQA set it beat
reciprocal rank fusion (nDCG@10 0.967 against 0.960, dense alone 0.963 — ``benchmarks/quality.py``).

``mode`` selects a single retriever for the baselines of the quality benchmark. Every hit carries the
cosine similarity of its passage to the question (``dense_score``): rank fusion scores say nothing about
how *well* the store answers, the cosine does — the knowledge agenda and the bridges need that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ingestion.embed import Embedder
from ingestion.sparse import DutchBm25
from ingestion.store.catalog import CHUNKS, Catalog
from ingestion.store.types import Filter, Query

Mode = Literal["hybrid", "dense", "bm25"]
MODES: tuple[Mode, ...] = ("hybrid", "dense", "bm25")


@dataclass
class Passage:
    id: str
    score: float  # the ranking score of the chosen mode
    dense_score: float  # cosine similarity to the question
    payload: dict[str, Any]
    vector: np.ndarray | None = None

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
        query = Query(dense=question.dense if mode != "bm25" else None,
                      sparse=question.sparse if mode != "dense" and question.sparse.indices else None,
                      limit=limit, filter=filter, prefetch_limit=max(self.prefetch, limit), rrf_k=self.rrf_k,
                      fusion="dbsf" if self.fusion == "dbsf" else "rrf",
                      weights=self.weights if mode == "hybrid" else None, with_vectors=True)
        if query.dense is None and query.sparse is None:
            return []  # a question of stopwords only has nothing to match in BM25
        hits = self.catalog.store.query(CHUNKS, query)
        out = []
        for hit in hits:
            vector = np.asarray(hit.dense, dtype=np.float32) if hit.dense is not None else None
            cosine = float(vector @ question.dense) if vector is not None else 0.0
            out.append(Passage(hit.id, hit.score, cosine, hit.payload, vector))
        return out
