"""Hostile files get a clear refusal, by name, and the service keeps answering: zip bombs, files that are
no zip, files whose reading hangs or eats memory, YAML "billion laughs", links that are no web address.

Real files, made here, through the real pipeline; the reader runs in worker processes with a time and a
memory limit (``ingestion.isolation``). The slow and the memory-hungry file are genuine inputs: a Markdown
file of 20,000 '[' keeps Python-Markdown busy for a minute; a 0.6 MB PDF whose content stream inflates to
200 MB makes pdfium ask for gigabytes.
"""

from __future__ import annotations

import os
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.errors import (
    ConfigError,
    CorruptFileError,
    MetadataError,
    ParseTimeoutError,
    UnsafeFileError,
)
from core.models import SourceFile
from core.taxonomy import Taxonomy
from ingestion import containers
from ingestion.isolation import IsolatedParser
from ingestion.parse import Parser
from ingestion.pipeline import Ingestor
from tests import docmaker
from tests.conftest import REAL_DOCS

# nine levels of nine: 387,420,489 'lol's once the aliases are followed
LAUGHS = 'lol0: &lol0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n' + "".join(
    f"lol{n}: &lol{n} [{', '.join([f'*lol{n - 1}'] * 9)}]\n" for n in range(1, 9)) + "title: *lol8\n"
SLOW_MARKDOWN = "[" * 20_000  # Python-Markdown needs about a minute for this


def _source(path: Path) -> SourceFile:
    return SourceFile(path, path.parent, path.name, path.stat().st_size)


def make_crowded_zip(path: Path, entries: int = containers.MAX_ENTRIES + 1) -> Path:
    docmaker.make_docx(path)
    with zipfile.ZipFile(path, "a") as archive:
        for n in range(entries):
            archive.writestr(f"extra/deel{n}.xml", b"")
    return path


def make_pdf_memory_bomb(path: Path, megabytes: int = 200) -> Path:
    """A one-page PDF whose content stream inflates to ``megabytes`` of text operators."""
    squeeze = zlib.compressobj(9)
    block = b"BT /F1 12 Tf 72 720 Td (aaaaaaaa) Tj ET\n" * 27_000  # ~1 MB
    stream = b"".join(squeeze.compress(block) for _ in range(megabytes)) + squeeze.flush()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))
    return path


@pytest.fixture
def isolated(km_factory) -> Iterator:
    """An ``Ingestor`` of a fresh store whose parser runs in worker processes with the given limits."""
    parsers: list[IsolatedParser] = []

    def make(**limits: float) -> Ingestor:
        ingestor = km_factory().ingestor()
        ingestor.parser = IsolatedParser(token_cost=ingestor.embedder.token_count, **limits)
        parsers.append(ingestor.parser)
        return ingestor

    yield make
    for parser in parsers:
        parser.close()


def _by_name(report) -> dict:
    return {Path(o.path).name: o for o in report.outcomes}


@pytest.mark.slow  # two worker starts and a timeout: some 15 s
def test_hostile_documents_are_refused_by_name_and_the_rest_goes_in(tmp_path, isolated):
    root = tmp_path / "batch"
    root.mkdir()
    docmaker.make_md(root / "goed.md", front="title: Goed verslag\n")
    docmaker.make_docx(root / "goed.docx")
    docmaker.make_zip_bomb(root / "zipbom.docx")
    make_crowded_zip(root / "duizenden-delen.docx")
    (root / "geen-zip.docx").write_bytes(b"Dit is platte tekst met de extensie .docx.\n" * 50)
    (root / "traag.md").write_text(SLOW_MARKDOWN, "utf-8")
    (root / "lachen-voorwerk.md").write_text(f"---\n{LAUGHS}---\n# Verslag\n\nTekst.\n", "utf-8")
    docmaker.make_docx(root / "lachen-bijlage.docx")
    (root / "lachen-bijlage.docx.yaml").write_text(LAUGHS, "utf-8")
    docmaker.make_md(root / "javascript-link.md", front='title: Link\nurl: "javascript:alert(document.cookie)"\n')
    docmaker.make_docx(root / "bestand-link.docx")
    (root / "bestand-link.docx.yaml").write_text("url: file:///etc/passwd\n", "utf-8")

    ingestor = isolated(timeout_seconds=3)
    report = ingestor.run([root])

    outcomes = _by_name(report)
    expected_failures = {
        "zipbom.docx": "keer samengeperst",
        "duizenden-delen.docx": "onderdelen",
        "geen-zip.docx": "geen geldig zip-bestand",
        "traag.md": "te lang bezig",
        "lachen-voorwerk.md": "ankers en verwijzingen",
        "lachen-bijlage.docx": "ankers en verwijzingen",
    }
    for name, reason in expected_failures.items():
        outcome = outcomes[name]
        assert outcome.status == "failed", (name, outcome)
        assert reason in outcome.message, (name, outcome.message)
        assert name in outcome.message  # the message names the file
    assert "zip-bom" in outcomes["zipbom.docx"].message
    assert "kon het bestand niet lezen als .docx" in outcomes["geen-zip.docx"].message
    added = {name for name, o in outcomes.items() if o.status == "added"}
    assert added == {"goed.md", "goed.docx", "javascript-link.md", "bestand-link.docx"}

    # links that are no web address are dropped, with a warning on the document
    catalog = ingestor.catalog
    for name, doc_id in (("javascript-link.md", "javascript-link.md"), ("bestand-link.docx", "bestand-link.docx")):
        assert any("url" in w and "genegeerd" in w for w in outcomes[name].warnings), outcomes[name].warnings
        assert catalog.document(doc_id)["url"] is None


@pytest.mark.slow  # a 200 MB PDF bomb: about a minute
def test_a_file_that_eats_memory_fails_alone_and_the_next_files_parse(tmp_path, isolated):
    root = tmp_path / "batch"
    root.mkdir()
    make_pdf_memory_bomb(root / "a-geheugenbom.pdf")
    docmaker.make_docx(root / "b-goed.docx")
    docmaker.make_pdf(root / "c-goed.pdf")

    report = isolated(memory_mb=1536, timeout_seconds=120).run([root])

    outcomes = _by_name(report)
    bomb = outcomes["a-geheugenbom.pdf"]
    assert bomb.status == "failed" and "te veel geheugen" in bomb.message and "a-geheugenbom.pdf" in bomb.message
    assert outcomes["b-goed.docx"].status == "added"
    assert outcomes["c-goed.pdf"].status == "added"


@pytest.mark.slow  # a timeout and two worker starts
def test_after_a_killed_worker_the_next_file_still_parses(tmp_path):
    slow = tmp_path / "traag.md"
    slow.write_text(SLOW_MARKDOWN, "utf-8")
    good = docmaker.make_docx(tmp_path / "goed.docx")
    with IsolatedParser(timeout_seconds=2) as parser:
        before = parser.parse(_source(good))
        with pytest.raises(ParseTimeoutError, match=r"traag\.md: het lezen was te lang bezig"):
            parser.parse(_source(slow))
        after = parser.parse(_source(good))  # by a new worker
    assert before.elements and after == before


@pytest.mark.slow  # a real PDF read by both parsers: some 20 s
def test_the_isolated_parser_reads_pdfs_exactly_like_the_in_process_one(e5):
    """The tokenizer repairs ligature glyphs in the parent, pdfium and unstructured run in the worker."""
    pdf = next((REAL_DOCS / "minvws").glob("*beheer-open*.pdf"))
    source = SourceFile(pdf, REAL_DOCS, pdf.relative_to(REAL_DOCS).as_posix(), pdf.stat().st_size)
    with IsolatedParser(token_cost=e5.token_count) as parser:
        isolated = parser.parse(source)
    direct = Parser(token_cost=e5.token_count).parse(source)
    assert isolated.elements and isolated == direct
    assert not any("\ue000" <= ch <= "\uf8ff" for e in isolated.elements for ch in e.text)


def test_a_worker_that_cannot_start_is_a_configuration_error(tmp_path):
    good = docmaker.make_docx(tmp_path / "goed.docx")
    with IsolatedParser(memory_mb=300) as parser, pytest.raises(ConfigError, match="KM_PARSE_MEMORY_MB"):
        parser.parse(_source(good))


# --- zip containers, checked before anything unpacks them ------------------------------------------------


def test_zip_checks_in_process(tmp_path, monkeypatch):
    parser = Parser()
    with pytest.raises(UnsafeFileError, match=r"bom\.docx: .*keer samengeperst"):
        parser.parse(_source(docmaker.make_zip_bomb(tmp_path / "bom.docx", megabytes=2)))
    with pytest.raises(CorruptFileError, match="geen geldig zip-bestand"):
        (tmp_path / "kapot.pptx").write_bytes(os.urandom(2048))
        parser.parse(_source(tmp_path / "kapot.pptx"))
    monkeypatch.setattr(containers, "MAX_UNPACKED", 10_000)
    with pytest.raises(UnsafeFileError, match="uitgepakt zou het"):
        parser.parse(_source(docmaker.make_docx(tmp_path / "groot.docx")))


def test_real_documents_pass_the_zip_checks(tmp_path):
    for make, name in ((docmaker.make_docx, "a.docx"), (docmaker.make_pptx, "a.pptx")):
        containers.check_container(make(tmp_path / name), name, name.split(".")[1])
    for fmt in ("odt", "epub"):
        path = docmaker.make_pandoc(tmp_path / f"a.{fmt}", fmt)
        containers.check_container(path, path.name, fmt)


# --- YAML: anchors and aliases are refused wherever we read it -------------------------------------------


def test_billion_laughs_in_a_profile_file_is_refused_and_other_profiles_go_in(tmp_path, isolated):
    root = tmp_path / "experts"
    root.mkdir()
    (root / "lachen.yaml").write_text("name: Anna de Vries\n" + LAUGHS.replace("title:", "expertise:"), "utf-8")
    (root / "goed.yaml").write_text("name: Mohamed El Amrani\nexpertise: schuldhulp\nconsent: true\n", "utf-8")
    outcomes = _by_name(isolated().run([root]))
    assert outcomes["lachen.yaml"].status == "failed"
    assert "lachen.yaml" in outcomes["lachen.yaml"].message
    assert "ankers en verwijzingen" in outcomes["lachen.yaml"].message
    assert outcomes["goed.yaml"].status == "added"


def test_billion_laughs_in_a_taxonomy_file_is_refused(tmp_path):
    path = tmp_path / "taxonomie.yaml"
    path.write_text(LAUGHS + "ateliers: *lol8\n", "utf-8")
    with pytest.raises(ConfigError, match="ankers en verwijzingen"):
        Taxonomy.load(path)


def test_front_matter_with_an_alias_is_bad_metadata():
    from ingestion.metadata import split_front_matter

    with pytest.raises(MetadataError, match=r"verslag\.md: .*ankers en verwijzingen"):
        split_front_matter("---\nauteur: &a Anna\nauthors: [*a]\n---\nTekst", "verslag.md")
    with pytest.raises(MetadataError, match="te diep geneste YAML"):
        split_front_matter("---\ntitle: " + "[" * 50_000 + "\n---\nTekst", "diep.md")


@pytest.mark.parametrize("url,kept", [
    ("https://example.org/verslag", True),
    ("http://example.org", True),
    ("javascript:alert(1)", False),
    ("JavaScript:alert(1)", False),
    ("java\tscript:alert(1)", False),
    ("file:///etc/passwd", False),
    ("data:text/html,<script>alert(1)</script>", False),
    ("//example.org", False),
    ("https://", False),
])
def test_only_web_addresses_are_kept_as_url(url, kept):
    from ingestion.metadata import build_meta

    meta = build_meta({"url": url}, Taxonomy.default(), "x.md")
    assert (meta.url == url) is kept
    assert bool(meta.warnings) is not kept
