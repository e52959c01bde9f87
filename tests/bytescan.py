"""A byte-level scan of a data folder, as someone with a copy of it would make."""

from __future__ import annotations

from pathlib import Path


def files_holding(root: Path, *needles: str) -> list[str]:
    """Every file under ``root`` whose bytes hold one of ``needles`` (any case) in UTF-8, UTF-16-LE or -BE.
    (``bytes.lower`` folds ASCII letters, also inside UTF-16.)"""
    patterns = {enc for n in needles for enc in (n.lower().encode(), n.lower().encode("utf-16-le"),
                                                 n.lower().encode("utf-16-be"))}
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes().lower()
            if any(p in data for p in patterns):
                found.append(str(path.relative_to(root)))
    return sorted(found)
