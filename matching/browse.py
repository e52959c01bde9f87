"""Browsing without a question, as in a databank: every document an audience may see, narrowed by facets, in the
order asked for, a page at a time — with a count per facet value.

Everything happens in the engine: the order (``core.ordering``'s integer keys), the counts (facets on indexed
fields) and the total, so a page costs about the same at 500 documents and at 250,000.

Counts are *disjunctive*, as in every databank: a facet is counted under the choices made in the other facets,
not its own, so choosing "verslag" still shows how many interventions there are to switch to.

>>> BrowseFilters(chosen={"kind": ("verslag",)}).conditions()[0].values
('verslag',)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.ordering import fold, group_key
from core.store.catalog import Catalog
from core.store.types import Filter, MatchAny, Range

# a facet as the API names it → the indexed field of the document records
DIMENSIONS: dict[str, str] = {"kind": "kind", "atelier": "ateliers", "theme": "themes", "knowledge": "knowledge",
                              "evidence": "evidence", "target_group": "target_group_keys", "year": "year"}
# an order → (its key, highest first)
SORTS: dict[str, tuple[str, bool]] = {"date": ("order_date", True), "title": ("order_title", False),
                                      "added": ("ingested_at", True)}
FIELDS = ("document_id", "title", "kind", "date", "ateliers", "themes", "knowledge", "evidence", "target_groups",
          "summary", "source", "url", "visibility", "ingested_at", "order_date", "order_title", "content_hash")
PAGE_SIZE = 20
MAX_PAGES = 50  # deeper than this, a facet narrows faster than paging: the engine orders the pages before it
FACET_VALUES = 60  # the most frequent values a facet shows (plus whatever was chosen)


@dataclass(frozen=True)
class BrowseFilters:
    """The values chosen per facet (any of them matches) and, optionally, only what was added since a date."""

    chosen: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    since: str | None = None  # yyyy-mm-dd: added to the Werkplaats on or after

    def conditions(self, leave_out: str | None = None) -> list[MatchAny | Range]:
        out: list[MatchAny | Range] = []
        for name, values in self.chosen.items():
            if values and name != leave_out:
                wanted = tuple(group_key(str(v)) for v in values) if name == "target_group" else tuple(values)
                out.append(MatchAny(DIMENSIONS[name], wanted))
        if self.since:
            out.append(Range("ingested_at", gte=self.since))
        return out

    def __bool__(self) -> bool:
        return bool(self.conditions())


@dataclass
class BrowsePage:
    items: list[dict[str, Any]]
    total: int
    facets: dict[str, list[tuple[Any, int]]]
    sort: str
    page: int
    pages: int


class Browser:
    """Browsing for one audience: ``scope`` is its visibility filter (``core.visibility.Audience.filter``)."""

    def __init__(self, catalog: Catalog, scope: Filter | None) -> None:
        self.catalog = catalog
        self.scope = scope

    def _filter(self, conditions: list[MatchAny | Range]) -> Filter | None:
        own = Filter(must=tuple(conditions)) if conditions else None
        if self.scope is None:
            return own
        return self.scope.and_(own)

    def browse(self, filters: BrowseFilters, *, sort: str = "date", page: int = 1, size: int = PAGE_SIZE,
               facets: bool = True) -> BrowsePage:
        """A page; ``facets=False``: without the counts (a list of what is new needs none)."""
        key, descending = SORTS[sort]
        page = max(1, min(page, MAX_PAGES))
        flt = self._filter(filters.conditions())
        total = self.catalog.count_documents(filter=flt)
        items = self._window(key, descending, flt, page * size)[(page - 1) * size:page * size]
        pages = max(1, min(MAX_PAGES, -(-total // size)))
        return BrowsePage(items=items, total=total, facets=self.facets(filters) if facets else {}, sort=sort,
                          page=page, pages=pages)

    def _window(self, key: str, descending: bool, flt: Filter | None, n: int) -> list[dict[str, Any]]:
        """The first ``n`` documents in a total order: the engine's key first, then the folded title and the id.

        The engine orders on the key alone, so the documents sharing the last key of the window may go on past
        it (a hundred verslagen of one date); they are all fetched, then the window is cut in the total order."""
        rows = self.catalog.ordered_documents(key, limit=n, filter=flt, fields=FIELDS, descending=descending)
        if len(rows) == n:
            edge = rows[-1][key]
            # a number matched exactly (a range's bounds may pass through a double); a time by its range
            tied = Filter(must=(Range(key, gte=edge, lte=edge) if isinstance(edge, str) else MatchAny(key, (edge,)),))
            rows = [r for r in rows if r[key] != edge] + list(self.catalog.documents(filter=tied.and_(flt),
                                                                                      fields=FIELDS))
        rows.sort(key=lambda r: (fold(r.get("title") or ""), r.get("document_id", "")))
        rows.sort(key=lambda r: r[key], reverse=descending)  # stable: within a key, still A to Z
        return rows[:n]

    def facets(self, filters: BrowseFilters) -> dict[str, list[tuple[Any, int]]]:
        """Per facet: (value, count) under the other facets' choices, most first; a chosen value always shows."""
        out: dict[str, list[tuple[Any, int]]] = {}
        for name, key in DIMENSIONS.items():
            others = self._filter(filters.conditions(leave_out=name))
            counted = dict(self.catalog.document_facet(key, filter=others, limit=FACET_VALUES))
            for value in filters.chosen.get(name, ()):
                chosen = group_key(str(value)) if name == "target_group" else value
                if chosen not in counted:  # chosen, but rarer than the values shown: counted on its own
                    counted[chosen] = self.catalog.count_documents(
                        filter=Filter(must=(MatchAny(key, (chosen,)),)).and_(others))
            out[name] = sorted(counted.items(), key=lambda kv: (-kv[1], str(kv[0])))
        return out
