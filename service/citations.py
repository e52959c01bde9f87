"""A finding as a student cites it: APA 7 with the Dutch conventions of the hogescholen, RIS and BibTeX.

The Dutch conventions (Landelijke Werkgroep APA): a name's tussenvoegsel stays in front of the surname and starts
with a capital ("De Vries, A."), "z.d." stands for a missing year, a kind of work is described in Dutch between
brackets ("[Verslag]"). A document without authors (that may be shown) has the Werkplaats as its author.
CSL's APA style writes the American form ("de Vries, A."), which is why the few rules are written out here;
RIS is written by ``rispy``.

>>> ref = Reference(title="Schulden bij jongeren", authors=["Anna de Vries", "Jan-Willem Bakker"],
...                 date="2024-03-05", kind="Verslag", publisher="Werkplaats Sociaal Domein", document_id="v1")
>>> apa(ref)
'De Vries, A., & Bakker, J.-W. (2024). Schulden bij jongeren [Verslag]. Werkplaats Sociaal Domein.'
>>> in_text(ref)
'(De Vries & Bakker, 2024)'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import rispy
from markupsafe import Markup, escape

from core.names import slugify

# the words of a Dutch (and a few neighbouring) surname that come before its main word
PARTICLES = {"van", "de", "der", "den", "het", "'t", "te", "ter", "ten", "in", "op", "aan", "bij", "uit", "voor",
             "la", "le", "du", "da", "di", "d'", "el", "al", "von", "zu", "'s"}
MAX_AUTHORS = 20  # APA 7: up to twenty names; beyond, the first nineteen, an ellipsis and the last


@dataclass(frozen=True)
class Reference:
    """What a citation needs of a document (``service.views.references`` fills it in)."""

    title: str
    document_id: str
    authors: list[str] = field(default_factory=list)  # full names, as written ("Anna de Vries")
    date: str | None = None  # yyyy-mm-dd
    kind: str = ""  # how the kind reads ("Verslag"); empty for a plain report
    publisher: str = ""
    url: str | None = None
    summary: str | None = None
    keywords: list[str] = field(default_factory=list)

    @property
    def year(self) -> str:
        return self.date[:4] if self.date else "z.d."


def split_name(name: str) -> tuple[str, str, str]:
    """(given names, particles, surname) of a full name.

    >>> split_name("Mohamed El Amrani"), split_name("Kees van der Berg"), split_name("Plato")
    (('Mohamed', 'El', 'Amrani'), ('Kees', 'van der', 'Berg'), ('', '', 'Plato'))
    """
    words = name.split()
    if len(words) < 2:
        return "", "", name.strip()
    for i in range(1, len(words) - 1):  # the first particle after the given name starts the surname
        if words[i].casefold() in PARTICLES:
            return " ".join(words[:i]), " ".join(words[i:-1]), words[-1]
    return " ".join(words[:-1]), "", words[-1]


def _initials(given: str) -> str:
    """Initials, a hyphenated given name's both.

    >>> _initials("Jan-Willem Anna")
    'J.-W. A.'
    """
    return " ".join("-".join(part[0].upper() + "." for part in word.split("-") if part) for word in given.split())


def _surname(particles: str, surname: str) -> str:
    """The surname as it is cited: its particles first, the first of them with a capital."""
    if not particles:
        return surname
    return f"{particles[0].upper()}{particles[1:]} {surname}"


def is_organisation(name: str) -> bool:
    """Whether an author is a body rather than a person: cited as it is written.

    >>> is_organisation("Nederlands Jeugdinstituut"), is_organisation("NJi"), is_organisation("Anna de Vries")
    (True, True, False)
    """
    words = name.split()
    acronym = [w for w in words if len(w) > 1 and w.isalpha() and w.isupper()]  # "GGD", "NJi" is one word
    return len(words) < 2 or len(words) > 5 or bool(acronym) or any(
        w[:1].isdigit() or _body(w.casefold().strip(".,")) for w in words)


def _body(word: str) -> bool:
    """A word that makes a name a body's: one of ``_BODIES``, or a compound ending in one ("Kenniscentrum")."""
    return word in _BODIES or any(word.endswith(b) and len(word) > len(b) + 2 for b in _COMPOUNDS)


# words that make a name a body's: "Gemeente Heerlen", "Hogeschool Zuyd", "Verwey-Jonker Instituut", "Movisie"
_BODIES = {"instituut", "stichting", "gemeente", "hogeschool", "universiteit", "werkplaats", "centrum", "movisie",
           "ministerie", "raad", "ggd", "team", "vereniging", "bureau", "netwerk", "platform", "provincie",
           "commissie", "lectoraat", "organisatie", "college", "werkgroep", "wijkteam", "kennisteam"}
_COMPOUNDS = ("instituut", "centrum", "team", "commissie", "platform", "netwerk", "werkgroep", "bureau")


def cited_name(name: str) -> str:
    """A person as APA lists them; a body as it is written.

    >>> cited_name("Anna de Vries"), cited_name("Werkplaats Sociaal Domein")
    ('De Vries, A.', 'Werkplaats Sociaal Domein')
    """
    if is_organisation(name):
        return name.strip()
    given, particles, surname = split_name(name)
    return f"{_surname(particles, surname)}, {_initials(given)}"


def _authors(names: Sequence[str]) -> str:
    cited = [cited_name(n) for n in names]
    if len(cited) == 1:
        return cited[0]
    if len(cited) > MAX_AUTHORS:
        return ", ".join(cited[:MAX_AUTHORS - 1]) + ", . . . " + cited[-1]
    return ", ".join(cited[:-1]) + ", & " + cited[-1]


def _end(text: str) -> str:
    """A part of a reference ends with one full stop (not after a ?, ! or . it already has)."""
    return text if text.endswith((".", "?", "!")) else text + "."


def _parts(ref: Reference) -> tuple[str, str, str, str]:
    """(who and when, the title — in italics —, what follows it up to its full stop, where) of a reference."""
    author = _authors(ref.authors) if ref.authors else ref.publisher
    after = f" [{ref.kind}]" if ref.kind else ""
    after += "" if (ref.title + after).endswith((".", "?", "!")) else "."
    where = "" if not ref.publisher or author == ref.publisher else _end(ref.publisher)
    if ref.url:
        where = f"{where} {ref.url}".strip()
    return f"{_end(author)} ({ref.year}).", ref.title, after, where


def apa(ref: Reference) -> str:
    head, title, after, where = _parts(ref)
    return " ".join(p for p in (head, title + after, where) if p)


def apa_html(ref: Reference) -> Markup:
    """The same reference with its title in italics, escaped."""
    head, title, after, where = _parts(ref)
    return Markup(" ").join(p for p in (escape(head), Markup("<i>{}</i>{}").format(title, after), escape(where))
                            if p)


def in_text(ref: Reference) -> str:
    """The citation in the running text: "(De Vries, 2024)", "(De Vries & Bakker, 2024)", "(De Vries et al.,
    2024)" from three authors on."""
    names = [n.strip() if is_organisation(n) else _surname(*split_name(n)[1:]) for n in ref.authors]
    who = ref.publisher if not names else names[0] if len(names) == 1 else \
        f"{names[0]} & {names[1]}" if len(names) == 2 else f"{names[0]} et al."
    return f"({who}, {ref.year})"


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())


def _surname_first(name: str) -> str:
    """RIS and BibTeX want "Surname, Given names" for a person, an organisation as it is."""
    if is_organisation(name):
        return name.strip()
    given, particles, surname = split_name(name)
    return f"{_surname(particles, surname)}, {given}"


class _Ris(rispy.RisWriter):
    def set_header(self, count: int) -> str:  # rispy numbers the references ("1."): reference managers don't
        return ""


def ris(refs: Sequence[Reference]) -> str:
    entries = []
    for ref in refs:
        entry = {"type_of_reference": "RPRT", "id": ref.document_id, "title": _one_line(ref.title),
                 "authors": [_surname_first(n) for n in ref.authors] or [ref.publisher],
                 "publisher": ref.publisher, "language": "nl"}
        if ref.date:
            entry["year"] = ref.date[:4]
            entry["date"] = ref.date.replace("-", "/")
        for key, value in (("type_of_work", ref.kind), ("abstract", _one_line(ref.summary))):
            if value:
                entry[key] = value
        if ref.url:
            entry["urls"] = [ref.url]
        if ref.keywords:
            entry["keywords"] = list(ref.keywords)
        entries.append(entry)
    return rispy.dumps(entries, implementation=_Ris)


_BIBTEX_SPECIAL = re.compile(r"([&%$#_{}~^\\])")


def _tex(text: str) -> str:
    r"""Text as BibTeX reads it: its special characters escaped, on one line.

    >>> print(_tex("50% & {meer}"))
    50\% \& \{meer\}
    """
    replaced = {"~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}"}
    return _BIBTEX_SPECIAL.sub(lambda m: replaced.get(m.group(1), "\\" + m.group(1)), _one_line(text))


def _braceless(url: str) -> str:
    """A web address as a BibTeX field holds it: a brace or backslash in it would end the field."""
    return url.replace("\\", "%5C").replace("{", "%7B").replace("}", "%7D")


def bibtex_key(ref: Reference) -> str:
    """The first author's surname, the year and the title's first long word.

    >>> bibtex_key(Reference(title="Het vertrouwen", document_id="x", authors=["Anna de Vries"], date="2024"))
    'devries2024vertrouwen'
    """
    first = split_name(ref.authors[0]) if ref.authors else ("", "", ref.publisher)
    who = slugify(first[1] + first[2]).replace("-", "") or "werkplaats"
    words = [w for w in slugify(ref.title).split("-") if len(w) > 3] or ["z"]
    return f"{who}{ref.date[:4] if ref.date else 'zd'}{words[0]}"


def _bib_name(name: str) -> str:
    """A name for BibTeX: the surname in braces, so that "De Vries" stays one surname and a body one name."""
    if is_organisation(name):
        return "{" + _tex(name) + "}"
    given, particles, surname = split_name(name)
    return "{" + _tex(_surname(particles, surname)) + "}, " + _tex(given)


def bibtex(refs: Sequence[Reference]) -> str:
    out, used = [], set()
    for ref in refs:
        key = bibtex_key(ref)
        while key in used:  # two works of one author, one year, one first word
            key += "a"
        used.add(key)
        author = " and ".join(_bib_name(n) for n in ref.authors) or "{" + _tex(ref.publisher) + "}"
        fields = [("author", author), ("title", "{" + _tex(ref.title) + "}"), ("institution", _tex(ref.publisher)),
                  ("year", ref.date[:4] if ref.date else ""), ("type", _tex(ref.kind)),
                  ("url", _braceless(ref.url or "")), ("abstract", _tex(ref.summary or "")), ("language", "dutch")]
        body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields if value)
        out.append(f"@techreport{{{key},\n{body}\n}}\n")
    return "\n".join(out)
