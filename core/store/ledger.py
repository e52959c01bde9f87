"""Small records that exist only in the store and must hold across requests and worker processes.

Each fact is its own point, so no worker ever reads, changes and writes back a shared record (which loses
updates once two workers share a Qdrant server):

- ``forgotten``: a keyed hash (HMAC with the service's secret) of a removed person's name or id;
- ``deleted``: a document a coordinator deleted, with the content hash it had (a tombstone);
- ``gone-contact``, ``gone-meeting``: the id of a contact request or meeting that was deleted (a tombstone:
  an older export cannot bring it back);
- ``lifted-forgotten``, ``lifted-deleted``: a marker or a document's tombstone taken back on purpose (a person
  re-created, a document brought back), under the same key, with when: an export made before the lift holds the
  marker or tombstone still, and must not bring it back (``service.backup``); a new removal or deletion of the
  same key takes the lift away again;
- ``feedback``: one helpful/unhelpful mark per (question, result) — its id is derived from the three, so
  marking twice replaces the mark and never counts it twice;
- ``hit``: one request of one client in a rate-limit bucket (sliding window, shared by all workers);
- ``job``: the progress of an upload, readable by every worker.

Clients and names never appear in clear: buckets and markers are keyed hashes.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from core.errors import NotFoundError
from core.store.base import Store
from core.store.revisions import REV, revision, write_if_unchanged
from core.store.types import CollectionSpec, Filter, Hit, MatchAny, Point, Range

LEDGER = "ledger"
SPEC = CollectionSpec(LEDGER, indexes={"kind": "keyword", "key": "keyword", "at": "float",
                                        "question_id": "keyword", "item_type": "keyword", "item_id": "keyword"})
# kinds whose records hold hashes and ids, no text: markers, rate-limit counters, tombstones, feedback marks,
# audit entries (a removed person's are pointed at their marker: service.audit), sessions, token hashes
IDS_ONLY = ("forgotten", "hit", "deleted", "gone-contact", "gone-meeting", "feedback", "audit", "session",
            "coordinator-token", "lifted-forgotten", "lifted-deleted", "visibility", "gone-member", "member-blocked",
            "follow-news", "follow-reached")
# the kind that records the lift of a marker or tombstone of each kind that can be lifted on purpose
LIFTED = {"forgotten": "lifted-forgotten", "deleted": "lifted-deleted"}
_STEP = 1e-5  # seconds between records appended together: ten times what the engine gives back of a time
# around either end of a page, every record is read and ordered here: far wider than the engine's error on a time
# read back (~2.4e-7 s), and than the step
_NEAR = 1e-4
Cursor = tuple[float, str]  # a record's time as read back and its point id: where a page of ``Ledger.page`` ends
_SWEEP_EVERY = 500  # hits between two sweeps of expired hits (per process)
_KEEP_HITS = 24 * 3600.0  # the longest window any limit uses
_RETRIES = 5  # a versioned record that changed under the scrub is scrubbed again on what it became, this often


class Ledger:
    """Typed access to the ledger collection on any ``Store``."""

    def __init__(self, store: Store, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the ledger key must be at least 16 bytes")
        self.store = store
        self._key = key
        self._hits = 0

    def keyed(self, text: str, purpose: str = "forget") -> str:
        """A keyed hash of ``text``: stable for one secret, useless to anyone without it.

        >>> a, b = Ledger(store=None, key=b"0" * 32), Ledger(store=None, key=b"1" * 32)  # type: ignore[arg-type]
        >>> a.keyed("anna de vries") == a.keyed("anna de vries") != b.keyed("anna de vries")
        True
        """
        return hmac.new(self._key, f"{purpose}:{text}".encode(), hashlib.sha256).hexdigest()

    # --- generic -------------------------------------------------------------------------------------

    def put(self, kind: str, key: str, payload: dict[str, Any], *, point_id: str | None = None) -> str:
        pid = point_id or f"{kind}:{key}"
        self.store.upsert(LEDGER, [Point(pid, {**payload, "kind": kind, "key": key, "at": time.time()})])
        return pid

    def append(self, kind: str, records: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Add records that are never replaced (``(key, payload)``, each under a new point id), in one write."""
        at = time.time()
        if records:  # a step apart: read back by time, they come in the order they were given
            self.store.upsert(LEDGER, [Point(str(uuid.uuid4()), {**payload, "kind": kind, "key": key,
                                                                  "at": at + i * _STEP})
                                       for i, (key, payload) in enumerate(records)])

    def put_if_unchanged(self, kind: str, key: str, record: dict[str, Any], expected: int) -> bool:
        """Replace the record ``kind:key`` if it is still at version ``expected`` (``core.store.revisions``);
        ``False`` when another write came first or it is gone. The record is written as given (``kind``, ``key``,
        ``at`` included)."""
        return write_if_unchanged(self.store, LEDGER, Point(f"{kind}:{key}", record), expected)

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        found = self.store.retrieve(LEDGER, [f"{kind}:{key}"])
        return found[0].payload if found else None

    def update(self, kind: str, key: str, fields: dict[str, Any]) -> None:
        """Change some fields of one record in place: no read-modify-write, so two workers changing different
        fields of the same record both keep their change. A record that is gone (deleted meanwhile by another
        worker, or by the retention) is a ``NotFoundError``."""
        if not self.store.retrieve(LEDGER, [f"{kind}:{key}"]):
            raise NotFoundError(f"{kind} {key!r} bestaat niet (meer).")
        self.store.set_payload(LEDGER, fields, ids=[f"{kind}:{key}"])

    def remove(self, kind: str, keys: Iterable[str]) -> None:
        ids = [f"{kind}:{k}" for k in keys]
        if ids:
            self.store.delete(LEDGER, ids=ids)

    def all(self, kind: str, **where: str) -> Iterator[dict[str, Any]]:
        return (h.payload for h in self.store.scroll(LEDGER, filter=Filter.where(kind=kind, **where)))

    def scan(self, kind: str, *, since: float | None = None, until: float | None = None,
             **where: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """``(point id, record)`` of every record of ``kind`` that matches ``where`` and was written between
        ``since`` and ``until`` (both inclusive, when given)."""
        return ((h.id, h.payload) for h in self.store.scroll(LEDGER, filter=_between(kind, since, until, where)))

    def latest(self, kind: str, limit: int, *, since: float | None = None, until: float | None = None,
               **where: str) -> list[dict[str, Any]]:
        """The ``limit`` newest records that ``scan`` would give, newest first: the engine orders them, so a page
        costs a page."""
        return [h.payload for h in self.store.ordered(LEDGER, "at", limit=limit,
                                                     filter=_between(kind, since, until, where))]

    def page(self, kind: str, limit: int, *, since: float | None = None, until: float | None = None,
             before: Cursor | None = None, **where: str) -> list[tuple[str, dict[str, Any]]]:
        """``(point id, record)`` of the ``limit`` newest records that ``scan`` would give, strictly before the
        cursor ``before`` when given, in one total order: time, then point id, newest first.

        Two workers may append within a microsecond of each other (a time alone would put a page's end between
        them on either side), and the engine gives a time back to about a microsecond: the engine orders the
        page, every record within ``_NEAR`` of either end of it is read as well, and the exact order is made
        here, on the times as read back — the same values every read gives, so a cursor taken from a page
        splits the next one exactly."""
        def near(at: float) -> list[Hit]:
            return list(self.store.scroll(LEDGER, filter=_between(kind, since, until, where, below=at + _NEAR,
                                                                  above=at - _NEAR)))

        hits = self.store.ordered(LEDGER, "at", limit=limit, filter=_between(
            kind, since, until, where, below=None if before is None else before[0] - _NEAR))
        found = {h.id: h for h in hits}
        for at in ([] if before is None else [before[0]]) + ([float(hits[-1].payload["at"])] if hits else []):
            found.update((h.id, h) for h in near(at))
        rows = sorted(((float(h.payload["at"]), h.id, h.payload) for h in found.values()),
                      key=lambda r: (r[0], r[1]), reverse=True)
        return [(i, p) for at, i, p in rows if before is None or (at, i) < before][:limit]

    def span(self, kind: str, **where: str) -> tuple[float, float] | None:
        """When the first and the last record of ``kind`` (matching ``where``) were written; None without any."""
        ends = [self.store.ordered(LEDGER, "at", limit=1, filter=_between(kind, None, None, where), fields=["at"],
                                   descending=descending) for descending in (False, True)]
        return (float(ends[0][0].payload["at"]), float(ends[1][0].payload["at"])) if ends[0] and ends[1] else None

    def tally(self, kind: str, *, since: float | None = None, until: float | None = None,
              before: Cursor | None = None, **where: str) -> int:
        """How many records ``page`` could give: the engine counts those well before the cursor, and the few
        near it are compared here as ``page`` compares them."""
        if before is None:
            return self.store.count(LEDGER, filter=_between(kind, since, until, where))
        far = self.store.count(LEDGER, filter=_between(kind, since, until, where, below=before[0] - _NEAR))
        near = self.store.scroll(LEDGER, filter=_between(kind, since, until, where, below=before[0] + _NEAR,
                                                         above=before[0] - _NEAR), fields=["at"])
        return far + sum((float(h.payload["at"]), h.id) < before for h in near)

    def tally_window(self, kind: str, start: float, stop: float) -> int:
        """How many records of ``kind`` were written from ``start`` up to ``stop`` (exactly, unlike a page's
        cursor: these bounds are chosen, not read back from the engine) — windows that meet count every record
        once."""
        return self.store.count(LEDGER, filter=Filter.where(kind=kind).and_(
            Filter(must=(Range("at", gte=start, lt=stop),))))

    def rewrite(self, records: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Write records back under their own point ids (whole: ``kind``, ``key`` and ``at`` as they were)."""
        if records:
            self.store.upsert(LEDGER, [Point(pid, payload) for pid, payload in records])

    def expire(self, kind: str, before: float) -> None:
        """Delete the records of ``kind`` written before ``before``."""
        self.store.delete(LEDGER, filter=Filter.where(kind=kind).and_(Filter(must=(Range("at", lte=before),))))

    def scrub(self, clean: Callable[[str], str], *, skip: Iterable[str] = IDS_ONLY) -> int:
        """Pass every text in every record (of the kinds not in ``skip``) through ``clean``; a record whose texts
        changed is written back under its own id. Returns how many changed. Any kind of record — upload jobs
        today, whatever comes later — is covered without knowing its shape.

        >>> _scrubbed({"errors": [{"file": "anna.docx", "n": 2}], "kind": "job"}, str.upper)
        {'errors': [{'file': 'ANNA.DOCX', 'n': 2}], 'kind': 'job'}
        """
        skipped = tuple(skip)
        flt = Filter(must_not=(MatchAny("kind", skipped),)) if skipped else None
        changed = [(h.id, h.payload, new) for h in self.store.scroll(LEDGER, filter=flt)
                   if (new := _scrubbed(h.payload, clean)) != h.payload]
        plain = [Point(pid, new) for pid, old, new in changed if REV not in old]
        if plain:
            self.store.upsert(LEDGER, plain)
        for pid, old, new in changed:  # a versioned record (a request, a coordinator): never over a change since
            for _ in range(_RETRIES):
                if REV not in old or write_if_unchanged(self.store, LEDGER, Point(pid, new), revision(old)):
                    break
                found = self.store.retrieve(LEDGER, [pid])
                if not found:
                    break
                old = found[0].payload
                new = _scrubbed(old, clean)
        return len(changed)

    def count(self, kind: str) -> int:
        return self.store.count(LEDGER, filter=Filter.where(kind=kind))

    # --- removed people ------------------------------------------------------------------------------

    def forget(self, name_keys: Sequence[str]) -> list[str]:
        """Remember that these name keys belong to a person removed on request; returns the markers. A lift of
        the same markers before (the person re-created) no longer holds: this removal is the newer decision."""
        markers = [self.keyed(k) for k in name_keys]
        if markers:
            now = time.time()
            self.store.upsert(LEDGER, [Point(f"forgotten:{m}", {"kind": "forgotten", "key": m, "at": now})
                                       for m in markers])
            self.remove(LIFTED["forgotten"], markers)  # after: a crash in between leaves the marker in force
        return markers

    def unforget(self, name_keys: Sequence[str]) -> None:
        """Take the markers of these name keys back on purpose (the person re-created), leaving when it was done:
        an export made before still holds them and must not bring them back."""
        self.lift("forgotten", [self.keyed(k) for k in name_keys])

    def lift(self, kind: str, keys: Sequence[str], fields: dict[str, dict[str, Any]] | None = None) -> None:
        """Delete the ``kind`` records (markers, tombstones) of ``keys`` and record each lift under the same key
        (``LIFTED[kind]``, ids only, ``fields`` by key added), dated now."""
        if not keys:
            return
        now, lifted = time.time(), LIFTED[kind]
        self.store.upsert(LEDGER, [Point(f"{lifted}:{k}", {**(fields or {}).get(k, {}), "kind": lifted, "key": k,
                                                           "at": now}) for k in keys])
        self.remove(kind, keys)  # after: a crash in between leaves the removal in force, never neither record

    def lifts(self, kind: str, keys: Iterable[str]) -> dict[str, float]:
        """When each of ``keys`` had its ``kind`` record (marker, tombstone) lifted on purpose, for those lifted."""
        ids = [f"{LIFTED[kind]}:{k}" for k in dict.fromkeys(keys)]
        found = self.store.retrieve(LEDGER, ids) if ids else []
        return {h.payload["key"]: float(h.payload.get("at", 0.0)) for h in found}

    def forgotten(self) -> frozenset[str]:
        return frozenset(p["key"] for p in self.all("forgotten"))

    # --- rate limits ---------------------------------------------------------------------------------

    def hits(self, bucket: str, window: float, *, now: float | None = None) -> list[float]:
        """When the requests in ``bucket`` during the last ``window`` seconds were made (oldest first)."""
        now = time.time() if now is None else now
        flt = Filter.where(kind="hit", key=bucket).and_(Filter(must=(Range("at", gte=now - window),)))
        return sorted(float(h.payload["at"]) for h in self.store.scroll(LEDGER, filter=flt, fields=["at"]))

    def hit(self, bucket: str, *, now: float | None = None) -> str:
        """Count one request in ``bucket``; returns its point id (for ``unhit``)."""
        now = time.time() if now is None else now
        point_id = str(uuid.uuid4())
        self.store.upsert(LEDGER, [Point(point_id, {"kind": "hit", "key": bucket, "at": now})])
        self._hits += 1
        if self._hits % _SWEEP_EVERY == 0:
            self.sweep_hits(now=now)
        return point_id

    def unhit(self, point_id: str) -> None:
        """Take back one count (a request that was refused after all)."""
        self.store.delete(LEDGER, ids=[point_id])

    def clear_hits(self, bucket: str) -> None:
        self.store.delete(LEDGER, filter=Filter.where(kind="hit", key=bucket))

    def sweep_hits(self, *, now: float | None = None) -> None:
        now = time.time() if now is None else now
        self.store.delete(LEDGER, filter=Filter.where(kind="hit").and_(
            Filter(must=(Range("at", lte=now - _KEEP_HITS),))))


_STRUCTURE = frozenset({"kind", "key", "at"})  # what files a record in the ledger: never rewritten


def _between(kind: str, since: float | None, until: float | None, where: dict[str, str],
             below: float | None = None, above: float | None = None) -> Filter:
    """Records of ``kind`` matching ``where``, written from ``since`` to ``until`` (inclusive), before ``below``
    and from ``above`` on."""
    flt = Filter.where(kind=kind, **where)
    if above is not None:
        since = above if since is None else max(since, above)
    if since is not None or until is not None or below is not None:
        flt = flt.and_(Filter(must=(Range("at", gte=since, lte=until, lt=below),)))
    return flt


def _scrubbed(value: Any, clean: Callable[[str], str], top: bool = True) -> Any:
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, list):
        return [_scrubbed(v, clean, False) for v in value]
    if isinstance(value, dict):
        return {k: v if top and k in _STRUCTURE else _scrubbed(v, clean, False) for k, v in value.items()}
    return value
