"""A document's title when nobody gave one: a file name that reads as words, else the start of its text.

A title goes into every passage's embedded context ("title › section › text"), so a wrong one costs twice:
it is shown, and it pulls the passage towards whatever it says. A file name like ``train000-0``,
``IMG_2031`` or ``scan-0012`` says nothing; glued to 400 passages it made them all resemble each other
(on policyqa-sections, dense nDCG@10 0.784 with such names in the context against 0.837 without).
Such a document is titled by the start of its own text — for the reader — and that made title stays out of
the context, since the passage already holds those words.

>>> titled("train000-0", [" voor particulieren geldt geen wettelijke bewaarplicht. maar ..."])
Title(text='Voor particulieren geldt geen wettelijke bewaarplicht', from_text=True)
>>> titled("verslag_moestuin-bekkerveld", ["Wij spraken met tien bewoners."])
Title(text='Verslag moestuin bekkerveld', from_text=False)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from core.headings import reads_as_words

MAX_CHARS = 80


@dataclass(frozen=True)
class Title:
    text: str
    from_text: bool  # made from the document's first words: shown, but not embedded as context


def from_name(stem: str) -> str:
    """``verslag_moestuin-bekkerveld`` → ``Verslag moestuin bekkerveld``."""
    return stem.replace("_", " ").replace("-", " ").strip().capitalize()


def opening(texts: Iterable[str], limit: int = MAX_CHARS) -> str:
    """The first sentence of the text, cut at a word within ``limit`` characters, its first letter capital.

    >>> opening(["een belastingverdrag is een overeenkomst tussen 2 landen. het verdrag ..."])
    'Een belastingverdrag is een overeenkomst tussen 2 landen'
    >>> opening(["Een zin die veel langer is dan de grens die we voor titels hebben gesteld."], limit=30)
    'Een zin die veel langer is…'
    """
    text = " ".join(" ".join(texts).split())
    sentence = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0].rstrip(".!? ")
    if len(sentence) > limit:
        sentence = sentence[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return sentence[:1].upper() + sentence[1:]


def titled(stem: str, texts: Iterable[str]) -> Title:
    """The title of a document nobody titled, from its file name ``stem`` or its ``texts`` (first first)."""
    if reads_as_words(stem):
        return Title(from_name(stem), from_text=False)
    made = opening(texts)
    return Title(made, from_text=True) if made else Title(from_name(stem) or stem, from_text=False)
