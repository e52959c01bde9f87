"""A person removed on request is gone from everything the service stores and serves.

The test asks about the person, uploads a file named after them and marks them helpful first; then it
removes them and looks for their name on every public surface and in every stored record.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path
from urllib.parse import quote_plus

import numpy as np
import pytest
from litestar.testing import TestClient

from core.models import Chunk
from core.names import fold, name_key
from core.store.catalog import CHUNKS, DOCUMENTS, EXPERTS, META, QUESTIONS
from core.store.ledger import LEDGER
from matching.retrieve import Retriever
from tests.conftest import make_settings
from web.app import create_app

pytestmark = pytest.mark.slow
TOKEN = "removal-token"
COORD = {"Authorization": f"Bearer {TOKEN}"}
PERSON, NAME = "anna-de-vries", "Anna de Vries"
TRACE = re.compile(r"anna[\s\-_.]*de[\s\-_.]*vries|\ba\.? de vries|anna@|vries", re.I)


def _client(data: Path, **env: str) -> TestClient:
    return TestClient(create_app(make_settings(data, KM_COORDINATOR_TOKENS=TOKEN, **env)))


def _traces(text: str, typed: str = "") -> list[str]:
    """Traces of the person in ``text``, apart from what the user typed themselves (``typed``: echoed back in
    the answer, the search box and the paging links)."""
    if typed:
        for form in (typed, quote_plus(typed), json.dumps(typed)[1:-1]):
            text = text.replace(form, "")
    return TRACE.findall(fold(text))


def _stored(km) -> str:
    """Every payload of every collection, as one text."""
    store = km.catalog().store
    return json.dumps([h.payload for name in (CHUNKS, DOCUMENTS, EXPERTS, QUESTIONS, LEDGER, META)
                       for h in store.scroll(name)], ensure_ascii=False)


def test_removing_a_person_leaves_no_trace_on_any_surface(fresh_samples, tmp_path):
    with _client(fresh_samples) as c:
        km = c.app.state.km
        catalog = km.catalog()
        named = {h.id for h in catalog.store.scroll(CHUNKS, fields=["text"]) if _traces(h.payload["text"])}
        docs = sorted({h.payload["document_id"] for h in catalog.store.scroll(CHUNKS, fields=["text", "document_id"])
                       if _traces(h.payload["text"])} | {d["document_id"] for d in catalog.documents()
                                                            if name_key(PERSON) in d.get("people", [])})
        assert len(named) >= 10 and len(docs) >= 8
        bm25 = Retriever(catalog, km.embedder, km.bm25)
        assert named & {p.id for p in bm25.passages(bm25.encode(NAME), limit=50, mode="bm25")}
        # traces in the question log, the feedback, an upload report
        asked = c.post("/api/ask", json={"question": f"Wat vond {NAME} over schaamte bij niet-gebruik?"}).json()
        c.post("/api/feedback", json={"question_id": asked["question_id"], "type": "expert", "id": PERSON,
                                      "helpful": True})
        r = c.post("/api/documents", files=[("files", (f"cv {NAME}.pdf", b"%PDF-1.4 kapot"))], headers=COORD)
        job = r.json()["id"]
        c.app.state.jobs.wait(60)
        assert _traces(json.dumps(c.get(f"/api/jobs/{job}").json()))
        assert _traces(_stored(km))

        r = c.delete(f"/api/experts/{PERSON}", headers=COORD)
        assert r.status_code == 200, r.text
        details = r.json()["details"]
        assert details["passages"] >= len(named) and details["questions"] == 1 and details["records"] == 1

        # stored: nowhere, in any collection (the ledger's markers are keyed hashes)
        assert _traces(_stored(km)) == []
        # served: the API ...
        responses = {
            "ask": c.post("/api/ask", json={"question": "niet-gebruik van minimaregelingen en schaamte"}),
            "ask by name": c.post("/api/ask", json={"question": NAME}),
            "search": c.get("/api/search", params={"q": NAME, "limit": 50}),
            "search topic": c.get("/api/search", params={"q": "schaamte niet-gebruik Heerlen", "limit": 50}),
            "experts": c.get("/api/experts", params={"q": "niet-gebruik schaamte", "limit": 50}, headers=COORD),
            "person": c.get(f"/api/search?q=armoede&person={PERSON}"),
            "agenda": c.get("/api/agenda", headers=COORD),
            "job": c.get(f"/api/jobs/{job}"),
            # ... and the web
            "home": c.get("/"),
            "web search": c.get("/zoeken", params={"q": NAME}),
            "answer": c.get(f"/antwoord/{asked['question_id']}"),
            "directory": c.get("/experts"),
        }
        assert {k: r.status_code for k, r in responses.items() if r.status_code != 200} == {}  # none crashed
        pages = {k: r.text for k, r in responses.items()}
        for doc in docs:
            for name, url in ((f"api {doc}", f"/api/documents/{doc}"), (f"web {doc}", f"/documenten/{doc}")):
                r = c.get(url, headers=COORD)  # as a coordinator: the documents not open to all are read too
                assert r.status_code == 200, (name, r.status_code)  # the document stays, without her name
                pages[name] = r.text
            assert c.get(f"/api/documents/{doc}/file").status_code == 404  # the original still names her
        assert {k: _traces(v, NAME) for k, v in pages.items() if _traces(v, NAME)} == {}
        assert _traces(_stored(km)) == []  # a question that named her after the removal is stored without
        by_name = km.broker().questions.get(responses["ask by name"].json()["question_id"])
        assert by_name["text"] == "[naam verwijderd]"
        assert c.get(f"/api/experts/{PERSON}", headers=COORD).status_code == 404
        assert c.get(f"/experts/{PERSON}").status_code == 404

        # re-indexed: BM25 no longer finds those passages by the name, their dense vectors are of the new text
        assert not named & {p.id for p in bm25.passages(bm25.encode(NAME), limit=50, mode="bm25")}
        rewritten = list(catalog.store.retrieve(CHUNKS, sorted(named), with_vectors=True))
        assert len(rewritten) == len(named)
        for hit in rewritten:
            p = hit.payload
            assert "[naam verwijderd]" in p["text"] + p["title"] + " ".join(p["section"])
            text = Chunk.from_payload(p).context_text()
            assert float(np.dot(hit.dense, km.embedder.embed_documents([text])[0])) > 0.999


def test_the_markers_are_keyed_with_the_secret_and_keep_a_reingest_out(fresh_samples, tmp_path):
    own = (fresh_samples / "secret.key").read_text("ascii").strip()  # the store's secret, now given as a setting
    with _client(fresh_samples, KM_SECRET_KEY=own) as c:
        c.delete(f"/api/experts/{PERSON}", headers=COORD)
        markers = c.app.state.km.catalog().forgotten()
        unkeyed = hashlib.sha256(f"kennismakelaar-forget:{name_key(NAME)}".encode()).hexdigest()
        assert markers and unkeyed not in markers
        assert c.app.state.km.catalog().ledger.keyed(name_key(NAME)) in markers
        # a re-ingest of the unchanged and of a changed source brings back neither profile nor name
        km = c.app.state.km
        docs = tmp_path / "docs"
        src = Path(__file__).resolve().parents[1] / "samples"
        docs.mkdir()
        for name in ("verslag-2023-04-18-armoede.md", "experiment-doorbraakbudget-westelijke-mijnstreek.md"):
            text = (src / "documenten" / name).read_text("utf-8")
            (docs / name).write_text(text + f"\n\nNagekomen: {NAME} stuurde haar interviewverslag.\n", "utf-8")
        report = km.ingestor().run([docs, src / "experts"])
        assert report.ok and km.catalog().expert(PERSON) is None
        assert _traces(_stored(km)) == []
    # another secret cannot read the markers: the store refuses it, clearly, rather than forget silently
    from service.cli import main

    err = io.StringIO()
    settings = make_settings(fresh_samples, KM_SECRET_KEY="een-ander-geheim-dat-ook-lang-is")
    assert main(["status"], settings=settings, out=io.StringIO(), err=err) == 2
    assert "andere geheime sleutel" in err.getvalue() and "Traceback" not in err.getvalue()


def test_removal_through_the_web_form(fresh_samples):
    with _client(fresh_samples) as c:
        c.get("/coordinatie/inloggen")
        csrf = c.cookies.get("km_csrf")
        c.post("/coordinatie/inloggen", data={"token": TOKEN, "_csrf_token": csrf})
        r = c.post("/coordinatie/experts/bram-houben/verwijderen", data={"_csrf_token": csrf, "bevestigd": "ja"})
        assert r.status_code == 200 and "Verwijderd" in r.text
        stored = fold(_stored(c.app.state.km))
        assert "bram houben" not in stored and "bram-houben" not in stored
        page = c.get("/zoeken", params={"q": "Bram Houben armoede"}).text
        for typed in ("Bram Houben armoede", "Bram+Houben+armoede"):  # the user's own words, echoed back
            page = page.replace(typed, "")
        assert "houben" not in fold(page)
