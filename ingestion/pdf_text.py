"""Text out of PDFs, page by page, with pdfium — and repaired where real PDFs make it garbage.

unstructured's own PDF path needs unstructured_inference and torchvision (see GUIDE 2) and loses the
spaces on real documents, so pages are read with pdfium (pypdfium2) and cleaned here; ``parse`` then lets
unstructured partition the clean text into elements.

What gets repaired:
- glyphs mapped to the Unicode private-use area (ligatures such as 'fi' in fonts without a proper
  ToUnicode map): each code point gets the replacement that makes the document's words cheapest for the
  embedder's tokenizer — real words tokenize into fewer pieces than broken ones;
- running headers and footers, page numbers and table-of-contents leader lines;
- words hyphenated across line ends, and lines wrapped inside paragraphs.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from core.errors import CorruptFileError, EncryptedFileError

_PUA = re.compile(r"[\ue000-\uf8ff]")
_LIGATURES = ("f", "fi", "fl", "ff", "ffi", "ffl", "ft", "t", "")
_TOC_LINE = re.compile(r"(\.\s?){5,}\s*\d+\s*$")
_PAGE_NO = re.compile(r"^\s*(pagina\s*)?\d{1,4}(\s*(/|van)\s*\d{1,4})?\s*$", re.I)
_SENTENCE_END = re.compile(r"[.!?:;]['\"”’)]?$")

TokenCost = Callable[[str], int]


def read_pdf_pages(path: Path) -> tuple[list[str], dict[str, str]]:
    """Raw text of every page and the document info (title, author) of a PDF file.

    pdfium keeps the spaces between words where pypdf loses them on some real PDFs (the Debian FAQ:
    16 characters per 'word' with pypdf, 5.4 with pdfium), and is about ten times faster.
    """
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise EncryptedFileError(f"{path.name}: de PDF is met een wachtwoord beveiligd.", path=str(path),
                                     hint="Lever een onbeveiligde versie aan.") from exc
        raise CorruptFileError(f"{path.name}: geen leesbare PDF ({exc}).", path=str(path)) from exc
    try:
        pages = []
        for index in range(len(pdf)):
            page = pdf[index]
            textpage = page.get_textpage()
            pages.append(_normalise(textpage.get_text_range()))
            textpage.close()
            page.close()
        info = {k.lower(): str(v).strip() for k, v in pdf.get_metadata_dict(skip_empty=True).items()}
    except pdfium.PdfiumError as exc:
        raise CorruptFileError(f"{path.name}: PDF half leesbaar ({exc}).", path=str(path)) from exc
    finally:
        pdf.close()
    return pages, info


def _normalise(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # pdfium marks a hyphen it placed at a line break with U+FFFE (soft hyphen: the word continues)
    return re.sub(r"[\ufffe\u00ad]\n?", "", text)


def clean_pages(pages: Sequence[str], token_cost: TokenCost | None = None) -> list[str]:
    """Clean page texts; returns one text per page, paragraphs separated by blank lines."""
    if token_cost is not None:
        pages = repair_private_use(pages, token_cost)
    repeated = _running_lines(pages)
    return [_paragraphs([ln for ln in page.splitlines() if _keep(ln, repeated)]) for page in pages]


def repair_private_use(pages: Sequence[str], token_cost: TokenCost) -> list[str]:
    """Replace private-use glyphs by the ligature that makes the words containing them cheapest.

    >>> cost = lambda w: 1 if w in {"heeft", "fijn"} else len(w)
    >>> repair_private_use(["hee\\ue01et", "\\ue035jn"], cost)
    ['heeft', 'fijn']
    """
    text = "\n".join(pages)
    codes = set(_PUA.findall(text))
    if not codes:
        return list(pages)
    words = Counter(re.findall(r"\w*[\ue000-\uf8ff][\w\ue000-\uf8ff]*", text))
    mapping = {}
    for code in codes:
        samples = [w for w, _ in words.most_common() if code in w][:40]
        def cost(rep: str, samples: list[str] = samples, code: str = code) -> int:
            return sum(token_cost(_PUA.sub("", w.replace(code, rep))) for w in samples)
        mapping[code] = min(_LIGATURES, key=cost)
    table = str.maketrans(mapping)
    return [page.translate(table) for page in pages]


def _running_lines(pages: Sequence[str]) -> set[str]:
    """Lines (digits ignored) at the top or bottom of at least half of the pages: headers and footers."""
    if len(pages) < 4:
        return set()
    seen: Counter[str] = Counter()
    for page in pages:
        lines = [ln for ln in page.splitlines() if ln.strip()]
        edge = 2 if len(lines) >= 8 else 1
        seen.update({_shape(ln) for ln in lines[:edge] + lines[-edge:]})
    return {line for line, n in seen.items() if n >= max(3, len(pages) // 2)}


def _shape(line: str) -> str:
    return re.sub(r"\d+", "#", line.strip())


def _keep(line: str, repeated: set[str]) -> bool:
    stripped = line.strip()
    return bool(stripped) and not _PAGE_NO.match(stripped) and not _TOC_LINE.search(stripped) \
        and _shape(stripped) not in repeated


def _paragraphs(lines: list[str]) -> str:
    """Join wrapped lines into paragraphs; keep short unpunctuated lines (headings) on their own."""
    if not lines:
        return ""
    typical = sorted(len(ln) for ln in lines)[len(lines) * 3 // 4]
    out: list[str] = []
    current = ""
    for raw in lines:
        line = raw.strip()
        if not current:
            current = line
            continue
        prev_full = len(current.splitlines()[-1]) >= 0.6 * typical or current.endswith(("-", ","))
        if current.endswith("-") and line[:1].islower() and current[-2:-1].isalpha():
            current = current[:-1] + line  # hyphenated across the line end
        elif prev_full and (line[:1].islower() or not (_SENTENCE_END.search(current) or _looks_like_item(line))):
            current += " " + line
        else:
            out.append(current)
            current = line
    out.append(current)
    return "\n\n".join(out)


def _looks_like_item(line: str) -> bool:
    """A list item, or a 'Label: value' line (cover pages, colophons): starts a line of its own."""
    return bool(re.match(r"^([-•*▪◦]|\d+[.)]|[a-z][.)])\s", line) or re.match(r"^[A-Z][\w ]{1,30}: \S", line))


def first_line(page: str) -> str | None:
    """The first line of a page when it can be a title (a cover page's first line usually is)."""
    for line in page.splitlines():
        line = line.strip()
        if line:
            return line if 3 <= len(line) <= 150 and not _PAGE_NO.match(line) else None
    return None
