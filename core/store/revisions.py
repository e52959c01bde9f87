"""Versioned records: a write that wins only against the version it was based on.

Every record edited by people (a profile, a consent, a contact request, a coordinator) carries ``rev``, a
number raised by one on each write. ``write_if_unchanged`` checks it and writes in one step inside the
engine (``Store.replace_if``), so of two coordinators — or two workers — saving the same version, exactly
one wins and the other learns it lost, instead of silently undoing the first one's decision. The engine does not
say whether a conditional write took effect, so a writer reads the record back: ``rev_trail``, the tokens of the
last writes, tells it that its write won even when others based on it came before the read-back.

>>> revision({"name": "Anna"}), revision({"rev": 3})
(0, 3)
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from core.store.types import Filter, Hit, MatchAny, Point, Range

if TYPE_CHECKING:
    from core.store.base import Store

REV = "rev"
TOKEN = "rev_token"  # which write made this version
TRAIL = "rev_trail"  # the tokens of this version and the ones before it: how a writer learns whether it won
_TRAIL_LENGTH = 16


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
    found = store.retrieve(collection, [point.id])
    if not found or revision(found[0].payload) != expected:
        return False  # stale already: nothing to write
    token = uuid.uuid4().hex
    payload = {**point.payload, REV: expected + 1, TOKEN: token, TRAIL: _trail(found[0].payload, token)}
    store.replace_if(collection, dataclasses.replace(point, payload=payload), at_revision(expected))
    return was_written(token, store.retrieve(collection, [point.id]))


def first_version(payload: dict[str, Any], version: int) -> dict[str, Any]:
    """``payload`` as the first version of a record (``Store.insert_if_absent`` writes it)."""
    token = uuid.uuid4().hex
    return {**payload, REV: version, TOKEN: token, TRAIL: [token]}


def versioned(point: Point) -> str:
    """The token of ``point``'s version; refused without one: an insert-only write tells by it whether it won."""
    token = point.payload.get(TOKEN)
    if point.payload.get(REV) is None or not token:
        raise ValueError(f"insert_if_absent needs a point with its version ({REV!r}, {TOKEN!r}): first_version")
    return str(token)


def was_written(token: str, found: Sequence[Hit]) -> bool:
    """Whether the write that made version ``token`` is in the record read back (``found``): it is the stored
    version or one that later writes were based on. (More than ``_TRAIL_LENGTH`` writes in between, or a
    whole-record write that is not versioned, make a won write look lost: the caller reads again and redoes
    its change, never the other way round.)"""
    if not found:
        return False
    stored = found[0].payload
    return token == stored.get(TOKEN) or token in (stored.get(TRAIL) or ())


def _trail(stored: dict[str, Any], token: str) -> list[str]:
    earlier = stored.get(TRAIL) or ([stored[TOKEN]] if stored.get(TOKEN) else [])
    return [*earlier, token][-_TRAIL_LENGTH:]


def stamped(payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` as a first version (for records created fresh)."""
    return {**payload, REV: 1}
