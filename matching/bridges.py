"""Knowledge that crosses ateliers: where a question belongs, and what from elsewhere bridges to it.

A finding or a person from another atelier than the question's is labelled with that atelier and with
the theme that bridges them (a theme both share; else the finding's own leading theme).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.embedder import Embedder
from core.taxonomy import Taxonomy


@dataclass(frozen=True)
class Placement:
    atelier: str | None
    themes: tuple[str, ...]
    inferred: bool


class TaxonomyVectors:
    """Embeds the taxonomy's descriptions once (lazily) to place questions in it."""

    def __init__(self, taxonomy: Taxonomy, embedder: Embedder) -> None:
        self.taxonomy = taxonomy
        self.embedder = embedder
        self._vectors: tuple[np.ndarray, np.ndarray] | None = None
        self._lock = threading.Lock()

    def _get(self) -> tuple[np.ndarray, np.ndarray]:
        with self._lock:
            if self._vectors is None:
                def embed(terms: Sequence[Any]) -> np.ndarray:
                    if not terms:
                        return np.zeros((0, self.embedder.dim), np.float32)
                    return self.embedder.embed_documents([f"{t.name}: {t.description}" for t in terms])
                self._vectors = (embed(self.taxonomy.ateliers), embed(self.taxonomy.themes))
            return self._vectors

    def place(self, question_vector: np.ndarray, atelier: str | None = None) -> Placement:
        """The question's atelier (given, or the closest) and its two closest themes."""
        ateliers, themes = self._get()
        theme_order: Sequence[int] = np.argsort(-(themes @ question_vector)).tolist() if len(themes) else []
        top_themes = tuple(self.taxonomy.themes[i].slug for i in theme_order[:2])
        if atelier:
            return Placement(atelier, top_themes, inferred=False)
        if not len(ateliers):
            return Placement(None, top_themes, inferred=True)
        best = int(np.argmax(ateliers @ question_vector))
        return Placement(self.taxonomy.ateliers[best].slug, top_themes, inferred=True)


def bridge(item_ateliers: Sequence[str], item_themes: Sequence[str], placement: Placement,
           taxonomy: Taxonomy) -> dict[str, Any] | None:
    """The label of an item from another atelier than the question's, or None when it is from the same one.

    >>> t = Taxonomy.default()
    >>> question = Placement("kansrijk-met-jeugd", ("leiderschap",), True)
    >>> bridge(["tweedeling-en-armoede"], ["impact", "leiderschap"], question, t)["via_theme"]
    'leiderschap'
    """
    if not placement.atelier or not item_ateliers or placement.atelier in item_ateliers:
        return None
    shared = [t for t in item_themes if t in placement.themes]
    via = shared[0] if shared else (item_themes[0] if item_themes else None)
    source = item_ateliers[0]
    return {"from_atelier": source, "from_atelier_name": taxonomy.name_of(source),
            "via_theme": via, "via_theme_name": taxonomy.name_of(via) if via else None}
