"""Which kinds of knowledge a document holds — research, practice, lived experience (``core.knowledge``) —
when its metadata does not say: from its kind, its authors' roles and its own words. The rules are few
and readable on purpose: a coordinator must be able to see why a document got its label, and correct it in
the document's metadata.

>>> infer_knowledge("onderzoek", [], "Wij spraken 40 respondenten.")
['onderzoek']
>>> infer_knowledge("verslag", ["ervaringsdeskundige"], "Gerda vertelde uit eigen ervaring over schulden.")
['praktijk', 'ervaring']
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from core.knowledge import KNOWLEDGE, knowledge_of_role

# what a kind of document is by nature (GUIDE 4.1 kinds, and the free ones people use)
KIND_KNOWLEDGE: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("onderzoek", "rapport", "factsheet", "evaluatie", "literatuurstudie", "monitor",
                     "scriptie", "proefschrift", "artikel", "publicatie", "effectstudie"), ("onderzoek",)),
    **dict.fromkeys(("verslag", "interventie", "experiment", "handreiking", "werkwijze", "methodiek",
                     "beleidsadvies", "kennisvraag", "casus", "notitie", "draaiboek", "werkplaats"), ("praktijk",)),
    **dict.fromkeys(("ervaringsverhaal", "ervaringsverhalen", "levensverhaal", "ervaringskennis", "getuigenis",
                     "verhaal", "bewonersverhaal"), ("ervaring",)),
}

# the words that show each kind of knowledge at work in a text
_CUES: dict[str, re.Pattern[str]] = {
    "onderzoek": re.compile(
        r"\b(respondent\w*|onderzoeksvra\w*|onderzoeksopzet|steekproef\w*|enquête\w*|vragenlijst\w*|literatuur\w*|"
        r"effectonderzoek|effectmeting\w*|controlegroep\w*|vergelijkingsgroep\w*|significant\w*|methodologi\w*|"
        r"dataverzameling|kwalitatie\w*|kwantitatie\w*|onderzoekers?|lectoraat|promotieonderzoek)\b", re.I),
    "praktijk": re.compile(
        r"\b(professionals?|wijkteam\w*|jongerenwerk\w*|hulpverlen\w*|schuldhulp\w*|werkwijze\w*|casus\w*|"
        r"in de praktijk|uitvoering|buurtwerk\w*|keukentafel\w*|huisbezoek\w*|coördinator\w*|consulent\w*|"
        r"maatschappelijk werk\w*|sociaal werk\w*)\b", re.I),
    "ervaring": re.compile(
        r"\b(ervaringsdeskundig\w*|ervaringskennis|eigen ervaring|uit ervaring|ervaringsverha\w*|"
        r"levensverha\w*|toen ik|ik durfde|ik schaamde|mijn moeder|mijn vader|mijn kinderen|"
        r"mijn schulden|wij als ouders|bewoners vertellen|vertelt over haar|vertelt over zijn)\b", re.I),
}
# cues per thousand words from which a text holds that knowledge whatever its kind (and at least _FEW of
# them: one "toen ik" in a short note is no story); practice has none: a study of practice names
# professionals on every page and is research all the same
_DENSE = {"onderzoek": 8.0, "ervaring": 5.0}
_FEW = 3


def infer_knowledge(kind: str | None, author_roles: Sequence[str], text: str) -> list[str]:
    """The kinds of knowledge of a document, in the order of ``core.knowledge.KNOWLEDGE``; at least one.

    - its kind says what it is by nature (a study: research; a report of a meeting: practice);
    - an ervaringsdeskundige among its authors brings lived experience; the other roles count only for a
      document of no known kind (a researcher's notes are research);
    - a text dense with the words of lived experience (or of research) holds it, whatever its kind.
    """
    by_kind = set(KIND_KNOWLEDGE.get((kind or "").strip().lower(), ()))
    found = set(by_kind)
    for role in author_roles:
        brought = knowledge_of_role(role)
        found.update(k for k in brought if k == "ervaring" or not by_kind)
    density = cue_density(text)
    counts = {k: len(_CUES[k].findall(text)) for k in _DENSE}
    found.update(k for k, floor in _DENSE.items() if density[k] >= floor and counts[k] >= _FEW)
    if not found:  # nothing to go by but the words: the densest, practice when none shows at all
        found.add(max(KNOWLEDGE, key=lambda k: (density[k] / _DENSE.get(k, 20.0), k == "praktijk")))
    return [k for k in KNOWLEDGE if k in found]


def cue_density(text: str) -> dict[str, float]:
    """How often each kind of knowledge shows in ``text``, per thousand words.

    >>> cue_density("Ik schaamde me. Toen ik hulp vroeg, ging het beter.")["ervaring"] > 100
    True
    """
    words = max(len(text.split()), 1)
    return {k: 1000.0 * len(pattern.findall(text)) / words for k, pattern in _CUES.items()}
