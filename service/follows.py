"""Followers: people who left an address to hear when the Werkplaats learns more about a question or a topic.

An address is kept only for this: it waits for its owner's confirmation (double opt-in: the first message asks
for it), then lives until they unsubscribe (one click from any message), until ``KM_FOLLOW_RETENTION_DAYS`` have
passed, or until a coordinator removes it on request — each of which takes it out of the store's files.

Records in the ledger, one fact per point:

- ``follow``: keyed by its id, ``{follow_id, what ("question"|"topic"), email, question_id?, text, filters?,
  state ("pending"|"active"), created_at, confirmed_at?,
  expires, checked (the newest ``ingested_at`` already looked at), sent (document ids already told),
  last_mail?}``;
- ``follow-news``: a finding found for a follow and not yet sent, keyed ``follow_id:document_id``;
- ``follow-reached``: that a message reached a follower (the follow's id and when; nothing else) — for the
  overview, kept after the follow is gone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hmac
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from core.errors import NotFoundError
from core.store.ledger import Ledger
from core.store.revisions import revision
from service.members import normalised

FOLLOW, NEWS, REACHED = "follow", "follow-news", "follow-reached"
PENDING_SECONDS = 2 * 86400.0  # an unconfirmed address is gone after two days
MAX_SENT = 500  # the document ids a follow remembers having told (the oldest go first)
What = Literal["question", "topic"]


@dataclass(frozen=True)
class Follow:
    id: str
    what: What
    email: str
    text: str
    state: str
    created_at: float
    expires: float
    question_id: str | None = None
    filters: dict[str, Any] = field(default_factory=dict)
    checked: str = ""
    since: str = ""  # when it was confirmed (ISO): nothing that came in before is news
    sent: tuple[str, ...] = ()
    last_mail: float | None = None

    @classmethod
    def of(cls, r: dict[str, Any]) -> Follow:
        return cls(r["follow_id"], r.get("what", "question"), r["email"], r.get("text", ""), r.get("state", "pending"),
                   float(r.get("created_at", 0)), float(r.get("expires", 0)), r.get("question_id"),
                   dict(r.get("filters") or {}), r.get("checked", ""), r.get("since", ""),
                   tuple(r.get("sent") or ()), r.get("last_mail"))

    @property
    def active(self) -> bool:
        return self.state == "active"


class Follows:
    """The followers in the ledger; ``retention_days`` from the confirmation on."""

    def __init__(self, ledger: Ledger, *, retention_days: int) -> None:
        self.ledger = ledger
        self.retention = retention_days * 86400.0

    def token(self, follow_id: str, purpose: Literal["confirm", "stop"]) -> str:
        """The secret of a follow's link: its id and a keyed hash of it (so nothing secret is stored, and a
        digest months later carries the same unsubscribe link as the first message)."""
        return f"{follow_id}.{self.ledger.keyed(follow_id, 'follow-' + purpose)[:32]}"

    def _checked(self, token: str, purpose: Literal["confirm", "stop"]) -> str | None:
        if not token.isascii() or len(token) > 100:  # a forged link: no follow, and no error either
            return None
        follow_id = token.partition(".")[0]
        return follow_id if follow_id and hmac.compare_digest(self.token(follow_id, purpose).encode(),
                                                              token.encode()) else None

    def start(self, email: str, *, what: What, text: str, question_id: str | None = None,
              filters: dict[str, Any] | None = None, now: float | None = None) -> Follow:
        """A follow waiting for its owner's confirmation (``token(id, "confirm")`` is the link's secret)."""
        address = normalised(email)  # one plain address, or a ValidationError
        now = time.time() if now is None else now
        follow_id = uuid.uuid4().hex
        record: dict[str, Any] = {
            "follow_id": follow_id, "what": what, "email": address, "text": text, "question_id": question_id,
            "filters": filters or {}, "state": "pending", "created_at": now, "expires": now + PENDING_SECONDS,
            "sent": []}
        self.ledger.put(FOLLOW, follow_id, record)
        return Follow.of(record)

    def by_token(self, token: str, purpose: Literal["confirm", "stop"]) -> Follow | None:
        """The follow a link is for, while it lasts."""
        follow_id = self._checked(token, purpose)
        found = self.get(follow_id) if follow_id else None
        return found if found is not None and found.expires > time.time() else None

    def confirm(self, token: str, *, now: float | None = None) -> Follow | None:
        """The owner's yes: active from now on for the retention period; None for an unknown or expired link.
        Confirming twice changes nothing (a conditional write: two clicks at once make one confirmation)."""
        now = time.time() if now is None else now
        found = self.by_token(token, "confirm")
        if found is None or found.active:
            return found
        record: dict[str, Any] = self.ledger.get(FOLLOW, found.id) or {}
        # what came in before the yes is not news: the answer they saw held it already
        since = dt.datetime.fromtimestamp(now, dt.UTC).isoformat(timespec="seconds")
        changed = {**record, "state": "active", "confirmed_at": now, "expires": now + self.retention,
                   "checked": since, "since": since}
        if not self.ledger.put_if_unchanged(FOLLOW, found.id, changed, revision(record)):
            return self.get(found.id)
        return Follow.of(changed)

    def get(self, follow_id: str) -> Follow | None:
        record = self.ledger.get(FOLLOW, follow_id)
        return Follow.of(record) if record is not None else None

    def active(self) -> list[Follow]:
        return [Follow.of(r) for r in self.ledger.all(FOLLOW, state="active")]

    def all(self) -> list[Follow]:
        return [Follow.of(r) for r in self.ledger.all(FOLLOW)]

    def of_email(self, email: str) -> list[Follow]:
        return [Follow.of(r) for r in self.ledger.all(FOLLOW, email=normalised(email))]

    def update(self, follow_id: str, fields: dict[str, Any]) -> None:
        """Change fields of a follow that still exists (the scan's watermark, what was told), in place: a follow
        removed meanwhile stays removed (a whole-record write would bring it back, address and all)."""
        if "sent" in fields:
            fields = {**fields, "sent": list(fields["sent"])[-MAX_SENT:]}
        with contextlib.suppress(NotFoundError):
            self.ledger.update(FOLLOW, follow_id, fields)

    def claim(self, follow_id: str, now: float) -> bool:
        """This worker's turn to write to the follower (``last_mail`` set by a conditional write): of two
        workers composing a digest at once, one gets it."""
        record = self.ledger.get(FOLLOW, follow_id)
        return record is not None and self.ledger.put_if_unchanged(FOLLOW, follow_id, {**record, "last_mail": now},
                                                                   revision(record))

    def remove(self, follow_ids: Sequence[str]) -> None:
        """The follows and their waiting news gone (the caller rewrites the files: ``Catalog.erasing``)."""
        self.ledger.remove(FOLLOW, follow_ids)
        for follow_id in follow_ids:
            self.ledger.remove(NEWS, [r["key"] for r in self.ledger.all(NEWS, follow_id=follow_id)])

    def expired(self, now: float | None = None) -> list[Follow]:
        now = time.time() if now is None else now
        return [f for f in self.all() if f.expires <= now]

    # --- news ----------------------------------------------------------------------------------------------

    def add_news(self, follow: Follow, document_ids: Sequence[str], *, now: float | None = None) -> int:
        """Findings to tell a follower; one already told or already waiting is not added again."""
        now = time.time() if now is None else now
        new = [d for d in document_ids if d not in follow.sent and self.ledger.get(NEWS, f"{follow.id}:{d}") is None]
        for d in new:  # keyed by follow and document: found twice, it is one piece of news
            self.ledger.put(NEWS, f"{follow.id}:{d}", {"follow_id": follow.id, "document_id": d, "found": now})
        return len(new)

    def news(self, follow_id: str) -> list[dict[str, Any]]:
        return sorted(self.ledger.all(NEWS, follow_id=follow_id), key=lambda r: r.get("found", 0))

    def followed_questions(self) -> dict[str, int]:
        """How many active followers each question has (the agenda shows it)."""
        counts: dict[str, int] = {}
        for f in self.active():
            if f.question_id:
                counts[f.question_id] = counts.get(f.question_id, 0) + 1
        return counts
