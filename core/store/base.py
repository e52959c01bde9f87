"""The store protocol that ``ingestion`` and ``matching`` depend on; two implementations follow it.

- ``EdgeStore``: Qdrant Edge shards in the data folder (embedded, the default; one process owns them).
- ``ServerStore``: ``qdrant-client`` against a Qdrant server or cluster (``KM_QDRANT_URL``).

Both pass the same contract tests (``tests/test_store_contract.py``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from core.store.types import CollectionSpec, Filter, Hit, Point, Query


class Store(Protocol):
    @property
    def description(self) -> str:
        """Where the data lives, for ``status`` and ``/ready``."""
        ...

    @property
    def exclusive(self) -> bool:
        """Whether this process is the only writer (then nothing pending can belong to anyone else)."""
        ...

    def ensure(self, spec: CollectionSpec) -> None:
        """Create the collection and its payload indexes if missing; otherwise open it."""
        ...

    def drop(self, name: str) -> None: ...

    def exists(self, name: str) -> bool: ...

    def upsert(self, name: str, points: Sequence[Point]) -> None: ...

    def replace_if(self, name: str, point: Point, condition: Filter) -> None:
        """Replace ``point`` only if a point with its id exists and matches ``condition`` — checked and written in
        one step inside the engine, so two workers cannot both pass the check (a compare-and-set; the caller reads
        back to learn whether its write won). Never inserts."""
        ...

    def insert_if_absent(self, name: str, point: Point) -> bool:
        """Write ``point`` only if no point with its id exists — checked and written in one step inside the
        engine, so of two workers creating one record exactly one does. Never replaces. True when this write
        took effect, learnt by reading the point back (``was_written``): ``point`` must carry a version of
        its own (``rev``, and a ``rev_token`` unique to this write)."""
        ...

    def delete(self, name: str, *, ids: Sequence[str] = (), filter: Filter | None = None) -> None: ...

    def set_payload(self, name: str, payload: dict[str, Any], *, ids: Sequence[str]) -> None: ...

    def query(self, name: str, query: Query) -> list[Hit]: ...

    def retrieve(self, name: str, ids: Sequence[str], *, with_vectors: bool = False) -> list[Hit]: ...

    def scroll(self, name: str, *, filter: Filter | None = None, fields: Sequence[str] | None = None,
               with_vectors: bool = False) -> Iterator[Hit]: ...

    def ordered(self, name: str, key: str, *, limit: int, filter: Filter | None = None,
                fields: Sequence[str] | None = None, descending: bool = True,
                with_vectors: bool = False) -> list[Hit]:
        """At most ``limit`` points, highest ``key`` first (lowest with ``descending=False``; a payload field with
        a numeric or date index; a point without the field is left out): the engine orders them, so a page of a
        long log costs the page, not the log."""
        ...

    def count(self, name: str, *, filter: Filter | None = None) -> int: ...

    def facet(self, name: str, key: str, *, filter: Filter | None = None,
              limit: int = 100) -> list[tuple[Any, int]]: ...

    def erase_history(self, names: Sequence[str] | None = None) -> None:
        """Make what was deleted or overwritten unreadable from the store's files (after a removal on request).
        The embedded store rewrites its collections into fresh files; a server cannot be asked to (README:
        "Erasure on a Qdrant server")."""
        ...

    def mark_erasure_due(self, names: Sequence[str] | None = None) -> None:
        """Note durably that ``erase_history`` must run (a crash before it is finished at the next start)."""
        ...

    def retune(self) -> list[str]:
        """Hold the vectors of collections made under other settings as the tuning (``Tuning``) now says; the
        names of the collections changed."""
        ...

    def flush(self) -> None: ...

    def close(self) -> None: ...
