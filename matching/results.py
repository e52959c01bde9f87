"""Result types; their ``to_json`` follows the CLI/API contract of GUIDE 4.4 (fields only ever added)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Finding:
    document_id: str
    title: str
    score: float
    snippet: str
    kind: str
    ateliers: list[str]
    themes: list[str]
    source: str
    page: int | None
    date: str | None = None
    section: list[str] = field(default_factory=list)
    url: str | None = None
    highlights: list[str] = field(default_factory=list)
    bridge: dict[str, Any] | None = None  # set when the finding comes from another atelier
    relevance: float | None = None  # cosine similarity of the passage to the question (absolute scale)
    knowledge: list[str] = field(default_factory=list)  # onderzoek | praktijk | ervaring (core.knowledge)
    evidence: str | None = None  # an intervention's evidence level (a slug of the taxonomy's list)
    visibility: str = "openbaar"  # who may see it (``core.visibility``): marked for whom it is not open

    @property
    def citation(self) -> str:
        return f"{self.source}, p. {self.page}" if self.page else self.source

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["score"] = round(self.score, 4)
        out["citation"] = self.citation
        return out


@dataclass
class Reason:
    type: str  # "document" | "profile"
    document_id: str | None
    title: str
    snippet: str
    role: str | None = None  # for documents: "auteur" or "deelnemer"
    visibility: str | None = None  # for documents: who may see it (a reason shown to members is marked, not passed on)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ExpertMatch:
    id: str
    name: str
    score: float
    role: str
    organization: str
    ateliers: list[str]
    reasons: list[Reason] = field(default_factory=list)
    themes: list[str] = field(default_factory=list)
    email: str | None = None  # only for coordinators, and only with consent
    bridge: dict[str, Any] | None = None
    documents: int = 0  # how many of the retrieved documents link to this person
    knowledge: list[str] = field(default_factory=list)  # what they bring by their role (core.knowledge)

    def to_json(self, *, contact: bool = False) -> dict[str, Any]:
        out = asdict(self)
        out["score"] = round(self.score, 4)
        out["reasons"] = [r.to_json() for r in self.reasons]
        if not contact:
            out.pop("email")
        return out
