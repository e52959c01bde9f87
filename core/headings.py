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
_HEX = re.compile(r"[0-9a-fA-F]+")  # a part of a hash or uuid
_ROMAN = re.compile(r"[IVXLC]+")
_OFFICE = re.compile(r"^(?:Microsoft\s+)?(?:Word|PowerPoint|Excel)\s+-\s+", re.IGNORECASE)
_EXTENSION = re.compile(r"\.(?:docx?|pptx?|xlsx?|pdf|odt|txt|md|html?)$", re.IGNORECASE)
# names of a kind of file, not of what is in it (file names: "scan-0012", "kopie van bestand")
FILE_WORDS = frozenset({"bestand", "document", "documenten", "file", "image", "naamloos", "nieuw", "page", "scan",
                        "untitled", "kopie", "copy", "final", "definitief", "concept", "versie", "download",
                        "bijlage", "attachment", "export", "tekst", "text", "afbeelding", "foto", "pagina",
                        "microsoft", "word", "docx", "pdf", "img", "dsc", "doc", "scn", "pic", "vid", "mov", "tmp",
                        "temp"})
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
    "met", "voor", "door", "aan", "tot", "uit", "als", "om", "te", "of", "the", "a", "an", "and", "on", "for",
    "opening", "welkom", "mededelingen", "rondvraag", "sluiting", "afspraken", "vervolg", "vervolgstappen",
    "terugblik", "programma", "aanwezig", "aanwezigen", "afwezig", "afwezigen", "evaluatie", "jaarverslag",
    "jaarplan", "analyse", "plan", "doel", "doelen", "doelstelling", "doelstellingen", "probleemstelling",
    "onderzoeksvraag", "onderzoeksvragen", "opzet", "leeswijzer", "dankwoord", "begrippen", "begrippenlijst",
    "afkortingen", "tabel", "tabellen", "figuur", "figuren", "noten", "home", "nieuws", "veelgestelde", "faq",
    "downloads", "links", "week", "jaar", "kwartaal", "voorjaar", "najaar", "zomer", "winter", "editie",
    "nummer", "onze", "naar", "hoe", "wat", "deze", "dit", "dat", "die", "chapter", "section", "part",
    "minutes", "meeting", "report", "overview", "notes", "general", "other", "naam", "verwijderd"})


def _tokens(text: str) -> list[str]:
    tokens = _TOKEN.findall(text)
    # in an id ("5f0c2e1a-beef-4c1d"), a part of only hex letters ("beef") is no word either
    if any(_HEX.fullmatch(t) and not t.isalpha() for t in tokens):
        tokens = [t for t in tokens if not _HEX.fullmatch(t)]
    return tokens


def _acronym(token: str) -> bool:
    """AOW, GGZ, CJG: a word of its own in a Dutch title. (I, II, III are numbers.)"""
    return 2 <= len(token) <= 6 and token.isalpha() and token.isupper() and not _ROMAN.fullmatch(token)


def reads_as_words(text: str) -> bool:
    """Whether a file name or title holds a word: three letters or more, not a kind of file.

    >>> [reads_as_words(s) for s in ("train000-0", "IMG_2031", "scan-0012", "notulen 2023-11-05", "a3f9c2e1",
    ...                                "5f0c2e1a-beef-4c1d-9e7b-0a1b2c3d4e5f", "AOW", "Face to face")]
    [False, False, False, True, False, False, True, True]
    """
    return any(t.isalpha() and (len(t) >= 3 or _acronym(t)) and t.lower() not in FILE_WORDS for t in _tokens(text))


def says_something(title: str) -> bool:
    """Whether ``title`` names a subject: it reads as words, and one of them is more than a generic part of a
    document, a date, a kind of file or a name taken out on request.

    >>> [says_something(t) for t in ("Wmo", "AOW en pensioen", "Hoofdstuk III", "Notulen [naam verwijderd]")]
    [True, True, False, False]
    """
    return reads_as_words(title) and any(
        t.isalpha() and (len(t) >= 3 or _acronym(t)) and t.lower() not in _PARTS and t.lower() not in FILE_WORDS
        and not _ROMAN.fullmatch(t) for t in _tokens(title))


def clean(title: str) -> str:
    """A title as an office program fills it in, without the program and the file's extension.

    >>> clean("Microsoft Word - Verslag leeratelier armoede.docx"), clean("Rapport 2024.pdf"), clean("Armoede")
    ('Verslag leeratelier armoede', 'Rapport 2024', 'Armoede')
    """
    title = _OFFICE.sub("", title.strip())
    return _EXTENSION.sub("", title).strip()
