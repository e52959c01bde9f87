"""Real third-party PDFs: the text we extract must be normal Dutch, not glyph soup."""

import re

from ingestion.pdf_text import clean_pages, read_pdf_pages, repair_private_use
from tests.conftest import REAL_DOCS

MINVWS = REAL_DOCS / "minvws" / "2025-06-04-toegankelijkheidsonderzoek-open.minvws.nl.pdf"
FAQ = REAL_DOCS / "debian-faq-nl" / "debian-faq.nl.pdf"


def _words(text: str) -> list[str]:
    return re.findall(r"\S+", text)


def test_ligature_glyphs_are_repaired_with_the_tokenizer(e5):
    pages, _ = read_pdf_pages(MINVWS)
    raw = "\n".join(pages)
    assert re.search(r"[\ue000-\uf8ff]", raw), "the source PDF maps ligatures to private-use code points"
    text = "\n".join(clean_pages(pages, e5.token_count))
    assert not re.search(r"[\ue000-\uf8ff]", text)
    for word in ("heeft", "functiebeperking", "toetsenbordfocus", "fijn", "pdf-bestanden", "Identificeer"):
        assert word in text, word


def test_without_a_tokenizer_nothing_is_guessed():
    pages = ["hee\ue01et"]
    assert clean_pages(pages) == ["hee\ue01et"]
    assert repair_private_use(pages, lambda w: len(w)) != pages


def test_words_keep_their_spaces():
    pages, info = read_pdf_pages(FAQ)
    words = _words("\n".join(clean_pages(pages)))
    assert sum(map(len, words)) / len(words) < 8  # pypdf gives 16: words glued together
    assert info["title"] == "De Debian GNU/Linux FAQ"


def test_page_numbers_and_toc_leaders_are_dropped():
    pages = ["Inleiding\nHoofdstuk een . . . . . . . . . . 3\nTekst van de inleiding die doorloopt.\n12",
             "Meer tekst.\n13"]
    cleaned = clean_pages(pages)
    assert ". . . ." not in cleaned[0]
    assert not re.search(r"^\d+$", cleaned[0], re.M)


def test_wrapped_lines_and_hyphenation_are_joined():
    page = ("De jongeren in deze wijk hebben vaak te maken met ver-\n"
            "slechterde omstandigheden en zoeken pas hulp als de\n"
            "schulden al hoog zijn opgelopen.\nKorte kop\nNieuwe alinea begint hier met tekst.")
    cleaned = clean_pages([page])[0]
    assert "verslechterde" in cleaned
    assert "als de schulden al hoog" in cleaned
    assert "\n\nKorte kop\n\n" in cleaned
