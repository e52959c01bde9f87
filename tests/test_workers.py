"""Several workers, one store, the same guarantees.

Two application instances in one test process share one store client — standing in for two worker
processes on one Qdrant server (``QdrantClient(":memory:")`` behind a lock, as a server serialises the
updates of a collection). They take feedback, removals, uploads and questions at the same time.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from qdrant_client import QdrantClient

from core.store.catalog import CHUNKS, ORPHAN_GRACE_SECONDS, PENDING
from core.store.server import ServerStore
from core.store.types import Point
from service.container import Kennismakelaar
from tests.conftest import SAMPLES, copy_cache, make_settings
from web.app import create_app

pytestmark = pytest.mark.slow
TOKEN = "workers-token"
COORD = {"Authorization": f"Bearer {TOKEN}"}


class Serialised:
    """A client whose calls run one at a time (a server's own ordering; local mode is no server)."""

    def __init__(self, inner: QdrantClient) -> None:
        self._inner = inner
        self._lock = threading.RLock()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return attr(*args, **kwargs)
        return call


@pytest.fixture
def workers(tmp_path: Path, samples_dir: Path, e5, isolated_parser) -> Iterator[tuple[TestClient, TestClient]]:
    store = ServerStore(Serialised(QdrantClient(":memory:")))
    env = {"KM_SECRET_KEY": "gedeeld-geheim-van-alle-workers-samen", "KM_COORDINATOR_TOKENS": TOKEN,
           "KM_ASK_PER_MINUTE": "1000", "KM_REQUESTS_PER_MINUTE": "1000"}
    made = []
    for name in ("a", "b"):
        copy_cache(samples_dir, tmp_path / name)  # the same passages: nothing is embedded twice
        made.append(Kennismakelaar(make_settings(tmp_path / name, **env), store=store, embedder=e5,
                                   parser=isolated_parser))
    report = made[0].ingestor().run([SAMPLES / "documenten", SAMPLES / "experts"])
    assert report.ok
    with TestClient(create_app(km=made[0])) as a, TestClient(create_app(km=made[1])) as b:
        yield a, b


def _both(calls: list) -> list:
    with ThreadPoolExecutor(max_workers=8) as pool:
        return [f.result() for f in [pool.submit(call) for call in calls]]


def test_concurrent_feedback_removals_uploads_and_questions_lose_nothing(workers, tmp_path):
    a, b = workers
    km = a.app.state.km
    questions = [f"Hoe bereik je gezinnen met geldzorgen in wijk {i}?" for i in range(12)]
    asked = _both([(lambda c=(a, b)[i % 2], q=q: c.post("/api/ask", json={"question": q}).json())
                   for i, q in enumerate(questions)])
    ids = [r["question_id"] for r in asked]
    assert len(set(ids)) == 12

    # every mark sent to both workers at once, and documents uploaded and people removed meanwhile
    shown = sorted(d["document_id"] for d in km.catalog().documents())[:3]  # feedback takes real ids only
    marks = [(qid, doc) for qid in ids for doc in shown]
    calls = [(lambda c=c, m=m: c.post("/api/feedback", json={"question_id": m[0], "type": "document",
                                                             "id": m[1], "helpful": True}).status_code)
             for m in marks for c in (a, b)]
    uploads = {f"gedeeld-{i}.md": f"# Verslag {i}\n\nIn wijk {i} opende een buurtkamer voor gezinnen met "
                                  f"geldzorgen; de opkomst was {i * 7} mensen.\n".encode() for i in range(4)}
    for i, (name, data) in enumerate(uploads.items()):
        calls.append(lambda c=(a, b)[i % 2], n=name, d=data: c.post(
            "/api/documents", files=[("files", (n, d))], headers=COORD).status_code)
        # the same file to the other worker as well: one document in the end, not two
        calls.append(lambda c=(a, b)[(i + 1) % 2], n=name, d=data: c.post(
            "/api/documents", files=[("files", (n, d))], headers=COORD).status_code)
    calls += [lambda: a.delete("/api/experts/anna-de-vries", headers=COORD).status_code,
              lambda: b.delete("/api/experts/bram-houben", headers=COORD).status_code]
    codes = Counter(_both(calls))
    assert codes == {200: len(marks) * 2 + 2, 202: len(uploads) * 2}
    a.app.state.jobs.wait(300)
    b.app.state.jobs.wait(300)

    catalog = km.catalog()
    # every feedback counted once
    recorded = catalog.marks()
    assert len(recorded) == len(marks)
    assert {q["question_id"]: q["helpful"] for q in km.broker().questions.all()} == dict.fromkeys(ids, 3)
    # both removals held (neither lost the other's marker)
    assert catalog.expert("anna-de-vries") is None and catalog.expert("bram-houben") is None
    for name in ("Anna de Vries", "Bram Houben"):
        assert catalog.is_forgotten(name, catalog.forgotten())
    # every upload once, no duplicate passage, no orphan, nothing left pending
    records = {d["document_id"]: d for d in catalog.documents()}
    assert set(uploads) <= set(records)
    chunks = list(catalog.store.scroll(CHUNKS, fields=["document_id", "content_hash", "chunk_index", "state"]))
    assert all(records[c.payload["document_id"]]["content_hash"] == c.payload["content_hash"] for c in chunks)
    assert Counter(c.payload["document_id"] for c in chunks) == {d: r["chunks"] for d, r in records.items()}
    assert not [c for c in chunks if c.payload.get("state") == PENDING]
    # every question is there, once
    assert sorted(q["question_id"] for q in km.broker().questions.all()) == sorted(ids)


def test_limits_sessions_and_caches_hold_across_workers(workers):
    a, b = workers
    # a session opened on one worker is valid on the other (one shared secret)
    a.get("/coordinatie/inloggen")
    a.post("/coordinatie/inloggen", data={"token": TOKEN, "_csrf_token": a.cookies.get("km_csrf")})
    b.cookies.update(a.cookies)
    assert b.get("/coordinatie", follow_redirects=False).status_code == 200

    # an answer page cached by one worker does not show a person the other removed
    question = "Wie onderzoekt niet-gebruik van minimaregelingen en schaamte?"
    page = a.post("/vraag", data={"question": question, "_csrf_token": a.cookies.get("km_csrf")})
    assert page.status_code == 200 and "Anna de Vries" in page.text
    answer_url = str(page.url)
    assert b.delete("/api/experts/anna-de-vries", headers=COORD).status_code == 200
    again = a.get(answer_url)
    assert again.status_code == 200 and "Anna de Vries" not in again.text

    # a rate limit counts the requests of one client on every worker
    for c in (a, b):
        c.app.state.limiter.limits["ask"] = type(c.app.state.limiter.limits["ask"])(
            "ask", 4, 60.0, "Te veel vragen achter elkaar.")
    a.app.state.limiter.clear("ask", "testclient")  # the question above counted too
    codes = [c.post("/api/ask", json={"question": f"vraag {i} over schulden"}).status_code
             for i, c in enumerate((a, b, a, b, a, b))]
    assert codes == [200, 200, 200, 200, 429, 429]


def test_the_sweep_leaves_another_writers_unfinished_passages_alone_and_search_never_shows_them(workers, tmp_path):
    a, b = workers
    writer_b = b.app.state.km.catalog()
    unique = "Zeldzaamwoord-kwartiermaker-Xylofoon"
    point = Point(writer_b.chunk_key("half-af.md", "h1", 0), {
        "document_id": "half-af.md", "content_hash": "h1", "chunk_index": 0, "text": f"{unique} in de wijk.",
        "title": "Half af", "people": [], "ateliers": [], "themes": []},
        dense={"dense": b.app.state.km.embedder.embed_documents([unique])[0]},
        sparse={"bm25": b.app.state.km.bm25.embed_document(unique)})
    writer_b.write_chunks([point])  # B is still writing this document: no record yet
    # A finishes an ingest run, with its sweep
    doc = tmp_path / "los"
    doc.mkdir()
    (doc / "los.md").write_text("# Los\n\nEen los verslag over de buurtkamer.\n", "utf-8")
    report = a.app.state.km.ingestor().run([doc])
    assert report.ok and report.orphans_removed == 0
    assert writer_b.chunks_of("half-af.md"), "the sweep deleted a passage another writer is still writing"
    found = a.get("/api/search", params={"q": unique, "limit": 50}).json()["results"]
    assert "half-af.md" not in {r["document_id"] for r in found}
    # once it is older than any ingest of one document takes, it counts as left by a crash
    later = time.time() + ORPHAN_GRACE_SECONDS + 1
    assert a.app.state.km.catalog().sweep_orphans(now=later) == 1
    assert not writer_b.chunks_of("half-af.md")
