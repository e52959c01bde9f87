"""Expert profiles (GUIDE 4.2) from YAML — one profile, or a list under ``experts:`` — or CSV.

Columns/keys: ``id, name, role, organization, ateliers, themes, expertise, email, consent``. Without
``consent: true`` a person is never shown publicly; the profile is still kept (and counted).
A profile without a name is reported; the others in the file still go in.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from core.errors import CorruptFileError, MetadataError
from core.models import Expert, SourceFile
from core.names import as_list, slugify
from core.safe_yaml import load_yaml_strict
from core.taxonomy import Taxonomy
from ingestion.metadata import decode_text

_TRUE = {"true", "yes", "ja", "1", "y", "j", "waar"}


@dataclass
class ProfileFile:
    experts: list[Expert] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def load_profiles(source: SourceFile, taxonomy: Taxonomy) -> ProfileFile:
    """Read every profile in one file; raise only when the file as a whole is unusable."""
    text = decode_text(source.path.read_bytes(), source)
    rows = _csv_rows(text, source) if source.extension == "csv" else _yaml_rows(text, source)
    out = ProfileFile()
    seen: set[str] = set()
    for number, row in enumerate(rows, start=1):
        expert = _expert(row, source, taxonomy, out.warnings, number)
        if expert is None:
            continue
        if expert.id in seen:
            out.warnings.append(f"profiel {number}: id {expert.id!r} komt dubbel voor (genegeerd)")
            continue
        seen.add(expert.id)
        out.experts.append(expert)
    if not out.experts:
        raise MetadataError(f"{source.relpath}: geen bruikbaar expertprofiel gevonden.", path=str(source.path),
                            hint="Een profiel heeft minstens 'name'; zie de README voor de velden.")
    return out


def _yaml_rows(text: str, source: SourceFile) -> list[dict[str, Any]]:
    try:
        data = load_yaml_strict(text)
    except yaml.YAMLError as exc:
        raise MetadataError(f"{source.relpath}: ongeldige YAML ({getattr(exc, 'problem', exc)}).",
                            path=str(source.path)) from exc
    if isinstance(data, dict) and isinstance(data.get("experts"), list):
        rows = data["experts"]
    elif isinstance(data, dict) and "name" in data:
        rows = [data]
    elif isinstance(data, list):
        rows = data
    else:
        raise MetadataError(f"{source.relpath}: dit YAML-bestand is geen expertprofiel.", path=str(source.path),
                            hint="Verwacht 'name: ...' of een lijst onder 'experts:'. "
                                 "Metadata bij een document heet NAAM.EXT.yaml.")
    return [r for r in rows if isinstance(r, dict)]


def _csv_rows(text: str, source: SourceFile) -> list[dict[str, Any]]:
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    if not reader.fieldnames or "name" not in [f.strip().lower() for f in reader.fieldnames]:
        raise CorruptFileError(f"{source.relpath}: CSV zonder kolom 'name'; geen expertprofielen.",
                               path=str(source.path), hint="Kolommen: id, name, role, organization, ...")
    return [{(k or "").strip().lower(): v for k, v in row.items()} for row in reader]


def _expert(row: dict[str, Any], source: SourceFile, taxonomy: Taxonomy, warnings: list[str],
            number: int) -> Expert | None:
    name = str(row.get("name") or "").strip()
    if not name:
        warnings.append(f"profiel {number}: geen naam (overgeslagen)")
        return None
    ateliers: list[str] = []
    themes: list[str] = []
    for key, resolve, target in (("ateliers", taxonomy.resolve_atelier, ateliers),
                                 ("themes", taxonomy.resolve_theme, themes)):
        for value in as_list(row.get(key)):
            slug = resolve(value)
            if slug is None:
                warnings.append(f"{name}: onbekende waarde in {key}: {value!r} (genegeerd)")
            elif slug not in target:
                target.append(slug)
    consent = row.get("consent")
    return Expert(
        id=slugify(str(row.get("id") or name)),
        name=name,
        role=str(row.get("role") or "").strip(),
        organization=str(row.get("organization") or "").strip(),
        ateliers=ateliers,
        themes=themes,
        expertise=" ".join(str(row.get("expertise") or "").split()),
        email=str(row.get("email") or "").strip(),
        consent=consent is True or str(consent).strip().lower() in _TRUE,
        source=source.relpath,
    )


# The fields of a profile a coordinator can change in the service.
EDITABLE = ("name", "role", "organization", "ateliers", "themes", "expertise", "email", "consent")


def merge_profile(incoming: Expert, stored: dict[str, Any], edited: Sequence[str]) -> tuple[Expert, list[str]]:
    """The profile from a file, except for the fields a coordinator edited in the service: those keep the
    stored value. Returns the merged profile and the edited fields where the file now says otherwise.

    >>> file = Expert(id="a", name="Anna", consent=True, role="onderzoeker")
    >>> merged, conflicts = merge_profile(file, {"consent": False, "role": "docent"}, ["consent"])
    >>> merged.consent, merged.role, conflicts
    (False, 'onderzoeker', ['consent'])
    """
    values = {f: stored[f] for f in edited if f in EDITABLE and f in stored}
    conflicts = [f for f, v in values.items() if not same_value(getattr(incoming, f), v)]
    return replace(incoming, **values), conflicts


def changed_fields(expert: Expert, stored: dict[str, Any]) -> list[str]:
    """The editable fields in which ``expert`` differs from the stored profile.

    >>> changed_fields(Expert(id="a", name="A", consent=False), {"name": "A", "consent": True})
    ['consent']
    """
    return [f for f in EDITABLE if not same_value(getattr(expert, f), stored.get(f, type(getattr(expert, f))()))]


def same_value(a: Any, b: Any) -> bool:
    """Equal, where lists (ateliers, themes) count as sets: their order is no edit.

    >>> same_value(["a", "b"], ["b", "a"]), same_value("x", "y")
    (True, False)
    """
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return set(a) == set(b)
    return bool(a == b)
