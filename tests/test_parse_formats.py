"""Every supported format parses offline into titled, structured elements — with the real libraries."""

from pathlib import Path

import pytest

from ingestion.discover import discover
from ingestion.parse import Parser
from tests import docmaker


def _parse(path: Path, token_cost=None):
    source = discover([path], max_bytes=50 << 20).documents[0]
    return Parser(token_cost).parse(source)


@pytest.mark.parametrize("name,make", [
    ("v.docx", docmaker.make_docx), ("v.pptx", docmaker.make_pptx), ("v.eml", docmaker.make_eml),
    ("v.md", docmaker.make_md), ("v.html", docmaker.make_html), ("v.pdf", docmaker.make_pdf),
    ("v.epub", lambda p: docmaker.make_pandoc(p, "epub")), ("v.odt", lambda p: docmaker.make_pandoc(p, "odt")),
])
def test_format_parses_with_its_text(tmp_path, name, make):
    parsed = _parse(make(tmp_path / name))
    text = " ".join(e.text for e in parsed.elements)
    assert "Schaamte speelt een grote rol" in text
    assert "Vertrouwen is de sleutel" in text


def test_headings_are_found(tmp_path):
    for path in (docmaker.make_docx(tmp_path / "v.docx"), docmaker.make_md(tmp_path / "v.md"),
                 docmaker.make_html(tmp_path / "v.html")):
        titles = [e.text for e in _parse(path).elements if e.is_title]
        assert "Aanleiding" in titles and "Bevindingen" in titles, (path, titles)


def test_slides_and_pdf_pages_are_numbered(tmp_path):
    slides = _parse(docmaker.make_pptx(tmp_path / "v.pptx"))
    assert {e.page for e in slides.elements} == {1, 2}
    pdf = _parse(docmaker.make_pdf(tmp_path / "v.pdf", pages=5))
    assert pdf.pages == 5
    assert {e.page for e in pdf.elements} == {1, 2, 3, 4, 5}
    assert pdf.title == "Onderzoek naar geldzorgen"
    # the running footer stands on every page: it is not content
    assert not any("pagina" in e.text.lower() for e in pdf.elements)
    assert any("financiële zorgen" in e.text for e in pdf.elements)


def test_html_title_comes_from_the_title_tag(tmp_path):
    assert _parse(docmaker.make_html(tmp_path / "v.html")).title == "Geldzorgen bij jongeren"


def test_front_matter_is_not_part_of_the_text(tmp_path):
    parsed = _parse(docmaker.make_md(tmp_path / "v.md", front="title: Met metadata\nkind: verslag\n"))
    assert not any("kind: verslag" in e.text for e in parsed.elements)
