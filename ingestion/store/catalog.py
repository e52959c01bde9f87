"""The collections of Kennismakelaar and what lives in them, on top of any ``Store``.

- ``chunks``: passages with a dense and a BM25 vector; payload = passage + document metadata (filters);
- ``documents``: one record per document, written *after* its chunks (the commit);
- ``experts``: profiles with dense and BM25 vectors of their expertise;
- ``questions``: asked questions and their feedback (the knowledge agenda);
- ``meta``: which model built the store.

The model's identity is stored in ``meta``; opening the store with another model is refused, because
vectors of two models cannot be compared.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ingestion.names import name_key
from ingestion.store.base import Store
from ingestion.store.types import CollectionSpec, Filter, Hit, MatchAny, Point
from service.errors import ModelMismatchError

CHUNKS, DOCUMENTS, EXPERTS, QUESTIONS, META = "chunks", "documents", "experts", "questions", "meta"
SCHEMA_VERSION = 1
_META_ID = "meta:model"
_FORGOTTEN_ID = "meta:forgotten"

_RECORD_CACHE = 50_000  # document records kept in memory (with their vectors: ~2 kB each)
_TAXONOMY_INDEXES: dict[str, Any] = {"ateliers": "keyword", "themes": "keyword", "kind": "keyword",
                                     "date": "datetime", "year": "integer", "people": "keyword"}


def collection_specs(dim: int) -> tuple[CollectionSpec, ...]:
    return (
        CollectionSpec(CHUNKS, dense_dim=dim, sparse=True,
                       indexes={"document_id": "keyword", "content_hash": "keyword", **_TAXONOMY_INDEXES}),
        CollectionSpec(DOCUMENTS, dense_dim=dim,
                       indexes={"document_id": "keyword", "root": "keyword", **_TAXONOMY_INDEXES}),
        CollectionSpec(EXPERTS, dense_dim=dim, sparse=True,
                       indexes={"expert_id": "keyword", "keys": "keyword", "ateliers": "keyword",
                                "themes": "keyword", "role": "keyword", "visibility": "keyword",
                                "root": "keyword"}),
        CollectionSpec(QUESTIONS, dense_dim=dim,
                       indexes={"atelier": "keyword", "asked_at": "datetime", "status": "keyword"}),
    )


def forget_hash(key: str) -> str:
    return hashlib.sha256(f"kennismakelaar-forget:{key}".encode()).hexdigest()


def is_forgotten(name: str, forgotten: frozenset[str]) -> bool:
    """Whether ``name`` (a name or an id, any case or accents) belongs to a person removed on request."""
    return forget_hash(name_key(name)) in forgotten


class Catalog:
    """Typed access to the collections; the one place that knows their names and ids."""

    def __init__(self, store: Store, model_identity: str, dim: int) -> None:
        self.store = store
        self.model_identity = model_identity
        self.dim = dim
        self.generation = 0  # bumped by every write through this catalog: lets readers cache derived facts
        self._memos: dict[str, tuple[tuple[int, int], dict[str, Any]]] = {}
        self._forgetting = threading.Lock()

    @contextmanager
    def _changing(self) -> Iterator[None]:
        """Around every write: the generation moves *after* it, so a reader between the two cannot cache
        what is about to change under the new generation."""
        try:
            yield
        finally:
            self.generation += 1

    def open(self, *, recreate: bool = False) -> None:
        """Create or open the collections; refuse a store built with another model."""
        if recreate:
            for spec in (*collection_specs(self.dim), CollectionSpec(META)):
                self.store.drop(spec.name)
        self.store.ensure(CollectionSpec(META))
        found = self.store.retrieve(META, [_META_ID])
        if found:
            built = found[0].payload
            if built.get("model") != self.model_identity or built.get("dim") != self.dim:
                raise ModelMismatchError(
                    f"De opslag is gebouwd met model '{built.get('model')}' ({built.get('dim')} dimensies); "
                    f"ingesteld is '{self.model_identity}' ({self.dim}).",
                    hint="Zet KM_EMBEDDING_MODEL terug, of bouw de opslag opnieuw met dit model: "
                         "kennismakelaar ingest PAD --recreate.")
        for spec in collection_specs(self.dim):
            self.store.ensure(spec)
        if not found:
            self.store.upsert(META, [Point(_META_ID, {
                "model": self.model_identity, "dim": self.dim, "schema": SCHEMA_VERSION,
                "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")})])

    def built_with(self) -> dict[str, Any]:
        found = self.store.retrieve(META, [_META_ID])
        return found[0].payload if found else {}

    # --- documents -----------------------------------------------------------------------------------

    @staticmethod
    def document_key(document_id: str) -> str:
        return f"doc:{document_id}"

    @staticmethod
    def chunk_key(document_id: str, content_hash: str, index: int) -> str:
        return f"chunk:{document_id}:{content_hash}:{index}"

    def document(self, document_id: str, *, with_vector: bool = False) -> dict[str, Any] | None:
        found = self.store.retrieve(DOCUMENTS, [self.document_key(document_id)], with_vectors=with_vector)
        if not found:
            return None
        record = found[0].payload
        if with_vector:
            record = {**record, "_vector": found[0].dense}
        return record

    def freshness(self) -> tuple[int, int]:
        """The key for caches of stored facts: it changes with every write through this catalog, and every
        minute, since another process may write to a shared server."""
        return self.generation, int(time.monotonic() // 60)

    def memo(self, name: str) -> dict[str, Any]:
        """A dict for facts derived from the store, handed out empty again whenever ``freshness`` moves on.
        Callers keep the dict they got for the rest of their work, even if another thread starts a new one."""
        key = self.freshness()
        held = self._memos.get(name)
        if held is None or held[0] != key:
            held = self._memos[name] = (key, {})
        return held[1]

    def document_records(self, document_ids: Sequence[str]) -> dict[str, Hit]:
        """Document records (payload and vector) by document id, remembered while ``freshness`` holds: the
        same documents come back question after question, and fetching them was a tenth of a question's time.
        Callers must not change what they get."""
        cache = self.memo("document records")
        missing = [d for d in dict.fromkeys(document_ids) if d not in cache]
        fetched = {h.payload["document_id"]: h for h in self.store.retrieve(
            DOCUMENTS, [self.document_key(d) for d in missing], with_vectors=True)} if missing else {}
        if len(cache) + len(fetched) <= _RECORD_CACHE:
            cache.update(fetched)
        return {d: h for d in document_ids if (h := cache.get(d) or fetched.get(d)) is not None}

    def documents(self, *, filter: Filter | None = None,
                  fields: Sequence[str] | None = None) -> Iterator[dict[str, Any]]:
        return (h.payload for h in self.store.scroll(DOCUMENTS, filter=filter, fields=fields))

    def write_chunks(self, points: Sequence[Point]) -> None:
        with self._changing():
            self.store.upsert(CHUNKS, points)

    def commit_document(self, record: dict[str, Any], vector: Sequence[float] | None) -> None:
        """Write the document record — after its chunks — then drop chunks of earlier versions."""
        with self._changing():
            self.store.upsert(DOCUMENTS, [Point(self.document_key(record["document_id"]), record,
                                                dense={"dense": vector} if vector is not None else {})])
            self.store.delete(CHUNKS, filter=Filter.where(document_id=record["document_id"]).and_(
                Filter(must_not=Filter.where(content_hash=record["content_hash"]).must)))

    def delete_document(self, document_id: str) -> bool:
        existed = self.document(document_id) is not None
        with self._changing():
            self.store.delete(DOCUMENTS, ids=[self.document_key(document_id)])
            self.store.delete(CHUNKS, filter=Filter.where(document_id=document_id))
        return existed

    def chunks_of(self, document_id: str) -> list[dict[str, Any]]:
        hits = self.store.scroll(CHUNKS, filter=Filter.where(document_id=document_id))
        return sorted((h.payload for h in hits), key=lambda p: p.get("chunk_index", 0))

    def sweep_orphans(self) -> int:
        """Delete chunks that no committed document record claims (left by a crash half-way)."""
        committed = {d["document_id"]: d["content_hash"]
                     for d in self.documents(fields=["document_id", "content_hash"])}
        orphans = [h.id for h in self.store.scroll(CHUNKS, fields=["document_id", "content_hash"])
                   if committed.get(h.payload.get("document_id")) != h.payload.get("content_hash")]
        for i in range(0, len(orphans), 1000):
            self.store.delete(CHUNKS, ids=orphans[i:i + 1000])
        return len(orphans)

    # --- experts -------------------------------------------------------------------------------------

    @staticmethod
    def expert_key(expert_id: str) -> str:
        return f"expert:{expert_id}"

    def expert(self, expert_id: str) -> dict[str, Any] | None:
        found = self.store.retrieve(EXPERTS, [self.expert_key(expert_id)])
        return found[0].payload if found else None

    def experts(self, *, filter: Filter | None = None,
                fields: Sequence[str] | None = None) -> Iterator[dict[str, Any]]:
        return (h.payload for h in self.store.scroll(EXPERTS, filter=filter, fields=fields))

    def write_experts(self, points: Sequence[Point]) -> None:
        with self._changing():
            self.store.upsert(EXPERTS, points)

    def delete_experts(self, expert_ids: Sequence[str]) -> None:
        with self._changing():
            self.store.delete(EXPERTS, ids=[self.expert_key(i) for i in expert_ids])

    def scrub_person(self, keys: Sequence[str]) -> dict[str, int]:
        """Remove a person's name keys (and their names as authors/participants) from every document."""
        wanted = set(keys)
        touched = {"documents": 0, "chunks": 0}
        flt = Filter(must=(MatchAny("people", tuple(wanted)),))
        with self._changing():
            for record in list(self.documents(filter=flt)):
                doc_id = record["document_id"]
                people = [k for k in record.get("people", []) if k not in wanted]
                clean = {"people": people,
                         "authors": [n for n in record.get("authors", []) if name_key(n) not in wanted],
                         "participants": [n for n in record.get("participants", []) if name_key(n) not in wanted]}
                self.store.set_payload(DOCUMENTS, clean, ids=[self.document_key(doc_id)])
                chunk_ids = [h.id for h in self.store.scroll(CHUNKS, filter=Filter.where(document_id=doc_id),
                                                             fields=[])]
                self.store.set_payload(CHUNKS, {"people": people}, ids=chunk_ids)
                touched["documents"] += 1
                touched["chunks"] += len(chunk_ids)
        return touched

    def forget(self, keys: Sequence[str]) -> None:
        """Remember — as salted hashes, not names — that a person asked to be removed, so a re-ingest of
        the same source files does not bring them back."""
        with self._forgetting:  # read, change, write: two removals at once must not lose one
            hashes = set(self.forgotten()) | {forget_hash(k) for k in keys}
            self.store.upsert(META, [Point(_FORGOTTEN_ID, {"hashes": sorted(hashes)})])

    def unforget(self, keys: Sequence[str]) -> None:
        drop = {forget_hash(k) for k in keys}
        with self._forgetting:
            self.store.upsert(META, [Point(_FORGOTTEN_ID, {"hashes": sorted(set(self.forgotten()) - drop)})])

    def forgotten(self) -> frozenset[str]:
        found = self.store.retrieve(META, [_FORGOTTEN_ID])
        return frozenset(found[0].payload.get("hashes", [])) if found else frozenset()

    # --- overview ------------------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        return {"documents": self.store.count(DOCUMENTS), "chunks": self.store.count(CHUNKS),
                "experts": self.store.count(EXPERTS), "questions": self.store.count(QUESTIONS)}
