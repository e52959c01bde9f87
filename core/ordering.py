"""Sort keys the engine can order by: it orders on numbers and dates only, never on text, and leaves out what lacks
the key. So every document carries both keys, as integers, and one without a date sorts last.

>>> date_order("2024-03-05"), date_order(None)
(20240305, 0)
>>> title_order("Het Ééntje") < title_order("eerste") < title_order("Tweede verslag")
True
"""

from __future__ import annotations

import re

from core import names

# a catalogue files "De wijk" under W, as the Dutch library rules do ('t and 's too)
_ARTICLES = re.compile(r"^(?:de|het|een|'t|'s)\s+")
_ALPHABET = " 0123456789abcdefghijklmnopqrstuvwxyz"
_WIDTH = 12  # 37 ** 12 < 2 ** 63: twelve letters fit in the engine's integer


def date_order(date: str | None) -> int:
    """``yyyymmdd`` as a number; 0 (before any date) for a document without one."""
    if not date:
        return 0
    digits = date[:10].replace("-", "")
    return int(digits) if digits.isdigit() and len(digits) == 8 else 0


def fold(text: str) -> str:
    """Lower case, without accents or a leading article: the form titles are compared in."""
    plain = re.sub(r"[^0-9a-z']+", " ", names.fold(text)).strip()
    return _ARTICLES.sub("", plain).lstrip("' ")


def title_order(title: str | None) -> int:
    """The first twelve letters and digits of the folded title as a base-37 number (ties broken by the caller)."""
    letters = fold(title or "").replace("'", "")[:_WIDTH].ljust(_WIDTH)
    value = 0
    for c in letters:
        value = value * len(_ALPHABET) + _ALPHABET.index(c)
    return value


def group_key(group: str) -> str:
    """A target group as browsing counts it: "Jongeren" and "jongeren " are one."""
    return " ".join(group.casefold().split())


def browse_keys(title: str | None, date: str | None, groups: list[str]) -> dict[str, object]:
    """The fields a document record is browsed by (``matching.browse``)."""
    return {"order_date": date_order(date), "order_title": title_order(title),
            "target_group_keys": sorted({group_key(g) for g in groups if group_key(g)})}
