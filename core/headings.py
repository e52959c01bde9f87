"""Whether a title or heading says anything about the text under it.

A title goes into every passage's embedded context ("title › section › text") and is a ranking signal of its
own, so a title that says nothing costs twice: glued to hundreds of passages, ``Inleiding``, ``Notulen 12
maart`` or ``train000-0`` makes them resemble each other and pulls a question about anything towards them
(policyqa-sections with its page openings titled ``Inleiding``: dense nDCG@10 0.846 → 0.824; under six generic
headings: 0.794). Such a title is still shown — it is what the author called the part — but it is no context
and no signal.

>>> [says_something(t) for t in ("Inleiding", "Verslag leeratelier 12 maart 2025", "train000-0", "Meer informatie",
...                               "Verslag leeratelier armoede", "Schuldhulp voor jongeren", "IMG_2031")]
[False, False, False, False, True, True, False]
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
_HEX = re.compile(r"[0-9a-fA-F]+")  # a part of a hash or uuid ("beef", "face"), not a word
# names of a kind of file, not of what is in it (file names: "scan-0012", "kopie van bestand")
FILE_WORDS = frozenset({"bestand", "document", "documenten", "file", "image", "naamloos", "nieuw", "page", "scan",
                        "untitled", "kopie", "copy", "final", "definitief", "concept", "versie", "download",
                        "bijlage", "attachment", "export", "tekst", "text", "afbeelding", "foto", "pagina",
                        "microsoft", "word", "docx", "pdf"})
# the parts every report, verslag or web page has, whatever it is about
_PARTS = frozenset({
    "inleiding", "introductie", "intro", "introduction", "samenvatting", "managementsamenvatting", "summary",
    "abstract", "conclusie", "conclusies", "conclusion", "conclusions", "aanbeveling", "aanbevelingen",
    "discussie", "discussion", "resultaten", "results", "bevindingen", "methode", "methoden", "methodologie",
    "werkwijze", "achtergrond", "background", "aanleiding", "context", "voorwoord", "woord", "vooraf",
    "preface", "bijlagen", "appendix", "literatuur", "literatuurlijst", "bronnen", "referenties", "references",
    "inhoud", "inhoudsopgave", "contents", "overzicht", "toelichting", "slot", "slotwoord", "afsluiting",
    "nawoord", "verantwoording", "colofon", "notulen", "verslag", "verslagen", "agenda", "actiepunten",
    "besluitenlijst", "memo", "notitie", "rapport", "rapportage", "bijeenkomst", "vergadering", "overleg",
    "leeratelier", "leeratelieren", "werkplaats", "sessie", "deel", "hoofdstuk", "paragraaf", "nieuwsbrief",
    "presentatie", "algemeen", "overig", "overige", "vragen", "vraag", "meer", "informatie", "info", "contact",
    "zie", "ook", "eerste", "tweede", "derde", "vierde", "vijfde", "laatste", "januari", "februari", "maart",
    "april", "mei", "juni", "juli", "augustus", "september", "oktober", "november", "december", "jan", "feb",
    "mrt", "apr", "jun", "jul", "aug", "sep", "sept", "okt", "nov", "dec", "maandag", "dinsdag", "woensdag",
    "donderdag", "vrijdag", "zaterdag", "zondag", "de", "het", "een", "en", "van", "in", "op", "over", "bij",
    "met", "voor", "door", "aan", "tot", "uit", "als", "om", "te", "of", "the", "a", "an", "and", "on",
    "for"})


def reads_as_words(text: str) -> bool:
    """Whether a file name or title holds a word: four letters or more, not a kind of file, not hex.

    >>> [reads_as_words(s) for s in ("train000-0", "IMG_2031", "scan-0012", "notulen 2023-11-05", "a3f9c2e1",
    ...                                "5f0c2e1a-beef-4c1d-9e7b-0a1b2c3d4e5f")]
    [False, False, False, True, False, False]
    """
    return any(t.isalpha() and len(t) >= 4 and t.lower() not in FILE_WORDS and not _HEX.fullmatch(t)
               for t in _TOKEN.findall(text))


def says_something(title: str) -> bool:
    """Whether ``title`` names a subject: it reads as words, and one of them is more than a generic part of a
    document, a date or a kind of file."""
    return reads_as_words(title) and any(
        t.isalpha() and len(t) >= 3 and t.lower() not in _PARTS and t.lower() not in FILE_WORDS
        and not _HEX.fullmatch(t) for t in _TOKEN.findall(title))
