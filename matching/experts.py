"""Who knows: experts ranked from their profile *and* from the documents they wrote or took part in.

The document side is Balog's model 2 (document-centric): every retrieved document votes for its people
with its retrieval weight, and a person's share of a document is damped by how many documents they are
linked to (``n ** -damping``), so a prolific author does not win by volume alone. The profile side is a
search over the profiles' expertise text. The two are combined as normalised scores (each rescaled to
[0, 1] over the candidates), so a person with only a perfect profile is not buried under people with many
lukewarm documents — and one with both kinds of evidence comes first.

People without consent take no part in a public ranking: the engine leaves them out of the profile search and
of the documents' votes, so they neither move anyone else nor cost any work, and nothing counts them (a count
of the people passed over told, for a query naming someone, whether that person is registered here). Only a
caller who may see everyone (``include_hidden``) ranks them.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.knowledge import knowledge_of_role
from core.names import name_key
from core.store.catalog import Catalog
from core.store.types import Filter, MatchAny, Query
from matching.availability import PassedOver, unavailable
from matching.results import ExpertMatch, Reason
from matching.retrieve import Encoded, Mode, Passage
from matching.scaling import minmax

AUTHOR_WEIGHT, PARTICIPANT_WEIGHT = 1.0, 0.6
REASONS = 3  # documents shown as the reasons for one person
PUBLIC = Filter(must=(MatchAny("visibility", ("public",)),))  # people who consented to be shown


@dataclass
class Vote:
    score: float = 0.0
    documents: list[tuple[str, float]] = field(default_factory=list)  # (document id, contribution)


def vote(doc_weights: Mapping[str, float], doc_people: Mapping[str, Mapping[str, float]],
         doc_counts: Mapping[str, int], damping: float = 0.5) -> dict[str, Vote]:
    """Model 2 voting. ``doc_people[d]`` maps expert id → association strength (author 1, participant 0.6).

    >>> v = vote({"d1": 1.0, "d2": 0.5}, {"d1": {"a": 1.0, "b": 1.0}, "d2": {"a": 1.0}}, {"a": 4, "b": 1})
    >>> round(v["a"].score, 3), round(v["b"].score, 3)
    (0.75, 1.0)
    """
    votes: dict[str, Vote] = defaultdict(Vote)
    for doc, weight in doc_weights.items():
        for expert, strength in doc_people.get(doc, {}).items():
            share = weight * strength / max(1, doc_counts.get(expert, 1)) ** damping
            votes[expert].score += share
            votes[expert].documents.append((doc, share))
    for v in votes.values():
        v.documents.sort(key=lambda x: -x[1])
    return dict(votes)


def rank_weights(ordered: Sequence[str], k: float = 1.0) -> dict[str, float]:
    """Reciprocal-rank weights for documents in ranked order (first = 1 / (k + 1)).

    A steep curve (k = 1: ½, ⅓, ¼ …): the first documents are the evidence, the fortieth barely counts
    (expertise set MRR 0.563 at k = 1, 0.542 at k = 5, 0.483 at k = 60).
    """
    return {doc: 1.0 / (k + rank) for rank, doc in enumerate(ordered, start=1)}


def combine(documents: Mapping[str, float], profiles: Mapping[str, float], *, document_weight: float = 1.0,
            profile_weight: float = 1.0) -> dict[str, float]:
    """Weighted sum of the two kinds of evidence, each rescaled to [0, 1] (max for votes, min–max for profiles).

    >>> c = combine({"a": 2.0, "b": 1.0}, {"b": 0.9, "c": 0.8, "d": 0.7})
    >>> sorted(c, key=c.get, reverse=True)
    ['b', 'a', 'c', 'd']
    """
    out: dict[str, float] = defaultdict(float)
    top = max(documents.values(), default=0.0)
    for key, score in documents.items():
        out[key] += document_weight * (score / top if top > 0 else 0.0)
    if profiles:
        for key, scaled in zip(profiles, minmax(list(profiles.values())), strict=True):
            out[key] += profile_weight * float(scaled)
    return dict(out)


class ExpertFinder:
    def __init__(self, catalog: Catalog, *, damping: float = 0.5, profile_weight: float = 1.0,
                 document_weight: float = 1.0, documents: int = 40, rank_k: float = 1.0,
                 complete: Callable[[Sequence[Passage]], None] | None = None) -> None:
        self.catalog = catalog
        self.damping = damping
        self.profile_weight = profile_weight
        self.document_weight = document_weight
        self.documents = documents
        self.rank_k = rank_k
        self.complete = complete or (lambda passages: None)  # fetches the text of passages shown as reasons
        # the documents the asker may see (``core.visibility``): a person's count of documents damps their votes,
        # and a count of documents the asker may not see would move a score by what it hides
        self.scope: Filter | None = None
        self.scope_key = "*"

    def rank(self, question: Encoded, passages: Sequence[Passage], *, limit: int = 10, atelier: str | None = None,
             include_hidden: bool = False, mode: Mode = "hybrid",
             passed_over: list[PassedOver] | None = None) -> list[ExpertMatch]:
        """Experts for a question, best first: only people who consented, unless ``include_hidden``. People
        unavailable today or full this month are left out too, and added to ``passed_over`` with the reason."""
        who = None if include_hidden else PUBLIC
        best: dict[str, Passage] = {}
        for p in passages:  # passages come best first: keep each document's best passage
            best.setdefault(p.document_id, p)
        docs = list(best)[: self.documents]
        records = {d: h.payload for d, h in self.catalog.document_records(docs).items()}
        experts = self._experts_for(records.values(), who)
        key_to_expert = {k: e["expert_id"] for e in experts.values() for k in e["keys"]}
        doc_people = {d: _people(records.get(d, {}), key_to_expert) for d in docs}
        counts = self._document_counts(experts.values())
        votes = vote(rank_weights(docs, self.rank_k), doc_people, counts, self.damping)
        profile_hits = self._profiles(question, mode, who)
        experts.update({h["expert_id"]: h for h, _ in profile_hits if h["expert_id"] not in experts})
        fused = combine({e: v.score for e, v in votes.items()},
                        {h["expert_id"]: score for h, score in profile_hits if h.get("expertise")},
                        document_weight=self.document_weight, profile_weight=self.profile_weight)
        ordered = sorted(fused, key=lambda e: -fused[e])
        chosen: list[str] = []
        away = unavailable(self.catalog)
        for expert_id in ordered:
            expert = experts.get(expert_id)
            if expert is None:
                continue
            voted = votes.get(expert_id, Vote()).documents
            doc_ateliers = {a for d, _ in voted for a in records[d].get("ateliers", [])}
            if atelier and atelier not in set(expert.get("ateliers", [])) | doc_ateliers:
                continue
            if expert.get("visibility") != "public" and not include_hidden:
                continue  # the engine left them out already; a profile changed since is not shown either
            if expert_id in away:
                if passed_over is not None:
                    passed_over.append(PassedOver(expert_id, expert["name"], away[expert_id]))
                continue
            chosen.append(expert_id)
            if len(chosen) >= limit:
                break
        # the texts of every reason shown, in one fetch rather than one per person
        self.complete([best[d] for e in chosen for d, _ in votes.get(e, Vote()).documents[:REASONS]])
        return [self._match(experts[e], fused[e], votes.get(e), records, best, question) for e in chosen]

    def _experts_for(self, records: Iterable[Mapping[str, Any]], who: Filter | None) -> dict[str, dict[str, Any]]:
        """The people the documents name, of those ``who`` lets through (in the engine)."""
        keys = sorted({k for r in records for k in r.get("people", [])})
        if not keys:
            return {}
        found = self.catalog.experts(filter=Filter(must=(MatchAny("keys", tuple(keys)),)).and_(who))
        return {e["expert_id"]: e for e in found}

    def _document_counts(self, experts: Iterable[Mapping[str, Any]]) -> dict[str, int]:
        """How many documents each person is linked to (for the damping), cached until the catalog changes
        — or for a minute, since another process may write to a shared server."""
        counts = self.catalog.memo(f"document counts {self.scope_key}")
        for e in experts:
            if e["expert_id"] not in counts:
                counts[e["expert_id"]] = self.catalog.count_documents(
                    filter=Filter(must=(MatchAny("people", tuple(e["keys"])),)).and_(self.scope))
        return counts

    def _profiles(self, question: Encoded, mode: Mode, who: Filter | None) -> list[tuple[dict[str, Any], float]]:
        """Profiles close to the question, with the engine's score: fused (dense + BM25, so that a rare
        word of a profile counts) or of the single retriever a baseline asks for. ``who`` filters inside the
        engine, before both retrievers and the fusion: a profile left out shifts no one's normalised score."""
        sparse = question.sparse_for(mode)
        dense = question.dense if mode != "bm25" else None
        if dense is None and sparse is None:
            return []
        hits = self.catalog.search_experts(Query(dense=dense, sparse=sparse, limit=30, prefetch_limit=60,
                                                 fusion="dbsf", filter=who))
        return [(h.payload, h.score) for h in hits]

    def _match(self, expert: Mapping[str, Any], score: float, votes: Vote | None, records: Mapping[str, Any],
               best: Mapping[str, Passage], question: Encoded) -> ExpertMatch:
        reasons = []
        for doc_id, _ in (votes.documents[:REASONS] if votes else []):
            record = records[doc_id]
            role = "auteur" if _linked(record.get("authors", []), expert) else "deelnemer"
            reasons.append(Reason("document", doc_id, record.get("title", doc_id), best[doc_id].payload["text"],
                                  role=role, visibility=record.get("visibility")))
        phrase = best_phrase(expert.get("expertise", ""), question.text)
        if phrase:
            reasons.append(Reason("profile", None, "Profiel", phrase))
        return ExpertMatch(id=expert["expert_id"], name=expert["name"], score=score, role=expert.get("role", ""),
                           organization=expert.get("organization", ""), ateliers=list(expert.get("ateliers", [])),
                           themes=list(expert.get("themes", [])), reasons=reasons,
                           email=expert.get("email") or None, documents=len(votes.documents) if votes else 0,
                           knowledge=list(knowledge_of_role(expert.get("role", ""))))


def fitting(ranked: Sequence[ExpertMatch], limit: int = 5, keep: int = 3, close: float = 0.75) -> list[ExpertMatch]:
    """The people an answer suggests: the ``keep`` best, and after them only who fits nearly as well as the
    best (``close`` of its score), at most ``limit``. The places after the first few are where fame entered: a
    person linked to a third of all documents collects a lukewarm vote from many of them and filled the fourth
    and fifth places of most answers (issue 21: one person in 45 % of the demo corpus's answers, 33 % with this
    rule; `python -m benchmarks.people`).

    >>> ms = [ExpertMatch(i, i, s, "", "", []) for i, s in zip("abcde", (2.0, 1.9, 1.2, 1.6, 1.0))]
    >>> [m.id for m in fitting(ms)]
    ['a', 'b', 'c', 'd']
    """
    top = ranked[0].score if ranked else 0.0
    return [m for i, m in enumerate(ranked[:limit]) if i < keep or m.score >= close * top]


def _people(record: Mapping[str, Any], key_to_expert: Mapping[str, str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for names, weight in ((record.get("participants", []), PARTICIPANT_WEIGHT), (record.get("authors", []),
                                                                                   AUTHOR_WEIGHT)):
        for name in names:
            expert = key_to_expert.get(name_key(name))
            if expert:
                out[expert] = max(out.get(expert, 0.0), weight)
    return out


def _linked(names: Sequence[str], expert: Mapping[str, Any]) -> bool:
    return any(name_key(n) in expert.get("keys", []) for n in names)


def best_phrase(expertise: str, question: str) -> str:
    """The sentence of a profile that shares the most words with the question (the first if none does)."""
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", expertise) if s.strip()]
    if not sentences:
        return ""
    words = {w for w in re.findall(r"\w{4,}", question.lower())}
    def overlap(s: str) -> int:
        return sum(1 for w in re.findall(r"\w{4,}", s.lower()) if any(w[:5] == q[:5] for q in words))
    return max(sentences, key=lambda s: (overlap(s), -sentences.index(s)))
