"""The plain data that flows between the ingestion stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.headings import says_something

# The longest question or search text by default (KM_MAX_QUERY_CHARS overrides it): a case described in a few
# paragraphs, about the 512 tokens the embedding model reads.
MAX_QUESTION_CHARS = 2000
# the root of profiles made or edited through the service: no folder prunes them, a recreate keeps them
API_ROOT = "(api)"

@dataclass(frozen=True)
class SourceFile:
    """A file found on disk, not yet read."""

    path: Path  # absolute
    root: Path  # the folder (or file) the user asked to ingest, absolute
    relpath: str  # path relative to root, with forward slashes
    size: int
    sidecar: Path | None = None  # NAME.EXT.yaml beside the file

    @property
    def extension(self) -> str:
        return self.path.suffix.lower().lstrip(".")


@dataclass(frozen=True)
class Element:
    """A structural piece of a document: a heading or a block of text."""

    text: str
    is_title: bool = False
    depth: int = 0  # heading level, 0 = top
    page: int | None = None


@dataclass
class DocumentMeta:
    """Metadata per GUIDE 4.1; every field optional in the source."""

    id: str | None = None
    title: str | None = None
    kind: str | None = None
    ateliers: list[str] = field(default_factory=list)
    themes: list[str] = field(default_factory=list)
    date: str | None = None  # ISO yyyy-mm-dd
    authors: list[str] = field(default_factory=list)
    participants: list[str] = field(default_factory=list)
    url: str | None = None
    # which kinds of knowledge it holds (core.knowledge): missing -> inferred, and marked as inferred
    knowledge: list[str] = field(default_factory=list)
    evidence: str | None = None  # an intervention's evidence level (a slug of the taxonomy's list)
    target_groups: list[str] = field(default_factory=list)  # doelgroep
    working_elements: list[str] = field(default_factory=list)  # werkzame elementen
    # the databank's assessment of an intervention: when, by whom, and why it got its evidence level
    evidence_date: str | None = None  # ISO yyyy-mm-dd
    evidence_assessor: str | None = None
    evidence_reason: str | None = None
    summary: str | None = None  # a short summary written for the reader (samenvatting)
    visibility: str | None = None  # who may see it (core.visibility); None: the Werkplaats's default
    warnings: list[str] = field(default_factory=list)


@dataclass
class Document:
    """A parsed document: its metadata and its structure."""

    id: str
    title: str
    source: str  # where it came from, shown as citation (relative path or upload name)
    format: str
    meta: DocumentMeta
    elements: list[Element]
    content_hash: str
    pages: int | None = None
    title_from_text: bool = False  # nobody titled it: its first words, shown but not embedded as context
    ateliers_inferred: bool = False
    themes_inferred: bool = False
    knowledge_inferred: bool = False

    @property
    def text(self) -> str:
        return "\n".join(e.text for e in self.elements)


@dataclass(frozen=True)
class Chunk:
    """A passage sized for the embedder, with the context it came from."""

    document_id: str
    index: int
    text: str
    section: tuple[str, ...] = ()
    page: int | None = None
    title: str = ""

    def context_text(self) -> str:
        """The text that gets embedded: title and section path give the passage its context — those of them
        that say something (``core.headings``: no ``Inleiding``, no ``train000-0``)."""
        head = " › ".join(p for p in (self.title, *self.section) if p and says_something(p))
        return f"{head}\n{self.text}" if head else self.text

    def embedded_texts(self) -> set[str]:
        """Every text this passage may have been embedded as: today's context, and the one before titles and
        headings that say nothing were left out of it (pipeline 4) — a cache must forget both."""
        head = " › ".join(p for p in (self.title, *self.section) if p)
        return {self.context_text(), f"{head}\n{self.text}" if head else self.text}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Chunk:
        """The chunk a stored passage was made from (a title made from the text is no context: see
        ``Document.title_from_text``)."""
        return cls(payload["document_id"], payload.get("chunk_index", 0), payload.get("text", ""),
                   tuple(payload.get("section", [])), payload.get("page"),
                   "" if payload.get("title_from_text") else payload.get("title", ""))


@dataclass
class Expert:
    """An expert profile per GUIDE 4.2."""

    id: str
    name: str
    role: str = ""
    organization: str = ""
    ateliers: list[str] = field(default_factory=list)
    themes: list[str] = field(default_factory=list)
    expertise: str = ""
    email: str = ""
    consent: bool = False
    source: str = ""

    def profile_text(self) -> str:
        """What gets embedded for the profile (no contact details: they carry no expertise)."""
        parts = [self.name, self.role, self.organization, self.expertise]
        return "\n".join(p for p in parts if p)
