"""Find the files to ingest under the given paths and sort them: documents, expert profiles, rejects.

Nothing is read here beyond ``stat``: what cannot even be considered (missing, unreadable, unknown
extension, too large) is rejected by name with the reason, and the rest goes on.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import (
    FileRejected,
    FileTooLargeError,
    UnreadableFileError,
    UnsafeFileError,
    UnsupportedFileError,
)
from core.models import SourceFile

DOCUMENT_FORMATS = frozenset({"pdf", "docx", "pptx", "html", "htm", "md", "markdown", "txt", "eml", "epub",
                              "odt"})
PROFILE_FORMATS = frozenset({"yaml", "yml", "csv"})
SIDECAR_SUFFIXES = (".yaml", ".yml")


@dataclass
class Discovery:
    documents: list[SourceFile] = field(default_factory=list)
    profiles: list[SourceFile] = field(default_factory=list)
    rejected: list[FileRejected] = field(default_factory=list)
    roots: list[Path] = field(default_factory=list)
    # files of a type we do not read, met in a folder (build sources, images…): skipped by name, no failure
    ignored: list[tuple[str, str]] = field(default_factory=list)  # (relative path, extension)


def discover(paths: Sequence[str | Path], *, max_bytes: int, exclude: Iterable[Path] = ()) -> Discovery:
    """Walk ``paths`` (files or folders) in a stable order; skip hidden entries and ``exclude``."""
    found = Discovery()
    excluded = {p.resolve() for p in exclude}
    for given in paths:
        path = Path(given).expanduser()
        if not path.exists():
            found.rejected.append(UnreadableFileError(f"{given}: bestaat niet (of is een gebroken link).",
                                                      path=str(given)))
            continue
        root = path.resolve()
        found.roots.append(root)
        files = [root] if root.is_file() else _walk(root, excluded, found)
        base = root.parent if root.is_file() else root
        for file in files:
            _classify(file, base, max_bytes, found, named=root.is_file())
    return found


def _walk(root: Path, excluded: set[Path], found: Discovery) -> list[Path]:
    out: list[Path] = []
    def onerror(err: OSError) -> None:
        found.rejected.append(UnreadableFileError(f"{err.filename}: map niet te lezen: {os_reason(err)}.",
                                                  path=str(err.filename)))
    for folder, dirs, files in os.walk(root, onerror=onerror, followlinks=False):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and (here / d).resolve() not in excluded)
        for name in sorted(files):
            if not name.startswith("."):
                out.append(here / name)
    return out


def os_reason(exc: OSError) -> str:
    """An OS error in words a user reads (Dutch), not the C library's English."""
    reasons = {errno.ENOENT: "bestaat niet (of is een gebroken link)", errno.EACCES: "geen leesrechten",
               errno.EPERM: "geen leesrechten", errno.EISDIR: "is een map", errno.ELOOP: "te veel links",
               errno.EIO: "leesfout op de schijf"}
    return reasons.get(exc.errno or 0, exc.strerror or str(exc))


def _classify(file: Path, base: Path, max_bytes: int, found: Discovery, *, named: bool = True) -> None:
    """Sort one file: a document, a profile file, rejected (with the reason), or — met in a folder and of a
    type we do not read — ignored. A file named explicitly that we cannot read stays an error."""
    rel = file.relative_to(base).as_posix() if file.is_relative_to(base) else file.name
    ext = file.suffix.lower().lstrip(".")
    if file.is_symlink():  # it may point anywhere (/etc, another user's files): only real files inside the root
        what = "is een symbolische link" if file.exists() else "bestaat niet (een gebroken symbolische link)"
        found.rejected.append(UnsafeFileError(f"{rel}: {what} en wordt overgeslagen.", path=str(file),
                                              hint="Kopieer het bestand zelf in de map als het erbij hoort."))
        return
    if ext in ("yaml", "yml") and "." in file.stem and file.with_name(file.stem).is_file():
        return  # a sidecar: read together with its document
    try:
        st = file.stat()
        if not os.access(file, os.R_OK):
            raise PermissionError(13, "geen leesrechten")
    except OSError as exc:
        found.rejected.append(UnreadableFileError(f"{rel}: niet te lezen: {os_reason(exc)}.", path=str(file)))
        return
    if ext not in DOCUMENT_FORMATS and ext not in PROFILE_FORMATS and not named:
        found.ignored.append((rel, ext))
        return
    if ext not in DOCUMENT_FORMATS and ext not in PROFILE_FORMATS:
        found.rejected.append(UnsupportedFileError(
            f"{rel}: bestandstype '.{ext}' wordt niet ondersteund." if ext else f"{rel}: geen extensie.",
            path=str(file), hint="Ondersteund: " + ", ".join(sorted(DOCUMENT_FORMATS | PROFILE_FORMATS)) + "."))
        return
    if st.st_size > max_bytes:
        found.rejected.append(FileTooLargeError(
            f"{rel}: te groot ({st.st_size / 1e6:.1f} MB; de grens is {max_bytes / 1024 / 1024:.0f} MB).",
            path=str(file), hint="Verhoog KM_MAX_FILE_MB of splits het bestand."))
        return
    sidecar = next((file.with_name(file.name + s) for s in SIDECAR_SUFFIXES
                    if file.with_name(file.name + s).is_file()), None)
    source = SourceFile(path=file, root=base, relpath=rel, size=st.st_size, sidecar=sidecar)
    (found.profiles if ext in PROFILE_FORMATS else found.documents).append(source)
