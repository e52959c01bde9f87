"""Issue 25, the other ways knowledge arrives: a follower of a question the Werkplaats could not answer hears of
what came of it, with the real model, engine, app and SMTP server:

- a contact request made for that question, closed by a coordinator as answered (preview, then close with the
  preview's digest): the published ``kennisvraag`` finding is told in one digest, with its link, and never again;
- a meeting planned for that question, whose verslag is uploaded: the verslag is told the same way.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from core.visibility import PUBLIC
from service import contacts, following
from service.follows import NEWS
from tests.conftest import MailBox, log_in
from tests.test_follow import ADDRESS, COORD, TOKEN, _follow, _form, follow_site, text_of

pytestmark = pytest.mark.slow
# nothing in the demo corpus on this (tests/test_meetings.py): the broker judges it unanswered
QUESTION = "Hoe begeleid je statushouders naar een eigen horecabedrijf?"
EXPERT = "anna-de-vries"  # in the demo corpus, public
ASKER = {"name": "Karim Haddad", "email": "karim@buurtwerk.example", "message": "Graag iemand om mee te sparren."}
WORDING = "Hoe help je statushouders die een eigen horecazaak willen beginnen?"
OUTCOME = ("Statushouders die een eigen horecabedrijf willen beginnen, hebben baat bij een vaste coach uit de horeca, "
           "een startkrediet zonder eigen inbreng en hulp bij vergunningen en boekhouding. De gemeente kan de bijstand "
           "laten doorlopen terwijl het bedrijf opstart (Bbz). Het netwerk van de wijk brengt de eerste klanten.")
VERSLAG = ("# Verslag expertmeeting statushouders en de horeca\n\nStatushouders die een eigen horecabedrijf willen "
           "beginnen, hebben een vaste coach nodig, een startkrediet en hulp met vergunningen en boekhouding. De "
           "gemeente kan de bijstand laten doorlopen terwijl het bedrijf opstart (Bbz). Het panel deelde voorbeelden "
           "van statushouders met een eigen restaurant.\n")


@pytest.fixture
def site(fresh_samples: Path) -> Iterator[tuple[TestClient, MailBox, Any]]:
    with follow_site(fresh_samples) as made:
        yield made


def _to(box: MailBox, address: str = ADDRESS) -> list[Message]:
    return [m for _, m in box.messages if m["To"] == address]


def _wait_to(box: MailBox, n: int, address: str = ADDRESS, timeout: float = 20.0) -> list[Message]:
    deadline = time.time() + timeout
    while len(_to(box, address)) < n and time.time() < deadline:
        time.sleep(0.05)
    return _to(box, address)


def _unanswered_and_followed(client: TestClient, box: MailBox, km: Any) -> str:
    """Ask QUESTION on the site (the broker does not know the answer) and follow it: returns its id."""
    before = km.broker(PUBLIC).ask(QUESTION, record=False)
    assert not before.answered, (before.confidence, [f.document_id for f in before.findings])
    asked = _form(client, "/vraag", {"question": QUESTION})
    question_id = asked.url.path.rsplit("/", 1)[-1]
    assert "Volg deze vraag" in client.get(f"/antwoord/{question_id}").text
    _follow(client, box, question_id)
    return question_id


def _diagnosis(km: Any, document_id: str) -> tuple[Any, ...]:
    """What the round saw, for an assertion's message: the judgement of the question now, and the news kept."""
    now = km.broker(PUBLIC).ask(QUESTION, record=False)
    return (document_id, now.answered, now.confidence, [f.document_id for f in now.findings],
            following.follows(km).all(), list(km.catalog().ledger.all(NEWS)))


def _told_once(box: MailBox, km: Any, document_id: str, title: str, confirmations: int) -> None:
    """One digest to the follower names ``document_id`` with its link; later rounds tell nothing again.
    ``confirmations``: the follower's messages before the knowledge came (counted before it: a background round
    may have told them by now)."""
    figures = following.run(km)  # a background round (run_soon) may have run it already: one message either way
    messages = _wait_to(box, confirmations + 1)
    assert len(messages) == confirmations + 1, (figures, _diagnosis(km, document_id))
    digest = messages[-1]
    body = text_of(digest)
    assert digest["Subject"] == "Nieuw bij de vraag die je volgt: 1 bevinding", digest["Subject"]
    assert title in body and QUESTION in body
    assert f"https://kennis.example.org/documenten/{document_id}" in body
    (follow,) = following.follows(km).of_email(ADDRESS)
    assert follow.sent == (document_id,)
    # nothing is told twice: not in the same day, not days later
    following.run(km)
    following.run(km, now=time.time() + 2 * 86400)
    following.run(km, now=time.time() + 9 * 86400)
    time.sleep(0.5)
    assert len(_to(box)) == confirmations + 1 and list(km.catalog().ledger.all(NEWS)) == []


def test_an_answered_contact_request_reaches_the_follower_of_its_question(site):
    client, box, km = site
    question_id = _unanswered_and_followed(client, box, km)
    made = client.post("/api/contact-requests", json={**ASKER, "question_id": question_id, "expert_id": EXPERT})
    assert made.status_code == 201, made.text
    rid = made.json()["id"]
    assert contacts.get(km, rid).question_id == question_id  # the request is for the followed question
    for status in ("doorgestuurd", "verbonden"):
        moved = client.patch(f"/api/contact-requests/{rid}", headers=COORD,
                             json={"status": status, **({"forwarded_to": EXPERT} if status == "doorgestuurd" else {})})
        assert moved.status_code == 200, moved.text
    assert _to(box, ADDRESS) and not [m for m in _to(box) if "bevinding" in (m["Subject"] or "")]
    confirmations = len(_to(box))
    close = {"answered": True, "question": WORDING, "outcome": OUTCOME}
    seen = client.post(f"/api/contact-requests/{rid}/preview", headers=COORD, json=close)
    assert seen.status_code == 200, seen.text
    finding = seen.json()
    closed = client.post(f"/api/contact-requests/{rid}/close", headers=COORD, params={"preview": finding["digest"]},
                         json=close)
    assert closed.status_code == 200 and closed.json()["finding_id"] == finding["document_id"], closed.text
    assert client.get(f"/api/documents/{finding['document_id']}").status_code == 200  # published, open to anyone
    _told_once(box, km, finding["document_id"], finding["title"], confirmations)


def test_a_meetings_verslag_reaches_the_follower_of_its_question(site):
    client, box, km = site
    question_id = _unanswered_and_followed(client, box, km)
    body = {"title": "Expertmeeting statushouders en de horeca", "date": "2026-12-10", "step": "expertmeeting",
            "ateliers": ["veerkracht-in-gemeenschappen"], "question_ids": [question_id], "k": 2}
    made = client.post("/api/meetings", json=body, headers=COORD)
    assert made.status_code == 201, made.text
    meeting_id = made.json()["id"]
    csrf = log_in(client, TOKEN)
    confirmations = len(_to(box))
    up = client.post(f"/coordinatie/bijeenkomsten/{meeting_id}/verslag", follow_redirects=False,
                     files={"files": ("verslag.md", VERSLAG.encode(), "text/markdown")}, data={"_csrf_token": csrf})
    assert up.status_code == 303, up.text
    client.app.state.jobs.wait(timeout=180)
    held = client.get(f"/api/meetings/{meeting_id}", headers=COORD).json()
    report_id = held.get("report_id")
    assert held["status"] == "gehouden" and report_id, held
    title = km.catalog().document(report_id)["title"]
    _told_once(box, km, report_id, title, confirmations)
