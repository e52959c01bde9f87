"""What a follower is told, and for how long (issues 24 and 25), with the real model, engine, app and SMTP server:

- a follower (of a question, of a topic) is never told of a document they may not see — ``werkplaats``,
  ``atelier:<slug>``, ``coordinatie`` — and no news is kept for it; an ``openbaar`` one after it is told, alone;
- a new document about something else entirely is no news: nothing is sent, nothing kept;
- several findings before the first message are one digest, which counts them;
- a confirmed follow goes after ``KM_FOLLOW_RETENTION_DAYS``: out of every file of the data folder, and logged
  as ``volgen-verlopen`` without the address.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from core.visibility import COORDINATORS
from matching.filters import SearchFilters
from service import following
from service.follows import NEWS
from tests.bytescan import files_holding
from tests.conftest import MailBox
from tests.test_follow import (
    ADDRESS,
    COORD,
    QUESTION,
    VERSLAG,
    _ask,
    _follow,
    _form,
    _link,
    _wait_for,
    follow_site,
    text_of,
    upload_files,
)

pytestmark = pytest.mark.slow
RETENTION_DAYS = 30
STUDENT = "student.armoede@hogeschool.example"
TOPIC = "statushouders ondernemer horeca"
ATELIER = "tweedeling-en-armoede"
RESTRICTED = ("werkplaats", f"atelier:{ATELIER}", "coordinatie")  # what an anonymous follower may not see
ELSEWHERE = """---
id: {doc_id}
title: {title}
kind: verslag
date: 2026-11-20
ateliers: [veerkracht-in-gemeenschappen]
visibility: openbaar
---
# {title}

Op de basisschool legden leerlingen een moestuin aan op het schoolplein. Ze zaaiden radijs en sla, wiedden elke
week en oogstten in juni. De conciërge regelde een regenton, en de kinderen schilderden bordjes bij elk bed. In de
herfst plantten ze bloembollen langs het hek, en de zomerschool kookte soep van wat de tuin gaf.
"""


@pytest.fixture
def site(fresh_samples: Path) -> Iterator[tuple[TestClient, MailBox, Any]]:
    with follow_site(fresh_samples, RETENTION_DAYS) as made:
        yield made


def _verslag(doc_id: str, title: str, visibility: str, extra: str = "") -> str:
    """The statushouders verslag of tests/test_follow.py (news for its followers), at ``visibility``."""
    said = VERSLAG.replace("\n---\n# ", f"\nvisibility: {visibility}\n---\n# ", 1)
    assert said != VERSLAG
    return said.format(doc_id=doc_id, title=title, extra=extra)


def _follow_topic(client: TestClient, box: MailBox, address: str = STUDENT) -> None:
    """Follow the topic (the search with its atelier filter) and confirm it from the message."""
    before = len(box.messages)
    started = _form(client, "/volgen", {"q": TOPIC, "atelier": ATELIER, "email": address})
    assert started.status_code == 200 and "Kijk in je mail" in started.text
    confirmation = _wait_for(box, before + 1)[-1]
    assert confirmation["To"] == address
    assert "Bevestigd" in _form(client, _link(confirmation, "/volgen/bevestigen/"), {}).text


def _news(km: Any) -> list[dict[str, Any]]:
    return list(km.catalog().ledger.all(NEWS))


def _sent(km: Any, address: str) -> tuple[str, ...]:
    (follow,) = following.follows(km).of_email(address)
    return follow.sent


def test_a_follower_is_never_told_of_a_document_they_may_not_see(site):
    client, box, km = site
    _follow(client, box, _ask(client))
    _follow_topic(client, box)
    confirmations = len(box.messages)
    hidden = {f"verslag-besloten-{n}": level for n, level in enumerate(RESTRICTED)}
    upload_files(client, {doc_id: _verslag(doc_id, f"Besloten verslag {n}", level, f"Besloten bijeenkomst {n}.")
                         for n, (doc_id, level) in enumerate(hidden.items())})
    # each is in the store at its level, and is what a follower would hear of if they might see it: among the
    # findings of an answer to the question, and among the first results of the topic's search
    stored = km.catalog().documents(fields=["document_id", "visibility"])
    assert {d["document_id"]: d["visibility"] for d in stored if d["document_id"] in hidden} == hidden
    answer = km.broker(COORDINATORS).ask(QUESTION, record=False)
    assert answer.answered and set(hidden) <= {f.document_id for f in answer.findings}, answer.findings
    page = km.broker(COORDINATORS).search(TOPIC, SearchFilters(ateliers=(ATELIER,)), limit=following.TOPIC_DEPTH)
    assert set(hidden) <= {r.document_id for r in page.results}
    # ... but the followers see what the public sees: no message, no news kept, now or on a later day
    assert following.run(km)["news"] == 0
    following.run(km, now=time.time() + 8 * 86400)
    assert len(box.messages) == confirmations and _news(km) == []
    assert _sent(km, ADDRESS) == () and _sent(km, STUDENT) == ()
    # the same verslag open to anyone is told, alone, to both
    upload_files(client, {"verslag-openbaar": _verslag("verslag-openbaar", "Openbaar verslag over de horeca",
                                                      "openbaar", "Openbare bijeenkomst.")})
    following.run(km)
    digests = _wait_for(box, confirmations + 2)[confirmations:]
    assert sorted(m["To"] for m in digests) == sorted([ADDRESS, STUDENT])
    for digest in digests:
        body = text_of(digest)
        assert digest["Subject"].endswith(": 1 bevinding"), digest["Subject"]
        assert "Openbaar verslag over de horeca" in body
        assert "https://kennis.example.org/documenten/verslag-openbaar" in body
        assert "Besloten" not in body and "besloten" not in body, body
    assert _sent(km, ADDRESS) == ("verslag-openbaar",) and _sent(km, STUDENT) == ("verslag-openbaar",)
    assert _news(km) == []


def test_a_document_about_something_else_is_no_news(site):
    client, box, km = site
    _follow(client, box, _ask(client))
    confirmations = len(box.messages)
    upload_files(client, {"verslag-moestuin": ELSEWHERE.format(doc_id="verslag-moestuin",
                                                              title="Een moestuin op het schoolplein")})
    assert any(d["document_id"] == "verslag-moestuin" for d in km.catalog().documents(fields=["document_id"]))
    assert following.run(km)["news"] == 0
    following.run(km, now=time.time() + 2 * 86400)
    assert len(box.messages) == confirmations and _news(km) == [] and _sent(km, ADDRESS) == ()
    # what does answer the question is told afterwards, and the moestuin was not kept for it
    upload_files(client, {"verslag-horeca": _verslag("verslag-horeca", "Statushouders als ondernemer in de horeca",
                                                    "openbaar")})
    following.run(km)
    digest = _wait_for(box, confirmations + 1)[-1]
    assert len(box.messages) == confirmations + 1 and digest["Subject"].endswith(": 1 bevinding")
    body = text_of(digest)
    assert "Statushouders als ondernemer in de horeca" in body and "moestuin" not in body.lower()
    assert _sent(km, ADDRESS) == ("verslag-horeca",)


def test_several_findings_before_the_first_message_are_one_digest(site):
    client, box, km = site
    _follow(client, box, _ask(client))
    confirmations = len(box.messages)
    # one job: both are in the store before the round that follows it
    upload_files(client, {
        "verslag-horeca-1": _verslag("verslag-horeca-1", "Statushouders als ondernemer in de horeca", "openbaar"),
        "verslag-horeca-2": _verslag("verslag-horeca-2", "Tweede gesprek over ondernemen in de horeca", "openbaar",
                                     "Een tweede bijeenkomst ging over de financiering.")})
    following.run(km)
    digest = _wait_for(box, confirmations + 1)[-1]
    following.run(km)
    time.sleep(0.5)
    assert len(box.messages) == confirmations + 1  # one message, not one per finding
    assert digest["To"] == ADDRESS and digest["Subject"] == "Nieuw bij de vraag die je volgt: 2 bevindingen"
    body = text_of(digest)
    assert "Statushouders als ondernemer in de horeca" in body and "Tweede gesprek over ondernemen" in body
    assert sorted(_sent(km, ADDRESS)) == ["verslag-horeca-1", "verslag-horeca-2"] and _news(km) == []
    following.run(km, now=time.time() + 2 * 86400)
    assert len(box.messages) == confirmations + 1  # and neither is told again


def test_a_confirmed_follow_goes_after_its_retention_days_to_the_bytes(site, fresh_samples):
    client, box, km = site
    _follow(client, box, _ask(client))
    (follow,) = following.follows(km).of_email(ADDRESS)
    assert follow.active and files_holding(fresh_samples, ADDRESS)  # kept, for this
    assert following.run(km, now=time.time() + (RETENTION_DAYS - 1) * 86400)["expired"] == 0
    assert following.follows(km).get(follow.id) is not None  # a day before its time it stays
    assert following.run(km, now=time.time() + RETENTION_DAYS * 86400 + 60)["expired"] == 1
    assert following.follows(km).all() == []
    km.catalog().flush()
    assert files_holding(fresh_samples, ADDRESS) == []
    log = client.get("/api/audit", params={"action": "volgen-verlopen"}, headers=COORD)
    assert log.status_code == 200 and ADDRESS.lower() not in log.text.lower()
    entries = log.json()["entries"]
    assert [(e["action"], e["target_type"], e["target"]) for e in entries] == [("volgen-verlopen", "volgen",
                                                                              follow.id)]
