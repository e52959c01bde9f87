"""Accountability: coordinators are people with their own tokens, their sessions live in the store, and every
change to people's data has a name and a time in the audit log — the real app, the real store, the CLI."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from litestar.testing import TestClient
from qdrant_client import QdrantClient

from core.errors import ConflictError, ValidationError
from core.store.ledger import LEDGER
from core.store.server import ServerStore
from ingestion.pipeline import Ingestor
from service.audit import names
from service.cli import main
from service.container import Kennismakelaar
from service.coordinators import COMMAND_LINE, FOLLOWER, JOINED, SERVICE, SHARED
from tests import docmaker
from tests.conftest import log_in, make_settings
from tests.test_workers import Serialised
from web.app import create_app

SHARED_TOKEN = "gedeeld-token-van-vroeger"
PERSON = {"name": "Anna de Vries", "role": "onderzoeker", "expertise": "Schulden bij jonge gezinnen.",
          "consent": True}
ANNA = "anna-de-vries"
PROFILE_FIELDS = ("name", "role", "organization", "ateliers", "themes", "expertise", "email", "consent")


@pytest.fixture
def client(tmp_path, e5) -> Iterator[TestClient]:
    settings = make_settings(tmp_path / "data", KM_COORDINATOR_TOKENS=SHARED_TOKEN)
    with TestClient(create_app(settings, km=Kennismakelaar(settings, embedder=e5))) as c:
        yield c


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _create_anna(client: TestClient, headers: dict[str, str], **fields: object) -> None:
    """Anna's profile, new (a PUT only changes a profile that exists)."""
    created = client.post("/api/experts", json={**PERSON, "id": ANNA, **fields}, headers=headers)
    assert created.status_code == 201, created.text


def _change_anna(client: TestClient, headers: dict[str, str], **changes: object) -> int:
    """Anna's whole profile as GET gave it, with ``changes``, based on the version GET named; the PUT's status."""
    got = client.get(f"/api/experts/{ANNA}", headers=headers)
    assert got.status_code == 200, got.text
    body = {**{k: got.json()[k] for k in PROFILE_FIELDS}, **changes}
    return client.put(f"/api/experts/{ANNA}", json=body,
                      headers={**headers, "If-Match": got.headers["etag"]}).status_code


def _log(client: TestClient) -> list:
    return client.app.state.km.audit().entries()


def test_the_cli_adds_lists_and_removes_coordinators_and_shows_a_token_once(tmp_path, e5, monkeypatch):
    from tests.conftest import give_the_cli

    give_the_cli(monkeypatch, e5)
    settings = make_settings(tmp_path / "data")
    out = io.StringIO()
    assert main(["coordinator", "add", "Fatima  El Amrani", "--json"], settings=settings, out=out) == 0
    added = json.loads(out.getvalue())
    assert added["id"] == "fatima-el-amrani" and added["token"].startswith("kmc_")
    out = io.StringIO()
    assert main(["coordinator", "list"], settings=settings, out=out) == 0
    assert "fatima-el-amrani" in out.getvalue() and added["token"] not in out.getvalue()  # never again
    assert main(["coordinator", "add", "Fatima El Amrani"], settings=settings, out=io.StringIO(),
                err=io.StringIO()) != 0  # one of each
    km = Kennismakelaar(settings, embedder=e5)
    try:  # only a keyed hash is kept: the token itself is nowhere in the store
        stored = json.dumps([h.payload for h in km.catalog().store.scroll(LEDGER)])
        assert added["token"] not in stored and added["token"][4:] not in stored
        assert km.coordinators().by_token(added["token"]).id == "fatima-el-amrani"
    finally:
        km.close()
    out = io.StringIO()
    assert main(["coordinator", "remove", "fatima-el-amrani"], settings=settings, out=out) == 0
    km = Kennismakelaar(settings, embedder=e5)
    try:
        assert km.coordinators().by_token(added["token"]) is None
        actions = [(e.coordinator, e.action, e.target) for e in km.audit().entries()]
        assert actions == [(COMMAND_LINE.id, "coordinator-verwijderd", "fatima-el-amrani"),
                           (COMMAND_LINE.id, "coordinator-toegevoegd", "fatima-el-amrani")]
    finally:
        km.close()


def test_each_change_to_a_person_is_logged_with_its_coordinator(client):
    km = client.app.state.km
    anna, token = km.coordinators().add("Anna Coördinator")
    me = _bearer(token)
    _create_anna(client, me)
    assert _change_anna(client, me, consent=False) == 200
    assert _change_anna(client, _bearer(SHARED_TOKEN), consent=False, role="lector") == 200
    never_set = client.get(f"/api/experts/{ANNA}/availability", headers=me).headers["etag"]
    assert client.put(f"/api/experts/{ANNA}/availability", json={"max_per_month": 2},
                      headers={**me, "If-Match": never_set}).status_code == 200
    entries = [(e.coordinator, e.action, e.target_type, e.target) for e in reversed(_log(client))]
    assert entries == [
        (anna.id, "profiel-aangemaakt", "persoon", "anna-de-vries"),
        (anna.id, "toestemming-ingetrokken", "persoon", "anna-de-vries"),  # consent apart: nothing else changed
        (SHARED.id, "profiel-bewerkt", "persoon", "anna-de-vries"),
        (anna.id, "beschikbaarheid-gewijzigd", "persoon", "anna-de-vries"),
    ]
    assert all(time.time() - 60 < e.at <= time.time() for e in _log(client))


def test_a_removed_person_is_in_the_log_only_as_the_removals_marker(client):
    km = client.app.state.km
    _, token = km.coordinators().add("Bert Coördinator")
    _create_anna(client, _bearer(token))
    assert _change_anna(client, _bearer(token), consent=False) == 200
    assert client.delete("/api/experts/anna-de-vries", headers=_bearer(token)).status_code == 200
    entries = _log(client)
    assert entries[0].action == "persoon-verwijderd" and entries[0].coordinator == "bert-coordinator"
    marker = entries[0].target
    assert marker in km.catalog().forgotten()  # the removal's own keyed marker
    assert {e.target for e in entries} == {marker}  # the earlier entries point at it too
    everything = json.dumps([h.payload for h in km.catalog().store.scroll(LEDGER)])
    assert "anna-de-vries" not in everything and "Anna de Vries" not in everything


def test_document_uploads_and_deletions_are_logged(client, tmp_path):
    km = client.app.state.km
    carla, token = km.coordinators().add("Carla Coördinator")
    path = docmaker.make_md(tmp_path / "verslag.md", front="id: verslag-logboek\ntitle: Verslag logboek\n")
    r = client.post("/api/documents", files={"files": ("verslag.md", path.read_bytes(), "text/markdown")},
                    headers=_bearer(token))
    assert r.status_code == 202, r.text
    client.app.state.jobs.wait(60)
    assert client.delete("/api/documents/verslag-logboek", headers=_bearer(token)).status_code == 200
    entries = [(e.coordinator, e.action, e.target) for e in reversed(_log(client))]
    assert entries == [(carla.id, "document-geupload", "verslag-logboek"),
                       (carla.id, "document-verwijderd", "verslag-logboek")]


def test_each_upload_is_logged_as_it_commits_and_an_unchanged_one_is_not(client, tmp_path, monkeypatch):
    km = client.app.state.km
    carla, token = km.coordinators().add("Carla Coördinator")
    files = [("a.md", docmaker.make_md(tmp_path / "a.md", front="id: verslag-a\ntitle: Verslag A\n").read_bytes()),
             ("b.md", docmaker.make_md(tmp_path / "b.md", front="id: verslag-b\ntitle: Verslag B\n").read_bytes())]
    real, calls = Ingestor.ingest_document, []

    def dies_on_the_second(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the worker died")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Ingestor, "ingest_document", dies_on_the_second)
    r = client.post("/api/documents", files=[("files", f) for f in files], headers=_bearer(token))
    client.app.state.jobs.wait(60)
    assert client.get(f"/api/jobs/{r.json()['id']}").json()["status"] == "failed"
    # the job did not end well, yet the document it committed has its entry
    assert [(e.coordinator, e.action, e.target) for e in _log(client)] == [(carla.id, "document-geupload",
                                                                            "verslag-a")]
    monkeypatch.setattr(Ingestor, "ingest_document", real)
    client.post("/api/documents", files=[("files", f) for f in files], headers=_bearer(token))
    client.app.state.jobs.wait(60)  # a is unchanged: no entry; b is new
    assert [e.target for e in reversed(_log(client))] == ["verslag-a", "verslag-b"]


def test_an_answered_contact_request_logs_the_finding_it_adds(client):
    km = client.app.state.km
    ines, token = km.coordinators().add("Ines Coördinator")
    me = _bearer(token)
    _create_anna(client, me, email="anna@example.org")
    request_id = client.post("/api/contact-requests", json={"name": "Vrager", "email": "vrager@example.org",
                                                            "message": "Graag contact.",
                                                            "expert_id": "anna-de-vries"}).json()["id"]
    for status in ("doorgestuurd", "verbonden"):
        client.patch(f"/api/contact-requests/{request_id}", json={"status": status, "forwarded_to": "anna-de-vries"}
                     if status == "doorgestuurd" else {"status": status}, headers=me)
    outcome = {"outcome": "Een vaste contactpersoon helpt.", "answered": True,
               "question": "Wat helpt jonge gezinnen met schulden?"}
    seen = client.post(f"/api/contact-requests/{request_id}/preview", json=outcome, headers=me)  # first, look
    closed = client.post(f"/api/contact-requests/{request_id}/close", json=outcome, headers=me,
                         params={"preview": seen.json()["digest"]})
    assert closed.status_code == 200, closed.text
    finding = closed.json()["finding_id"]
    assert km.catalog().document(finding) is not None
    entries = [(e.action, e.target_type, e.target) for e in reversed(_log(client)) if e.coordinator == ines.id]
    assert entries[-2:] == [("bevinding-opgenomen", "document", finding),
                            ("contactverzoek-afgerond", "contactverzoek", request_id)]


def test_logging_out_ends_the_session_on_the_server(client):
    km = client.app.state.km
    dirk, token = km.coordinators().add("Dirk Coördinator")
    log_in(client, token)
    cookie = client.cookies.get("km_coordinator")
    assert cookie and client.get("/coordinatie", follow_redirects=False).status_code == 200
    csrf = client.cookies.get("km_csrf")
    client.post("/coordinatie/uitloggen", data={"_csrf_token": csrf}, follow_redirects=False)
    client.cookies.set("km_coordinator", cookie)  # the same cookie, replayed (copied before the logout)
    assert client.get("/coordinatie", follow_redirects=False).status_code in (302, 303, 401)
    assert [e.action for e in reversed(_log(client)) if e.coordinator == dirk.id] == ["ingelogd", "uitgelogd"]


@pytest.fixture
def two_instances(tmp_path, e5) -> Iterator[tuple[TestClient, TestClient]]:
    """Two application instances on one store, as two workers on one Qdrant server."""
    store = ServerStore(Serialised(QdrantClient(":memory:")))
    env = {"KM_SECRET_KEY": "gedeeld-geheim-van-alle-workers-samen"}
    made = [Kennismakelaar(make_settings(tmp_path / name, **env), store=store, embedder=e5) for name in "ab"]
    with TestClient(create_app(km=made[0])) as a, TestClient(create_app(km=made[1])) as b:
        yield a, b


def test_a_removed_coordinator_is_refused_at_once_by_every_instance(two_instances):
    a, b = two_instances
    eva, token = a.app.state.km.coordinators().add("Eva Coördinator")
    _, other = a.app.state.km.coordinators().add("Frank Coördinator")
    log_in(b, token)  # a session opened on the other instance
    assert b.get("/coordinatie", follow_redirects=False).status_code == 200
    assert b.get("/api/agenda", headers=_bearer(token)).status_code == 200
    started = time.perf_counter()
    a.app.state.km.coordinators().remove(eva.id)
    api = b.get("/api/agenda", headers=_bearer(token)).status_code
    page = b.get("/coordinatie", follow_redirects=False).status_code
    revoked = time.perf_counter() - started
    assert api == 403 and page in (302, 303, 401)
    assert b.get("/api/agenda", headers=_bearer(other)).status_code == 200  # everyone else keeps access
    assert revoked < 5, revoked
    print(f"revoked across instances within {revoked * 1000:.0f} ms (removal and both refusals)")


def test_the_log_is_in_the_backup_and_sessions_are_not(client, tmp_path):
    km = client.app.state.km
    _, token = km.coordinators().add("Gijs Coördinator")
    log_in(client, token)
    _create_anna(client, _bearer(token))
    from service.backup import export_store

    summary = export_store(km, tmp_path / "export")
    assert summary["exported"]["audit"] >= 2
    exported = {p.stem for p in Path(tmp_path / "export").glob("*.jsonl")}
    # who may log in is not restored from a copy of the past: no sessions, no coordinators, no token hashes
    assert not any(word in p for p in exported for word in ("session", "coordinator"))


def test_the_logboek_page_and_the_api_filter_and_export_the_same_rows(client):
    km = client.app.state.km
    hanna, token = km.coordinators().add("Hanna Coördinator")
    _create_anna(client, _bearer(token))
    assert _change_anna(client, _bearer(SHARED_TOKEN), consent=False) == 200
    today = time.strftime("%Y-%m-%d")
    api = client.get("/api/audit", params={"coordinator": hanna.id, "since": today, "until": today},
                     headers=_bearer(token)).json()
    assert api["total"] == 1 and api["entries"][0]["action"] == "profiel-aangemaakt"
    assert api["entries"][0]["coordinator_name"] == "Hanna Coördinator"
    withdrawn = client.get("/api/audit", params={"action": "toestemming-ingetrokken"}, headers=_bearer(token)).json()
    assert [e["coordinator"] for e in withdrawn["entries"]] == [SHARED.id]
    assert client.get("/api/audit", params={"action": "iets"}, headers=_bearer(token)).status_code == 400
    assert client.get("/api/audit", params={"since": "gisteren"}, headers=_bearer(token)).status_code == 400
    assert client.get("/api/audit").status_code == 401  # coordinators only
    csv_text = client.get("/api/audit.csv", params={"coordinator": hanna.id}, headers=_bearer(token)).text
    assert csv_text.splitlines()[0].startswith("at,time,coordinator,coordinator_name,action")
    assert len(csv_text.splitlines()) == 2 and "profiel-aangemaakt" in csv_text
    log_in(client, token)
    page = client.get("/coordinatie/logboek", params={"action": "toestemming-ingetrokken"})
    assert page.status_code == 200 and "gedeelde sleutel" in page.text and "toestemming ingetrokken" in page.text
    assert page.text.count("<tr>") - 1 == 1  # one row: the withdrawal, by the shared key
    mine = client.get("/coordinatie/logboek", params={"coordinator": hanna.id})
    assert "Hanna Coördinator</td>" in mine.text and "profiel aangemaakt" in mine.text
    web_csv = client.get("/coordinatie/logboek.csv", params={"coordinator": hanna.id}).text
    assert web_csv.splitlines()[-1] == csv_text.splitlines()[-1]  # the same row (the login came after it)
    assert client.get("/coordinatie/logboek", params={"since": "morgen"}).status_code == 400


def test_entries_past_the_retention_go(client):
    km = client.app.state.km
    log = km.audit()
    log.record(SHARED, "document-verwijderd", "document", "oud")
    log.record(SHARED, "document-verwijderd", "document", "nieuw")
    old = next(h for h in km.catalog().store.scroll(LEDGER) if h.payload.get("target") == "oud")
    km.catalog().store.set_payload(LEDGER, {"at": time.time() - (log.retention_days + 1) * 86400}, ids=[old.id])
    log.sweep()
    assert [e.target for e in log.entries()] == ["nieuw"]


def test_contact_decisions_and_meetings_are_logged(client):
    km = client.app.state.km
    ines, token = km.coordinators().add("Ines Coördinator")
    _create_anna(client, _bearer(token), email="anna@example.org")
    asked = client.post("/api/ask", json={"question": "Wie weet iets van schulden bij jonge gezinnen?"}).json()
    request_id = client.post("/api/contact-requests", json={"name": "Vrager", "email": "vrager@example.org",
                                                            "message": "Graag contact.",
                                                            "question_id": asked["question_id"]}).json()["id"]
    me = _bearer(token)
    assert client.patch(f"/api/contact-requests/{request_id}", json={"status": "doorgestuurd",
                                                                      "forwarded_to": "anna-de-vries"},
                        headers=me).status_code == 200
    assert client.patch(f"/api/contact-requests/{request_id}", json={"status": "verbonden"},
                        headers=me).status_code == 200
    assert client.post(f"/api/contact-requests/{request_id}/close", json={"outcome": "Geen vervolg.",
                                                                          "answered": False},
                       headers=me).status_code == 200
    assert client.delete(f"/api/contact-requests/{request_id}", headers=me).status_code == 200
    meeting = client.post("/api/meetings", json={"title": "Expertmeeting", "date": "2027-01-15",
                                                 "step": "expertmeeting", "k": 1}, headers=me).json()
    assert client.delete(f"/api/meetings/{meeting['id']}", headers=me).status_code == 200
    entries = [(e.action, e.target) for e in reversed(_log(client)) if e.coordinator == ines.id][1:]
    assert entries == [("contactverzoek-doorgestuurd", request_id), ("contactverzoek-gewijzigd", request_id),
                       ("contactverzoek-afgerond", request_id), ("contactverzoek-verwijderd", request_id),
                       ("bijeenkomst-gepland", meeting["id"]), ("bijeenkomst-verwijderd", meeting["id"])]


def test_a_session_opened_with_a_shared_token_ends_when_the_token_leaves_the_settings(tmp_path, e5):
    data = tmp_path / "data"
    settings = make_settings(data, KM_COORDINATOR_TOKENS=SHARED_TOKEN)
    km = Kennismakelaar(settings, embedder=e5)
    with TestClient(create_app(settings, km=km)) as c:
        log_in(c, SHARED_TOKEN)
        cookie = c.cookies.get("km_coordinator")
        assert c.get("/coordinatie", follow_redirects=False).status_code == 200
    km.close()
    settings = make_settings(data, KM_COORDINATOR_TOKENS="een-ander-token")  # the service restarted without it
    km = Kennismakelaar(settings, embedder=e5)
    with TestClient(create_app(settings, km=km)) as c:
        c.cookies.set("km_coordinator", cookie)
        assert c.get("/coordinatie", follow_redirects=False).status_code in (302, 303, 401)
    km.close()


def test_someone_added_again_under_the_same_name_is_someone_new(client):
    coordinators = client.app.state.km.coordinators()
    eva, old_token = coordinators.add("Eva Jansen")
    log_in(client, old_token)
    old_session = client.cookies.get("km_coordinator")
    coordinators.remove(eva.id)
    # a token or session the removal missed (a crash half-way, a login racing it), put back as if it had
    coordinators.ledger.put("coordinator-token", coordinators._hash(old_token), {"coordinator_id": eva.id,
                                                                                  "generation": "oud"})
    again, new_token = coordinators.add("Eva Jansen")
    assert again.id == "eva-jansen-2" and coordinators.by_token(new_token) == again  # an id of her own
    assert coordinators.by_token(old_token) is None and coordinators.session(old_session) is None
    assert coordinators.get(eva.id)["removed_at"]  # the first Eva stays removed: the log keeps them apart
    with pytest.raises(ConflictError):
        coordinators.add("Eva  Jansen")  # one active Eva Jansen at a time


@pytest.mark.parametrize("name", ["Volger", "Dienst", "Lid Zelf", "Opdrachtregel", "Gedeelde Sleutel", "volger 2"])
def test_no_coordinator_takes_the_id_of_who_acts_on_their_own_behalf(client, name):
    """A coordinator called "Volger" would otherwise log under "volger": the Logboek would show their changes
    as a follower's, and filtering by either would give both."""
    coordinators = client.app.state.km.coordinators()
    with pytest.raises(ValidationError, match="gereserveerd"):
        coordinators.add(name)
    assert coordinators.all(removed=True) == []
    volgeraar, _ = coordinators.add("Volgeraar")  # a name that only starts like one is fine
    assert volgeraar.id == "volgeraar"


def test_the_logboek_names_everyone_who_can_act(client):
    """The log's rows and its filter by person name the follower, the member who joins, the retention, the
    shared key and the command line beside the coordinators — also where a coordinator was given one of their
    ids before it was reserved."""
    km = client.app.state.km
    anna, token = km.coordinators().add("Anna Coördinator")
    km.coordinators().ledger.put("coordinator", "volger", {"coordinator_id": "volger", "name": "Volger Oud",
                                                            "created_at": time.time(), "generation": "oud"})
    for actor in (FOLLOWER, SERVICE, JOINED):
        km.audit().record(actor, "volgen-aangemeld", "volgen", f"door-{actor.id}")
    listed = names(km.coordinators())
    assert {a.id: listed[a.id] for a in (FOLLOWER, SERVICE, JOINED)} == {
        "volger": "de volger zelf", "dienst": "de dienst (bewaartermijn)", "lid-zelf": "het lid zelf (domeinregel)"}
    assert listed[anna.id] == "Anna Coördinator"
    rows = client.get("/api/audit", params={"action": "volgen-aangemeld"}, headers=_bearer(token)).json()["entries"]
    assert {r["target"]: r["coordinator_name"] for r in rows} == {
        "door-volger": "de volger zelf", "door-dienst": "de dienst (bewaartermijn)",
        "door-lid-zelf": "het lid zelf (domeinregel)"}
    log_in(client, token)
    page = client.get("/coordinatie/logboek", params={"coordinator": "dienst"})
    assert page.status_code == 200 and '<option value="dienst" selected>de dienst (bewaartermijn)</option>' in page.text
    assert "door-dienst" in page.text and "door-volger" not in page.text


def test_an_import_after_a_removal_brings_no_name_back_into_the_log(client, tmp_path):
    km = client.app.state.km
    _, token = km.coordinators().add("Joost Coördinator")
    _create_anna(client, _bearer(token))
    km.audit().record(SHARED, "document-verwijderd", "document", "gesprek-met-anna-de-vries.docx")
    from service.backup import export_store, import_store

    export_store(km, tmp_path / "export")
    assert client.delete("/api/experts/anna-de-vries", headers=_bearer(token)).status_code == 200
    targets = {e.target for e in _log(client)}
    assert "gesprek-met-[naam verwijderd].docx" in targets  # a document id that held her name, redacted
    import_store(km, tmp_path / "export")
    everything = json.dumps([h.payload for h in km.catalog().store.scroll(LEDGER)])
    assert "anna-de-vries" not in everything, [e for e in _log(client) if "anna" in e.target]


def test_the_meetings_page_answers(client):
    _, token = client.app.state.km.coordinators().add("Kim Coördinator")
    log_in(client, token)
    assert client.get("/coordinatie/bijeenkomsten").status_code == 200


def test_exports_imports_and_ingests_from_the_command_line_are_logged(tmp_path, e5, monkeypatch):
    from tests.conftest import give_the_cli

    give_the_cli(monkeypatch, e5)
    settings = make_settings(tmp_path / "data")
    docs = tmp_path / "docs"
    docs.mkdir()
    docmaker.make_md(docs / "verslag.md", front="id: verslag-cli\ntitle: Verslag vanaf de opdrachtregel\n")
    assert main(["ingest", str(docs)], settings=settings, out=io.StringIO(), err=io.StringIO()) == 0
    assert main(["ingest", str(docs)], settings=settings, out=io.StringIO(), err=io.StringIO()) == 0  # unchanged
    assert main(["export", str(tmp_path / "export")], settings=settings, out=io.StringIO()) == 0
    assert main(["import", str(tmp_path / "export")], settings=settings, out=io.StringIO()) == 0
    km = Kennismakelaar(settings, embedder=e5)
    try:
        entries = [(e.coordinator, e.action, e.target, e.count) for e in reversed(km.audit().entries())]
    finally:
        km.close()
    assert entries == [(COMMAND_LINE.id, "document-opgenomen", "verslag-cli", None),  # as it was committed
                       (COMMAND_LINE.id, "bestanden-opgenomen", "", 1),  # the rerun changed nothing: no entry
                       (COMMAND_LINE.id, "export", "export", 2),  # what it exported: the log's two entries
                       (COMMAND_LINE.id, "import", "export", 2)]


def test_each_person_and_document_a_file_changes_has_its_own_entry(tmp_path, e5, monkeypatch):
    from tests.conftest import give_the_cli

    give_the_cli(monkeypatch, e5)
    settings = make_settings(tmp_path / "data")
    folder = tmp_path / "map"
    folder.mkdir()
    people = folder / "experts.yaml"

    def write(*entries: str) -> None:
        people.write_text("experts:\n" + "".join(entries), "utf-8")

    anna = "  - {id: anna-de-vries, name: Anna de Vries, role: onderzoeker, consent: %s}\n"
    bram = "  - {id: bram-kok, name: Bram Kok, role: %s, consent: true}\n"
    write(anna % "true", bram % "professional")
    docmaker.make_md(folder / "verslag.md", front="id: verslag-map\ntitle: Verslag uit de map\n")
    run = ["ingest", str(folder), "--prune"]
    assert main(run, settings=settings, out=io.StringIO(), err=io.StringIO()) == 0
    write(anna % "false", bram % "lector")  # consent withdrawn in the file; Bram's role changed
    assert main(run, settings=settings, out=io.StringIO(), err=io.StringIO()) == 0
    write(anna % "false")  # Bram left the file, the report left the folder
    (folder / "verslag.md").unlink()
    assert main(run, settings=settings, out=io.StringIO(), err=io.StringIO()) == 0
    write(anna % "true")  # consent given again, in the file
    assert main(run, settings=settings, out=io.StringIO(), err=io.StringIO()) == 0
    km = Kennismakelaar(settings, embedder=e5)
    try:
        entries = [(e.action, e.target) for e in reversed(km.audit().entries()) if e.action != "bestanden-opgenomen"]
        assert all(e.coordinator == COMMAND_LINE.id for e in km.audit().entries())
    finally:
        km.close()
    assert sorted(entries[:3]) == [("document-opgenomen", "verslag-map"), ("profiel-aangemaakt", "anna-de-vries"),
                                   ("profiel-aangemaakt", "bram-kok")]
    assert entries[3:] == [("toestemming-ingetrokken", "anna-de-vries"), ("profiel-bewerkt", "bram-kok"),
                           ("document-verwijderd", "verslag-map"), ("profiel-verwijderd", "bram-kok"),
                           ("toestemming-gegeven", "anna-de-vries")]  # and nothing about Anna's other fields


def test_an_interrupted_ingest_has_logged_what_it_committed(tmp_path, e5, monkeypatch):
    from tests.conftest import give_the_cli

    give_the_cli(monkeypatch, e5)
    settings = make_settings(tmp_path / "data")
    folder = tmp_path / "map"
    folder.mkdir()
    (folder / "experts.yaml").write_text(
        "experts:\n  - {id: anna-de-vries, name: Anna de Vries, role: onderzoeker, consent: true}\n", "utf-8")
    docmaker.make_md(folder / "a.md", front="id: verslag-a\ntitle: Verslag A\n")
    docmaker.make_md(folder / "b.md", front="id: verslag-b\ntitle: Verslag B\n")
    real, calls = Ingestor._take_in, []

    def stopped_at_the_second(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl-C half-way
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Ingestor, "_take_in", stopped_at_the_second)
    assert main(["ingest", str(folder)], settings=settings, out=io.StringIO(), err=io.StringIO()) == 130
    monkeypatch.setattr(Ingestor, "_take_in", real)
    assert main(["ingest", str(folder)], settings=settings, out=io.StringIO(), err=io.StringIO()) == 0  # finishes
    km = Kennismakelaar(settings, embedder=e5)
    try:
        entries = [(e.action, e.target) for e in reversed(km.audit().entries())]
    finally:
        km.close()
    assert entries == [("profiel-aangemaakt", "anna-de-vries"), ("document-opgenomen", "verslag-a"),  # run 1
                       ("document-opgenomen", "verslag-b"), ("bestanden-opgenomen", "")]  # the rerun


def test_no_entry_written_after_a_removal_names_the_person(client, tmp_path):
    km = client.app.state.km
    _, token = km.coordinators().add("Carla Coördinator")
    me = _bearer(token)
    _create_anna(client, me)
    assert client.delete("/api/experts/anna-de-vries", headers=me).status_code == 200
    data = docmaker.make_md(tmp_path / "gesprek.md").read_bytes()
    client.post("/api/documents", files=[("files", ("gesprek-met-anna-de-vries.md", data))], headers=me)
    client.app.state.jobs.wait(60)
    # a command-line run that read her profile file before the removal and logs it after
    km.audit().record_all(COMMAND_LINE, [("profiel-bewerkt", "persoon", "anna-de-vries")])
    marker = km.catalog().ledger.keyed("anna de vries")
    entries = [(e.action, e.target) for e in reversed(_log(client))]
    assert entries[-1] == ("profiel-bewerkt", marker)
    assert entries[-2][0] == "document-geupload" and "anna" not in entries[-2][1].lower()
    everything = json.dumps([h.payload for h in km.catalog().store.scroll(LEDGER) if h.payload["kind"] == "audit"])
    assert "anna" not in everything.lower() and "vries" not in everything.lower()


def test_a_person_whose_profile_file_dropped_them_can_still_be_removed(tmp_path, e5, monkeypatch):
    from tests.conftest import give_the_cli

    give_the_cli(monkeypatch, e5)
    settings = make_settings(tmp_path / "data", KM_COORDINATOR_TOKENS=SHARED_TOKEN)
    folder = tmp_path / "map"
    folder.mkdir()
    people = folder / "experts.yaml"
    people.write_text("experts:\n  - {id: anna-de-vries, name: Anna de Vries, role: onderzoeker, consent: true}\n"
                      "  - {id: bram-kok, name: Bram Kok, consent: true}\n", "utf-8")
    assert main(["ingest", str(folder), "--prune"], settings=settings, out=io.StringIO(), err=io.StringIO()) == 0
    people.write_text("experts:\n  - {id: bram-kok, name: Bram Kok, consent: true}\n", "utf-8")
    assert main(["ingest", str(folder), "--prune"], settings=settings, out=io.StringIO(), err=io.StringIO()) == 0
    with TestClient(create_app(settings, km=Kennismakelaar(settings, embedder=e5))) as c:
        km = c.app.state.km
        assert km.catalog().expert("anna-de-vries") is None  # pruned; the log still names her
        assert any(e.target == "anna-de-vries" for e in km.audit().entries())
        removed = c.delete("/api/experts/anna-de-vries", headers=_bearer(SHARED_TOKEN))
        assert removed.status_code == 200, removed.text  # her request is honoured, not a 404
        assert c.delete("/api/experts/niemand-bekends", headers=_bearer(SHARED_TOKEN)).status_code == 404
        assert not any("anna" in e.target for e in km.audit().entries())
        assert km.catalog().is_forgotten("Anna de Vries", km.catalog().forgotten())


def test_a_document_whose_id_changed_logs_its_old_id_as_removed(tmp_path, e5, monkeypatch):
    from tests.conftest import give_the_cli

    give_the_cli(monkeypatch, e5)
    settings = make_settings(tmp_path / "data")
    folder = tmp_path / "map"
    folder.mkdir()
    docmaker.make_md(folder / "verslag.md")
    assert main(["ingest", str(folder)], settings=settings, out=io.StringIO(), err=io.StringIO()) == 0
    docmaker.make_md(folder / "verslag.md", front="id: verslag-met-id\n")  # an id added later
    assert main(["ingest", str(folder)], settings=settings, out=io.StringIO(), err=io.StringIO()) == 0
    km = Kennismakelaar(settings, embedder=e5)
    try:
        entries = [(e.action, e.target) for e in reversed(km.audit().entries()) if e.action.startswith("document")]
    finally:
        km.close()
    assert entries == [("document-opgenomen", "verslag.md"), ("document-opgenomen", "verslag-met-id"),
                       ("document-verwijderd", "verslag.md")]


def test_coordinators_are_added_and_removed_through_the_api_while_the_service_runs(client):
    km = client.app.state.km
    anna, token = km.coordinators().add("Anna Coördinator")
    me = _bearer(token)
    assert client.get("/api/coordinators").status_code == 401
    r = client.post("/api/coordinators", json={"name": "Bas Nieuw"}, headers=me)
    assert r.status_code == 201 and r.json()["token"].startswith("kmc_"), r.text
    assert r.headers["cache-control"] == "no-store"  # a token in it: no cache on the way keeps it
    bas, bas_token = r.json()["id"], r.json()["token"]
    listed = client.get("/api/coordinators", headers=me)
    assert [c["id"] for c in listed.json()] == ["anna-coordinator", "bas-nieuw"]
    assert bas_token not in listed.text and "token" not in listed.json()[1]  # shown once, never again
    assert client.post("/api/coordinators", json={"name": "Bas  Nieuw"}, headers=me).status_code == 409
    assert client.get("/api/audit", headers=_bearer(bas_token)).status_code == 200  # the new token works
    refused = client.delete(f"/api/coordinators/{anna.id}", headers=me)
    assert refused.status_code == 400 and "jezelf" in refused.json()["error"]["message"]
    assert client.delete(f"/api/coordinators/{bas}", headers=me).status_code == 200
    assert client.get("/api/audit", headers=_bearer(bas_token)).status_code == 403  # at once
    assert client.delete(f"/api/coordinators/{bas}", headers=me).status_code == 404
    assert [c["id"] for c in client.get("/api/coordinators", params={"removed": "true"}, headers=me).json()] == [
        "anna-coordinator", "bas-nieuw"]
    entries = [(e.coordinator, e.action, e.target) for e in reversed(_log(client)) if e.action.startswith("coord")]
    assert entries == [(anna.id, "coordinator-toegevoegd", bas), (anna.id, "coordinator-verwijderd", bas)]


def test_the_coordinators_page_adds_someone_shows_the_token_once_and_removes_them(client):
    km = client.app.state.km
    anna, token = km.coordinators().add("Anna Coördinator")
    csrf = log_in(client, token)
    page = client.get("/coordinatie/coordinatoren")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "Anna Coördinator (jij)" in page.text
    added = client.post("/coordinatie/coordinatoren", data={"name": "Cor Nieuw", "_csrf_token": csrf})
    assert added.status_code == 201, added.text
    shown = re.search(r'value="(kmc_[A-Za-z0-9_-]+)"', added.text)
    assert shown and km.coordinators().by_token(shown.group(1)).id == "cor-nieuw"
    assert shown.group(1) not in client.get("/coordinatie/coordinatoren").text  # once
    empty = client.post("/coordinatie/coordinatoren", data={"name": "  ", "_csrf_token": csrf})
    assert empty.status_code == 400 and 'aria-invalid="true"' in empty.text
    myself = client.post(f"/coordinatie/coordinatoren/{anna.id}/verwijderen", data={"_csrf_token": csrf})
    assert myself.status_code == 400 and km.coordinators().by_token(token) is not None
    gone = client.post("/coordinatie/coordinatoren/cor-nieuw/verwijderen", data={"_csrf_token": csrf,
                                                                                "bevestigd": "ja"})
    assert gone.status_code == 200 and "Cor Nieuw is verwijderd" in gone.text
    assert km.coordinators().by_token(shown.group(1)) is None
    assert [(e.coordinator, e.action) for e in _log(client) if e.target == "cor-nieuw"] == [
        (anna.id, "coordinator-verwijderd"), (anna.id, "coordinator-toegevoegd")]


def test_the_logboek_pages_through_a_long_log_in_the_stores_order(client):
    km = client.app.state.km
    _, token = km.coordinators().add("Eva Coördinator")
    km.audit().record_all(COMMAND_LINE, [("export", "back-up", f"export-{i:03}") for i in range(250)])
    csrf = log_in(client, token)  # its entry is the newest: 251 in all
    assert csrf
    first = client.get("/coordinatie/logboek")
    assert "251 regels, hieronder 1 tot en met 100" in first.text and 'rel="first"' not in first.text
    api = client.get("/api/audit", params={"limit": 100, "offset": 100}, headers=_bearer(token)).json()
    km.audit().record_all(COMMAND_LINE, [("export", "back-up", f"nieuw-{i}") for i in range(5)])  # meanwhile
    older = re.search(r'href="(/coordinatie/logboek\?before=[^"]+)" rel="next"', first.text)
    assert older
    second = client.get(older.group(1).replace("&amp;", "&"))
    assert re.search(r"\d+ regels, hieronder \d+ tot en met \d+", second.text).group(0) == (
        "256 regels, hieronder 106 tot en met 205") and 'rel="first"' in second.text  # 5 arrived meanwhile
    shown = re.findall(r"<code>(export-\d+)</code>", second.text)
    # right after the first page, newest first: none skipped or repeated although five arrived meanwhile
    assert shown == [f"export-{i:03}" for i in range(150, 50, -1)]
    assert [e["target"] for e in api["entries"]] == shown and api["total"] == 251  # the API's offset agrees
    third = re.search(r'href="(/coordinatie/logboek\?before=[^"]+)" rel="next"', second.text)
    last = client.get(third.group(1))
    assert re.findall(r"<code>(export-\d+)</code>", last.text) == [f"export-{i:03}" for i in range(50, -1, -1)]
    assert 'rel="next"' not in last.text


def test_every_page_and_api_list_a_coordinator_opens_answers(client):
    """The pages and lists without a parameter in their path, opened logged in: none answers 500 (two sync
    handlers on one path outside a controller did, twice, and no test looked)."""
    from litestar.routes import HTTPRoute

    _, token = client.app.state.km.coordinators().add("Fien Coördinator")
    log_in(client, token)
    paths = sorted({r.path for r in client.app.routes if isinstance(r, HTTPRoute) and "GET" in r.methods
                    and "{" not in r.path and not r.path.startswith(("/schema", "/static"))})
    assert "/coordinatie/coordinatoren" in paths and "/api/meetings" in paths
    failed = {p: code for p in paths if (code := client.get(p, headers=_bearer(token)).status_code) >= 500}
    assert not failed


def test_entries_two_workers_write_within_a_microsecond_are_each_on_one_page(client, monkeypatch):
    """Two workers can log at the same instant, or a microsecond apart (less than the step between one worker's
    entries): a page that ends between them must neither skip nor repeat one — through the service and the API,
    whatever the page length."""
    from core.store import ledger as ledger_module

    log = client.app.state.km.audit()
    t0 = float(int(time.time()) - 3600)
    for at, targets in ((t0, ["a-0", "a-1", "a-2"]), (t0 + 1e-6, ["b-0", "b-1"]), (t0, ["c-0"]),
                        (t0 + 2e-5, ["d-0"])):  # c: the same instant as a; d: on a's third step
        monkeypatch.setattr(ledger_module, "time", SimpleNamespace(time=lambda at=at: at))  # the ledger's clock
        log.record_all(COMMAND_LINE, [("export", "back-up", t) for t in targets])
    monkeypatch.undo()
    everything = [e.target for e in log.entries(since=t0 - 1, until=t0 + 1)]
    assert sorted(everything) == ["a-0", "a-1", "a-2", "b-0", "b-1", "c-0", "d-0"]
    day = dt.date.fromtimestamp(t0).isoformat()
    for size in (1, 2, 3):
        seen: list[str] = []
        cursor = None
        while page := log.entries(since=t0 - 1, until=t0 + 1, limit=size, before=cursor):
            seen += [e.target for e in page]
            cursor = (page[-1].at, page[-1].id)
            assert log.count(since=t0 - 1, until=t0 + 1, before=cursor) == len(everything) - len(seen)
        assert seen == everything, size  # each once, in the order of the whole log
        api: list[str] = []
        before: dict[str, str] = {}
        while rows := client.get("/api/audit", params={"limit": size, "action": "export", "since": day,
                                                       "until": day, **before},
                                 headers=_bearer(SHARED_TOKEN)).json()["entries"]:
            api += [r["target"] for r in rows]
            before = {"before": rows[-1]["cursor"]}
        assert api == everything, size
    assert client.get("/api/audit", params={"before": "gisteren"}, headers=_bearer(SHARED_TOKEN)).status_code == 400


def test_a_page_cursor_from_any_entry_neither_repeats_nor_skips_one(client):
    """The engine gives a time back to about a microsecond: a cursor taken from any entry read back must
    still split the log exactly there (it once landed on the wrong side of its own entry, one run in thirty)."""
    log = client.app.state.km.audit()
    for batch in range(3):
        log.record_all(COMMAND_LINE, [("export", "back-up", f"export-{batch}-{i:03}") for i in range(100)])
    entries = log.entries()
    assert len(entries) == 300
    for place, entry in enumerate(entries):
        assert log.count(before=(entry.at, entry.id)) == len(entries) - place - 1, entry.target
