"""A coordinator's changes to a document in the service: who may see it (``core.visibility``).

The choice is kept apart from the document (``Catalog.choose_visibility``), so a new version of its file — which
says what its author meant before a coordinator looked — does not undo it, and it holds on every worker from the
next query on: it is in the store, not in a process.
"""

from __future__ import annotations

from typing import Any

from core.errors import NotFoundError
from core.visibility import ATELIER, FIELD, parse_visibility
from service.container import Kennismakelaar
from service.coordinators import Actor


def set_visibility(km: Kennismakelaar, document_id: str, visibility: str, actor: Actor) -> str:
    """Make ``document_id`` visible to ``visibility`` (as people write it); returns the level, logged."""
    level = parse_visibility(visibility, list(km.taxonomy.atelier_names()))
    catalog = km.catalog()
    if catalog.document(document_id) is None:
        raise NotFoundError(f"Document {document_id!r} bestaat niet.")
    catalog.choose_visibility(document_id, level)
    kind = "atelier" if level.startswith(ATELIER) else level
    km.audit().record(actor, f"zichtbaar-{kind}", "document", document_id)
    return level


def checked_metadata(km: Kennismakelaar, metadata: dict[str, Any] | None) -> dict[str, Any] | None:
    """Upload metadata with its visibility checked now (a 400 naming the choices), not at ingest: there a
    misspelt level would make the document visible to coordinators only, with a warning nobody reads."""
    if not metadata or not metadata.get(FIELD):
        return metadata
    return {**metadata, FIELD: parse_visibility(str(metadata[FIELD]), list(km.taxonomy.atelier_names()))}
