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


# What may stand between the words of one name, after ``fold``: spacing, dashes (ASCII and Unicode hyphens),
# underscores, dots and apostrophes in any spelling (' ’ ‘ ‛ ` ´ ʼ ′: "Kees 't Hart", "O’Brien", "d`Hondt").
# ``name_key`` splits a name at these; ``redact`` joins the words of a text across them, and only across them.
_APOSTROPHES = "'\u2019\u2018\u201b`\u00b4\u02bc\u2032"
_SEPARATORS = "-_.\u2010\u2011\u2012\u2013" + _APOSTROPHES
_SPLIT = re.compile(rf"[\s{re.escape(_SEPARATORS)}]+")


def _key(text: str) -> str:
    return " ".join(word for word in _SPLIT.split(fold(text)) if word)


@lru_cache(maxsize=16384)  # the same few hundred names are matched on every expert search
def name_key(name: str) -> str:
    """A person's name or id reduced to a key for matching: accents (composed or not), case, dashes, spacing
    and apostrophes ignored.

    >>> name_key("Kees 't Hart"), name_key("Sean O\u2019Brien"), name_key("Zoe\u0308 JANSSEN-de Wit")
    ('kees t hart', 'sean o brien', 'zoe janssen de wit')
    >>> name_key("Ilse d'Hondt") == name_key("ilse-d-hondt") == name_key("Ilse d\u2019Hondt")
    True
    """
    return _key(name)


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
# a word of a text: letters and digits with the combining marks that belong to them (a text in NFC may still hold
# some), but not "_" or an apostrophe, at which ``name_key`` splits too
_WORD = re.compile(r"(?:[^\W_\u02bc]|[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f])+")
EMAIL_PATTERN = r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+"  # o'brien@gemeente.nl, not "a@b.nl,root"
_EMAIL = re.compile(EMAIL_PATTERN)
MAX_NAME_WORDS = 8  # "Anne-Marie van 't Hof-d'Hondt": seven words to ``name_key``


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
    """Replace every name (2 to 8 words, any case, accents, dashes, apostrophes) and e-mail address for which
    ``is_marked(key)`` holds by ``[naam verwijderd]``; returns the text and the number of replacements.
    ``is_marked`` sees only keys, so the caller can hold hashes instead of names. The text is read in NFC (an
    accent written as a separate mark, as macOS and many PDFs write it, is the same letter); a text with a
    replacement comes back in NFC, one without comes back as it was. The words of a name are found as
    ``name_key`` finds them, so any name's key can be formed from the text.

    >>> redact("Gesprek met Anna de  Vries en A. de Vries (anna@x.nl).", {"anna de vries", "a de vries",
    ...        "email anna@x.nl"}.__contains__)
    ('Gesprek met [naam verwijderd] en [naam verwijderd] ([naam verwijderd]).', 3)
    >>> redact("Kees \u2018t Hart en ZOE\u0308 JANSSEN-DE WIT.", {name_key("Kees 't Hart"),
    ...        name_key("Zo\u00eb Janssen-de Wit")}.__contains__)
    ('[naam verwijderd] en [naam verwijderd].', 2)
    """
    original, text = text, unicodedata.normalize("NFC", text)
    spans: list[tuple[int, int]] = [m.span() for m in _EMAIL.finditer(text) if is_marked(email_key(m.group()))]
    words = [m for m in _WORD.finditer(text) if not any(a <= m.start() < b for a, b in spans)]
    keys = [_key(w.group()) for w in words]
    # whether word j and word j + 1 may belong to one name: nothing but separators between them
    joined = [_SPLIT.fullmatch(fold(text[a.end():b.start()])) is not None for a, b in itertools.pairwise(words)]
    i = 0
    while i < len(words):
        end = None
        # the longest name first, and never one word: an id such as "1" or a first name alone must not
        # take every "artikel 1" or every namesake with it
        for n in range(min(MAX_NAME_WORDS, len(words) - i), 1, -1):
            if not all(joined[i:i + n - 1]):
                continue
            if is_marked(" ".join(k for k in keys[i:i + n] if k)):
                end = n
                break
        if end:
            spans.append((words[i].start(), words[i + end - 1].end()))
            i += end
        else:
            i += 1
    if not spans:
        return original, 0
    out, last = [], 0
    for a, b in sorted(spans):
        out.append(text[last:a])
        out.append(REDACTED)
        last = b
    out.append(text[last:])
    return "".join(out), len(spans)
