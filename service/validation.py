"""Validation of what a user types, shared by the API and the pages: one length limit, one slug check."""

from __future__ import annotations

from core.errors import ValidationError
from matching.broker import clean_text
from service.container import Kennismakelaar


def check_text(km: Kennismakelaar, text: str, field: str) -> str:
    """A question or search text within the configured length, without surrounding space."""
    return clean_text(text, km.settings.service.max_query_chars, field)


def check_slug(km: Kennismakelaar, value: str | None, kind: str, field: str) -> str | None:
    if value is None or value == "":
        return None
    resolve = km.taxonomy.resolve_atelier if kind == "atelier" else km.taxonomy.resolve_theme
    slug = resolve(value)
    if slug is None:
        terms = km.taxonomy.ateliers if kind == "atelier" else km.taxonomy.themes
        raise ValidationError(f"Onbekend {kind}: {value!r}.", field=field,
                              hint="Kies uit: " + ", ".join(t.slug for t in terms) + ".")
    return slug
