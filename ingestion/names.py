"""Normalising names and slugs so that 'Sànne Vossen', 'sanne vossen' and 'sanne-vossen' meet.

>>> name_key("Sànne  Vossen") == name_key("sanne-vossen")
True
>>> slugify("Over leven in tweedeling & armoede")
'over-leven-in-tweedeling-armoede'
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache


def fold(text: str) -> str:
    """Lowercase and strip accents (NFKD without combining marks)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


@lru_cache(maxsize=16384)  # the same few hundred names are matched on every expert search
def name_key(name: str) -> str:
    """A person's name or id reduced to a key for matching: accents, case, dashes and spacing ignored."""
    return " ".join(re.split(r"[\s\-_.]+", fold(name).strip())).strip()


def slugify(text: str) -> str:
    """A URL- and id-safe slug."""
    return re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")


def as_list(value: object) -> list[str]:
    """Accept a YAML list, a comma/semicolon separated string, or nothing."""
    if value is None:
        return []
    if isinstance(value, (list, tuple, set)):
        items = [str(v).strip() for v in value if v is not None]
    else:
        items = [p.strip() for p in re.split(r"[;,]", str(value))]
    return [i for i in items if i]
