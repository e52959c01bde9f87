"""Issue 11, outcome 4: nothing thrown away. A document with a title and no body is taken in with its title as
its text; files of a type we do not read, met in a folder, are skipped by name (no failure), while such a file
named explicitly stays an error — through the real CLI, parser and store."""

from __future__ import annotations

import io
import json
from pathlib import Path

from service.cli import main
from tests import docmaker
from tests.conftest import give_the_cli, make_settings


def _run(args: list[str], data: Path) -> tuple[int, dict, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(args, settings=make_settings(data), out=out, err=err)
    return code, json.loads(out.getvalue()) if out.getvalue().startswith("{") else {}, err.getvalue()


def _empty_pdf(path: Path) -> Path:
    """A page without a text layer, like a scan."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 60)
    pdf.output(str(path))
    return path


def test_a_title_without_a_body_is_kept_and_found_by_its_title(tmp_path, e5, monkeypatch):
    give_the_cli(monkeypatch, e5)
    root = tmp_path / "publicaties"
    root.mkdir()
    (root / "alleen-titel.md").write_text("---\ntitle: Eenzaamheid onder mantelzorgers van ouderen\n"
                                          "kind: publicatie\n---\n", "utf-8")
    (root / "kop.md").write_text("# Schuldhulp voor zzp'ers na de coronacrisis\n", "utf-8")
    _empty_pdf(root / "scan-met-titel.pdf")
    (root / "scan-met-titel.pdf.yaml").write_text("title: Brief over de huurtoeslag van een gezin\n", "utf-8")
    _empty_pdf(root / "scan.pdf")  # no text, no title anywhere: refused, as before
    docmaker.make_md(root / "gewoon.md")
    code, report, _ = _run(["ingest", str(root), "--json"], tmp_path / "data")
    status = {Path(f["path"]).name: f for f in report["files"]}
    assert {n for n, f in status.items() if f["status"] == "added"} == {"alleen-titel.md", "kop.md",
                                                                        "scan-met-titel.pdf", "gewoon.md"}
    assert status["scan.pdf"]["status"] == "failed" and "tekstlaag" in status["scan.pdf"]["message"]
    assert code == 1  # the one without any text still counts as failed
    for query, name in (("eenzaamheid mantelzorgers ouderen", "alleen-titel.md"),
                        ("schuldhulp zzp corona", "kop.md"), ("huurtoeslag brief gezin", "scan-met-titel.pdf")):
        out, err = io.StringIO(), io.StringIO()
        main(["search", query, "--json"], settings=make_settings(tmp_path / "data"), out=out, err=err)
        first = json.loads(out.getvalue())["results"][0]
        assert first["document_id"] == status[name]["document_id"], (query, first)


def test_files_we_do_not_read_in_a_folder_are_skipped_not_failed(tmp_path, e5, monkeypatch):
    give_the_cli(monkeypatch, e5)
    root = tmp_path / "map"
    (root / "bronnen").mkdir(parents=True)
    docmaker.make_md(root / "verslag.md")
    (root / "bronnen" / "verslag.bron").write_text("bouwbron", "utf-8")
    (root / "foto.png").write_bytes(b"\x89PNG\r\n")
    code, report, _ = _run(["ingest", str(root), "--json"], tmp_path / "data")
    skipped = {f["path"]: f["message"] for f in report["files"] if f["status"] == "skipped"}
    assert code == 0 and report["failed"] == 0 and report["skipped"] == 2
    assert skipped == {"bronnen/verslag.bron": "bestandstype '.bron' wordt niet gelezen",
                       "foto.png": "bestandstype '.png' wordt niet gelezen"}
    code, report, _ = _run(["ingest", str(root / "foto.png"), "--json"], tmp_path / "data")  # named: an error
    assert code == 1 and report["failed"] == 1 and "wordt niet ondersteund" in report["files"][0]["message"]
    out = io.StringIO()
    main(["ingest", str(root)], settings=make_settings(tmp_path / "data"), out=out, err=io.StringIO())
    assert "verslag.bron" in out.getvalue() and "overgeslagen" in out.getvalue()  # by name, and counted
