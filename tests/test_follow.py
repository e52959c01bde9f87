"""Volg deze vraag (issue 25): knowledge that arrives later finds the people who asked — double opt-in, one
digest a day, one-click unsubscribe, the address gone to the bytes; sent through a real SMTP server (aiosmtpd),
also one that fails.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage, Message
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from core.errors import MailError, MailUncertain
from service import following
from service.follows import NEWS
from service.outbox import BACKOFF, Outbox
from tests.bytescan import files_holding
from tests.conftest import MailBox, make_settings, smtp_server
from web.app import create_app

pytestmark = pytest.mark.slow
TOKEN = "volg-token"
COORD = {"Authorization": f"Bearer {TOKEN}"}
ADDRESS = "volger.horeca@wijkteam.example"
QUESTION = "Hoe begeleid je statushouders naar een eigen bedrijf in de horeca?"
VERSLAG = """---
id: {doc_id}
title: {title}
kind: verslag
date: 2026-11-20
authors: [anna-de-vries]
ateliers: [tweedeling-en-armoede]
---
# {title}

In het leeratelier spraken we over statushouders die een eigen bedrijf in de horeca willen beginnen. Wat helpt
statushouders als ondernemer: een mentor uit de horeca, een startkrediet zonder eigen inbreng, en begeleiding bij
vergunningen en boekhouding. Gemeenten kunnen de bijstand tijdelijk laten doorlopen terwijl het bedrijf opstart
(Besluit bijstandverlening zelfstandigen). Statushouders met een eigen restaurant of cateringbedrijf vertelden hoe
het netwerk van de wijk hun eerste klanten bracht. {extra}
"""


@contextlib.contextmanager
def follow_site(data: Path, retention_days: int = 30) -> Iterator[tuple[TestClient, MailBox, Any]]:
    """The app on ``data`` with a real SMTP server: the client, the server's mailbox and the service."""
    with smtp_server() as (box, port):
        settings = make_settings(data, KM_COORDINATOR_TOKENS=TOKEN, KM_SMTP_HOST="127.0.0.1",
                                 KM_SMTP_PORT=str(port), KM_SMTP_STARTTLS="nee", KM_ASK_PER_MINUTE="1000",
                                 KM_PUBLIC_URL="https://kennis.example.org", KM_CONTACT_EMAIL="werkplaats@example.org",
                                 KM_FOLLOW_RETENTION_DAYS=str(retention_days))
        with TestClient(create_app(settings)) as client:
            yield client, box, client.app.state.km


@pytest.fixture
def site(fresh_samples: Path) -> Iterator[tuple[TestClient, MailBox, Any]]:
    with follow_site(fresh_samples) as made:
        yield made


def _form(client: TestClient, path: str, data: dict[str, Any]) -> Any:
    client.get("/")
    return client.post(path, data={**data, "_csrf_token": client.cookies.get("km_csrf", "")})


def _ask(client: TestClient, question: str = QUESTION) -> str:
    asked = _form(client, "/vraag", {"question": question})
    return asked.url.path.rsplit("/", 1)[-1]


def _wait_for(box: MailBox, n: int, timeout: float = 15.0) -> list[Message]:
    deadline = time.time() + timeout
    while len(box.messages) < n and time.time() < deadline:
        time.sleep(0.05)
    return [m for _, m in box.messages]


def _link(message: Message, path: str) -> str:
    body = message.get_payload(decode=True).decode()
    found = re.search(r"https://kennis\.example\.org(" + path + r"[^\s]+)", body)
    assert found, body
    return found.group(1)


def _upload(client: TestClient, doc_id: str, title: str, extra: str = "") -> None:
    upload_files(client, {doc_id: VERSLAG.format(doc_id=doc_id, title=title, extra=extra)})


def upload_files(client: TestClient, texts: dict[str, str]) -> None:
    """Upload ``texts`` (document id → markdown) in one job as the coordinator, and wait until it is done."""
    files = [("files", (f"{doc_id}.md", text.encode(), "text/markdown")) for doc_id, text in texts.items()]
    job = client.post("/api/documents", files=files, headers=COORD)
    assert job.status_code == 202, job.text
    job_id = job.json()["id"]
    for _ in range(900):
        state = client.get(f"/api/jobs/{job_id}").json()
        if state["status"] in ("done", "failed"):
            assert state["status"] == "done" and not state["errors"], state
            return
        time.sleep(0.1)
    raise AssertionError("the upload did not finish")


def text_of(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def _follow(client: TestClient, box: MailBox, question_id: str, address: str = ADDRESS) -> str:
    """Follow a question and confirm it from the message; returns the confirmation's path."""
    started = _form(client, "/volgen", {"question_id": question_id, "email": address})
    assert started.status_code == 200 and "Kijk in je mail" in started.text
    before = len(box.messages)
    confirmation = _wait_for(box, before + 1)[-1]
    assert confirmation["To"] == address and "Bevestig" in confirmation["Subject"]
    path = _link(confirmation, "/volgen/bevestigen/")
    assert "Ja, houd me op de hoogte" in client.get(path).text  # a button first: a mail scanner confirms nothing
    assert "Bevestigd" in _form(client, path, {}).text
    return path


def test_knowledge_that_arrives_later_finds_the_asker_in_one_digest_a_day(site):
    client, box, km = site
    question_id = _ask(client)
    assert "Volg deze vraag" in client.get(f"/antwoord/{question_id}").text
    _follow(client, box, question_id)
    sent = len(box.messages)
    _upload(client, "verslag-statushouders-horeca", "Statushouders als ondernemer in de horeca")
    following.run(km)
    digest = _wait_for(box, sent + 1)[-1]
    assert len(box.messages) == sent + 1  # one message, whoever ran the round
    body = digest.get_payload(decode=True).decode()
    assert digest["To"] == ADDRESS and "1 bevinding" in digest["Subject"]
    assert "Statushouders als ondernemer in de horeca" in body
    assert "https://kennis.example.org/documenten/verslag-statushouders-horeca" in body
    assert "Weet ervan: Anna de Vries" in body  # the people linked to the finding who may be shown
    stop = _link(digest, "/volgen/afmelden/")
    assert digest["List-Unsubscribe"] == f"<https://kennis.example.org{stop}>"
    assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # a second finding the same day waits for tomorrow's message; nothing is told twice
    _upload(client, "verslag-statushouders-horeca-2", "Tweede gesprek over ondernemen in de horeca",
            "Een tweede bijeenkomst ging over de financiering.")
    following.run(km)
    following.run(km)
    assert len(box.messages) == sent + 1
    tomorrow = following.run(km, now=time.time() + 86400 + 60)
    messages = _wait_for(box, sent + 2)
    assert len(messages) == sent + 2, (tomorrow, Outbox(km.catalog().ledger).counts(), following.follows(km).all(),
                                       list(km.catalog().ledger.all(NEWS)))
    second = messages[-1].get_payload(decode=True).decode()
    assert "Tweede gesprek" in second and "Statushouders als ondernemer" not in second
    following.run(km, now=time.time() + 3 * 86400)
    assert len(box.messages) == sent + 2
    # the coordinators see it followed, and how many messages reached followers
    counts = client.get("/api/follows", headers=COORD).json()
    assert counts["questions"] == {question_id: 1} and counts["reached"] == 2
    assert client.get("/api/overview", headers=COORD).json()["total"]["followers_reached"] == 2
    agenda = client.get("/api/agenda", headers=COORD).json()
    assert any(c["followers"] == 1 and question_id in c["question_ids"] for c in agenda["clusters"])


def test_nothing_without_the_owners_yes_and_the_unconfirmed_address_goes_in_two_days(site):
    client, box, km = site
    question_id = _ask(client)
    assert "Kijk in je mail" in _form(client, "/volgen", {"question_id": question_id, "email": ADDRESS}).text
    _wait_for(box, 1)
    _upload(client, "verslag-statushouders-horeca", "Statushouders als ondernemer in de horeca")
    following.run(km, now=time.time() + 86400 * 1.5)
    assert len(box.messages) == 1  # the confirmation only
    assert following.run(km, now=time.time() + 86400 * 2 + 60)["expired"] == 1
    assert following.follows(km).of_email(ADDRESS) == []
    log = client.get("/api/audit", params={"action": "volgen-verlopen"}, headers=COORD).json()
    assert log["total"] == 1 if "total" in log else log


def test_one_click_unsubscribe_takes_the_address_out_of_the_store_to_the_bytes(site, fresh_samples):
    client, box, km = site
    question_id = _ask(client)
    _follow(client, box, question_id)
    assert files_holding(fresh_samples, ADDRESS)  # it is kept, for this
    stop = _link(_wait_for(box, 1)[0], "/volgen/bevestigen/").replace("bevestigen", "afmelden")
    token = following.follows(km).token(stop.rsplit("/", 1)[-1].split(".")[0], "stop")
    # RFC 8058: the mail program POSTs, with no cookie and no CSRF token
    fresh = TestClient(client.app)
    answer = fresh.post(f"/volgen/afmelden/{token}", content=b"List-Unsubscribe=One-Click",
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 200 and "afgemeld" in answer.text
    assert following.follows(km).of_email(ADDRESS) == []
    km.catalog().flush()
    assert files_holding(fresh_samples, ADDRESS) == []
    assert fresh.post(f"/volgen/afmelden/{token}").status_code == 200  # twice: the same page
    forged = fresh.get("/volgen/bevestigen/" + token.split(".")[0] + ".0000")
    assert forged.status_code == 200 and _form(client, "/volgen/bevestigen/x.y", {}).status_code == 404


def test_a_coordinator_removes_a_followers_address_on_request(site, fresh_samples):
    client, box, km = site
    _follow(client, box, _ask(client))
    gone = client.delete("/api/follows", params={"email": ADDRESS.upper()}, headers=COORD)
    assert gone.status_code == 200 and gone.json() == {"removed": 1}
    assert client.delete("/api/follows", params={"email": ADDRESS}).status_code == 401
    km.catalog().flush()
    assert files_holding(fresh_samples, ADDRESS) == []
    entries = client.get("/api/audit", params={"action": "volgen-verwijderd"}, headers=COORD).text
    assert ADDRESS not in entries and "volgen-verwijderd" in entries
    # whoever asks to be forgotten as an asker is forgotten as a follower too
    _follow(client, box, _ask(client))
    forgotten = client.delete("/api/contact-requests", params={"email": ADDRESS}, headers=COORD)
    assert forgotten.json()["details"]["follows"] == 1 and following.follows(km).of_email(ADDRESS) == []


def test_hostile_follows_are_refused(site):
    client, _, km = site
    question_id = _ask(client)
    for address in ("<evil@x.example>a@wijkteam.example", "a@wijkteam.example, evil@x.example", "geen-adres"):
        assert _form(client, "/volgen", {"question_id": question_id, "email": address}).status_code == 400
    assert _form(client, "/volgen", {"question_id": "bestaat-niet", "email": ADDRESS}).status_code == 404
    assert following.follows(km).all() == []


# --- sending: queued, retried, never twice -------------------------------------------------------------------

class FlakyBox(MailBox):
    """A server that says "not now" (451) to the first ``busy`` messages, then takes them."""

    def __init__(self, busy: int) -> None:
        super().__init__()
        self.busy = busy
        self.refused = 0

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        if self.refused < self.busy:
            self.refused += 1
            return "451 4.3.0 try again later"
        return await super().handle_DATA(server, session, envelope)


def _queued(km: Any, to: str = ADDRESS) -> str:
    return Outbox(km.catalog().ledger).put(to=to, subject="Nieuw", body="Een bevinding.\n", purpose="test")


FROM = "werkplaats@example.org"


def test_a_server_that_says_not_now_gets_the_message_later_once(km_factory):
    from service import mail

    with smtp_server(FlakyBox(busy=2)) as (box, port):
        km = km_factory(KM_SMTP_HOST="127.0.0.1", KM_SMTP_PORT=str(port), KM_SMTP_STARTTLS="nee")
        outbox = Outbox(km.catalog().ledger)
        _queued(km)
        now = time.time()

        def send(m: EmailMessage) -> None:
            mail.send(km.settings.mail, m)

        first = outbox.deliver(send, sender=FROM, now=now)
        assert (first.sent, first.retried) == (0, 1) and box.messages == []
        assert outbox.deliver(send, sender=FROM, now=now + 1).sent == 0  # not before its time
        assert outbox.deliver(send, sender=FROM, now=now + BACKOFF[0] + 1).retried == 1
        third = outbox.deliver(send, sender=FROM, now=now + BACKOFF[0] + BACKOFF[1] + 2)
        assert third.sent == 1 and len(box.messages) == 1
        assert outbox.deliver(send, sender=FROM, now=now + 10**6).sent == 0 and len(box.messages) == 1
        assert outbox.counts() == {}


def test_refused_for_good_is_not_retried_and_a_lost_connection_is_never_sent_again(km_factory):
    km = km_factory()
    outbox = Outbox(km.catalog().ledger)
    calls: list[str] = []

    def refuse(m: EmailMessage) -> None:
        calls.append("refuse")
        error = MailError("550 unknown user")
        error.permanent = True
        raise error

    _queued(km)
    assert outbox.deliver(refuse, sender=FROM).failed == 1
    assert outbox.deliver(refuse, sender=FROM, now=time.time() + 10**6).failed == 0 and calls == ["refuse"]

    def drop(m: EmailMessage) -> None:
        calls.append("drop")
        raise MailUncertain("de verbinding viel weg")

    _queued(km, "ander@example.org")
    assert outbox.deliver(drop, sender=FROM).uncertain == 1
    assert outbox.deliver(drop, sender=FROM, now=time.time() + 10**6).sent == 0 and calls == ["refuse", "drop"]
    assert outbox.counts() == {"failed": 1, "uncertain": 1}


def test_two_workers_delivering_at_once_send_each_message_once(km_factory):
    km = km_factory()
    for i in range(20):
        _queued(km, f"volger{i}@example.org")
    sent: list[str] = []
    lock = threading.Lock()

    def send(m: EmailMessage) -> None:
        time.sleep(0.01)
        with lock:
            sent.append(str(m["To"]))

    def worker() -> None:
        Outbox(km.catalog().ledger).deliver(send, sender=FROM)

    workers = [threading.Thread(target=worker) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert sorted(sent) == sorted(f"volger{i}@example.org" for i in range(20))


def test_a_worker_that_died_mid_send_leaves_an_uncertain_message_not_a_second_one(km_factory):
    km = km_factory()
    outbox = Outbox(km.catalog().ledger)
    message_id = _queued(km)
    assert outbox._claim(message_id, time.time()) is not None
    km.catalog().ledger.update("mail-out", message_id, {"claimed_at": time.time() - 3600})  # and never finished
    outbox.sweep()
    assert outbox.counts() == {"uncertain": 1}
    assert outbox.deliver(lambda m: pytest.fail("sent again"), sender=FROM).sent == 0


def test_a_message_queued_now_is_due_now(km_factory):
    """A digest composed in a round goes out in that round. The engine reads some floats back one unit in the
    last place higher (about one time in eight): compared exactly, such a message waited for the next round."""
    km = km_factory()
    outbox, sent, late = Outbox(km.catalog().ledger), [], []
    start = time.time()
    for i in range(200):
        now = start + i * 0.0137
        outbox.put(to=f"volger{i}@example.org", subject="Nieuw", body="Een bevinding.\n", purpose="test", now=now)
        if outbox.deliver(lambda m: sent.append(m["To"]), sender=FROM, now=now).sent != 1:
            late.append(now)
    assert late == [] and len(sent) == 200


def test_news_is_kept_once_per_finding(km_factory):
    km = km_factory()
    books = following.follows(km)
    follow = books.start(ADDRESS, what="question", text=QUESTION)
    assert books.add_news(follow, ["a", "b"]) == 2 and books.add_news(follow, ["a", "c"]) == 1
    assert sorted(n["document_id"] for n in books.news(follow.id)) == ["a", "b", "c"]
    books.remove([follow.id])
    assert list(km.catalog().ledger.all(NEWS)) == []


def test_a_student_follows_a_topic_and_hears_once_a_week(site):
    client, box, km = site
    started = _form(client, "/volgen", {"q": "statushouders ondernemer horeca", "atelier": "tweedeling-en-armoede",
                                        "email": "student@hogeschool.example"})
    assert started.status_code == 200
    confirmation = _wait_for(box, 1)[-1]
    text = confirmation.get_payload(decode=True).decode()
    assert "een onderwerp" in text and "statushouders" not in text  # no visitor's words to a stranger's address
    _form(client, _link(confirmation, "/volgen/bevestigen/"), {})
    follow = following.follows(km).of_email("student@hogeschool.example")[0]
    assert follow.what == "topic" and follow.filters == {"ateliers": ["tweedeling-en-armoede"]}
    _upload(client, "verslag-statushouders-horeca", "Statushouders als ondernemer in de horeca")
    following.run(km)
    digest = _wait_for(box, 2)[-1]
    assert "het onderwerp dat je volgt" in digest["Subject"]
    _upload(client, "verslag-statushouders-horeca-2", "Tweede gesprek over ondernemen in de horeca",
            "Een tweede bijeenkomst ging over de financiering.")
    following.run(km, now=time.time() + 3 * 86400)
    assert len(box.messages) == 2  # a topic: one message a week
    week = following.run(km, now=time.time() + 7 * 86400 + 60)
    assert len(_wait_for(box, 3)) == 3, (week, Outbox(km.catalog().ledger).counts(), following.follows(km).all())
    assert "Tweede gesprek" in box.messages[-1][1].get_payload(decode=True).decode()
    bad = _form(client, "/volgen", {"q": "x", "atelier": "bestaat-niet", "email": "student@hogeschool.example"})
    assert bad.status_code == 400


def test_a_message_to_someone_who_left_meanwhile_is_not_sent(km_factory):
    km = km_factory()
    outbox = Outbox(km.catalog().ledger)
    outbox.put(to=ADDRESS, subject="Nieuw", body="x\n", purpose="digest", follow_id="vertrokken")
    books = following.follows(km)
    sent: list[EmailMessage] = []
    assert outbox.deliver(sent.append, sender=FROM,
                          wanted=lambda r: books.get(r["follow_id"]) is not None).sent == 0
    assert sent == [] and outbox.counts() == {}


def test_a_stale_worker_cannot_claim_what_another_already_tried(km_factory):
    """A worker that listed the queue before another tried a message (it failed for now) must not claim it."""
    km = km_factory()
    first, second = Outbox(km.catalog().ledger), Outbox(km.catalog().ledger)
    message_id = _queued(km)

    def busy(m: EmailMessage) -> None:
        raise MailError("451 later")

    assert first.deliver(busy, sender=FROM).retried == 1
    assert second._claim(message_id, time.time()) is None  # not due yet, whatever the copy it listed said
    record = km.catalog().ledger.get("mail-out", message_id)
    assert record["state"] == "queued" and record["rev"] == 1


def test_two_workers_on_one_server_store_tell_a_follower_once(tmp_path, e5):
    """Two app instances on one Qdrant store run their rounds at the same moment: one digest, one message."""
    from qdrant_client import QdrantClient

    from core.store.server import ServerStore
    from service.container import Kennismakelaar
    from tests.test_workers import Serialised

    store = ServerStore(Serialised(QdrantClient(":memory:")))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "eerst.md").write_text("# Schulden\n\nJongeren met schulden schamen zich en vragen laat hulp.\n", "utf-8")
    with smtp_server() as (box, port):
        env = {"KM_SECRET_KEY": "gedeeld-geheim-van-beide-workers-samen", "KM_SMTP_HOST": "127.0.0.1",
               "KM_SMTP_PORT": str(port), "KM_SMTP_STARTTLS": "nee", "KM_PUBLIC_URL": "https://kennis.example.org"}
        a, b = (Kennismakelaar(make_settings(tmp_path / n, **env), store=store, embedder=e5) for n in "ab")
        assert a.ingestor().run([docs]).ok
        books = following.follows(a)
        follow = books.start(ADDRESS, what="topic", text="statushouders ondernemer horeca")
        time.sleep(1.1)  # a document of the very second of the yes counts as new (the stamps are in seconds)
        books.confirm(books.token(follow.id, "confirm"))
        (docs / "nieuw.md").write_text(VERSLAG.format(doc_id="nieuw", title="Statushouders als ondernemer in de "
                                                      "horeca", extra=""), "utf-8")
        assert a.ingestor().run([docs]).ok
        now = time.time()
        following.scan(a, following.follows(a), now=now)

        def round_without_the_process_lock(km: Kennismakelaar) -> None:  # as two processes would
            books, outbox = following.follows(km), Outbox(km.catalog().ledger)
            following.compose(km, books, outbox, now=now)
            following.deliver(km, books, outbox, now=now)

        runs = [threading.Thread(target=round_without_the_process_lock, args=(km,)) for km in (a, b, a, b)]
        for t in runs:
            t.start()
        for t in runs:
            t.join()
        assert len(_wait_for(box, 1)) == 1
        time.sleep(0.5)
        assert len(box.messages) == 1 and following.follows(b).get(follow.id).sent == ("nieuw",)


def _verslag(km: Any, folder: Path, n: int) -> None:
    """Ingest verslag ``n`` (its own folder): a new finding for the followers of statushouders."""
    (folder / f"docs{n}").mkdir()
    (folder / f"docs{n}" / f"v{n}.md").write_text(VERSLAG.format(doc_id=f"verslag-{n}", title=f"Verslag {n}",
                                                                 extra=f"Bijeenkomst {n}."))
    km.ingestor().run([folder / f"docs{n}"])


def test_a_digest_that_may_not_have_arrived_does_not_silence_the_follower(km_factory, tmp_path):
    """A lost connection leaves a digest ``uncertain`` (never sent again); the news after it still goes out."""
    km = km_factory(KM_SMTP_HOST="127.0.0.1", KM_SMTP_PORT="1", KM_PUBLIC_URL="https://kennis.example.org")

    books = following.follows(km)
    follow = books.confirm(books.token(books.start(ADDRESS, what="topic", text="statushouders").id, "confirm"),
                           now=time.time() - 60)
    assert follow is not None
    _verslag(km, tmp_path, 1)

    def drop(m: EmailMessage) -> None:
        raise MailUncertain("de verbinding viel weg")

    now = time.time()
    assert following.run(km, now=now, send=drop)["uncertain"] == 1
    _verslag(km, tmp_path, 2)
    sent: list[EmailMessage] = []
    second = following.run(km, now=now + 8 * 86400, send=sent.append)
    assert second["sent"] == 1, (second, Outbox(km.catalog().ledger).counts())
    assert "Verslag 2" in sent[0].get_content() and "Verslag 1" not in sent[0].get_content()


def test_a_digest_whose_worker_died_mid_send_is_not_told_again(km_factory, tmp_path):
    """A claim nobody finished becomes ``uncertain`` at the next sweep; its findings count as told (the message
    may be out): the next digest does not repeat them — and does carry what came after."""
    km = km_factory(KM_SMTP_HOST="127.0.0.1", KM_SMTP_PORT="1", KM_PUBLIC_URL="https://kennis.example.org")

    books, outbox = following.follows(km), Outbox(km.catalog().ledger)
    follow = books.confirm(books.token(books.start(ADDRESS, what="topic", text="statushouders").id, "confirm"),
                           now=time.time() - 60)
    assert follow is not None
    _verslag(km, tmp_path, 1)
    now = time.time()
    following.scan(km, books, now=now)
    assert following.compose(km, books, outbox, now=now) == 1
    (queued,) = km.catalog().ledger.all("mail-out", state="queued")
    assert outbox._claim(queued["message_id"], now) is not None  # a worker took it, and died sending it
    sent: list[EmailMessage] = []
    assert following.run(km, now=now + 8 * 86400, send=sent.append)["sent"] == 0 and sent == []
    assert outbox.counts() == {"uncertain": 1}
    _verslag(km, tmp_path, 2)
    following.run(km, now=now + 16 * 86400, send=sent.append)
    assert len(sent) == 1 and "Verslag 2" in sent[0].get_content() and "Verslag 1" not in sent[0].get_content()
