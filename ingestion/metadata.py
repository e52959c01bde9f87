"""Document metadata from YAML front matter (``.md``/``.txt``) or a sidecar ``NAME.EXT.yaml`` (GUIDE 4.1).

>>> meta, body = split_front_matter("---\\ntitle: Verslag\\nateliers: [armoede]\\n---\\nTekst")
>>> meta["title"], body
('Verslag', 'Tekst')
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from core.errors import CorruptFileError, MetadataError, ValidationError
from core.knowledge import resolve_knowledge
from core.models import DocumentMeta, SourceFile
from core.names import as_list
from core.safe_yaml import load_yaml_strict
from core.taxonomy import Taxonomy
from core.visibility import COORDINATIE, parse_visibility

_FRONT = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)
FRONT_MATTER_FORMATS = {"md", "markdown", "txt"}


def decode_text(raw: bytes, source: SourceFile | None = None) -> str:
    """A text file as people save them: UTF-8 (with or without a BOM), else Windows-1252 — one rule for
    documents, their front matter and profile files alike.

    >>> decode_text("José".encode("cp1252"))
    'José'
    """
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        if b"\x00" in raw[:4096]:
            raise CorruptFileError(f"{source.relpath if source else 'bestand'}: binaire inhoud, geen tekstbestand.",
                                   path=str(source.path) if source else "") from None
        return raw.decode("cp1252", errors="replace")


def split_front_matter(text: str, source: str = "") -> tuple[dict[str, Any], str]:
    """Split ``text`` into (front matter mapping, body); a file without front matter gives ({}, text)."""
    match = _FRONT.match(text)
    if not match:
        return {}, text
    return _load_mapping(match.group(1), source, "front matter"), text[match.end():]


def read_sidecar(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MetadataError(f"Metadatabestand {path.name} is niet te lezen ({exc}).", path=str(path)) from exc
    return _load_mapping(text, str(path), "metadatabestand")


def _load_mapping(text: str, source: str, what: str) -> dict[str, Any]:
    try:
        data = load_yaml_strict(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" (regel {where.line + 1})" if where else ""
        raise MetadataError(f"{_name(source)}De YAML-{what} is ongeldig{line}: {getattr(exc, 'problem', exc)}.",
                            path=source, hint="Herstel de YAML of verwijder de metadata.") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise MetadataError(f"{_name(source)}De YAML-{what} is geen lijst van velden (key: waarde).", path=source)
    return data


def _name(source: str) -> str:
    return f"{source}: " if source else ""


def build_meta(raw: dict[str, Any], taxonomy: Taxonomy, source: str = "") -> DocumentMeta:
    """Normalise raw metadata: lists from strings, slugs from names, dates to ISO. Unknown slugs warn."""
    meta = DocumentMeta(
        id=_text(raw.get("id")),
        title=_text(raw.get("title")),
        kind=(_text(raw.get("kind")) or "").lower() or None,
        authors=as_list(raw.get("authors") or raw.get("author")),
        participants=as_list(raw.get("participants")),
    )
    meta.url = _url(raw.get("url"), meta)
    meta.date = _date(raw.get("date"), meta, source)
    for key, resolve, target in (("ateliers", taxonomy.resolve_atelier, meta.ateliers),
                                 ("themes", taxonomy.resolve_theme, meta.themes),
                                 ("knowledge", resolve_knowledge, meta.knowledge)):
        for value in as_list(_first(raw, key, *_ALIASES.get(key, ()))):
            slug = resolve(value)
            if slug is None:
                meta.warnings.append(f"onbekende waarde in {key}: {value!r} (genegeerd)")
            elif slug not in target:
                target.append(slug)
    evidence = _text(_first(raw, "evidence", *_ALIASES["evidence"]))
    if evidence is not None:
        meta.evidence = taxonomy.resolve_evidence(evidence)
        if meta.evidence is None:
            meta.warnings.append(f"onbekend niveau in evidence: {evidence!r} (genegeerd; kies uit "
                                 + ", ".join(e.slug for e in taxonomy.evidence) + ")")
    said = _text(_first(raw, "visibility", *_ALIASES["visibility"]))
    if said is not None:
        try:
            meta.visibility = parse_visibility(said, [a.slug for a in taxonomy.ateliers])
        except ValidationError:
            # a misspelt level must not make a document public: it gets the narrowest, and the report says so
            meta.visibility = COORDINATIE
            meta.warnings.append(f"onbekende zichtbaarheid {said!r}: alleen coördinatoren zien het document "
                                 "(kies openbaar, werkplaats, coordinatie of atelier:<atelier>)")
    meta.target_groups = _phrases(_first(raw, "target_groups", *_ALIASES["target_groups"]))
    meta.working_elements = _phrases(_first(raw, "working_elements", *_ALIASES["working_elements"]))
    assessed = _first(raw, "evidence_date", *_ALIASES["evidence_date"])
    if assessed is not None:
        meta.evidence_date = _date(assessed, meta, source, field="evidence_date")
    meta.evidence_assessor = _text(_first(raw, "evidence_assessor", *_ALIASES["evidence_assessor"]))
    meta.evidence_reason = _text(_first(raw, "evidence_reason", *_ALIASES["evidence_reason"]))
    meta.summary = _text(_first(raw, "summary", *_ALIASES["summary"]))
    return meta


# the names people also use for a field (Dutch, singular); the first one present counts
_ALIASES: dict[str, tuple[str, ...]] = {
    "ateliers": ("atelier",), "themes": ("theme",),
    "knowledge": ("kennisbronnen", "kennisbron", "knowledge_sources"),
    "evidence": ("bewijskracht", "erkenning", "evidence_level"),
    "target_groups": ("target_group", "doelgroep", "doelgroepen"),
    "working_elements": ("werkzame_elementen", "werkzame elementen"),
    "visibility": ("zichtbaarheid", "zichtbaar_voor", "zichtbaar voor"),
    "evidence_date": ("beoordeeld_op", "datum_beoordeling", "assessed_on"),
    "evidence_assessor": ("beoordeeld_door", "beoordelaar", "assessor"),
    "evidence_reason": ("onderbouwing", "toelichting_beoordeling"),
    "summary": ("samenvatting", "abstract"),
}


def _first(raw: dict[str, Any], *keys: str) -> Any:
    return next((raw[k] for k in keys if raw.get(k) not in (None, "", [])), None)


def _phrases(value: Any) -> list[str]:
    """Free-text items (a target group, a working element), each on its own, without repeats.

    >>> _phrases("ouders met schulden; jongeren"), _phrases(["Vast gezicht", "vast gezicht", ""])
    (['ouders met schulden', 'jongeren'], ['Vast gezicht'])
    """
    # a list, or one text with ';' between items: a comma belongs to the phrase ("vast gezicht, ook later")
    items = value if isinstance(value, list) else str(value).split(";") if value is not None else []
    seen: dict[str, str] = {}
    for item in items:
        text = " ".join(str(item).split())[:200]
        if text and text.lower() not in seen:
            seen[text.lower()] = text
    return list(seen.values())


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _url(value: Any, meta: DocumentMeta) -> str | None:
    """A web address (http or https) to link to; anything else (``javascript:``, ``file:``, ...) is dropped.

    >>> m = DocumentMeta()
    >>> _url("https://example.org/verslag", m), _url("javascript:alert(1)", m), m.warnings
    ('https://example.org/verslag', None, ["url 'javascript:alert(1)' genegeerd (alleen http- en https-adressen)"])
    """
    text = _text(value)
    if text is None:
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname \
            or any(c.isspace() or ord(c) < 32 for c in text):
        meta.warnings.append(f"url {text[:200]!r} genegeerd (alleen http- en https-adressen)")
        return None
    return text


def _date(value: Any, meta: DocumentMeta, source: str, *, field: str = "datum") -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    for pattern, fmt in ((r"\d{4}-\d{2}-\d{2}", "%Y-%m-%d"), (r"\d{1,2}-\d{1,2}-\d{4}", "%d-%m-%Y"),
                         (r"\d{4}-\d{2}", "%Y-%m"), (r"\d{4}", "%Y")):
        if re.fullmatch(pattern, text):
            try:
                return dt.datetime.strptime(text, fmt).date().isoformat()
            except ValueError:
                break
    meta.warnings.append(f"{field} {text!r} niet herkend (verwacht jjjj-mm-dd)")
    return None
