"""Mail that must go out once: queued in the store, sent by whichever worker claims it first, retried while the
server says "not now", never sent twice.

A message's life, one ledger record (``mail-out``) per message:

    queued ──claim (a conditional write: of two workers, one)──▶ sending ──sent──▶ (deleted)
       ▲                                                           │
       └──── the server said "not now" or was unreachable ─────────┤  (after MAX_ATTEMPTS: failed)
                                                                   └─ the connection went mid-send: uncertain

A message is deleted once sent (what it says is personal data); ``uncertain`` — the server may have taken it —
and one claimed by a worker that never came back are not sent again by themselves: a message may be lost in that
one case, never doubled. Every change after the claim is a partial write that keeps the version the claim
raised, so a worker holding an older copy of a record can never claim it a second time.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from core.errors import MailError, MailUncertain, NotFoundError
from core.store.ledger import Ledger
from core.store.revisions import revision
from service.mail import UNFOLDED, Sender

OUTBOX = "mail-out"
MAX_ATTEMPTS = 6
BACKOFF = (60.0, 300.0, 900.0, 3600.0, 4 * 3600.0)  # seconds before the 2nd, 3rd, ... attempt
LEASE = 600.0  # a claim older than this belongs to a worker that did not come back
# the engine may read a float back one unit in the last place off (~2e-7 s for a time): a message queued "now"
# must be due "now", in the same round
_SLACK = 1e-3


@dataclass
class Delivery:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    uncertain: int = 0


class Outbox:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def put(self, *, to: str, subject: str, body: str, headers: dict[str, str] | None = None, purpose: str,
            follow_id: str = "", news: list[str] | None = None, now: float | None = None) -> str:
        """Queue a message, kept as plain text (a removal's scrub reads it: a name in it goes like anywhere else)
        and built at sending; ``news``: the ``follow-news`` keys it tells (gone once it is out)."""
        now = time.time() if now is None else now
        message_id = uuid.uuid4().hex
        self.ledger.put(OUTBOX, message_id, {
            "message_id": message_id, "purpose": purpose, "follow_id": follow_id, "news": news or [], "to": to,
            "subject": subject, "body": body, "headers": headers or {}, "state": "queued", "attempts": 0,
            "next_at": now, "created_at": now})
        return message_id

    def pending(self, follow_id: str) -> list[dict[str, Any]]:
        """The messages to a follower that are on their way. An ``uncertain`` one is not: what it told counts as
        told, and waiting for it would keep the follower from every later message."""
        return [r for r in self.ledger.all(OUTBOX, follow_id=follow_id) if r.get("state") in ("queued", "sending")]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.ledger.all(OUTBOX):
            out[r.get("state", "")] = out.get(r.get("state", ""), 0) + 1
        return out

    def _claim(self, message_id: str, now: float) -> dict[str, Any] | None:
        """The message, now ours to send — if it is still queued and due, read afresh: of two workers, one."""
        record = self.ledger.get(OUTBOX, message_id)
        if record is None or record.get("state") != "queued" or float(record.get("next_at", 0)) > now + _SLACK:
            return None
        claimed = {**record, "state": "sending", "claimed_at": now}
        return claimed if self.ledger.put_if_unchanged(OUTBOX, message_id, claimed, revision(record)) else None

    def _set(self, message_id: str, fields: dict[str, Any]) -> None:
        # a partial write keeps the version the claim raised: a worker holding an older copy cannot claim it again;
        # gone meanwhile: its follower left, taking it along
        with contextlib.suppress(NotFoundError):
            self.ledger.update(OUTBOX, message_id, fields)

    def deliver(self, send: Sender, *, sender: str, now: float | None = None,
                wanted: Callable[[dict[str, Any]], bool] = lambda r: True,
                done_with: Callable[[dict[str, Any], bool], None] | None = None) -> Delivery:
        """Send every queued message that is due, each by the worker that claims it. ``wanted``: whether it is
        still to go (its follower may have left); ``done_with(record, reached)`` runs once it is out — or may be
        (``reached`` False) — before the record goes."""
        now = time.time() if now is None else now
        done = Delivery()
        for record in list(self.ledger.all(OUTBOX, state="queued")):
            claimed = self._claim(record["message_id"], now)
            if claimed is None:  # another worker has it, or it is not due
                continue
            if not wanted(claimed):
                self.ledger.remove(OUTBOX, [claimed["message_id"]])
                continue
            try:
                send(build(claimed, sender))
            except MailUncertain:
                self._set(claimed["message_id"], {"state": "uncertain"})
                if done_with is not None:  # it may have arrived: what it told counts as told
                    done_with(claimed, False)
                done.uncertain += 1
                continue
            except MailError as exc:
                attempts = int(claimed.get("attempts", 0)) + 1
                final = exc.permanent or attempts >= MAX_ATTEMPTS
                self._set(claimed["message_id"], {
                    "state": "failed" if final else "queued", "attempts": attempts,
                    "next_at": now + BACKOFF[min(attempts, len(BACKOFF)) - 1], "error": exc.message[:300]})
                done.failed += final
                done.retried += not final
                continue
            if done_with is not None:  # first: a crash before the record goes leaves it "sending" (never resent)
                done_with(claimed, True)
            self.ledger.remove(OUTBOX, [claimed["message_id"]])
            done.sent += 1
        return done

    def sweep(self, *, now: float | None = None,
              done_with: Callable[[dict[str, Any], bool], None] | None = None) -> int:
        """Claims nobody finished become ``uncertain`` (the worker died mid-send: the mail may be out); what such a
        message told counts as told (``done_with(record, False)``, as for a connection lost mid-send), or the
        next digest would tell it again."""
        now = time.time() if now is None else now
        stale = [r for r in self.ledger.all(OUTBOX, state="sending") if float(r.get("claimed_at", 0)) < now - LEASE]
        for r in stale:
            if self.ledger.put_if_unchanged(OUTBOX, r["message_id"], {**r, "state": "uncertain"}, revision(r)) \
                    and done_with is not None:
                done_with(r, False)
        return len(stale)

    def remove_for(self, follow_ids: list[str]) -> None:
        """The messages to followers who are gone (their address is in them)."""
        for follow_id in follow_ids:
            self.ledger.remove(OUTBOX, [r["message_id"] for r in self.ledger.all(OUTBOX, follow_id=follow_id)])


def build(record: dict[str, Any], sender: str) -> EmailMessage:
    """The message a record holds, with headers up to SMTP's length (a long List-Unsubscribe stays one address)."""
    message = EmailMessage(policy=UNFOLDED)
    message["From"], message["To"], message["Subject"] = sender, record["to"], record["subject"]
    message["Date"], message["Message-ID"] = formatdate(localtime=True), make_msgid(domain="kennismakelaar")
    for name, value in (record.get("headers") or {}).items():
        message[name] = value
    message.set_content(record["body"])
    return message
