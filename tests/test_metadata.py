import pytest

from core.errors import MetadataError
from core.taxonomy import Taxonomy
from ingestion.metadata import build_meta, read_sidecar, split_front_matter

TAX = Taxonomy.default()


def test_front_matter_is_split_from_the_body():
    meta, body = split_front_matter("---\nid: v1\ntitle: Verslag\n---\n# Kop\nTekst\n")
    assert meta == {"id": "v1", "title": "Verslag"}
    assert body.startswith("# Kop")


def test_text_without_front_matter_is_untouched():
    text = "# Kop\n---\nGeen front matter hier."
    assert split_front_matter(text) == ({}, text)


def test_broken_front_matter_names_the_line():
    with pytest.raises(MetadataError, match="regel"):
        split_front_matter("---\ntitle: [niet gesloten\nkind: verslag\n---\nTekst", "a.md")


def test_front_matter_must_be_a_mapping():
    with pytest.raises(MetadataError, match="key: waarde"):
        split_front_matter("---\n- een\n- lijst\n---\nTekst", "a.md")


def test_sidecar_is_read(tmp_path):
    f = tmp_path / "x.docx.yaml"
    f.write_text("title: Uit de sidecar\nateliers: armoede\n", "utf-8")
    assert read_sidecar(f)["title"] == "Uit de sidecar"


def test_meta_normalises_lists_slugs_and_dates():
    meta = build_meta({"kind": "Verslag", "ateliers": "Kansrijk met jeugd, armoede", "themes": ["impact", "quatsch"],
                       "date": "12-03-2025", "authors": "Anna de Vries; Mohamed El Amrani", "id": 2025}, TAX)
    assert meta.kind == "verslag"
    assert meta.ateliers == ["kansrijk-met-jeugd", "tweedeling-en-armoede"]
    assert meta.themes == ["impact"]
    assert meta.date == "2025-03-12"
    assert meta.authors == ["Anna de Vries", "Mohamed El Amrani"]
    assert meta.id == "2025"
    assert any("quatsch" in w for w in meta.warnings)


@pytest.mark.parametrize("given,iso", [("2024", "2024-01-01"), ("2024-05", "2024-05-01"), ("2024-05-13", "2024-05-13")])
def test_partial_dates_are_accepted(given, iso):
    assert build_meta({"date": given}, TAX).date == iso


def test_unreadable_date_is_a_warning_not_a_failure():
    meta = build_meta({"date": "ergens in mei"}, TAX)
    assert meta.date is None and meta.warnings
