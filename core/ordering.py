"""Sort keys the engine can order by: it orders on numbers and dates only, never on text, and leaves out what lacks
the key. So every document carries both keys, as integers: one without a date sorts last.

Each key orders on as much as fits in 53 bits — exact as a double too, which a range or a JSON reader may make of
it — so that the documents sharing a key, which the browser fetches whole to cut a page (``matching.browse``),
are few: by date, the day and then the title's first five letters (A to Z within a day, newest day first); by
title, its first ten letters.

>>> day = date_order("2024-03-05", "Verslag")
>>> date_order("2024-03-06", "Zorg") > day > date_order("2024-03-05", "Wonen") > date_order(None, "Aap")
True
>>> title_order("Het Ééntje") < title_order("eerste") < title_order("Tweede verslag")
True
"""

from __future__ import annotations

import re

from core.names import slugify

# a catalogue files "De wijk" under W, as the Dutch library rules do ('t and 's too; "één" is a number)
_ARTICLES = re.compile(r"^(?:de|het|een|'t|'s|\u2019t|\u2019s)\s+")
_ALPHABET = " 0123456789abcdefghijklmnopqrstuvwxyz"
_BASE = len(_ALPHABET)
_WIDTH = 10  # 37 ** 10 < 2 ** 53
_WITHIN_DAY = 5  # 99991231 × 37 ** 5 + five letters < 2 ** 53


def fold(text: str) -> str:
    """The form titles are compared in: lower case, the leading article gone, letters as their plain form ("Ø" an
    "o", "ß" "ss").

    >>> fold("'t Hoekje"), fold("Eén op één"), fold("Ørsted & co")
    ('hoekje', 'een op een', 'orsted co')
    """
    lowered = _ARTICLES.sub("", " ".join(text.casefold().split()))  # before the accents go: "eén" is no article
    return slugify(lowered).replace("-", " ")


def _letters(title: str | None, width: int) -> int:
    letters = fold(title or "")[:width].ljust(width)
    value = 0
    for c in letters:
        value = value * _BASE + _ALPHABET.index(c)
    return value


def title_order(title: str | None) -> int:
    """The first ten letters and digits of the folded title as a base-37 number (ties broken by the caller)."""
    return _letters(title, _WIDTH)


def date_order(date: str | None, title: str | None = None) -> int:
    """The day (0 without one: before any date), then the title's first letters reversed — so that, highest
    first, a day's documents come A to Z."""
    digits = (date or "")[:10].replace("-", "")
    day = int(digits) if digits.isdigit() and len(digits) == 8 else 0
    return day * _BASE ** _WITHIN_DAY + (_BASE ** _WITHIN_DAY - 1 - _letters(title, _WITHIN_DAY))


def group_key(group: str) -> str:
    """A target group as browsing counts it: "Jongeren" and "jongeren " are one."""
    return " ".join(group.casefold().split())


def browse_keys(title: str | None, date: str | None, groups: list[str]) -> dict[str, object]:
    """The fields a document record is browsed by (``matching.browse``)."""
    return {"order_date": date_order(date, title), "order_title": title_order(title),
            "target_group_keys": sorted({group_key(g) for g in groups if group_key(g)})}
