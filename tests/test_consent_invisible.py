"""Issue 22, outcome 4: a person without consent is invisible — no count, filter or timing says they are here.

The review's repro_06 (a name query's "hidden" count and the ``person=`` search filter told anyone whether a
person is registered without consent) and the question part of repro_16 (a question stored while a removal runs
kept the removed name), on the real app, the real model and a copy of the ingested demo corpus.
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from litestar.testing import TestClient

from core.store.catalog import Catalog
from service.container import Kennismakelaar
from service.coordinators import COMMAND_LINE
from service.profiles import remove_person
from tests.conftest import make_settings
from web.app import create_app

pytestmark = pytest.mark.slow
TOKEN = "onzichtbaar-token"
COORD = {"Authorization": f"Bearer {TOKEN}"}
ENV = {"KM_COORDINATOR_TOKENS": TOKEN, "KM_REQUESTS_PER_MINUTE": "100000", "KM_ASK_PER_MINUTE": "100000"}
MADE_UP = ["Jan Modaal", "Karel Jansen", "Sophie de Boer", "Ria Peeters"]
# Someone new, named nowhere in the corpus, registered without consent: their name must change no public answer.
NEWCOMER: dict[str, Any] = {
    "name": "Gijsbert Vlamingsveld", "role": "ervaringsdeskundige", "organization": "Buurtkamer Oost", "ateliers": [],
    "themes": [], "email": "gijsbert@example.org",
    "expertise": "Geldzorgen, gêne en betalingsachterstanden, uit eigen ervaring.", "consent": False}
NEWCOMER_ID = "gijsbert-vlamingsveld"


@pytest.fixture
def site(fresh_samples: Path, e5: Any) -> Iterator[TestClient]:
    settings = make_settings(fresh_samples, **ENV)
    km = Kennismakelaar(settings, embedder=e5)
    try:
        with TestClient(create_app(settings, km=km)) as c:
            yield c
    finally:
        km.close()


def _hidden_people(c: TestClient) -> list[dict[str, Any]]:
    return [e for e in c.app.state.km.catalog().experts() if e.get("visibility") != "public"]


def _register_newcomer(c: TestClient) -> None:
    r = c.post("/api/experts", headers=COORD, json={**NEWCOMER, "id": NEWCOMER_ID})
    assert r.status_code == 201, r.text


def _experts(c: TestClient, q: str, **params: Any) -> dict[str, Any]:
    r = c.get("/api/experts", params={"q": q, **params})
    assert r.status_code == 200, r.text
    return r.json()


def _public_answer(c: TestClient, q: str) -> dict[str, Any]:
    """What the public learns from an expert search: who, in what order, with what score, and the count."""
    body = _experts(c, q, limit=10)
    return {"experts": [(e["id"], e["score"]) for e in body["experts"]], "hidden": body["hidden"]}


def test_a_name_query_does_not_tell_who_is_registered_without_consent(site):
    """repro_06 (a): ``hidden`` answered 1 for exactly the registered people without consent, 0 for made-up
    names — also for a person who had just withdrawn consent."""
    c = site
    hidden_people = _hidden_people(c)
    assert len(hidden_people) >= 3
    for name in [*(e["name"] for e in hidden_people), *MADE_UP]:
        body = _experts(c, name, limit=1)
        assert body["hidden"] == 0, name
        assert body["experts"] and body["experts"][0]["id"] not in {e["expert_id"] for e in hidden_people}
    # a person who withdraws consent
    p = c.app.state.km.catalog().expert("sanne-vossen")
    fields = ("name", "role", "organization", "ateliers", "themes", "expertise", "email")
    r = c.put("/api/experts/sanne-vossen", headers={**COORD, "If-Match": "*"},
              json={k: p[k] for k in fields} | {"consent": False})
    assert r.status_code == 200, r.text
    assert c.get("/api/experts/sanne-vossen").status_code == 404
    body = _experts(c, "Sanne Vossen", limit=1)
    assert body["hidden"] == 0 and "sanne-vossen" not in {e["id"] for e in body["experts"]}


def test_registering_someone_without_consent_changes_no_public_answer(site):
    """Whatever names them — an expert search, a question, the answer page — is answered as if they were not
    there: they do not compete for a place (so nobody moves), and nothing counts them."""
    c = site
    queries = [NEWCOMER["name"], f"{NEWCOMER['name']} schulden schaamte", "schaamte bij schulden"]
    question = f"Wat weet {NEWCOMER['name']} over schaamte bij schulden en de weg naar schuldhulp?"
    before = {q: _public_answer(c, q) for q in queries}
    asked_before = c.post("/api/ask", json={"question": question}).json()
    _register_newcomer(c)
    assert c.get(f"/api/experts/{NEWCOMER_ID}").status_code == 404  # really without consent
    after = {q: _public_answer(c, q) for q in queries}
    for q in queries:
        assert after[q]["hidden"] == before[q]["hidden"] == 0, q
        assert [i for i, _ in after[q]["experts"]] == [i for i, _ in before[q]["experts"]], q
        # the same scores too: a hidden profile has no BM25 vector, so the engine's IDF does not count it
        assert [s for _, s in after[q]["experts"]] == pytest.approx([s for _, s in before[q]["experts"]], rel=1e-9)
    asked = c.post("/api/ask", json={"question": question})
    assert asked.status_code == 200, asked.text
    answer = asked.json()
    assert answer["answered"], "the question must reach the people part of the answer"
    assert answer["hidden_experts"] == asked_before["hidden_experts"] == 0
    assert [e["id"] for e in answer["experts"]] == [e["id"] for e in asked_before["experts"]]
    page = c.get(f"/antwoord/{answer['question_id']}").text
    assert not re.search(r"Nog \d+ person", page)  # no count of people left out, on the page either
    # a coordinator (include_hidden in the finder) still finds them; the public API never does
    broker = c.app.state.km.broker()
    everyone, _ = broker.experts(NEWCOMER["name"], limit=5, include_hidden=True)
    assert NEWCOMER_ID in [e.id for e in everyone]


def test_a_withdrawn_consent_leaves_no_trace_in_public_scores(site):
    """A profile's words were in the engine's BM25 statistics (the IDF counts every point with a BM25 vector,
    soft-deleted versions too): a hidden profile that shares a query word moved public scores by up to 1.5 %, a
    difference an attacker can measure. Registered with consent, the newcomer moves public scores (else this
    test could not fail); after the withdrawal every public score is back to the last digit."""
    c = site
    queries = ["schaamte bij schulden", "betalingsachterstanden en gêne", "geldzorgen buurtkamer"]
    before = {q: _public_answer(c, q) for q in queries}
    r = c.post("/api/experts", headers=COORD, json={**NEWCOMER, "id": NEWCOMER_ID, "consent": True})
    assert r.status_code == 201, r.text
    shown = {q: _public_answer(c, q) for q in queries}
    assert shown != before
    p = c.app.state.km.catalog().expert(NEWCOMER_ID)
    fields = ("name", "role", "organization", "ateliers", "themes", "expertise", "email")
    r = c.put(f"/api/experts/{NEWCOMER_ID}", headers={**COORD, "If-Match": "*"},
              json={k: p[k] for k in fields} | {"consent": False, "organization": "Buurtkamer West"})
    assert r.status_code == 200, r.text
    after = {q: _public_answer(c, q) for q in queries}
    # what was public of the profile is in no file of the store: the collection was rewritten at the withdrawal
    # (the profile itself stays, hidden, for coordinators)
    folder = c.app.state.km.settings.store.data_dir / "qdrant" / "experts"
    assert not [f for f in folder.rglob("*") if f.is_file() and b"Buurtkamer Oost" in f.read_bytes()]
    for q in queries:
        assert [i for i, _ in after[q]["experts"]] == [i for i, _ in before[q]["experts"]], q
        assert [s for _, s in after[q]["experts"]] == pytest.approx([s for _, s in before[q]["experts"]], rel=1e-9)


def test_a_hidden_name_costs_the_same_time_as_a_made_up_one(site):
    """The person without consent is filtered out in the engine: their name neither ranks nor costs work. Both
    names are new to the corpus, so only the registration differs; alternating runs, medians compared."""
    c = site
    _register_newcomer(c)
    names = {"registered": NEWCOMER["name"], "made up": "Gijsbert Vlamingsdaal"}
    for name in names.values():  # warm up: the model's cache, the engine's pages
        _experts(c, name)
    took: dict[str, list[float]] = {k: [] for k in names}
    for _ in range(15):
        for key, name in names.items():
            t0 = time.perf_counter()
            _experts(c, name)
            took[key].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in took.items()}
    # generous: a shared 2-core machine; the oracle this guards against is a systematic difference
    assert abs(med["registered"] - med["made up"]) <= 0.25 * max(med.values()) + 0.005, med


DOC = ("---\ntitle: Intervisie wijkteam Oost\nparticipants: [Hans Pluijmen, Petra Huijts, Jan Modaal]\n---\n\n"
       "We spraken over huisbezoeken.\n")


def test_the_person_filter_finds_documents_of_people_with_consent_only(site):
    """repro_06 (b): ``person=`` matched the people of documents, consent or not. Now a person without consent,
    a name nobody registered and a made-up one give one and the same answer; a coordinator still filters on
    everyone."""
    c = site
    r = c.post("/api/documents", headers=COORD, files=[("files", ("intervisie-oost.md", DOC.encode()))])
    assert r.status_code in (200, 201, 202), r.text
    c.app.state.jobs.wait(120)
    page = c.get("/api/documents/intervisie-oost.md").json()
    assert [p["name"] for p in page["people"]] == ["Petra Huijts"]

    def search(person: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
        r = c.get("/api/search", params={"q": "huisbezoeken", "person": person, "limit": 50}, headers=headers)
        return r.status_code, r.json()

    unknown = search("Pietje Puk")
    assert unknown[0] == 200 and unknown[1]["results"] == [] and unknown[1]["total"] == 0
    for person in ("Hans Pluijmen", "hans-pluijmen", "Jan Modaal"):  # no consent / its id / named, not registered
        assert search(person) == unknown, person
    consenting = search("Petra Huijts")[1]["results"]
    assert "intervisie-oost.md" in [x["document_id"] for x in consenting]
    by_id = search("petra-huijts")[1]["results"]  # the id finds the documents that give her name
    assert "intervisie-oost.md" in [x["document_id"] for x in by_id]
    coordinator = search("Hans Pluijmen", COORD)[1]["results"]
    assert "intervisie-oost.md" in [x["document_id"] for x in coordinator]


def test_a_question_stored_while_a_removal_runs_does_not_keep_the_name(fresh_samples, e5, monkeypatch):
    """repro_16, question part: the removal finishes between the question's redaction and its write; the
    question is looked at again after the write, and rewritten (text and vector) without the name."""
    km = Kennismakelaar(make_settings(fresh_samples, **ENV), embedder=e5)
    try:
        original = Catalog.add_question

        def written_after_a_removal(self: Catalog, *args: Any, **kwargs: Any) -> None:
            monkeypatch.setattr(Catalog, "add_question", original)
            remove_person(km, "anna-de-vries", COMMAND_LINE)  # another coordinator's removal finishes now
            original(self, *args, **kwargs)

        monkeypatch.setattr(Catalog, "add_question", written_after_a_removal)
        answer = km.broker().ask("Wat vindt Anna de Vries van schaamte bij niet-gebruik?")
        assert km.catalog().expert("anna-de-vries") is None and answer.question_id is not None
        stored = km.catalog().question(answer.question_id)
        assert stored is not None and "Vries" not in stored["text"] and "[naam verwijderd]" in stored["text"]
        hit = next(h for h in km.catalog().questions(with_vectors=True) if h.id == answer.question_id)
        expected = e5.embed_query(stored["text"])
        assert np.allclose(np.asarray(hit.dense), expected, atol=1e-4)  # embedded again, without the name
    finally:
        km.close()
