"""Browsing for the API and the pages: the choices checked, a page from ``matching.browse``, and for each
document a few lines to go by — its summary, or else the opening of its first passage."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core.errors import ValidationError
from core.store.catalog import Catalog
from core.visibility import Audience
from matching.browse import SORTS, BrowseFilters, BrowsePage
from matching.filters import parse_date
from service.container import Kennismakelaar
from service.validation import check_slugs

MAX_TEXT = 80  # a kind or a target group as a user may type one


def browse_filters(km: Kennismakelaar, *, kind: Sequence[str] = (), atelier: Sequence[str] = (),
                   theme: Sequence[str] = (), knowledge: Sequence[str] = (), evidence: Sequence[str] = (),
                   target_group: Sequence[str] = (), year: Sequence[int] = (), since: str | None = None,
                   names: Mapping[str, str] | None = None) -> BrowseFilters:
    """The user's choices as filters; a ``ValidationError`` names the field (as ``names`` calls it: the pages
    use Dutch parameter names) and what may be chosen."""
    def name(f: str) -> str:
        return (names or {}).get(f, f)

    for f, values in (("kind", kind), ("target_group", target_group)):
        if any(len(v) > MAX_TEXT for v in values):
            raise ValidationError(f"Een waarde van {name(f)} is te lang (hooguit {MAX_TEXT} tekens).", field=name(f))
    chosen: dict[str, tuple[Any, ...]] = {
        "kind": tuple(v.strip().lower() for v in kind if v.strip()),
        "atelier": check_slugs(km, atelier, "atelier", name("atelier")),
        "theme": check_slugs(km, theme, "theme", name("theme")),
        "knowledge": check_slugs(km, knowledge, "knowledge", name("knowledge")),
        "evidence": check_slugs(km, evidence, "evidence", name("evidence")),
        "target_group": tuple(v for v in target_group if v.strip()),
        "year": tuple(sorted(set(year))),
    }
    return BrowseFilters(chosen={k: v for k, v in chosen.items() if v}, since=parse_date(since, name("since")))


def check_sort(value: str | None, choices: Mapping[str, str] | None = None) -> str:
    """An order of ``matching.browse.SORTS``, by its own name or the name ``choices`` gives it."""
    by_name = {**{k: k for k in SORTS}, **(dict(choices or {}))}
    if value in (None, ""):
        return "date"
    if value not in by_name:
        raise ValidationError(f"Onbekende volgorde {value!r}.", field="sort", hint="Kies uit: " + ", ".join(by_name))
    return by_name[value]


def browse(km: Kennismakelaar, audience: Audience, filters: BrowseFilters, *, sort: str = "date",
           page: int = 1) -> BrowsePage:
    result = km.browser(audience).browse(filters, sort=sort, page=page)
    _with_openings(km.catalog(), result.items)
    return result


def _with_openings(catalog: Catalog, items: list[dict[str, Any]]) -> None:
    """Give each item without a summary the start of its first passage (``opening``): one lookup by id."""
    waiting = {i["document_id"]: i for i in items if not i.get("summary") and i.get("content_hash")}
    ids = [Catalog.chunk_key(d, i["content_hash"], 0) for d, i in waiting.items()]
    for passage in catalog.passages(ids).values():
        item = waiting.get(passage.get("document_id", ""))
        if item is not None:
            item["opening"] = passage.get("text", "")
