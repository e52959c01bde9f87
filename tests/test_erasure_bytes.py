"""A removal on request reaches the bytes: once ``DELETE /api/experts/{id}`` has returned, no file under
KM_DATA_DIR holds the person's name, name with initial or e-mail address (UTF-8 or UTF-16, any case, composed or
decomposed accents) — store, write-ahead logs, payload pages, uploads, sidecars, embedding cache included — and the
cached vector of their profile is gone (review findings 1, 2 and 13; repro_01)."""

from __future__ import annotations

import json
import sqlite3
import unicodedata
from pathlib import Path

import numpy as np
from litestar.testing import TestClient

from tests.bytescan import files_holding
from tests.conftest import make_settings
from tests.docmaker import make_docx
from web.app import create_app

TOKEN = "geheim-token"
COORD = {"Authorization": f"Bearer {TOKEN}"}
PERSON, NAME, INITIAL, MAIL = "daan-brouns", "Daan Brouns", "D. Brouns", "d.brouns@example.nl"


def _scan(data: Path) -> list[str]:
    nfd = unicodedata.normalize("NFD", NAME)
    return files_holding(data, NAME, INITIAL, MAIL, nfd, "daan.brouns")


def test_after_a_removal_no_file_in_the_data_folder_holds_the_person(fresh_samples: Path) -> None:
    data = fresh_samples
    settings = make_settings(data, KM_COORDINATOR_TOKENS=TOKEN)
    with TestClient(create_app(settings)) as c:
        km = c.app.state.km
        put = c.get(f"/api/experts/{PERSON}", headers=COORD)
        profile = put.json()
        profile_text = km.ingestor().remover().profile_text(km.catalog().expert(PERSON))
        cached = km.embedder.embed_documents([profile_text])[0].tobytes()  # what the cache holds for it
        # an address the service keeps (a coordinator adds it), a question and a request that name him
        body = {k: profile[k] for k in ("name", "role", "organization", "ateliers", "themes", "expertise")}
        r = c.put(f"/api/experts/{PERSON}", json={**body, "email": MAIL, "consent": True},
                  headers={**COORD, "If-Match": put.headers.get("etag", "")})
        assert r.status_code == 200, r.text
        assert c.post("/api/ask", json={"question": f"Wat weet {NAME} van jongeren met schulden?"}).status_code == 200
        r = c.post("/api/contact-requests", json={
            "name": "Sara Bakker", "email": "sara@wijkteam.nl", "expert_id": PERSON,
            "message": f"Ik sprak {INITIAL} op de Werkplaatsdag ({MAIL}), graag contact."})
        assert r.status_code in (200, 201), r.text
        # uploads that name him: a Markdown file with front matter, a text file, and a binary one
        md = (f"---\ntitle: Intervisie met {NAME}\nparticipants:\n- {NAME}\n- Petra Huijts\n---\n\n"
              f"# Intervisie\n\nAanwezig: {unicodedata.normalize('NFD', NAME)} ({MAIL}) en Petra Huijts.\n"
              "We spraken over jongeren met schulden en over schaamte.\n")
        txt = f"Verslag van een huisbezoek.\n{NAME.upper()} was erbij; zijn adres is {MAIL}.\n"
        docx = make_docx(data.parent / "gesprek-daan.docx", title=f"Gesprek met {NAME} over geldzorgen")
        for name, content in (("intervisie-daan.md", md.encode()), ("huisbezoek.txt", txt.encode()),
                              ("gesprek-daan.docx", docx.read_bytes())):
            r = c.post("/api/documents", files=[("files", (name, content))], headers=COORD)
            assert r.status_code in (200, 202), r.text
            c.app.state.jobs.wait(120)
        files = data / "files"
        assert _scan(files), "the uploads must name him before the removal, or the test proves nothing"

        r = c.delete(f"/api/experts/{PERSON}", headers=COORD)
        assert r.status_code == 200, r.text
        details = r.json()["details"]
        assert details["profiles"] == 1 and details["files_redacted"] >= 2 and details["files_deleted"] >= 1
        # a binary original cannot be redacted in place: it goes, its redacted passages stay
        assert not (files / "gesprek-daan.docx").exists()
        kept = c.get("/api/documents/gesprek-daan.docx").json()
        assert kept["passages"] and NAME not in json.dumps(kept)
        # still served, redacted; no original with his name is served to anyone
        doc = c.get("/api/documents/intervisie-daan.md").json()
        assert NAME not in json.dumps(doc) and "Petra Huijts" in json.dumps(doc)
        for doc_id in ("intervisie-daan.md", "huisbezoek.txt"):
            for headers in ({}, COORD):
                got = c.get(f"/api/documents/{doc_id}/file", headers=headers)
                assert got.status_code == 404 or NAME.lower() not in got.text.lower()
        assert _scan(data) == []  # while the service still runs: the removal has returned
    assert _scan(data) == []  # and after it stopped (flushed)
    db = sqlite3.connect(data / "embedding-cache.sqlite")
    key = km.embedder._key(profile_text)
    assert db.execute("SELECT count(*) FROM vectors WHERE key = ?", (key,)).fetchone()[0] == 0
    db.close()
    leftovers = [p for p in data.rglob("embedding-cache.sqlite*") if cached in p.read_bytes()]
    assert leftovers == [], "the bytes of his profile's vector are still in the cache's files"
    assert np.frombuffer(cached, dtype=np.float32).shape == (km.embedder.dim,)
    # the redacted front matter still reads as metadata: Petra stays a participant, he is gone
    text = (data / "files" / "intervisie-daan.md").read_text()
    assert "participants:\n- Petra Huijts" in text and "[naam verwijderd]" in text
