"""Dutch BM25 term vectors from Qdrant's own tokenizer and Snowball stemmer.

Documents get term-frequency weights (k1, b, average length); the store applies the IDF modifier at
query time, so the same vectors serve the embedded engine and a Qdrant server alike.

>>> bm25 = DutchBm25()
>>> q = bm25.embed_query("schulden bij jongeren")
>>> d = bm25.embed_document("Jongeren met schulden vragen laat om hulp.")
>>> len(set(q.indices) & set(d.indices))   # 'schulden' and 'jongeren' (stemmed) meet
2
"""

from __future__ import annotations

import threading
from typing import Any

from core.store.types import SparseVector

IDENTITY = "bm25-dutch-snowball-ascii-folded"


_WORD_CACHE = 100_000


class DutchBm25:
    """Lazily built ``qdrant_edge.Bm25`` with Dutch stopwords, stemming and accent folding."""

    def __init__(self, avg_len: float = 150.0) -> None:
        self.avg_len = avg_len
        self._model: Any = None
        self._lock = threading.Lock()
        self._words: dict[str, frozenset[int]] = {}

    def _get(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    from qdrant_edge import Bm25, Bm25Config
                    self._model = Bm25(Bm25Config(language="dutch", ascii_folding=True, avg_len=self.avg_len))
        return self._model

    def embed_document(self, text: str) -> SparseVector:
        vec = self._get().embed_document(text)
        return SparseVector(tuple(vec.indices), tuple(vec.values))

    def embed_query(self, text: str) -> SparseVector:
        vec = self._get().embed_query(text)
        return SparseVector(tuple(vec.indices), tuple(vec.values))

    def terms(self, text: str) -> set[int]:
        """The hashed stemmed terms of ``text`` (to find which words of a passage match a query)."""
        return set(self._get().embed_query(text).indices)

    def word_terms(self, word: str) -> frozenset[int]:
        """``terms`` of one word, remembered: highlighting asks for the same words on every request."""
        found = self._words.get(word)
        if found is None:
            found = frozenset(self._get().embed_query(word).indices)
            if len(self._words) < _WORD_CACHE:  # a bound, so odd input cannot grow it without limit
                self._words[word] = found
        return found
