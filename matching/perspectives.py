"""What each kind of knowledge says on a question: research, practice, lived experience (``core.knowledge``).

A Werkplaats exists to bring the three together, and an answer shows them side by side: per kind the best
findings and the people who bring it — only when they are about as relevant as the answer's best finding (a
floor, never padding to fill a section). A kind with nothing relevant says so; the question remembers it,
and the knowledge agenda gathers what is missing (``matching.agenda.knowledge_gaps``). When the answer's own
list shows a finding of that kind below the floor, the kind does not claim to have nothing: it names that
finding as the nearest there is (``nearby``), and the gap is still a gap.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.knowledge import SOURCES
from matching.results import ExpertMatch, Finding
from matching.retrieve import Passage

# a finding counts for its kind when its passage's cosine is within MARGIN of the answer's best, and above
# FLOOR: with e5 the cosines are compressed — on the demo corpus the findings on a question's subject lie
# within about 0.03 of the best, those on a neighbouring subject 0.04–0.05 below, and a passage about
# something else altogether still scores about 0.80
MARGIN = 0.035
FLOOR = 0.82
# a person counts when they are among the people matched to the question and score at least this share of
# the best match (scores run to 2; below about 0.8 the match rests on one loose document)
PEOPLE_SHARE = 0.4
PER_KIND = 2  # findings, and people, per kind


@dataclass
class Perspective:
    knowledge: str
    heading: str
    findings: list[Finding] = field(default_factory=list)
    experts: list[ExpertMatch] = field(default_factory=list)
    none_found: str = ""
    nearby: list[Finding] = field(default_factory=list)  # shown in the answer, of this kind, below the floor
    kind_of_knowledge: str = ""

    @property
    def found(self) -> bool:
        """Whether the store holds findings of this kind on the question: people alone do not fill the gap
        (what they know is not written down yet — the agenda says so)."""
        return bool(self.findings)

    @property
    def message(self) -> str | None:
        """What the answer says of a kind it found no findings of — never that there is none while the answer
        shows one."""
        if self.found:
            return None
        if self.nearby:
            return f"Nog geen {self.kind_of_knowledge} die precies hierover gaat; dit komt het dichtstbij."
        return self.none_found

    def to_json(self, *, contact: bool = False) -> dict[str, Any]:
        return {"knowledge": self.knowledge, "heading": self.heading, "found": self.found,
                "findings": [f.to_json() for f in self.findings],
                "experts": [e.to_json(contact=contact) for e in self.experts], "message": self.message,
                "nearby": [f.to_json() for f in self.nearby]}


def relevance_floor(best: float, *, margin: float = MARGIN, floor: float = FLOOR) -> float:
    """The cosine a finding needs to speak for its kind on this question.

    >>> relevance_floor(0.88), relevance_floor(0.84)
    (0.845, 0.82)
    """
    return round(max(best - margin, floor), 6)


def pick(passages: Sequence[Passage], knowledge: str, floor: float, n: int = PER_KIND) -> list[Passage]:
    """The best passage of each of up to ``n`` documents of ``knowledge`` that clear ``floor``, in order.

    >>> ps = [Passage("1", 1, 0.9, {"document_id": "a", "knowledge": ["onderzoek"]}),
    ...       Passage("2", 1, 0.9, {"document_id": "a", "knowledge": ["onderzoek"]}),
    ...       Passage("3", 1, 0.7, {"document_id": "b", "knowledge": ["onderzoek"]}),
    ...       Passage("4", 1, 0.9, {"document_id": "c", "knowledge": ["praktijk"]})]
    >>> [p.id for p in pick(ps, "onderzoek", 0.8)]
    ['1']
    """
    out: list[Passage] = []
    for p in passages:
        if p.dense_score >= floor and knowledge in (p.payload.get("knowledge") or []) \
                and p.document_id not in {q.document_id for q in out}:
            out.append(p)
            if len(out) == n:
                break
    return out


def perspectives(passages: Sequence[Passage], people: Sequence[ExpertMatch], *, best: float,
                 more: Callable[[str], Sequence[Passage]], describe: Callable[[list[Passage]], list[Finding]],
                 shown: Sequence[Passage] = (), n: int = PER_KIND, reach: float = float("inf")
                 ) -> list[Perspective]:
    """One ``Perspective`` per kind of knowledge, for a question the store can answer: findings from
    ``passages`` (or, when they hold none of that kind, from ``more(kind)``: a search among that kind only, so
    the other kinds cannot crowd it out), and the people among ``people`` (those who match the question, best
    first, above ``PEOPLE_SHARE`` of the best) who bring it by their role. ``more`` is not asked when the floor
    lies above ``reach`` (``retrieve.Found.reach``): then ``passages`` hold every passage above it already (as
    far as the index finds them), and it would find nothing they lack. A kind is never said to be missing
    while the answer shows a finding of it: of the findings ``shown`` in the answer's list, those of a kind
    nothing cleared the floor for are its ``nearby``. ``describe`` turns the chosen passages into findings at
    once."""
    floor = relevance_floor(best)
    matched = [e for e in people if e.score >= PEOPLE_SHARE * max((p.score for p in people), default=0.0)]
    def search(kind: str) -> list[Passage]:
        return pick(more(kind), kind, floor, n) if floor <= reach else []

    chosen = {s.slug: pick(passages, s.slug, floor, n) or search(s.slug) for s in SOURCES}
    near = {s.slug: [] if chosen[s.slug] else pick(shown, s.slug, 0.0, n) for s in SOURCES}
    texts = iter(describe([p for kind in (*chosen.values(), *near.values()) for p in kind]))  # one fetch for all
    found = {s.slug: [next(texts) for _ in chosen[s.slug]] for s in SOURCES}
    nearby = {s.slug: [next(texts) for _ in near[s.slug]] for s in SOURCES}
    return [Perspective(s.slug, s.heading, found[s.slug], [e for e in matched if s.slug in e.knowledge][:n],
                        s.none_found, nearby[s.slug], s.kind_of_knowledge) for s in SOURCES]
