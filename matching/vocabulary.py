"""How much a word says in this store: its inverse document frequency, estimated from a sample of passages.

The answered judgement asks whether a question's own words are in its best findings. Counted plainly, the
words every question and every passage has ("hulp", "nodig", "eigen", "willen") cover half of a question
nobody wrote about ("Welke hulp hebben nieuwkomers nodig die een eigen restaurant willen beginnen?": five of
eight stems, the two that matter — nieuwkomer, restaurant — missing). Weighed by how rare a word is in the
store, the missing subject counts for what it is.

The engine keeps its IDF to itself, so the store is sampled: the first ``SAMPLE`` passages in id order (ids
are hashes, so the order is arbitrary), read again only when the store has grown or shrunk by a tenth — a cost
bounded by the sample, whatever the store's size.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Iterable, Mapping

from core.bm25 import DutchBm25
from core.store.catalog import Catalog

SAMPLE = 2000
_STALE = 0.1  # the share the store may grow or shrink before the sample is read again


def idf(df: Mapping[int, int], n: int, terms: Iterable[int]) -> dict[int, float]:
    """BM25's IDF, ln(1 + (n − df + 0.5) / (df + 0.5)), of each term among ``n`` passages.

    >>> w = idf({1: 90, 2: 1}, 100, [1, 2, 3])
    >>> w[1] < w[2] < w[3]
    True
    """
    return {t: math.log1p((n - df.get(t, 0) + 0.5) / (df.get(t, 0) + 0.5)) for t in terms}


class Vocabulary:
    """The store's document frequencies of BM25 terms, from a sample, shared by every request of a worker."""

    def __init__(self, catalog: Catalog, bm25: DutchBm25, sample: int = SAMPLE) -> None:
        self.catalog = catalog
        self.bm25 = bm25
        self.sample = sample
        self._counted = -1  # the store's passage count when the sample was read
        self._df: Counter[int] = Counter()
        self._n = 0
        self._lock = threading.Lock()

    def weights(self, terms: Iterable[int]) -> dict[int, float]:
        """How much each term says (its IDF in the sample)."""
        df, n = self._current()
        return idf(df, n, terms)

    def _current(self) -> tuple[Counter[int], int]:
        total = self.catalog.count_passages()
        with self._lock:
            if self._counted < 0 or abs(total - self._counted) > _STALE * max(self._counted, 1):
                df: Counter[int] = Counter()
                n = 0
                for hit in self.catalog.scan_passages(fields=("text",)):
                    df.update(self.bm25.terms(hit.payload.get("text", "")))
                    n += 1
                    if n >= self.sample:
                        break
                self._df, self._n, self._counted = df, n, total
            return self._df, self._n
