"""Versioned records: a write that wins only against the version it was based on.

Every record edited by people (a profile, a consent, a contact request, a coordinator) carries ``rev``, a
number raised by one on each write. ``write_if_unchanged`` checks it and writes in one step inside the
engine (``Store.replace_if``), so of two coordinators — or two workers — saving the same version, exactly
one wins and the other learns it lost, instead of silently undoing the first one's decision.

>>> revision({"name": "Anna"}), revision({"rev": 3})
(0, 3)
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from core.store.base import Store
from core.store.types import Filter, MatchAny, Point, Range

REV = "rev"
TOKEN = "rev_token"  # which write made this version: how a writer learns whether it won


def revision(payload: dict[str, Any] | None) -> int:
    """The version of a stored record; records written before versions existed are version 0."""
    return int((payload or {}).get(REV, 0) or 0)


def at_revision(expected: int) -> Filter:
    """The condition "still at version ``expected``" (a record without ``rev`` is at version 0)."""
    if expected <= 0:
        return Filter(must_not=(Range(REV, gte=1),))
    return Filter(must=(MatchAny(REV, (expected,)),))


def write_if_unchanged(store: Store, collection: str, point: Point, expected: int) -> bool:
    """Replace ``point`` with version ``expected + 1`` if the stored one is still at ``expected``; ``False`` when
    another write came first or the record is gone (a write never re-creates a deleted record)."""
    token = uuid.uuid4().hex
    payload = {**point.payload, REV: expected + 1, TOKEN: token}
    store.replace_if(collection, dataclasses.replace(point, payload=payload), at_revision(expected))
    found = store.retrieve(collection, [point.id])
    return bool(found) and found[0].payload.get(TOKEN) == token


def stamped(payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` as a first version (for records created fresh)."""
    return {**payload, REV: 1}
