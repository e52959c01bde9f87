"""Background ingestion of uploaded files: one worker thread, jobs that report progress and per-file errors.

Uploaded files are staged per job and ingested from there; a file takes the place of an earlier version
(``DATA_DIR/files/NAME``) only after its passages are committed, so a replacement that fails to ingest
leaves the earlier file, its sidecar and its passages as they were. A file name held by another document is
never taken over: the upload is stored under the name with a number added (``verslag-2.pdf``), and the job
says so. Job records live in the store (the
ledger), so every worker can report on every job.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from core.errors import FileRejected, KennismakelaarError, NotFoundError
from core.names import slugify
from core.store.catalog import Catalog
from ingestion.discover import discover
from ingestion.pipeline import FileOutcome, Ingestor

log = logging.getLogger("kennismakelaar.jobs")
INGESTING = threading.Lock()  # one file at a time per process: the upload worker, and a closed request's outcome
JOB_RETENTION_DAYS = 30


@dataclass
class Job:
    id: str
    files: int
    status: str = "queued"
    done: int = 0
    documents: list[str] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    notes: list[dict[str, str]] = field(default_factory=list)  # taken in, with something to know (another name)
    created_at: str = field(default_factory=lambda: _now())
    finished_at: str | None = None


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def safe_name(name: str) -> str:
    """A file name without folders (Windows' or ours) or odd characters, keeping its extension.

    >>> safe_name("../../etc/Verslag mei 2025.PDF"), safe_name(r"C:\\map\\verslag.docx")
    ('verslag-mei-2025.pdf', 'verslag.docx')
    """
    base = Path(name.replace("\\", "/")).name
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    return (slugify(stem) or "bestand") + (f".{slugify(ext)}" if ext else "")


def files_dir(data_dir: Path) -> Path:
    """Where uploaded files live (resolved: compared with the resolved paths files are stored under)."""
    return (data_dir / "files").resolve()


def ingest_text(ingestor: Ingestor, data_dir: Path, name: str, text: str) -> str:
    """Ingest one file the service wrote itself (a closed request's outcome) as an upload, now rather than in
    the background: it is findable when this returns. Returns the document id; ``FileRejected`` if refused."""
    staging = (data_dir / "staging" / uuid.uuid4().hex).resolve()
    staging.mkdir(parents=True)
    try:
        staged = staging / safe_name(name)
        staged.write_text(text, "utf-8")
        final = files_dir(data_dir) / staged.name
        final.parent.mkdir(parents=True, exist_ok=True)
        (source,) = discover([staged], max_bytes=ingestor.max_bytes).documents
        with INGESTING:
            seen = ingestor.catalog.forgotten()
            outcome = ingestor.ingest_document(replace(source, root=final.parent), restore_deleted=True,
                                               stored_at=final)
            _put_in_place(staged, final)
            redact_if_removed_meanwhile(ingestor.catalog, outcome, final, seen)
            ingestor.settled(outcome)
        return outcome.document_id or ""
    finally:
        shutil.rmtree(staging, ignore_errors=True)


class JobRunner:
    def __init__(self, data_dir: Path, ingestor: Callable[[], Ingestor], *,
                 after: Callable[[], None] | None = None) -> None:
        """``after``: run when a job took in a document (new knowledge for whoever follows a question)."""
        self.files_dir = files_dir(data_dir)
        self._after = after
        self.staging = (data_dir / "staging").resolve()
        for folder in (self.files_dir, self.staging):
            folder.mkdir(parents=True, exist_ok=True)
        self._ingestor = ingestor
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest")
        self._futures: list[Future[None]] = []

    def submit(self, files: Sequence[tuple[str, bytes]], metadata: dict[str, Any] | None = None, *,
               then: Callable[[Job], None] | None = None,
               committed: Callable[[FileOutcome], None] | None = None) -> Job:
        """Stage the files and queue their ingestion; returns the job at once. Two files that would be
        stored under one name are refused for the second, by name (nothing overwrites anything). ``then`` runs
        after a job that took in at least one document (a meeting's verslag links the meeting then);
        ``committed`` right after each document that was added or changed is in the store (the audit log: a job
        stopped half-way leaves no committed document unlogged), never for an unchanged one."""
        job = Job(id=uuid.uuid4().hex, files=len(files))
        folder = self.staging / job.id
        folder.mkdir(parents=True)
        taken: dict[str, str] = {}
        for name, data in files:
            stored = safe_name(name)
            if stored in taken:
                job.errors.append({"file": _shown(name), "message": (
                    f"{_shown(name)} zou onder dezelfde naam ({stored}) worden bewaard als {_shown(taken[stored])} "
                    "in deze upload; hernoem een van beide en upload het opnieuw.")})
                job.done += 1
                continue
            taken[stored] = name
            target = folder / stored
            target.write_bytes(data)
            if metadata:
                Path(f"{target}.yaml").write_text(yaml.safe_dump(metadata, allow_unicode=True), "utf-8")
        self._save(job)
        self._futures.append(self._pool.submit(self._run, job, then, committed))
        return job

    def _run(self, job: Job, then: Callable[[Job], None] | None = None,
             committed: Callable[[FileOutcome], None] | None = None) -> None:
        job.status = "running"
        self._save(job)
        staged = self.staging / job.id
        try:
            ingestor = self._ingestor()
            owners: dict[str, str] = {}
            for path in sorted(p for p in staged.iterdir() if not p.name.endswith(".yaml")):
                with INGESTING:
                    self._one(ingestor, path, owners, job, committed)
                job.done += 1
                self._save(job)
            if then is not None and job.documents:
                try:
                    then(job)
                except KennismakelaarError as exc:  # the files are in; only what follows did not happen
                    job.errors.append({"file": "", "message": exc.message})
            if self._after is not None and job.documents:
                self._after()
            job.status = "done"
        except Exception as exc:  # a job must end with a status, whatever happened
            log.error("ingest job failed: %s", type(exc).__name__)  # not its text: it may carry a path
            job.status = "failed"
            job.errors.append({"file": "", "message": "De verwerking is afgebroken door een interne fout."})
        finally:
            shutil.rmtree(staged, ignore_errors=True)
            job.finished_at = _now()
            self._save(job)

    def _one(self, ingestor: Ingestor, staged: Path, owners: dict[str, str], job: Job,
             committed: Callable[[FileOutcome], None] | None = None) -> None:
        """Ingest one staged file as if it lay in the uploads folder; move it there only after success."""
        asked = staged.name
        staged = self._own_name(ingestor, staged)
        final = self.files_dir / staged.name
        found = discover([staged], max_bytes=ingestor.max_bytes)
        for rejected in found.rejected:
            job.errors.append({"file": asked, "message": rejected.message})
        for source in found.documents:
            source = replace(source, root=self.files_dir)
            seen = ingestor.catalog.forgotten()
            try:
                outcome = ingestor.ingest_document(source, owners, restore_deleted=True, stored_at=final)
            except FileRejected as exc:
                job.errors.append({"file": asked, "message": exc.message})
                continue  # the earlier version, if any, stays as it was
            _put_in_place(staged, final)
            redact_if_removed_meanwhile(ingestor.catalog, outcome, final, seen)
            ingestor.settled(outcome)
            if outcome.document_id:
                job.documents.append(outcome.document_id)
            if staged.name != asked:
                job.notes.append({"file": asked, "message": (
                    f"Er is al een ander document met de naam {asked}; dit bestand is opgenomen als {staged.name}. "
                    "Bedoelde je een nieuwe versie van dat document? Verwijder dan beide en upload dit bestand "
                    "opnieuw.")})
            if committed is not None and outcome.document_id and outcome.status in ("added", "updated"):
                committed(outcome)

    def _own_name(self, ingestor: Ingestor, staged: Path) -> Path:
        """The staged file, renamed if its name belongs to another document: the name is the document's id (unless
        its metadata gives one), so taking it would replace that document's passages and file. The same file
        again is the same document (unchanged, or its metadata updated); metadata naming a document's ``id``
        replaces that document, in its own file."""
        data = staged.read_bytes()
        sidecar = Path(f"{staged}.yaml")
        meta = yaml.safe_load(sidecar.read_text("utf-8")) if sidecar.exists() else None
        explicit = str(meta["id"]) if isinstance(meta, dict) and meta.get("id") else None
        own_file = (ingestor.catalog.document(explicit) or {}).get("path") if explicit else None
        stem, dot, ext = staged.name.rpartition(".")
        if not dot:
            stem, ext = staged.name, ""
        for n in itertools.count(1):
            name = staged.name if n == 1 else f"{stem}-{n}{dot}{ext}"
            final = self.files_dir / name
            if n > 1 and staged.with_name(name).exists():
                continue  # another file of this upload, still to come, has that name
            if final.is_file() and final.read_bytes() == data:
                break
            file_free = not final.exists() or own_file == str(final)
            if file_free and (explicit or ingestor.catalog.document(name) is None):
                break
        if name == staged.name:
            return staged
        moved = staged.with_name(name)
        os.replace(staged, moved)
        if sidecar.exists():
            os.replace(sidecar, Path(f"{moved}.yaml"))
        return moved

    def get(self, job_id: str) -> Job:
        if not (len(job_id) == 32 and job_id.isalnum()):
            raise NotFoundError(f"Taak {job_id!r} bestaat niet.")
        found = self._ingestor().catalog.ledger.get("job", job_id)
        if found is None:
            raise NotFoundError(f"Taak {job_id!r} bestaat niet.")
        names = {f.name for f in fields(Job)}
        return Job(**{k: v for k, v in found.items() if k in names})

    def _save(self, job: Job) -> None:
        with self._lock:
            self._ingestor().catalog.ledger.put("job", job.id, asdict(job))

    def expired(self, days: int = JOB_RETENTION_DAYS) -> list[str]:
        """The job records (they name files, sometimes people) from before the day ``days`` ago — by the day, as
        contact requests, so that the ledger's files are rewritten for them once a day (``retention.sweep``)."""
        cutoff = dt.datetime.combine(dt.datetime.now(dt.UTC).date() - dt.timedelta(days=days), dt.time(),
                                     dt.UTC).timestamp()
        return [j["key"] for j in self._ingestor().catalog.ledger.all("job") if float(j.get("at", 0)) < cutoff]

    def forget(self, job_ids: Sequence[str]) -> None:
        self._ingestor().catalog.ledger.remove("job", job_ids)

    def wait(self, timeout: float | None = None) -> None:
        """Block until every queued job has finished (tests, shutdown)."""
        for future in list(self._futures):
            future.result(timeout=timeout)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)


def redact_if_removed_meanwhile(catalog: Catalog, outcome: FileOutcome, stored: Path, seen: frozenset[str]) -> None:
    """Someone was removed on request while a file was taken in (markers other than ``seen``, read before it).
    Their removal redacted the uploads folder, perhaps before this file was in it: the file, now ``stored``
    there, is redacted as the removal's own erasure does (a text in place; a binary original naming them is
    deleted, its redacted passages stay) — whether this ingest scrubbed it again (``scrubbed_again``) or the
    removal's own scrub reached the document first (then the record says ``file_withheld``)."""
    if not outcome.scrubbed_again:
        if catalog.forgotten() == seen:
            return
        record = catalog.document(outcome.document_id) if outcome.document_id else None
        if not (record and record.get("file_withheld")):
            return
    from service.erasure import redact_folder  # it stands on this module (``files_dir``)

    redact_folder(stored.parent, catalog.marked(), [str(stored)])


def _put_in_place(staged: Path, final: Path) -> None:
    """The committed version takes its place, with its own sidecar or none (never the earlier one's)."""
    os.replace(staged, final)
    sidecar, old_sidecar = Path(f"{staged}.yaml"), Path(f"{final}.yaml")
    if sidecar.exists():
        os.replace(sidecar, old_sidecar)
    else:
        old_sidecar.unlink(missing_ok=True)


def _shown(name: str) -> str:
    """An uploaded name as the user knows it, without folders."""
    return Path(name.replace("\\", "/")).name or "(zonder naam)"
