"""The one intake of uploaded files, for the API and the web form alike: supported types only, each file
within the size limit, then staged as a background job (``service.jobs``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from litestar.datastructures import UploadFile

from core.errors import FileTooLargeError, UnsupportedFileError, ValidationError
from ingestion.discover import DOCUMENT_FORMATS
from ingestion.pipeline import FileOutcome
from service.audit import AuditLog
from service.coordinators import Actor
from service.jobs import Job, JobRunner


def uploaded_files(value: Any) -> list[UploadFile]:
    """The files of a multipart field (one, several or none), without nameless parts."""
    items = value if isinstance(value, list) else [value] if value is not None else []
    return [f for f in items if isinstance(f, UploadFile) and f.filename]


async def take_in(files: Sequence[UploadFile], jobs: JobRunner, *, max_bytes: int,
                  metadata: dict[str, Any] | None = None, name: str | None = None,
                  then: Callable[[Job], None] | None = None, actor: Actor, audit: AuditLog) -> Job:
    """Check every file (415 for a type we do not read, 413 over the limit; nothing is staged then), and
    queue their ingestion. The job is returned at once. ``name``: the one file is stored under this name (and
    its own extension); ``then``: see ``JobRunner.submit``. Each document added or changed is logged as
    ``actor``'s upload as soon as it is in the store."""
    if not files:
        raise ValidationError("Kies een of meer bestanden (veld 'files').", field="files")
    unsupported = [f.filename for f in files if Path(f.filename or "").suffix.lower().lstrip(".") not in
                   DOCUMENT_FORMATS]
    if unsupported:
        raise UnsupportedFileError(f"Niet ondersteund: {', '.join(unsupported)}.",
                                   hint="Ondersteund: " + ", ".join(sorted(DOCUMENT_FORMATS)) + ".")
    staged: list[tuple[str, bytes]] = []
    for f in files:
        content = await f.read()
        if len(content) > max_bytes:
            raise FileTooLargeError(f"{f.filename}: te groot ({len(content) / 1e6:.1f} MB; de grens is "
                                    f"{max_bytes // (1024 * 1024)} MB).")
        staged.append((name + Path(f.filename or "").suffix.lower() if name else f.filename, content))

    def logged(outcome: FileOutcome) -> None:
        audit.record(actor, "document-geupload", "document", outcome.document_id or "")

    return jobs.submit(staged, metadata, then=then, committed=logged)
