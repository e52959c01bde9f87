"""Who may see what (issue 24): a document's visibility, as an attacker tries it.

A canary document per level, each with a word no other document holds and written by a consenting person whose
profile says nothing of it. Every public surface is asked for the word, the document and the person, as the
public and as a coordinator; only the allowed ones see them. Then the guarantees around the level itself: a
coordinator's choice holds at once on every worker and outlasts the file, a misspelt level hides rather than
shows, the default is a setting, and a store from before visibility keeps showing what it showed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient
from qdrant_client import QdrantClient

from core.store.server import ServerStore
from core.store.types import Point
from core.visibility import PUBLIC
from service.container import Kennismakelaar
from tests.conftest import make_settings
from tests.test_workers import Serialised
from web.app import create_app

pytestmark = pytest.mark.slow
TOKEN = "zichtbaarheid-token"
COORD = {"Authorization": f"Bearer {TOKEN}"}
# level → (canary word, document id, author's id, the author's name, a kind only this document has)
CANARIES = {
    "openbaar": ("zwaluwstaartnest", "canary-openbaar", "olga-open", "Olga Open", "factsheet"),
    "werkplaats": ("kwartelkoningsei", "canary-werkplaats", "wim-werk", "Wim Werk", "handreiking"),
    "atelier:kansrijk-met-jeugd": ("grutto-ringetje", "canary-atelier", "anke-atelier", "Anke Atelier",
                                   "beleidsadvies"),
    "coordinatie": ("ijsvogelveertje", "canary-coordinatie", "cor-coord", "Cor Coord", "experiment"),
}
HIDDEN = [level for level in CANARIES if level != "openbaar"]


def _corpus(root: Path) -> tuple[Path, Path]:
    docs, people = root / "docs", root / "experts"
    docs.mkdir(parents=True)
    people.mkdir()
    profiles = []
    for level, (word, doc_id, person, name, kind) in CANARIES.items():
        (docs / f"{doc_id}.md").write_text(
            f"---\nid: {doc_id}\ntitle: Notitie over de buurtschuur ({_secret(word)})\nkind: {kind}\n"
            f"visibility: {level}\n"
            f"authors: [{name}]\nateliers: [kansrijk-met-jeugd]\n---\n\n# Notitie\n\nIn de buurtschuur spraken "
            f"jongeren en ouders over schulden en schaamte. Het codewoord van deze notitie is {word}; het staat "
            f"in geen ander document. {word} {word}. Kenmerk {_secret(word)}.\n", "utf-8")
        profiles.append(f"  - id: {person}\n    name: {name}\n    role: onderzoeker\n    consent: true\n"
                        "    expertise: Tuinieren en moestuinen in de wijk.\n")
    (docs / "filler.md").write_text("---\nid: filler\ntitle: Schulden bij jongeren\nkind: rapport\n---\n\n"
                                    "# Schulden\n\nJongeren met schulden schamen zich en vragen laat hulp.\n", "utf-8")
    (people / "mensen.yaml").write_text("experts:\n" + "".join(profiles), "utf-8")
    return docs, people


def _secret(word: str) -> str:
    """A second mark of a canary that no question holds: seen anywhere, it came from the document (the word
    itself is in the question, and pages and the API echo a question)."""
    return f"kenmerk{word[::-1]}"


def _ingest(km: Kennismakelaar, root: Path) -> None:
    report = km.ingestor().run(list(_corpus(root)))
    assert report.ok, report.summary()


@pytest.fixture
def app(tmp_path: Path, e5) -> Iterator[TestClient]:
    settings = make_settings(tmp_path / "data", KM_COORDINATOR_TOKENS=TOKEN, KM_ASK_PER_MINUTE="1000",
                             KM_REQUESTS_PER_MINUTE="10000")
    km = Kennismakelaar(settings, embedder=e5)
    _ingest(km, tmp_path)
    with TestClient(create_app(km=km)) as client:
        yield client


def _surfaces(client: TestClient, word: str, doc_id: str, person: str, headers: dict[str, str]) -> dict[str, str]:
    """What each public surface answers to someone looking for ``word``, the document and its author."""
    question = f"Wat weten we over {word} en de buurtschuur?"
    out = {
        "api search": client.get("/api/search", params={"q": word}, headers=headers).text,
        "api search (facets, totals)": client.get("/api/search", params={"q": "buurtschuur schulden"},
                                                  headers=headers).text,
        "api ask": client.post("/api/ask", json={"question": question}, headers=headers).text,
        "api experts": client.get("/api/experts", params={"q": word}, headers=headers).text,
        "api document": client.get(f"/api/documents/{doc_id}", headers=headers).text,
        "api file": client.get(f"/api/documents/{doc_id}/file", headers=headers).text,
        "api profile": client.get(f"/api/experts/{person}", headers=headers).text,
        "page search": client.get("/zoeken", params={"q": word}, headers=headers).text,
        "page document": client.get(f"/documenten/{doc_id}", headers=headers).text,
        "page profile": client.get(f"/experts/{person}", headers=headers).text,
    }
    client.get("/")
    asked = client.post("/vraag", data={"question": question, "_csrf_token": client.cookies.get("km_csrf", "")},
                        headers=headers)
    out["page answer"] = asked.text
    return out


def _seen(where: str, text: str, word: str, doc_id: str, kind: str) -> list[str]:
    found = ["text"] if _secret(word) in text else []
    if doc_id in text and "document" not in where and "file" not in where:  # those echo the id they were given
        found.append("document id")
    if f'"{kind}":' in text:  # a facet count of the only document of this kind
        found.append("facet")
    return found


@pytest.mark.parametrize("level", HIDDEN)
def test_for_the_public_a_hidden_document_does_not_exist_on_any_surface(app, level):
    word, doc_id, person, _, kind = CANARIES[level]
    leaks = {where: seen for where, text in _surfaces(app, word, doc_id, person, {}).items()
             if (seen := _seen(where, text, word, doc_id, kind))}
    assert leaks == {}
    assert [app.get(url).status_code for url in (f"/api/documents/{doc_id}", f"/api/documents/{doc_id}/file",
                                                 f"/documenten/{doc_id}")] == [404, 404, 404]
    # not even by the error: the same as for a document that never existed
    missing = app.get("/api/documents/bestaat-niet").text
    assert app.get(f"/api/documents/{doc_id}").text == missing.replace("bestaat-niet", doc_id)
    # the author, whose only evidence for the word is that document, is not suggested on it: no reason, no
    # count of documents (found at all, it is by the profile, as everyone with a profile can be)
    for found in (app.get("/api/experts", params={"q": f"{word} buurtschuur"}).json()["experts"],
                  app.post("/api/ask", json={"question": f"Wie weet van {word}?"}).json()["experts"]):
        theirs = [e for e in found if e["id"] == person]
        assert all(e["documents"] == 0 and all(r["type"] == "profile" for r in e["reasons"]) for e in theirs), theirs
        assert {r.get("document_id") for e in found for r in e["reasons"]} <= {None, "canary-openbaar", "filler"}


@pytest.mark.parametrize("level", HIDDEN)
def test_a_coordinator_finds_each_hidden_canary_on_every_surface(app, level):
    """The other side of the test above: each surface does show the canary to whoever may see it, so the
    public's empty answer is the filter's work, not a surface that would show nothing anyway."""
    word, doc_id, person, _, kind = CANARIES[level]
    surfaces = _surfaces(app, word, doc_id, person, COORD)
    missed = [where for where, text in surfaces.items() if not _seen(where, text, word, doc_id, kind)]
    assert missed == []
    # and marked where a person is suggested because of it, so that it is not passed on
    experts = app.get("/api/experts", params={"q": f"{word} buurtschuur"}, headers=COORD).json()["experts"]
    reasons = [r for e in experts for r in e["reasons"] if r.get("document_id") == doc_id]
    assert reasons and {r["visibility"] for r in reasons} == {level}
    assert re.search(rf'<li>(Schreef|Werkte mee aan): <a href="/documenten/{doc_id}">[^<]*</a> '
                     r'<span class="badge restricted">Niet openbaar', surfaces["page answer"])


def test_the_public_sees_the_open_canary_and_a_coordinator_sees_every_one(app):
    word, doc_id, person, _, _ = CANARIES["openbaar"]
    found = app.get("/api/search", params={"q": word}).json()["results"]
    assert [r["document_id"] for r in found][:1] == [doc_id]
    assert doc_id in [d["document_id"] for d in app.get(f"/api/experts/{person}").json()["documents"]]
    for level, (word, doc_id, _, _, _) in CANARIES.items():
        shown = app.get("/api/search", params={"q": word}, headers=COORD).json()["results"]
        assert [(r["document_id"], r["visibility"]) for r in shown][:1] == [(doc_id, level)], level  # marked
        assert app.get(f"/api/documents/{doc_id}", headers=COORD).json()["visibility"] == level


def test_a_coordinators_choice_holds_at_once_and_outlasts_a_new_version_of_the_file(app, tmp_path):
    word, doc_id, _, _, _ = CANARIES["openbaar"]
    km = app.app.state.km
    changed = app.patch(f"/api/documents/{doc_id}", json={"visibility": "coordinatie"}, headers=COORD)
    assert changed.status_code == 200 and changed.json()["visibility"] == "coordinatie"
    assert doc_id not in app.get("/api/search", params={"q": word}).text
    assert app.get(f"/api/documents/{doc_id}").status_code == 404
    assert [e.target for e in km.audit().entries(action="zichtbaar-coordinatie")] == [doc_id]
    # the file, edited, still says nothing of it (its author's openbaar): the coordinator's choice stands
    path = tmp_path / "docs" / f"{doc_id}.md"
    path.write_text(path.read_text("utf-8") + "\nEen nieuwe alinea over de buurtschuur.\n", "utf-8")
    report = km.ingestor().run([tmp_path / "docs"])
    assert [o.status for o in report.outcomes if o.document_id == doc_id] == ["updated"]
    assert km.catalog().document(doc_id)["visibility"] == "coordinatie"
    assert {p["visibility"] for p in km.catalog().chunks_of(doc_id)} == {"coordinatie"}
    assert doc_id not in app.get("/api/search", params={"q": word}).text
    # an unknown level is refused by name, and nothing changes
    wrong = app.patch(f"/api/documents/{doc_id}", json={"visibility": "geheim"}, headers=COORD)
    assert wrong.status_code == 400 and "werkplaats" in wrong.text
    assert app.patch(f"/api/documents/{doc_id}", json={"visibility": "openbaar"}).status_code == 401


def test_a_misspelt_level_hides_the_document_and_the_report_says_so(tmp_path, e5):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "typo.md").write_text("---\nid: typo\nvisibility: intren\n---\n\n# Typo\n\nEen notitie over grutto's.\n")
    km = Kennismakelaar(make_settings(tmp_path / "data"), embedder=e5)
    report = km.ingestor().run([docs])
    (outcome,) = report.outcomes
    assert km.catalog().document("typo")["visibility"] == "coordinatie"
    assert any("onbekende zichtbaarheid 'intren'" in w for w in outcome.warnings), outcome.warnings


def test_the_default_is_a_setting_and_a_changed_default_reaches_documents_already_in(tmp_path, e5):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "zonder.md").write_text("# Zonder\n\nEen notitie zonder zichtbaarheid over de kievit.\n", "utf-8")
    (docs / "met.md").write_text("---\nvisibility: openbaar\n---\n\n# Met\n\nOver de kievit, openbaar.\n", "utf-8")
    data = tmp_path / "data"
    km = Kennismakelaar(make_settings(data, KM_DEFAULT_VISIBILITY="werkplaats"), embedder=e5)
    assert km.ingestor().run([docs]).ok
    assert {d["document_id"]: d["visibility"] for d in km.catalog().documents()} == {
        "zonder.md": "werkplaats", "met.md": "openbaar"}
    assert [f.document_id for f in km.broker(PUBLIC).search("kievit").results] == ["met.md"]
    km.close()
    km = Kennismakelaar(make_settings(data, KM_DEFAULT_VISIBILITY="openbaar"), embedder=e5)
    report = km.ingestor().run([docs])
    assert {o.document_id: o.status for o in report.outcomes} == {"zonder.md": "updated", "met.md": "unchanged"}
    assert sorted(f.document_id for f in km.broker(PUBLIC).search("kievit").results) == ["met.md", "zonder.md"]
    with pytest.raises(Exception, match="KM_DEFAULT_VISIBILITY"):
        _ = Kennismakelaar(make_settings(data, KM_DEFAULT_VISIBILITY="atelier:bestaat-niet"),
                           embedder=e5).default_visibility


def test_a_change_on_one_worker_holds_on_the_other_at_once(tmp_path, e5):
    store = ServerStore(Serialised(QdrantClient(":memory:")))
    env = {"KM_SECRET_KEY": "gedeeld-geheim-van-beide-workers-samen", "KM_COORDINATOR_TOKENS": TOKEN,
           "KM_REQUESTS_PER_MINUTE": "10000"}
    a_km, b_km = (Kennismakelaar(make_settings(tmp_path / n, **env), store=store, embedder=e5) for n in "ab")
    _ingest(a_km, tmp_path)
    word, doc_id, _, _, _ = CANARIES["openbaar"]
    with TestClient(create_app(km=a_km)) as a, TestClient(create_app(km=b_km)) as b:
        assert doc_id in b.get("/api/search", params={"q": word}).text  # cached by b now
        assert a.patch(f"/api/documents/{doc_id}", json={"visibility": "werkplaats"}, headers=COORD).status_code == 200
        assert doc_id not in b.get("/api/search", params={"q": word}).text
        assert b.get(f"/documenten/{doc_id}").status_code == 404
        for level, (word, doc_id, _, _, _) in CANARIES.items():
            if level != "openbaar":  # the server path filters as the embedded one
                assert doc_id not in b.get("/api/search", params={"q": word}).text, level


def test_a_store_from_before_visibility_shows_what_it_showed(tmp_path, e5, monkeypatch):
    """Schema 2: passages and records without the field, which every filter would miss."""
    import ingestion.records as records
    from core.store.catalog import _META_ID, META

    shared = records._shared
    monkeypatch.setattr(records, "_shared", lambda doc: {k: v for k, v in shared(doc).items() if k != "visibility"})
    data, docs = tmp_path / "data", tmp_path / "docs"
    docs.mkdir()
    (docs / "oud.md").write_text("# Oud\n\nEen verslag van vroeger over de tureluur.\n", "utf-8")
    (docs / "intern.md").write_text("# Intern\n\nEen interne notitie over de tureluur.\n", "utf-8")
    km = Kennismakelaar(make_settings(data), embedder=e5)
    assert km.ingestor().run([docs]).ok
    km.catalog().ledger.put("visibility", "intern.md", {"visibility": "werkplaats"})  # a ledger newer than these
    store = km.catalog().store
    meta = store.retrieve(META, [_META_ID])[0].payload
    store.upsert(META, [Point(_META_ID, {**meta, "schema": 2})])
    assert km.broker(PUBLIC).search("tureluur").results == []  # what the filter would miss
    km.close()
    monkeypatch.undo()
    again = Kennismakelaar(make_settings(data), embedder=e5)
    assert [f.document_id for f in again.broker(PUBLIC).search("tureluur").results] == ["oud.md"]
    assert again.catalog().visibility_counts() == {"openbaar": 1, "werkplaats": 1}
    assert {p["visibility"] for p in again.catalog().chunks_of("oud.md")} == {"openbaar"}


def test_feedback_and_readiness_say_nothing_of_a_hidden_document(app):
    question_id = app.post("/api/ask", json={"question": "Wat weten we over de buurtschuur?"}).json()["question_id"]
    answers = {}
    for doc_id in ("canary-coordinatie", "bestaat-niet"):
        r = app.post("/api/feedback", json={"question_id": question_id, "type": "document", "id": doc_id,
                                            "helpful": True})
        answers[doc_id] = (r.status_code, r.text.replace(doc_id, "ID"))
    assert answers["canary-coordinatie"] == answers["bestaat-niet"] and answers["bestaat-niet"][0] == 400
    assert app.post("/api/feedback", headers=COORD, json={"question_id": question_id, "type": "document",
                                                          "id": "canary-coordinatie", "helpful": True}).is_success
    assert app.get("/ready").json()["checks"]["documents"] == 2  # the open canary and the filler


def test_an_imported_backup_keeps_the_coordinators_choices(app, tmp_path, e5):
    from service.backup import export_store, import_store

    word, doc_id, *_ = CANARIES["openbaar"]
    assert app.patch(f"/api/documents/{doc_id}", json={"visibility": "coordinatie"}, headers=COORD).is_success
    export_store(app.app.state.km, tmp_path / "export")
    # a new machine: the files taken in first (their own levels), then the backup
    fresh = Kennismakelaar(make_settings(tmp_path / "nieuw", KM_SECRET_KEY=_secret_of(app)), embedder=e5)
    assert fresh.ingestor().run([tmp_path / "docs", tmp_path / "experts"]).ok
    assert fresh.catalog().document(doc_id)["visibility"] == "openbaar"
    report = import_store(fresh, tmp_path / "export")
    assert report["visibility_applied"] == 1 and fresh.catalog().document(doc_id)["visibility"] == "coordinatie"
    assert doc_id not in [f.document_id for f in fresh.broker(PUBLIC).search(word).results]


def _secret_of(client: TestClient) -> str:
    return (client.app.state.km.settings.store.data_dir / "secret.key").read_text().strip()
