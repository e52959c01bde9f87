"""Validation of what a user types, shared by the API and the pages: one length limit, one slug check."""

from __future__ import annotations

from collections.abc import Sequence

from core.errors import ValidationError
from core.knowledge import KNOWLEDGE, resolve_knowledge
from matching.broker import clean_text
from service.container import Kennismakelaar


def check_text(km: Kennismakelaar, text: str, field: str) -> str:
    """A question or search text within the configured length, without surrounding space."""
    return clean_text(text, km.settings.service.max_query_chars, field)


def check_slug(km: Kennismakelaar, value: str | None, kind: str, field: str) -> str | None:
    """The slug of an atelier, theme, knowledge source or evidence level as a user gave it; a
    ``ValidationError`` naming ``field`` (and the choices) when there is none such."""
    if value is None or value == "":
        return None
    taxonomy = km.taxonomy
    resolve, choices = {
        "atelier": (taxonomy.resolve_atelier, [t.slug for t in taxonomy.ateliers]),
        "theme": (taxonomy.resolve_theme, [t.slug for t in taxonomy.themes]),
        "knowledge": (resolve_knowledge, list(KNOWLEDGE)),
        "evidence": (taxonomy.resolve_evidence, [e.slug for e in taxonomy.evidence]),
    }[kind]
    slug = resolve(value)
    if slug is None:
        label = {"knowledge": "kennisbron", "evidence": "niveau van bewijs"}.get(kind, kind)
        raise ValidationError(f"Onbekend {label}: {value!r}.", field=field,
                              hint="Kies uit: " + ", ".join(choices) + ".")
    return slug


def check_slugs(km: Kennismakelaar, values: Sequence[str] | None, kind: str, field: str) -> tuple[str, ...]:
    """``check_slug`` for each of several values (a filter chosen more than once)."""
    return tuple(x for x in (check_slug(km, v, kind, field) for v in values or ()) if x)
