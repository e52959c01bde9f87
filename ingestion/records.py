"""Pure functions that turn documents, chunks and experts into store payloads, and infer labels."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np

from core.models import Chunk, Document, Expert
from core.names import name_key
from core.ordering import browse_keys
from core.taxonomy import Term
from core.vector_codec import pack
from core.visibility import OPENBAAR

# a record's free texts besides its passages: any of them may name someone (``ingestion.removal`` redacts them)
FREE_TEXTS = ("evidence_assessor", "evidence_reason", "summary")


def people_keys(names: Sequence[str]) -> list[str]:
    """Match keys of the people a document names; an expert matches on their id or their name."""
    return sorted({name_key(n) for n in names if name_key(n)})


def _shared(doc: Document) -> dict[str, Any]:
    meta = doc.meta
    return {
        "document_id": doc.id,
        "title": doc.title,
        "title_from_text": doc.title_from_text,
        "kind": meta.kind or "document",
        "ateliers": list(meta.ateliers),
        "themes": list(meta.themes),
        "date": meta.date,
        "year": int(meta.date[:4]) if meta.date else None,
        "people": people_keys([*meta.authors, *meta.participants]),
        "source": doc.source,
        "url": meta.url,
        "format": doc.format,
        "content_hash": doc.content_hash,
        "knowledge": list(meta.knowledge),
        "evidence": meta.evidence,
        "visibility": meta.visibility or OPENBAAR,  # set by the ingestor (file, coordinator or default)
    }


def chunk_payload(doc: Document, chunk: Chunk) -> dict[str, Any]:
    return {**_shared(doc), "chunk_index": chunk.index, "text": chunk.text, "section": list(chunk.section),
            "page": chunk.page}


def document_record(doc: Document, *, chunks: int, root: str, path: str, size: int,
                    title_vector: np.ndarray | None = None) -> dict[str, Any]:
    return {
        **_shared(doc),
        "authors": list(doc.meta.authors),
        "participants": list(doc.meta.participants),
        "ateliers_inferred": doc.ateliers_inferred,
        "themes_inferred": doc.themes_inferred,
        "knowledge_inferred": doc.knowledge_inferred,
        "target_groups": list(doc.meta.target_groups),
        "working_elements": list(doc.meta.working_elements),
        "evidence_date": doc.meta.evidence_date,
        **{k: getattr(doc.meta, k) for k in FREE_TEXTS},
        **browse_keys(doc.title, doc.meta.date, doc.meta.target_groups),
        "chunks": chunks,
        "pages": doc.pages,
        "root": root,
        "path": path,
        "size": size,
        "warnings": list(doc.meta.warnings),
        "title_vector": pack(title_vector) if title_vector is not None else None,
        "ingested_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def expert_payload(expert: Expert, *, root: str, profile_hash: str) -> dict[str, Any]:
    return {
        "expert_id": expert.id,
        "name": expert.name,
        "role": expert.role,
        "organization": expert.organization,
        "ateliers": list(expert.ateliers),
        "themes": list(expert.themes),
        "expertise": expert.expertise,
        "email": expert.email,
        "consent": expert.consent,
        # flags are keywords: filters on bools do not work in every backend
        "visibility": "public" if expert.consent else "hidden",
        "keys": sorted({name_key(expert.id), name_key(expert.name)}),
        "source": expert.source,
        "root": root,
        "profile_hash": profile_hash,
    }


def mean_vector(vectors: np.ndarray) -> np.ndarray | None:
    """The normalised centroid of a document's passage vectors."""
    if len(vectors) == 0:
        return None
    centre = vectors.mean(axis=0)
    norm = float(np.linalg.norm(centre))
    return centre / norm if norm > 0 else centre


def infer_terms(doc_vector: np.ndarray, terms: Sequence[Term], term_vectors: np.ndarray,
                margin: float = 0.015, most: int = 2) -> list[str]:
    """The best-matching terms for a document: the best one, plus others within ``margin`` of it.

    >>> t = [Term("a", "A"), Term("b", "B"), Term("c", "C")]
    >>> infer_terms(np.array([1.0, 0.0]), t, np.array([[0.9, 0.1], [0.1, 0.9], [0.89, 0.11]]))
    ['a', 'c']
    """
    if not len(terms):
        return []
    scores = term_vectors @ doc_vector
    order = np.argsort(-scores)
    best = float(scores[order[0]])
    return [terms[i].slug for i in order[:most] if best - float(scores[i]) <= margin]
