"""A ranking lab: a benchmark store's passages in numpy, so that many ranking rules are compared in one run.

Each store is read once — the dense vectors the engine holds, BM25 vectors from the same Dutch tokenizer and
stemmer, each document's title vector — and a rule is a function of a question's scores. The ``check`` rows of
``benchmarks.quality`` reproduce the broker's own figures with these numbers.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from core.bm25 import DutchBm25
from core.models import Chunk
from core.store.catalog import CHUNKS
from core.vector_codec import unpack
from matching.fusion import normalise

PREFETCH = 120


class Bm25Matrix:
    """BM25 over the passages as the engine scores it (term weights from ``DutchBm25``, IDF at query time),
    with an optional rewrite of every text first (for compound splitting)."""

    def __init__(self, texts: Sequence[str], rewrite: Callable[[str], str] = lambda t: t) -> None:
        self.bm25, self.rewrite = DutchBm25(), rewrite
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        self.vocab: dict[int, int] = {}
        for i, text in enumerate(texts):
            vec = self.bm25.embed_document(rewrite(text))
            for term, weight in zip(vec.indices, vec.values, strict=True):
                rows.append(i)
                cols.append(self.vocab.setdefault(term, len(self.vocab)))
                vals.append(weight)
        self.matrix = sp.csr_matrix((vals, (rows, cols)), shape=(len(texts), len(self.vocab)))
        df = np.bincount(cols, minlength=len(self.vocab))
        self.idf = np.log((len(texts) - df + 0.5) / (df + 0.5) + 1.0)

    def scores(self, text: str) -> np.ndarray:
        q = np.zeros(len(self.vocab))
        vec = self.bm25.embed_query(self.rewrite(text))
        for term, weight in zip(vec.indices, vec.values, strict=True):
            if term in self.vocab:
                q[self.vocab[term]] += weight * self.idf[self.vocab[term]]
        return np.asarray(self.matrix @ q)


def dbsf(lists: Sequence[np.ndarray], weights: Sequence[float], limit: int = PREFETCH) -> np.ndarray:
    """Each retriever's top ``limit`` normalised by mean ± 3σ (Qdrant's DBSF), weighted and summed."""
    out = np.full(len(lists[0]), -np.inf)
    for scores, weight in zip(lists, weights, strict=True):
        top = np.argsort(-scores)[:limit]
        norm = np.asarray(normalise(scores[top].tolist()))  # the broker's formula, over whole corpora
        out[top] = np.where(np.isinf(out[top]), 0.0, out[top]) + weight * norm
    return out


@dataclass
class Lab:
    """One store's passages: ``doc[i]`` is the document of passage ``i``."""

    ids: list[str]
    doc: np.ndarray
    doc_ids: list[str]
    vectors: np.ndarray
    contexts: list[str]
    titles: list[str]  # per document: the title it carries ("" where it has none of its own)
    title_vectors: np.ndarray  # per document (zeros where none)
    has_title: np.ndarray
    bm25: Bm25Matrix
    embed_query: Callable[[str], np.ndarray]
    _q: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def of(cls, km: Any) -> Lab:
        hits = list(km.catalog().store.scroll(CHUNKS, with_vectors=True))
        chunks = [Chunk.from_payload(h.payload) for h in hits]
        doc_ids = sorted({h.payload["document_id"] for h in hits})
        index = {d: i for i, d in enumerate(doc_ids)}
        records = km.catalog().document_records(doc_ids)
        dim = len(hits[0].dense)
        tv = np.zeros((len(doc_ids), dim), np.float32)
        titles = [""] * len(doc_ids)
        for d, h in records.items():
            packed = h.payload.get("title_vector")
            if packed:
                tv[index[d]] = unpack(packed)
                titles[index[d]] = h.payload.get("title", "")
        contexts = [c.context_text() for c in chunks]
        return cls([h.id for h in hits], np.array([index[h.payload["document_id"]] for h in hits]), doc_ids,
                   np.vstack([np.asarray(h.dense, np.float32) for h in hits]), contexts, titles, tv,
                   np.array([bool(t) for t in titles]), Bm25Matrix(contexts), km.embedder.embed_query)

    def question(self, text: str) -> np.ndarray:
        if text not in self._q:
            self._q[text] = self.embed_query(text)
        return self._q[text]

    def scores(self, text: str) -> Scores:
        q = self.question(text)
        return Scores(self, self.vectors @ q, self.bm25.scores(text), self.title_vectors @ q)

    def title_rarity(self) -> np.ndarray:
        """Per document: 1 / the number of documents that carry the same title (0 where it has none)."""
        key = [" ".join(t.lower().split()) for t in self.titles]
        count = Counter(key)
        return np.array([1.0 / count[k] if k else 0.0 for k in key])


@dataclass
class Scores:
    lab: Lab
    dense: np.ndarray  # per passage: cosine
    words: np.ndarray  # per passage: BM25
    title: np.ndarray  # per document: the title's cosine (0 where none)
    local: bool = False  # rarity of a title among the candidates rather than the whole collection

    def titled_dense(self, weight: float, how: str = "neutral") -> np.ndarray:
        """The passage cosines with the title signal (``how``: where a document has no title, its own cosine —
        the broker's rule; or ``rare``, a shared title weighed down by how many documents carry it)."""
        if not weight:
            return self.dense
        lab = self.lab
        t = self.title[lab.doc]
        own = lab.has_title[lab.doc]
        if how == "neutral":
            return self.dense + weight * np.where(own, t, self.dense)
        if how == "rare":
            r = lab.title_rarity()[lab.doc]
            return self.dense + weight * np.where(own, r * t + (1 - r) * self.dense, self.dense)
        if how in ("centred", "rare centred"):
            # title cosines run lower than passage cosines (a few words against a paragraph): shifted by the
            # candidates' median difference, a title neither lifts nor sinks a document on average
            top = np.argsort(-self.dense)[:120]
            titled = top[own[top]]
            shift = float(np.median(self.dense[titled] - t[titled])) if len(titled) else 0.0
            r = lab.title_rarity()[lab.doc] if how == "rare centred" else 1.0
            if how == "rare centred" and self.local:
                # rarity among the candidates: 1 / how many of the dense list's documents carry the title
                docs = sorted({int(lab.doc[i]) for i in top})
                keys = Counter(_key(lab.titles[d]) for d in docs if lab.titles[d])
                per_doc = np.array([1.0 / keys[_key(t)] if t and keys.get(_key(t)) else 1.0 for t in lab.titles])
                r = per_doc[lab.doc]
            return self.dense + weight * np.where(own, r * (t + shift) + (1 - r) * self.dense, self.dense)
        if how == "max":
            return self.dense + weight * np.where(own, np.maximum(t, self.dense), self.dense)
        raise ValueError(how)

    def fused(self, weights: tuple[float, float], title: float = 0.0, how: str = "neutral") -> np.ndarray:
        return dbsf([self.titled_dense(title, how), self.words], weights)


def _key(title: str) -> str:
    return " ".join(title.lower().split())


def ranking(lab: Lab, scores: np.ndarray, k: int = 10) -> list[str]:
    """The first ``k`` documents by their best passage."""
    seen: dict[int, None] = {}
    for i in np.argsort(-scores):
        if np.isinf(scores[i]):
            break
        seen.setdefault(int(lab.doc[i]))
        if len(seen) == k:
            break
    return [lab.doc_ids[d] for d in seen]


def metrics(rankings: Sequence[Sequence[str]], relevant: Sequence[set[str]]) -> dict[str, float]:
    ndcg = mrr = 0.0
    for ranked, rel in zip(rankings, relevant, strict=True):
        top = list(ranked[:10])
        ideal = sum(1 / math.log2(i + 2) for i in range(min(len(rel), 10)))
        ndcg += sum(1 / math.log2(i + 2) for i, d in enumerate(top) if d in rel) / ideal if ideal else 0.0
        first = next((i + 1 for i, d in enumerate(top) if d in rel), None)
        mrr += 1 / first if first else 0.0
    n = max(1, len(relevant))
    return {"ndcg@10": round(ndcg / n, 4), "mrr@10": round(mrr / n, 4)}


def evaluate(lab: Lab, queries: Sequence[tuple[str, set[str]]],
             rule: Callable[[Scores], np.ndarray]) -> dict[str, float]:
    return metrics([ranking(lab, rule(lab.scores(q))) for q, _ in queries], [rel for _, rel in queries])
