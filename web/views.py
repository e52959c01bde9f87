"""Presentation helpers for the templates: Dutch dates, atelier badges, safely highlighted snippets.

>>> str(highlighted("Jongeren <b>met</b> schulden", ["schulden"]))
'Jongeren &lt;b&gt;met&lt;/b&gt; <mark>schulden</mark>'
>>> nl_date("2025-03-12")
'12 maart 2025'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from markupsafe import Markup, escape

from core.glossary import WORDS, counted, label, nl_date
from core.knowledge import KNOWLEDGE, source
from core.names import slugify
from core.visibility import label as visibility_label


def age(days: int) -> str:
    """How old a request is, as a coordinator says it.

    >>> age(0), age(1), age(12)
    ('van vandaag', '1 dag oud', '12 dagen oud')
    """
    return "van vandaag" if days <= 0 else f"{counted(days, 'dag')} oud"


def paragraphs(text: str) -> list[str]:
    """A passage's paragraphs: its elements are joined by line breaks, which HTML would run together.

    >>> paragraphs("De vraag: hoe?\\nWat we leerden: zo.")
    ['De vraag: hoe?', 'Wat we leerden: zo.']
    """
    return [line.strip() for line in text.split("\n") if line.strip()]


def days(value: float) -> str:
    """A number of days in Dutch, a decimal comma and "dezelfde dag" for none.

    >>> days(0), days(1), days(2.5)
    ('dezelfde dag', '1 dag', '2,5 dagen')
    """
    if value <= 0:
        return "dezelfde dag"
    shown = f"{value:g}".replace(".", ",")
    return f"{shown} {WORDS['dag'][0] if value == 1 else WORDS['dag'][1]}"


def highlighted(text: str, words: Sequence[str]) -> Markup:
    """``text`` escaped, with the matching words in <mark> (the words are escaped too)."""
    safe = str(escape(text))
    if not words:
        return Markup(safe)
    pattern = re.compile(r"\b(" + "|".join(re.escape(str(escape(w))) for w in sorted(words, key=len, reverse=True))
                         + r")\b", re.IGNORECASE)
    return Markup(pattern.sub(lambda m: f"<mark>{m.group(0)}</mark>", safe))


def clip(text: str, n: int = 420) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1].rsplit(" ", 1)[0] + " …"


def atelier_class(slug: str) -> str:
    return {"kansrijk-met-jeugd": "jeugd", "tweedeling-en-armoede": "armoede",
            "veerkracht-in-gemeenschappen": "veerkracht"}.get(slug, "anders")


def filters(taxonomy: Any) -> dict[str, Any]:
    """Jinja filters and globals bound to the taxonomy in use."""
    return {"nl_date": nl_date, "age": age, "days": days, "highlighted": highlighted, "clip": clip,
            "atelier_class": atelier_class,
            "term": taxonomy.name_of, "counted": counted,  # the words come from the glossary (core.glossary)
            "role_label": lambda r: label("rol", r), "kind_label": lambda k: label("soort", k),
            "status_label": lambda v: label("status", v), "paragraphs": paragraphs,
            "knowledge_label": lambda k: source(k).name if k in KNOWLEDGE else k,
            # beside a kind of document ("Onderzoek · … · Onderzoek") the kind of knowledge says what it is
            "knowledge_word": lambda k: source(k).kind_of_knowledge if k in KNOWLEDGE else k,
            "evidence_level": taxonomy.evidence_level,
            "visibility_label": lambda v: visibility_label(v, taxonomy.atelier_names()),
            "slug": slugify}  # an element id from a value (a facet's checkbox keeps its focus across a swap)
