"""Maximal marginal relevance over documents, so that no atelier crowds out the others.

Similarity between two documents blends their content (cosine of document vectors, rescaled over the
candidates because e5 cosines live in a narrow band) with their ateliers (Jaccard overlap): two strong
documents from the same atelier compete; a relevant one from another atelier gets its place.

>>> c = [Candidate("a1", 1.0, None, ("a",)), Candidate("a2", 0.95, None, ("a",)), Candidate("b1", 0.9, None, ("b",)),
...      Candidate("b2", 0.5, None, ("b",))]
>>> [x.key for x in mmr(c, 2, lambda_=0.7)]
['a1', 'b1']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from matching.scaling import minmax


@dataclass
class Candidate:
    key: str
    relevance: float
    vector: np.ndarray | None
    ateliers: tuple[str, ...]
    item: Any = None


def mmr(candidates: Sequence[Candidate], k: int, *, lambda_: float = 0.75, atelier_weight: float = 0.5,
        floor: float = 0.5, keep_first: bool = False) -> list[Candidate]:
    """Pick ``k`` candidates balancing relevance and novelty; the most relevant comes first (or, with
    ``keep_first``, the first candidate as given: the ranking's own top result).

    Relevance is rescaled to [0, 1] over the candidates; those below ``floor`` only fill places nothing
    better can take.
    """
    if not 0 <= lambda_ <= 1:
        raise ValueError("lambda_ must be between 0 and 1")
    if not candidates or k <= 0:
        return []
    first = candidates[0] if keep_first else None
    pool = sorted(candidates, key=lambda c: (c is not first, -c.relevance))
    rel = minmax([c.relevance for c in pool])
    sim = _similarity(pool, atelier_weight)
    chosen = [0]
    rest = list(range(1, len(pool)))
    while rest and len(chosen) < k:
        eligible = [i for i in rest if rel[i] >= floor] or rest
        scores = [lambda_ * rel[i] - (1 - lambda_) * sim[i, chosen].max() for i in eligible]
        best = eligible[int(np.argmax(scores))]
        chosen.append(best)
        rest.remove(best)
    return [pool[i] for i in chosen]


def _similarity(pool: Sequence[Candidate], atelier_weight: float) -> np.ndarray:
    n = len(pool)
    content = np.zeros((n, n))
    if all(c.vector is not None for c in pool) and n > 1:
        m = np.vstack([c.vector for c in pool if c.vector is not None])
        content = m @ m.T
        off = content[~np.eye(n, dtype=bool)]  # scaled by the pairs, not by each vector's 1 with itself
        content = minmax(content, flat=0.0, lo=float(off.min()), hi=float(off.max()))
    overlap = _jaccard([c.ateliers for c in pool])
    return (1 - atelier_weight) * content + atelier_weight * overlap


def _jaccard(sets: Sequence[Sequence[str]]) -> np.ndarray:
    """Pairwise Jaccard overlap of the candidates' ateliers, as matrix products (0 where both have none)."""
    labels = sorted({a for s in sets for a in s})
    member = np.array([[a in s for a in labels] for s in sets], dtype=float).reshape(len(sets), len(labels))
    both = member @ member.T
    sizes = member.sum(axis=1)
    union = sizes[:, None] + sizes[None, :] - both
    return np.divide(both, union, out=np.zeros_like(both), where=union > 0)
