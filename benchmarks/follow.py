"""Knowledge that finds the asker, measured on the demo corpus: how many open agenda questions one verslag upload
answers, and how many followers it reaches — then mail delivery through a server that fails.

    python -m benchmarks.follow

1. The demo corpus is ingested (embedding cache in ``benchmarks/.data``); the 30 in-domain questions it cannot
   answer (``benchmarks/questions/demo_unanswerable.txt``) are asked, and each is followed (confirmed) by one
   person; three of them by two more.
2. A verslag of an expertmeeting on informal care for people with dementia is uploaded (written here, below).
3. One round of ``service.following``, with a real SMTP server in the process (aiosmtpd): which questions it
   answers now (their answer judged again, the verslag among the findings), how many followers get a message.
4. Delivery through a server that says "not now" (451) to half the messages the first two times: rounds until
   everything is out; sent, retried, duplicates.
"""

from __future__ import annotations

import json
import shutil
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

from core.visibility import PUBLIC
from service import following
from service.container import Kennismakelaar
from service.outbox import BACKOFF, Outbox
from service.settings import Settings

HERE = Path(__file__).resolve().parent
SAMPLES = HERE.parent / "samples"
VERSLAG = """---
id: verslag-2026-12-01-expertmeeting-mantelzorg-dementie
title: "Verslag expertmeeting: mantelzorgers van mensen met dementie"
kind: verslag
date: 2026-12-01
authors: [anna-de-vries]
ateliers: [veerkracht-in-gemeenschappen]
themes: [interprofessionaliteit]
---
# Verslag expertmeeting: mantelzorgers van mensen met dementie

Op 1 december spraken mantelzorgers, casemanagers dementie, wijkverpleegkundigen en onderzoekers over de
ondersteuning van mantelzorgers die voor een partner of ouder met dementie of alzheimer zorgen.

## Wat mantelzorgers nodig hebben

Mantelzorgers van mensen met alzheimer raken overbelast als zij er alleen voor staan. Wat helpt: één vaste
casemanager dementie, respijtzorg en dagbesteding zodat de mantelzorger op adem komt, lotgenotencontact in een
Alzheimer Café, en uitleg over het verloop van de ziekte. Bij migrantenouderen met dementie speelt schaamte en
taal: een sleutelpersoon uit de eigen gemeenschap en voorlichting in de eigen taal maken het verschil.

## Afspraken

De wijkteams nemen signalen van overbelaste mantelzorgers op in het wijkoverleg; de gemeente onderzoekt hoe
respijtzorg zonder wachtlijst kan.
"""


class _Box:
    """An SMTP server's handler: takes every message, or says "not now" to the first ``busy`` per recipient."""

    def __init__(self, busy: int = 0, every: int = 2) -> None:
        self.received: list[str] = []
        self.busy, self.every, self.tries = busy, every, {}  # type: ignore[var-annotated]

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        to = envelope.rcpt_tos[0]
        self.tries[to] = self.tries.get(to, 0) + 1
        number = int(to.split("@")[0].removeprefix("volger"))
        if number % self.every == 0 and self.tries[to] <= self.busy:
            return "451 4.3.0 try again later"
        self.received.append(to)
        return "250 OK"


def _server(box: _Box) -> tuple[Any, int]:
    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, port


def _questions() -> list[str]:
    lines = (HERE / "questions" / "demo_unanswerable.txt").read_text("utf-8").splitlines()
    return [x for x in lines if x.strip() and not x.startswith("#")][:30]


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="km-follow-"))
    box = _Box()
    controller, port = _server(box)
    try:
        data = root / "data"
        data.mkdir()
        cache = HERE / ".data" / "latency-cache" / "embedding-cache.sqlite"
        if cache.exists():
            shutil.copy(cache, data / "embedding-cache.sqlite")
        km = Kennismakelaar(Settings.from_env({
            "KM_DATA_DIR": str(data), "KM_SMTP_HOST": "127.0.0.1", "KM_SMTP_PORT": str(port),
            "KM_SMTP_STARTTLS": "nee", "KM_PUBLIC_URL": "https://kennis.example.org",
            "KM_CONTACT_EMAIL": "werkplaats@example.org"}))
        assert km.ingestor().run([SAMPLES / "documenten", SAMPLES / "experts"]).ok
        broker = km.broker(PUBLIC)
        books = following.follows(km)
        asked = []
        for i, text in enumerate(_questions()):
            answer = broker.ask(text)
            asked.append((answer.question_id, text, answer.answered))
            extra = 3 if "dementie" in text or "alzheimer" in text else 1
            for j in range(extra):
                follow = books.start(f"volger{i * 10 + j}@example.org", what="question", text=text,
                                     question_id=answer.question_id)
                books.confirm(books.token(follow.id, "confirm"))
        open_questions = sum(1 for _, _, answered in asked if not answered)
        (root / "upload").mkdir()
        (root / "upload" / "verslag.md").write_text(VERSLAG, "utf-8")
        started = time.perf_counter()
        assert km.ingestor().run([root / "upload"]).ok
        done = following.run(km)
        seconds = time.perf_counter() - started
        time.sleep(0.5)
        told = {f.question_id for f in books.active() if f.sent}  # the questions whose followers heard of it
        answered_now = [text for qid, text, _ in asked if qid in told]
        result: dict[str, Any] = {
            "asked": len(asked), "open_on_the_agenda": open_questions, "followers": len(books.active()),
            "answered_by_the_upload": answered_now, "followers_reached": done["sent"],
            "messages_received": len(box.received), "round_seconds": round(seconds, 1)}
        print(f"{open_questions} of {len(asked)} questions open on the agenda, {len(books.active())} followers; "
              f"one verslag upload answers {len(answered_now)} of them and reaches {done['sent']} followers "
              f"({len(box.received)} messages received) in {seconds:.1f} s (upload and round)")
        for text in answered_now:
            print(f"  answered now: {text}")
        km.close()
        result["failing_server"] = _failing_server(root)
        print(json.dumps(result, ensure_ascii=False))
    finally:
        controller.stop()
        shutil.rmtree(root, ignore_errors=True)


def _failing_server(root: Path) -> dict[str, int]:
    """40 messages through a server that says "not now" to every second recipient, twice."""
    box = _Box(busy=2, every=2)
    controller, port = _server(box)
    try:
        km = Kennismakelaar(Settings.from_env({
            "KM_DATA_DIR": str(root / "mail"), "KM_SMTP_HOST": "127.0.0.1", "KM_SMTP_PORT": str(port),
            "KM_SMTP_STARTTLS": "nee"}))
        from service import mail

        outbox = Outbox(km.catalog().ledger)
        for i in range(40):
            outbox.put(to=f"volger{i}@example.org", subject="Nieuw", body="Nieuw.\n", purpose="benchmark")
        now, rounds, retried, sent = time.time(), 0, 0, 0
        while outbox.counts() and rounds < 10:
            done = outbox.deliver(lambda m: mail.send(km.settings.mail, m), sender="werkplaats@example.org", now=now)
            rounds, retried, sent = rounds + 1, retried + done.retried, sent + done.sent
            now += max(BACKOFF) + 1
        km.close()
        duplicates = len(box.received) - len(set(box.received))
        print(f"failing server: 40 messages, {sent} sent in {rounds} rounds, {retried} retries, "
              f"{duplicates} duplicates, {len(set(box.received))} distinct recipients reached")
        return {"messages": 40, "sent": sent, "rounds": rounds, "retries": retried, "duplicates": duplicates}
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
