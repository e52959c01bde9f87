"""Compose the stages: discover → metadata → parse → chunk → embed → write, file by file (the next file
is read while this one is embedded).

Idempotent and crash-safe by construction:
- a document's content hash (file + sidecar bytes + pipeline settings) is stored in its record; an
  unchanged file is skipped before it is even parsed;
- chunk ids are derived from (document, content hash, index), so writing them twice changes nothing;
- the document record is written after its chunks — the commit — and only then are the chunks of the
  previous version deleted; a run killed in between leaves chunks no record claims, which the sweep at
  the end of every run removes;
- embeddings are cached by text, so a rerun after a crash embeds nothing twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from core.bm25 import IDENTITY as BM25_IDENTITY
from core.bm25 import DutchBm25
from core.embedder import Embedder
from core.errors import (
    ConflictError,
    EmptyFileError,
    FileRejected,
    MetadataError,
    NotFoundError,
    StaleVersionError,
    UnreadableFileError,
)
from core.headings import clean, reads_as_words, says_something
from core.models import API_ROOT, Chunk, Document, DocumentMeta, Element, Expert, SourceFile
from core.names import name_key, name_variants, redact
from core.store.catalog import ORPHAN_GRACE_SECONDS, Catalog
from core.store.revisions import REV, revision
from core.store.types import DENSE, SPARSE, Filter, Point
from core.taxonomy import Taxonomy
from core.visibility import OPENBAAR
from ingestion.chunk import chunk_elements
from ingestion.discover import Discovery, discover, os_reason
from ingestion.isolation import IsolatedParser
from ingestion.knowledge import infer_knowledge
from ingestion.metadata import FRONT_MATTER_FORMATS, build_meta, decode_text, read_sidecar, split_front_matter
from ingestion.parse import Parsed, Parser
from ingestion.profiles import EDITABLE, changed_fields, load_profiles, merge_profile
from ingestion.records import chunk_payload, document_record, expert_payload, infer_terms, mean_vector, people_keys
from ingestion.removal import Remover, evict
from ingestion.titles import titled

TAKING_IN = "taking-in"  # a ledger note: a file being written, what follows its commit not done yet


def markers_digest(markers: frozenset[str]) -> str:
    """The markers a file's ingest read, in a few bytes: a note compares it with the markers later."""
    return hashlib.sha256("\n".join(sorted(markers)).encode()).hexdigest()

# 5: a title or heading that says nothing is no context and has no title vector; 4: knowledge sources and
# evidence levels; 3: a title vector, no id-like file name as context
PIPELINE_VERSION = "5"
Progress = Callable[[str, int, int], None]


@dataclass
class FileOutcome:
    path: str
    status: str  # added | updated | unchanged | skipped | failed | removed
    kind: str = "document"  # or "experts"
    document_id: str | None = None
    chunks: int = 0
    message: str = ""
    warnings: list[str] = field(default_factory=list)
    # fields a coordinator changed in the service, which the file would have overwritten: left alone
    conflicts: list[dict[str, str]] = field(default_factory=list)
    # profiles this file wrote or its prune removed, one each: {"id", "change": added | updated | removed,
    # "fields": the fields that changed, "consent": as it is now} (the audit log names each person a file changed)
    people: list[dict[str, Any]] = field(default_factory=list)
    # someone was removed on request while this file was taken in, and their name was taken out of what it wrote
    # (the store's files are rewritten already; the file itself, once in the uploads folder, is still to redact)
    scrubbed_again: bool = False


@dataclass
class IngestReport:
    outcomes: list[FileOutcome] = field(default_factory=list)
    seconds: float = 0.0
    embed_seconds: float = 0.0
    chunks_embedded: int = 0
    orphans_removed: int = 0

    def of(self, status: str) -> list[FileOutcome]:
        return [o for o in self.outcomes if o.status == status]

    @property
    def failed(self) -> list[FileOutcome]:
        return self.of("failed")

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> dict[str, Any]:
        return {
            "added": len(self.of("added")), "updated": len(self.of("updated")),
            "unchanged": len(self.of("unchanged")), "skipped": len(self.of("skipped")),
            "removed": len(self.of("removed")), "failed": len(self.failed),
            "conflicts": sum(len(o.conflicts) for o in self.outcomes), "chunks_embedded": self.chunks_embedded,
            "seconds": round(self.seconds, 2), "embed_seconds": round(self.embed_seconds, 2),
        }


@dataclass
class _Plan:
    """A document file that will be read: what is known of it before its parse."""

    source: SourceFile
    meta: DocumentMeta
    doc_id: str
    content_hash: str
    forgotten: frozenset[str]  # the markers of people removed on request, as read before the parse
    names_removed: int
    source_name: str | None
    stored_at: Path | None


@dataclass(frozen=True)
class Saved:
    """What a save of a profile in the service did (``Ingestor.save_expert``)."""

    changed: list[str]  # the fields that differ from the version it replaced (all of them: a new profile)
    created: bool
    recreated: bool  # someone removed on request, created again on purpose: their markers were lifted
    version: int  # the version written (the profile's ETag)


_TRIES = 5  # writes of one profile from a file, each against the version just read, before giving up on it


# a planned document: its outcome already (unchanged, skipped, refused), its plan and its parse under way, or
# the error its planning raised
_Step = FileOutcome | tuple[_Plan, Future[Parsed]] | Exception


class Ingestor:
    """Runs the pipeline against one catalog with one embedder."""

    def __init__(self, catalog: Catalog, embedder: Embedder, taxonomy: Taxonomy, *, bm25: DutchBm25 | None = None,
                 chunk_tokens: int = 200, max_bytes: int = 50 * 1024 * 1024, exclude: Sequence[Path] = (),
                 parser: Parser | IsolatedParser | None = None, default_visibility: str = OPENBAAR) -> None:
        if chunk_tokens < 20:
            raise ValueError("chunk_tokens must be at least 20")
        self.catalog = catalog
        self.embedder = embedder
        self.taxonomy = taxonomy
        self.bm25 = bm25 or DutchBm25()
        # a passage plus its title/section context must fit the model's window
        self.chunk_tokens = min(chunk_tokens, embedder.max_tokens * 3 // 5)
        self.max_bytes = max_bytes
        self.default_visibility = default_visibility  # for a file that does not say (``core.visibility``)
        self.exclude = tuple(exclude)
        # the service and the CLI pass an ``IsolatedParser`` (a worker process with time and memory limits)
        self.parser = parser or Parser(token_cost=embedder.token_count)
        self._term_vectors: dict[str, np.ndarray] = {}
        self._settings_hash = hashlib.sha256(json.dumps(
            [PIPELINE_VERSION, self.chunk_tokens, BM25_IDENTITY, taxonomy.to_dict()], sort_keys=True).encode()
        ).hexdigest()[:16]

    # --- the run -------------------------------------------------------------------------------------

    def run(self, paths: Sequence[str | Path], *, prune: bool = False, restore_deleted: bool = False,
            progress: Progress | None = None, committed: Callable[[FileOutcome], None] | None = None) -> IngestReport:
        """Ingest every file under ``paths``; never raises for a bad file (it is reported instead).

        Documents a coordinator deleted in the service stay out while their files are unchanged, unless
        ``restore_deleted``. ``committed`` hears of each outcome that changed the store as soon as it is in
        (the audit log: a run stopped half-way leaves nothing it committed unheard of)."""
        started = time.perf_counter()
        report = IngestReport()

        def take(outcomes: Iterable[FileOutcome]) -> None:
            for outcome in outcomes:
                report.outcomes.append(outcome)
                if committed is not None and (outcome.status in ("added", "updated", "removed") or outcome.people):
                    committed(outcome)

        found = discover(paths, max_bytes=self.max_bytes, exclude=self.exclude)
        report.outcomes.extend(_failed(r) for r in found.rejected)
        report.outcomes.extend(FileOutcome(rel, "skipped", message=f"bestandstype '.{ext}' wordt niet gelezen"
                                           if ext else "geen extensie: wordt niet gelezen")
                               for rel, ext in found.ignored)
        total = len(found.profiles) + len(found.documents)
        done = 0
        expert_owner: dict[str, str] = {}
        owners: dict[str, str] = {}
        reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="km-read-ahead")
        try:
            documents = self._read_ahead(found.documents, owners, reader, restore_deleted=restore_deleted)
            first = next(documents, None)  # the reader starts (and its worker process with it) during the profiles
            for source in found.profiles:
                take(self._profiles(source, expert_owner, report))
                done += 1
                if progress:
                    progress(source.relpath, done, total)
            for source, step in itertools.chain([first] if first else [], documents):
                if isinstance(step, BaseException):
                    raise step  # what planning this file raised, in its turn: the files before it are in
                if isinstance(step, FileOutcome):
                    take([step])
                else:
                    plan, parsing = step
                    try:
                        outcome = self._take_in(plan, parsing.result(), report)
                        take([outcome])
                        self.settled(outcome)
                    except FileRejected as exc:
                        take([_failed(exc, source)])
                done += 1
                if progress:
                    progress(source.relpath, done, total)
        except BaseException:
            # stopped (Ctrl-C, a broken store): the file being read ahead is not waited for
            reader.shutdown(wait=False, cancel_futures=True)
            getattr(self.parser, "close", lambda: None)()
            raise
        reader.shutdown()
        take(self._drop_superseded(owners))
        if prune:
            take(self._prune(found, expert_owner))
        report.orphans_removed = self.catalog.sweep_orphans()
        self.catalog.flush()
        report.seconds = time.perf_counter() - started
        return report

    def remove_document(self, document_id: str) -> bool:
        """A coordinator deletes a document: it goes, and its unchanged file will not bring it back."""
        record = self.catalog.document(document_id)
        if record is None:
            return False
        self.catalog.tombstone(document_id, record.get("content_hash", ""))
        return self._drop(record)

    def _drop(self, record: dict[str, Any]) -> bool:
        """Delete a document, its passages and the cached vectors of its texts: what we no longer hold, we do
        not keep the vectors of either."""
        evict(self.embedder, sorted(self._texts_of(record)))
        return self.catalog.delete_document(record["document_id"])

    # --- documents -----------------------------------------------------------------------------------

    def _read_ahead(self, sources: Sequence[SourceFile], owners: dict[str, str], reader: ThreadPoolExecutor, *,
                    restore_deleted: bool) -> Iterator[tuple[SourceFile, _Step]]:
        """Every document in order, planned, and read by ``reader`` ahead of the one handed out (one file
        ahead; two at the start, so that the first is read while the profiles are taken in).

        Reading happens in a worker process (``IsolatedParser``) and embedding in the model's own threads,
        so the next file's elements are being read while this file is embedded, instead of after. Only a
        file that will be taken in is read: an unchanged file is still skipped before its parse."""
        def start(source: SourceFile) -> tuple[SourceFile, _Step]:
            try:
                plan = self._plan(source, owners, restore_deleted=restore_deleted)
            except FileRejected as exc:
                return source, _failed(exc, source)
            except Exception as exc:  # raised when this file's turn comes, not before the file ahead is in
                return source, exc
            if isinstance(plan, FileOutcome):
                return source, plan
            return source, (plan, reader.submit(self._parse, plan))

        ahead = deque(start(s) for s in sources[:1])
        for following in sources[1:]:
            ahead.append(start(following))
            yield ahead.popleft()
        yield from ahead

    def ingest_document(self, source: SourceFile, owners: dict[str, str] | None = None,
                        report: IngestReport | None = None, *, source_name: str | None = None,
                        restore_deleted: bool = False, stored_at: Path | None = None) -> FileOutcome:
        """Ingest one document file; raises ``FileRejected`` when it cannot be taken in.

        ``stored_at``: where the file will live once this succeeds (an upload is read from its staging
        place and moved only after its passages are committed)."""
        step = self._plan(source, {} if owners is None else owners, restore_deleted=restore_deleted,
                          source_name=source_name, stored_at=stored_at)
        if isinstance(step, FileOutcome):
            return step
        return self._take_in(step, self._parse(step), report or IngestReport())

    def _plan(self, source: SourceFile, owners: dict[str, str], *, restore_deleted: bool,
              source_name: str | None = None, stored_at: Path | None = None) -> FileOutcome | _Plan:
        """What is known before the file is read: its metadata, its id, and whether it must be read at all."""
        raw, body_hash = self._raw_metadata(source)
        meta = build_meta(raw, self.taxonomy, source.relpath)
        forgotten = self.catalog.forgotten()
        names_removed = 0  # mentions of people removed on request: the original file is then not served
        if forgotten:  # people removed on request stay removed, whatever the source files say
            named = len(meta.authors) + len(meta.participants)
            meta.authors = [n for n in meta.authors if not self.catalog.is_forgotten(n, forgotten)]
            meta.participants = [n for n in meta.participants if not self.catalog.is_forgotten(n, forgotten)]
            names_removed = named - len(meta.authors) - len(meta.participants)
        doc_id = meta.id or source.relpath
        if doc_id in owners and owners[doc_id] != str(source.path):
            raise MetadataError(f"{source.relpath}: document-id {doc_id!r} wordt ook gebruikt door "
                                f"{Path(owners[doc_id]).name}.", path=str(source.path),
                                hint="Geef elk document een eigen id.")
        owners[doc_id] = str(source.path)
        content_hash = hashlib.sha256(f"{self._settings_hash}:{body_hash}".encode()).hexdigest()[:32]
        deleted = self.catalog.tombstoned(doc_id)
        if deleted is not None and deleted == content_hash and not restore_deleted:
            return FileOutcome(source.relpath, "skipped", document_id=doc_id,
                               message="verwijderd door een coördinator — overgeslagen (breng het terug met "
                                       "--restore-deleted, of door het bestand te wijzigen)")
        # a coordinator's choice in the service first, then the file's, then the Werkplaats's default
        meta.visibility = self.catalog.chosen_visibility(doc_id) or meta.visibility or self.default_visibility
        existing = self.catalog.document(doc_id)
        if existing and existing.get("content_hash") == content_hash:
            if existing.get("visibility") != meta.visibility:  # the default changed, or a store from before
                self.catalog.update_document(doc_id, {"visibility": meta.visibility})
                chosen = self.catalog.chosen_visibility(doc_id)
                if chosen and chosen != meta.visibility:  # a coordinator chose meanwhile: theirs holds
                    self.catalog.update_document(doc_id, {"visibility": chosen})
                return FileOutcome(source.relpath, "updated", document_id=doc_id, chunks=existing.get("chunks", 0),
                                   warnings=[f"zichtbaarheid nu {meta.visibility}"])
            return FileOutcome(source.relpath, "unchanged", document_id=doc_id, chunks=existing.get("chunks", 0))
        return _Plan(source, meta, doc_id, content_hash, forgotten, names_removed,
                     source_name, stored_at)

    def _parse(self, plan: _Plan) -> Parsed:
        try:
            return self.parser.parse(plan.source)
        except EmptyFileError:
            if not plan.meta.title:  # a scan without a text layer, and nothing else known about it: refused
                raise
            return Parsed([], title=plan.meta.title)  # front matter only: the title carries it (below)

    def _take_in(self, plan: _Plan, parsed: Parsed, report: IngestReport) -> FileOutcome:
        """Redact, title, chunk, embed and commit one parsed document."""
        source, meta, doc_id, content_hash = plan.source, plan.meta, plan.doc_id, plan.content_hash
        forgotten, names_removed = plan.forgotten, plan.names_removed
        elements = parsed.elements
        if forgotten:  # names of people removed on request do not come back with a new version of the file
            marked = self.catalog.marked(forgotten)
            redacted = [redact(e.text, marked) for e in elements]
            elements = [replace(e, text=text) for e, (text, _) in zip(elements, redacted, strict=True)]
            names_removed += sum(n for _, n in redacted)
        # after the redaction: a title made from the first words must not be cut in the middle of a name
        title, title_from_text = _title(meta.title, replace(parsed, elements=elements), source)
        if forgotten:
            title, n = redact(title, marked)
            names_removed += n
            for field in ("target_groups", "working_elements"):  # free texts of the metadata, as any text
                redacted = [redact(t, marked) for t in getattr(meta, field)]
                setattr(meta, field, [t for t, _ in redacted])
                names_removed += sum(n for _, n in redacted)
        doc = Document(id=doc_id, title=title, source=plan.source_name or source.relpath,
                       format=source.extension, meta=meta, elements=elements, content_hash=content_hash,
                       pages=parsed.pages, title_from_text=title_from_text)
        context_title = "" if title_from_text else doc.title
        chunks = chunk_elements(doc.id, context_title, doc.elements, self.embedder.token_count, self.chunk_tokens)
        if not chunks and (meta.title or any(e.is_title and e.text.strip() for e in doc.elements)):
            # a title and nothing more (an entry of a publication list, a file of front matter): nothing is
            # thrown away — the title is its text, so it can be found by what it is called
            doc.elements = [Element(text=doc.title)]
            chunks = chunk_elements(doc.id, context_title, doc.elements, self.embedder.token_count,
                                    self.chunk_tokens)
        if not chunks:
            raise EmptyFileError(f"{source.relpath}: geen tekst gevonden.", path=str(source.path))
        texts = [c.context_text() for c in chunks]
        has_title = says_something(context_title)
        t0 = time.perf_counter()
        # the title once more on its own: a signal of its own for the ranking (``matching.retrieve.TITLE``)
        embedded = self.embedder.embed_documents([*texts, doc.title] if has_title else texts)
        report.embed_seconds += time.perf_counter() - t0
        report.chunks_embedded += len(chunks)
        vectors, title_vector = embedded[:len(texts)], embedded[len(texts)] if has_title else None
        doc_vector = mean_vector(vectors)
        self._infer(doc, doc_vector)
        if not doc.meta.knowledge:
            doc.meta.knowledge = infer_knowledge(doc.meta.kind, self._roles(doc.meta.authors),
                                                 " ".join(e.text for e in doc.elements))
            doc.knowledge_inferred = True
        # a coordinator may have chosen while the file was read and embedded (seconds): asked again, and once more
        # after the commit for the milliseconds in between
        meta.visibility = self.catalog.chosen_visibility(doc_id) or meta.visibility
        # noted before this file's first write, cleared by the caller once all after its commit is done
        # (``settled``): a crash in between, while someone was removed, is finished later (``finish_interrupted``)
        self.catalog.ledger.put(TAKING_IN, doc_id, {"seen": markers_digest(forgotten), "content_hash": content_hash,
                                                    "writer": self.catalog.writer})
        self.catalog.write_chunks([
            Point(self.catalog.chunk_key(doc.id, content_hash, c.index), chunk_payload(doc, c),
                  dense={DENSE: vectors[i]}, sparse={SPARSE: self.bm25.embed_document(texts[i])})
            for i, c in enumerate(chunks)])
        record = document_record(doc, chunks=len(chunks), root=str(source.root),
                                 path=str(plan.stored_at or source.path),
                                 size=source.size, title_vector=title_vector)
        if names_removed:
            record["file_withheld"] = True
        # the store as it is now, not as it was when this file was planned: a coordinator or another writer
        # may have deleted or replaced the document while it was read and embedded
        existing, deleted = self.catalog.document(doc_id), self.catalog.tombstoned(doc_id)
        if existing:
            # before the commit (the cache is no source of truth: at worst a text is embedded again): an edit
            # that took a name out of a file must not leave that name's passage where a removal cannot find it
            evict(self.embedder, sorted(self._texts_of(existing) - {*texts, doc.title}))
        self.catalog.commit_document(record, doc_vector)
        chosen = self.catalog.chosen_visibility(doc_id)
        if chosen and chosen != meta.visibility:  # a coordinator chose while this file was read: their choice holds
            self.catalog.update_document(doc_id, {"visibility": chosen})
        if deleted is not None:
            self.catalog.lift_tombstone(doc_id)
        now_forgotten = self.catalog.forgotten()
        scrubbed = False
        if now_forgotten - forgotten:
            # someone was removed on request while this file was read: their removal ran before our commit,
            # so their scrub runs again over what we just wrote — and what we wrote first leaves the store's
            # files, which that removal may have rewritten already (noted as due before the scrub writes, so a
            # crash in between is finished at the next start: for a command-line ingest as for an upload)
            remover = self.remover()
            marked_now = remover.marked_by_markers(now_forgotten)
            # a rewrite of every passage costs minutes at scale, under the ingest lock: only when this file
            # names someone removed meanwhile (as a rule it does not)
            named = redact(json.dumps([texts, record], ensure_ascii=False, default=str), marked_now)[1] > 0
            with self.catalog.erasing("documents") if named else contextlib.nullcontext():
                done = remover.scrub(marked_now, documents=[doc_id])
            scrubbed = bool(done.documents or done.passages)
            if scrubbed and not named:  # a form of a name the look above missed: what was written first goes too
                with self.catalog.erasing("documents"):
                    pass
        return FileOutcome(source.relpath, "updated" if existing else "added", document_id=doc_id,
                           chunks=len(chunks), warnings=list(meta.warnings), scrubbed_again=scrubbed)

    def settled(self, outcome: FileOutcome) -> None:
        """All that follows a file's commit is done (its late scrub; for an upload, the file in place and
        redacted): the note ``_take_in`` left goes."""
        if outcome.document_id:
            self.catalog.ledger.remove(TAKING_IN, [outcome.document_id])

    def finish_interrupted(self, erase: Callable[[], object], *, now: float | None = None) -> int:
        """A file whose ingest stopped between its first write and ``settled`` (a crash) while someone was
        removed on request: what it wrote may name them, its late scrub never ran. Its passages not yet
        committed go, its committed document is scrubbed, and ``erase`` (the service's ``erase_residue``:
        the uploads folder, then the store's files) runs once for all. Notes of another live process are left
        alone: on a shared server only notes older than the orphans' grace are taken. Returns how many files
        were scrubbed."""
        grace = 0.0 if self.catalog.exclusive else ORPHAN_GRACE_SECONDS
        cutoff = (time.time() if now is None else now) - grace
        notes = [n for n in self.catalog.ledger.all(TAKING_IN)
                 if float(n.get("at", 0)) <= cutoff and n.get("writer") != self.catalog.writer]
        if not notes:
            return 0
        markers = self.catalog.forgotten()
        affected = [n for n in notes if n.get("seen") != markers_digest(markers)]
        if affected:
            self.catalog.erasure_due()  # before the first write: a crash now is finished at the next start
            remover = self.remover()
            for note in affected:
                doc_id = str(note["key"])
                self.catalog.drop_pending(doc_id, str(note.get("content_hash", "")))
                if self.catalog.document(doc_id) is not None:
                    remover.scrub(remover.marked_by_markers(markers), documents=[doc_id])
            erase()
        self.catalog.ledger.remove(TAKING_IN, [str(n["key"]) for n in notes])
        return len(affected)

    def _texts_of(self, record: dict[str, Any]) -> set[str]:
        """The texts embedded for a stored version of a document: its passages in context, and its title."""
        texts = {t for p in self.catalog.chunks_of(record["document_id"], record.get("content_hash"))
                 for t in Chunk.from_payload(p).embedded_texts()}
        return texts | ({record["title"]} if record.get("title_vector") else set())

    def remover(self) -> Remover:
        return Remover(self.catalog, self.embedder, self.bm25, self._profile_payload_text)

    def _raw_metadata(self, source: SourceFile) -> tuple[dict[str, Any], str]:
        """Front matter or sidecar metadata, and a hash of everything that makes up the document."""
        try:
            data = source.path.read_bytes()
            side = source.sidecar.read_bytes() if source.sidecar else b""
        except OSError as exc:
            raise UnreadableFileError(f"{source.relpath}: niet te lezen ({os_reason(exc)}).",
                                      path=str(source.path)) from exc
        digest = hashlib.sha256(data + b"\0" + side).hexdigest()
        raw: dict[str, Any] = {}
        if source.sidecar:
            raw.update(read_sidecar(source.sidecar))
        if source.extension in FRONT_MATTER_FORMATS:
            front, _ = split_front_matter(decode_text(data, source), source.relpath)
            raw = {**front, **raw}
        return raw, digest

    def _infer(self, doc: Document, doc_vector: np.ndarray | None) -> None:
        if doc_vector is None:
            return
        if not doc.meta.ateliers and self.taxonomy.ateliers:
            doc.meta.ateliers = infer_terms(doc_vector, self.taxonomy.ateliers, self._vectors("ateliers"))
            doc.ateliers_inferred = True
        if not doc.meta.themes and self.taxonomy.themes:
            doc.meta.themes = infer_terms(doc_vector, self.taxonomy.themes, self._vectors("themes"))
            doc.themes_inferred = True

    def _roles(self, people: Sequence[str]) -> list[str]:
        """The roles of the people named (by id or name) who have a public profile."""
        keys = people_keys(people)
        if not keys:
            return []
        # public profiles only: a label shown on the document must not tell what a hidden person is
        return [e.get("role", "") for e in self.catalog.experts(filter=Filter.where(keys=keys, visibility="public"),
                                                                fields=["role"])]

    def _vectors(self, kind: str) -> np.ndarray:
        if kind not in self._term_vectors:
            terms = getattr(self.taxonomy, kind)
            self._term_vectors[kind] = self.embedder.embed_documents(
                [f"{t.name}: {t.description}" for t in terms])
        return self._term_vectors[kind]

    def _drop_superseded(self, owners: dict[str, str]) -> list[FileOutcome]:
        """A file whose document id changed (an ``id:`` added later) leaves no record under its old id; each
        record dropped is an outcome ``removed``."""
        by_path = {path: doc_id for doc_id, path in owners.items()}
        out = []
        for record in list(self.catalog.documents(fields=["document_id", "path", "source", "content_hash",
                                                          "title", "title_vector"])):
            current = by_path.get(record.get("path", ""))
            if current is not None and current != record["document_id"]:
                self._drop(record)
                out.append(FileOutcome(record.get("source", record["path"]), "removed",
                                       document_id=record["document_id"],
                                       message=f"vervangen door id {current!r}"))
        return out

    # --- experts -------------------------------------------------------------------------------------

    def _profiles(self, source: SourceFile, owner: dict[str, str], report: IngestReport) -> list[FileOutcome]:
        try:
            loaded = load_profiles(source, self.taxonomy)
        except FileRejected as exc:
            return [_failed(exc, source)]
        except OSError as exc:
            return [_failed(UnreadableFileError(f"{source.relpath}: niet te lezen ({os_reason(exc)}).",
                                                path=str(source.path)), source)]
        writes: list[tuple[Expert, str, list[str]]] = []  # (what to store, its file hash, fields edited here)
        warnings = list(loaded.warnings)
        conflicts: list[dict[str, str]] = []
        unchanged = added = 0
        stored_before: set[str] = set()
        forgotten = self.catalog.forgotten()
        for expert in loaded.experts:
            if self.catalog.is_forgotten(expert.id, forgotten) or self.catalog.is_forgotten(expert.name, forgotten):
                warnings.append("een profiel is overgeslagen: deze persoon is op verzoek verwijderd")
                continue
            if expert.id in owner and owner[expert.id] != source.relpath:
                warnings.append(f"{expert.name}: id {expert.id!r} staat ook in {owner[expert.id]} (overgeslagen)")
                continue
            owner[expert.id] = source.relpath
            file_hash = hashlib.sha256(json.dumps(
                [PIPELINE_VERSION, expert.__dict__, str(source.root)], sort_keys=True).encode()).hexdigest()[:32]
            existing = self.catalog.expert(expert.id)
            if existing:
                stored_before.add(expert.id)
            if existing and existing.get("profile_hash") == file_hash:
                unchanged += 1  # the file did not change: whatever a coordinator changed since stays
                continue
            edited = list(existing.get("edited", [])) if existing else []
            merged, left = merge_profile(expert, existing or {}, edited)
            conflicts.extend({"file": source.relpath, "person": expert.id, "field": f} for f in left)
            added += existing is None
            writes.append((merged, file_hash, edited))
        people: list[dict[str, Any]] = []
        for expert, file_hash, _ in writes:
            written = self._write_from_file(expert, str(source.root), file_hash, report,
                                            known=expert.id in stored_before)
            if isinstance(written, str):
                warnings.extend([written] if written else [])
                continue
            merged, fresh = written
            fields = changed_fields(merged, fresh) if fresh else list(EDITABLE)
            if fields:  # a file that changed in ways no field shows (its folder, our pipeline) changed no one
                people.append({"id": merged.id, "change": "updated" if fresh else "added", "fields": fields,
                               "consent": merged.consent})
        if writes and self.catalog.forgotten() - forgotten:  # a removal ran meanwhile: it wins
            now_forgotten = self.catalog.forgotten()
            gone = [m.id for m, _, _ in writes if self.catalog.is_forgotten(m.id, now_forgotten)
                    or self.catalog.is_forgotten(m.name, now_forgotten)]
            if gone:  # the profiles just written leave the store's files too, as the removal's own did
                with self.catalog.erasing("profiles"):
                    self.catalog.delete_experts(gone)
            people = [p for p in people if p["id"] not in gone]
        status = "added" if added else "updated" if writes else "unchanged"
        warnings.extend(f"{c['person']}: veld '{c['field']}' is in de dienst aangepast; de waarde uit het bestand "
                        "is niet overgenomen" for c in conflicts)
        return [FileOutcome(source.relpath, status, kind="experts", chunks=len(writes) + unchanged,
                            message=f"{len(writes) + unchanged} profielen ({added} nieuw, "
                                    f"{len(writes) - added} gewijzigd)",
                            warnings=warnings, conflicts=conflicts, people=people)]

    def _write_from_file(self, expert: Expert, root: str, file_hash: str, report: IngestReport, *,
                         known: bool) -> tuple[Expert, dict[str, Any] | None] | str:
        """Write a profile from a file over what is stored *now*: merged again with what coordinators edited, and
        written only over the version it was merged with, so a save in the service that lands in between is merged
        in on the next try instead of overwritten. Returns what was written and the version it replaced, or why
        nothing was (a warning); nothing at all (``""``) when the person was removed meanwhile (``known``: they
        were stored when the file was read)."""
        for _ in range(_TRIES):
            fresh = self.catalog.expert(expert.id)
            if fresh is None and known:
                return ""
            edited = list(fresh.get("edited", [])) if fresh else []
            merged, _ = merge_profile(expert, fresh or {}, edited)
            if self._write_expert(merged, root=root, profile_hash=file_hash, edited=edited, report=report,
                                  expected=revision(fresh) if fresh else None) is not None:
                return merged, fresh
        return f"{expert.name}: tegelijk in de dienst gewijzigd; niet bijgewerkt (lees het bestand opnieuw in)"

    def _expert_point(self, expert: Expert, *, root: str, profile_hash: str, edited: Sequence[str],
                      report: IngestReport | None = None) -> Point:
        """A profile as stored: its payload and both vectors (a versioned write replaces the whole point)."""
        t0 = time.perf_counter()
        text = self._profile_text(expert)
        vector = self.embedder.embed_documents([text])[0]
        payload = {**expert_payload(expert, root=root, profile_hash=profile_hash), "edited": sorted(set(edited))}
        point = Point(self.catalog.expert_key(expert.id), payload, dense={DENSE: vector},
                      sparse={SPARSE: self.bm25.embed_document(text)})
        if report is not None:
            report.embed_seconds += time.perf_counter() - t0
        return point

    def _write_expert(self, expert: Expert, *, root: str, profile_hash: str, edited: Sequence[str],
                      report: IngestReport | None = None, expected: int | None = None) -> int | None:
        """Write one profile: a new one (``expected`` None: only if no profile has its id) or over the stored
        version ``expected``, checked and written in one step. Returns the version written; None: nothing was."""
        point = self._expert_point(expert, root=root, profile_hash=profile_hash, edited=edited, report=report)
        if expected is None:
            return self.catalog.create_expert(point)
        return self.catalog.replace_expert(point, expected)

    def save_expert(self, expert: Expert, *, expected: int | None = None, new: bool = False,
                    recreate_removed: bool = False) -> Saved:
        """Create or change one profile in the service (API, web, command line). The fields that differ from what
        is stored are marked as edited here: a profile file never overwrites them again (consent above all).

        - ``expected`` (an edit: the version a form or an ``If-Match`` was based on): only that version is
          replaced, checked and written in one step; a profile that is gone is a ``NotFoundError`` (an edit never
          creates), another version a ``StaleVersionError``. Nothing is written then.
        - ``new``: only a new profile (an existing id is a ``ConflictError``).
        - neither: create, or replace the version stored now.

        Someone removed on request (their id or name carries a marker) is created again only on purpose:
        ``recreate_removed``, and never by an edit; that lifts their markers. Names of other people removed on
        request are taken out of the expertise text on the way in, as from any text; a removal that runs while
        this is saved wins (the profile of the person it removes is deleted again)."""
        forgotten = self.catalog.forgotten()
        existing = self.catalog.expert(expert.id)
        id_marked = self.catalog.is_forgotten(expert.id, forgotten)
        removed = id_marked or (self.catalog.is_forgotten(expert.name, forgotten) and not _namesake(expert, existing))
        if removed and (expected is not None or not recreate_removed):
            raise _removed_error(expert, id_marked, edit=expected is not None)
        if expected is not None and existing is None:
            raise NotFoundError(f"Expert {expert.id!r} bestaat niet (meer).", hint="Maak een nieuw profiel aan.")
        if expected is not None and existing is not None and revision(existing) != expected:
            raise _stale(existing)
        if new and existing is not None:
            raise ConflictError(f"Er bestaat al een profiel met id {expert.id!r}; pas dat profiel aan of kies een "
                                "ander id.", field="id")
        if removed:  # they asked to come back themselves, and a coordinator confirmed it
            keys = sorted({name_key(expert.id), *name_variants(expert.name)})
            self.catalog.unforget(keys)
            forgotten = forgotten - {self.catalog.ledger.keyed(k) for k in keys}
        expert = self._without_removed_names(expert, forgotten)
        changed = changed_fields(expert, existing) if existing else list(EDITABLE)
        version = self._store_profile(expert, existing)
        for _ in range(_TRIES):
            now = self.catalog.forgotten()
            if not now - forgotten:
                break
            # someone was removed while this was written: their removal wins over this save
            if self._is_removed(expert, now - forgotten):
                self.catalog.delete_experts([expert.id])
                raise NotFoundError(f"Expert {expert.id!r} is zojuist op verzoek verwijderd; er is niets opgeslagen.")
            cleaned, forgotten = self._without_removed_names(expert, now), now
            stored = self.catalog.expert(expert.id)
            if cleaned == expert or stored is None or revision(stored) != version:
                break  # nothing to take out, or written over since (the removal's scrub took it out)
            try:
                expert, version = cleaned, self._store_profile(cleaned, stored)
            except (StaleVersionError, NotFoundError):
                break  # another write came first: it is checked against the markers on its own way in
        return Saved(changed, created=existing is None, recreated=removed, version=version)

    def _store_profile(self, expert: Expert, existing: dict[str, Any] | None) -> int:
        """Write a profile as a new profile (``existing`` None) or over the version ``existing``; returns the version
        written, or raises when another write came first."""
        if existing is None:
            created = self._write_expert(expert, root=API_ROOT, profile_hash="", edited=EDITABLE)
            if created is None:
                raise ConflictError(f"Er is zojuist al een profiel met id {expert.id!r} aangemaakt.", field="id",
                                    hint="Open dat profiel en pas het daar aan.")
            return created
        edited = sorted({*existing.get("edited", []), *changed_fields(expert, existing)})
        kept = replace(expert, source=existing.get("source") or expert.source)
        version = self._write_expert(kept, root=existing.get("root", API_ROOT),
                                     profile_hash=existing.get("profile_hash", ""), edited=edited,
                                     expected=revision(existing))
        if version is None:  # another save (or a removal) came first
            current = self.catalog.expert(expert.id)
            if current is None:
                raise NotFoundError(f"Expert {expert.id!r} bestaat niet (meer).")
            raise _stale(current)
        return version

    def _is_removed(self, expert: Expert, forgotten: frozenset[str]) -> bool:
        return self.catalog.is_forgotten(expert.id, forgotten) or self.catalog.is_forgotten(expert.name, forgotten)

    def _without_removed_names(self, expert: Expert, forgotten: frozenset[str]) -> Expert:
        if not forgotten:
            return expert
        text, n = redact(expert.expertise, self.catalog.marked(forgotten))
        return replace(expert, expertise=text) if n else expert

    def restore(self, profiles: Sequence[dict[str, Any]], questions: Sequence[dict[str, Any]]) -> None:
        """After a recreate: write back the profiles made or edited in the service and the question log,
        embedded by the current model (``Catalog.carry_over``)."""
        for p in profiles:
            expert = Expert(**{f: p[f] for f in EDITABLE if f in p}, id=p["expert_id"],
                            source=p.get("source", ""))
            point = self._expert_point(expert, root=p.get("root", API_ROOT), profile_hash=p.get("profile_hash", ""),
                                       edited=p.get("edited", []))
            # at the version it had: a form opened before the recreate is not stale for that alone
            self.catalog.write_experts([replace(point, payload={**point.payload, REV: revision(p)})])
        for q in questions:
            self.catalog.rewrite_questions([Point(q["question_id"], q,
                                                   dense={DENSE: self.embedder.embed_query(q["text"])})])

    def forget_expert(self, expert_id: str, *, without_profile: bool = False) -> dict[str, int]:
        """Remove a person completely (``ingestion.removal``)."""
        return self.remover().forget_person(expert_id, without_profile=without_profile)

    def _profile_payload_text(self, payload: dict[str, Any]) -> str:
        fields = {f: payload.get(f) for f in ("id", "name", "role", "organization", "ateliers", "themes",
                                              "expertise") if payload.get(f) is not None}
        return self._profile_text(Expert(**{**fields, "id": payload.get("expert_id", "")}))

    def _profile_text(self, expert: Expert) -> str:
        labels = [self.taxonomy.name_of(s) for s in (*expert.ateliers, *expert.themes)]
        return expert.profile_text() + ("\n" + ", ".join(labels) if labels else "")

    # --- prune ---------------------------------------------------------------------------------------

    def _prune(self, found: Discovery, expert_owner: dict[str, str]) -> list[FileOutcome]:
        """Remove documents (and profiles) whose files are gone from the folders that were ingested."""
        folders = [str(r) + "/" for r in found.roots if r.is_dir()]
        out = []
        for record in list(self.catalog.documents(fields=["document_id", "path", "source", "content_hash", "title",
                                                          "title_vector"])):
            path = record.get("path", "")
            if any(path.startswith(f) for f in folders) and not Path(path).exists():
                self._drop(record)
                out.append(FileOutcome(record.get("source", path), "removed", document_id=record["document_id"]))
        read_ok = {o for o in expert_owner.values()}
        gone, kept = [], []
        for expert in list(self.catalog.experts(fields=["expert_id", "root", "source", "edited"])):
            root = expert.get("root", "") + "/"
            if root not in folders:
                continue
            source_gone = not (Path(expert["root"]) / expert.get("source", "")).exists()
            dropped_from_file = expert.get("source") in read_ok and expert["expert_id"] not in expert_owner
            if (source_gone or dropped_from_file) and expert.get("edited"):
                kept.append(expert["expert_id"])  # a coordinator worked on it in the service: not silently lost
            elif source_gone or dropped_from_file:
                gone.append(expert["expert_id"])
        if gone:
            self.catalog.delete_experts(gone)
            out.append(FileOutcome("(expertprofielen)", "removed", kind="experts", chunks=len(gone),
                                   message=f"{len(gone)} profielen verwijderd: " + ", ".join(gone),
                                   people=[{"id": g, "change": "removed", "fields": []} for g in gone]))
        if kept:
            out.append(FileOutcome("(expertprofielen)", "unchanged", kind="experts", chunks=len(kept),
                                   warnings=[f"{len(kept)} profielen staan niet meer in hun bestand maar zijn in de "
                                             "dienst bewerkt; ze blijven: " + ", ".join(kept)]))
        return out


def _stale(current: dict[str, Any]) -> StaleVersionError:
    return StaleVersionError(
        f"Het profiel van {current.get('name', '')} is intussen door iemand anders gewijzigd; je wijziging is niet "
        "opgeslagen.", version=revision(current), current=current,
        hint="Bekijk het profiel zoals het nu is en breng je wijziging daarin opnieuw aan.")


def _namesake(expert: Expert, existing: dict[str, Any] | None) -> bool:
    """Whether ``expert`` keeps the name its stored profile already has — someone else than a removed person with
    the same name, who may still be edited (their own id carries no marker)."""
    return existing is not None and name_key(existing.get("name", "")) == name_key(expert.name)


def _removed_error(expert: Expert, id_marked: bool, *, edit: bool) -> NotFoundError | ConflictError:
    """Why a profile of someone removed on request is not saved: an edit of them (a form opened before their
    removal, a retried PUT) finds nobody; a new profile with their id or name needs an explicit confirmation."""
    if edit and id_marked:
        return NotFoundError(f"Expert {expert.id!r} bestaat niet (meer): deze persoon is op verzoek verwijderd.")
    if edit:
        return ConflictError("Deze naam hoort bij iemand die op verzoek is verwijderd; een bestaand profiel krijgt "
                             "die naam niet.", field="name",
                             hint="Vraagt die persoon zelf om terug te komen? Maak dan een nieuw profiel aan.")
    return ConflictError(f"{expert.name} is op verzoek verwijderd. Maak het profiel alleen opnieuw aan als deze "
                         "persoon daar zelf om vraagt, en bevestig dat uitdrukkelijk.", field="recreate_removed",
                         hint="Vink de bevestiging aan (API: \"recreate_removed\": true).")


def _failed(exc: FileRejected, source: SourceFile | None = None) -> FileOutcome:
    path = source.relpath if source else (exc.path or "?")
    message = exc.message if not exc.hint else f"{exc.message} {exc.hint}"
    return FileOutcome(path, "failed", message=message)


def _title(given: str | None, parsed: Parsed, source: SourceFile) -> tuple[str, bool]:
    """The title and whether it was made from the text: the given one unless it is an id (``train000-0``), the
    file's own or its first heading when they name a subject (not a PDF's "Microsoft Word - 2031.docx", not a
    report's first heading "Inleiding"), a file name that reads as words, or else the text's first words."""
    if given and reads_as_words(given):
        return given, False
    own = clean(parsed.title or "")
    if says_something(own):
        return own, False
    for element in parsed.elements[:5]:
        if element.is_title and 3 <= len(element.text) <= 150 and says_something(element.text):
            return element.text, False
    made = titled(source.path.name.split(".")[0], (e.text for e in parsed.elements[:5]))
    return made.text or source.path.name, made.from_text
