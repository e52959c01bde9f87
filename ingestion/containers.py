"""Zip containers (DOCX, PPTX, ODT, EPUB) are checked before anything unpacks them: no zip bombs.

Only the central directory is read (``infolist``), nothing is extracted. Refused: a file that is no zip at
all, more than ``MAX_ENTRIES`` members, more than ``MAX_UNPACKED`` bytes unpacked in total, or a member
over 1 MB that is compressed more than ``MAX_RATIO`` to one (real documents stay far below: text XML
compresses some 5-20 times, images not at all). What a member's header claims is also what ``zipfile``
lets it unpack to; readers that unpack by themselves (pandoc) run under the worker's memory limit.
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

from core.errors import CorruptFileError, UnsafeFileError

ZIP_FORMATS = frozenset({"docx", "pptx", "odt", "epub"})
MAX_ENTRIES = 10_000
MAX_UNPACKED = 1024 * 1024 * 1024  # 20 times the default KM_MAX_FILE_MB
MAX_RATIO = 200
RATIO_FROM = 1024 * 1024  # smaller members may compress as well as they like


def check_container(path: Path, relpath: str, extension: str) -> None:
    """Raise ``CorruptFileError`` for a file that is no valid zip, ``UnsafeFileError`` for a zip bomb."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, struct.error,
            NotImplementedError, UnicodeDecodeError) as exc:
        raise CorruptFileError(f"{relpath}: kon het bestand niet lezen als .{extension} (geen geldig "
                               f"zip-bestand: {exc}).", path=str(path),
                               hint="Is het bestand beschadigd of heeft het een verkeerde extensie?") from exc
    refuse = f"{relpath}: dit .{extension}-bestand wordt niet uitgepakt:"
    hint = "Het lijkt gemaakt om de lezer te overbelasten (een zip-bom). Sla het document opnieuw op en lever " \
           "het opnieuw aan."
    if len(members) > MAX_ENTRIES:
        raise UnsafeFileError(f"{refuse} het bevat {len(members)} onderdelen (de grens is {MAX_ENTRIES}).",
                              path=str(path), hint=hint)
    total = sum(m.file_size for m in members)
    if total > MAX_UNPACKED:
        raise UnsafeFileError(f"{refuse} uitgepakt zou het {total / 1e6:.0f} MB zijn (de grens is "
                              f"{MAX_UNPACKED / 1e6:.0f} MB).", path=str(path), hint=hint)
    for member in members:
        if member.file_size > RATIO_FROM and member.file_size > MAX_RATIO * max(member.compress_size, 1):
            ratio = member.file_size / max(member.compress_size, 1)
            raise UnsafeFileError(f"{refuse} onderdeel {member.filename[:80]} is {ratio:.0f} keer "
                                  f"samengeperst (de grens is {MAX_RATIO}).", path=str(path), hint=hint)
