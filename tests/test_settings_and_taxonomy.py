from pathlib import Path

import pytest

from core.errors import ConfigError
from core.names import as_list, name_key, slugify
from core.taxonomy import Taxonomy
from service.settings import Settings, settings_table


def test_defaults_and_env_overrides(tmp_path):
    s = Settings.from_env({"KM_DATA_DIR": str(tmp_path), "KM_MAX_FILE_MB": "5", "KM_EMBEDDING_CACHE": "nee"})
    assert s.store.data_dir == tmp_path
    assert s.ingest.max_file_bytes == 5 * 1024 * 1024
    assert s.embedding.cache is False
    assert s.embedding.model == "multilingual-e5-small"
    assert s.store.qdrant_url is None


@pytest.mark.parametrize("env", [{"KM_MAX_FILE_MB": "veel"}, {"KM_MAX_FILE_MB": "-1"},
                                 {"KM_EMBEDDING_CACHE": "misschien"}])
def test_bad_setting_names_the_variable(env):
    with pytest.raises(ConfigError) as err:
        Settings.from_env(env)
    assert next(iter(env)) in str(err.value)


def test_every_setting_is_documented():
    rows = settings_table()
    assert {r[0] for r in rows} >= {"KM_DATA_DIR", "KM_QDRANT_URL", "KM_EMBEDDING_MODEL", "KM_MAX_FILE_MB"}
    assert all(r[2] for r in rows)


def test_default_taxonomy_has_three_ateliers_and_three_themes():
    t = Taxonomy.default()
    assert [a.slug for a in t.ateliers] == ["kansrijk-met-jeugd", "tweedeling-en-armoede",
                                            "veerkracht-in-gemeenschappen"]
    assert [a.slug for a in t.themes] == ["impact", "leiderschap", "interprofessionaliteit"]
    assert all(len(term.description) > 80 for term in (*t.ateliers, *t.themes))


@pytest.mark.parametrize("given,slug", [
    ("Kansrijk met jeugd", "kansrijk-met-jeugd"), ("armoede", "tweedeling-en-armoede"),
    ("VEERKRACHT", "veerkracht-in-gemeenschappen"), ("tweedeling-en-armoede", "tweedeling-en-armoede")])
def test_ateliers_resolve_from_slug_name_or_short_form(given, slug):
    assert Taxonomy.default().resolve_atelier(given) == slug


def test_unknown_atelier_is_none():
    assert Taxonomy.default().resolve_atelier("ruimtevaart") is None
    assert Taxonomy.default().resolve_atelier("met") is None  # too short to mean one atelier


def test_custom_taxonomy_replaces_the_default(tmp_path: Path):
    f = tmp_path / "tax.yaml"
    f.write_text("ateliers:\n  - slug: wonen\n    name: Wonen en buurt\n    description: huisvesting\n"
                 "themes:\n  - name: Digitale inclusie\n", "utf-8")
    t = Taxonomy.load(f)
    assert [a.slug for a in t.ateliers] == ["wonen"]
    assert t.resolve_theme("digitale inclusie") == "digitale-inclusie"
    assert t.resolve_atelier("kansrijk-met-jeugd") is None


@pytest.mark.parametrize("text", ["ateliers: [", "- alleen een lijst", "themes: []"])
def test_broken_taxonomy_is_a_config_error(tmp_path: Path, text):
    f = tmp_path / "tax.yaml"
    f.write_text(text, "utf-8")
    with pytest.raises(ConfigError):
        Taxonomy.load(f)


def test_missing_taxonomy_file_is_a_config_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="niet te lezen"):
        Taxonomy.load(tmp_path / "nope.yaml")


def test_names_match_across_case_accents_and_dashes():
    assert name_key("Sànne Vossen") == name_key("sanne-vossen") == name_key("  SANNE   vossen ")
    assert name_key("Mohamed El Amrani") != name_key("Mohamed Amrani")
    assert slugify("Ëén & twee") == "een-twee"
    assert as_list("a; b, c") == ["a", "b", "c"]
    assert as_list(["x", None, " y "]) == ["x", "y"]
    assert as_list(None) == []


@pytest.mark.parametrize(("text", "slug"), [
    ("Øystein Ødegård", "oystein-odegard"),  # letters without a decomposition are transliterated, not dropped
    ("Jürgen Straße", "jurgen-strasse"),
    ("Łukasz Żółć", "lukasz-zolc"),
    ("Æsa Bjørnsdóttir", "aesa-bjornsdottir"),
    ("  Rapport: wijk 3 / 2024  ", "rapport-wijk-3-2024"),
    ("***", ""),
])
def test_slugs_keep_every_letter(text, slug):
    assert slugify(text) == slug


def test_a_profile_of_a_name_with_non_ascii_letters_gets_a_readable_id(tmp_path: Path):
    from core.models import SourceFile
    from ingestion.profiles import load_profiles

    path = tmp_path / "experts.yaml"
    path.write_text("experts:\n  - name: Øystein Ødegård\n    consent: true\n", "utf-8")
    source = SourceFile(path, tmp_path, "experts.yaml", path.stat().st_size)
    (expert,) = load_profiles(source, Taxonomy.default()).experts
    assert (expert.id, expert.name) == ("oystein-odegard", "Øystein Ødegård")
