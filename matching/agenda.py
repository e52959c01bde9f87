"""The knowledge agenda: the questions the community cannot answer yet, grouped, with a next step.

A question counts as open when the broker judged that the Werkplaats does not know the answer
(``matching.answerability``; for a question kept before that judgement: its best passage's cosine below the
threshold) and nobody marked the answer helpful, or when people marked its answers unhelpful more often than
helpful. Open questions are clustered by meaning
(average linkage on their vectors); every cluster gets a representative question, its size, ateliers,
first and last date, and a suggested step on the Werkplaats' own ladder, chosen by size and novelty:

    uitwisseling / expertmeeting → experiment → klein onderzoek → groot onderzoek
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.knowledge import SOURCES

LADDER = {
    "uitwisseling": "Ervaringen uitwisselen in het atelier",
    "expertmeeting": "Expertmeeting of werkplaats organiseren",
    "experiment": "Experiment met een nieuwe aanpak",
    "klein-onderzoek": "Klein praktijkonderzoek",
    "groot-onderzoek": "Groot onderzoek (met een lectoraat of universiteit)",
}


@dataclass
class Cluster:
    representative: str
    size: int
    ateliers: dict[str, int]
    first_asked: str
    last_asked: str
    best_score: float
    novelty: float
    next_step: str
    next_step_label: str
    why: str
    question_ids: list[str] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)
    unhelpful: int = 0

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def is_open(question: Mapping[str, Any], threshold: float) -> bool:
    """Not answered well enough — unless a contact request's outcome or a meeting closed it (``closed_by``).

    Marked unhelpful more often than helpful: open; helpful more often: answered, whatever the judgement; else
    the broker's judgement when it was asked (``answered``); for a question kept before there was a judgement,
    its best passage below ``threshold`` (a cosine). The overview's "answered well" is the opposite.

    >>> is_open({"answered": True, "best_score": 0.5}, 0.85), is_open({"answered": False, "best_score": 0.9}, 0.85)
    (False, True)
    >>> is_open({"best_score": 0.8}, 0.85), is_open({"answered": True, "unhelpful": 2, "helpful": 1}, 0.85)
    (True, True)
    >>> is_open({"answered": False, "helpful": 1}, 0.85)
    False
    """
    if question.get("closed_by"):
        return False
    helpful, unhelpful = question.get("helpful", 0), question.get("unhelpful", 0)
    if helpful != unhelpful:
        return unhelpful > helpful
    answered = question.get("answered")
    return not (question.get("best_score", 0.0) >= threshold if answered is None else answered)


def novelty(question: Mapping[str, Any], threshold: float, floor: float) -> float:
    """How new a question is to the Werkplaats, 0 to 1: the judgement's doubt that it is answered (1 −
    ``confidence``); for a question kept before, where its best cosine lies between ``threshold`` (0) and
    ``floor`` (1).

    >>> novelty({"confidence": 0.2}, 0.85, 0.82), novelty({"best_score": 0.835}, 0.85, 0.82)
    (0.8, 0.5)
    """
    if "confidence" in question:  # plain floats: the agenda asks this of thousands of questions
        return min(1.0, max(0.0, 1.0 - float(question["confidence"])))
    best = float(question.get("best_score", 0.0))
    return min(1.0, max(0.0, (threshold - best) / max(threshold - floor, 1e-6)))


def prepare() -> None:
    """Import SciPy's clustering now (service start-up), not on a worker's first agenda request (~0.3 s)."""
    import scipy.cluster.hierarchy  # noqa: F401


def cluster_vectors(vectors: np.ndarray, threshold: float) -> list[list[int]]:
    """Average-linkage clustering (UPGMA, SciPy): groups whose mean cosine similarity stays ≥ ``threshold``.

    >>> v = np.array([[1, 0], [0.99, 0.14], [0, 1]], dtype=float)
    >>> sorted(map(sorted, cluster_vectors(v / np.linalg.norm(v, axis=1, keepdims=True), 0.9)))
    [[0, 1], [2]]
    """
    n = len(vectors)
    if n < 2:
        return [[i] for i in range(n)]
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    # cosine distance = 1 - similarity (the vectors are normalised), from one float32 matrix product (e5 vectors
    # are float32: the product need not be wider); only its upper triangle goes to double, as linkage wants
    v = np.asarray(vectors, dtype=np.float32)
    distance = 1.0 - squareform(v @ v.T, checks=False).astype(np.float64)
    np.clip(distance, 0.0, 2.0, out=distance)
    tree = linkage(distance, method="average")
    labels = fcluster(tree, t=1.0 - threshold + 1e-9, criterion="distance")
    groups: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        groups.setdefault(int(label), []).append(i)
    return list(groups.values())


def next_step(size: int, novelty: float) -> tuple[str, str]:
    """The ladder step for a cluster, and why (Dutch).

    >>> next_step(1, 0.1)[0], next_step(4, 0.5)[0], next_step(9, 0.9)[0]
    ('uitwisseling', 'experiment', 'groot-onderzoek')
    """
    if novelty < 0.34:
        step = "uitwisseling" if size < 3 else "expertmeeting"
        why = "Er is verwante kennis in de Werkplaats; die moet vooral gedeeld worden."
    elif novelty < 0.67:
        step = "expertmeeting" if size < 3 else "experiment"
        why = "De kennis is er ten dele; een gerichte bijeenkomst of een experiment kan het gat dichten."
    else:
        step = "experiment" if size < 3 else "klein-onderzoek" if size < 8 else "groot-onderzoek"
        why = "Hierover is nog nauwelijks kennis in de Werkplaats"
    if novelty >= 0.67:
        why += f" en de vraag kwam {size} keer terug." if size > 1 else "."
    return step, why


def build_agenda(questions: Sequence[Mapping[str, Any]], *, threshold: float, similarity: float = 0.9,
                 floor: float | None = None) -> list[Cluster]:
    """Cluster the open questions; ``questions`` carry ``_vector``. Largest and newest clusters first.

    Novelty is the members' mean ``novelty``: for a question kept before the judgement, 0 with its best
    passage at the threshold to 1 at ``floor`` (default threshold − 0.03: with e5 the best passage for a
    question the corpus knows nothing about still scores about 0.82).
    """
    open_ = [q for q in questions if is_open(q, threshold)]
    if not open_:
        return []
    floor = threshold - 0.03 if floor is None else floor
    vectors = np.vstack([q["_vector"] for q in open_])
    novelties = [novelty(q, threshold, floor) for q in open_]
    out = []
    for members in cluster_vectors(vectors, similarity):
        group = [open_[i] for i in members]
        # most clusters are one question: no arithmetic on arrays for those (thousands of them at scale)
        medoid = group[0] if len(group) == 1 else \
            group[int(np.argmax(vectors[members] @ vectors[members].mean(axis=0)))]
        best = sum(float(q.get("best_score", 0.0)) for q in group) / len(group)
        new = sum(novelties[i] for i in members) / len(members)
        step, why = next_step(len(group), new)
        dates = sorted(q["asked_at"] for q in group)
        out.append(Cluster(
            representative=medoid["text"], size=len(group),
            ateliers=dict(Counter(q.get("atelier") or "onbekend" for q in group).most_common()),
            first_asked=dates[0], last_asked=dates[-1], best_score=round(best, 4), novelty=round(new, 3),
            next_step=step, next_step_label=LADDER[step], why=why,
            question_ids=[q["question_id"] for q in group],
            examples=[q["text"] for q in group if q is not medoid][:3],
            unhelpful=sum(q.get("unhelpful", 0) for q in group)))
    return sorted(out, key=lambda c: (-c.size, -c.novelty, c.last_asked))


def knowledge_gaps(questions: Sequence[Mapping[str, Any]], *, similarity: float = 0.9,
                   topics: int = 5) -> list[dict[str, Any]]:
    """Per kind of knowledge (``core.knowledge``), the topics on which answers found none of it: the questions
    that missed it (``missing_knowledge``, kept when they were asked), clustered as the agenda is, biggest
    first. "Geen ervaringskennis over dit onderwerp" is where the Werkplaats goes to collect it."""
    out = []
    for source in SOURCES:
        # a question a meeting or a contact request closed has had its answer, of whatever kind
        missing = [q for q in questions if source.slug in (q.get("missing_knowledge") or []) and not q.get("closed_by")]
        found: list[dict[str, Any]] = []
        if missing:
            vectors = np.vstack([q["_vector"] for q in missing])
            for members in cluster_vectors(vectors, similarity):
                centre = vectors[members].mean(axis=0)
                medoid = missing[members[int(np.argmax(vectors[members] @ centre))]]
                found.append({"representative": medoid["text"], "size": len(members),
                              "last_asked": max(missing[i]["asked_at"] for i in members),
                              "question_ids": [missing[i]["question_id"] for i in members]})
        found.sort(key=lambda t: t["last_asked"], reverse=True)
        found.sort(key=lambda t: -t["size"])  # biggest first, the most recent among equals
        out.append({"knowledge": source.slug, "label": source.kind_of_knowledge, "questions": len(missing),
                    "topics": found[:topics]})
    return out


def timeline(questions: Sequence[Mapping[str, Any]], threshold: float) -> dict[str, dict[str, int]]:
    """Open questions per month and atelier (for the agenda's chart)."""
    out: dict[str, Counter[str]] = {}
    for q in questions:
        if is_open(q, threshold):
            out.setdefault(q["asked_at"][:7], Counter())[q.get("atelier") or "onbekend"] += 1
    return {month: dict(counts) for month, counts in sorted(out.items())}
