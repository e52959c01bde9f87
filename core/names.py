"""Normalising names and slugs so that 'Sànne Vossen', 'sanne vossen' and 'sanne-vossen' meet.

>>> name_key("Sànne  Vossen") == name_key("sanne-vossen")
True
>>> slugify("Over leven in tweedeling & armoede")
'over-leven-in-tweedeling-armoede'
>>> slugify("Øystein Ødegård"), slugify("Straße in Łódź")
('oystein-odegard', 'strasse-in-lodz')
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

from slugify import slugify as _transliterated_slug


def fold(text: str) -> str:
    """Lowercase and strip accents (NFKD without combining marks)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


@lru_cache(maxsize=16384)  # the same few hundred names are matched on every expert search
def name_key(name: str) -> str:
    """A person's name or id reduced to a key for matching: accents, case, dashes and spacing ignored."""
    return " ".join(re.split(r"[\s\-_.]+", fold(name).strip())).strip()


def slugify(text: str) -> str:
    """A URL- and id-safe slug: lowercase ASCII letters, digits and dashes. Letters without an ASCII form
    are transliterated (python-slugify), not dropped: "Ø" becomes "o", "ß" "ss"."""
    return _transliterated_slug(text)


def as_list(value: object) -> list[str]:
    """Accept a YAML list, a comma/semicolon separated string, or nothing."""
    if value is None:
        return []
    if isinstance(value, (list, tuple, set)):
        items = [str(v).strip() for v in value if v is not None]
    else:
        items = [p.strip() for p in re.split(r"[;,]", str(value))]
    return [i for i in items if i]


REDACTED = "[naam verwijderd]"
_WORD = re.compile(r"\w+", re.UNICODE)
_JOIN = re.compile(r"[\s\-_.]+")  # what may stand between the words of one name (as in ``name_key``)
EMAIL_PATTERN = r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+"  # o'brien@gemeente.nl, not "a@b.nl,root"
_EMAIL = re.compile(EMAIL_PATTERN)
MAX_NAME_WORDS = 6


def is_email(address: str) -> bool:
    """One plain address, nothing around it (no second recipient, no display name, no line break).

    >>> is_email("sara@wijkteam.nl"), is_email("x@y.nl,root"), is_email("a@b.nl\\nBcc: c@d.nl")
    (True, False, False)
    """
    return _EMAIL.fullmatch(address) is not None


def name_variants(name: str) -> set[str]:
    """The keys under which a person's name may appear in a text: in full, and with the first name as an
    initial ("A. de Vries").

    >>> sorted(name_variants("Anna de Vries"))
    ['a de vries', 'anna de vries']
    """
    key = name_key(name)
    words = key.split()
    out = {key} if key else set()
    if len(words) >= 2 and len(words[0]) > 1:
        out.add(" ".join([words[0][0], *words[1:]]))
    return out


def email_key(address: str) -> str:
    return "email " + fold(address.strip())


def redact(text: str, is_marked: Callable[[str], bool]) -> tuple[str, int]:
    """Replace every name (2 to 6 words, any case, accents, dashes) and e-mail address for which
    ``is_marked(key)`` holds by ``[naam verwijderd]``; returns the text and the number of replacements.
    ``is_marked`` sees only keys, so the caller can hold hashes instead of names.

    >>> redact("Gesprek met Anna de  Vries en A. de Vries (anna@x.nl).", {"anna de vries", "a de vries",
    ...        "email anna@x.nl"}.__contains__)
    ('Gesprek met [naam verwijderd] en [naam verwijderd] ([naam verwijderd]).', 3)
    """
    spans: list[tuple[int, int]] = [m.span() for m in _EMAIL.finditer(text) if is_marked(email_key(m.group()))]
    words = [m for m in _WORD.finditer(text) if not any(a <= m.start() < b for a, b in spans)]
    i = 0
    while i < len(words):
        end = None
        # the longest name first, and never one word: an id such as "1" or a first name alone must not
        # take every "artikel 1" or every namesake with it
        for n in range(min(MAX_NAME_WORDS, len(words) - i), 1, -1):
            group = words[i:i + n]
            if any(not _JOIN.fullmatch(text[a.end():b.start()]) for a, b in itertools.pairwise(group)):
                continue
            if is_marked(" ".join(fold(w.group()) for w in group)):
                end = n
                break
        if end:
            spans.append((words[i].start(), words[i + end - 1].end()))
            i += end
        else:
            i += 1
    if not spans:
        return text, 0
    out, last = [], 0
    for a, b in sorted(spans):
        out.append(text[last:a])
        out.append(REDACTED)
        last = b
    out.append(text[last:])
    return "".join(out), len(spans)
