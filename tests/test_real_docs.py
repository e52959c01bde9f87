"""Every third-party Dutch document in ../shared/data/real-docs goes in, with sensible titles and pages.

Embedded with the packaged all-MiniLM-L6-v2 through sentence-transformers: the subject here is reading
real files (the default model is exercised on the demo corpus), and MiniLM is five times faster.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from core.store.catalog import CHUNKS
from matching.filters import SearchFilters
from service.container import Kennismakelaar
from tests.conftest import BROKEN_DOCS, REAL_DOCS, make_settings

pytestmark = pytest.mark.slow  # the module's fixture ingests all of real-docs: minutes


@pytest.fixture(scope="module")
def real(tmp_path_factory, minilm) -> Iterator[tuple[Kennismakelaar, object]]:
    km = Kennismakelaar(make_settings(tmp_path_factory.mktemp("real")), embedder=minilm)
    report = km.ingestor().run([REAL_DOCS, BROKEN_DOCS])
    yield km, report
    km.close()


def test_every_file_goes_in(real):
    km, report = real
    files = sorted(p.relative_to(REAL_DOCS).as_posix() for p in REAL_DOCS.rglob("*") if p.is_file())
    added = {o.path for o in report.outcomes if o.status == "added"}
    assert set(files) <= added
    assert added - set(files) == {"COPYRIGHT-debian-edu.txt"}  # from the broken folder, beside the EPUB
    assert km.catalog().counts()["documents"] == len(files) + 1


def test_the_broken_epub_is_reported_by_name_and_the_rest_of_its_folder_goes_in(real):
    _, report = real
    failed = report.failed
    assert [f.path for f in failed] == ["debian-edu-bullseye-manual.epub"]
    assert "epub" in failed[0].message.lower()
    assert any(o.path == "COPYRIGHT-debian-edu.txt" and o.status == "added" for o in report.outcomes)


@pytest.mark.parametrize("doc_id,title", [
    ("debian-faq-nl/debian-faq.nl.pdf", "De Debian GNU/Linux FAQ"),
    ("debian-edu/debian-edu-bullseye-manual.pdf", "Handleiding Debian Edu/Skolelinux Bullseye 11"),
    ("minvws/2025-06-04-toegankelijkheidsonderzoek-open.minvws.nl.pdf",
     "WCAG 2.2 AA onderzoek Open Ministerie VWS 1.1"),
    ("debian-faq-nl/basic-defs.nl.html", "Hoofdstuk 1. Definities en overzicht"),
    ("libreoffice-help-nl/text_scalc_01_func_weekday.html", "WEEKDAG"),
])
def test_titles_are_sensible(real, doc_id, title):
    km, _ = real
    assert km.catalog().document(doc_id)["title"] == title


def test_pdf_passages_carry_pages_and_clean_text(real):
    km, _ = real
    catalog = km.catalog()
    pdfs = [d for d in catalog.documents(fields=["document_id", "format", "pages"]) if d["format"] == "pdf"]
    assert len(pdfs) == sum(1 for p in REAL_DOCS.rglob("*.pdf"))
    for doc in pdfs:
        chunks = catalog.chunks_of(doc["document_id"])
        pages = [c["page"] for c in chunks]
        assert all(isinstance(p, int) and 1 <= p <= doc["pages"] for p in pages)
        assert pages == sorted(pages) and len(set(pages)) > doc["pages"] // 3
        text = " ".join(c["text"] for c in chunks)
        assert not re.search(r"[\ue000-\uf8ff\ufffe]", text)
        words = text.split()
        assert sum(map(len, words)) / len(words) < 9


def test_passages_have_their_section(real):
    km, _ = real
    chunks = km.catalog().chunks_of("debian-faq-nl/basic-defs.nl.html")
    assert any("Wat is Debian GNU/Linux?" in " ".join(c["section"]) for c in chunks)


def test_store_is_consistent(real):
    km, _ = real
    catalog = km.catalog()
    assert catalog.store.count(CHUNKS) == sum(d["chunks"] for d in catalog.documents(fields=["chunks"]))


def test_search_reaches_the_real_documents(real):
    km, _ = real
    results = km.broker().search("toetsenbordfocus", SearchFilters(), limit=5).results
    assert any(r.document_id.startswith("minvws/") for r in results[:3])
    assert all(r.page for r in results if r.source.endswith(".pdf"))
