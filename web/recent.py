"""The answers just computed, so the answer page after "Stel je vraag" (and after each feedback click) does not
run the whole question again.

An entry is only good while the store is as it was (``Catalog.freshness``): after a removal or an upload the
page is computed afresh, so a person removed on request is never shown from memory. And an entry is for the
audience it was computed for (``core.visibility.Audience.key``): a coordinator's answer, which may hold what
only coordinators see, is never the one a link shows to someone else.

>>> recent = RecentAnswers(size=2)
>>> recent.put("q1", (0, 0), "antwoord", "*")
>>> recent.get("q1", (0, 0), "*"), recent.get("q1", (1, 0), "*"), recent.get("q1", (0, 0), "openbaar")
('antwoord', None, None)
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any


class RecentAnswers:
    def __init__(self, size: int = 256) -> None:
        if size < 1:
            raise ValueError("size must be at least 1")
        self.size = size
        self._items: OrderedDict[tuple[str, str], tuple[Any, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, key: str, freshness: Any, value: Any, audience: str) -> None:
        with self._lock:
            self._items[(key, audience)] = (freshness, value)
            self._items.move_to_end((key, audience))
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def get(self, key: str, freshness: Any, audience: str) -> Any | None:
        with self._lock:
            found = self._items.get((key, audience))
        return found[1] if found and found[0] == freshness else None
