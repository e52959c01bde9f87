"""debian-faq: a second Dutch retrieval set, technical and titled, built from the Dutch Debian FAQ.

    python -m benchmarks.faq_set       # counts and two examples

The first set, policyqa-sections, is citizen questions over lower-case government web text, where dense
retrieval beats BM25 by some 20 points. This one has the other shape: the questions are the FAQ's own section
headings ("Wat is een Debian conffile?") and the relevant section is the one under that heading, so exact
technical words (``dpkg``, ``conffile``, ``Pre-Depends``, ``sources.list``) tend to occur on both sides and
BM25 is strong. Every numbered section of a chapter is a section of the set, also those whose heading is not a
question (``8.1.1. dpkg``, ``16.1. Auteurs``): they stay in as distractors. A section's text is its answer only,
without the heading and without its nested subsections, which are sections of their own (3.1 and 3.1.1 are two
sections). A footnote's text is added to the section that refers to it. A cross-reference keeps its number
("zie Paragraaf 6.10") but loses the title it quotes, which is another section's question word for word. The
chapter's opening paragraphs, before its first numbered section, belong to no section and are left out. Besides
``id``, ``chapter``, ``heading`` and ``text`` a section carries ``source``, its page and anchor.

Source: the HTML pages of the Debian package debian-faq-nl 11.1 (DocBook XSL output), in
``../shared/data/real-docs/debian-faq-nl``; see ``../shared/data/PROVENANCE.md``. Verbatim copying is
permitted (see COPYRIGHT.txt there); the files are read in place, never copied into the project.
"""

from __future__ import annotations

import re
import statistics
from html.parser import HTMLParser
from pathlib import Path

HERE = Path(__file__).resolve().parent
FAQ_DIR = HERE.parent.parent / "shared" / "data" / "real-docs" / "debian-faq-nl"
MIN_TEXT = 40  # shorter than this, a section only introduces its subsections: nothing to retrieve it by

# sentinels in the raw text, resolved by _tidy: a paragraph break and a line break inside a <pre> block
_PARA, _LINE = "\x00", "\x01"
_BLOCKS = frozenset({"p", "pre", "ul", "ol", "li", "dl", "dt", "dd", "div", "table", "tr", "blockquote",
                     "h1", "h2", "h3", "h4", "h5", "h6"})
# navigation and the table of contents repeat every heading: text there would leak questions into answers
_SKIPPED_DIVS = frozenset({"navheader", "navfooter", "toc"})
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)*)\.\s+")
_CHAPTER = re.compile(r"^\s*Hoofdstuk\s+(\d+)\.\s+")


def _tidy(raw: str) -> str:
    """Collapse whitespace in every line, keep the lines of a <pre> block and the paragraph breaks."""
    blocks = []
    for block in raw.split(_PARA):
        lines = [" ".join(line.split()) for line in block.split(_LINE)]
        text = "\n".join(line for line in lines if line)
        if text:
            blocks.append(text)
    return "\n\n".join(blocks)


class _ChapterParser(HTMLParser):
    """One chapter page into its title and numbered sections; the page is well-formed XHTML, so every
    element we track (div, h*, a, sup, pre) is closed."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chapter = ""
        self.sections: list[dict] = []
        self._divs: list[str] = []  # per open div: "section", "skip", "footnote" or ""
        self._open: list[dict] = []  # the sections open now, innermost last
        self._heading: list[str] | None = None  # collecting a heading's text
        self._heading_tag = ""
        self._skip = 0  # inside <head>, navigation or the table of contents
        self._sup = 0  # inside a footnote marker "[1]": not text
        self._pre = 0
        self._footnote: tuple[str, list[str]] | None = None  # (footnote id, its text) while inside one
        self.footnotes: dict[str, str] = {}
        self.refers: dict[str, dict] = {}  # footnote id -> the section whose text refers to it
        self._xref: list[str] | None = None  # collecting a cross-reference's text

    # --- where text goes ---------------------------------------------------------------------------------

    def _sink(self) -> list[str] | None:
        if self._skip or self._sup:
            return None
        if self._heading is not None:
            return self._heading
        if self._xref is not None:
            return self._xref
        if self._footnote is not None:
            return self._footnote[1]
        return self._open[-1]["raw"] if self._open else None

    def _emit(self, text: str) -> None:
        sink = self._sink()
        if sink is not None:
            sink.append(text)

    # --- the parser's callbacks --------------------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        classes = set(a.get("class", "").split())
        if tag == "head":
            self._skip += 1
        elif tag == "div":
            kind = ""
            if classes & _SKIPPED_DIVS:
                kind = "skip"
                self._skip += 1
            elif "section" in classes:
                kind = "section"
                section = {"number": "", "heading": "", "anchor": "", "raw": [], "notes": []}
                self.sections.append(section)
                self._open.append(section)
            elif "footnote" in classes and a.get("id", "").startswith("ftn."):
                kind = "footnote"
                self._footnote = (a["id"].removeprefix("ftn."), [])
            self._divs.append(kind)
        elif re.fullmatch(r"h[1-6]", tag) and "title" in classes:
            # a section's own heading comes before anything else in it; a later one would be a nested section's
            if tag == "h1" or (self._open and not self._open[-1]["number"] and self._heading is None):
                self._heading, self._heading_tag = [], tag
        elif tag == "a" and self._heading is not None and a.get("id") and self._open and self._heading_tag != "h1":
            self._open[-1]["anchor"] = a["id"]
        elif tag == "a" and "footnote" in classes and a.get("href", "").startswith("#ftn.") and self._open:
            self.refers[a["href"].removeprefix("#ftn.")] = self._open[-1]
        elif tag == "a" and "xref" in classes:
            self._xref = []
        elif tag == "sup":
            self._sup += 1
        elif tag == "pre":
            self._pre += 1
        elif tag == "br":
            self._emit(_LINE)
        if tag in _BLOCKS:
            self._emit(_PARA)

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCKS:
            self._emit(_PARA)
        if tag == "head":
            self._skip -= 1
        elif tag == "div":
            kind = self._divs.pop()
            if kind == "skip":
                self._skip -= 1
            elif kind == "section":
                self._open.pop()
            elif kind == "footnote" and self._footnote is not None:
                note_id, raw = self._footnote
                self.footnotes[note_id] = _tidy("".join(raw))
                self._footnote = None
        elif tag == self._heading_tag and self._heading is not None:
            text = " ".join("".join(self._heading).replace(_PARA, " ").replace(_LINE, " ").split())
            self._heading, self._heading_tag = None, ""
            if tag == "h1":
                self.chapter = text
            else:
                match = _NUMBER.match(text)
                self._open[-1]["number"] = match.group(1) if match else "?"
                self._open[-1]["heading"] = text[match.end():] if match else text
        elif tag == "a" and self._xref is not None:
            # "Paragraaf 6.10, “Wat is de map pool?”": the title after the comma is another section's question,
            # word for word; kept, it would make the referring section the better match for that question
            text, self._xref = "".join(self._xref), None
            self._emit(text.split(",")[0])
        elif tag == "sup":
            self._sup -= 1
        elif tag == "pre":
            self._pre -= 1

    def handle_data(self, data: str) -> None:
        self._emit(data.replace("\n", _LINE) if self._pre else data)


def parse_chapter(html: str, page: str = "") -> tuple[str, list[dict]]:
    """(chapter title without "Hoofdstuk N.", its sections in document order) of one FAQ page.

    >>> page = '''<html><head><title>Hoofdstuk 3. Kiezen</title></head><body>
    ... <div class="navheader"><a href="x">3.1. Welke distributie?</a></div>
    ... <div class="chapter"><h1 class="title"><a id="choosing"></a>Hoofdstuk 3. Kiezen</h1>
    ... <p>Inleiding van het hoofdstuk.</p>
    ... <div class="section"><div class="titlepage"><h2 class="title"><a id="s1"></a>3.1. Welke
    ... distributie?</h2></div><p>Kies   <code>stable</code>.</p><pre class="screen">apt  update
    ... apt upgrade</pre>
    ... <div class="section"><div class="titlepage"><h3 class="title">3.1.1. En
    ... daarna?</h3></div><p>Niets.</p></div></div></div></body></html>'''
    >>> chapter, sections = parse_chapter(page, "choosing.nl.html")
    >>> chapter
    'Kiezen'
    >>> [(s["id"], s["heading"]) for s in sections]
    [('debian-faq-3-1', 'Welke distributie?'), ('debian-faq-3-1-1', 'En daarna?')]
    >>> print(sections[0]["text"])
    Kies stable.
    <BLANKLINE>
    apt update
    apt upgrade
    >>> sections[1]["text"], sections[0]["source"]
    ('Niets.', 'choosing.nl.html#s1')
    """
    parser = _ChapterParser()
    parser.feed(html)
    parser.close()
    for note_id, section in parser.refers.items():
        if parser.footnotes.get(note_id):
            section["notes"].append(parser.footnotes[note_id])
    chapter = _CHAPTER.sub("", parser.chapter)
    sections = []
    for s in parser.sections:
        text = _tidy("".join(s["raw"]) + _PARA + _PARA.join(s["notes"]))
        sections.append({"id": "debian-faq-" + s["number"].replace(".", "-"), "chapter": chapter,
                         "heading": s["heading"], "text": text,
                         "source": f"{page}#{s['anchor']}" if s["anchor"] else page})
    return chapter, sections


def _number(section_id: str) -> tuple[int, ...]:
    return tuple(int(n) for n in section_id.removeprefix("debian-faq-").split("-"))


def is_question(heading: str) -> bool:
    # not endswith("?"): three headings ask and then exclaim ("... wat is Linux?!", "... plaats gevonden
    # hebben en over welke pakketten het dan ging!"); they are questions all the same
    return "?" in heading


def faq_set(folder: Path = FAQ_DIR) -> tuple[list[dict], list[dict]]:
    """(sections, questions) of the Dutch Debian FAQ; every question's one relevant section is its own."""
    sections = []
    for path in sorted(folder.glob("*.nl.html")):
        html = path.read_text("utf-8")
        if not _CHAPTER.search(re.search(r"<title>(.*?)</title>", html, re.S).group(1)):
            continue  # index.nl.html: title page and table of contents, no answers
        sections += parse_chapter(html, path.name)[1]
    sections = sorted((s for s in sections if len(s["text"]) >= MIN_TEXT), key=lambda s: _number(s["id"]))
    questions = [{"id": f"q-{s['id']}", "question": s["heading"], "relevant": [s["id"]]}
                 for s in sections if is_question(s["heading"])]
    return sections, questions


# Dutch function words (and the name every section shares): sharing those says nothing about the answer
_STOP = frozenset({
    "aan", "alle", "alleen", "als", "andere", "bij", "daar", "dan", "dat", "deze", "die", "dit", "door", "een",
    "eens", "en", "er", "geen", "heb", "hebben", "heeft", "het", "hij", "hoe", "hun", "ik", "in", "is", "kan",
    "kunnen", "maar", "meer", "met", "mijn", "moet", "naar", "niet", "nog", "of", "om", "ons", "ook", "op", "over",
    "te", "tot", "uit", "van", "veel", "voor", "waar", "wat", "welk", "welke", "wie", "wij", "wordt", "worden",
    "zal", "zich", "zijn", "zoals", "zou", "debian",
})


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"\w+", text.lower()) if len(w) >= 3 and w not in _STOP}


def main() -> None:
    sections, questions = faq_set()
    by_id = {s["id"]: s for s in sections}
    asked = {q["relevant"][0] for q in questions}
    shared = [len(_words(q["question"]) & _words(by_id[q["relevant"][0]]["text"])) / max(1, len(_words(q["question"])))
              for q in questions]
    print(f"debian-faq: {len(sections)} sections ({len(sections) - len(asked)} distractors without a question "
          f"heading), {len(questions)} questions")
    print(f"median text length: {statistics.median(len(s['text']) for s in sections):.0f} characters")
    print(f"question headings sharing a content word with their own text: {sum(f > 0 for f in shared)} of "
          f"{len(questions)}; half or more of their content words: {sum(f >= 0.5 for f in shared)}")
    example = by_id["debian-faq-7-5"]  # a technical one: the words of the question are the words of the answer
    distractor = next(s for s in sections if s["id"] not in asked)
    for kind, s in (("question", example), ("distractor", distractor)):
        print(f"\n--- {kind} {s['id']}: {s['heading']}\n[{s['chapter']} / {s['source']}]\n{s['text'][:500]}")


if __name__ == "__main__":
    main()
