"""What a coordinator decided in the service wins over files; uploads never lose a version.

Through the real CLI and the real app on a copy of the ingested demo corpus.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
import yaml
from litestar.testing import TestClient

from core.store.catalog import CHUNKS
from service.cli import main
from tests import docmaker
from tests.conftest import SAMPLES, give_the_cli, make_settings
from web.app import create_app

pytestmark = pytest.mark.slow
TOKEN = "trust-token"
COORD = {"Authorization": f"Bearer {TOKEN}"}
ENV = {"KM_COORDINATOR_TOKENS": TOKEN}  # the secret: the demo store's own secret.key


@pytest.fixture
def data(fresh_samples: Path, e5, monkeypatch) -> Path:
    give_the_cli(monkeypatch, e5)  # the CLI gets the loaded model
    return fresh_samples


def _app(data: Path) -> TestClient:
    return TestClient(create_app(make_settings(data, **ENV)))


def _cli(data: Path, *args: str) -> tuple[int, dict]:
    out, err = io.StringIO(), io.StringIO()
    code = main([*args, "--json"], settings=make_settings(data, **ENV), out=out, err=err)
    assert code in (0, 1), err.getvalue()
    return code, json.loads(out.getvalue())


def _expert(data: Path, expert_id: str) -> dict:
    with _app(data) as c:
        return c.app.state.km.catalog().expert(expert_id)


def _profile_body(profile: dict, **changes: object) -> dict:
    keys = ("name", "role", "organization", "ateliers", "themes", "expertise", "email", "consent")
    return {**{k: profile[k] for k in keys}, **changes}


@pytest.fixture
def experts_copy(tmp_path: Path) -> Path:
    target = tmp_path / "experts"
    shutil.copytree(SAMPLES / "experts", target)
    return target


# --- 1. consent and coordinator edits win over files ------------------------------------------------------------

def test_withdrawn_consent_survives_a_reingest_of_the_unchanged_file(data):
    """The reproduction: consent true in the file, withdrawn through the API, the unchanged file ingested again."""
    person = "anna-de-vries"
    with _app(data) as c:
        got = c.get(f"/api/experts/{person}", headers=COORD)
        profile = got.json()
        assert profile["consent"] is True
        r = c.put(f"/api/experts/{person}", json=_profile_body(profile, consent=False),
                  headers={**COORD, "If-Match": got.headers["etag"]})
        assert r.status_code == 200 and r.json()["consent"] is False
    code, report = _cli(data, "ingest", str(SAMPLES / "experts"))
    assert code == 0
    assert {f["status"] for f in report["files"]} == {"unchanged"} and report["added"] == 0
    stored = _expert(data, person)
    assert stored["consent"] is False and stored["visibility"] == "hidden" and "consent" in stored["edited"]
    with _app(data) as c:
        assert c.get(f"/api/experts/{person}").status_code == 404
        found = c.get("/api/experts", params={"q": "niet-gebruik van voorzieningen en schaamte", "limit": 50})
        assert person not in {e["id"] for e in found.json()["experts"]}


def test_a_changed_file_updates_only_what_the_service_did_not_edit_and_names_each_conflict(data, experts_copy):
    person = "anna-de-vries"
    with _app(data) as c:  # the web form this time: a coordinator's session
        got = c.get(f"/api/experts/{person}", headers=COORD)
        profile = got.json()
        c.get("/coordinatie/inloggen")
        csrf = c.cookies.get("km_csrf")
        c.post("/coordinatie/inloggen", data={"token": TOKEN, "_csrf_token": csrf})
        form = {**_profile_body(profile, role="lector"), "ateliers": profile["ateliers"], "_csrf_token": csrf,
                "version": got.headers["etag"].strip('"')}  # the form's hidden field: the version it shows
        form.pop("consent")  # an unticked box: consent withdrawn
        r = c.post(f"/coordinatie/experts/{person}", data=form, follow_redirects=False)
        assert r.status_code == 303, r.text
    edited = _expert(data, person)
    assert edited["role"] == "lector" and edited["consent"] is False
    assert set(edited["edited"]) == {"role", "consent"}

    # the file changes: a new organisation (not edited here), another role and consent (edited here)
    path = experts_copy / "experts.yaml"
    doc = yaml.safe_load(path.read_text("utf-8"))
    entry = next(e for e in doc["experts"] if e["id"] == person)
    entry.update(organization="Maastricht University", role="hoogleraar", consent=True)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), "utf-8")
    # the copy lives elsewhere: the profiles' root changes too, so every profile of the file is 'changed'
    code, report = _cli(data, "ingest", str(experts_copy))
    assert code == 0
    conflicts = [c for f in report["files"] for c in f["conflicts"]]
    assert conflicts == [{"file": "experts.yaml", "person": person, "field": "consent"},
                         {"file": "experts.yaml", "person": person, "field": "role"}]
    assert report["conflicts"] == 2
    stored = _expert(data, person)
    assert stored["organization"] == "Maastricht University"  # not edited in the service: the file wins
    assert stored["role"] == "lector" and stored["consent"] is False  # edited: the service wins

    # only a coordinator's explicit action restores consent
    with _app(data) as c:
        assert c.get(f"/api/experts/{person}").status_code == 404
        got = c.get(f"/api/experts/{person}", headers=COORD)  # hidden from the public, not from a coordinator
        body = _profile_body(got.json(), consent=True)
        assert c.put(f"/api/experts/{person}", json=body, headers={**COORD, "If-Match": got.headers["etag"]}
                     ).status_code == 200
        assert c.get(f"/api/experts/{person}").status_code == 200


def test_a_document_deleted_in_the_service_stays_deleted_until_its_file_changes_or_a_flag_says_so(data, tmp_path):
    docs = tmp_path / "documenten"
    shutil.copytree(SAMPLES / "documenten", docs)
    doc = "verslag-2024-05-13-veerkracht"
    with _app(data) as c:
        assert c.delete(f"/api/documents/{doc}", headers=COORD).status_code == 200
    code, report = _cli(data, "ingest", str(docs))
    skipped = [f for f in report["files"] if f["status"] == "skipped"]
    assert code == 0 and [f["document_id"] for f in skipped] == [doc] and report["skipped"] == 1
    assert "verwijderd door een coördinator — overgeslagen" in skipped[0]["message"]
    with _app(data) as c:
        assert c.get(f"/api/documents/{doc}").status_code == 404

    # an explicit flag brings it back ...
    _, report = _cli(data, "ingest", str(docs), "--restore-deleted")
    assert [f["document_id"] for f in report["files"] if f["status"] == "added"] == [doc]
    # ... and after a second deletion, so does a changed file
    with _app(data) as c:
        c.delete(f"/api/documents/{doc}", headers=COORD)
    path = next(p for p in docs.iterdir() if p.name.startswith(doc))
    path.write_text(path.read_text("utf-8") + "\n\nAanvulling: een tweede bijeenkomst volgt in juni.\n", "utf-8")
    _, report = _cli(data, "ingest", str(docs))
    assert [f["document_id"] for f in report["files"] if f["status"] == "added"] == [doc]
    _, report = _cli(data, "ingest", str(docs))  # the tombstone went with the comeback
    assert report["skipped"] == 0 and report["added"] == 0


def test_a_recreate_keeps_what_exists_only_in_the_store(data):
    """``ingest --recreate`` (after a model change) drops the vectors, not the coordinators' decisions."""
    with _app(data) as c:
        got = c.get("/api/experts/petra-huijts", headers=COORD)
        assert c.put("/api/experts/petra-huijts", json=_profile_body(got.json(), consent=False),
                     headers={**COORD, "If-Match": got.headers["etag"]}).status_code == 200
        assert c.delete("/api/experts/anna-de-vries", headers=COORD).status_code == 200
        assert c.delete("/api/documents/verslag-2024-05-13-veerkracht", headers=COORD).status_code == 200
        asked = c.post("/api/ask", json={"question": "Hoe bereik je ouders die regelingen laten liggen?"}).json()
    code, report = _cli(data, "ingest", str(SAMPLES / "documenten"), str(SAMPLES / "experts"), "--recreate")
    assert code == 0 and report["skipped"] == 1
    with _app(data) as c:
        catalog = c.app.state.km.catalog()
        assert catalog.expert("petra-huijts")["consent"] is False
        assert catalog.expert("anna-de-vries") is None
        assert catalog.document("verslag-2024-05-13-veerkracht") is None
        assert not [h for h in catalog.store.scroll(CHUNKS, fields=["text"]) if "Anna de Vries" in h.payload["text"]]
        assert c.app.state.km.broker().questions.get(asked["question_id"])["text"].startswith("Hoe bereik je")


# --- 3. uploads never lose a version -------------------------------------------------------------------------

def _upload(c: TestClient, files: list[tuple[str, bytes]], metadata: dict | None = None) -> dict:
    data = {"metadata": json.dumps(metadata)} if metadata else None
    r = c.post("/api/documents", files=[("files", f) for f in files], data=data, headers=COORD)
    assert r.status_code == 202, r.text
    c.app.state.jobs.wait(180)
    return c.get(f"/api/jobs/{r.json()['id']}").json()


def test_a_failed_replacement_leaves_the_earlier_version_untouched(data, tmp_path):
    good = docmaker.make_docx(tmp_path / "v1.docx", title="Verslag buurtkamer Heerlen-Noord")
    with _app(data) as c:
        job = _upload(c, [("Verslag buurtkamer.docx", good.read_bytes())], {"kind": "verslag"})
        assert job["documents"] == ["verslag-buurtkamer.docx"] and not job["errors"]
        km = c.app.state.km
        before = km.catalog().document("verslag-buurtkamer.docx")
        stored = c.app.state.jobs.files_dir / "verslag-buurtkamer.docx"
        sidecar = Path(f"{stored}.yaml").read_text("utf-8")
        passages = sorted(h.id for h in km.catalog().store.scroll(CHUNKS, filter=None, fields=["document_id"])
                          if h.payload["document_id"] == "verslag-buurtkamer.docx")

        # a replacement names the document (review finding 11: a file name alone never takes another's place)
        job = _upload(c, [("Verslag buurtkamer.docx", b"PK\x03\x04 dit is geen docx")],
                      {"kind": "rapport", "id": "verslag-buurtkamer.docx"})
        assert job["documents"] == [] and len(job["errors"]) == 1
        assert job["errors"][0]["file"] == "verslag-buurtkamer.docx"
        assert stored.read_bytes() == good.read_bytes()
        assert Path(f"{stored}.yaml").read_text("utf-8") == sidecar
        after = km.catalog().document("verslag-buurtkamer.docx")
        assert after["content_hash"] == before["content_hash"] and after["kind"] == "verslag"
        assert sorted(h.id for h in km.catalog().store.scroll(CHUNKS, fields=["document_id"])
                      if h.payload["document_id"] == "verslag-buurtkamer.docx") == passages
        original = c.get("/api/documents/verslag-buurtkamer.docx/file")
        assert original.status_code == 200 and original.content == good.read_bytes()


def test_two_files_for_one_stored_name_and_windows_paths(data, tmp_path):
    one = docmaker.make_docx(tmp_path / "a.docx", title="Verslag mei: de buurtkamer")
    two = docmaker.make_docx(tmp_path / "b.docx", title="Verslag mei: het jongerenwerk")
    with _app(data) as c:
        job = _upload(c, [("Verslag Mei.docx", one.read_bytes()), ("verslag-mei.docx", two.read_bytes()),
                          ("C:\\map\\Agenda juni.docx", two.read_bytes())])
        assert job["documents"] == ["agenda-juni.docx", "verslag-mei.docx"]
        assert len(job["errors"]) == 1 and job["errors"][0]["file"] == "verslag-mei.docx"
        assert "dezelfde naam" in job["errors"][0]["message"] and "Verslag Mei.docx" in job["errors"][0]["message"]
        assert (c.app.state.jobs.files_dir / "verslag-mei.docx").read_bytes() == one.read_bytes()
        assert not any("map" in p.name for p in c.app.state.jobs.files_dir.iterdir())
