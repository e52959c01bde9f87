"""Ranking rules in isolation, on hand-made inputs (the model is not the subject here)."""

from __future__ import annotations

import numpy as np
import pytest

from core.taxonomy import Taxonomy
from matching.agenda import build_agenda, cluster_vectors, next_step, timeline
from matching.bridges import Placement, bridge
from matching.experts import best_phrase, combine, rank_weights, vote
from matching.panels import PanelConstraints, compose
from matching.results import ExpertMatch

TAX = Taxonomy.default()
JEUGD, ARMOEDE, VEERKRACHT = (a.slug for a in TAX.ateliers)


# --- experts: model 2 voting with damping --------------------------------------------------------------

def test_a_prolific_author_does_not_win_by_volume():
    # the prolific one is linked to 9 weakly relevant documents, the specialist to 2 strong ones
    docs = [f"d{i}" for i in range(11)]
    weights = rank_weights(docs)
    people = {"d0": {"specialist": 1.0}, "d1": {"specialist": 1.0}}
    people.update({f"d{i}": {"prolific": 1.0} for i in range(2, 11)})
    counts = {"specialist": 2, "prolific": 60}
    votes = vote(weights, people, counts, damping=0.5)
    assert votes["specialist"].score > votes["prolific"].score
    undamped = vote(weights, people, counts, damping=0.0)
    assert undamped["prolific"].score > undamped["specialist"].score  # the damping is what makes the difference


def test_votes_remember_which_documents_contributed():
    votes = vote({"a": 1.0, "b": 0.5}, {"a": {"x": 1.0}, "b": {"x": 0.6}}, {"x": 2})
    assert [d for d, _ in votes["x"].documents] == ["a", "b"]


def test_profile_and_document_evidence_combine():
    docs = {"many-docs": 3.0, "both": 1.5}
    profiles = {"perfect-profile": 0.92, "both": 0.90, "weak": 0.80}
    scores = combine(docs, profiles)
    assert max(scores, key=scores.get) == "both"  # both kinds of evidence
    assert scores["perfect-profile"] > scores["weak"]
    assert scores["perfect-profile"] >= 0.9 * scores["many-docs"]  # a perfect profile is not buried
    only_docs = combine(docs, profiles, profile_weight=0.0)
    assert max(only_docs, key=only_docs.get) == "many-docs"


def test_best_phrase_of_a_profile():
    text = "Ik werk in Heerlen. Mijn onderzoek gaat over schulden bij jongeren. Verder fiets ik graag."
    assert best_phrase(text, "hulp bij schulden van jongeren") == "Mijn onderzoek gaat over schulden bij jongeren."
    assert best_phrase("", "x") == ""


# --- bridges ----------------------------------------------------------------------------------------------

def test_bridge_labels_other_ateliers_with_a_shared_theme():
    q = Placement(JEUGD, ("interprofessionaliteit", "impact"), inferred=True)
    b = bridge([ARMOEDE], ["leiderschap", "impact"], q, TAX)
    assert b["from_atelier"] == ARMOEDE and b["via_theme"] == "impact"
    assert b["from_atelier_name"] == "Over leven in tweedeling en armoede"
    assert bridge([JEUGD, ARMOEDE], ["impact"], q, TAX) is None  # same atelier: no bridge
    assert bridge([ARMOEDE], ["leiderschap"], q, TAX)["via_theme"] == "leiderschap"


# --- panels -----------------------------------------------------------------------------------------------

def _expert(i, score, role, org, ateliers, themes=()):
    return ExpertMatch(id=f"e{i}", name=f"Expert {i}", score=score, role=role, organization=org,
                       ateliers=list(ateliers), themes=list(themes))


POOL = [
    _expert(1, 1.00, "professional", "Gemeente Heerlen", [JEUGD], ["impact"]),
    _expert(2, 0.98, "professional", "Gemeente Heerlen", [JEUGD]),
    _expert(3, 0.95, "beleidsmaker", "Gemeente Heerlen", [JEUGD]),
    _expert(4, 0.90, "professional", "Wijkteam", [ARMOEDE], ["leiderschap"]),
    _expert(5, 0.60, "onderzoeker", "Zuyd", [VEERKRACHT]),
    _expert(6, 0.55, "onderzoeker", "Zuyd", [ARMOEDE]),
]


def test_panel_meets_constraints_and_explains_each_choice():
    c = PanelConstraints(min_roles={"onderzoeker": 1}, max_per_organization=1,
                         cover_ateliers=(JEUGD, ARMOEDE, VEERKRACHT))
    panel = compose(POOL, 3, c, TAX)
    ids = [m.expert.id for m in panel.members]
    assert len(ids) == 3 and panel.unmet == []
    assert sum(m.expert.role == "onderzoeker" for m in panel.members) >= 1
    assert len({m.expert.organization for m in panel.members}) == 3
    assert {a for m in panel.members for a in m.expert.ateliers} == {JEUGD, ARMOEDE, VEERKRACHT}
    assert "e1" in ids  # the most relevant person is kept
    assert all(m.why and m.why[0].startswith("Relevant") for m in panel.members)
    researcher = next(m for m in panel.members if m.expert.role == "onderzoeker")
    assert any("onderzoeker" in w for w in researcher.why)


def test_without_constraints_relevance_and_coverage_decide():
    panel = compose(POOL, 2, PanelConstraints(), TAX)
    assert panel.members[0].expert.id == "e1"
    assert panel.members[1].expert.ateliers != [JEUGD]  # coverage beats a near-duplicate


def test_impossible_constraints_are_reported_not_hidden():
    panel = compose(POOL[:4], 3, PanelConstraints(min_roles={"student": 1}), TAX)
    assert len(panel.members) == 3 and panel.unmet and "student" in panel.unmet[0]


def test_excluded_people_are_not_chosen():
    panel = compose(POOL, 2, PanelConstraints(exclude=("e1",)), TAX)
    assert "e1" not in [m.expert.id for m in panel.members]


# --- agenda -----------------------------------------------------------------------------------------------

def _q(i, vec, best, asked, atelier=ARMOEDE, unhelpful=0):
    v = np.asarray(vec, dtype=np.float32)
    return {"question_id": f"q{i}", "text": f"vraag {i}", "_vector": v / np.linalg.norm(v), "best_score": best,
            "asked_at": asked, "atelier": atelier, "helpful": 0, "unhelpful": unhelpful}


def test_agenda_clusters_open_questions_with_a_next_step():
    qs = [_q(1, [1, 0, 0], 0.70, "2025-01-05"), _q(2, [0.98, 0.1, 0], 0.71, "2025-03-01"),
          _q(3, [0.97, 0.05, 0.1], 0.72, "2025-02-01", atelier=JEUGD),
          _q(4, [0, 1, 0], 0.81, "2025-04-01"),
          _q(5, [0, 0, 1], 0.95, "2025-04-02"),  # well answered: not on the agenda
          _q(6, [0, 0.1, 1], 0.95, "2025-05-02", unhelpful=2)]  # well matched but marked unhelpful
    clusters = build_agenda(qs, threshold=0.83, similarity=0.9)
    assert [c.size for c in clusters] == [3, 1, 1]
    big = clusters[0]
    assert big.first_asked == "2025-01-05" and big.last_asked == "2025-03-01"
    assert big.ateliers == {ARMOEDE: 2, JEUGD: 1}
    assert big.next_step == "klein-onderzoek" and big.novelty == 1.0
    assert sorted(big.question_ids) == ["q1", "q2", "q3"]
    assert "q5" not in [i for c in clusters for i in c.question_ids]
    assert any("q6" in c.question_ids for c in clusters)


def test_ladder_by_size_and_novelty():
    assert next_step(1, 0.0)[0] == "uitwisseling"
    assert next_step(5, 0.2)[0] == "expertmeeting"
    assert next_step(2, 0.5)[0] == "expertmeeting"
    assert next_step(5, 0.5)[0] == "experiment"
    assert next_step(1, 0.9)[0] == "experiment"
    assert next_step(4, 0.9)[0] == "klein-onderzoek"
    assert next_step(12, 0.9)[0] == "groot-onderzoek"


def test_clustering_threshold_and_timeline():
    v = np.eye(3)
    assert sorted(map(len, cluster_vectors(v, 0.5))) == [1, 1, 1]
    qs = [_q(1, [1, 0], 0.5, "2025-01-05"), _q(2, [1, 0], 0.5, "2025-01-20", atelier=JEUGD),
          _q(3, [1, 0], 0.99, "2025-02-01")]
    assert timeline(qs, 0.83) == {"2025-01": {ARMOEDE: 1, JEUGD: 1}}


@pytest.mark.parametrize("seed", range(6))
def test_scipy_clustering_gives_the_partition_of_the_hand_written_loop_it_replaced(seed):
    from benchmarks.agenda import partition, questions, reference_clusters

    v = questions(150, dim=32, topics=20 + seed * 5, noise=0.03 + 0.01 * seed, seed=seed)
    for similarity in (0.8, 0.9, 0.95):
        assert partition(cluster_vectors(v, similarity)) == partition(reference_clusters(v, similarity))
