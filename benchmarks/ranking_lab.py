"""Ranking methods tried for issue 11 and *not* kept, measured beside the kept ones in the same run.

Each is computed in numpy over a benchmark store's own passages — the vectors the engine holds, BM25 vectors
from the same Dutch tokenizer and stemmer, Qdrant's DBSF — so a row here differs from a row of the broker only
by the method. ``check`` rows (dense alone, BM25 alone, and the kept 4:1 fusion) reproduce the broker's
figures within a few thousandths; the small rest is one passage per document against the engine's ties.

    python -m benchmarks.quality --set sections    # prints these rows under the broker's
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from core.bm25 import DutchBm25
from core.models import Chunk
from core.store.catalog import CHUNKS
from matching.fusion import normalise
from matching.retrieve import FINDINGS, TITLE

PREFETCH = 120


@dataclass
class Corpus:
    ids: list[str]
    documents: list[str]  # the document of each passage
    contexts: list[str]  # what was embedded: title › section › text
    titles: list[str]  # the passage's own title when it has one (not one made from its text)
    people: list[tuple[str, ...]]
    vectors: np.ndarray


def corpus(km: Any) -> Corpus:
    hits = list(km.catalog().store.scroll(CHUNKS, with_vectors=True))
    chunks = [Chunk.from_payload(h.payload) for h in hits]
    return Corpus([h.id for h in hits], [h.payload["document_id"] for h in hits], [c.context_text() for c in chunks],
                  [c.title for c in chunks], [tuple(h.payload.get("people", [])) for h in hits],
                  np.vstack([np.asarray(h.dense, np.float32) for h in hits]))


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


def ranking(scores: np.ndarray, documents: Sequence[str], k: int = 10) -> list[str]:
    """The first ``k`` documents by their best passage."""
    seen: dict[str, None] = {}
    for i in np.argsort(-scores):
        if np.isinf(scores[i]):
            break
        seen.setdefault(documents[i])
        if len(seen) == k:
            break
    return list(seen)


# --- compound splitting (Koehn & Knight 2003, frequencies from the corpus itself) ---------------------------

_WORD = re.compile(r"[^\W\d_]+")
_LINKS = ("", "s", "en", "e")  # the Dutch linking sounds: huur|toeslag, belasting|s|dienst, boek|en|kast


class Splitter:
    """Splits a compound into known words when their geometric mean frequency beats the whole word's.

    >>> s = Splitter(Counter({"huur": 5, "toeslag": 9, "partner": 4, "zorg": 7}))
    >>> s.parts("huurtoeslagpartner"), s.parts("zorgtoeslag"), s.parts("toeslag")
    (['huur', 'toeslag', 'partner'], ['zorg', 'toeslag'], ['toeslag'])
    """

    def __init__(self, freq: Counter[str], min_part: int = 3, min_word: int = 7) -> None:
        self.freq, self.min_part, self.min_word = freq, min_part, min_word
        self._memo: dict[str, list[str]] = {}

    def parts(self, word: str) -> list[str]:
        if word in self._memo:
            return self._memo[word]
        best: tuple[float, list[str]] = (float(self.freq.get(word, 0)), [word])
        for i in range(self.min_part, len(word) - self.min_part + 1) if len(word) >= self.min_word else ():
            head = word[:i]
            for link in _LINKS:
                rest = word[i + len(link):]
                if not self.freq.get(head) or not word[i:].startswith(link) or len(rest) < self.min_part:
                    continue
                tail = self.parts(rest) if len(rest) >= self.min_word else [rest]
                counts = [self.freq.get(head, 0), *(self.freq.get(t, 0) for t in tail)]
                if min(counts) > 0:
                    score = math.exp(sum(math.log(c) for c in counts) / len(counts))
                    if score > best[0]:
                        best = (score, [head, *tail])
        self._memo[word] = best[1]
        return best[1]

    def expand(self, text: str) -> str:
        """The text with each split compound followed by its parts."""
        out = []
        for word in _WORD.findall(text.lower()):
            parts = self.parts(word)
            out.extend([word, *parts] if len(parts) > 1 else [word])
        return " ".join(out)


# --- the rows ---------------------------------------------------------------------------------------------


def _doc_metrics(rankings: Sequence[Sequence[str]], relevant: Sequence[set[str]]) -> dict[str, float]:
    from benchmarks.quality import _doc_metrics as metrics
    return metrics(rankings, relevant)


def sections_rows(km: Any, queries: Sequence[tuple[str, set[str]]]) -> dict[str, dict[str, float]]:
    """Dropped methods for documents, each added to the kept fusion, with the check rows."""
    c = corpus(km)
    q = np.vstack([km.embedder.embed_query(text) for text, _ in queries])
    dense = q @ c.vectors.T
    bm25 = Bm25Matrix(c.contexts)
    words = np.vstack([bm25.scores(text) for text, _ in queries])
    relevant = [rel for _, rel in queries]

    def row(scores: Callable[[int], np.ndarray]) -> dict[str, float]:
        return _doc_metrics([ranking(scores(i), c.documents) for i in range(len(queries))], relevant)

    # the title's own cosine (of its own passage's, for a document without a title), as the retriever does
    titled = np.array([bool(t) for t in c.titles])
    by_title = np.where(titled, q @ km.embedder.embed_documents([t or "-" for t in c.titles]).T, dense)

    def ours(i: int, meaning: np.ndarray | None = None, title: float = TITLE, lexical: np.ndarray | None = None
             ) -> np.ndarray:
        return dbsf([(dense if meaning is None else meaning)[i] + title * by_title[i],
                     (words if lexical is None else lexical)[i]], FINDINGS)

    rows = {"check: dense only": row(lambda i: dense[i]), "check: BM25 only": row(lambda i: words[i]),
            "check: ours' fusion (4:1, title 0.5)": row(ours)}
    # dense pseudo-relevance feedback (Rocchio): the question moved towards its first three passages
    prf = []
    for i in range(len(queries)):
        moved = q[i] + 0.3 * c.vectors[np.argsort(-dense[i])[:3]].mean(0)
        prf.append(c.vectors @ (moved / np.linalg.norm(moved)))
    rows["+ dense PRF (Rocchio, 3 passages)"] = row(lambda i: ours(i, meaning=np.asarray(prf)))
    # compound splitting on the lexical side, with the corpus's own word frequencies
    splitter = Splitter(Counter(w for t in c.contexts for w in _WORD.findall(t.lower())))
    split = Bm25Matrix(c.contexts, splitter.expand)
    split_words = np.vstack([split.scores(text) for text, _ in queries])
    rows["+ compound splitting (BM25)"] = row(lambda i: ours(i, lexical=split_words))
    # a heavier title: more on this set, but a report's title is seldom as telling as a web page's heading
    rows["title at 1.0 instead of 0.5"] = row(lambda i: ours(i, title=1.0))
    # BM25 only to reorder what dense found (no passage of BM25's own)
    def rescored(i: int) -> np.ndarray:
        out, top = np.full(len(c.ids), -np.inf), np.argsort(-dense[i])[:30]
        out[top] = dense[i][top] + 0.05 * words[i][top] / max(words[i][top].max(), 1e-9)
        return out
    rows["BM25 as a re-scorer of dense only"] = row(rescored)
    return rows


def experts_rows(km: Any, queries: Sequence[tuple[str, str, set[str]]],
                 expert_keys: dict[str, str]) -> dict[str, dict[str, float]]:
    """Dropped ways of turning document scores into people (the kept way: steep rank votes, damped)."""
    c = corpus(km)
    doc_ids = sorted(set(c.documents))
    index = {d: i for i, d in enumerate(doc_ids)}
    people: dict[int, set[str]] = defaultdict(set)
    for d, keys in zip(c.documents, c.people, strict=True):
        people[index[d]] |= {expert_keys[k] for k in keys if k in expert_keys}
    count = Counter(e for ps in people.values() for e in ps)
    q = np.vstack([km.embedder.embed_query(text) for _, text, _ in queries])
    bm25 = Bm25Matrix(c.contexts)

    def per_document(scores: np.ndarray, excluded: str) -> np.ndarray:
        out = np.full(len(doc_ids), -np.inf)
        np.maximum.at(out, [index[d] for d in c.documents], scores)
        if excluded in index:
            out[index[excluded]] = -np.inf
        return out

    fused = [per_document(dbsf([q[i] @ c.vectors.T, bm25.scores(text)], (1.0, 1.0)), paper)
             for i, (paper, text, _) in enumerate(queries)]

    def votes(d: np.ndarray, k: float = 1.0, damping: float = 0.5) -> dict[str, float]:
        out: dict[str, float] = defaultdict(float)
        for rank, j in enumerate(np.argsort(-d)[:40], start=1):
            for e in people[j]:
                out[e] += 1 / (k + rank) / count[e] ** damping
        return out

    def pooled(d: np.ndarray, k: int, damping: float = 0.0) -> dict[str, float]:
        best: dict[str, list[float]] = defaultdict(list)
        for j in np.argsort(-d)[:PREFETCH]:
            for e in people[j]:
                best[e].append(float(d[j]))
        return {e: sum(v[:k]) / k / count[e] ** damping for e, v in best.items()}

    def row(score: Callable[[int], dict[str, float]]) -> dict[str, float]:
        ranks = []
        for i, (_, _, relevant) in enumerate(queries):
            s = score(i)
            ordered = sorted(s, key=lambda e: -s[e])
            ranks.append(next((n + 1 for n, e in enumerate(ordered) if e in relevant), None))
        return {"mrr": round(sum(1 / r for r in ranks if r) / len(ranks), 4),
                "p@1": round(sum(r == 1 for r in ranks) / len(ranks), 4)}

    return {"check: ours' votes": row(lambda i: votes(fused[i])),
            "votes with k = 5 (before)": row(lambda i: votes(fused[i], k=5)),
            "top-k pooling: max": row(lambda i: pooled(fused[i], 1)),
            "top-k pooling: top-3 mean": row(lambda i: pooled(fused[i], 3)),
            "top-k pooling: top-2, damped 0.1": row(lambda i: pooled(fused[i], 2, 0.1))}
