"""The three kinds of knowledge and the strength of the evidence, in every answer: metadata (given or inferred),
filters and facets in the API, the CLI and the web, an answer per kind with an honest gap, the gap on the
knowledge agenda, and the evidence boost — with the real model, the real store and the demo corpus."""

from __future__ import annotations

import io
import json

import pytest
from litestar.testing import TestClient

from core.errors import ConfigError
from core.knowledge import KNOWLEDGE, knowledge_of_role
from core.taxonomy import Taxonomy
from ingestion.knowledge import infer_knowledge
from ingestion.metadata import build_meta
from service.cli import main
from service.container import Kennismakelaar
from tests import docmaker
from tests.conftest import give_the_cli, make_settings, pristine_copy
from web.app import create_app

# documents of the demo corpus whose metadata does not name their knowledge: inferred (and marked so)
UNLABELLED = {
    "onderzoek-2024-jongeren-en-schaamte": ["onderzoek"],
    "verslag-2023-04-18-armoede": ["praktijk", "ervaring"],  # an ervaringsdeskundige's story opens the meeting
    "ervaringsverhaal-2025-opgroeien-met-geldzorgen": ["ervaring"],
    "ervaringsverhaal-2026-de-buurt-na-de-mijnen": ["ervaring"],
    "ervaringsverhaal-2024-koud-thuis": ["ervaring"],
}
TAXONOMY = Taxonomy.default()


# --- metadata ------------------------------------------------------------------------------------------------

def test_metadata_takes_knowledge_evidence_target_groups_and_working_elements_in_dutch_or_english():
    meta = build_meta({"kennisbronnen": "Ervaringskennis, praktijk", "bewijskracht": "Goed onderbouwd",
                       "doelgroep": "ouders met schulden; jongeren, 16-23 jaar",
                       "werkzame_elementen": ["een vast gezicht", "Een vast gezicht", "samen eten"]}, TAXONOMY)
    assert meta.knowledge == ["ervaring", "praktijk"] and meta.evidence == "goed-onderbouwd"
    assert meta.target_groups == ["ouders met schulden", "jongeren, 16-23 jaar"]  # a comma stays in its phrase
    assert meta.working_elements == ["een vast gezicht", "samen eten"] and not meta.warnings
    wrong = build_meta({"knowledge": ["wetenschap", "astrologie"], "evidence": "heel goed"}, TAXONOMY)
    assert wrong.knowledge == ["onderzoek"] and wrong.evidence is None
    assert any("astrologie" in w for w in wrong.warnings) and any("heel goed" in w for w in wrong.warnings)


def test_evidence_levels_are_a_list_in_the_taxonomy_weakest_first(tmp_path):
    assert [e.slug for e in TAXONOMY.evidence][:3] == ["goed-beschreven", "goed-onderbouwd", "effectief"]
    assert TAXONOMY.evidence_rank("sterke-aanwijzingen") > TAXONOMY.evidence_rank("effectief") > 0
    assert TAXONOMY.evidence_rank(None) == 0 and TAXONOMY.resolve_evidence("Effectief") == "effectief"
    own = tmp_path / "taxonomie.yaml"
    own.write_text("ateliers: [{slug: a, name: A}]\nevidence_levels:\n  - {slug: erkend, name: Erkend, rank: 2}\n"
                   "  - {slug: veelbelovend, name: Veelbelovend, rank: 1}\n", "utf-8")
    mine = Taxonomy.load(own)
    assert [e.slug for e in mine.evidence] == ["veelbelovend", "erkend"] and mine.top_rank == 2
    own.write_text("ateliers: [{slug: a, name: A}]\n", "utf-8")
    assert Taxonomy.load(own).evidence == TAXONOMY.evidence  # a file without its own list: the databanks'
    own.write_text("ateliers: [{slug: a}]\nevidence_levels: [{slug: x, rank: hoog}]\n", "utf-8")
    with pytest.raises(ConfigError, match="rank"):
        Taxonomy.load(own)


def test_knowledge_is_inferred_from_kind_authors_roles_and_words():
    assert infer_knowledge("rapport", ["professional"], "Het wijkteam werkt samen.") == ["onderzoek"]
    assert infer_knowledge("verslag", ["onderzoeker"], "Het wijkteam werkt samen.") == ["praktijk"]
    assert infer_knowledge("verslag", ["ervaringsdeskundige"], "Het wijkteam.") == ["praktijk", "ervaring"]
    assert infer_knowledge(None, ["onderzoeker"], "Notities.") == ["onderzoek"]  # no kind: the role counts
    lived = "Toen ik de brief kreeg, schaamde ik me. Ik durfde niets te zeggen. " * 3
    assert infer_knowledge("notitie", [], lived) == ["praktijk", "ervaring"]
    assert infer_knowledge(None, [], "Een tekst zonder aanwijzing.") == ["praktijk"]  # at least one
    assert knowledge_of_role("Ervaringsdeskundige") == ("ervaring",) and knowledge_of_role("student") == ()


# --- the demo corpus -----------------------------------------------------------------------------------------

def test_the_demo_corpus_knows_its_knowledge_given_or_inferred(samples_km):
    catalog = samples_km.catalog()
    for doc_id, expected in UNLABELLED.items():
        doc = catalog.document(doc_id)
        assert doc["knowledge_inferred"] and doc["knowledge"] == expected, doc_id
    docs = list(catalog.documents())
    assert all(d["knowledge"] for d in docs)  # every document carries at least one kind
    for kind in KNOWLEDGE:
        assert sum(kind in d["knowledge"] for d in docs) >= 6, kind  # enough of each for three answers
    rated = {d["document_id"]: d["evidence"] for d in docs if d.get("evidence")}
    assert rated["interventie-2025-vroeg-erop-af-parkstad"] == "effectief" and len(rated) >= 5
    chunk = next(iter(catalog.chunks_of("interventie-2025-vroeg-erop-af-parkstad")))
    assert chunk["evidence"] == "effectief" and "praktijk" in chunk["knowledge"]  # filterable per passage


@pytest.fixture(scope="module")
def site(samples_dir, tmp_path_factory, e5):
    data = pristine_copy(samples_dir, tmp_path_factory.mktemp("knowledge") / "data")
    settings = make_settings(data, KM_COORDINATOR_TOKENS="kennis-token", KM_ASK_PER_MINUTE="1000")
    with TestClient(create_app(settings, km=Kennismakelaar(settings, embedder=e5))) as client:
        yield client


def test_an_answer_says_what_research_practice_and_experience_say(site):
    answer = site.post("/api/ask", json={"question": "Hoe bereik je gezinnen die uit schaamte geen hulp vragen "
                                                     "bij geldzorgen?"}).json()
    views = {v["knowledge"]: v for v in answer["perspectives"]}
    assert list(views) == list(KNOWLEDGE)
    assert [v["heading"] for v in views.values()] == ["Wat zegt onderzoek", "Wat zegt de praktijk",
                                                      "Wat zeggen ervaringsdeskundigen"]
    for kind, view in views.items():
        assert view["found"] and view["findings"], kind
        assert all(kind in f["knowledge"] for f in view["findings"])
        assert all(kind in e["knowledge"] and not e.get("email") for e in view["experts"])  # public: no contact
    assert any(f["document_id"].startswith("ervaringsverhaal") for f in views["ervaring"]["findings"])
    page = site.get(f"/antwoord/{answer['question_id']}").text
    for heading in ("Wat zegt onderzoek", "Wat zegt de praktijk", "Wat zeggen ervaringsdeskundigen"):
        assert heading in page


def test_a_kind_with_nothing_relevant_says_so_and_the_gap_reaches_the_agenda(site):
    question = "Hoe maak je de impact van sociaal werk zichtbaar met cijfers en verhalen?"
    answer = site.post("/api/ask", json={"question": question}).json()
    views = {v["knowledge"]: v for v in answer["perspectives"]}
    gap = views["ervaring"]
    assert not gap["found"] and not gap["findings"] and not gap["experts"]
    assert gap["message"] == "Geen ervaringskennis over dit onderwerp gevonden."
    assert views["onderzoek"]["found"]  # the rest is answered, not padded out nor held back
    assert "Geen ervaringskennis over dit onderwerp gevonden." in site.get(f"/antwoord/{answer['question_id']}").text
    agenda = site.get("/api/agenda", headers={"Authorization": "Bearer kennis-token"}).json()
    missing = {g["knowledge"]: g for g in agenda["knowledge_gaps"]}
    assert any(answer["question_id"] in t["question_ids"] for t in missing["ervaring"]["topics"])
    assert missing["ervaring"]["label"] == "ervaringskennis"


def test_search_filters_and_counts_by_knowledge_and_evidence_in_the_api_cli_and_web(site, fresh_samples, e5,
                                                                                      monkeypatch):
    q = "schulden vroeg signaleren en voorkomen"
    found = site.get("/api/search", params={"q": q, "limit": 50}).json()
    assert set(found["facets"]["knowledge"]) == set(KNOWLEDGE) and found["facets"]["evidence"]
    only = site.get("/api/search", params={"q": q, "knowledge": "ervaring", "limit": 50}).json()["results"]
    assert only and all("ervaring" in r["knowledge"] for r in only)
    rated = site.get("/api/search", params={"q": q, "evidence": "Effectief", "limit": 50}).json()["results"]
    assert [r["document_id"] for r in rated] == ["interventie-2025-vroeg-erop-af-parkstad"]
    wrong = site.get("/api/search", params={"q": q, "knowledge": "astrologie"})
    assert wrong.status_code == 400 and wrong.json()["error"]["field"] == "knowledge"
    page = site.get("/zoeken", params={"q": q, "kennis": "ervaring"})
    assert page.status_code == 200 and "Soort kennis" in page.text and "Niveau van bewijs" in page.text
    give_the_cli(monkeypatch, e5)
    out = io.StringIO()
    assert main(["search", q, "--evidence", "effectief", "--json"], settings=make_settings(fresh_samples),
                out=out) == 0
    results = json.loads(out.getvalue())["results"]
    assert [r["document_id"] for r in results] == ["interventie-2025-vroeg-erop-af-parkstad"]
    assert results[0]["evidence"] == "effectief" and "praktijk" in results[0]["knowledge"]


def test_a_document_page_shows_its_knowledge_evidence_target_group_and_working_elements(site):
    doc = site.get("/api/documents/interventie-2025-vroeg-erop-af-parkstad").json()
    assert doc["evidence"] == "effectief" and doc["target_groups"] and doc["working_elements"]
    page = site.get("/documenten/interventie-2025-vroeg-erop-af-parkstad").text
    for label in ("Soort kennis", "Niveau van bewijs", "Effectief", "Doelgroep", "Werkzame elementen"):
        assert label in page, label
    inferred = site.get("/documenten/ervaringsverhaal-2024-koud-thuis").text
    assert "afgeleid uit soort, auteurs en tekst" in inferred
    taxonomy = site.get("/api/taxonomy").json()
    assert [k["slug"] for k in taxonomy["knowledge"]] == list(KNOWLEDGE) and taxonomy["evidence_levels"]


# --- the boost -----------------------------------------------------------------------------------------------

def test_an_effective_intervention_goes_before_an_undescribed_one_of_equal_relevance(km_factory, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    same = "title: Huisbezoek bij betalingsachterstand\nkind: interventie\n"
    docmaker.make_md(folder / "a.md", front=f"id: a-onbeschreven\n{same}")
    docmaker.make_md(folder / "b.md", front=f"id: b-effectief\n{same}evidence: effectief\n")
    docmaker.make_md(folder / "c.md", front=f"id: c-goed-beschreven\n{same}evidence: goed-beschreven\n")
    km = km_factory()
    assert km.ingestor().run([folder]).ok
    broker = km.broker()
    question = "Helpt een huisbezoek bij een betalingsachterstand?"
    ranked = [r.document_id for r in broker.search(question, limit=3).results]
    assert ranked == ["b-effectief", "c-goed-beschreven", "a-onbeschreven"]
    broker.evidence_boost = 0.0  # relevance alone: the three are the same text, so they tie
    plain = broker.search(question, limit=3).results
    assert len({round(r.score, 6) for r in plain}) == 1


def test_the_boost_never_lifts_an_intervention_over_a_clearly_more_relevant_finding(km_factory, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "vraag.md").write_text(
        "---\nid: precies-raak\ntitle: Energiearmoede bij huurders aanpakken\n---\nEnergiearmoede bij huurders pak "
        "je aan met een energiecoach die thuis komt, isolatie door de verhuurder en hulp bij het energiefonds. "
        "Huurders met een hoge energierekening en een slecht geïsoleerde woning krijgen eerst een huisbezoek.\n",
        "utf-8")
    (folder / "verwant.md").write_text(  # a neighbouring subject (tenants, arrears, a home visit), well tested
        "---\nid: verwant-onderwerp\ntitle: Vroegsignalering van huurachterstanden\nevidence: sterke-aanwijzingen"
        "\n---\nHuurders met een betalingsachterstand krijgen binnen twee weken een huisbezoek van een "
        "schuldhulpverlener. De woningcorporatie meldt de achterstand, zodat de huur en de vaste lasten weer "
        "betaald kunnen worden.\n", "utf-8")
    km = km_factory()
    assert km.ingestor().run([folder]).ok
    broker = km.broker()
    question = "Hoe pak je energiearmoede bij huurders aan?"
    assert broker.search(question).results[0].document_id == "precies-raak"
    broker.evidence_boost = 20 * broker.evidence_boost  # an oversized boost would: the weight is what holds
    assert broker.search(question).results[0].document_id == "verwant-onderwerp"


def test_people_bring_the_knowledge_of_their_role(site):
    found = site.get("/api/experts", params={"q": "schulden, armoede en schaamte", "limit": 30}).json()["experts"]
    by_role = {e["role"]: e["knowledge"] for e in found}
    assert by_role.get("ervaringsdeskundige") == ["ervaring"] and by_role.get("onderzoeker") == ["onderzoek"]


def test_the_knowledge_benchmark_figures_hold_on_the_demo_corpus(samples_km):
    """The figures of the closing note, kept: agreement on the labelled documents, all three kinds shown for
    most of the twenty questions (``benchmarks/knowledge.py`` prints them)."""
    from benchmarks.knowledge import agreement, answers

    agreed = agreement(samples_km)
    assert agreed["exact"] >= 0.9 * agreed["documents"] and agreed["documents"] >= 40
    shown = answers(samples_km)
    assert shown["all_three"] >= 14 and shown["per_kind"]["ervaring"] >= 14


@pytest.mark.parametrize("question", ["Hoe bak ik een appeltaart met kaneel?", "Recept voor Limburgse vlaai"])
def test_a_question_the_store_knows_nothing_of_is_not_padded_with_people(site, question):
    """Issue 21: not answered — no people to contact, no kinds of knowledge filled with findings about
    something else; the page offers the coordinator; on the agenda as a topic of its own, not as a gap in each
    kind of knowledge."""
    answer = site.post("/api/ask", json={"question": question}).json()
    assert answer["answered"] is False and answer["confidence"] < 0.5
    assert answer["experts"] == [] and answer["perspectives"] == [] and answer["bridges"] == []
    assert answer["hidden_experts"] == 0
    page = site.get(f"/antwoord/{answer['question_id']}").text
    assert "Vraag de coördinator" in page and "Hierover is nog weinig kennis" in page
    assert "Vraag contact aan" not in page and "Wat zegt de praktijk" not in page
    agenda = site.get("/api/agenda", headers={"Authorization": "Bearer kennis-token"}).json()
    assert any(answer["question_id"] in c["question_ids"] for c in agenda["clusters"])
    assert not any(answer["question_id"] in t["question_ids"] for g in agenda["knowledge_gaps"] for t in g["topics"])


@pytest.mark.parametrize("question", ["armoede", "schuldhulp", "Hoe werken school en jongerenwerk samen?"])
def test_a_question_the_store_knows_well_is_answered_however_short(site, question):
    answer = site.post("/api/ask", json={"question": question}).json()
    assert answer["answered"] is True and answer["experts"] and answer["findings"]
    page = site.get(f"/antwoord/{answer['question_id']}").text
    assert "Hierover is nog weinig kennis" not in page and "Alle bevindingen, op relevantie" in page
    agenda = site.get("/api/agenda", headers={"Authorization": "Bearer kennis-token"}).json()
    assert not any(answer["question_id"] in c["question_ids"] for c in agenda["clusters"])


def test_a_kind_is_never_said_to_be_missing_while_the_answer_shows_a_finding_of_it(site):
    for question in ("Hoe bereik je gezinnen die uit schaamte geen hulp vragen bij geldzorgen?",
                     "Wat werkt tegen eenzaamheid in een oude mijnwerkerswijk?", "armoede",
                     "Hoe maak je de impact van sociaal werk zichtbaar met cijfers en verhalen?"):
        answer = site.post("/api/ask", json={"question": question}).json()
        shown = {k for f in answer["findings"] for k in f["knowledge"]}
        for view in answer["perspectives"]:
            if view["found"] or view["knowledge"] not in shown:
                continue
            assert view["nearby"] and all(view["knowledge"] in f["knowledge"] for f in view["nearby"])
            assert not view["message"].startswith("Geen") and "dichtstbij" in view["message"]


def test_a_removal_takes_the_name_out_of_target_groups_and_working_elements(km_factory, tmp_path):
    from service.coordinators import COMMAND_LINE
    from service.profiles import remove_person

    folder = tmp_path / "map"
    folder.mkdir()
    (folder / "experts.yaml").write_text("experts:\n  - {id: gerda-janssen, name: Gerda Janssen, consent: true}\n",
                                         "utf-8")
    (folder / "aanpak.md").write_text(
        "---\nid: aanpak\ntitle: Aanpak\nkind: interventie\ntarget_groups: [gezinnen die Gerda Janssen kent]\n"
        "working_elements: [de steun van Gerda Janssen, een vaste contactpersoon]\n"
        "evidence_assessor: Gerda Janssen en het kennisteam\nevidence_reason: Gerda Janssen beschreef het goed.\n"
        "summary: Een aanpak van Gerda Janssen voor gezinnen.\n---\nEen aanpak voor gezinnen "
        "met geldzorgen, met huisbezoek en een vaste contactpersoon.\n", "utf-8")
    km = km_factory()
    assert km.ingestor().run([folder]).ok
    remove_person(km, "gerda-janssen", COMMAND_LINE)
    doc = km.catalog().document("aanpak")
    assert "Janssen" not in json.dumps(doc["target_groups"] + doc["working_elements"])
    assert "een vaste contactpersoon" in doc["working_elements"]
    # the databank's free texts and the keys browsing counts by, as any text may name someone
    assert "Janssen" not in json.dumps([doc[k] for k in ("evidence_assessor", "evidence_reason", "summary",
                                                         "target_group_keys")])
    assert doc["summary"].startswith("Een aanpak van") and "kennisteam" in doc["evidence_assessor"]


def test_the_searches_an_answer_skips_below_its_reach_change_nothing(samples_km, monkeypatch):
    """A kind (or another atelier) the answer's passages hold nothing of is searched for on its own, unless the
    floor lies above what the dense list reaches: then the search is not made (``retrieve.Found.reach``). On the
    demo corpus with the real model: searches are saved, and every answer is the one the searches gave."""
    from benchmarks.latency import QUESTIONS
    from matching import retrieve

    broker = samples_km.broker()
    searched = []
    real_search = broker.catalog.search_passages
    monkeypatch.setattr(broker.catalog, "search_passages", lambda q: searched.append(q) or real_search(q))

    def answers() -> list:
        out = []
        for text in QUESTIONS:
            a = broker.ask(text, record=False)
            out.append(([f.document_id for f in a.findings], [e.id for e in a.experts],
                        [(b["type"], (b.get("finding") or {}).get("document_id") or (b.get("expert") or {}).get("id"))
                         for b in a.bridges],
                        [(v.knowledge, [f.document_id for f in v.findings], [f.document_id for f in v.nearby])
                         for v in a.perspectives]))
        return out

    skipping = answers()
    saved = len(searched)
    searched.clear()
    monkeypatch.setattr(retrieve.Found, "reach", property(lambda self: float("inf")))
    searching = answers()
    assert skipping == searching
    assert len(searched) > saved, "no search was skipped: the test no longer tests the shortcut"
