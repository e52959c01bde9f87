"""The matchmaking API, for real: the Litestar app with its lifespan, the default model, the embedded engine."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient

from core.store.catalog import CHUNKS
from ingestion.discover import discover
from matching.questions import QuestionLog
from service.coordinators import COMMAND_LINE
from service.profiles import save_profile
from tests import docmaker
from tests.conftest import SAMPLES, make_settings
from web.app import create_app

pytestmark = pytest.mark.slow
TOKEN = "test-coordinator-token"
COORD = {"Authorization": f"Bearer {TOKEN}"}
TRUST = "Hoe herstel je vertrouwen in een wijk waar projecten steeds kwamen en gingen?"


def _client(data, **env) -> TestClient:
    settings = make_settings(data, KM_COORDINATOR_TOKENS=f"other-token,{TOKEN}", **env)
    return TestClient(create_app(settings))


@pytest.fixture
def client(fresh_samples) -> Iterator[TestClient]:
    with _client(fresh_samples) as c:
        yield c


# --- the broker's endpoints ---------------------------------------------------------------------------------

def test_ask_returns_findings_experts_and_bridges(client):
    r = client.post("/api/ask", json={"question": TRUST, "atelier": "kansrijk-met-jeugd", "role": "student"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) >= {"question_id", "findings", "experts", "bridges"}
    assert body["findings"] and body["experts"]
    f = body["findings"][0]
    assert {"document_id", "title", "score", "snippet", "kind", "ateliers", "themes", "source", "page"} <= set(f)
    e = body["experts"][0]
    assert {"id", "name", "score", "role", "organization", "ateliers", "reasons"} <= set(e)
    assert all(x.get("email") is None for x in body["experts"])  # public: no contact details
    assert any(b["type"] == "finding" for b in body["bridges"])


def test_search_and_experts_return_the_cli_json(client):
    r = client.get("/api/search", params={"q": TRUST, "atelier": "veerkracht", "limit": 3})
    assert r.status_code == 200
    body = r.json()
    assert body["query"] == TRUST and 1 <= len(body["results"]) <= 3
    assert all("veerkracht-in-gemeenschappen" in x["ateliers"] for x in body["results"])
    r = client.get("/api/experts", params={"q": TRUST})
    body = r.json()
    assert r.status_code == 200 and body["query"] == TRUST and body["experts"]
    # no count that a name query could turn into "registered here without consent"
    assert "wim-ramakers" not in {e["id"] for e in body["experts"]} and body["hidden"] == 0


def test_coordinators_see_contact_details_of_consenting_people_only(client):
    public = client.get("/api/experts", params={"q": TRUST}).json()["experts"]
    coord = client.get("/api/experts", params={"q": TRUST}, headers=COORD).json()["experts"]
    assert public and all(e.get("email") is None for e in public)
    assert any(e.get("email") for e in coord)
    assert "wim-ramakers" not in {e["id"] for e in coord}


def test_feedback_is_recorded(client):
    qid = client.post("/api/ask", json={"question": TRUST}).json()["question_id"]
    r = client.post("/api/feedback", json={"question_id": qid, "type": "document",
                                           "id": "rapport-2024-evaluatie-vaste-gezichten", "helpful": True})
    assert r.status_code == 200 and r.json() == {"question_id": qid, "helpful": 1, "unhelpful": 0}
    r = client.post("/api/feedback", json={"question_id": "00000000-0000-0000-0000-000000000000", "type": "document",
                                           "id": "x", "helpful": False})
    assert r.status_code == 404


@pytest.fixture
def small(km_factory, tmp_path) -> Iterator[TestClient]:
    """The real app on a store of one report and two people (one without consent): no demo corpus needed."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "buurtkamer.md").write_text(
        "---\nid: verslag-buurtkamer\ntitle: Verslag buurtkamer Heerlen-Noord\n---\n\n# Verslag\n\n"
        "In de buurtkamer in Heerlen-Noord vinden gezinnen met geldzorgen elke week hulp bij hun post en "
        "schulden; vrijwilligers en het wijkteam werken er samen.\n", "utf-8")
    km = km_factory(KM_COORDINATOR_TOKENS=TOKEN)
    assert km.ingestor().run([corpus]).ok
    save_profile(km, "anna-de-vries", name="Anna de Vries", role="onderzoeker", ateliers=["tweedeling-en-armoede"],
                 expertise="Schulden en schaamte bij gezinnen met geldzorgen.", consent=True, actor=COMMAND_LINE)
    save_profile(km, "piet-jansen", name="Piet Jansen", expertise="Schulden bij gezinnen.", consent=False,
                 actor=COMMAND_LINE)
    with TestClient(create_app(km.settings, km=km)) as c:
        yield c


def test_an_upload_never_takes_another_documents_name(small):
    """Review finding 11: a second, different document under the same (slugged) name deleted the first one's
    passages and overwrote its file. Now it keeps its own name with a number; the same file again stays a no-op,
    and metadata naming the document's id still replaces it."""
    c = small
    files_dir = c.app.state.km.settings.store.data_dir / "files"
    first = b"# Verslag atelier armoede mei\n\nDe gemeente Heerlen start met een vast aanspreekpunt voor schulden.\n"
    second = b"# Verslag atelier jeugd mei\n\nHet jongerenpanel adviseert over de huiswerkklas in Kerkrade.\n"

    def upload(name: str, content: bytes, metadata: dict | None = None) -> dict:
        data = {"metadata": json.dumps(metadata)} if metadata else None
        r = c.post("/api/documents", headers=COORD, files=[("files", (name, content))], data=data)
        assert r.status_code == 202, r.text
        c.app.state.jobs.wait(120)
        job = c.get(f"/api/jobs/{r.json()['id']}").json()
        assert job["status"] == "done" and job["errors"] == [], job
        return job

    assert upload("Verslag Mei.MD", first)["documents"] == ["verslag-mei.md"]
    job = upload("verslag-mei.md", second)
    assert job["documents"] == ["verslag-mei-2.md"]
    assert [n["file"] for n in job["notes"]] == ["verslag-mei.md"] and "verslag-mei-2.md" in job["notes"][0]["message"]
    assert c.get("/api/documents/verslag-mei.md").json()["title"] == "Verslag atelier armoede mei"
    assert c.get("/api/documents/verslag-mei-2.md").json()["title"] == "Verslag atelier jeugd mei"
    assert (files_dir / "verslag-mei.md").read_bytes() == first
    assert (files_dir / "verslag-mei-2.md").read_bytes() == second
    hits = c.get("/api/search", params={"q": "vast aanspreekpunt voor schulden in Heerlen", "limit": 3}).json()
    assert hits["results"][0]["document_id"] == "verslag-mei.md"

    again = upload("verslag-mei.md", first)  # the same file again: the same document, nothing new
    assert again["documents"] == ["verslag-mei.md"] and again["notes"] == []
    assert not (files_dir / "verslag-mei-3.md").exists()

    newer = first.replace(b"vast aanspreekpunt", b"vast en bereikbaar aanspreekpunt")
    replaced = upload("verslag-mei.md", newer, {"id": "verslag-mei.md"})  # explicitly that document
    assert replaced["documents"] == ["verslag-mei.md"] and replaced["notes"] == []
    assert (files_dir / "verslag-mei.md").read_bytes() == newer
    assert "bereikbaar" in str(c.get("/api/documents/verslag-mei.md").json()["passages"])


def test_removal_summary_counts_the_deleted_profile(small):
    """Review finding 20: the scrub's count of other people's profiles overwrote the deleted profile's count."""
    c = small
    for expert_id, name in (("karin-smit", "Karin Smit"), ("joost-pelt", "Joost Pelt")):
        save_profile(c.app.state.km, expert_id, name=name, consent=True, actor=COMMAND_LINE,
                     expertise="Werkt met Anna de Vries aan schulden bij gezinnen.")
    r = c.delete("/api/experts/anna-de-vries", headers=COORD)
    assert r.status_code == 200, r.text
    details = r.json()["details"]
    assert details["profiles"] == 1, details  # her own profile, deleted
    assert details["profiles_redacted"] == 2, details  # the two others that named her
    assert c.get("/api/experts/anna-de-vries").status_code == 404


def test_feedback_takes_only_ids_the_answer_could_show(small):
    """Review finding 15: a made-up id (or a name, as free text) pushed a question onto the agenda and was stored."""
    c = small
    qid = c.post("/api/ask", json={"question": "Hoe helpen we gezinnen met geldzorgen en schulden?"}).json()[
        "question_id"]
    other = c.post("/api/ask", json={"question": "Wat doet een buurtkamer?"}).json()["question_id"]

    def mark(item_type: str, item_id: str, helpful: bool = False):
        return c.post("/api/feedback", json={"question_id": qid, "type": item_type, "id": item_id,
                                             "helpful": helpful})

    made_up = [("document", "bestaat-niet"), ("document", "anna-de-vries"), ("expert", "onbekend"),
               ("expert", "piet-jansen"),  # exists, but never shown: no consent
               ("expert", "verslag-buurtkamer"), ("answer", "antwoord"), ("answer", other),
               ("answer", "Anna de Vries (anna@example.nl) wist het beter")]
    for item_type, item_id in made_up:
        r = mark(item_type, item_id)
        assert r.status_code == 400, (item_type, item_id, r.text)
        assert r.json()["error"]["field"] == "id" and "deze vraag" in r.json()["error"]["message"]
    assert c.app.state.km.catalog().marks() == []  # nothing stored, nothing counted
    c.get("/")
    r = c.post("/feedback", data={"question_id": qid, "type": "document", "id": "bestaat-niet", "helpful": "nee",
                                  "_csrf_token": c.cookies.get("km_csrf")})
    assert r.status_code == 400 and c.app.state.km.catalog().marks() == []  # the web form: the same check

    assert mark("document", "verslag-buurtkamer").json()["unhelpful"] == 1
    assert mark("expert", "anna-de-vries").json()["unhelpful"] == 2
    r = mark("answer", qid, helpful=True)
    assert r.status_code == 200 and (r.json()["helpful"], r.json()["unhelpful"]) == (1, 2)


def test_panels_and_agenda_are_for_coordinators(client):
    body = {"topic": "Expertmeeting over schaamte en armoede", "k": 3, "min_roles": {"onderzoeker": 1},
            "max_per_organization": 1}
    assert client.post("/api/panels", json=body).status_code == 401
    assert client.post("/api/panels", json=body, headers={"Authorization": "Bearer fout"}).status_code == 403
    r = client.post("/api/panels", json=body, headers=COORD)
    assert r.status_code == 200
    members = r.json()["members"]
    assert len(members) == 3 and all(m["why"] for m in members)
    assert any(m["expert"]["role"] == "onderzoeker" for m in members)
    client.post("/api/ask", json={"question": "Hoe begeleid je statushouders naar een eigen horecabedrijf?"})
    assert client.get("/api/agenda").status_code == 401
    agenda = client.get("/api/agenda", headers=COORD).json()
    assert agenda["open"] >= 1 and agenda["clusters"][0]["next_step"]


def test_401_and_403_are_clear_json(client):
    r = client.delete("/api/documents/verslag-2024-05-13-veerkracht")
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"
    assert r.headers["www-authenticate"] == "Bearer"
    r = client.delete("/api/documents/verslag-2024-05-13-veerkracht", headers={"Authorization": "Bearer nee"})
    assert r.status_code == 403 and "coördinator" in r.json()["error"]["message"]


def test_taxonomy_health_ready_and_schema(client):
    assert client.get("/api/taxonomy").json()["ateliers"][0]["slug"] == "kansrijk-met-jeugd"
    assert client.get("/health").json()["status"] == "ok"
    ready = client.get("/ready").json()
    documents = len(discover([SAMPLES / "documenten"], max_bytes=50 << 20).documents)  # the demo corpus, whole
    # the documents open to anyone: a count of all would say how many are not (three in the demo corpus)
    assert ready["status"] == "ready" and ready["checks"]["documents"] == documents - 3 and documents >= 54
    schema = client.get("/schema/openapi.json").json()
    assert schema["openapi"].startswith("3.1")
    for path in ("/api/ask", "/api/search", "/api/experts", "/api/panels", "/api/agenda", "/api/feedback",
                 "/api/documents", "/api/jobs/{job_id}", "/api/taxonomy", "/health", "/ready"):
        assert path in schema["paths"], path
    ui = client.get("/schema")
    assert ui.status_code == 200 and "/schema/assets/swagger-ui-bundle.js" in ui.text  # served here, no CDN
    assert client.get("/schema/assets/swagger-ui-bundle.js").status_code == 200


# --- errors and limits ---------------------------------------------------------------------------------

@pytest.mark.parametrize("method,path,kwargs,field", [
    ("get", "/api/search", {"params": {"q": ""}}, "q"),
    ("get", "/api/search", {"params": {"q": "x", "limit": 0}}, "limit"),
    ("get", "/api/search", {"params": {"q": "x", "atelier": "ruimtevaart"}}, "atelier"),
    ("get", "/api/search", {"params": {"q": "x", "from": "gisteren"}}, "from"),
    ("get", "/api/search", {"params": {"q": "x", "to": "2024-13"}}, "to"),
    ("post", "/api/ask", {"json": {"question": "   "}}, "question"),
    ("post", "/api/ask", {"json": {"question": "x", "role": "koning"}}, "role"),
    ("post", "/api/ask", {"json": {"vraag": "x"}}, None),  # an unknown field: named in the message
])
def test_bad_input_is_a_400_naming_the_field(client, method, path, kwargs, field):
    r = getattr(client, method)(path, **kwargs)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["message"]
    if field is None:
        assert "vraag" in error["message"], error
    else:
        assert error["field"] == field, error


def test_too_long_query_and_body(client):
    assert client.get("/api/search", params={"q": "woord " * 400}).status_code == 400
    big = {"question": "x" * 100_000}
    r = client.post("/api/ask", content=json.dumps(big), headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
    # nor without a length (chunked), nor by calling it multipart: only the upload routes take large bodies
    chunked = client.post("/api/ask", content=iter([json.dumps(big).encode()]),
                          headers={"content-type": "application/json"})
    assert chunked.status_code == 413 and chunked.json()["error"]["code"] == "too_large"
    multipart = client.post("/api/ask", files=[("files", ("x.txt", b"a" * 100_000))])
    assert multipart.status_code == 413


def test_unknown_things_are_404(client):
    assert client.get("/api/documents/bestaat-niet").status_code == 404
    assert client.get("/api/documents/bestaat/niet/file").status_code == 404
    assert client.get("/api/jobs/0123456789abcdef0123456789abcdef").status_code == 404
    assert client.get("/api/experts/wim-ramakers").status_code == 404  # no consent: not public
    assert client.get("/nergens").status_code == 404


def test_ask_is_rate_limited_per_client(fresh_samples):
    with _client(fresh_samples, KM_ASK_PER_MINUTE="3") as c:
        codes = [c.post("/api/ask", json={"question": f"vraag {i} over armoede"}).status_code for i in range(5)]
        assert codes == [200, 200, 200, 429, 429]
        r = c.post("/api/ask", json={"question": "nog een"})
        assert int(r.headers["retry-after"]) >= 1 and r.json()["error"]["code"] == "rate_limited"
        assert c.get("/api/search", params={"q": "armoede"}).status_code == 200  # search is not limited


# --- documents -----------------------------------------------------------------------------------------------

def test_upload_ingests_in_the_background_and_reports_per_file(client, tmp_path):
    good = docmaker.make_docx(tmp_path / "Verslag buurtkamer.docx", title="Verslag buurtkamer Heerlen-Noord")
    files = [("files", ("Verslag buurtkamer.docx", good.read_bytes())),
             ("files", ("kapot.pdf", b"%PDF-1.4 niet echt")),
             ("files", ("leeg.md", b""))]
    meta = json.dumps({"kind": "verslag", "ateliers": ["veerkracht"], "authors": ["Tom Smeets"]})
    r = client.post("/api/documents", files=files, data={"metadata": meta}, headers=COORD)
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    client.app.state.jobs.wait(120)
    job = client.get(f"/api/jobs/{job_id}").json()
    assert job["status"] == "done" and job["done"] == 3
    assert job["documents"] == ["verslag-buurtkamer.docx"]
    assert {e["file"] for e in job["errors"]} == {"kapot.pdf", "leeg.md"}
    doc = client.get("/api/documents/verslag-buurtkamer.docx").json()
    assert doc["kind"] == "verslag" and doc["ateliers"] == ["veerkracht-in-gemeenschappen"]
    assert {"tom-smeets"} <= {p["id"] for p in doc["people"]}
    found = client.get("/api/search", params={"q": "geldzorgen jongeren Heerlen-Noord", "kind": "verslag",
                                              "atelier": "veerkracht"}).json()["results"]
    assert "verslag-buurtkamer.docx" in [f["document_id"] for f in found]
    original = client.get("/api/documents/verslag-buurtkamer.docx/file")
    assert original.status_code == 200 and original.content == good.read_bytes()


def test_upload_errors(client):
    r = client.post("/api/documents", files=[("files", ("x.exe", b"MZ"))], headers=COORD)
    assert r.status_code == 415 and "x.exe" in r.json()["error"]["message"]
    assert client.post("/api/documents", files=[("files", ("a.md", b"# a"))]).status_code == 401
    r = client.post("/api/documents", files=[("files", ("a.md", b"# a"))], data={"metadata": "{kapot"},
                    headers=COORD)
    assert r.status_code == 400 and r.json()["error"]["field"] == "metadata"


def test_upload_over_the_file_limit_is_413(fresh_samples):
    with _client(fresh_samples, KM_MAX_FILE_MB="1") as c:
        r = c.post("/api/documents", files=[("files", ("groot.txt", b"a" * (1024 * 1024 + 10)))], headers=COORD)
        assert r.status_code == 413


def test_delete_document(client):
    doc = "verslag-2024-05-13-veerkracht"
    assert client.delete(f"/api/documents/{doc}", headers=COORD).json()["deleted"] is True
    assert client.get(f"/api/documents/{doc}").status_code == 404
    results = client.get("/api/search", params={"q": "vertrouwen in de wijk", "limit": 50}).json()["results"]
    assert doc not in {r["document_id"] for r in results}


def test_a_document_file_is_served_by_the_api_and_not_as_a_web_page(client):
    doc = "verslag-2024-05-13-veerkracht"
    assert client.get(f"/api/documents/{doc}/file").status_code == 200
    assert client.get(f"/documenten/{doc}/file").status_code == 404  # not a blank document page


def test_uploads_folder_is_absolute_with_a_relative_data_dir(tmp_path, monkeypatch):
    from service.jobs import JobRunner

    monkeypatch.chdir(tmp_path)
    runner = JobRunner(Path("data"), ingestor=lambda: None)
    # deleting an upload compares its stored (resolved) path with this folder
    assert runner.files_dir == (tmp_path / "data" / "files").resolve()


# --- experts: management and complete removal -----------------------------------------------------------------

def test_post_creates_and_put_replaces_a_profile(client):
    body = {"name": "Noa Jacobs", "role": "onderzoeker", "organization": "Open Universiteit",
            "ateliers": ["veerkracht"], "themes": [], "expertise": "Buurtrecht en bewonersinitiatieven in Parkstad.",
            "email": "noa@example.org", "consent": True}
    r = client.post("/api/experts", json=body, headers=COORD)  # the id: the slug of the name
    assert r.status_code == 201 and r.json()["ateliers"] == ["veerkracht-in-gemeenschappen"], r.text
    assert r.json()["id"] == "noa-jacobs" and r.headers["location"] == "/api/experts/noa-jacobs"
    public = client.get("/api/experts/noa-jacobs").json()
    assert public["email"] is None and public["consent"] is None
    # a profile without documents yet still surfaces, on the words of its profile
    found = client.get("/api/experts", params={"q": "buurtrecht", "limit": 10}).json()["experts"]
    assert "noa-jacobs" in [e["id"] for e in found]
    version = {**COORD, "If-Match": r.headers["etag"]}
    replaced = client.put("/api/experts/noa-jacobs", json={**body, "role": "lector", "email": None}, headers=version)
    assert replaced.status_code == 200 and replaced.json()["role"] == "lector", replaced.text
    assert replaced.json()["email"] is None and replaced.json()["ateliers"] == ["veerkracht-in-gemeenschappen"]
    assert client.post("/api/experts", json={**body, "id": "Noa Jacobs"}, headers=COORD).status_code == 400
    assert client.put("/api/experts/Noa Jacobs", json=body, headers=version).status_code == 400
    version = {**COORD, "If-Match": replaced.headers["etag"]}
    for blank in (client.post("/api/experts", json={**body, "id": "niemand", "name": "   "}, headers=COORD),
                  client.put("/api/experts/noa-jacobs", json={**body, "name": "   "}, headers=version)):
        assert blank.status_code == 400 and blank.json()["error"]["field"] == "name"
    assert client.get("/api/experts/noa-jacobs", headers=COORD).json()["name"] == "Noa Jacobs"


def test_removing_a_person_leaves_nothing(fresh_samples):
    person = "anna-de-vries"
    with _client(fresh_samples) as c:
        before = c.get(f"/api/experts/{person}").json()
        assert before["documents"]
        r = c.delete(f"/api/experts/{person}", headers=COORD)
        assert r.status_code == 200 and r.json()["details"]["documents"] == len(before["documents"])
        assert c.get(f"/api/experts/{person}", headers=COORD).status_code == 404
        for q in ("niet-gebruik van regelingen door ouders", "Anna de Vries"):
            found = c.get("/api/experts", params={"q": q, "limit": 50}, headers=COORD).json()["experts"]
            ids = {e["id"] for e in found}
            assert person not in ids
        panel = c.post("/api/panels", json={"topic": "niet-gebruik", "k": 6}, headers=COORD).json()
        assert person not in {m["expert"]["id"] for m in panel["members"]}
        km = c.app.state.km
        catalog = km.catalog()
        dumped = json.dumps([*catalog.documents(), *catalog.experts()], ensure_ascii=False).lower()
        chunks = json.dumps([h.payload for h in catalog.store.scroll(CHUNKS, fields=["people"])]).lower()
        assert "anna de vries" not in dumped and person not in dumped and "anna de vries" not in chunks
        # a re-ingest of the same source files does not bring her back
        report = km.ingestor().run([SAMPLES / "documenten", SAMPLES / "experts"])
        assert report.ok and catalog.expert(person) is None
        dumped = json.dumps([*catalog.documents(), *catalog.experts()], ensure_ascii=False).lower()
        assert "anna de vries" not in dumped and "anna-de-vries" not in dumped


# --- privacy of logs and questions ------------------------------------------------------------------------------

def test_logs_carry_no_question_text_and_no_names(client, caplog):
    secret = "Mijn buurvrouw Henriëtte Zwartbroek heeft schulden"
    with caplog.at_level(logging.DEBUG):
        client.post("/api/ask", json={"question": secret, "role": "professional"})
        client.get("/api/search", params={"q": secret})
        client.get("/api/experts/petra-huijts")
        client.get("/coordinatie/experts/petra-huijts")  # a web route with a person's id in its path
        client.post("/api/ask", json={"question": ""})
    # everything the service logs (the test client's own httpx log lines are not the service's)
    logged = " ".join(r.getMessage() for r in caplog.records if not r.name.startswith("httpx"))
    assert "/api/search" in logged  # the access log is there ...
    assert "Zwartbroek" not in logged and "buurvrouw" not in logged and "petra" not in logged  # ... but says nothing


def test_old_questions_are_purged_at_start(fresh_samples):
    with _client(fresh_samples) as c:
        km = c.app.state.km
        log = QuestionLog(km.catalog())
        old = log.record("een oude vraag", km.embedder.embed_query("een oude vraag"), atelier=None,
                         atelier_inferred=True, best_score=0.5,
                         asked_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=400))
        new = c.post("/api/ask", json={"question": TRUST}).json()["question_id"]
    with _client(fresh_samples, KM_QUESTION_RETENTION_DAYS="365") as c:
        ids = {q["question_id"] for q in QuestionLog(c.app.state.km.catalog()).all()}
        assert old not in ids and new in ids
