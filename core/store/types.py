"""Backend-neutral store types: what ``matching`` and ``ingestion`` say to any store."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

DENSE = "dense"
SPARSE = "bm25"
IndexKind = Literal["keyword", "datetime", "integer", "float"]
Vector = Sequence[float] | NDArray[np.floating[Any]]  # a dense vector, as a list or as numpy gives it
Scalar = str | int  # no bool: flags are stored as keywords (the Edge bindings cannot match bools)


@dataclass(frozen=True)
class SparseVector:
    indices: tuple[int, ...]
    values: tuple[float, ...]


@dataclass
class Point:
    id: str
    payload: dict[str, Any]
    dense: dict[str, Vector] = field(default_factory=dict)
    sparse: dict[str, SparseVector] = field(default_factory=dict)


@dataclass(frozen=True)
class MatchAny:
    """The field (or any element of a list field) equals one of ``values``."""

    key: str
    values: tuple[Scalar, ...]


@dataclass(frozen=True)
class Range:
    """``gte <= field <= lte`` (and ``field < lt``, for numbers); ISO date strings for datetime fields, numbers
    otherwise."""

    key: str
    gte: str | float | None = None
    lte: str | float | None = None
    lt: float | None = None


@dataclass(frozen=True)
class HasId:
    ids: tuple[str, ...]


Condition = MatchAny | Range | HasId


@dataclass(frozen=True)
class Filter:
    must: tuple[Condition, ...] = ()
    must_not: tuple[Condition, ...] = ()

    @staticmethod
    def where(**fields: Scalar | Sequence[Scalar]) -> Filter:
        """``Filter.where(document_id="x", ateliers=["a", "b"])``: every field matches one of its values."""
        conds = []
        for key, value in fields.items():
            values = tuple(value) if isinstance(value, (list, tuple, set, frozenset)) else (value,)
            conds.append(MatchAny(key, values))
        return Filter(must=tuple(conds))

    def and_(self, other: Filter | None) -> Filter:
        if other is None:
            return self
        return Filter(self.must + other.must, self.must_not + other.must_not)

    def __bool__(self) -> bool:
        return bool(self.must or self.must_not)


@dataclass(frozen=True)
class Query:
    """A nearest-neighbour query: dense, sparse, or both fused inside the engine (prefetch + RRF)."""

    dense: Vector | None = None
    sparse: SparseVector | None = None
    limit: int = 10
    filter: Filter | None = None
    prefetch_limit: int = 100
    fusion: Literal["rrf", "dbsf"] = "rrf"  # reciprocal rank, or distribution-based score fusion
    rrf_k: int = 60
    weights: tuple[float, float] | None = None  # (dense, sparse) weights for rank fusion
    with_vectors: bool = False
    fields: tuple[str, ...] | None = None  # payload fields to return; None = all
    exact: bool = False  # every vector compared, no index, no quantisation: the reference for recall


@dataclass(frozen=True)
class Tuning:
    """How the dense vectors are held and searched: what matters past a few hundred thousand passages
    (README, "Schaal"). Applied when a collection is created; ``quantization`` and the search parameters also
    to a store made before (its next optimisation builds the quantised copy).

    - ``quantization="int8"``: a quarter-size copy of every vector searched first (kept in RAM), the best
      ``oversampling`` × limit candidates rescored with the originals — recall stays at exact search's level;
    - ``vectors_on_disk``: the originals memory-mapped from disk, read only for rescoring;
    - ``hnsw_ef``: candidates the graph search keeps (None: the engine's default).
    """

    quantization: Literal["none", "int8"] = "none"
    vectors_on_disk: bool = False
    oversampling: float = 2.0
    hnsw_ef: int | None = None


@dataclass
class Hit:
    id: str
    score: float
    payload: dict[str, Any]
    dense: list[float] | None = None


@dataclass(frozen=True)
class CollectionSpec:
    name: str
    dense_dim: int | None = None  # one dense vector named DENSE
    sparse: bool = False  # one sparse vector named SPARSE, with the IDF modifier
    indexes: dict[str, IndexKind] = field(default_factory=dict)


def datetime_bounds(r: Range) -> tuple[str | None, str | None]:
    """ISO date bounds as RFC 3339 instants; an upper date bound includes its whole day."""
    def iso(value: str | float | None, end: bool) -> str | None:
        if value is None:
            return None
        text = str(value)
        if len(text) == 4:
            text += "-12-31" if end else "-01-01"
        if len(text) == 10:
            text += "T23:59:59Z" if end else "T00:00:00Z"
        return text
    return iso(r.gte, False), iso(r.lte, True)


@functools.lru_cache(maxsize=200_000)  # the same ids come back on every query; uuid5 is not free
def point_uuid(key: str) -> str:
    """Qdrant point ids are UUIDs; our keys are any string, mapped stably (a UUID stays itself)."""
    try:
        return str(uuid.UUID(key))
    except ValueError:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"kennismakelaar:{key}"))
