"""Issue 10, outcome 4: from a cluster on the agenda to a meeting with a proposed panel, invitations spread over
people, and a verslag that closes the meeting's questions and names the panel — on the demo corpus, through the
real app."""

from __future__ import annotations

from collections import Counter

import pytest
from litestar.testing import TestClient

from core.errors import ValidationError
from matching.panels import FAIRNESS_WEIGHT, PanelConstraints, compose, recent_invitations
from matching.results import ExpertMatch
from service import meetings
from service.coordinators import COMMAND_LINE
from tests.conftest import log_in

COORD = {"Authorization": "Bearer geheim-token"}
QUESTIONS = ["Hoe begeleid je statushouders naar een eigen horecabedrijf?",  # nothing in the demo corpus on this
             "Welke hulp hebben nieuwkomers nodig die een eigen restaurant willen beginnen?",
             "Hoe help je vluchtelingen die een eigen zaak in de horeca willen openen?"]


@pytest.fixture
def km(fresh_samples, km_factory):
    return km_factory(fresh_samples, KM_COORDINATOR_TOKENS="geheim-token")


def test_a_meeting_planned_from_the_agenda_closes_its_questions_with_its_verslag(km):
    from web.app import create_app

    asked = [_open(km, q) for q in QUESTIONS]
    with TestClient(create_app(km=km)) as c:
        csrf = log_in(c)
        agenda = c.get("/coordinatie/agenda").text
        assert "Plan een bijeenkomst" in agenda
        m = km.settings.matching
        cluster = next(cl for cl in km.broker().agenda(threshold=m.answer_threshold,
                                                        similarity=m.agenda_similarity)["clusters"]
                       if set(asked) & set(cl["question_ids"]))  # open questions, on the agenda
        form = c.get("/coordinatie/bijeenkomsten/nieuw", params={
            "titel": "Expertmeeting ondernemen in de horeca", "onderwerp": cluster["representative"],
            "stap": "expertmeeting", "atelier": "veerkracht-in-gemeenschappen", "vraag": asked})
        assert form.status_code == 200 and "3 vragen van de agenda" in form.text
        bad = c.post("/coordinatie/bijeenkomsten", data={"title": "X", "date": "morgen", "step": "expertmeeting",
                                                         "_csrf_token": csrf})
        assert bad.status_code == 400 and 'aria-invalid="true"' in bad.text
        assert c.post("/coordinatie/bijeenkomsten", data={"title": "X", "date": "2026-12-10",
                                                          "step": "expertmeeting"}).status_code == 403  # no CSRF
        made = c.post("/coordinatie/bijeenkomsten", follow_redirects=False, data={
            "title": "Expertmeeting ondernemen in de horeca", "date": "2026-12-10", "step": "expertmeeting", "k": "3",
            "ateliers": "veerkracht-in-gemeenschappen", "question_ids": asked, "topic": cluster["representative"],
            "_csrf_token": csrf})
        assert made.status_code == 303, made.text
        meeting_id = made.headers["location"].rsplit("/", 1)[1]
        meeting = meetings.get(km, meeting_id)
        assert len(meeting.panel) == 3 and all(meeting.why[p] for p in meeting.panel)
        page = c.get(f"/coordinatie/bijeenkomsten/{meeting_id}").text
        names = [km.catalog().expert(p)["name"] for p in meeting.panel]
        assert all(n in page for n in names) and "Verslag uploaden" in page
        verslag = ("# Verslag expertmeeting ondernemen in de horeca\n\nStatushouders met een horecaplan hebben een "
                   "vaste coach nodig, een startkrediet en hulp met vergunningen. Het panel deelde voorbeelden.\n")
        up = c.post(f"/coordinatie/bijeenkomsten/{meeting_id}/verslag", follow_redirects=False,
                    files={"files": ("verslag.md", verslag.encode(), "text/markdown")}, data={"_csrf_token": csrf})
        assert up.status_code == 303, up.text
        c.app.state.jobs.wait(timeout=120)
    held = meetings.get(km, meeting_id)
    assert held.status == "gehouden" and held.report_id
    doc = km.catalog().document(held.report_id)
    assert doc["kind"] == "verslag" and sorted(doc["participants"]) == sorted(names)
    assert doc["ateliers"] == ["veerkracht-in-gemeenschappen"]
    open_now = {q for cl in km.broker().agenda(threshold=0.85, similarity=0.85)["clusters"]
                for q in cl["question_ids"]}
    assert open_now.isdisjoint(asked)  # the meeting's questions left the agenda
    sidecar = (km.settings.store.data_dir / "files" / f"{held.report_id}.md.yaml").read_text("utf-8")  # own name
    assert held.report_id in sidecar and names[0] in sidecar  # a re-ingest of the file keeps the link


def test_meetings_through_the_api(km):
    from web.app import create_app

    question = km.broker().ask(QUESTIONS[0]).question_id
    with TestClient(create_app(km=km)) as c:
        body = {"title": "Werkplaats ontmoeting", "date": "2027-01-15", "step": "uitwisseling",
                "ateliers": ["veerkracht-in-gemeenschappen"], "question_ids": [question], "k": 2}
        assert c.post("/api/meetings", json=body).status_code == 401
        made = c.post("/api/meetings", json=body, headers=COORD)
        assert made.status_code == 201, made.text
        meeting = made.json()
        assert len(meeting["panel"]) == 2 and meeting["step_label"].startswith("Ervaringen")
        assert c.post("/api/meetings", json={**body, "step": "feest"}, headers=COORD).json()["error"]["field"] == "step"
        listed = c.get("/api/meetings", headers=COORD).json()
        assert [m["id"] for m in listed] == [meeting["id"]]
        files = {"files": ("notulen.md", b"# Notulen\n\nOntmoeting in de buurtkamer werkt met vaste gezichten.\n",
                           "text/markdown")}
        job = c.post("/api/documents", files=files, data={"metadata": f'{{"meeting": "{meeting["id"]}"}}'},
                     headers=COORD)
        assert job.status_code == 202, job.text
        two = [("files", ("a.md", b"# A\n\nTekst.\n", "text/markdown")),
               ("files", ("b.md", b"# B\n\nTekst.\n", "text/markdown"))]
        refused = c.post("/api/documents", files=two, data={"metadata": f'{{"meeting": "{meeting["id"]}"}}'},
                         headers=COORD)
        assert refused.status_code == 400 and refused.json()["error"]["field"] == "files"
        c.app.state.jobs.wait(timeout=120)
        held = c.get(f"/api/meetings/{meeting['id']}", headers=COORD).json()
        assert held["status"] == "gehouden" and km.catalog().document(held["report_id"]) is not None
        assert c.delete(f"/api/meetings/{meeting['id']}", headers=COORD).status_code == 200
        assert c.get(f"/api/meetings/{meeting['id']}", headers=COORD).status_code == 404
    alone = meetings.plan(km, title="Werkplaats jeugd en armoede", date="2027-02-01", step="uitwisseling", k=2,
                          actor=COMMAND_LINE)
    assert alone.topic == "Werkplaats jeugd en armoede" and len(alone.panel) == 2  # the title is the topic
    with pytest.raises(ValidationError, match="datum"):
        meetings.plan(km, title="X", date="15-01-2027", step="uitwisseling", actor=COMMAND_LINE)


def _person(i: int, score: float, atelier: str) -> ExpertMatch:
    return ExpertMatch(id=f"p{i}", name=f"Persoon {i}", score=score, role="onderzoeker", organization=f"org{i}",
                       ateliers=[atelier])


def test_recent_panels_spread_the_invitations():
    """20 meetings on one topic: without memory the same three sit on every panel; with it, others take turns
    — and whoever is chosen anyway or gives way has the reason said."""
    from core.taxonomy import Taxonomy

    taxonomy = Taxonomy.load(None)
    pool = [_person(i, 1.0 - 0.02 * i, "kansrijk-met-jeugd") for i in range(8)]
    history: list[dict] = []
    seats: Counter[str] = Counter()
    for n in range(20):
        panel = compose(pool, 3, PanelConstraints(), taxonomy, invitations=recent_invitations(history))
        members = [m.expert.id for m in panel.members]
        history.append({"date": f"2026-{1 + n // 2:02d}-{1 + n % 2:02d}", "panel": members})
        seats.update(members)
        if n == 5:
            assert any("laatste 10 panels" in w for m in panel.members for w in m.why)
            assert any("voorrang" in p.reason for p in panel.passed_over)
    blind = compose(pool, 3, PanelConstraints(), taxonomy)
    assert max(seats.values()) / 60 < 0.34 - FAIRNESS_WEIGHT  # without memory: 20 of 60 seats (0.33) each
    assert len(seats) >= 6 and {m.expert.id for m in blind.members} == {"p0", "p1", "p2"}


def test_the_agenda_leaves_out_closed_questions(km):
    asked = _open(km, QUESTIONS[1])
    assert asked in {q for cl in km.broker().agenda(threshold=0.85)["clusters"] for q in cl["question_ids"]}
    km.catalog().close_questions([asked], "meeting:test")
    assert asked not in {q for cl in km.broker().agenda(threshold=0.85)["clusters"] for q in cl["question_ids"]}


def _open(km, question: str) -> str:
    """A question asked and marked 'did not help' by its asker: open on the agenda, whatever the judgement."""
    asked = km.broker().ask(question).question_id
    km.broker().questions.feedback(asked, item_type="answer", item_id=asked, helpful=False)
    return asked
