"""Search filters as users give them, turned into a store filter.

>>> SearchFilters(ateliers=("tweedeling-en-armoede",), year_from=2024).to_store_filter().must[0].key
'ateliers'
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from core.errors import ValidationError
from core.names import name_key
from core.store.catalog import Catalog
from core.store.types import Filter, MatchAny, Range

# The key no document's people hold (``ingestion.records.people_keys`` drops empty keys): a person filter on
# it finds nothing, through the same engine query as any other person filter.
NOBODY = ""


def parse_date(value: str | None, field: str) -> str | None:
    """An ISO date (yyyy-mm-dd) from a user, or a ``ValidationError`` naming the field."""
    if value is None or value == "":
        return None
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise ValidationError(f"{value!r} is geen datum (JJJJ-MM-DD).", field=field) from None


@dataclass(frozen=True)
class SearchFilters:
    ateliers: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    people: tuple[str, ...] = ()  # expert ids or names
    knowledge: tuple[str, ...] = ()  # onderzoek | praktijk | ervaring (core.knowledge)
    evidence: tuple[str, ...] = ()  # evidence levels (slugs of the taxonomy's list)
    date_from: str | None = None  # yyyy-mm-dd
    date_to: str | None = None
    year_from: int | None = None
    year_to: int | None = None

    def to_store_filter(self) -> Filter | None:
        must: list = []
        for key, values in (("ateliers", self.ateliers), ("themes", self.themes), ("kind", self.kinds),
                            ("knowledge", self.knowledge), ("evidence", self.evidence)):
            if values:
                must.append(MatchAny(key, tuple(values)))
        if self.people:
            must.append(MatchAny("people", tuple(name_key(p) for p in self.people)))
        if self.date_from or self.date_to:
            must.append(Range("date", gte=self.date_from, lte=self.date_to))
        if self.year_from is not None or self.year_to is not None:
            must.append(Range("year", gte=self.year_from, lte=self.year_to))
        return Filter(must=tuple(must)) if must else None

    def for_public(self, catalog: Catalog) -> SearchFilters:
        """These filters as the public may use them: a person only if they consented to be shown — then by
        every key of theirs (id and name), like their profile's list of documents. A person without consent and
        a person nobody registered (named in a document or not) give the same filter on nobody: the same empty
        answer, the same work, so ``person=`` never tells whether, or where, someone is registered."""
        if not self.people:
            return self
        given = tuple(sorted({name_key(p) for p in self.people}))
        shown = catalog.experts(filter=Filter(must=(MatchAny("keys", given), MatchAny("visibility", ("public",)))),
                                fields=["keys"])
        keys = sorted({k for e in shown for k in e.get("keys", [])})
        return replace(self, people=tuple(keys) or (NOBODY,))

    def __bool__(self) -> bool:
        return self.to_store_filter() is not None
