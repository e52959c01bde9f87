"""The embedded store: Qdrant Edge shards (the real Qdrant engine, in-process) in the data folder.

One shard per collection under ``DATA_DIR/qdrant/NAME``. A lock file makes the folder one process's:
a second process gets a clear "in use" error instead of a corrupted write-ahead log.

The engine deletes softly: a deleted point, and the old version of a rewritten payload, stay in the shard's
write-ahead log and payload pages until the engine reuses that space. ``erase_history`` rewrites collections
into fresh files (live points only) and deletes the old ones, so after a removal on request no file in the
data folder holds what was removed. A crash half-way is finished at the next start (``.erase-pending``).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from core.errors import StoreError, StoreInUseError
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

log = logging.getLogger("kennismakelaar.store")
_PLACEHOLDER = "_"  # an Edge shard needs at least one vector; collections without any get this one
_SCROLL_PAGE = 512
_PENDING = ".erase-pending"  # collections whose rewrite a crash interrupted: rewritten again when opened


class DataDirLock:
    """An exclusive, non-blocking ``flock`` on ``DATA_DIR/.lock``; released when the process ends."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / ".lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "onbekend"
            os.close(fd)
            raise StoreInUseError(
                f"De opslag in {self.path.parent} is in gebruik door een ander proces (PID {holder}).",
                hint="Stop dat proces (bijvoorbeeld 'kennismakelaar serve') of gebruik voor meerdere "
                     "processen een Qdrant-server (KM_QDRANT_URL).") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class EdgeStore:
    """``Store`` on Qdrant Edge. Not shared between processes (see ``DataDirLock``)."""

    def __init__(self, data_dir: Path, tuning: Tuning | None = None) -> None:
        import qdrant_edge  # fail here, not half-way, when the engine is missing

        self._q = qdrant_edge
        self.tuning = tuning or Tuning()
        self.data_dir = Path(data_dir)
        self.root = self.data_dir / "qdrant"
        self._lock = DataDirLock(self.data_dir)
        self._lock.acquire()
        self._shards: dict[str, Any] = {}
        self._specs: dict[str, CollectionSpec] = {}
        # one write lock per collection, so a rewrite of the passages (minutes at scale) does not hold up the
        # ledger's writes (a rate-limit hit per public request); ``_open`` guards the set of collections
        self._open = threading.RLock()
        self._locks: dict[str, threading.RLock] = {}
        self._pending_lock = threading.Lock()  # the pending list is shared by every collection's rewrite
        # how often each collection was noted as due: a rewrite takes a collection off the list only if nobody
        # noted it again after the rewrite began (their writes, waiting for its lock, land after its copy)
        self._marks: dict[str, int] = {}
        # readers in flight, so a shard is closed only when no query uses it (``erase_history`` swaps shards)
        self._readers = 0
        self._swap = threading.Condition()
        self._swapping = 0  # swaps waiting or under way (two collections can be rewritten at once)

    @property
    def description(self) -> str:
        return f"embedded (Qdrant Edge) in {self.data_dir.resolve()}"

    @property
    def exclusive(self) -> bool:
        return True  # the data folder's lock keeps every other process out

    # --- collections ---------------------------------------------------------------------------------

    def exists(self, name: str) -> bool:
        path = self.root / name
        return name in self._shards or (path.is_dir() and any(path.iterdir()))

    def _writing(self, name: str) -> threading.RLock:
        """The write lock of one collection."""
        with self._open:
            return self._locks.setdefault(name, threading.RLock())

    def ensure(self, spec: CollectionSpec) -> None:
        q = self._q
        with self._open, self._writing(spec.name):
            if spec.name not in self._shards:
                path = self.root / spec.name
                self._recover(spec.name)
                if self.exists(spec.name):
                    self._shards[spec.name] = q.EdgeShard.load(str(path))
                    if self._held(spec.name) != self._wanted(spec):
                        log.warning("De vectoren van %s staan nog zoals de vorige instellingen zeiden; "
                                    "'kennismakelaar tune' zet ze om.", spec.name)
                else:
                    self._shards[spec.name] = self._create(path, spec)
            self._specs[spec.name] = spec
            self._index(self._shards[spec.name], spec)
        if spec.name in self._pending():
            with self._writing(spec.name):
                self._rewrite(spec.name)

    def _create(self, path: Path, spec: CollectionSpec) -> Any:
        q = self._q
        disk = q.Memory.Cold if self.tuning.vectors_on_disk and spec.dense_dim else None
        vectors = {DENSE: q.EdgeVectorParams(size=spec.dense_dim, distance=q.Distance.Cosine, memory=disk)} \
            if spec.dense_dim else {_PLACEHOLDER: q.EdgeVectorParams(size=1, distance=q.Distance.Dot)}
        sparse = {SPARSE: q.EdgeSparseVectorParams(modifier=q.Modifier.Idf)} if spec.sparse else None
        return q.EdgeShard.create(str(path), q.EdgeConfig(vectors=vectors, sparse_vectors=sparse,
                                                          quantization_config=self._quantization(spec)))

    def _quantization(self, spec: CollectionSpec) -> Any:
        q = self._q
        if self.tuning.quantization != "int8" or not spec.dense_dim:
            return None
        return q.ScalarQuantizationConfig(q.ScalarType.Int8, quantile=0.99, memory=q.Memory.Pinned)

    def _wanted(self, spec: CollectionSpec) -> tuple[bool, bool]:
        """(quantised, originals on disk) as the tuning asks for a collection."""
        return (bool(spec.dense_dim) and self.tuning.quantization == "int8",
                bool(spec.dense_dim) and self.tuning.vectors_on_disk)

    def _held(self, name: str) -> tuple[bool, bool]:
        """(quantised, originals on disk) as the collection's files hold its vectors (the shard's own config)."""
        path = self.root / name / "edge_config.json"
        config = json.loads(path.read_text()) if path.exists() else {}
        dense = (config.get("vectors") or {}).get(DENSE) or {}
        return (bool((config.get("quantization_config") or {}).get("scalar")),
                dense.get("memory") == "cold" or bool(dense.get("on_disk")))

    def retune(self) -> list[str]:
        """Rewrite the collections whose vectors are held otherwise than the tuning says (made under other
        settings) into fresh files that follow it; the names of those rewritten. Writes to each wait meanwhile,
        reads go on (``erase_history``'s rewrite: minutes at a million passages)."""
        with self._open:
            due = [n for n, spec in self._specs.items() if self._held(n) != self._wanted(spec)]
        if due:
            self.erase_history(due)
        return due

    def _params(self, exact: bool) -> Any:
        """The search parameters of a dense query under the tuning (None: the engine's defaults)."""
        q, t = self._q, self.tuning
        if exact:
            return q.SearchParams(exact=True, quantization=q.QuantizationSearchParams(ignore=True))
        if t.quantization == "none" and t.hnsw_ef is None:
            return None
        rescoring = q.QuantizationSearchParams(rescore=True, oversampling=t.oversampling) \
            if t.quantization != "none" else None
        return q.SearchParams(hnsw_ef=t.hnsw_ef, quantization=rescoring)

    def _index(self, shard: Any, spec: CollectionSpec) -> None:
        q = self._q
        present = set(shard.info().payload_schema)
        kinds = {"keyword": q.PayloadSchemaType.Keyword, "datetime": q.PayloadSchemaType.Datetime,
                 "integer": q.PayloadSchemaType.Integer, "float": q.PayloadSchemaType.Float}
        for field, kind in spec.indexes.items():
            if field not in present:
                shard.update(q.UpdateOperation.create_field_index(field, kinds[kind]))

    def drop(self, name: str) -> None:
        with self._open, self._writing(name):
            shard = self._shards.pop(name, None)
            if shard is not None:
                shard.close()
            self._specs.pop(name, None)
            shutil.rmtree(self.root / name, ignore_errors=True)

    def _shard(self, name: str) -> Any:
        shard = self._shards.get(name)
        if shard is None:
            raise StoreError(f"Collectie {name!r} is niet geopend.", hint="Roep eerst ensure() aan.")
        return shard

    @contextmanager
    def _reading(self, name: str) -> Iterator[Any]:
        """The shard of ``name`` for one read; ``erase_history`` waits for the reads in flight before it closes
        a shard it replaced."""
        with self._swap:
            while self._swapping:
                self._swap.wait()
            self._readers += 1
        try:
            yield self._shard(name)
        finally:
            with self._swap:
                self._readers -= 1
                self._swap.notify_all()

    # --- erasure: rewrite collections into fresh files -------------------------------------------------

    def erase_history(self, names: Sequence[str] | None = None) -> None:
        """Rewrite collections (default: all open ones) from their live points into fresh files and delete the
        old files: what was deleted or overwritten is then in no file of the data folder. Writes wait meanwhile;
        reads go on against the old files until each swap; writes to one collection wait only while that one
        is rewritten."""
        with self._open:
            chosen = list(names if names is not None else self._shards)
        self._mark_pending(chosen)
        for name in chosen:
            with self._writing(name):
                self._rewrite(name)

    def _rewrite(self, name: str) -> None:
        q = self._q
        spec, old = self._specs[name], self._shard(name)
        with self._pending_lock:
            seen = self._marks.get(name, 0)
        fresh_path = self.root / f"{name}.rewrite"
        shutil.rmtree(fresh_path, ignore_errors=True)
        fresh = self._create(fresh_path, spec)
        self._index(fresh, spec)
        offset = None
        while True:
            records, offset = old.scroll(q.ScrollRequest(offset=offset, limit=_SCROLL_PAGE, with_payload=True,
                                                         with_vector=True))
            if records:
                fresh.update(q.UpdateOperation.upsert_points(
                    [q.Point(r.id, r.vector, r.payload or {}) for r in records]))
            if offset is None:
                break
        if old.info().indexed_vectors_count:  # it had its search index built: the copy gets one before it serves
            fresh.optimize()
        fresh.flush()
        fresh.close()
        with self._swap:
            self._swapping += 1
            while self._readers:
                self._swap.wait()
            try:
                old.close()
                path, retired = self.root / name, self.root / f"{name}.old"
                os.replace(path, retired)
                os.replace(fresh_path, path)
                _sync_folder(self.root)
                self._shards[name] = q.EdgeShard.load(str(path))
            finally:
                self._swapping -= 1
                self._swap.notify_all()
        shutil.rmtree(self.root / f"{name}.old")
        self._pending_done(name, seen)

    def _pending(self) -> set[str]:
        path = self.root / _PENDING
        return set(path.read_text().split()) if path.exists() else set()

    def mark_erasure_due(self, names: Sequence[str] | None = None) -> None:
        """Note, durably, that these collections (default: all open ones) must be rewritten: a crash before
        ``erase_history`` has run is then finished at the next start."""
        with self._open:
            chosen = list(names if names is not None else self._shards)
        self._mark_pending(chosen)

    def _mark_pending(self, names: Sequence[str]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with self._pending_lock:
            for name in names:
                self._marks[name] = self._marks.get(name, 0) + 1
            self._write_pending(self._pending() | set(names))

    def _write_pending(self, names: set[str]) -> None:
        """Whole or not at all (a torn list would forget a collection still to be rewritten)."""
        path = self.root / _PENDING
        tmp = path.with_suffix(".tmp")
        tmp.write_text("\n".join(sorted(names)))
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _sync_folder(self.root)  # the rename itself must survive a power cut, or the note is lost with it

    def _pending_done(self, name: str, seen: int) -> None:
        with self._pending_lock:
            if self._marks.get(name, 0) != seen:
                return  # noted again since this rewrite began: what was written after its copy is still to go
            left = self._pending() - {name}
            if left:
                self._write_pending(left)
            else:
                (self.root / _PENDING).unlink(missing_ok=True)

    def _recover(self, name: str) -> None:
        """Undo a rewrite a crash interrupted: the copy goes, the old shard (``NAME.old`` if the crash came between
        the two renames) is put back whole, and the collection is rewritten again because it is still pending."""
        path, fresh, retired = self.root / name, self.root / f"{name}.rewrite", self.root / f"{name}.old"
        if not path.exists() and retired.exists():
            os.replace(retired, path)
        shutil.rmtree(fresh, ignore_errors=True)
        shutil.rmtree(retired, ignore_errors=True)

    # --- writes --------------------------------------------------------------------------------------

    def _point(self, p: Point) -> Any:
        vector: dict[str, Any] = {k: [float(x) for x in v] for k, v in p.dense.items()}
        # an empty BM25 vector (stopwords only) is left out: the engine does not count it in the IDF's N,
        # the local mode of qdrant-client would — written alike, both backends score alike
        for k, sv in p.sparse.items():
            if sv.indices:
                vector[k] = self._q.SparseVector(list(sv.indices), list(sv.values))
        return self._q.Point(point_uuid(p.id), vector, p.payload)

    def upsert(self, name: str, points: Sequence[Point]) -> None:
        if not points:
            return
        converted = [self._point(p) for p in points]
        with self._writing(name):
            self._shard(name).update(self._q.UpdateOperation.upsert_points(converted))

    def replace_if(self, name: str, point: Point, condition: Filter) -> None:
        q = self._q
        with self._writing(name):
            self._shard(name).update(q.UpdateOperation.upsert_points(
                [self._point(point)], self._filter(condition), q.UpdateMode.UpdateOnly))

    def delete(self, name: str, *, ids: Sequence[str] = (), filter: Filter | None = None) -> None:
        q = self._q
        with self._writing(name):
            if ids:
                self._shard(name).update(q.UpdateOperation.delete_points([point_uuid(i) for i in ids]))
            if filter:
                self._shard(name).update(q.UpdateOperation.delete_points_by_filter(self._filter(filter)))

    def set_payload(self, name: str, payload: dict[str, Any], *, ids: Sequence[str]) -> None:
        if ids:
            with self._writing(name):
                self._shard(name).update(self._q.UpdateOperation.set_payload([point_uuid(i) for i in ids], payload))

    def flush(self) -> None:
        for name in self._names():
            with self._writing(name):
                self._shard(name).flush()

    def optimize(self) -> None:
        """Build the HNSW and payload indexes now (after a large ingest) rather than on first queries."""
        for name in self._names():
            with self._writing(name):
                self._shard(name).optimize()

    def close(self) -> None:
        with self._open:
            for name in sorted(self._shards):
                with self._writing(name):
                    shard = self._shards.pop(name)
                    shard.flush()
                    shard.close()
            self._lock.release()

    def _names(self) -> list[str]:
        with self._open:
            return sorted(self._shards)

    def insert_if_absent(self, name: str, point: Point) -> bool:
        q = self._q
        token = versioned(point)
        with self._writing(name):
            self._shard(name).update(q.UpdateOperation.upsert_points([self._point(point)], None,
                                                                     q.UpdateMode.InsertOnly))
        return was_written(token, self.retrieve(name, [point.id]))

    # --- reads ---------------------------------------------------------------------------------------

    def query(self, name: str, query: Query) -> list[Hit]:
        request = self._request(query)
        with self._reading(name) as shard:
            return [self._hit(p) for p in shard.query(request)]

    def _request(self, query: Query) -> Any:
        q = self._q
        flt = self._filter(query.filter) if query.filter else None
        payload = q.PayloadSelector.Include(list(query.fields)) if query.fields is not None else True
        with_vector = [DENSE] if query.with_vectors else False
        params = self._params(query.exact)
        if query.dense is not None and query.sparse is not None:
            fusion = q.Fusion.Dbsf() if query.fusion == "dbsf" else \
                q.Fusion.Rrf(k=query.rrf_k, weights=list(query.weights) if query.weights else None)
            request = q.QueryRequest(
                limit=query.limit, query=fusion, filter=flt, with_payload=payload, with_vector=with_vector,
                prefetches=[q.Prefetch(limit=query.prefetch_limit, filter=flt, params=params,
                                       query=q.Query.Nearest([float(x) for x in query.dense], using=DENSE)),
                            q.Prefetch(limit=query.prefetch_limit, filter=flt,
                                       query=q.Query.Nearest(self._sparse(query.sparse), using=SPARSE))])
        elif query.dense is not None:
            request = q.QueryRequest(limit=query.limit, filter=flt, with_payload=payload, with_vector=with_vector,
                                     query=q.Query.Nearest([float(x) for x in query.dense], using=DENSE),
                                     params=params)
        elif query.sparse is not None:
            request = q.QueryRequest(limit=query.limit, filter=flt, with_payload=payload, with_vector=with_vector,
                                     query=q.Query.Nearest(self._sparse(query.sparse), using=SPARSE))
        else:
            raise ValueError("a query needs a dense or a sparse vector")
        return request

    def retrieve(self, name: str, ids: Sequence[str], *, with_vectors: bool = False) -> list[Hit]:
        if not ids:
            return []
        with self._reading(name) as shard:
            records = shard.retrieve([point_uuid(i) for i in ids], True, [DENSE] if with_vectors else False)
        return [self._hit(r) for r in records]

    def scroll(self, name: str, *, filter: Filter | None = None, fields: Sequence[str] | None = None,
               with_vectors: bool = False) -> Iterator[Hit]:
        q = self._q
        payload = q.PayloadSelector.Include(list(fields)) if fields is not None else True
        offset = None
        while True:  # page by page: a rewrite may swap the shard between two pages (same ids, same order)
            with self._reading(name) as shard:
                records, offset = shard.scroll(q.ScrollRequest(
                    offset=offset, limit=_SCROLL_PAGE, filter=self._filter(filter) if filter else None,
                    with_payload=payload, with_vector=[DENSE] if with_vectors else False))
            yield from (self._hit(r) for r in records)
            if offset is None:
                return

    def ordered(self, name: str, key: str, *, limit: int, filter: Filter | None = None,
                fields: Sequence[str] | None = None, descending: bool = True,
                with_vectors: bool = False) -> list[Hit]:
        q = self._q
        with self._reading(name) as shard:
            records, _ = shard.scroll(q.ScrollRequest(
                limit=limit, filter=self._filter(filter) if filter else None,
                with_payload=q.PayloadSelector.Include(list(fields)) if fields is not None else True,
                with_vector=[DENSE] if with_vectors else False,
                order_by=q.OrderBy(key, direction=q.Direction.Desc if descending else q.Direction.Asc)))
        return [self._hit(r) for r in records]

    def count(self, name: str, *, filter: Filter | None = None) -> int:
        with self._reading(name) as shard:
            return shard.count(self._q.CountRequest(exact=True, filter=self._filter(filter) if filter else None))

    def facet(self, name: str, key: str, *, filter: Filter | None = None,
              limit: int = 100) -> list[tuple[Any, int]]:
        with self._reading(name) as shard:
            response = shard.facet(self._q.FacetRequest(
                key=key, limit=limit, exact=True, filter=self._filter(filter) if filter else None))
        return [(h.value, h.count) for h in response.hits]

    # --- conversions ---------------------------------------------------------------------------------

    def _sparse(self, sv: Any) -> Any:
        return self._q.SparseVector(list(sv.indices), list(sv.values))

    def _filter(self, flt: Filter) -> Any:
        return self._q.Filter(must=[self._condition(c) for c in flt.must] or None,
                              must_not=[self._condition(c) for c in flt.must_not] or None)

    def _condition(self, cond: Any) -> Any:
        q = self._q
        if isinstance(cond, MatchAny):
            values = list(cond.values)
            if any(isinstance(v, bool) for v in values):
                # the Edge bindings turn True into 1 and then match nothing: store flags as keywords
                raise TypeError(f"filter on a bool field {cond.key!r}: use a keyword field instead")
            if len(values) == 1:
                return q.FieldCondition(key=cond.key, match=q.MatchValue(values[0]))
            return q.FieldCondition(key=cond.key, match=q.MatchAny(values))
        if isinstance(cond, Range):
            if isinstance(cond.gte, str) or isinstance(cond.lte, str):
                gte, lte = datetime_bounds(cond)
                return q.FieldCondition(key=cond.key, range=q.RangeDateTime(gte=gte, lte=lte))
            return q.FieldCondition(key=cond.key, range=q.RangeFloat(gte=cond.gte, lte=cond.lte, lt=cond.lt))
        if isinstance(cond, HasId):
            return q.HasIdCondition({point_uuid(i) for i in cond.ids})
        raise TypeError(f"unknown condition {cond!r}")

    @staticmethod
    def _hit(p: Any) -> Hit:
        vector = p.vector.get(DENSE) if isinstance(p.vector, dict) else None
        return Hit(str(p.id), float(getattr(p, "score", 0.0) or 0.0), dict(p.payload or {}),
                   list(vector) if vector is not None else None)


def _sync_folder(folder: Path) -> None:
    """Make the renames in ``folder`` durable (POSIX: a rename is in the folder's entry, not the file)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
