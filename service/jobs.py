"""Background ingestion of uploaded files: one worker thread, jobs that report progress and per-file errors.

Uploaded files are staged per job and moved into ``DATA_DIR/files`` when the job starts, so an upload never
overwrites a file that an earlier job is still reading. Jobs are kept in memory and mirrored as JSON in
``DATA_DIR/jobs`` (another worker process can read them when the store is a Qdrant server).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ingestion.discover import discover
from ingestion.names import slugify
from ingestion.pipeline import Ingestor
from service.errors import FileRejected, NotFoundError

log = logging.getLogger("kennismakelaar.jobs")


@dataclass
class Job:
    id: str
    files: int
    status: str = "queued"
    done: int = 0
    documents: list[str] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    created_at: str = field(default_factory=lambda: _now())
    finished_at: str | None = None


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def safe_name(name: str) -> str:
    """A file name without folders or odd characters, keeping its extension.

    >>> safe_name("../../etc/Verslag mei 2025.PDF")
    'verslag-mei-2025.pdf'
    """
    base = Path(name.replace("\\\\", "/")).name
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    return (slugify(stem) or "bestand") + (f".{slugify(ext)}" if ext else "")


class JobRunner:
    def __init__(self, data_dir: Path, ingestor: Callable[[], Ingestor]) -> None:
        self.files_dir = (data_dir / "files").resolve()  # compared with the resolved paths files are stored under
        self.staging = data_dir / "staging"
        self.jobs_dir = data_dir / "jobs"
        for folder in (self.files_dir, self.staging, self.jobs_dir):
            folder.mkdir(parents=True, exist_ok=True)
        self._ingestor = ingestor
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest")
        self._futures: list[Future[None]] = []

    def submit(self, files: Sequence[tuple[str, bytes]], metadata: dict[str, Any] | None = None) -> Job:
        """Stage the files and queue their ingestion; returns the job at once."""
        job = Job(id=uuid.uuid4().hex, files=len(files))
        folder = self.staging / job.id
        folder.mkdir(parents=True)
        for name, data in files:
            target = folder / safe_name(name)
            target.write_bytes(data)
            if metadata:
                Path(f"{target}.yaml").write_text(yaml.safe_dump(metadata, allow_unicode=True), "utf-8")
        self._save(job)
        self._futures.append(self._pool.submit(self._run, job))
        return job

    def _run(self, job: Job) -> None:
        job.status = "running"
        self._save(job)
        staged = self.staging / job.id
        try:
            names = sorted(p.name for p in staged.iterdir() if not p.name.endswith(".yaml"))
            for path in sorted(staged.iterdir()):
                shutil.move(str(path), self.files_dir / path.name)  # replaces an earlier version
            ingestor = self._ingestor()
            owners: dict[str, str] = {}
            for name in names:
                self._one(ingestor, self.files_dir / name, owners, job)
                job.done += 1
                self._save(job)
            job.status = "done"
        except Exception as exc:  # a job must end with a status, whatever happened
            log.exception("ingest job %s failed: %s", job.id, type(exc).__name__)
            job.status = "failed"
            job.errors.append({"file": "", "message": "De verwerking is afgebroken door een interne fout."})
        finally:
            shutil.rmtree(staged, ignore_errors=True)
            job.finished_at = _now()
            self._save(job)

    def _one(self, ingestor: Ingestor, path: Path, owners: dict[str, str], job: Job) -> None:
        found = discover([path], max_bytes=ingestor.max_bytes)
        for rejected in found.rejected:
            job.errors.append({"file": path.name, "message": rejected.message})
        for source in found.documents:
            try:
                outcome = ingestor.ingest_document(source, owners)
                if outcome.document_id:
                    job.documents.append(outcome.document_id)
            except FileRejected as exc:
                job.errors.append({"file": path.name, "message": exc.message})
                path.unlink(missing_ok=True)
                Path(f"{path}.yaml").unlink(missing_ok=True)

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is not None:
            return job
        path = self.jobs_dir / f"{job_id}.json"
        if len(job_id) == 32 and job_id.isalnum() and path.exists():
            return Job(**json.loads(path.read_text("utf-8")))
        raise NotFoundError(f"Taak {job_id!r} bestaat niet.")

    def _save(self, job: Job) -> None:
        with self._lock:
            self._jobs[job.id] = job
        (self.jobs_dir / f"{job.id}.json").write_text(json.dumps(asdict(job)), "utf-8")

    def wait(self, timeout: float | None = None) -> None:
        """Block until every queued job has finished (tests, shutdown)."""
        for future in list(self._futures):
            future.result(timeout=timeout)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)
