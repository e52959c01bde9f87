"""Which words of a passage match the question, by the same Dutch stemming the BM25 index uses.

>>> from core.bm25 import DutchBm25
>>> bm25 = DutchBm25()
>>> matching_words("Jongeren met schulden zoeken hulp bij de schuldhulp.", bm25.terms("schuld bij jongeren"), bm25)
['Jongeren', 'schulden']
"""

from __future__ import annotations

import re
from collections.abc import Set

from core.bm25 import DutchBm25

_WORD = re.compile(r"\w[\w'-]*\w|\w", re.UNICODE)


def matching_words(text: str, wanted: Set[int], bm25: DutchBm25, most: int = 12) -> list[str]:
    """The distinct words of ``text`` (in order, as written) whose stem is among the question's stems
    ``wanted`` (its BM25 terms: ``bm25.terms(question)``, or the indices of its sparse vector)."""
    if not wanted:
        return []
    seen: set[str] = set()
    out: list[str] = []
    for word in _WORD.findall(text):
        key = word.lower()
        if key in seen:
            continue
        seen.add(key)
        if bm25.word_terms(key) & wanted:
            out.append(word)
            if len(out) >= most:
                break
    return out


def mark(text: str, words: list[str], start: str = "«", end: str = "»") -> str:
    """``text`` with every occurrence of ``words`` wrapped (whole words, any case).

    >>> mark("Schulden en meer schulden", ["schulden"])
    '«Schulden» en meer «schulden»'
    """
    if not words:
        return text
    pattern = re.compile(r"\b(" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + r")\b",
                         re.IGNORECASE)
    return pattern.sub(lambda m: f"{start}{m.group(0)}{end}", text)
