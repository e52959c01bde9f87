"""The knowledge finds the asker: what the Werkplaats learns later is checked against the questions and topics
people follow, and told them in one message a day (a topic: a week), through the outbox (``service.outbox``).

A round (``run``), in every worker at start-up, after an upload and at every sweep:

1. follows past their time, and unconfirmed ones past two days, go — out of the store's files;
2. for each active follow, the documents open to anyone that came in since it last looked are judged as its
   answer would judge them: a followed question is asked again (not recorded), and a new document among its
   findings, *when the Werkplaats now knows the answer*, is news; for a topic, a new document among the first
   results of its search is;
3. a follower with news, and no message in the last day (a topic: week), gets one message with all of it —
   the findings and the people linked to them who may be shown;
4. the outbox sends what is due.

Followers are anonymous to the service: they see what the public sees.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from core.glossary import counted, nl_date
from core.store.types import Filter, MatchAny, Range
from core.visibility import PUBLIC
from matching.filters import SearchFilters
from service import mail
from service.container import Kennismakelaar
from service.coordinators import FOLLOWER, SERVICE, Actor
from service.follows import FOLLOW, NEWS, REACHED, Follow, Follows
from service.outbox import OUTBOX, Delivery, Outbox

log = logging.getLogger("kennismakelaar.following")
CADENCE = {"question": 86400.0, "topic": 7 * 86400.0}  # at most one message per follower in this time
TOPIC_DEPTH = 10  # a new document among a topic's first results is news
_round = threading.Lock()  # one round at a time in a process (other workers: the claims keep them apart)


def follows(km: Kennismakelaar) -> Follows:
    return Follows(km.catalog().ledger, retention_days=km.settings.service.follow_retention_days)


def can_follow(km: Kennismakelaar) -> bool:
    """Following needs a mail server and the address of the service (the links in the messages)."""
    return bool(km.settings.mail.configured and km.settings.service.public_url)


def link(km: Kennismakelaar, path: str) -> str:
    return f"{(km.settings.service.public_url or '').rstrip('/')}{path}"


def _sender(km: Kennismakelaar) -> str:
    return km.settings.mail.smtp_from or km.settings.service.contact_email or "noreply@localhost"


def _unsubscribe(stop: str) -> dict[str, str]:
    """RFC 8058: a mail program offers "afmelden", and one click (a POST) is enough."""
    return {"List-Unsubscribe": f"<{stop}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


MAX_PENDING = 3  # unconfirmed follows one address may have: a form is no way to mail someone again and again


def ask_to_confirm(km: Kennismakelaar, follow: Follow) -> str | None:
    """Queue the message that asks the owner of the address whether they want this (double opt-in). It says
    nothing a visitor typed (the question or the topic): the form must not carry a stranger's words to any address.
    An address with ``MAX_PENDING`` unconfirmed follows gets no more of these (the page says the same)."""
    books = follows(km)
    waiting = [f for f in books.of_email(follow.email) if not f.active]
    if len(waiting) > MAX_PENDING:
        return None
    what = "een vraag" if follow.what == "question" else "een onderwerp"
    confirm = link(km, "/volgen/bevestigen/" + books.token(follow.id, "confirm"))
    name = km.settings.service.werkplaats_name
    lines = [f"Iemand (hopelijk jij) vroeg om bericht als de {name} meer weet over {what}. Wil je dat? "
             "Bevestig het met deze link; daar zie je ook waarover het gaat:", "", f"  {confirm}", "",
             "Niet gevraagd? Doe dan niets: je adres wordt over twee dagen gewist.", "",
             "Met vriendelijke groet,", name]
    return Outbox(km.catalog().ledger).put(to=follow.email, subject="Bevestig: wil je op de hoogte blijven?",
                                           body="\n".join(lines) + "\n", purpose="confirm", follow_id=follow.id)


# --- a round -------------------------------------------------------------------------------------------------

def run(km: Kennismakelaar, *, now: float | None = None, send: mail.Sender | None = None) -> dict[str, int]:
    """One round (see the module's docstring); returns what it did."""
    with _round:
        now = time.time() if now is None else now
        books, outbox = follows(km), Outbox(km.catalog().ledger)
        gone = expire(km, books, outbox, now=now)
        orphans(km, books, outbox)
        outbox.sweep(now=now, done_with=lambda record, reached: told(km, books, record, reached))
        found = scan(km, books, now=now) if books.active() else 0
        composed = compose(km, books, outbox, now=now)
        delivered = deliver(km, books, outbox, now=now, send=send)
        figures = {"expired": gone, "news": found, "composed": composed, "sent": delivered.sent,
                   "retried": delivered.retried, "failed": delivered.failed, "uncertain": delivered.uncertain}
        if any(figures.values()):  # what a round did, for whoever wonders why a follower heard nothing
            log.info("Volgronde: %s", " ".join(f"{k}={v}" for k, v in figures.items() if v))
        return figures


_soon = threading.Event()  # a round is on its way: more requests for one wait for it, not in a thread each


def run_soon(km: Kennismakelaar) -> None:
    """A round behind the request (after a follow, an upload, a published answer): the caller does not wait."""
    def go() -> None:
        try:
            _soon.clear()
            run(km)
        except Exception:  # the sweep tries again
            log.warning("Bericht aan volgers mislukt; de volgende ronde probeert het opnieuw.", exc_info=True)
    if can_follow(km) and not _soon.is_set():
        _soon.set()
        threading.Thread(target=go, name="following", daemon=True).start()


def expire(km: Kennismakelaar, books: Follows, outbox: Outbox, *, now: float) -> int:
    """Follows past their time go, with their news and messages, out of the files."""
    old = [f.id for f in books.expired(now)]
    if old:
        remove(km, old, SERVICE, "volgen-verlopen")
    return len(old)


def orphans(km: Kennismakelaar, books: Follows, outbox: Outbox) -> int:
    """News and messages of follows that are gone (a round raced their removal): out of the files too."""
    known = {f.id for f in books.all()}
    ledger = km.catalog().ledger
    news = [r["key"] for r in ledger.all(NEWS) if r.get("follow_id") not in known]
    mails = [r["message_id"] for r in ledger.all(OUTBOX) if r.get("follow_id") and r.get("follow_id") not in known]
    if news or mails:
        with km.catalog().erasing("follows"):
            ledger.remove(NEWS, news)
            ledger.remove(OUTBOX, mails)
    return len(news) + len(mails)


def remove(km: Kennismakelaar, follow_ids: Sequence[str], actor: Actor, action: str) -> None:
    """Follows gone with their news and messages, out of the store's files, and logged (by id: no address)."""
    books, outbox = follows(km), Outbox(km.catalog().ledger)
    with km.catalog().erasing("follows"):
        outbox.remove_for(list(follow_ids))
        books.remove(follow_ids)
    km.audit().record_all(actor, [(action, "volgen", f) for f in follow_ids])


def start(km: Kennismakelaar, email: str, **what: Any) -> Follow:
    """A new follow, its confirmation queued and sent behind the request."""
    follow = follows(km).start(email, **what)
    if ask_to_confirm(km, follow) is None:  # too many waiting already: this one goes at once
        follows(km).remove([follow.id])
    km.audit().record(FOLLOWER, "volgen-aangemeld", "volgen", follow.id)
    run_soon(km)
    return follow


def scan(km: Kennismakelaar, books: Follows, *, now: float) -> int:
    """News for every active follow from the documents open to anyone that came in since it last looked."""
    catalog = km.catalog()
    broker = km.broker(PUBLIC)
    found = 0
    for follow in books.active():
        # an hour back: a document is stamped when it is read, and committed a little later (an upload beside
        # another can commit an older stamp after a newer one); what was told or found already is not again
        since = max(_earlier(follow.checked, 3600), follow.since) if follow.checked else follow.since
        new = list(catalog.documents(filter=Filter(must=(Range("ingested_at", gte=since),)).and_(PUBLIC.filter()),
                                     fields=["document_id", "ingested_at"]))
        waiting = {n["document_id"] for n in books.news(follow.id)}
        fresh = {d["document_id"] for d in new} - set(follow.sent) - waiting
        if not fresh:
            continue
        relevant = _relevant(broker, follow, fresh)
        found += books.add_news(follow, relevant, now=now)
        books.update(follow.id, {"checked": max(d["ingested_at"] for d in new)})
    return found


def _earlier(iso: str, seconds: float) -> str:
    return (dt.datetime.fromisoformat(iso) - dt.timedelta(seconds=seconds)).isoformat(timespec="seconds")


def _relevant(broker: Any, follow: Follow, fresh: set[str]) -> list[str]:
    """The new documents that answer what ``follow`` is about, as an answer (or the topic's search) ranks them."""
    if follow.what == "topic":
        chosen = {k: tuple(follow.filters.get(k) or ()) for k in ("ateliers", "themes", "knowledge", "evidence")}
        filters = SearchFilters(ateliers=chosen["ateliers"], themes=chosen["themes"], knowledge=chosen["knowledge"],
                                evidence=chosen["evidence"])
        page = broker.search(follow.text, filters, limit=TOPIC_DEPTH)
        return [r.document_id for r in page.results if r.document_id in fresh]
    answer = broker.ask(follow.text, record=False)
    return [f.document_id for f in answer.findings if f.document_id in fresh] if answer.answered else []


def compose(km: Kennismakelaar, books: Follows, outbox: Outbox, *, now: float) -> int:
    """One message per follower with news, at most one per ``CADENCE``: several findings in a day are one digest.
    A follow is claimed before its message is queued (a conditional write of ``last_mail``): of two workers
    composing at once, one does."""
    made = 0
    for follow in books.active():
        news = books.news(follow.id)
        if not news or outbox.pending(follow.id):
            continue
        if follow.last_mail is not None and now - float(follow.last_mail) < CADENCE[follow.what]:
            continue
        message = digest(km, books, follow, [n["document_id"] for n in news])
        if message is None:  # every finding gone meanwhile (removed, or no longer open to anyone)
            books.ledger.remove(NEWS, [n["key"] for n in news])
            continue
        if not books.claim(follow.id, now):
            continue
        outbox.put(**message, purpose="digest", follow_id=follow.id, news=[n["key"] for n in news], now=now)
        made += 1
    return made


def digest(km: Kennismakelaar, books: Follows, follow: Follow, document_ids: Sequence[str]) -> dict[str, Any] | None:
    """The message: each finding with its link, and the people linked to it who may be shown."""
    catalog = km.catalog()
    records = [r for r in catalog.documents(filter=Filter(must=(MatchAny("document_id", tuple(document_ids)),))
                                            .and_(PUBLIC.filter())) if r]
    if not records:
        return None
    keys = sorted({k for r in records for k in r.get("people") or []})
    people = {k: e for e in catalog.experts(filter=Filter(must=(MatchAny("keys", tuple(keys)),
                                                                 MatchAny("visibility", ("public",)))),
                                            fields=["expert_id", "name", "role", "keys"]) for k in e["keys"]} \
        if keys else {}
    name = km.settings.service.werkplaats_name
    about = "de vraag die je volgt" if follow.what == "question" else "het onderwerp dat je volgt"
    lines = [f"De {name} weet meer over {about}:", "", f"  {follow.text}", ""]
    for r in records:
        lines += [f"* {r.get('title') or r['document_id']}" + (f" ({r['date']})" if r.get("date") else ""),
                  f"  {link(km, '/documenten/' + quote(r['document_id']))}"]
        linked = {e["expert_id"]: e for k in r.get("people") or [] if (e := people.get(k))}
        for e in linked.values():
            lines.append(f"  Weet ervan: {e['name']}, {link(km, '/experts/' + quote(e['expert_id']))}")
        lines.append("")
    stop = link(km, "/volgen/afmelden/" + books.token(follow.id, "stop"))
    lines += ["Je krijgt dit bericht omdat je vroeg om op de hoogte te blijven. Je adres wordt op "
              f"{nl_date(follow.expires)} gewist, of eerder als je je afmeldt:",
              f"  {stop}", "", "Met vriendelijke groet,", name]
    subject = f"Nieuw bij {about}: {counted(len(records), 'bevinding')}"
    return {"to": follow.email, "subject": subject, "body": "\n".join(lines) + "\n", "headers": _unsubscribe(stop)}


def with_followers(km: Kennismakelaar, agenda: dict[str, Any]) -> dict[str, Any]:
    """The agenda with, per cluster, how many people follow one of its questions (``followers``)."""
    counts = follows(km).followed_questions() if next(iter(km.catalog().ledger.all(FOLLOW)), None) else {}
    for cluster in agenda.get("clusters", []):
        cluster["followers"] = sum(counts.get(q, 0) for q in cluster.get("question_ids", []))
    return agenda


def reached(km: Kennismakelaar, *, since: float | None = None, until: float | None = None) -> int:
    """How many messages reached a follower (between ``since`` and ``until``, when given)."""
    return km.catalog().ledger.tally(REACHED, since=since, until=until)


def deliver(km: Kennismakelaar, books: Follows, outbox: Outbox, *, now: float,
            send: mail.Sender | None = None) -> Delivery:
    def wanted(record: dict[str, Any]) -> bool:  # its follower may have left since it was queued
        return books.get(record.get("follow_id", "")) is not None

    if not km.settings.mail.configured:
        return Delivery()
    return outbox.deliver(send or (lambda m: mail.send(km.settings.mail, m)), sender=_sender(km), now=now,
                          wanted=wanted, done_with=lambda record, reached: told(km, books, record, reached))


def told(km: Kennismakelaar, books: Follows, record: dict[str, Any], reached: bool) -> None:
    """A digest is out, or may be (``reached`` False: the connection went mid-send, or its worker died): what it
    told is not news any more, and is never told again."""
    if record.get("purpose") != "digest":
        return
    ledger = km.catalog().ledger
    news = [k.partition(":")[2] for k in record.get("news") or []]
    follow = books.get(record.get("follow_id", ""))
    if follow is not None:
        books.update(follow.id, {"sent": [*follow.sent, *news]})
    ledger.remove(NEWS, record.get("news") or [])
    if reached:
        ledger.put(REACHED, record["message_id"], {"follow_id": record.get("follow_id", ""),
                                                   "what": follow.what if follow else ""})
