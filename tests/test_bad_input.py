"""Every kind of bad input is reported by file name with its reason and skipped; the rest goes in."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from service.cli import main
from tests import docmaker
from tests.conftest import BROKEN_DOCS, give_the_cli, make_settings

BAD = {
    "kapot.pdf": "geen leesbare PDF",
    "geheim.pdf": "wachtwoord",
    "leeg.txt": "leeg",
    "willekeurig.docx": "kon het bestand niet lezen als .docx",
    "kapotte-yaml.md": "YAML-front matter is ongeldig",
    "te-groot.txt": "te groot",
    "weg.pdf": "bestaat niet",
    "debian-edu-bullseye-manual.epub": "kon het bestand niet lezen als .epub",
}


@pytest.fixture
def batch(tmp_path: Path) -> Path:
    root = tmp_path / "batch"
    root.mkdir()
    docmaker.make_md(root / "goed.md", front="title: Goed verslag\n")
    docmaker.make_docx(root / "goed.docx")
    (root / "kapot.pdf").write_bytes(b"%PDF-1.7\n" + os.urandom(3000))
    docmaker.make_pdf(root / "geheim.pdf", password="geheim")
    (root / "leeg.txt").write_bytes(b"")
    (root / "willekeurig.docx").write_bytes(os.urandom(4096))
    (root / "kapotte-yaml.md").write_text("---\ntitle: [open\nkind: verslag\n---\nTekst\n", "utf-8")
    (root / "tabel.xyz").write_text("a,b\n", "utf-8")
    (root / "te-groot.txt").write_text("woord " * 600_000, "utf-8")  # 3.6 MB
    os.symlink(root / "bestaat-niet.pdf", root / "weg.pdf")
    return root


def _run(args, settings):
    out, err = io.StringIO(), io.StringIO()
    code = main(args, settings=settings, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.slow  # a batch of broken files, a 3.6 MB one among them, through the CLI
def test_bad_files_are_reported_and_the_rest_goes_in(batch, tmp_path, e5, monkeypatch):
    settings = make_settings(tmp_path / "data", KM_MAX_FILE_MB="3")
    give_the_cli(monkeypatch, e5)
    code, out, _ = _run(["ingest", str(batch), str(BROKEN_DOCS / "debian-edu-bullseye-manual.epub"), "--json"],
                        settings)
    report = json.loads(out)
    assert code == 1  # something failed
    failed = {Path(f["path"]).name: f["message"] for f in report["files"] if f["status"] == "failed"}
    for name, reason in BAD.items():
        assert name in failed, (name, failed)
        assert reason in failed[name], (name, failed[name])
        assert name in failed[name]  # the message itself names the file
    ok = {Path(f["path"]).name for f in report["files"] if f["status"] == "added"}
    assert ok == {"goed.md", "goed.docx"}
    skipped = {Path(f["path"]).name for f in report["files"] if f["status"] == "skipped"}
    assert skipped == {"tabel.xyz"}  # a type we do not read, met in the folder: skipped by name, no failure
    assert report["failed"] == len(failed)


@pytest.mark.slow  # a batch of broken files, a 3.6 MB one among them, through the CLI
def test_human_summary_lists_each_failure_and_no_traceback(batch, tmp_path, e5, monkeypatch):
    settings = make_settings(tmp_path / "data", KM_MAX_FILE_MB="3")
    give_the_cli(monkeypatch, e5)
    code, out, err = _run(["ingest", str(batch)], settings)
    assert code == 1
    assert "Traceback" not in out + err
    for name in ("kapot.pdf", "geheim.pdf", "leeg.txt", "willekeurig.docx", "kapotte-yaml.md", "tabel.xyz"):
        assert name in out
    assert "Samenvatting" in out and "mislukt" in out
    # a rerun: the good files are unchanged, the bad ones are still reported (nothing is silently skipped)
    code, out, _ = _run(["ingest", str(batch), "--json"], settings)
    report = json.loads(out)
    assert code == 1 and report["unchanged"] == 2 and report["failed"] == len(BAD) - 1


@pytest.mark.slow  # a parser worker of its own (test_cli's ingest exits 0 in the fast run)
def test_all_good_exits_zero(tmp_path, e5, monkeypatch):
    give_the_cli(monkeypatch, e5)
    root = tmp_path / "ok"
    root.mkdir()
    docmaker.make_md(root / "a.md")
    code, _, _ = _run(["ingest", str(root)], make_settings(tmp_path / "data"))
    assert code == 0


def test_profiles_with_problems_are_reported(tmp_path, e5, monkeypatch):
    give_the_cli(monkeypatch, e5)
    root = tmp_path / "p"
    root.mkdir()
    (root / "experts.yaml").write_text("experts:\n  - name: Anna\n  - role: zonder naam\n", "utf-8")
    (root / "leeg.csv").write_text("kolom\nx\n", "utf-8")
    (root / "raar.yaml").write_text("gewoon: een mapping\n", "utf-8")
    code, out, _ = _run(["ingest", str(root), "--json"], make_settings(tmp_path / "data"))
    report = json.loads(out)
    by_name = {Path(f["path"]).name: f for f in report["files"]}
    assert code == 1
    assert by_name["experts.yaml"]["status"] == "added" and "geen naam" in by_name["experts.yaml"]["warnings"][0]
    assert "kolom 'name'" in by_name["leeg.csv"]["message"]
    assert "geen expertprofiel" in by_name["raar.yaml"]["message"]
