"""Evidence counts, a little: of two findings about equally relevant, the intervention with stronger evidence
(an *effectief* one before an undescribed one) goes first; relevance still decides everything else.

Each passage's fused score (``matching.fusion``: the dense and BM25 lists normalised and weighted, 0 to about
5 for ``retrieve.FINDINGS``) gains ``EVIDENCE_BOOST × rank / top rank`` of its document's evidence level
(``core.taxonomy``: goed beschreven 1 … sterke aanwijzingen 5; none 0) — at most 0.1, a small share of what
separates a relevant passage from a loosely related one, so the boost reorders near-ties only.

>>> from matching.retrieve import Passage
>>> plain, rated = Passage("a", 2.00, 0.8, {}), Passage("b", 2.00, 0.8, {"evidence": "effectief"})
>>> [p.id for p in boost([plain, rated], {"effectief": 3}.get, top=5)]
['b', 'a']
>>> [p.id for p in boost([Passage("a", 2.5, 0.9, {}), rated], {"effectief": 3}.get, top=5)]
['a', 'b']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from matching.retrieve import Passage

EVIDENCE_BOOST = 0.1


def boost(passages: Sequence[Passage], rank_of: Callable[[str], int | None], *, top: int,
          weight: float = EVIDENCE_BOOST) -> list[Passage]:
    """``passages`` with their scores raised by their evidence level, best first (ties keep their order)."""
    if top <= 0 or weight == 0 or not any(p.payload.get("evidence") for p in passages):
        return list(passages)
    raised = [replace(p, score=p.score + weight * (rank_of(p.payload["evidence"]) or 0) / top)
              if p.payload.get("evidence") else p for p in passages]
    return sorted(raised, key=lambda p: -p.score)
