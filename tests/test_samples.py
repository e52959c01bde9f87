"""The demo corpus: shaped as the issue asks, and ingested with the default model it answers real questions."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from core.taxonomy import Taxonomy
from ingestion.discover import discover
from ingestion.metadata import read_sidecar, split_front_matter
from ingestion.profiles import load_profiles
from tests.conftest import SAMPLES

DOCS = SAMPLES / "documenten"
EXPERTS = SAMPLES / "experts"
UNLABELLED = {
    "interventie-jongerenpanel-parkstad": "kansrijk-met-jeugd",
    "interventie-huiswerkklas-plus": "kansrijk-met-jeugd",
    "interventie-2026-mentorproject-stapstenen": "kansrijk-met-jeugd",
    "interventie-keukentafelgesprek-over-geld": "tweedeling-en-armoede",
    "verslag-2024-10-15-energiearmoede-brunssum": "tweedeling-en-armoede",
    "interventie-buurtkamer-bekkerveld": "veerkracht-in-gemeenschappen",
}
# Questions a member would ask, with documents that answer them (planted across ateliers).
QUESTIONS = {
    "Waarom laten ouders regelingen voor hun kinderen liggen, en wat betekent dat voor jongerenwerkers?":
        {"onderzoek-2023-niet-gebruik-heerlen-noord", "onderzoek-2024-jongeren-en-schaamte"},
    "Jongeren zeggen dat ze geen zin hebben in sport, maar het lijkt om geld te gaan.":
        {"onderzoek-2024-jongeren-en-schaamte", "verslag-2024-12-10-werkplaatsdag"},
    "Hoe herstel je vertrouwen in een wijk waar projecten steeds kwamen en gingen?":
        {"rapport-2024-evaluatie-vaste-gezichten", "onderzoek-2025-veerkracht-van-onderop"},
    "Wat levert het op als professionals zelf over een klein budget mogen beslissen?":
        {"rapport-2024-ruimte-om-te-doen-wat-nodig-is", "experiment-doorbraakbudget-westelijke-mijnstreek"},
    "Hoe bereik je jongvolwassenen met betalingsachterstanden?":
        {"experiment-2025-samen-sterk", "factsheet-2025-jongvolwassenen-en-schulden"},
    "Hoe werken wijkteam, corporatie en schuldhulp samen bij huurachterstand?":
        {"onderzoek-2025-interprofessioneel-samenwerken-wijkteams", "verslag-2026-01-20-armoede"},
    "Hoe zet je ervaringsdeskundigen goed in?": {"handreiking-2026-ervaringsdeskundigen-inzetten"},
}


def _metadata() -> dict[str, dict]:
    out = {}
    for source in discover([DOCS], max_bytes=50 << 20).documents:
        if source.sidecar:
            meta = read_sidecar(source.sidecar)
        else:
            meta, _ = split_front_matter(source.path.read_text("utf-8"))
        out[source.relpath] = meta
    return out


def test_corpus_shape():
    meta = _metadata()
    assert len(meta) >= 40
    formats = Counter(Path(p).suffix for p in meta)
    assert all(formats[f] >= 1 for f in (".md", ".docx", ".pdf", ".html"))
    ateliers = Counter(a for m in meta.values() for a in m.get("ateliers") or [])
    themes = Counter(t for m in meta.values() for t in m.get("themes") or [])
    assert {a.slug for a in Taxonomy.default().ateliers} <= set(ateliers)
    assert {t.slug for t in Taxonomy.default().themes} <= set(themes)
    years = {str(m.get("date"))[:4] for m in meta.values()}
    assert {"2023", "2024", "2025", "2026"} <= years
    kinds = Counter(m.get("kind") for m in meta.values())
    assert {"verslag", "rapport", "interventie", "experiment", "beleidsadvies"} <= set(kinds)
    assert len({m["id"] for m in meta.values()}) == len(meta)


def test_experts_shape():
    tax = Taxonomy.default()
    experts = [e for s in discover([EXPERTS], max_bytes=1 << 20).profiles for e in load_profiles(s, tax).experts]
    assert len(experts) >= 25
    roles = Counter(e.role for e in experts)
    for role in ("professional", "onderzoeker", "docent", "student", "beleidsmaker", "ervaringsdeskundige"):
        assert roles[role] >= 3, roles
    assert sum(not e.consent for e in experts) >= 3
    assert len({e.id for e in experts}) == len(experts)
    emails = [e.email for e in experts if e.email]
    assert len(emails) >= 10 and all(m.endswith(("@example.org", "@example.nl")) for m in emails)


def test_sidecars_and_front_matter_parse():
    sidecars = sorted(DOCS.glob("*.yaml"))
    assert len(sidecars) >= 10
    for path in sidecars:
        meta = yaml.safe_load(path.read_text("utf-8"))
        assert isinstance(meta, dict) and meta.get("id") and meta.get("title"), path
        assert path.with_suffix("").is_file(), path  # the sidecar of an existing document
    texts = [p for p in DOCS.iterdir() if p.suffix in (".md", ".txt")]
    assert texts
    for path in texts:
        meta, body = split_front_matter(path.read_text("utf-8"), path.name)
        assert meta.get("id") and meta.get("title") and body.strip(), path


@pytest.mark.slow
def test_everything_went_in_and_people_are_linked(samples_km):
    catalog = samples_km.catalog()
    counts = catalog.counts()
    assert counts["documents"] == len(_metadata()) and counts["experts"] >= 25
    per_person = Counter(k for d in catalog.documents(fields=["people"]) for k in d["people"])
    assert per_person["petra huijts"] >= 8  # a prolific author
    hidden = list(catalog.experts(fields=["expert_id", "visibility"]))
    assert sum(e["visibility"] == "hidden" for e in hidden) >= 3


@pytest.mark.slow
def test_the_readme_counts_the_demo_corpus_as_it_is(samples_km):
    """The README said 48 documents when there were 54: its counts of the demo corpus come from the corpus."""
    import re

    readme = (SAMPLES.parent / "README.md").read_text("utf-8")
    counts = samples_km.catalog().counts()
    stated = re.findall(r"(\d+) (?:fictional Dutch )?documents and (\d+) expert profiles", readme)
    assert stated, "the README must say how large the demo corpus is"
    assert {(int(d), int(e)) for d, e in stated} == {(counts["documents"], counts["experts"])}, stated
    passages = re.findall(r"(\d+) passages\)", readme)
    assert [int(p) for p in passages] == [counts["chunks"]], passages


@pytest.mark.slow
def test_missing_ateliers_are_inferred_correctly(samples_km):
    catalog = samples_km.catalog()
    for doc_id, atelier in UNLABELLED.items():
        doc = catalog.document(doc_id)
        assert doc["ateliers_inferred"] and doc["ateliers"][0] == atelier, doc_id
    labelled = [d for d in catalog.documents() if not d["ateliers_inferred"]]
    assert labelled and all(d["ateliers"] for d in labelled)


@pytest.mark.slow
@pytest.mark.parametrize("question", list(QUESTIONS))
def test_planted_questions_find_their_documents(samples_km, question):
    results = samples_km.broker().search(question, limit=10).results
    top = [r.document_id for r in results[:3]]
    assert QUESTIONS[question] & set(top), (question, top)


@pytest.mark.slow
def test_the_demo_corpus_shows_every_visibility(samples_km):
    """One document for the Werkplaats, one for an atelier, one for coordinators; the rest open to anyone."""
    counts = samples_km.catalog().visibility_counts()
    assert set(counts) == {"openbaar", "werkplaats", "atelier:kansrijk-met-jeugd", "coordinatie"}, counts
    assert counts["werkplaats"] == counts["atelier:kansrijk-met-jeugd"] == counts["coordinatie"] == 1
