"""The three kinds of knowledge a Werkplaats brings together — research, practice and lived experience — and
the evidence levels by which the Dutch databanks rate interventions.

In Dutch social work knowledge comes from *wetenschappelijke kennis*, *praktijkkennis* and *ervaringskennis*;
an answer says what each of them holds on a question. The evidence levels are a list in the taxonomy
(``core.taxonomy``), so a Werkplaats can follow the databank it works with.

>>> resolve_knowledge("Ervaringskennis"), resolve_knowledge("research"), resolve_knowledge("iets anders")
('ervaring', 'onderzoek', None)
>>> knowledge_of_role("ervaringsdeskundige"), knowledge_of_role("student")
(('ervaring',), ())
"""

from __future__ import annotations

from dataclasses import dataclass

from core.names import slugify


@dataclass(frozen=True)
class KnowledgeSource:
    slug: str
    name: str  # a label: "Onderzoek"
    heading: str  # the section of an answer: "Wat zegt onderzoek"
    kind_of_knowledge: str  # "onderzoekskennis"
    none_found: str  # said when a question finds nothing of it: "geen onderzoekskennis over dit onderwerp"
    aliases: tuple[str, ...] = ()


SOURCES: tuple[KnowledgeSource, ...] = (
    # one word for one thing on every page (the answer, the agenda): "onderzoekskennis", as the other two
    KnowledgeSource("onderzoek", "Onderzoek", "Wat zegt onderzoek", "onderzoekskennis",
                    "Geen onderzoekskennis over dit onderwerp gevonden.",
                    ("wetenschappelijke kennis", "wetenschap", "research", "onderzoekskennis")),
    KnowledgeSource("praktijk", "Praktijk", "Wat zegt de praktijk", "praktijkkennis",
                    "Geen praktijkkennis over dit onderwerp gevonden.",
                    ("praktijkkennis", "practice", "professionele kennis")),
    KnowledgeSource("ervaring", "Ervaring", "Wat zeggen ervaringsdeskundigen", "ervaringskennis",
                    "Geen ervaringskennis over dit onderwerp gevonden.",
                    ("ervaringskennis", "ervaringsdeskundigheid", "lived experience", "ervaringsdeskundigen")),
)
KNOWLEDGE = tuple(s.slug for s in SOURCES)

# what a person brings by their role (GUIDE 4.2 roles): an ervaringsdeskundige brings lived experience;
# a student is still learning, so brings none of the three by role
ROLE_KNOWLEDGE: dict[str, tuple[str, ...]] = {
    "onderzoeker": ("onderzoek",), "docent": ("onderzoek",), "lector": ("onderzoek",),
    "professional": ("praktijk",), "beleidsmaker": ("praktijk",), "coördinator": ("praktijk",),
    "coordinator": ("praktijk",), "ervaringsdeskundige": ("ervaring",),
}


def source(slug: str) -> KnowledgeSource:
    """The knowledge source ``slug`` (one of ``KNOWLEDGE``)."""
    return next(s for s in SOURCES if s.slug == slug)


def resolve_knowledge(value: str) -> str | None:
    """The slug for a knowledge source as people write it (slug, name, Dutch or English term), or None."""
    wanted = slugify(value)
    for s in SOURCES:
        if wanted in (s.slug, slugify(s.name), slugify(s.kind_of_knowledge), *(slugify(a) for a in s.aliases)):
            return s.slug
    return None


def knowledge_of_role(role: str) -> tuple[str, ...]:
    """The knowledge sources a person brings by their role (none for a role that names none)."""
    return ROLE_KNOWLEDGE.get((role or "").strip().lower(), ())


@dataclass(frozen=True)
class EvidenceLevel:
    """A level of evidence for an intervention: higher ``rank`` is stronger; no level at all ranks 0."""

    slug: str
    name: str
    rank: int
    databank: str = ""  # who rates by it (Movisie, NJi)
    description: str = ""
