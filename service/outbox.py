"""Mail that must go out once: queued in the store, sent by whichever worker claims it first, retried while the
server says "not now", never sent twice.

A message's life, one ledger record (``mail-out``) per message:

    queued ──claim (a conditional write: of two workers, one)──▶ sending ──sent──▶ (deleted)
       ▲                                                           │
       └──── the server said "not now" or was unreachable ─────────┤  (after MAX_ATTEMPTS: failed)
                                                                   └─ the connection went mid-send: uncertain

A message is deleted once sent (what it says is personal data); ``uncertain`` — the server may have taken it —
and one claimed by a worker that never came back are not sent again by themselves: a message may be lost in that
one case, never doubled. Coordinators see failed and uncertain messages counted in the overview.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from email import message_from_string
from email.message import EmailMessage
from typing import Any

from core.errors import MailError, MailUncertain
from core.store.ledger import Ledger
from core.store.revisions import revision
from service.mail import UNFOLDED, Sender

OUTBOX = "mail-out"
MAX_ATTEMPTS = 6
BACKOFF = (60.0, 300.0, 900.0, 3600.0, 4 * 3600.0)  # seconds before the 2nd, 3rd, ... attempt
LEASE = 600.0  # a claim older than this belongs to a worker that did not come back


@dataclass
class Delivery:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    uncertain: int = 0


class Outbox:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def put(self, message: EmailMessage, *, purpose: str, follow_id: str = "", news: list[str] | None = None,
            now: float | None = None) -> str:
        """Queue ``message``; ``news``: the ``follow-news`` keys it tells (gone once it is sent)."""
        now = time.time() if now is None else now
        message_id = uuid.uuid4().hex
        self.ledger.put(OUTBOX, message_id, {
            "message_id": message_id, "purpose": purpose, "follow_id": follow_id, "news": news or [],
            "raw": message.as_string(), "state": "queued", "attempts": 0, "next_at": now, "created_at": now})
        return message_id

    def pending(self, follow_id: str) -> list[dict[str, Any]]:
        return [r for r in self.ledger.all(OUTBOX, follow_id=follow_id) if r.get("state") in ("queued", "sending")]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.ledger.all(OUTBOX):
            out[r.get("state", "")] = out.get(r.get("state", ""), 0) + 1
        return out

    def _claim(self, record: dict[str, Any], now: float) -> dict[str, Any] | None:
        claimed = {**record, "state": "sending", "claimed_at": now}
        return claimed if self.ledger.put_if_unchanged(OUTBOX, record["message_id"], claimed,
                                                       revision(record)) else None

    def deliver(self, send: Sender, *, now: float | None = None,
                on_sent: Callable[[dict[str, Any]], None] | None = None) -> Delivery:
        """Send every queued message that is due, each by the worker that claims it."""
        now = time.time() if now is None else now
        done = Delivery()
        for record in list(self.ledger.all(OUTBOX, state="queued")):
            if float(record.get("next_at", 0)) > now:
                continue
            claimed = self._claim(record, now)
            if claimed is None:  # another worker has it
                continue
            try:
                send(_message(claimed["raw"]))
            except MailUncertain:
                self.ledger.put(OUTBOX, claimed["message_id"], {**claimed, "state": "uncertain"})
                done.uncertain += 1
                continue
            except MailError as exc:
                attempts = int(claimed.get("attempts", 0)) + 1
                final = exc.permanent or attempts >= MAX_ATTEMPTS
                self.ledger.put(OUTBOX, claimed["message_id"], {
                    **claimed, "state": "failed" if final else "queued", "attempts": attempts,
                    "next_at": now + BACKOFF[min(attempts, len(BACKOFF)) - 1], "error": exc.message[:300]})
                done.failed += final
                done.retried += not final
                continue
            self.ledger.remove(OUTBOX, [claimed["message_id"]])
            done.sent += 1
            if on_sent is not None:
                on_sent(claimed)
        return done

    def sweep(self, *, now: float | None = None) -> int:
        """Claims nobody finished become ``uncertain`` (the worker died mid-send: the mail may be out)."""
        now = time.time() if now is None else now
        stale = [r for r in self.ledger.all(OUTBOX, state="sending") if float(r.get("claimed_at", 0)) < now - LEASE]
        for r in stale:
            self.ledger.put_if_unchanged(OUTBOX, r["message_id"], {**r, "state": "uncertain"}, revision(r))
        return len(stale)

    def remove_for(self, follow_ids: list[str]) -> None:
        """The messages to followers who are gone (their address is in them)."""
        for follow_id in follow_ids:
            self.ledger.remove(OUTBOX, [r["message_id"] for r in self.ledger.all(OUTBOX, follow_id=follow_id)])


def _message(raw: str) -> EmailMessage:
    parsed = message_from_string(raw, policy=UNFOLDED)
    assert isinstance(parsed, EmailMessage)
    return parsed
