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
from core.errors import EmptyFileError, FileRejected, MetadataError, UnreadableFileError
from core.headings import clean, reads_as_words, says_something
from core.models import API_ROOT, Chunk, Document, DocumentMeta, Element, Expert, SourceFile
from core.names import name_key, name_variants, redact
from core.store.catalog import Catalog
from core.store.types import DENSE, SPARSE, Filter, Point
from core.taxonomy import Taxonomy
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


# a planned document: its outcome already (unchanged, skipped, refused), its plan and its parse under way, or
# the error its planning raised
_Step = FileOutcome | tuple[_Plan, Future[Parsed]] | Exception


class Ingestor:
    """Runs the pipeline against one catalog with one embedder."""

    def __init__(self, catalog: Catalog, embedder: Embedder, taxonomy: Taxonomy, *, bm25: DutchBm25 | None = None,
                 chunk_tokens: int = 200, max_bytes: int = 50 * 1024 * 1024, exclude: Sequence[Path] = (),
                 parser: Parser | IsolatedParser | None = None) -> None:
        if chunk_tokens < 20:
            raise ValueError("chunk_tokens must be at least 20")
        self.catalog = catalog
        self.embedder = embedder
        self.taxonomy = taxonomy
        self.bm25 = bm25 or DutchBm25()
        # a passage plus its title/section context must fit the model's window
        self.chunk_tokens = min(chunk_tokens, embedder.max_tokens * 3 // 5)
        self.max_bytes = max_bytes
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
                        take([self._take_in(plan, parsing.result(), report)])
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
        existing = self.catalog.document(doc_id)
        if existing and existing.get("content_hash") == content_hash:
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
        if deleted is not None:
            self.catalog.lift_tombstone(doc_id)
        now_forgotten = self.catalog.forgotten()
        if now_forgotten - forgotten:
            # someone was removed on request while this file was read: their removal ran before our commit,
            # so their scrub runs again over what we just wrote
            remover = self.remover()
            remover.scrub(remover.marked_by_markers(now_forgotten), documents=[doc_id])
        return FileOutcome(source.relpath, "updated" if existing else "added", document_id=doc_id,
                           chunks=len(chunks), warnings=list(meta.warnings))

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
        for merged, file_hash, _ in writes:
            # read again right before writing: a coordinator may have edited (or removed) them meanwhile
            fresh = self.catalog.expert(merged.id)
            if fresh is None and merged.id in stored_before:
                continue  # removed in the service while this file was read
            edited = list(fresh.get("edited", [])) if fresh else []
            merged, _ = merge_profile(merged, fresh or {}, edited)
            self._write_expert(merged, root=str(source.root), profile_hash=file_hash, edited=edited, report=report)
            fields = changed_fields(merged, fresh) if fresh else list(EDITABLE)
            if fields:  # a file that changed in ways no field shows (its folder, our pipeline) changed no one
                people.append({"id": merged.id, "change": "updated" if fresh else "added", "fields": fields,
                               "consent": merged.consent})
        if writes and self.catalog.forgotten() - forgotten:  # a removal ran meanwhile: it wins
            now_forgotten = self.catalog.forgotten()
            gone = [m.id for m, _, _ in writes if self.catalog.is_forgotten(m.id, now_forgotten)
                    or self.catalog.is_forgotten(m.name, now_forgotten)]
            self.catalog.delete_experts(gone)
            people = [p for p in people if p["id"] not in gone]
        status = "added" if added else "updated" if writes else "unchanged"
        warnings.extend(f"{c['person']}: veld '{c['field']}' is in de dienst aangepast; de waarde uit het bestand "
                        "is niet overgenomen" for c in conflicts)
        return [FileOutcome(source.relpath, status, kind="experts", chunks=len(writes) + unchanged,
                            message=f"{len(writes) + unchanged} profielen ({added} nieuw, "
                                    f"{len(writes) - added} gewijzigd)",
                            warnings=warnings, conflicts=conflicts, people=people)]

    def _write_expert(self, expert: Expert, *, root: str, profile_hash: str, edited: Sequence[str],
                      report: IngestReport | None = None) -> None:
        t0 = time.perf_counter()
        text = self._profile_text(expert)
        vector = self.embedder.embed_documents([text])[0]
        payload = {**expert_payload(expert, root=root, profile_hash=profile_hash), "edited": sorted(set(edited))}
        self.catalog.write_experts([Point(self.catalog.expert_key(expert.id), payload, dense={DENSE: vector},
                                          sparse={SPARSE: self.bm25.embed_document(text)})])
        if report is not None:
            report.embed_seconds += time.perf_counter() - t0

    def save_expert(self, expert: Expert) -> list[str]:
        """Create or change one profile in the service (API or web). The fields that differ from what is
        stored are marked as edited here: a profile file never overwrites them again (consent above all).
        Returns the fields that changed."""
        forgotten = self.catalog.forgotten()
        if self.catalog.is_forgotten(expert.id, forgotten) or self.catalog.is_forgotten(expert.name, forgotten):
            self.catalog.unforget(sorted({name_key(expert.id), *name_variants(expert.name)}))  # came back themselves
        existing = self.catalog.expert(expert.id)
        if existing is None:
            changed = list(EDITABLE)
            self._write_expert(expert, root=API_ROOT, profile_hash="", edited=changed)
            return changed
        changed = changed_fields(expert, existing)
        edited = sorted({*existing.get("edited", []), *changed})
        kept = replace(expert, source=existing.get("source") or expert.source)
        self._write_expert(kept, root=existing.get("root", API_ROOT), profile_hash=existing.get("profile_hash", ""),
                           edited=edited)
        return changed

    def restore(self, profiles: Sequence[dict[str, Any]], questions: Sequence[dict[str, Any]]) -> None:
        """After a recreate: write back the profiles made or edited in the service and the question log,
        embedded by the current model (``Catalog.carry_over``)."""
        for p in profiles:
            expert = Expert(**{f: p[f] for f in EDITABLE if f in p}, id=p["expert_id"],
                            source=p.get("source", ""))
            self._write_expert(expert, root=p.get("root", API_ROOT), profile_hash=p.get("profile_hash", ""),
                               edited=p.get("edited", []))
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
