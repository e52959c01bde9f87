"""Who may be suggested today: a coordinator marks a person unavailable until a date, or caps the contact
requests forwarded to them per month. People passed over for either reason are left out of answers and panels,
and the coordinator is told why (``PassedOver``).

The rules are pure (``reasons``); ``unavailable`` reads the store, remembered until the store changes.

>>> today = dt.date(2026, 12, 1)
>>> reasons({"anna": {"unavailable_until": "2026-12-24"}, "bo": {"max_per_month": 2}, "cas": {"max_per_month": 2}},
...         {"bo": 2, "cas": 1}, today)
{'anna': 'Afwezig tot en met 24 december 2026.', 'bo': 'Vol: 2 van 2 verzoeken deze maand.'}
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from core.store.catalog import Catalog

MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
          "november", "december")


@dataclass(frozen=True)
class PassedOver:
    """Someone who would have been suggested, and why they were not."""

    id: str
    name: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "reason": self.reason}


def dutch_date(day: dt.date) -> str:
    """A day as Dutch people write it.

    >>> dutch_date(dt.date(2027, 1, 6))
    '6 januari 2027'
    """
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def loads(requests: Iterable[Mapping[str, Any]], today: dt.date) -> Counter[str]:
    """Contact requests forwarded to each person in ``today``'s calendar month (by when they were forwarded to
    that person: a request forwarded again counts for the new person, in the month it went to them)."""
    month = today.isoformat()[:7]
    return Counter(str(r["forwarded_to"]) for r in requests if r.get("forwarded_to")
                   and str(r.get("forwarded_at") or r.get("doorgestuurd_at", "")).startswith(month))


def reasons(settings: Mapping[str, Mapping[str, Any]], load: Mapping[str, int], today: dt.date) -> dict[str, str]:
    """Expert id → why that person is not suggested today (only people who are passed over)."""
    out: dict[str, str] = {}
    for expert_id, s in settings.items():
        until = s.get("unavailable_until")
        cap = s.get("max_per_month")
        if until and dt.date.fromisoformat(until) >= today:
            out[expert_id] = f"Afwezig tot en met {dutch_date(dt.date.fromisoformat(until))}."
        elif cap is not None and load.get(expert_id, 0) >= int(cap):
            out[expert_id] = f"Vol: {load.get(expert_id, 0)} van {cap} verzoeken deze maand."
    return out


def unavailable(catalog: Catalog, today: dt.date | None = None) -> dict[str, str]:
    """``reasons`` for the stored settings and this month's forwarded requests (read once per store change)."""
    today = today or dt.date.today()
    memo = catalog.memo("availability")
    key = today.isoformat()
    if key not in memo:
        settings = catalog.availability()
        memo[key] = reasons(settings, loads(catalog.contact_requests(), today), today) if settings else {}
    return dict(memo[key])
