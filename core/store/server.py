"""The scale-out store: ``qdrant-client`` against a Qdrant server or cluster (``KM_QDRANT_URL``).

Collections are named ``PREFIX_NAME`` so several instances can share a server. Tests pass a
``QdrantClient(":memory:")`` in place of a server.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from core.errors import StoreUnavailableError
from core.store.revisions import versioned, was_written
from core.store.types import (
    DENSE,
    SPARSE,
    CollectionSpec,
    Filter,
    HasId,
    Hit,
    MatchAny,
    Point,
    Query,
    Range,
    Tuning,
    datetime_bounds,
    point_uuid,
)

_BATCH = 256


class ServerStore:
    """``Store`` on a Qdrant server. Safe for several worker processes."""

    def __init__(self, client: Any = None, *, url: str | None = None, api_key: str | None = None,
                 prefix: str = "km", tuning: Tuning | None = None, shards: int | None = None,
                 replication: int | None = None) -> None:
        from qdrant_client import QdrantClient, models

        self._m = models
        self.tuning = tuning or Tuning()
        self.shards, self.replication = shards, replication  # a cluster's: set when a collection is created
        self._dense: set[str] = set()  # the collections with vectors that the tuning is about
        self.url = url or "(client)"
        self.prefix = prefix
        self.client = client if client is not None else QdrantClient(url=url, api_key=api_key, timeout=30)
        try:
            self.client.get_collections()
        except Exception as exc:  # connection refused, DNS, auth: all mean the same to the user
            raise StoreUnavailableError(f"Qdrant-server op {url} is niet bereikbaar ({type(exc).__name__}).",
                                        hint="Controleer KM_QDRANT_URL en of de server draait.") from exc

    @property
    def exclusive(self) -> bool:
        return False  # several workers and ingest runs may share the server

    @property
    def description(self) -> str:
        return f"qdrant-server at {self.url}"

    def _c(self, name: str) -> str:
        return f"{self.prefix}_{name}"

    # --- collections ---------------------------------------------------------------------------------

    def exists(self, name: str) -> bool:
        return bool(self.client.collection_exists(self._c(name)))

    def ensure(self, spec: CollectionSpec) -> None:
        m = self._m
        name = self._c(spec.name)
        if spec.dense_dim:
            self._dense.add(spec.name)
        if not self.client.collection_exists(name):
            self.client.create_collection(
                name,
                vectors_config={DENSE: m.VectorParams(size=spec.dense_dim, distance=m.Distance.COSINE,
                                                      on_disk=self.tuning.vectors_on_disk or None)}
                if spec.dense_dim else {},
                quantization_config=m.ScalarQuantization(scalar=m.ScalarQuantizationConfig(
                    type=m.ScalarType.INT8, quantile=0.99, always_ram=True))
                if spec.dense_dim and self.tuning.quantization == "int8" else None,
                # every copy written before a write returns: a worker reads its own write back from any replica
                # (the conditional writes and claims depend on it)
                shard_number=self.shards, replication_factor=self.replication,
                write_consistency_factor=self.replication,
                sparse_vectors_config={SPARSE: m.SparseVectorParams(modifier=m.Modifier.IDF)}
                if spec.sparse else None)
        kinds = {"keyword": m.PayloadSchemaType.KEYWORD, "datetime": m.PayloadSchemaType.DATETIME,
                 "integer": m.PayloadSchemaType.INTEGER, "float": m.PayloadSchemaType.FLOAT}
        present = set((self.client.get_collection(name).payload_schema or {}).keys())
        for field, kind in spec.indexes.items():
            if field not in present:
                self.client.create_payload_index(name, field, kinds[kind], wait=True)

    def drop(self, name: str) -> None:
        if self.exists(name):
            self.client.delete_collection(self._c(name))

    # --- writes --------------------------------------------------------------------------------------

    def _struct(self, p: Point) -> Any:
        m = self._m
        vector: dict[str, Any] = {k: [float(x) for x in v] for k, v in p.dense.items()}
        # an empty BM25 vector (stopwords only) is left out: the engine does not count it in the IDF's N,
        # the local mode of qdrant-client would — written alike, both backends score alike
        for k, sv in p.sparse.items():
            if sv.indices:
                vector[k] = m.SparseVector(indices=list(sv.indices), values=list(sv.values))
        return m.PointStruct(id=point_uuid(p.id), vector=vector, payload=p.payload)

    def upsert(self, name: str, points: Sequence[Point]) -> None:
        for i in range(0, len(points), _BATCH):
            self.client.upsert(self._c(name), [self._struct(p) for p in points[i:i + _BATCH]], wait=True)

    def replace_if(self, name: str, point: Point, condition: Filter) -> None:
        # strong ordering: in a cluster the check and the write go through the shard's one leader
        self.client.upsert(self._c(name), [self._struct(point)], wait=True, update_filter=self._filter(condition),
                           update_mode=self._m.UpdateMode.UPDATE_ONLY, ordering=self._m.WriteOrdering.STRONG)

    def insert_if_absent(self, name: str, point: Point) -> bool:
        # strong ordering, as ``replace_if``: two workers' inserts meet at the shard's one leader
        token = versioned(point)
        self.client.upsert(self._c(name), [self._struct(point)], wait=True,
                           update_mode=self._m.UpdateMode.INSERT_ONLY, ordering=self._m.WriteOrdering.STRONG)
        return was_written(token, self.retrieve(name, [point.id]))

    def delete(self, name: str, *, ids: Sequence[str] = (), filter: Filter | None = None) -> None:
        m = self._m
        if ids:
            self.client.delete(self._c(name), m.PointIdsList(points=[point_uuid(i) for i in ids]), wait=True)
        if filter:
            self.client.delete(self._c(name), m.FilterSelector(filter=self._filter(filter)), wait=True)

    def set_payload(self, name: str, payload: dict[str, Any], *, ids: Sequence[str]) -> None:
        if ids:
            self.client.set_payload(self._c(name), payload, points=[point_uuid(i) for i in ids], wait=True)

    def erase_history(self, names: Sequence[str] | None = None) -> None:
        """A server's write-ahead log, its soft-deleted points, snapshots and replicas are the operator's: the
        README says what is and is not guaranteed there and what to run. Nothing can be done from a client
        without taking the collections offline."""

    def mark_erasure_due(self, names: Sequence[str] | None = None) -> None:
        """Nothing to note: see ``erase_history``."""

    def flush(self) -> None:
        """Writes are acknowledged with ``wait=True``; nothing is buffered here."""

    def retune(self) -> list[str]:
        """Ask the server to hold the vectors as the tuning says (it rebuilds in the background, serving on)."""
        m = self._m
        quantization = m.ScalarQuantization(scalar=m.ScalarQuantizationConfig(
            type=m.ScalarType.INT8, quantile=0.99, always_ram=True)) if self.tuning.quantization == "int8" \
            else m.Disabled.DISABLED
        changed = []
        for name in sorted(self._dense):
            config = self.client.get_collection(self._c(name)).config
            vectors = config.params.vectors
            held = (config.quantization_config is not None,
                    bool(getattr(vectors.get(DENSE) if isinstance(vectors, dict) else vectors, "on_disk", False)))
            if held == (self.tuning.quantization == "int8", self.tuning.vectors_on_disk):
                continue
            on_disk = m.VectorParamsDiff(on_disk=self.tuning.vectors_on_disk)
            self.client.update_collection(self._c(name), quantization_config=quantization,
                                          vectors_config={DENSE: on_disk})
            changed.append(name)
        return changed

    def _params(self, exact: bool) -> Any:
        """The search parameters of a dense query under the tuning (None: the server's defaults)."""
        m, t = self._m, self.tuning
        if exact:
            return m.SearchParams(exact=True, quantization=m.QuantizationSearchParams(ignore=True))
        if t.quantization == "none" and t.hnsw_ef is None:
            return None
        rescoring = m.QuantizationSearchParams(rescore=True, oversampling=t.oversampling) \
            if t.quantization != "none" else None
        return m.SearchParams(hnsw_ef=t.hnsw_ef, quantization=rescoring)

    def optimize(self) -> None:
        """The server optimizes in the background."""

    def close(self) -> None:
        self.client.close()

    # --- reads ---------------------------------------------------------------------------------------

    def query(self, name: str, query: Query) -> list[Hit]:
        m = self._m
        flt = self._filter(query.filter) if query.filter else None
        payload: Any = list(query.fields) if query.fields is not None else True
        common = dict(limit=query.limit, query_filter=flt, with_payload=payload,
                      with_vectors=[DENSE] if query.with_vectors else False)
        params = self._params(query.exact)
        if query.dense is not None and query.sparse is not None:
            response = self.client.query_points(
                self._c(name),
                prefetch=[m.Prefetch(query=[float(x) for x in query.dense], using=DENSE,
                                     limit=query.prefetch_limit, filter=flt, params=params),
                          m.Prefetch(query=self._sparse(query.sparse), using=SPARSE,
                                     limit=query.prefetch_limit, filter=flt)],
                query=m.FusionQuery(fusion=m.Fusion.DBSF) if query.fusion == "dbsf" else
                m.RrfQuery(rrf=m.Rrf(k=query.rrf_k, weights=list(query.weights) if query.weights else None)),
                **common)
        elif query.dense is not None:
            response = self.client.query_points(self._c(name), query=[float(x) for x in query.dense],
                                                using=DENSE, search_params=params, **common)
        elif query.sparse is not None:
            response = self.client.query_points(self._c(name), query=self._sparse(query.sparse),
                                                using=SPARSE, **common)
        else:
            raise ValueError("a query needs a dense or a sparse vector")
        return [self._hit(p) for p in response.points]

    def retrieve(self, name: str, ids: Sequence[str], *, with_vectors: bool = False) -> list[Hit]:
        if not ids:
            return []
        records = self.client.retrieve(self._c(name), [point_uuid(i) for i in ids], with_payload=True,
                                       with_vectors=[DENSE] if with_vectors else False)
        return [self._hit(r) for r in records]

    def scroll(self, name: str, *, filter: Filter | None = None, fields: Sequence[str] | None = None,
               with_vectors: bool = False) -> Iterator[Hit]:
        offset = None
        while True:
            records, offset = self.client.scroll(
                self._c(name), scroll_filter=self._filter(filter) if filter else None, limit=512,
                offset=offset, with_payload=list(fields) if fields is not None else True,
                with_vectors=[DENSE] if with_vectors else False)
            yield from (self._hit(r) for r in records)
            if offset is None:
                return

    def ordered(self, name: str, key: str, *, limit: int, filter: Filter | None = None,
                fields: Sequence[str] | None = None, descending: bool = True,
                with_vectors: bool = False) -> list[Hit]:
        m = self._m
        records, _ = self.client.scroll(
            self._c(name), scroll_filter=self._filter(filter) if filter else None, limit=limit,
            with_payload=list(fields) if fields is not None else True, with_vectors=[DENSE] if with_vectors else False,
            order_by=m.OrderBy(key=key, direction=m.Direction.DESC if descending else m.Direction.ASC))
        return [self._hit(r) for r in records]

    def count(self, name: str, *, filter: Filter | None = None) -> int:
        return self.client.count(self._c(name), count_filter=self._filter(filter) if filter else None,
                                 exact=True).count

    def facet(self, name: str, key: str, *, filter: Filter | None = None,
              limit: int = 100) -> list[tuple[Any, int]]:
        response = self.client.facet(self._c(name), key, facet_filter=self._filter(filter) if filter else None,
                                     limit=limit, exact=True)
        return [(h.value, h.count) for h in response.hits]

    # --- conversions ---------------------------------------------------------------------------------

    def _sparse(self, sv: Any) -> Any:
        return self._m.SparseVector(indices=list(sv.indices), values=list(sv.values))

    def _filter(self, flt: Filter) -> Any:
        return self._m.Filter(must=[self._condition(c) for c in flt.must] or None,
                              must_not=[self._condition(c) for c in flt.must_not] or None)

    def _condition(self, cond: Any) -> Any:
        m = self._m
        if isinstance(cond, MatchAny):
            values = list(cond.values)
            if len(values) == 1:
                return m.FieldCondition(key=cond.key, match=m.MatchValue(value=values[0]))
            return m.FieldCondition(key=cond.key, match=m.MatchAny(any=values))
        if isinstance(cond, Range):
            if isinstance(cond.gte, str) or isinstance(cond.lte, str):
                gte, lte = datetime_bounds(cond)
                return m.FieldCondition(key=cond.key, range=m.DatetimeRange(gte=gte, lte=lte))
            return m.FieldCondition(key=cond.key, range=m.Range(gte=cond.gte, lte=cond.lte, lt=cond.lt))
        if isinstance(cond, HasId):
            return m.HasIdCondition(has_id=[point_uuid(i) for i in cond.ids])
        raise TypeError(f"unknown condition {cond!r}")

    @staticmethod
    def _hit(p: Any) -> Hit:
        vector = p.vector.get(DENSE) if isinstance(p.vector, dict) else None
        return Hit(str(uuid.UUID(str(p.id))), float(getattr(p, "score", 0.0) or 0.0), dict(p.payload or {}),
                   list(vector) if vector is not None else None)
