"""The broker on the demo corpus with the real model and engine: search, people, bridges, ask, panels, agenda."""

from __future__ import annotations

import pytest

from core.visibility import COORDINATORS
from matching.filters import SearchFilters
from matching.panels import PanelConstraints
from matching.questions import QuestionLog

pytestmark = pytest.mark.slow

SHAME = "Waarom laten ouders regelingen voor hun kinderen liggen, en wat betekent dat voor jongerenwerkers?"
TRUST = "Hoe herstel je vertrouwen in een wijk waar projecten steeds kwamen en gingen?"
JEUGD, ARMOEDE, VEERKRACHT = "kansrijk-met-jeugd", "tweedeling-en-armoede", "veerkracht-in-gemeenschappen"


@pytest.fixture(scope="module")
def broker(samples_km):
    return samples_km.broker()


def test_results_are_one_per_document_with_highlights_and_citation(broker):
    page = broker.search(SHAME, limit=8)
    ids = [r.document_id for r in page.results]
    assert len(ids) == len(set(ids)) == 8
    top = page.results[0]
    assert top.highlights and all(w.lower() in top.snippet.lower() for w in top.highlights)
    pdfs = [r for r in page.results if r.source.endswith(".pdf")]
    assert pdfs and all(r.page and r.citation.endswith(f"p. {r.page}") for r in pdfs)
    assert page.facets["ateliers"] and page.total >= 8


@pytest.mark.parametrize("filters,check", [
    (SearchFilters(ateliers=(VEERKRACHT,)), lambda r: VEERKRACHT in r.ateliers),
    (SearchFilters(themes=("leiderschap",)), lambda r: "leiderschap" in r.themes),
    (SearchFilters(kinds=("experiment",)), lambda r: r.kind == "experiment"),
    (SearchFilters(date_from="2025-01-01", date_to="2025-12-31"), lambda r: r.date.startswith("2025")),
    (SearchFilters(year_from=2026), lambda r: r.date >= "2026"),
])
def test_filters(broker, filters, check):
    results = broker.search(TRUST, filters, limit=10).results
    assert results and all(check(r) for r in results)


def test_person_filter_finds_their_documents(broker, samples_km):
    results = broker.search(TRUST, SearchFilters(people=("Petra Huijts",)), limit=20).results
    assert results
    for r in results:
        doc = samples_km.catalog().document(r.document_id)
        assert "petra huijts" in doc["people"]


@pytest.mark.parametrize("question", [SHAME, TRUST, "Hoe werken school en jongerenwerk samen?"])
def test_findings_come_in_relevance_order_and_other_ateliers_in_their_own_block(broker, question):
    """"Op relevantie" means that: no finding above a more relevant one for variety's sake (diversification
    once put a 2.97 above a 4.10); findings from other ateliers are found on purpose in the bridges block."""
    for page in (broker.search(question, limit=10), broker.search(question, limit=10, offset=10)):
        scores = [r.score for r in page.results]
        assert scores == sorted(scores, reverse=True)
    answer = broker.ask(question, atelier=JEUGD, record=False)
    assert [f.score for f in answer.findings] == sorted((f.score for f in answer.findings), reverse=True)
    others = [b["finding"] for b in answer.bridges if b["type"] == "finding"]
    assert others and all(JEUGD not in f["ateliers"] for f in others)


def test_experts_come_from_profiles_and_documents_and_never_without_consent(broker, samples_km):
    found, hidden = broker.experts(TRUST, limit=8)
    ids = [e.id for e in found]
    hidden_ids = {e["expert_id"] for e in samples_km.catalog().experts(fields=["expert_id", "visibility"])
                  if e["visibility"] == "hidden"}
    assert not hidden_ids & set(ids)
    assert hidden == 0  # wim-ramakers is everywhere in these documents, but said no: not even counted
    assert {"mohamed-el-amrani", "tom-smeets"} & set(ids[:5])
    assert any(r.type == "document" for e in found for r in e.reasons)  # some come from documents
    for e in found:
        docs = [r for r in e.reasons if r.type == "document"]
        for r in docs:
            record = samples_km.catalog().document(r.document_id)
            assert any(k in record["people"] for k in samples_km.catalog().expert(e.id)["keys"])
            assert r.role in ("auteur", "deelnemer")


@pytest.mark.parametrize("question,expected", [
    ("Jongeren zeggen dat ze geen zin hebben in sport, maar het lijkt om geld te gaan.", {"lotte-schreurs"}),
    ("Hoe zet je ervaringsdeskundigen goed in?", {"gerda-hermans", "fatima-bouzid"}),
    ("Hoe werken wijkteam, corporatie en schuldhulp samen bij huurachterstand?",
     {"sanne-vossen", "yvonne-bemelmans", "bart-gorissen"}),
])
def test_the_right_people_for_planted_questions(broker, question, expected):
    found, _ = broker.experts(question, limit=5)
    assert expected & {e.id for e in found}, [e.id for e in found]


def test_experts_by_atelier(broker):
    found, _ = broker.experts(TRUST, atelier=ARMOEDE, limit=5)
    assert found and all(ARMOEDE in e.ateliers or any(r.type == "document" for r in e.reasons) for e in found)


def test_ask_returns_findings_people_and_bridges_and_records_only_what_it_may(broker, samples_km):
    log = QuestionLog(samples_km.catalog())
    before = len(log.all())
    answer = broker.ask(SHAME, atelier=JEUGD, role="professional")
    assert answer.findings and answer.experts and answer.question_id
    finding_bridges = [b for b in answer.bridges if b["type"] == "finding"]
    assert finding_bridges and all(JEUGD not in b["finding"]["ateliers"] for b in finding_bridges)
    assert all(b["from_atelier"] and b["via_theme"] for b in finding_bridges)
    assert "onderzoek-2023-niet-gebruik-heerlen-noord" in (
        {b["finding"]["document_id"] for b in finding_bridges} | {f.document_id for f in answer.findings})
    labelled = [f for f in answer.findings if f.bridge]
    assert labelled and all(JEUGD not in f.ateliers for f in labelled)
    stored = log.get(answer.question_id)
    assert len(log.all()) == before + 1
    assert set(stored) <= {"question_id", "text", "asked_at", "atelier", "atelier_inferred", "best_score", "role",
                           "helpful", "unhelpful", "feedback", "status",
                           "missing_knowledge",  # the kinds its answer found nothing of: about the store, not them
                           "answered", "confidence",  # the broker's judgement whether the store knows the answer
                           "audience",  # whom that judgement was made for (a level, not a person)
                           # derived from the above, for the engine to count and pick by (``question_fields``)
                           "month", "judged", "closed", "month_atelier"}
    assert stored["atelier"] == JEUGD and stored["role"] == "professional" and stored["best_score"] > 0.8


def test_ask_places_a_question_without_atelier(broker):
    answer = broker.ask("Hoe pakken we eenzaamheid in de buurt samen met bewoners aan?", record=False)
    assert answer.atelier == VEERKRACHT and answer.atelier_inferred and answer.question_id is None


def test_feedback_and_the_agenda(broker, samples_km):
    off_topic = ["Hoe begeleid je statushouders naar een eigen bedrijf in de horeca?",
                 "Welke ondersteuning hebben statushouders nodig om als ondernemer in de horeca te starten?"]
    ids = [broker.ask(q).question_id for q in off_topic]
    well = broker.ask(TRUST)
    assert well.answered and not broker.ask(off_topic[0]).answered  # the judgement, not one cosine
    # the second shares common words with the corpus and may be judged answered: its asker says it did not help
    broker.questions.feedback(ids[1], item_type="answer", item_id=ids[1], helpful=False)
    broker.questions.feedback(well.question_id, item_type="document", item_id=well.findings[0].document_id,
                              helpful=False)
    agenda = broker.agenda(threshold=samples_km.settings.matching.answer_threshold)
    clusters = agenda["clusters"]
    horeca = next(c for c in clusters if set(ids) <= set(c["question_ids"]))
    assert horeca["size"] >= 3 and horeca["next_step"] in {"klein-onderzoek", "experiment"}
    assert any(well.question_id in c["question_ids"] for c in clusters)  # unhelpful puts it on the agenda
    assert agenda["timeline"]


def test_panel_for_a_meeting(broker):
    constraints = PanelConstraints(min_roles={"onderzoeker": 1}, max_per_organization=1,
                                   cover_ateliers=(JEUGD, ARMOEDE, VEERKRACHT))
    panel = broker.panel("Expertmeeting over schaamte en niet-gebruik van regelingen", 4, constraints)
    members = [m.expert for m in panel.members]
    assert len(members) == 4 and panel.unmet == []
    assert any(e.role == "onderzoeker" for e in members)
    orgs = [e.organization for e in members]
    assert len(orgs) == len(set(orgs))
    assert {JEUGD, ARMOEDE, VEERKRACHT} <= {a for e in members for a in e.ateliers}
    assert all(len(m.why) >= 2 for m in panel.members)


def test_the_public_directory_shows_consenting_people_and_nothing_private(samples_km):
    from service.views import DIRECTORY_FIELDS, directory

    people, roles = directory(samples_km)
    everyone = list(samples_km.catalog().experts())
    consenting = {e["expert_id"] for e in everyone if e.get("visibility") == "public"}
    assert len(everyone) > len(consenting) > 10  # the demo corpus has people without consent
    assert {p["expert_id"] for p in people} == consenting
    assert all(set(p) <= set(DIRECTORY_FIELDS) for p in people)  # no e-mail, consent or keys reach a page
    assert [p["name"].split()[-1] for p in people] == sorted(p["name"].split()[-1] for p in people)
    assert roles and len(roles) == len(set(roles))
    youth, _ = directory(samples_km, atelier="Kansrijk met jeugd")
    assert youth and all("kansrijk-met-jeugd" in p["ateliers"] for p in youth) and len(youth) < len(people)
    students, _ = directory(samples_km, role=roles[0])
    assert students and all(p["role"] == roles[0] for p in students)


def test_no_person_is_suggested_in_more_than_a_third_of_the_answers(samples_km):
    """People for fit, not fame (issue 21): over the demo corpus's questions, the coordinator who wrote 22 of
    its 54 documents and the lecturer linked to 18 filled the fourth and fifth places of most answers (45 %)."""
    from benchmarks.answerability import lines
    from benchmarks.knowledge import QUESTIONS
    from benchmarks.people import concentration

    # the whole corpus, as issue 21 measured it (a coordinator's view: three demo documents are not open to all)
    broker = samples_km.broker(COORDINATORS)
    answers = [broker.ask(q, record=False) for q in lines("demo_answerable.txt") + QUESTIONS]
    shown = [[e.id for e in a.experts] for a in answers if a.answered]
    assert len(shown) > 40
    found = concentration(shown)
    assert found["top shares"][0] <= 1 / 3, found
    assert found["people"] >= 25, found  # and not by showing fewer people: most of the Werkplaats appears
    assert all(len(s) >= 3 for s in shown)  # an answer still names three people at least
