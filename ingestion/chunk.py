"""Cut a document's elements into passages that follow its structure and fit the embedder.

A passage never crosses a heading unless the section before it is too small to stand alone; it knows
the path of headings above it and the page it starts on. Sizes are counted in the embedder's own tokens.

>>> els = [Element("Aanpak", is_title=True), Element("Wij spraken met tien jongeren."),
...        Element("Bevindingen", is_title=True), Element("Schaamte speelt een grote rol.")]
>>> [(c.section, c.text) for c in chunk_elements("d", "Verslag", els, lambda t: 40, target=50)]
[(('Aanpak',), 'Wij spraken met tien jongeren.'), (('Bevindingen',), 'Schaamte speelt een grote rol.')]
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence

from core.models import Chunk, Element

TokenCount = Callable[[str], int]
_SENTENCE = re.compile(r"(?<=[.!?;:])\s+(?=[A-Z0-9À-Ý\"'“(])")
_MAX_HEADING_CHARS = 120


def chunk_elements(document_id: str, title: str, elements: Sequence[Element], count: TokenCount,
                   target: int = 200, min_tokens: int | None = None) -> list[Chunk]:
    """Group ``elements`` into passages of about ``target`` tokens (at most 1.5×, at least ``min_tokens``)."""
    if target < 20:
        raise ValueError("target must be at least 20 tokens")
    min_tokens = target // 4 if min_tokens is None else min_tokens
    limit = target * 3 // 2
    chunks: list[Chunk] = []
    headings: list[tuple[int, str]] = []
    buf: list[str] = []
    buf_tokens = 0
    buf_section: tuple[str, ...] = ()
    buf_page: int | None = None

    def flush() -> None:
        nonlocal buf, buf_tokens
        if buf:
            chunks.append(Chunk(document_id, len(chunks), "\n".join(buf), buf_section, buf_page, title))
        buf, buf_tokens = [], 0

    for element in elements:
        if element.is_title and len(element.text) <= _MAX_HEADING_CHARS:
            if buf_tokens >= min_tokens:
                flush()
            while headings and headings[-1][0] >= element.depth:
                headings.pop()
            if element.text.strip() != title.strip():
                headings.append((element.depth, element.text))
            continue
        for piece, tokens in _pieces(element.text, count, limit):
            if buf and buf_tokens + tokens > target:
                flush()
            if not buf:
                buf_section = tuple(h for _, h in headings)
                buf_page = element.page
            buf.append(piece)
            buf_tokens += tokens
    flush()
    if not chunks and any(e.is_title for e in elements):
        # nothing but "headings": a short note or a one-line file that the partitioner took for titles
        return chunk_elements(document_id, title, [Element(e.text, page=e.page) for e in elements], count,
                              target, min_tokens)
    return chunks


def _pieces(text: str, count: TokenCount, limit: int) -> Iterator[tuple[str, int]]:
    """The element itself, or — when it is longer than ``limit`` — runs of whole sentences."""
    tokens = count(text)
    if tokens <= limit:
        yield text, tokens
        return
    run: list[str] = []
    run_tokens = 0
    for sentence in _sentences(text, count, limit):
        n = count(sentence)
        if run and run_tokens + n > limit * 2 // 3:
            yield " ".join(run), run_tokens
            run, run_tokens = [], 0
        run.append(sentence)
        run_tokens += n
    if run:
        yield " ".join(run), run_tokens


def _sentences(text: str, count: TokenCount, limit: int) -> Iterator[str]:
    for sentence in _SENTENCE.split(text):
        if count(sentence) <= limit:
            yield sentence
            continue
        words = sentence.split()  # a run-on "sentence" (a table, a list without stops): cut by words
        step = max(1, len(words) * limit // (2 * max(1, count(sentence))))
        for i in range(0, len(words), step):
            yield " ".join(words[i:i + step])
