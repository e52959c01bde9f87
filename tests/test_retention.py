"""Issue 22, review finding 10: retention runs in the running service, not only when it starts. A contact request
and a question dated 400 days back (retention 365) disappear from a running app — the real Litestar app on a real
store — without a restart; what is still within its retention stays."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from litestar.testing import TestClient

from core.errors import ConfigError
from tests.bytescan import files_holding
from tests.conftest import make_settings

COORD = {"Authorization": "Bearer geheim-token"}
OLD = (dt.datetime.now(dt.UTC) - dt.timedelta(days=400)).isoformat(timespec="seconds")


def _app(km):
    from web.app import create_app

    return create_app(km=km)


def _ask(c: TestClient, name: str) -> tuple[str, str]:
    """A contact request and a question, as the public sends them: their ids."""
    rid = c.post("/api/contact-requests", json={"name": name, "email": "sara@wijkteam.nl",
                                                "message": "Graag contact."}).json()["id"]
    qid = c.post("/api/ask", json={"question": f"Ik ben {name} en heb schulden, wie helpt mij?"}).json()["question_id"]
    return rid, qid


def _age(km, rid: str, qid: str) -> None:
    """As if asked 400 days ago."""
    catalog = km.catalog()
    catalog.update_contact_request(rid, {"created_at": OLD})
    catalog.store.set_payload("questions", {"asked_at": OLD}, ids=[qid])


def test_expired_requests_and_questions_go_while_the_service_runs(km_factory):
    km = km_factory(KM_COORDINATOR_TOKENS="geheim-token", KM_RETENTION_SWEEP_MINUTES="0.01")  # every 0.6 s
    with TestClient(_app(km)) as c:
        old_request, old_question = _ask(c, "Sara Bakker")
        new_request, new_question = _ask(c, "Piet Jansen")
        _age(km, old_request, old_question)
        listed = {r["id"] for r in c.get("/api/contact-requests", headers=COORD).json()}
        assert listed == {old_request, new_request}  # stored, and seen before the sweep comes by
        deadline = time.monotonic() + 30
        while old_request in listed and time.monotonic() < deadline:
            time.sleep(0.2)
            listed = {r["id"] for r in c.get("/api/contact-requests", headers=COORD).json()}
        assert listed == {new_request}, "the running service still keeps the expired request"
        assert c.get(f"/api/contact-requests/{old_request}", headers=COORD).status_code == 404
        deadline = time.monotonic() + 30
        while c.get(f"/antwoord/{old_question}").status_code != 404 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert c.get(f"/antwoord/{old_question}").status_code == 404, "the running service still serves it"
        assert c.get(f"/antwoord/{new_question}").status_code == 200
        assert c.get("/api/agenda", headers=COORD).json()["questions"] == 1  # the new one only
    assert old_request in km.catalog().deleted_ids("contact")  # gone for good: an older export cannot revive it


def test_the_sweep_stops_with_the_service(km_factory):
    """Default interval (minutes): shutting down does not wait for the next sweep, and nothing sweeps after."""
    km = km_factory(KM_COORDINATOR_TOKENS="geheim-token")
    app = _app(km)
    with TestClient(app) as c:
        assert c.get("/health").status_code == 200
        started = time.monotonic()
    assert time.monotonic() - started < 10
    assert app.state.retention.done()


def test_a_sweep_is_idempotent_and_says_what_went(km_factory, tmp_path):
    """Several workers may each sweep the same store: a second sweep finds nothing left to do."""
    from service import retention
    from service.jobs import JobRunner

    km = km_factory(KM_COORDINATOR_TOKENS="geheim-token")
    with TestClient(_app(km)) as c:
        _age(km, *_ask(c, "Sara Bakker"))
        _ask(c, "Piet Jansen")
    jobs = JobRunner(km.settings.store.data_dir, km.ingestor)
    try:
        assert retention.sweep(km, jobs) == {"contacts": 1, "jobs": 0, "questions": 1}
        assert retention.sweep(km, jobs) == {"contacts": 0, "jobs": 0, "questions": 0}
    finally:
        jobs.close()
    assert len(km.catalog().contact_requests()) == 1


def test_the_sweep_interval_is_checked(tmp_path):
    assert make_settings(tmp_path).matching.retention_sweep_minutes == 10
    for wrong in ("0", "-1", "vaak"):
        with pytest.raises(ConfigError, match="KM_RETENTION_SWEEP_MINUTES"):
            make_settings(tmp_path, KM_RETENTION_SWEEP_MINUTES=wrong)


def test_what_the_retention_deleted_is_in_no_file_of_the_data_folder(km_factory):
    """The engine deletes softly: an expired request's asker (name, address), an expired question and an expired
    upload job's file name stayed in the store's write-ahead log and pages after the sweep. The sweep rewrites
    those collections, once."""
    from service import contacts, retention

    km = km_factory()
    asker, address, asked = "Fenna Oosterwijk", "f.oosterwijk@wijkpost.example", "Zwaluwpad"
    contacts.submit(km, name=asker, email=address, message="Ik zoek hulp bij schulden.")
    questions = km.broker().questions
    text = f"Wie helpt bewoners van het {asked} met schulden?"
    questions.record(text, km.broker().encode(text).dense, atelier=None, atelier_inferred=True, best_score=0.1,
                     asked_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=400))
    catalog = km.catalog()
    catalog.update_contact_request(catalog.contact_requests()[0]["key"], {"created_at": OLD})
    upload = "Notulen Oosterbroekhof.docx"
    catalog.ledger.put("job", "a" * 32, {"id": "a" * 32, "errors": [{"file": upload, "message": "Kapot bestand."}]})
    catalog.ledger.update("job", "a" * 32, {"at": time.time() - 40 * 86400})  # written 40 days ago
    catalog.flush()
    data = km.settings.store.data_dir
    assert files_holding(data / "qdrant", asker, address, asked, upload), "the store must hold them first, or " \
                                                                          "the test proves nothing"
    assert retention.sweep(km) == {"contacts": 1, "jobs": 1, "questions": 1}
    catalog.flush()
    assert files_holding(data, asker, address, asked, upload) == []


def test_requests_expire_by_the_day_so_the_ledger_is_rewritten_once_a_day(km_factory, monkeypatch):
    """Requests expiring one by one made nearly every sweep (every 10 minutes) rewrite the ledger, whose writes
    (rate limits, the audit log) wait meanwhile. Now a request goes in the first sweep of the day after it
    turned ``KM_CONTACT_RETENTION_DAYS`` days old, with the others of its day; later sweeps that day rewrite
    nothing."""
    from service import contacts, retention

    km = km_factory()
    catalog = km.catalog()
    rewrites: list[object] = []
    erase = catalog.store.erase_history
    monkeypatch.setattr(catalog.store, "erase_history", lambda names=None: (rewrites.append(names), erase(names)))
    now = dt.datetime.now(dt.UTC)
    for name, age in (("Ada Oud", dt.timedelta(days=366)), ("Bea Vandaag", dt.timedelta(days=365))):
        contacts.submit(km, name=name, email="a@b.nl", message="Graag contact.")
        key = next(r["key"] for r in catalog.contact_requests() if r["name"] == name)
        catalog.update_contact_request(key, {"created_at": (now - age).isoformat(timespec="seconds")})
    assert retention.sweep(km)["contacts"] == 1
    assert [r["name"] for r in catalog.contact_requests()] == ["Bea Vandaag"]  # 365 days today: tomorrow
    assert len(rewrites) == 1
    for _ in range(3):
        assert retention.sweep(km) == {"contacts": 0, "jobs": 0, "questions": 0}
    assert len(rewrites) == 1
