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


@pytest.mark.parametrize(("env", "expected"), [
    ({"KM_MAX_FILE_MB": "veel"}, "een geheel getal"),
    ({"KM_MAX_FILE_MB": "-1"}, "minstens 1"),
    ({"KM_EMBEDDING_CACHE": "misschien"}, "ja of nee"),
    ({"KM_PORT": "70000"}, "hooguit 65535"),
    ({"KM_ANSWER_THRESHOLD": "1.5"}, "hooguit 1"),
    ({"KM_CHUNK_TOKENS": "4"}, "minstens 32"),
    ({"KM_CONTACT_EMAIL": "coordinatoren"}, "een e-mailadres"),
    ({"KM_WORKERS": "0"}, "minstens 1"),
])
def test_a_bad_setting_is_refused_by_its_schema_naming_the_variable(env, expected):
    with pytest.raises(ConfigError) as err:
        Settings.from_env({"KM_DATA_DIR": "/tmp/km", **env})
    name, value = next(iter(env.items()))
    assert f"{name}={value!r}" in str(err.value)
    assert expected in (err.value.hint or "")


def test_settings_that_existing_installations_use_stay_accepted(caplog):
    """Only adding: what an earlier version took is still taken (a short secret only warns — refusing it would
    lock the store out, whose removal markers are keyed by it)."""
    with caplog.at_level("WARNING", logger="kennismakelaar.settings"):
        s = Settings.from_env({"KM_QDRANT_URL": "localhost:6333", "KM_SECRET_KEY": "geheim",
                               "KM_COLLECTION_PREFIX": "km-test.1"})
    assert (s.store.qdrant_url, s.service.secret_key, s.store.collection_prefix) == ("localhost:6333", "geheim",
                                                                                     "km-test.1")
    assert "KM_SECRET_KEY is korter dan 16 tekens" in caplog.text


def test_settings_read_yes_no_words_and_home_folders(monkeypatch):
    monkeypatch.setenv("HOME", "/home/werkplaats")
    s = Settings.from_env({"KM_DATA_DIR": "~/kennis", "KM_SECURE_COOKIES": "ja", "KM_EMBEDDING_CACHE": "Off",
                           "KM_PORT": " 8080 ", "KM_QDRANT_URL": ""})
    assert s.store.data_dir == Path("/home/werkplaats/kennis")
    assert (s.service.secure_cookies, s.embedding.cache, s.service.port) == (True, False, 8080)
    assert s.store.qdrant_url is None  # an empty value counts as unset


def test_settings_are_read_once_and_cannot_change():
    from pydantic import ValidationError as SchemaError

    s = Settings.from_env({})
    with pytest.raises(SchemaError, match="frozen_instance"):
        s.service.port = 1  # type: ignore[misc]


def test_an_unknown_variable_is_warned_about_by_name(caplog):
    with caplog.at_level("WARNING", logger="kennismakelaar.settings"):
        Settings.from_env({"KM_MAX_QUERY_CHAR": "50"})
    assert "KM_MAX_QUERY_CHAR (bedoel je KM_MAX_QUERY_CHARS?)" in caplog.text


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


@pytest.mark.parametrize(("text", "why"), [("ateliers: [", "geen geldige YAML"),
                                           ("- alleen een lijst", "verwacht een lijst 'ateliers'"),
                                           ("themes: []", "verwacht een lijst 'ateliers'")])
def test_broken_taxonomy_is_a_config_error(tmp_path: Path, text, why):
    f = tmp_path / "tax.yaml"
    f.write_text(text, "utf-8")
    with pytest.raises(ConfigError, match=why):
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


def test_one_question_length_limit_for_the_api_the_pages_and_the_cli(tmp_path):
    """KM_MAX_QUERY_CHARS is the one limit: the service's check (API and pages) and the broker (CLI) both
    apply it, with the same message."""
    import io
    from types import SimpleNamespace

    from core.errors import ValidationError
    from service.cli import main
    from service.validation import check_text

    settings = Settings.from_env({"KM_DATA_DIR": str(tmp_path), "KM_MAX_QUERY_CHARS": "50"})
    km = SimpleNamespace(settings=settings)
    assert check_text(km, " x" * 25, "q") == " ".join(["x"] * 25)  # 49 characters once the spaces are folded
    with pytest.raises(ValidationError, match=r"te lang \(51 tekens; hooguit 50\)"):
        check_text(km, "x" * 51, "q")
    err = io.StringIO()
    assert main(["search", "y" * 51], settings=settings, out=io.StringIO(), err=err) == 2
    assert "te lang (51 tekens; hooguit 50)" in err.getvalue()
