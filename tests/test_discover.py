import os
from pathlib import Path

from core.errors import FileTooLargeError, UnreadableFileError, UnsupportedFileError
from ingestion.discover import discover


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    (root / "sub").mkdir(parents=True)
    (root / "a.md").write_text("# A\n", "utf-8")
    (root / "b.docx").write_bytes(b"x")
    (root / "b.docx.yaml").write_text("title: B\n", "utf-8")
    (root / "experts.yaml").write_text("experts: []\n", "utf-8")
    (root / "mensen.csv").write_text("name\nA\n", "utf-8")
    (root / "plaatje.png").write_bytes(b"\x89PNG")
    (root / ".verborgen.md").write_text("x", "utf-8")
    (root / "sub" / "groot.pdf").write_bytes(b"0" * 2048)
    return root


def test_files_are_sorted_into_documents_profiles_and_rejects(tmp_path):
    root = _tree(tmp_path)
    found = discover([root], max_bytes=1024)
    assert [d.relpath for d in found.documents] == ["a.md", "b.docx"]
    assert found.documents[1].sidecar == root / "b.docx.yaml"
    assert sorted(p.relpath for p in found.profiles) == ["experts.yaml", "mensen.csv"]
    kinds = {type(r): r for r in found.rejected}
    assert found.ignored == [("plaatje.png", "png")] and UnsupportedFileError not in kinds  # in a folder: skipped
    named = discover([root / "plaatje.png"], max_bytes=1024)  # named explicitly: an error
    assert ".png" in str(named.rejected[0]) and isinstance(named.rejected[0], UnsupportedFileError)
    assert "groot.pdf" in str(kinds[FileTooLargeError]) and "MB" in str(kinds[FileTooLargeError])
    assert not any(".verborgen" in d.relpath for d in found.documents)


def test_missing_path_and_dangling_link_are_reported_by_name(tmp_path):
    link = tmp_path / "weg.pdf"
    os.symlink(tmp_path / "bestaat-niet.pdf", link)
    found = discover([tmp_path / "nergens", link], max_bytes=1 << 20)
    assert len(found.rejected) == 2
    assert all(isinstance(r, UnreadableFileError) for r in found.rejected)
    assert "nergens" in found.rejected[0].message and "weg.pdf" in found.rejected[1].message


def test_a_single_file_can_be_given(tmp_path):
    root = _tree(tmp_path)
    found = discover([root / "a.md"], max_bytes=1 << 20)
    assert [d.relpath for d in found.documents] == ["a.md"]


def test_excluded_folder_is_not_walked(tmp_path):
    root = _tree(tmp_path)
    assert "sub/groot.pdf" in [d.relpath for d in discover([root], max_bytes=1 << 20).documents]
    found = discover([root], max_bytes=1 << 20, exclude=[root / "sub"])
    assert [d.relpath for d in found.documents] == ["a.md", "b.docx"]
    assert not [r for r in found.rejected if "groot.pdf" in str(r)]  # not walked at all: not even listed as a reject
