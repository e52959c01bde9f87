"""Passage retrieval: dense and Dutch BM25, each asked of the engine, fused here with weights.

The fusion is distribution-based (DBSF: each retriever's scores normalised by their spread, then summed),
which keeps how *sure* each retriever is; the engine's own DBSF gives both lists the same say, so the two
lists are fused here (``matching.fusion``) with weights (``FINDINGS``, ``PEOPLE``).

``mode`` selects a single retriever for the baselines of the quality benchmark, or ``plain`` for the engine's
unweighted fusion (the plain-hybrid baseline). Every hit carries the cosine similarity of its passage to the
question (``dense_score``): fused scores say nothing about how *well* a passage matches, the cosine does —
the judgement whether a question is answered, the kinds of knowledge and the bridges need that.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from core.bm25 import DutchBm25
from core.embedder import Embedder
from core.store.catalog import Catalog
from core.store.types import Filter, Hit, Query
from matching.fusion import dbsf

Mode = Literal["hybrid", "dense", "bm25", "plain"]
MODES: tuple[Mode, ...] = ("hybrid", "dense", "bm25", "plain")
# (dense, BM25) weights, chosen on the development part of each set and confirmed on what was held back
# (``python -m benchmarks.quality``; the README's table). Findings answer a question: meaning decides, the
# words help (policyqa-sections nDCG@10: 0.787 with equal say, 0.830 at 4:1). People are found through their
# documents, where sharing the exact terms of a field is evidence of working in it: equal say ranks them best
# (expertise set MRR 0.563 at 1:1, 0.539 at 4:1).
FINDINGS = (4.0, 1.0)
PEOPLE = (1.0, 1.0)
# The title as a signal of its own (findings only), off: a title's cosine, centred on the passages' (a few
# words score lower than a paragraph) and counted by how rare the title is among the candidates, added at a
# quarter of a passage's say, gained on the mean of every set and title regime (``python -m benchmarks.quality``,
# 2026-12-05: 0.803 → 0.807; policyqa-sections +0.8, long questions +1.1) but lost 0.7 points on the Dutch FAQ
# with its chapters as titles — the shape of real documents with informative titles where the words matter —
# and issue 21 keeps a signal only if it loses no more than half a point anywhere. Uncentred, at half a
# passage's say, it had won 5 points where a page's untitled opening was titled by its own first words and lost
# 33 where that opening was called "Inleiding". Titles still go into each passage's embedded context when they
# say something (``core.headings``), and each document's title vector is kept, so the signal can be tried again
# (``retriever.title``) as the benchmark's sets grow.
TITLE = 0.0
LIGHT = ("document_id", "chunk_index", "title", "kind", "ateliers", "themes", "date", "year", "people", "source",
         "page", "section", "url", "knowledge", "evidence", "visibility")


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
class Found:
    """What each retriever found for one question, before fusion: fused more than once (findings and people
    weigh the two differently) for the price of one search."""

    question: Encoded
    by_dense: list[Hit]
    by_words: list[Hit]
    cosines: dict[str, float] = field(default_factory=dict)
    limit: int | None = None  # how many each retriever was asked for (None: unknown)

    @property
    def reach(self) -> float:
        """The cosine no passage outside ``by_dense`` exceeds, as far as the index finds them (it is approximate:
        recall@10 0.999 at a million passages): its last one's when the list is full, minus infinity when it holds
        fewer than were asked for (then it holds every passage the filter lets through), plus infinity when it is
        not known how many were asked for. A search for passages above a floor higher than this, in a part of the
        same selection, finds none that ``by_dense`` lacks — and need not be made.

        >>> from core.store.types import Hit
        >>> hits = [Hit("a", 0.91, {}), Hit("b", 0.84, {})]
        >>> Found(None, hits, [], limit=2).reach, Found(None, hits, [], limit=3).reach, Found(None, hits, []).reach
        (0.84, -inf, inf)
        """
        if self.limit is None:
            return float("inf")
        return self.by_dense[-1].score if self.by_dense and len(self.by_dense) >= self.limit else float("-inf")


@dataclass
class Encoded:
    """A question encoded once, reused by every retrieval of one request."""

    text: str
    dense: np.ndarray
    sparse: Any
    each_word_once: Any = None  # the plain baseline's BM25 question (``DutchBm25.embed_query(repeats=False)``)

    def sparse_for(self, mode: Mode) -> Any:
        """The BM25 question of ``mode``: None where it asks for none, or where nothing is left to match (a
        question of stopwords only)."""
        sparse = self.each_word_once if mode == "plain" and self.each_word_once is not None else self.sparse
        return sparse if mode != "dense" and sparse.indices else None


class Retriever:
    def __init__(self, catalog: Catalog, embedder: Embedder, bm25: DutchBm25, *, prefetch: int = 120,
                 weights: tuple[float, float] = FINDINGS, title: float = TITLE) -> None:
        if prefetch < 1:
            raise ValueError("prefetch must be positive")
        self.catalog = catalog
        self.embedder = embedder
        self.bm25 = bm25
        self.prefetch = prefetch
        self.weights = weights
        self.title = title
        # what the asker may see (``core.visibility``), added to every query: what it leaves out does not exist
        self.scope: Filter | None = None

    def _scoped(self, filter: Filter | None) -> Filter | None:
        if self.scope is None:
            return filter
        return self.scope.and_(filter) if filter is not None else self.scope

    def encode(self, text: str) -> Encoded:
        return Encoded(text, self.embedder.embed_query(text), self.bm25.embed_query(text),
                       self.bm25.embed_query(text, repeats=False))

    def passages(self, question: Encoded, *, limit: int = 60, filter: Filter | None = None,
                 mode: Mode = "hybrid", weights: tuple[float, float] | None = None,
                 title: float | None = None) -> list[Passage]:
        """The best passages, light: everything but their text (``complete`` adds it to the ones shown).

        Hybrid: the best ``prefetch`` passages of each retriever — always that many, whatever ``limit``:
        each list is normalised by its own spread, so a deeper list would reorder the top (and page three
        would not continue page two) — fused with ``weights`` and the ``title`` signal (by default the
        retriever's own: those for findings); at most ``limit`` of them.
        """
        if mode == "hybrid":
            return self.fuse(self.find(question, limit=self.prefetch, filter=filter), weights or self.weights,
                             limit, title=self.title if title is None else title)
        filter = self._scoped(filter)
        dense = question.dense if mode != "bm25" else None
        sparse = question.sparse_for(mode)
        if dense is None and sparse is None:
            return []  # a question of stopwords only has nothing to match in BM25
        if dense is None or sparse is None:
            hits = self.catalog.search_passages(Query(dense=dense, sparse=sparse, limit=limit, filter=filter,
                                                      fields=LIGHT))
            if sparse is None:  # a dense query's scores are the cosines already
                return [Passage(h.id, h.score, h.score, h.payload) for h in hits]
            return self._with_cosines(question, [(h, h.score) for h in hits])
        # plain: the engine's own fusion, both lists with the same say (the baseline of the benchmarks)
        hits = self.catalog.search_passages(Query(dense=dense, sparse=sparse, limit=limit, filter=filter,
                                                  prefetch_limit=self.prefetch, fusion="dbsf", fields=LIGHT))
        return self._with_cosines(question, [(h, h.score) for h in hits])

    def find(self, question: Encoded, *, limit: int, filter: Filter | None = None) -> Found:
        """The best ``limit`` passages of each retriever, unfused (``fuse`` ranks them)."""
        filter = self._scoped(filter)
        by_dense = self.catalog.search_passages(Query(dense=question.dense, limit=limit, filter=filter,
                                                      fields=LIGHT))
        by_words = self.catalog.search_passages(Query(sparse=question.sparse, limit=limit, filter=filter,
                                                      fields=LIGHT)) if question.sparse.indices else []
        return Found(question, by_dense, by_words, {h.id: h.score for h in by_dense}, limit)

    def fuse(self, found: Found, weights: tuple[float, float], limit: int, *, title: float = 0.0
             ) -> list[Passage]:
        """The passages of both retrievers in one ranking (``matching.fusion.dbsf`` with ``weights``); with
        ``title``, each passage's cosine gains that share of its document's title signal (``titled``)."""
        hits = {h.id: h for h in (*found.by_words, *found.by_dense)}
        by_meaning = [(h.id, h.score) for h in found.by_dense]
        if title:
            by_meaning = self.titled(found, title)
        fused = dbsf([by_meaning, [(h.id, h.score) for h in found.by_words]], weights)[:limit]
        return self._with_cosines(found.question, [(hits[i], score) for i, score in fused], found.cosines)

    def titled(self, found: Found, weight: float) -> list[tuple[str, float]]:
        """The dense list's cosines, each plus ``weight`` × its document's title cosine — centred on the
        passages' (shifted by the candidates' median difference) and, for a title ``k`` candidate documents
        share, only 1/k of it (the rest: the passage's own cosine). A document without a title vector gets its
        passage's cosine: the signal neither lifts nor sinks it.

        >>> from core.store.types import Hit
        >>> class Titles:  # two documents under one title, one under its own, one without a title vector
        ...     def title_vectors(self, ids): return {d: np.array([1.0, 0.0]) for d in ids if d != "c"}
        >>> r = Retriever(Titles(), None, None)
        >>> hits = [Hit(d, s, {"document_id": d, "title": "Armoede" if d in "ab" else "Eenzaamheid"})
        ...         for d, s in (("a", 0.9), ("b", 0.85), ("c", 0.8), ("d", 0.8))]
        >>> q = Encoded("x", np.array([0.7, 0.7]), None)
        >>> [(i, round(s, 3)) for i, s in r.titled(Found(q, hits, []), 1.0)]
        [('a', 1.775), ('b', 1.7), ('c', 1.6), ('d', 1.65)]
        """
        docs = {h.id: h.payload["document_id"] for h in found.by_dense}
        cosines = self._title_cosines(found.question, set(docs.values()))
        if not cosines:
            return [(h.id, h.score + weight * h.score) for h in found.by_dense]
        key = {h.payload["document_id"]: " ".join(str(h.payload.get("title", "")).lower().split())
               for h in found.by_dense}
        shared = Counter(key[d] for d in cosines)
        shift = float(np.median([h.score - cosines[docs[h.id]] for h in found.by_dense if docs[h.id] in cosines]))
        out = []
        for h in found.by_dense:
            d = docs[h.id]
            if d in cosines:
                rare = 1.0 / shared[key[d]]
                signal = rare * (cosines[d] + shift) + (1.0 - rare) * h.score
            else:
                signal = h.score
            out.append((h.id, h.score + weight * signal))
        return out

    def _title_cosines(self, question: Encoded, documents: set[str]) -> dict[str, float]:
        """The cosine of each document's title vector to the question (documents without one left out)."""
        vectors = self.catalog.title_vectors(sorted(documents))
        if not vectors:
            return {}
        cosines = np.vstack(list(vectors.values())) @ np.asarray(question.dense, np.float32)
        return dict(zip(vectors, cosines.tolist(), strict=True))

    def _with_cosines(self, question: Encoded, ranked: Sequence[tuple[Hit, float]],
                      known: dict[str, float] | None = None) -> list[Passage]:
        """Passages with their cosine to the question: a passage only BM25 found has it asked of the engine
        (one dense query over exactly those ids — cheaper than shipping vectors back); ``known`` is filled."""
        known = {} if known is None else known
        missing = [h.id for h, _ in ranked if h.id not in known]
        if missing:
            known.update(self.catalog.passage_cosines(question.dense, missing))
        return [Passage(h.id, score, known.get(h.id, 0.0), h.payload) for h, score in ranked]

    def complete(self, passages: Sequence[Passage]) -> None:
        """Fetch the full payload (the text) of the passages that will be shown."""
        missing = [p for p in passages if "text" not in p.payload]
        if missing:
            full = self.catalog.passages([p.id for p in missing])
            for p in missing:
                p.payload = full.get(p.id, p.payload)
