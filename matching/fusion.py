"""Weighted distribution-based score fusion (DBSF) of ranked lists.

Qdrant's DBSF — each list's scores normalised by its own mean ± 3 standard deviations, then summed — keeps
how *sure* each retriever is, which rank fusion throws away; but the engine gives every list the same say.
Ours are not equal: on Dutch questions the e5 passages are right far more often than BM25 (policyqa-sections:
dense nDCG@10 0.837, BM25 0.616), and an equal vote drags the ranking down to 0.772. Weighting the lists
keeps BM25 for what only it finds (a name, a code, a rare word) without letting it overrule the meaning.

>>> fused = dbsf([[("a", 0.9), ("b", 0.8), ("c", 0.5)], [("c", 12.0), ("a", 3.0), ("d", 2.0)]], (1.0, 1.0))
>>> [k for k, _ in fused]
['a', 'c', 'b', 'd']
>>> [k for k, _ in dbsf([[("a", 0.9), ("b", 0.8), ("c", 0.5)], [("c", 12.0), ("a", 3.0)]], (4.0, 1.0))]
['a', 'b', 'c']
"""

from __future__ import annotations

import statistics
from collections.abc import Hashable, Sequence
from typing import TypeVar

K = TypeVar("K", bound=Hashable)


def normalise(scores: Sequence[float]) -> list[float]:
    """Scores mapped so that mean − 3σ → 0 and mean + 3σ → 1 (Qdrant's DBSF: sample σ, no clipping); 0.5 each
    when they do not differ.

    >>> [round(x, 3) for x in normalise([1.0, 2.0, 3.0])]
    [0.333, 0.5, 0.667]
    """
    if len(scores) < 2:
        return [0.5] * len(scores)
    mean, sd = statistics.fmean(scores), statistics.stdev(scores)
    if sd == 0:
        return [0.5] * len(scores)
    return [(s - mean + 3 * sd) / (6 * sd) for s in scores]


def dbsf(lists: Sequence[Sequence[tuple[K, float]]], weights: Sequence[float]) -> list[tuple[K, float]]:
    """The union of ``lists`` (each ``(key, score)`` best first), each list normalised and weighted, summed per
    key; best first (ties keep the order in which keys were first met)."""
    if len(lists) != len(weights):
        raise ValueError("one weight per list")
    total: dict[K, float] = {}
    for items, weight in zip(lists, weights, strict=True):
        for (key, _), norm in zip(items, normalise([s for _, s in items]), strict=True):
            total[key] = total.get(key, 0.0) + weight * norm
    return sorted(total.items(), key=lambda kv: -kv[1])
