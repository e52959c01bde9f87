"""One word for each thing, on every page and in every message: the words the templates and the service's
messages draw from, and the words we avoid with the one we use instead.

A professional who reads "onderzoekskennis" on the answer and "wetenschappelijke kennis" on the agenda wonders
whether those are two things; a coordinator addressed as "u" on one page and "je" on the next wonders who wrote
which. ``tests/test_glossary.py`` keeps the avoided words out of the templates, the messages and every page a
crawler reaches.

>>> counted(3, "vraag"), counted(1, "document"), counted(0, "contactverzoek")
('3 vragen', '1 document', 'geen contactverzoeken')
>>> label("rol", "ervaringsdeskundige"), label("status", "verbonden"), label("soort", "iets-nieuws")
('Ervaringsdeskundige', 'In contact gebracht', 'Iets-nieuws')
>>> [a.instead for a in avoided_in("Heeft u wetenschappelijke kennis?")]
['je, jouw', 'onderzoekskennis']
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

# the things people count on the pages: singular and plural
WORDS: dict[str, tuple[str, str]] = {
    "vraag": ("vraag", "vragen"),
    "kennisvraag": ("kennisvraag", "kennisvragen"),
    "contactverzoek": ("contactverzoek", "contactverzoeken"),
    "verzoek": ("verzoek", "verzoeken"),  # a contact request, where the page already says it is about contact
    "document": ("document", "documenten"),
    "passage": ("passage", "passages"),
    "bijeenkomst": ("bijeenkomst", "bijeenkomsten"),
    "expert": ("expert", "experts"),  # everyone with a profile, ervaringsdeskundigen and students too
    "coördinator": ("coördinator", "coördinatoren"),
    "regel": ("regel", "regels"),
    "pagina": ("pagina", "pagina's"),
    "bevinding": ("bevinding", "bevindingen"),
    "bericht": ("bericht", "berichten"),
    "persoon": ("persoon", "mensen"),
    "kandidaat": ("kandidaat", "kandidaten"),
    "dag": ("dag", "dagen"),
}

# the names of the values the data carries (roles, kinds of document, statuses), as a page shows them
LABELS: dict[str, dict[str, str]] = {
    "rol": {"professional": "Professional", "onderzoeker": "Onderzoeker", "docent": "Docent", "student": "Student",
            "beleidsmaker": "Beleidsmaker", "ervaringsdeskundige": "Ervaringsdeskundige",
            "coördinator": "Coördinator", "coordinator": "Coördinator", "anders": "Anders"},
    "soort": {"verslag": "Verslag", "rapport": "Rapport", "interventie": "Interventie", "experiment": "Experiment",
              "beleidsadvies": "Beleidsadvies", "onderzoek": "Onderzoek", "handreiking": "Handreiking",
              "factsheet": "Factsheet", "document": "Document", "ervaringsverhaal": "Ervaringsverhaal",
              "kennisvraag": "Kennisvraag"},
    "status": {"nieuw": "Nieuw", "doorgestuurd": "Doorgestuurd", "verbonden": "In contact gebracht",
               "afgewezen": "Afgewezen", "afgerond": "Afgerond", "gepland": "Gepland", "gehouden": "Gehouden"},
}


def counted(n: int, thing: str | tuple[str, str]) -> str:
    """``n`` of ``thing`` in Dutch: "1 vraag", "3 vragen", "geen vragen". ``thing`` is a key of ``WORDS`` or a
    pair for a phrase that agrees with its number: ``("document wordt", "documenten worden")``."""
    one, more = WORDS[thing] if isinstance(thing, str) else thing
    if n == 0:
        return f"geen {more}"
    return f"{n} {one if n == 1 else more}"


def label(kind: str, value: str | None) -> str:
    """The name a page shows for ``value`` of ``kind`` (``rol``, ``soort``, ``status``); an unknown value as
    it is, capitalised, so a Werkplaats's own kinds still read well."""
    if not value:
        return ""
    return LABELS[kind].get(value, value[:1].upper() + value[1:])


@dataclass(frozen=True)
class Avoided:
    """A word we do not use, the word we use instead, and why."""

    pattern: str
    instead: str
    why: str
    flags: int = 0

    def found_in(self, text: str) -> list[str]:
        return [m.group(0) for m in re.finditer(self.pattern, text, self.flags)]


AVOIDED: tuple[Avoided, ...] = (
    # "u" and "uw" as words; not the hour ("14.00 u") or a letter in a compound ("U-bocht")
    Avoided(r"(?<![\d.:] )(?<![\d.:])\b[Uu](w|zelf)?\b(?!-)", "je, jouw",
            "we say je to everyone, coordinators included"),
    Avoided(r"\bwetenschappelijke\s+kennis\b", "onderzoekskennis",
            "one word for research knowledge, as praktijkkennis and ervaringskennis", re.IGNORECASE),
    Avoided(r"\b(?!expert)\w*meetings?\b", "bijeenkomst",
            "a meeting is a bijeenkomst; only the Werkplaats's own 'expertmeeting' keeps the word", re.IGNORECASE),
    Avoided(r"\b(?!ervarings)\w*deskundigen?\b", "expert",
            "people with a profile are experts; an ervaringsdeskundige is the one deskundige we name",
            re.IGNORECASE),
    Avoided(r"\bemail\w*", "e-mail, e-mailadres", "the Dutch spelling", re.IGNORECASE),
    Avoided(r"\bklik\s+hier\b", "a link that says where it goes", "screen readers list links by their words",
            re.IGNORECASE),
    # as labels (capitalised): in lower case these are often parts of addresses ("/api/search")
    Avoided(r"\b(Submit|Search|Cancel|Delete|Save|Loading|Upload file|Sign in)\b", "the Dutch word",
            "the interface speaks Dutch"),
    Avoided(r"\bLege\s+tekst\b", "a sentence that says what to do",
            "a message tells what to do next, as 'Typ eerst een vraag of een paar zoekwoorden.'"),
)


def avoided_in(text: str) -> list[Avoided]:
    """The avoided words in ``text``, in the order of ``AVOIDED``."""
    return [a for a in AVOIDED if a.found_in(text)]


MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
          "november", "december")


def nl_date(value: str | float | None) -> str:
    """A day in Dutch, from an ISO date or a timestamp (local time).

    >>> nl_date("2026-03-05"), nl_date(None)
    ('5 maart 2026', '')
    """
    if not value:
        return ""
    if isinstance(value, int | float):
        d = dt.datetime.fromtimestamp(value).date()
    else:
        try:
            d = dt.date.fromisoformat(value[:10])
        except ValueError:
            return value
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"
