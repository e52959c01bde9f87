"""Erasure reaches what was written while a removal ran, and what a forgotten asker left (issue 22, finding E).

A question, a contact request or an upload written in the moment between a removal's scrub and the end of its
``erase_history`` is scrubbed again by its writer; the text it held first must not stay behind in the store's
write-ahead log or pages. And once an asker is forgotten (or one of their requests removed), no file holds
their name or address. Each race is made deterministic: the removal runs, whole, at the worst point of the
writer — after the writer read the markers, before its write."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from litestar.testing import TestClient

from service import contacts
from service.container import Kennismakelaar
from service.coordinators import COMMAND_LINE
from service.jobs import JobRunner
from service.profiles import remove_person, save_profile
from tests.bytescan import files_holding
from tests.docmaker import make_docx

PERSON, NAME = "wessel-zijlstra", "Wessel Zijlstra"
ASKER, ADDRESS = "Quirine Holtkamp", "q.holtkamp@buurtteam.example"
COORD = {"Authorization": "Bearer geheim-token"}


@pytest.fixture
def km(km_factory) -> Kennismakelaar:
    km = km_factory(KM_COORDINATOR_TOKENS="geheim-token")
    save_profile(km, PERSON, name=NAME, role="onderzoeker", expertise="Armoede, wonen en schulden bij jongeren.",
                 consent=True, new=True, actor=COMMAND_LINE)
    return km


def _holding(km: Kennismakelaar, *needles: str, under: str = "") -> list[str]:
    """The files of the data folder (or of its folder ``under``) that hold ``needles``, as written through to
    disk. (A scan of the whole folder reads about a gigabyte of mostly empty preallocated files: once a test.)"""
    km.catalog().flush()
    return files_holding(km.settings.store.data_dir / under, *needles)


def _removal_first(km: Kennismakelaar, write: Callable[..., Any]) -> Callable[..., Any]:
    """``write``, preceded once by the whole removal of the person: the writer read the markers before it."""
    raced: list[bool] = []

    def late(*args: Any, **kwargs: Any) -> Any:
        if not raced:
            raced.append(True)
            remove_person(km, PERSON, COMMAND_LINE)
        return write(*args, **kwargs)

    return late


def _upload_during_the_removal(km: Kennismakelaar, name: str, content: bytes) -> None:
    """Upload one file as a coordinator does (the job runner); the patched writer runs the removal meanwhile."""
    runner = JobRunner(km.settings.store.data_dir, km.ingestor)
    try:
        runner.submit([(name, content)])
        runner.wait(120)
    finally:
        runner.close()
    assert km.catalog().forgotten(), "the removal must have run, or the test proves nothing"


def test_a_question_written_while_a_removal_ran_leaves_no_trace_in_the_files(km):
    broker = km.broker()
    text = f"Wat weet {NAME} over jongeren met schulden?"
    broker.questions.record = _removal_first(km, broker.questions.record)
    question_id = broker._record(text, broker.encode(text).dense, atelier=None, atelier_inferred=True,
                                 best_score=0.5)
    assert km.catalog().forgotten(), "the removal must have run, or the test proves nothing"
    assert NAME not in km.catalog().question(question_id)["text"]
    assert _holding(km, NAME) == []


def test_a_contact_request_written_while_a_removal_ran_leaves_no_trace_in_the_files(km):
    catalog = km.catalog()
    catalog.add_contact_request = _removal_first(km, catalog.add_contact_request)
    request = contacts.submit(km, name=ASKER, email=ADDRESS, message=f"Ik sprak {NAME} op de Werkplaatsdag.")
    assert catalog.forgotten() and NAME not in contacts.get(km, request.id).message
    assert _holding(km, NAME) == []


def test_an_upload_committed_while_a_removal_ran_leaves_no_trace_in_the_files(km, tmp_path):
    catalog = km.catalog()
    catalog.write_chunks = _removal_first(km, catalog.write_chunks)
    docx = make_docx(tmp_path / "gesprek.docx", title=f"Gesprek met {NAME} over geldzorgen")
    _upload_during_the_removal(km, "gesprek.docx", docx.read_bytes())
    # as the removal treats a binary original that names the person: it goes, its redacted passages stay
    assert catalog.document("gesprek.docx") is not None and catalog.chunks_of("gesprek.docx")
    assert not (km.settings.store.data_dir / "files" / "gesprek.docx").exists()
    assert _holding(km, NAME) == []


@pytest.mark.parametrize("crash", ["after the commit", "before the commit"])
def test_an_upload_a_crash_cut_off_during_a_removal_is_finished_at_the_next_start(km_factory, tmp_path, crash):
    """The removal ran while the upload was read; the process died right after the upload's commit (before its
    late scrub), or between its passages and its commit. The note written before the file's first write makes
    the service's next start scrub that document (or drop its passages) and erase what it wrote first."""
    from web.app import create_app

    data = tmp_path / "data"
    km = km_factory(data, KM_COORDINATOR_TOKENS="geheim-token")
    save_profile(km, PERSON, name=NAME, role="onderzoeker", expertise="Armoede, wonen en schulden bij jongeren.",
                 consent=True, new=True, actor=COMMAND_LINE)
    catalog = km.catalog()
    catalog.write_chunks = _removal_first(km, catalog.write_chunks)
    commit = catalog.commit_document

    def crash_there(*args: Any, **kwargs: Any) -> None:
        if crash == "after the commit":
            commit(*args, **kwargs)
        raise SystemError("the process dies here")

    catalog.commit_document = crash_there
    text = tmp_path / "buurtavond.md"
    text.write_text(f"# Buurtavond\n\n{NAME} vertelde over geldzorgen bij jongeren in de wijk.\n", "utf-8")
    _upload_during_the_removal(km, "buurtavond.md", text.read_bytes())
    assert _holding(km, NAME, under="qdrant/chunks"), "the crash must have left the name, or the test proves nothing"
    km.close()
    again = km_factory(data, KM_COORDINATOR_TOKENS="geheim-token")  # the next start: another process
    with TestClient(create_app(km=again)) as c:
        assert c.get("/health").status_code == 200
    passages = [p["text"] for p in again.catalog().chunks_of("buurtavond.md")]
    assert not [p for p in passages if NAME in p]
    assert bool(passages) == (crash == "after the commit")
    assert _holding(again, NAME) == []
    assert not list(again.catalog().ledger.all("taking-in"))


def test_an_upload_that_names_nobody_removed_meanwhile_rewrites_nothing(km, tmp_path, monkeypatch):
    """The late scrub's rewrite of every passage costs minutes at 50,000 passages, under the ingest lock: a file
    that names nobody removed while it was taken in (the rule) does without one. The removal's own erasure
    still runs."""
    catalog = km.catalog()
    catalog.write_chunks = _removal_first(km, catalog.write_chunks)
    rewritten: list[Any] = []
    erase = catalog.store.erase_history
    monkeypatch.setattr(catalog.store, "erase_history", lambda names=None: (rewritten.append(names), erase(names)))
    docx = make_docx(tmp_path / "verslag.docx", title="Verslag van de buurtavond over geldzorgen")
    _upload_during_the_removal(km, "verslag.docx", docx.read_bytes())
    assert catalog.chunks_of("verslag.docx")
    assert rewritten == [None], rewritten  # the removal's one erasure of everything, no second one


def _asked(km: Kennismakelaar, c: TestClient) -> str:
    r = c.post("/api/contact-requests", json={
        "name": ASKER, "email": ADDRESS, "message": f"Ik ben {ASKER} ({ADDRESS}) en zoek hulp bij schulden."})
    assert r.status_code == 201, r.text
    assert _holding(km, ASKER, ADDRESS, under="qdrant/ledger"), "the store must hold the asker first, or the " \
                                                                 "test proves nothing"
    return str(r.json()["id"])


def test_after_an_asker_is_forgotten_no_file_holds_their_name_or_address(km):
    from web.app import create_app

    with TestClient(create_app(km=km)) as c:
        _asked(km, c)
        r = c.delete("/api/contact-requests", headers=COORD, params={"email": ADDRESS.upper()})
        assert r.status_code == 200 and r.json()["details"]["requests"] == 1, r.text
        assert _holding(km, ASKER, ADDRESS) == []


def test_after_a_request_is_removed_no_file_holds_its_askers_name_or_address(km):
    from web.app import create_app

    with TestClient(create_app(km=km)) as c:
        request_id = _asked(km, c)
        contacts.remove(km, request_id, COMMAND_LINE)
        assert _holding(km, ASKER, ADDRESS) == []


def test_an_asker_forgotten_after_the_retention_took_their_request_leaves_no_trace(km):
    contacts.submit(km, name=ASKER, email=ADDRESS, message="Ik zoek hulp bij schulden.")
    km.catalog().delete_contact_requests(contacts.expired(km, -1))  # deleted softly, as before an erasure
    assert contacts.forget_asker(km, ADDRESS, actor=COMMAND_LINE) == {"requests": 0, "findings": 0, "follows": 0}
    assert _holding(km, ASKER, ADDRESS) == []

