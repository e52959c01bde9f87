"""The collections of Kennismakelaar and what lives in them, on top of any ``Store``.

- ``chunks``: passages with a dense and a BM25 vector; payload = passage + document metadata (filters);
- ``documents``: one record per document, written *after* its chunks (the commit);
- ``experts``: profiles with dense and BM25 vectors of their expertise;
- ``questions``: asked questions (the knowledge agenda);
- ``ledger``: small records that exist only in the store (``core.store.ledger``);
- ``meta``: which model built the store, and the generation of its contents.

The model's identity is stored in ``meta``; opening the store with another model is refused, because
vectors of two models cannot be compared.

Passages are written *pending* and become visible when their document's record commits: a search never
shows half a document, and the sweep of orphans never deletes what another writer is still writing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

import numpy as np

from core.errors import ConfigError, ModelMismatchError, NotFoundError
from core.models import API_ROOT
from core.names import name_key
from core.ordering import browse_keys
from core.store.base import Store
from core.store.ledger import LEDGER, LIFTED, Ledger
from core.store.ledger import SPEC as LEDGER_SPEC
from core.store.revisions import at_revision, first_version, revision, write_if_unchanged
from core.store.types import DENSE, CollectionSpec, Filter, HasId, Hit, MatchAny, Point, Query, Vector, point_uuid
from core.vector_codec import unpack

CHUNKS, DOCUMENTS, EXPERTS, QUESTIONS, META = "chunks", "documents", "experts", "questions", "meta"
# 2: profiles without consent carry no BM25 vector (``_words_if_public``); 3: documents and passages carry their
# visibility (``core.visibility``); 4: documents carry the keys they are browsed by (``core.ordering``)
SCHEMA_VERSION = 5
_META_ID = "meta:model"
_GENERATION_ID = "meta:generation"
_KEYCHECK_ID = "meta:keycheck"
PENDING = "pending"
ORPHAN_GRACE_SECONDS = 3600.0  # a pending passage of another writer older than this is left by a crash

_RECORD_CACHE = 50_000  # document records kept in memory (with their vectors: ~2 kB each)
# what ``Catalog.erasing`` takes out for good
Erasable = Literal["questions", "requests", "documents", "profiles", "members", "follows"]
_ERASABLE: dict[str, tuple[str, ...]] = {"questions": (QUESTIONS,), "requests": (LEDGER,), "members": (LEDGER,),
                                         "follows": (LEDGER,),
                                         "documents": (CHUNKS, DOCUMENTS), "profiles": (EXPERTS,)}
_TAXONOMY_INDEXES: dict[str, Any] = {"ateliers": "keyword", "themes": "keyword", "kind": "keyword",
                                     "date": "datetime", "year": "integer", "people": "keyword",
                                     "knowledge": "keyword", "evidence": "keyword",
                                     "visibility": "keyword"}  # every query of the public and members filters on it
VISIBLE = Filter(must_not=(MatchAny("state", (PENDING,)),))  # passages of committed documents only


def collection_specs(dim: int) -> tuple[CollectionSpec, ...]:
    return (
        CollectionSpec(CHUNKS, dense_dim=dim, sparse=True,
                       indexes={"document_id": "keyword", "content_hash": "keyword", "state": "keyword",
                                **_TAXONOMY_INDEXES}),
        CollectionSpec(DOCUMENTS, dense_dim=dim,
                       indexes={"document_id": "keyword", "root": "keyword", **_TAXONOMY_INDEXES,
                                # browsing: the engine orders on numbers only, and counts target groups
                                "order_date": "integer", "order_title": "integer", "target_group_keys": "keyword",
                                "ingested_at": "datetime"}),
        CollectionSpec(EXPERTS, dense_dim=dim, sparse=True,
                       indexes={"expert_id": "keyword", "keys": "keyword", "ateliers": "keyword",
                                "themes": "keyword", "role": "keyword", "visibility": "keyword",
                                "root": "keyword"}),
        CollectionSpec(QUESTIONS, dense_dim=dim,
                       indexes={"atelier": "keyword", "asked_at": "datetime", "status": "keyword",
                                # the agenda and the overview count and pick in the engine (``question_fields``)
                                "month": "keyword", "judged": "keyword", "closed": "keyword", "feedback": "keyword",
                                "month_atelier": "keyword", "missing_knowledge": "keyword"}),
        LEDGER_SPEC,
    )


def question_fields(payload: dict[str, Any]) -> dict[str, Any]:
    """The fields of a stored question that the engine counts and picks by, derived from the rest: its month, the
    broker's judgement (``open``, ``answered``, or ``legacy`` for a question kept before there was one), whether
    a meeting or contact request closed it, and month with atelier (the agenda's chart, one facet).

    >>> question_fields({"asked_at": "2026-05-31T23:30:00+00:00", "answered": False, "atelier": None,
    ...                  "best_score": 0.8, "closed_by": "meeting:m1"})
    {'month': '2026-05', 'judged': 'open', 'month_atelier': '2026-05|', 'closed': 'ja'}

    Feedback marks set one more field, ``feedback`` (``Catalog.mark``): ``open`` when a question was marked
    unhelpful more often than helpful, ``answered`` when helpful more often, ``neutral`` otherwise.
    """
    answered = payload.get("answered")
    asked_at = _utc(payload.get("asked_at"))
    month = asked_at[:7]
    derived: dict[str, Any] = {"month": month,
                               "judged": "legacy" if answered is None else "answered" if answered else "open",
                               "month_atelier": f"{month}|{payload.get('atelier') or ''}"}
    if payload.get("closed_by"):  # only ever set: a worker still migrating cannot reopen what another closed
        derived["closed"] = "ja"
    if "best_score" not in payload:  # the engine's range leaves a missing score out; the agenda reads it as 0
        derived["best_score"] = 0.0
    if asked_at != payload.get("asked_at"):  # in UTC, as the service writes it: a day is the same day everywhere
        derived["asked_at"] = asked_at
    return derived


def _utc(value: Any) -> str:
    """An ISO time in UTC (a time from an import or a hand-made file may carry another offset).

    >>> _utc("2026-02-01T00:30:00+01:00"), _utc("2026-02-01T00:30:00+00:00"), _utc(None)
    ('2026-01-31T23:30:00+00:00', '2026-02-01T00:30:00+00:00', '')
    """
    text = str(value or "")
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is None or moment.utcoffset() == dt.timedelta(0):
        return text
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def _with_question_fields(points: Sequence[Point]) -> list[Point]:
    return [Point(p.id, {**p.payload, **question_fields(p.payload)}, p.dense, p.sparse) for p in points]


def _mark(m: dict[str, Any]) -> dict[str, Any]:
    return {"question_id": m["question_id"], "type": m["item_type"], "id": m["item_id"],
            "helpful": m["helpful"] == "ja",
            "at": dt.datetime.fromtimestamp(m["at"], dt.UTC).isoformat(timespec="seconds")}


def feedback_key(question_id: str, item_type: str, item_id: str) -> str:
    """The one mark per (question, result): marking twice replaces it (an import checks lines by this too)."""
    return hashlib.sha256(f"{question_id}\0{item_type}\0{item_id}".encode()).hexdigest()


class Catalog:
    """Typed access to the collections; the one place that knows their names and ids.

    ``marker_key`` (from the service's secret) keys the hashes of removed people: without it nobody can
    test a name against them.
    """

    def __init__(self, store: Store, model_identity: str, dim: int, *, marker_key: bytes) -> None:
        self.store = store
        self.model_identity = model_identity
        self.dim = dim
        self.ledger = Ledger(store, marker_key)
        self._marker_key = marker_key
        self.writer = uuid.uuid4().hex  # marks the passages this process writes
        self._memos: dict[str, tuple[Any, dict[str, Any]]] = {}

    @contextmanager
    def _changing(self) -> Iterator[None]:
        """Around every write: a new generation is stored *after* it, so a reader between the two cannot
        cache what is about to change under the new generation — in any worker sharing the store."""
        try:
            yield
        finally:
            self.store.upsert(META, [Point(_GENERATION_ID, {"token": uuid.uuid4().hex})])

    def open(self, *, recreate: bool = False) -> None:
        """Create or open the collections; refuse a store built with another model or another secret."""
        if recreate:  # the vectors go; the ledger (no vectors) and the key check stay: see ``carry_over``
            for spec in collection_specs(self.dim):
                if spec.name != LEDGER:
                    self.store.drop(spec.name)
            self.store.ensure(CollectionSpec(META))
            self.store.delete(META, ids=[_META_ID, _GENERATION_ID])
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
        self._check_key()
        schema = found[0].payload.get("schema", 1) if found else SCHEMA_VERSION
        if schema < SCHEMA_VERSION:  # after the key check: a refused store stays untouched
            if schema < 2:
                self._hidden_profiles_without_words()
            if schema < 3:
                self._visible_to_all_as_before()
            if schema < 4:
                self._browsable()
            self._countable_questions()
            self.store.upsert(META, [Point(_META_ID, {**found[0].payload, "schema": SCHEMA_VERSION})])

    def _hidden_profiles_without_words(self) -> None:
        """Schema 1 to 2: profiles without consent lose the BM25 vector they were stored with, and the collection
        is rewritten so that the engine's statistics forget it (``_writing_profiles``)."""
        hidden = Filter(must_not=(MatchAny("visibility", ("public",)),))
        with self._changing(), self.erasing("profiles"):
            for h in self.store.scroll(EXPERTS, filter=hidden, with_vectors=True):
                # at the version read: a save by another worker meanwhile is neither undone nor counted again
                self.store.replace_if(EXPERTS, Point(h.id, h.payload, dense={DENSE: h.dense} if h.dense else {}),
                                      at_revision(revision(h.payload)))

    def _visible_to_all_as_before(self) -> None:
        """Schema 2 to 3: what was taken in before documents had a visibility was open to anyone, and stays so
        until a coordinator or its file says otherwise (a query filtering on the field would miss it) — unless a
        coordinator's choice for it is in the ledger already (a ledger newer than its documents)."""
        chosen = {str(r["key"]): str(r["visibility"]) for r in self.ledger.all("visibility")}
        with self._changing():
            for name in (DOCUMENTS, CHUNKS):  # only those without: a new worker may have written one meanwhile
                levels: dict[str, list[str]] = {}
                for h in self.store.scroll(name, fields=["visibility", "document_id"]):
                    if "visibility" not in h.payload:
                        level = chosen.get(str(h.payload.get("document_id")), "openbaar")
                        levels.setdefault(level, []).append(h.id)
                for level, ids in levels.items():
                    for i in range(0, len(ids), 1000):
                        self.store.set_payload(name, {"visibility": level}, ids=ids[i:i + 1000])

    def _browsable(self) -> None:
        """Schema 3 to 4: every document gets the keys it is browsed by (``core.ordering.browse_keys``)."""
        with self._changing():
            for h in list(self.store.scroll(DOCUMENTS, fields=["title", "date", "target_groups", "order_date"])):
                if "order_date" not in h.payload:
                    p = h.payload
                    self.store.set_payload(DOCUMENTS, browse_keys(p.get("title"), p.get("date"),
                                                                  p.get("target_groups") or []), ids=[h.id])

    def _countable_questions(self) -> None:
        """Schema 4 to 5: every question gets the fields the engine counts and picks it by (``question_fields``),
        written a group of equal values at a time."""
        groups: dict[str, list[str]] = {}
        fields = ["asked_at", "answered", "closed_by", "atelier", "month", "best_score"]
        for h in self.store.scroll(QUESTIONS, fields=fields):
            if "month" not in h.payload:
                groups.setdefault(json.dumps(question_fields(h.payload), sort_keys=True), []).append(h.id)
        with self._changing():
            for values, ids in groups.items():
                for i in range(0, len(ids), 1000):
                    self.store.set_payload(QUESTIONS, json.loads(values), ids=ids[i:i + 1000])
        self.recount_feedback()

    def _check_key(self) -> None:
        """Markers of removed people made with one secret are blind to another: a store opened with another
        secret than the one it was made with is refused, before anything is keyed with the wrong one."""
        check = hmac.new(self._marker_key, b"kennismakelaar-keycheck", hashlib.sha256).hexdigest()
        found = self.store.retrieve(META, [_KEYCHECK_ID])
        if not found:
            self.store.upsert(META, [Point(_KEYCHECK_ID, {"check": check})])
        elif found[0].payload.get("check") != check:
            raise ConfigError(
                "Deze opslag is gemaakt met een andere geheime sleutel (KM_SECRET_KEY): de markeringen van "
                "verwijderde personen zouden niet meer werken.",
                hint="Gebruik dezelfde KM_SECRET_KEY als bij het aanmaken, op elke machine en in elk proces dat "
                     "deze opslag gebruikt (zonder KM_SECRET_KEY: de inhoud van secret.key in KM_DATA_DIR).")

    def carry_over(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Before a recreate: the profiles made or edited in the service and the question log — they exist
        only in the store and must survive a change of model (their vectors are made again after)."""
        profiles, questions = [], []
        if self.store.exists(EXPERTS):
            self.store.ensure(CollectionSpec(EXPERTS))
            profiles = [p for p in (h.payload for h in self.store.scroll(EXPERTS))
                        if p.get("edited") or p.get("root") == API_ROOT]
        if self.store.exists(QUESTIONS):
            self.store.ensure(CollectionSpec(QUESTIONS))
            questions = [h.payload for h in self.store.scroll(QUESTIONS)]
        return profiles, questions

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

    def freshness(self) -> str:
        """The key for caches of stored facts: a token stored with every write through any catalog on this
        store, so a cache in one worker never outlives a removal made by another."""
        found = self.store.retrieve(META, [_GENERATION_ID])
        return found[0].payload.get("token", "") if found else ""

    def memo(self, name: str) -> dict[str, Any]:
        """A dict for facts derived from the store, handed out empty again whenever ``freshness`` moves on.
        Callers keep the dict they got for the rest of their work, even if another thread starts a new one."""
        key = self.freshness()
        held = self._memos.get(name)
        if held is None or held[0] != key:
            held = self._memos[name] = (key, {})
        return held[1]

    def document_records(self, document_ids: Sequence[str]) -> dict[str, Hit]:
        """Document records (their payload) by document id, remembered while ``freshness`` holds: the
        same documents come back question after question, and fetching them was a tenth of a question's time.
        Callers must not change what they get. Without the document's vector: nobody reads it here, and at a
        million passages, with the vectors on disk, it doubled the fetch (3.3 → 1.5 ms for 40)."""
        cache = self.memo("document records")
        missing = [d for d in dict.fromkeys(document_ids) if d not in cache]
        fetched = {h.payload["document_id"]: h for h in self.store.retrieve(
            DOCUMENTS, [self.document_key(d) for d in missing])} if missing else {}
        if len(cache) + len(fetched) <= _RECORD_CACHE:
            cache.update(fetched)
        return {d: h for d in document_ids if (h := cache.get(d) or fetched.get(d)) is not None}

    def title_vectors(self, document_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The title vector of each of these documents that has one, unpacked once while ``freshness`` holds
        (every question compares its candidates' titles)."""
        cache = self.memo("title vectors")
        missing = [d for d in dict.fromkeys(document_ids) if d not in cache]
        fresh: dict[str, np.ndarray | None] = {}
        if missing:
            records = self.document_records(missing)
            for d in missing:
                packed = records[d].payload.get("title_vector") if d in records else None
                fresh[d] = unpack(packed) if packed else None
            if len(cache) + len(fresh) <= _RECORD_CACHE:
                cache.update(fresh)
        return {d: v for d in document_ids if (v := cache.get(d, fresh.get(d))) is not None}

    def documents(self, *, filter: Filter | None = None,
                  fields: Sequence[str] | None = None) -> Iterator[dict[str, Any]]:
        return (h.payload for h in self.store.scroll(DOCUMENTS, filter=filter, fields=fields))

    def write_chunks(self, points: Sequence[Point]) -> None:
        """Write passages *pending*: invisible to search until ``commit_document`` makes them live."""
        now = time.time()
        for p in points:
            p.payload = {**p.payload, "state": PENDING, "writer": self.writer, "written_at": now}
        with self._changing():
            self.store.upsert(CHUNKS, points)

    def commit_document(self, record: dict[str, Any], vector: Vector | None) -> None:
        """Write the document record — after its chunks — make its chunks live, drop earlier versions."""
        doc_id, content_hash = record["document_id"], record["content_hash"]
        with self._changing():
            self.store.upsert(DOCUMENTS, [Point(self.document_key(doc_id), record,
                                                dense={"dense": vector} if vector is not None else {})])
            self._go_live(doc_id, content_hash)
            self.store.delete(CHUNKS, filter=Filter.where(document_id=doc_id).and_(
                Filter(must_not=Filter.where(content_hash=content_hash).must)))

    def _go_live(self, document_id: str, content_hash: str) -> int:
        ids = [h.id for h in self.store.scroll(CHUNKS, filter=Filter.where(
            document_id=document_id, content_hash=content_hash, state=PENDING), fields=[])]
        if ids:
            self.store.set_payload(CHUNKS, {"state": "live"}, ids=ids)
        return len(ids)

    @property
    def exclusive(self) -> bool:
        """Whether this process alone uses the store (the embedded one): no other writer can be under way."""
        return self.store.exclusive

    def drop_pending(self, document_id: str, content_hash: str) -> None:
        """Delete the passages of one write of a document that never went live (a crash before its commit)."""
        with self._changing():
            self.store.delete(CHUNKS, filter=Filter.where(document_id=document_id, content_hash=content_hash,
                                                          state=PENDING))

    def delete_document(self, document_id: str) -> bool:
        existed = self.document(document_id) is not None
        with self._changing():
            self.store.delete(DOCUMENTS, ids=[self.document_key(document_id)])
            self.store.delete(CHUNKS, filter=Filter.where(document_id=document_id))
        return existed

    def update_document(self, document_id: str, fields: dict[str, Any]) -> None:
        """Change fields of a document's record and, where passages carry them too, of its passages."""
        with self._changing():
            self.store.set_payload(DOCUMENTS, fields, ids=[self.document_key(document_id)])
            shared = {k: v for k, v in fields.items() if k in ("people", "title", "visibility")}
            ids = [h.id for h in self.store.scroll(CHUNKS, filter=Filter.where(document_id=document_id), fields=[])]
            if shared and ids:
                self.store.set_payload(CHUNKS, shared, ids=ids)

    def apply_chosen_visibility(self) -> int:
        """Put every coordinator's choice in the ledger on its document (after a backup is imported: the
        documents came from their files, the choices from the backup); returns how many changed."""
        changed = 0
        for r in list(self.ledger.all("visibility")):
            record = self.document(str(r["key"]))
            if record is not None and record.get("visibility") != r["visibility"]:
                self.update_document(str(r["key"]), {"visibility": r["visibility"]})
                changed += 1
        return changed

    def visibility_counts(self) -> dict[str, int]:
        """How many documents each visibility has (inside the engine: a facet on the indexed field)."""
        return {str(value): n for value, n in self.document_facet("visibility")}

    def chosen_visibility(self, document_id: str) -> str | None:
        """The visibility a coordinator chose for a document in the service: it outlasts its file's (which
        says what the author meant, before a coordinator looked), and a new version of the file keeps it."""
        found = self.ledger.get("visibility", document_id)
        return str(found["visibility"]) if found else None

    def choose_visibility(self, document_id: str, visibility: str) -> None:
        """A coordinator's choice, noted first (a new version of the file being taken in reads it), then on the
        record and every passage of the document: from the next query on, on every worker."""
        self.ledger.put("visibility", document_id, {"document_id": document_id, "visibility": visibility})
        self.update_document(document_id, {"visibility": visibility})

    def withhold_file(self, document_id: str) -> None:
        """The original file named a person removed on request: it is no longer served to the public."""
        with self._changing():
            self.store.set_payload(DOCUMENTS, {"file_withheld": True}, ids=[self.document_key(document_id)])

    def rewrite(self, collection: str, points: Sequence[Point]) -> None:
        """Replace stored points as they are (ids, payloads, vectors): a backup written back."""
        if collection == EXPERTS:
            self.write_experts(points)
            return
        if collection == QUESTIONS:  # an export of before these fields, or a payload changed by hand
            points = _with_question_fields(points)
        with self._changing():
            self.store.upsert(collection, points)

    def relink_passage(self, passage_id: str, people: Sequence[str]) -> None:
        """Set the people a passage lists, its text and vectors untouched (a removal took one of them out)."""
        with self._changing():
            self.store.set_payload(CHUNKS, {"people": list(people)}, ids=[passage_id])

    def erase_history(self) -> None:
        """Make deleted and overwritten records unreadable from the store's files (``Store.erase_history``)."""
        self.store.erase_history()

    def erasure_due(self) -> None:
        """Before a removal writes: if the process dies before ``erase_history``, the next start rewrites."""
        self.store.mark_erasure_due()

    def rewrite_passages(self, points: Sequence[Point]) -> None:
        """Replace stored passages as they are (ids, payloads, vectors): the scrub after a removal."""
        self.rewrite(CHUNKS, points)

    def rewrite_questions(self, points: Sequence[Point]) -> None:
        """Replace stored questions as they are (a scrub, or the question log carried over a recreate)."""
        self.rewrite(QUESTIONS, points)

    def rewrite_profile(self, point: Point) -> bool:
        """Replace a stored profile (payload, vectors) if it is still at the version its payload carries; a new
        version, so a form opened on the one before is stale. ``False`` when a save came first or it is gone:
        the caller reads again and redoes its change on what is stored now (never a lost decision)."""
        with self._writing_profiles([point]) as (written,):
            return write_if_unchanged(self.store, EXPERTS, written, revision(point.payload))

    # --- passages: what search reads ------------------------------------------------------------------

    def search_passages(self, query: Query) -> list[Hit]:
        """The passages of committed documents that best match ``query`` (dense, BM25 or both fused)."""
        return self.store.query(CHUNKS, dataclasses.replace(query, filter=VISIBLE.and_(query.filter)))

    def passage_cosines(self, dense: Vector, passage_ids: Sequence[str]) -> dict[str, float]:
        """The cosine similarity of each of these passages to ``dense``, computed by the engine."""
        if not passage_ids:
            return {}
        hits = self.store.query(CHUNKS, Query(dense=dense, limit=len(passage_ids), fields=("document_id",),
                                              filter=Filter(must=(HasId(tuple(passage_ids)),))))
        return {h.id: h.score for h in hits}

    def passages(self, passage_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Full passages (text included) by passage id; ids no longer stored are left out."""
        return {h.id: h.payload for h in self.store.retrieve(CHUNKS, list(passage_ids))} if passage_ids else {}

    def scan_passages(self, *, filter: Filter | None = None) -> Iterator[Hit]:
        """Every stored passage (pending ones too) that ``filter`` lets through, with its point id."""
        return iter(self.store.scroll(CHUNKS, filter=filter))

    def chunks_of(self, document_id: str, content_hash: str | None = None) -> list[dict[str, Any]]:
        """The passages of a document (of its committed version, when ``content_hash`` is given)."""
        flt = Filter.where(document_id=document_id, **({"content_hash": content_hash} if content_hash else {}))
        hits = self.store.scroll(CHUNKS, filter=flt)
        return sorted((h.payload for h in hits), key=lambda p: p.get("chunk_index", 0))

    def sweep_orphans(self, *, now: float | None = None) -> int:
        """Finish what a crash left: pending passages of a committed version go live; passages no committed
        record claims are deleted — unless another writer may still be at work on them (written by another
        process in the last hour, on a store that others share)."""
        now = time.time() if now is None else now
        committed = {d["document_id"]: d["content_hash"]
                     for d in self.documents(fields=["document_id", "content_hash"])}
        exclusive = bool(getattr(self.store, "exclusive", False))
        orphans, finish = [], set()
        for h in self.store.scroll(CHUNKS, fields=["document_id", "content_hash", "state", "writer", "written_at"]):
            p = h.payload
            if committed.get(p.get("document_id")) == p.get("content_hash"):
                if p.get("state") == PENDING:
                    finish.add((p["document_id"], p["content_hash"]))
                continue
            # another writer's passage, written after ``committed`` was read or still pending: not ours to judge
            others = p.get("writer") != self.writer and not exclusive
            if others and now - float(p.get("written_at") or 0) < ORPHAN_GRACE_SECONDS:
                continue
            orphans.append(h.id)
        with self._changing():
            for doc_id, content_hash in finish:
                self._go_live(doc_id, content_hash)
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

    def public_expert(self, expert_id: str) -> dict[str, Any] | None:
        """A profile the public may see: only of a person who consented (``visibility`` public)."""
        expert = self.expert(expert_id)
        return expert if expert is not None and expert.get("visibility") == "public" else None

    def experts(self, *, filter: Filter | None = None,
                fields: Sequence[str] | None = None) -> Iterator[dict[str, Any]]:
        return (h.payload for h in self.store.scroll(EXPERTS, filter=filter, fields=fields))

    def profile_hits(self) -> list[Hit]:
        """Every stored profile with its point id (for a scrub that rewrites them)."""
        return list(self.store.scroll(EXPERTS))

    def search_experts(self, query: Query) -> list[Hit]:
        """The profiles that best match ``query`` (dense, BM25 or both fused)."""
        return self.store.query(EXPERTS, query)

    def ordered_documents(self, key: str, *, limit: int, filter: Filter | None = None,
                          fields: Sequence[str] | None = None, descending: bool = True) -> list[dict[str, Any]]:
        """The first ``limit`` document records by ``key``, ordered in the engine (``matching.browse``)."""
        return [h.payload for h in self.store.ordered(DOCUMENTS, key, limit=limit, filter=filter, fields=fields,
                                                      descending=descending)]

    def document_facet(self, key: str, *, filter: Filter | None = None, limit: int = 100) -> list[tuple[Any, int]]:
        """How many documents hold each value of ``key`` (an indexed field), most first."""
        return self.store.facet(DOCUMENTS, key, filter=filter, limit=limit)

    def count_documents(self, *, filter: Filter | None = None) -> int:
        """How many document records ``filter`` lets through (for instance: linked to one person)."""
        return self.store.count(DOCUMENTS, filter=filter)

    def write_experts(self, points: Sequence[Point]) -> None:
        """Write profiles as they are, versions included (profiles carried over a recreate)."""
        with self._writing_profiles(points) as written:
            self.store.upsert(EXPERTS, written)

    def create_expert(self, point: Point) -> int | None:
        """Write a new profile unless one with its id exists (then None); returns its version. ``point`` carries
        its vectors."""
        with self._writing_profiles([point]) as (written,):
            return _create(self.store, EXPERTS, written)

    def replace_expert(self, point: Point, expected: int) -> int | None:
        """Replace a profile if it is still at version ``expected``, checked and written in one step in the engine
        (``core.store.revisions``); returns the new version, or None when another write came first or the profile
        is gone — a replace never re-creates. ``point`` must carry the vectors: the whole point is replaced."""
        with self._writing_profiles([point]) as (written,):
            return expected + 1 if write_if_unchanged(self.store, EXPERTS, written, expected) else None

    @contextmanager
    def _writing_profiles(self, points: Sequence[Point]) -> Iterator[list[Point]]:
        """Around every profile write. A profile without consent is written without its BM25 vector: the engine's
        IDF counts every point that has one, so a hidden profile's words would shift public experts' scores, a
        difference that tells a registered name from a made-up one (coordinators rank hidden people on meaning
        and documents). A profile that was public and is hidden now leaves its public version in the old files
        and in those statistics until the collection is rewritten, so then it is rewritten after the write."""
        hidden = [p.id for p in points if p.payload.get("visibility") != "public"]
        hiding = bool(hidden) and any(h.payload.get("visibility") == "public"
                                      for h in self.store.retrieve(EXPERTS, hidden))
        with self._changing(), self.erasing("profiles") if hiding else contextlib.nullcontext():
            yield [_words_if_public(p) for p in points]

    def delete_experts(self, expert_ids: Sequence[str]) -> None:
        with self._changing():
            self.store.delete(EXPERTS, ids=[self.expert_key(i) for i in expert_ids])

    def forget(self, keys: Sequence[str]) -> list[str]:
        """Remember — as keyed hashes, not names — that a person asked to be removed, so a re-ingest of
        the same source files does not bring them back. Each marker is its own record: removals by two
        workers at once cannot lose one."""
        with self._changing():
            return self.ledger.forget(keys)

    def unforget(self, keys: Sequence[str]) -> None:
        """Lift the markers of a person re-created on purpose; the lift is recorded with its time, so an export
        made before it does not remove them again (``Ledger.unforget``)."""
        with self._changing():
            self.ledger.unforget(keys)

    def scrub_ledger(self, clean: Callable[[str], str]) -> int:
        """Pass the texts of the ledger's records through ``clean`` (a removal's scrub; markers and counters
        hold no text and are left as they are)."""
        with self._changing():
            return self.ledger.scrub(clean)

    def forgotten(self) -> frozenset[str]:
        return self.ledger.forgotten()

    def marked(self, forgotten: frozenset[str] | None = None) -> Callable[[str], bool]:
        """``is_marked`` for ``core.names.redact``: a name key belongs to a person removed on request
        when its keyed hash is one of the markers (default: the stored ones)."""
        markers = self.forgotten() if forgotten is None else forgotten
        keyed = self.ledger.keyed
        return lambda key: bool(markers) and keyed(key) in markers

    def is_forgotten(self, name: str, forgotten: frozenset[str]) -> bool:
        """Whether ``name`` (a name or an id, any case or accents) belongs to a person removed on request."""
        return bool(forgotten) and self.ledger.keyed(name_key(name)) in forgotten

    # --- documents deleted by a coordinator ----------------------------------------------------------

    def tombstone(self, document_id: str, content_hash: str) -> None:
        """Remember that a coordinator deleted this version of a document: its unchanged file stays out. A lift of
        an earlier tombstone of it no longer holds: this deletion is the newer decision."""
        self.ledger.put("deleted", document_id, {"document_id": document_id, "content_hash": content_hash})
        self.ledger.remove(LIFTED["deleted"], [document_id])  # after: a crash in between leaves the tombstone

    def tombstoned(self, document_id: str) -> str | None:
        """The content hash of the deleted version, if a coordinator deleted this document."""
        found = self.ledger.get("deleted", document_id)
        return found.get("content_hash") if found else None

    def lift_tombstone(self, document_id: str) -> None:
        """The document is back on purpose (uploaded or ingested again): its tombstone goes, and the lift is
        recorded with its time, so an export made before it does not delete the document again."""
        self.ledger.lift("deleted", [document_id], {document_id: {"document_id": document_id}})

    # --- feedback: one record per (question, result), so a mark is never counted twice or lost ---------

    def mark(self, question_id: str, item_type: str, item_id: str, helpful: bool) -> None:
        key = feedback_key(question_id, item_type, item_id)
        self.ledger.put("feedback", key, {"question_id": question_id, "item_type": item_type, "item_id": item_id,
                                          "helpful": "ja" if helpful else "nee"})
        self.recount_feedback([question_id])

    def recount_feedback(self, question_ids: Sequence[str] | None = None) -> None:
        """Set each question's ``feedback`` field (``question_fields``) from its marks as they are now — of these
        questions (after a mark, or marks deleted), or of every marked one (a migration, an import). Two marks
        on one question at once may leave the first's count; the next mark on it, or an import, sets it right."""
        marks = self.marks_of(question_ids) if question_ids is not None else self.marks()
        balance: dict[str, int] = dict.fromkeys(question_ids or (), 0)
        for m in marks:
            balance[m["question_id"]] = balance.get(m["question_id"], 0) + (1 if m["helpful"] else -1)
        present = {h.id for h in self.store.retrieve(QUESTIONS, list(balance))} if balance else set()
        groups: dict[str, list[str]] = {}
        for question_id, b in balance.items():
            if point_uuid(question_id) in present:
                groups.setdefault("answered" if b > 0 else "open" if b < 0 else "neutral", []).append(question_id)
        with self._changing():
            for value, ids in groups.items():
                self.store.set_payload(QUESTIONS, {"feedback": value}, ids=ids)

    def marks(self, question_id: str | None = None) -> list[dict[str, Any]]:
        """Feedback marks (of one question, or all), as ``{"question_id", "type", "id", "helpful": bool}``."""
        where = {"question_id": question_id} if question_id else {}
        return [_mark(m) for m in self.ledger.all("feedback", **where)]

    def marks_of(self, question_ids: Sequence[str]) -> list[dict[str, Any]]:
        """The feedback marks on these questions only (as ``marks``)."""
        if not question_ids:
            return []
        found = self.store.scroll(LEDGER, filter=Filter.where(kind="feedback", question_id=list(question_ids)))
        return [_mark(h.payload) for h in found]

    def delete_feedback_on(self, item_type: str, item_id: str) -> None:
        marks = Filter.where(kind="feedback", item_type=item_type, item_id=item_id)
        touched = sorted({str(h.payload["question_id"]) for h in self.store.scroll(LEDGER, filter=marks,
                                                                                  fields=["question_id"])})
        self.store.delete(LEDGER, filter=marks)
        if touched:
            self.recount_feedback(touched)

    def delete_feedback_of(self, question_ids: Sequence[str]) -> None:
        if question_ids:
            self.store.delete(LEDGER, filter=Filter.where(kind="feedback", question_id=list(question_ids)))

    # --- the question log --------------------------------------------------------------------------

    def add_question(self, question_id: str, payload: dict[str, Any], vector: Vector) -> None:
        self.store.upsert(QUESTIONS, _with_question_fields([Point(question_id, payload, dense={DENSE: vector})]))

    def question(self, question_id: str) -> dict[str, Any] | None:
        """A question by its id (a UUID string), or None."""
        found = self.store.retrieve(QUESTIONS, [question_id])
        return found[0].payload if found else None

    def questions(self, *, filter: Filter | None = None, fields: Sequence[str] | None = None,
                  with_vectors: bool = False) -> list[Hit]:
        """Stored questions (with their point ids, and vectors when asked)."""
        return list(self.store.scroll(QUESTIONS, filter=filter, fields=fields, with_vectors=with_vectors))

    def delete_questions(self, question_ids: Sequence[str]) -> None:
        """Questions go with their feedback."""
        if question_ids:
            self.store.delete(QUESTIONS, ids=list(question_ids))
            self.delete_feedback_of(question_ids)

    def newest_questions(self, *, limit: int, filter: Filter | None = None, fields: Sequence[str] | None = None,
                         with_vectors: bool = False) -> list[Hit]:
        """The ``limit`` newest questions ``filter`` lets through, newest first, picked and ordered in the engine."""
        return self.store.ordered(QUESTIONS, "asked_at", limit=limit, filter=filter, fields=fields,
                                  with_vectors=with_vectors)

    def questions_by_id(self, question_ids: Sequence[str], *, with_vectors: bool = False) -> list[Hit]:
        return self.store.retrieve(QUESTIONS, list(question_ids), with_vectors=with_vectors)

    def count_questions(self, *, filter: Filter | None = None) -> int:
        return self.store.count(QUESTIONS, filter=filter)

    def question_facet(self, key: str, *, filter: Filter | None = None, limit: int = 100) -> list[tuple[Any, int]]:
        """How many questions hold each value of ``key`` (an indexed field of ``question_fields``), most first."""
        return self.store.facet(QUESTIONS, key, filter=filter, limit=limit)

    def close_questions(self, question_ids: Sequence[str], by: str) -> None:
        """Mark questions as answered (``by``: ``contact:<id>`` or ``meeting:<id>``): the agenda leaves them out."""
        # only those still there: the retention may have taken some since they were asked
        present = [h.payload["question_id"] for h in self.store.retrieve(QUESTIONS, list(question_ids))]
        if present:
            with self._changing():
                self.store.set_payload(QUESTIONS, {"closed_by": by, "closed": "ja"}, ids=present)

    def flush(self) -> None:
        """Make what was written durable now (the end of an ingest run)."""
        self.store.flush()

    # --- contact requests: one ledger record each, changed field by field ------------------------------

    def add_contact_request(self, request_id: str, record: dict[str, Any]) -> None:
        with self._changing():
            self.ledger.put("contact", request_id, record)

    def contact_request(self, request_id: str) -> dict[str, Any] | None:
        return self.ledger.get("contact", request_id)

    def contact_requests(self) -> list[dict[str, Any]]:
        return list(self.ledger.all("contact"))

    def replace_contact_request(self, request_id: str, record: dict[str, Any], expected: int) -> bool:
        """Replace a request if it is still at version ``expected`` (one of two concurrent moves wins)."""
        with self._changing():
            return self.ledger.put_if_unchanged("contact", request_id, record, expected)

    def update_contact_request(self, request_id: str, fields: dict[str, Any]) -> None:
        with self._changing():
            self.ledger.update("contact", request_id, fields)

    def delete_contact_requests(self, request_ids: Sequence[str]) -> None:
        self._delete_for_good("contact", request_ids)

    def _delete_for_good(self, kind: str, ids: Sequence[str]) -> None:
        """Delete records and leave a tombstone of each id (first: a crash in between leaves the record
        deletable, never a record that an older export could bring back unnoticed)."""
        if not ids:
            return
        with self._changing():
            for i in ids:
                self.ledger.put(f"gone-{kind}", i, {})
            self.ledger.remove(kind, ids)

    def deleted_ids(self, kind: str) -> set[str]:
        """Ids of the ``contact`` requests or ``meeting``s deleted so far (their tombstones)."""
        return {r["key"] for r in self.ledger.all(f"gone-{kind}")}

    # --- meetings planned from the agenda, and people's availability: ledger records too --------------

    def add_meeting(self, meeting_id: str, record: dict[str, Any]) -> None:
        with self._changing():
            self.ledger.put("meeting", meeting_id, record)

    def meeting(self, meeting_id: str) -> dict[str, Any] | None:
        return self.ledger.get("meeting", meeting_id)

    def meetings(self) -> list[dict[str, Any]]:
        return list(self.ledger.all("meeting"))

    def update_meeting(self, meeting_id: str, fields: dict[str, Any]) -> None:
        with self._changing():
            self.ledger.update("meeting", meeting_id, fields)

    def delete_meetings(self, meeting_ids: Sequence[str]) -> None:
        self._delete_for_good("meeting", meeting_ids)

    def availability(self) -> dict[str, dict[str, Any]]:
        """What coordinators set about people's availability, by expert id (only people with a setting)."""
        return {r["key"]: r for r in self.ledger.all("availability")
                if r.get("unavailable_until") or r.get("max_per_month") is not None}

    def availability_record(self, expert_id: str) -> dict[str, Any] | None:
        """One person's stored availability record with its version (``rev``), a cleared one too; None: never set."""
        return self.ledger.get("availability", expert_id)

    def set_availability(self, expert_id: str, record: dict[str, Any], *, expected: int | None = None) -> int | None:
        """Store one person's availability as a new version; returns that version. ``expected``: only if the stored
        record is still at that version (0: none stored), else None; without it, over whatever is stored. A cleared
        setting is stored too (empty), not deleted: its version goes on rising, so a form from before it stays
        stale."""
        point = Point(f"availability:{expert_id}", {**record, "kind": "availability", "key": expert_id,
                                                    "at": time.time()})
        with self._changing():
            for _ in range(1 if expected is not None else 5):
                current = self.ledger.get("availability", expert_id)
                base = revision(current) if expected is None else expected
                if current is None:
                    created = _create(self.store, LEDGER, point) if base == 0 else None
                    if created is not None:
                        return created
                elif write_if_unchanged(self.store, LEDGER, point, base):
                    return base + 1
        return None

    def linked_people(self) -> set[str]:
        """Every expert id a contact request, a meeting or an availability setting points at."""
        ids = {r.get(f) for r in self.contact_requests() for f in ("expert_id", "forwarded_to")}
        for m in self.meetings():
            ids |= {*m.get("panel", []), *m.get("why", {}), *m.get("gave_way", {})}
        return {i for i in ids | set(self.availability()) if i}

    def unlink_person(self, expert_id: str) -> int:
        """Take a removed person's id out of every record that points at them (requests, panels, availability);
        returns how many records changed. Names in texts are the scrub's work (``Ledger.scrub``)."""
        changed = 0
        with self._changing():
            for r in self.contact_requests():
                fields = {f: None for f in ("expert_id", "forwarded_to") if r.get(f) == expert_id}
                if fields:
                    with contextlib.suppress(NotFoundError):  # purged or forgotten meanwhile: nothing to unlink
                        self.ledger.update("contact", r["key"], fields)
                        changed += 1
            for m in self.meetings():
                if expert_id in {*m.get("panel", []), *m.get("why", {}), *m.get("gave_way", {})}:
                    with contextlib.suppress(NotFoundError):
                        self.ledger.update("meeting", m["key"], {
                            "panel": [p for p in m.get("panel", []) if p != expert_id],
                            "why": {k: v for k, v in m.get("why", {}).items() if k != expert_id},
                            "gave_way": {k: v for k, v in m.get("gave_way", {}).items() if k != expert_id}})
                        changed += 1
            if self.ledger.get("availability", expert_id) is not None:
                self.ledger.remove("availability", [expert_id])
                changed += 1
        return changed

    # --- overview ------------------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        return {"documents": self.store.count(DOCUMENTS), "chunks": self.store.count(CHUNKS),
                "experts": self.store.count(EXPERTS), "questions": self.store.count(QUESTIONS)}

    # --- erasure of a few collections: what was scrubbed or deleted after (or apart from) a removal ----------

    @contextmanager
    def erasing(self, *what: Erasable) -> Iterator[None]:
        """Around a write that takes text out for good (a name scrubbed again after a removal's rewrite, an
        asker's request deleted): only the collections holding ``what`` are rewritten after it
        (``Store.erase_history``), noted as due before it, so a crash in between is finished at the next start."""
        collections = sorted({c for w in what for c in _ERASABLE[w]})
        self.store.mark_erasure_due(collections)
        try:
            yield
        finally:  # whatever the write did, what it replaced or deleted goes
            self.store.erase_history(collections)


def _words_if_public(profile: Point) -> Point:
    """``profile`` as stored: its BM25 vector only while it may be shown (``Catalog._writing_profiles``)."""
    if profile.payload.get("visibility") == "public" or not profile.sparse:
        return profile
    return dataclasses.replace(profile, sparse={})


def _create(store: Store, collection: str, point: Point) -> int | None:
    """Insert ``point`` as the first version of a record unless the record exists (then None); returns the version.
    The first version is the time in milliseconds, not 1: a record deleted and created again (a person removed,
    then re-created) never matches a version handed out before it, so a form or an ``If-Match`` from then stays
    stale. The engine checks and writes in one step (``Store.insert_if_absent``), so of two workers on one Qdrant
    server creating one record exactly one does; the token tells two creations in one millisecond apart."""
    version = time.time_ns() // 10**6
    first = dataclasses.replace(point, payload=first_version(point.payload, version))
    return version if store.insert_if_absent(collection, first) else None
