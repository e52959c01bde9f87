"""Erasure down to the byte, after a removal on request has taken a person out of what the service serves.

The store and the folders keep more than they serve: the engine deletes softly (old payloads stay in its
write-ahead log and pages), and the uploads folder holds the files as they came in — kennisvraag outcomes,
verslagen with their sidecars, any upload that names the person. ``erase_residue`` goes over both:

- every text file in the uploads folder is redacted in place (the same ``redact`` as the store's passages);
  a binary file (PDF, Word, …) of a document the removal touched is deleted — its passages stay, redacted;
- the store rewrites its collections into fresh files (``Store.erase_history``); the embedding cache drops
  the person's vectors as the scrub evicts them (secure delete, its log emptied).

What no program can reach is said in the README ("Erasure"): copies made before (backups, exports), a Qdrant
server's own log, snapshots and replicas, and blocks of the disk the file system has not reused yet.
"""

from __future__ import annotations

import logging
import os
import time
import unicodedata
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml

from core.names import REDACTED, redact
from core.safe_yaml import load_yaml_strict
from service.container import Kennismakelaar
from service.jobs import files_dir

log = logging.getLogger(__name__)

# what is read and rewritten as text; anything else is a binary the service cannot redact in place
TEXT_SUFFIXES = frozenset({".md", ".markdown", ".txt", ".text", ".yaml", ".yml", ".csv", ".json", ".jsonl",
                           ".html", ".htm", ".xml", ".rst"})


def erase_residue(km: Kennismakelaar) -> dict[str, int]:
    """Redact the uploads folder and rewrite the store's files; returns how many files were rewritten and
    deleted (the seconds each part took go to the log)."""
    started = time.perf_counter()
    catalog = km.catalog()
    marked = catalog.marked()
    withheld = {str(r.get("path", "")) for r in catalog.documents(fields=["path", "file_withheld"])
                if r.get("file_withheld")}
    data_dir = km.settings.store.data_dir
    try:  # the uploads, and files of upload jobs still waiting in staging
        redacted = deleted = 0
        for folder in (files_dir(data_dir), (data_dir / "staging").resolve()):
            r, d = redact_folder(folder, marked, withheld)
            redacted, deleted = redacted + r, deleted + d
        files_seconds = time.perf_counter() - started
    finally:  # whatever the files did, the store's own history goes
        catalog.erase_history()
    log.info("erasure: %d files redacted, %d deleted in %.2f s; store rewritten in %.2f s", redacted, deleted,
             files_seconds, time.perf_counter() - started - files_seconds)
    return {"files_redacted": redacted, "files_deleted": deleted}


def redact_folder(folder: Path, marked: Callable[[str], bool], withheld: Iterable[str]) -> tuple[int, int]:
    """Redact every text file under ``folder``; delete the binary files among ``withheld`` (paths of documents
    whose original names a removed person). Returns (files rewritten, files deleted)."""
    if not folder.is_dir():
        return 0, 0
    gone = {str(Path(p).resolve()) for p in withheld if p}
    rewritten = deleted = 0
    for path in sorted(folder.rglob("*")):
        try:
            if path.is_symlink() or not path.is_file():
                continue
            if path.name.endswith(".redacting"):  # left by a crash half-way through a rewrite: the old text
                path.unlink()
            elif path.suffix.lower() in TEXT_SUFFIXES and _readable(path):
                rewritten += _redact_file(path, marked)
            elif str(path.resolve()) in gone:
                path.unlink()
                deleted += 1
        except FileNotFoundError:  # an upload job moved or cleaned it meanwhile
            continue
    return rewritten, deleted


def _readable(path: Path) -> bool:
    try:
        path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _redact_file(path: Path, marked: Callable[[str], bool]) -> int:
    raw = unicodedata.normalize("NFC", path.read_bytes().decode("utf-8"))
    if path.suffix.lower() in (".yaml", ".yml"):
        text, n = redact_yaml(raw, marked)
    elif raw.startswith("---\n") and "\n---" in raw[4:]:  # Markdown with front matter
        head, _, body = raw[4:].partition("\n---")
        meta, n_meta = redact_yaml(head, marked)
        rest, n_body = redact(body, marked)
        text, n = f"---\n{meta.rstrip()}\n---{rest}", n_meta + n_body
    else:
        text, n = redact(raw, marked)
    if not n:
        return 0
    tmp = path.with_name(f".{path.name}.redacting")
    tmp.write_text(text, encoding="utf-8")
    os.chmod(tmp, path.stat().st_mode & 0o777)
    os.replace(tmp, path)  # whole or not at all: a crash leaves the old file, and the next removal redacts it
    return 1


def redact_yaml(text: str, marked: Callable[[str], bool]) -> tuple[str, int]:
    """Redact metadata as data, not as text: "[naam verwijderd]" written into YAML would read back as a list,
    and a list of people keeps only the names that were not removed (as the store's ``people`` does).

    >>> redact_yaml("title: Gesprek met Anna de Vries\\nparticipants:\\n- Anna de Vries\\n- Petra Huijts\\n",
    ...             {"anna de vries"}.__contains__)
    ('title: Gesprek met [naam verwijderd]\\nparticipants:\\n- Petra Huijts\\n', 2)
    """
    try:
        data = load_yaml_strict(text)
    except yaml.YAMLError:
        return redact(text, marked)  # not YAML after all: as text
    count = [0]

    def clean(value: Any) -> Any:
        if isinstance(value, str):
            out, n = redact(value, marked)
            count[0] += n
            return out
        if isinstance(value, list):
            return [v for v in (clean(v) for v in value) if v != REDACTED]
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        return value

    cleaned = clean(data)
    if not count[0]:
        return text, 0
    return yaml.safe_dump(cleaned, allow_unicode=True, sort_keys=False), count[0]
