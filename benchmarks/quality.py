"""Retrieval quality, side by side in one run: BM25 only, dense only, and our ranking.

    python -m benchmarks.quality                     # all three sets
    python -m benchmarks.quality --set sections      # or --set documents, --set experts
    python -m benchmarks.quality --set sections --split held   # the held-back quarter (a final check)

Sections: ``../shared/data/policyqa-sections`` — the 500 Rijksoverheid pages cut into 2,372 sections without the
page titles (which are the questions); 498 questions, each with the section(s) holding its answer. Each section
is a Markdown file with its section title as ``title``. The development set for ranking work: a quarter of its
questions (by a hash of their id) is held back for a final check (``--split held``); ``dev`` is the rest.
Rows: BM25 only, dense only, plain hybrid (title + body, DBSF, one passage per document: the plainest form of
the same idea), and ours.

Documents: ``../shared/data/policyqa`` — 500 Dutch citizen questions; each answer passage is a document
(saturated: the questions are the page titles).
Experts: ``../shared/data/expertise-goldstandard`` — researchers as expert profiles (name only: their
expertise must come from their papers), their papers as documents linked by author; the query is a
rated paper's title and abstract (excluded from the store's answers), the relevant people those who
rated it 4 or 5.

Stores and embedding caches live in ``benchmarks/.data`` (ignored by git), so a rerun embeds nothing.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from benchmarks import ranking_lab
from ingestion.titles import from_name
from matching.retrieve import FINDINGS, Mode
from service.container import Kennismakelaar
from service.settings import Settings

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "data"
WORK = HERE / ".data"
MODES = ("bm25", "dense", "plain", "hybrid")
LABEL = {"bm25": "BM25 only", "dense": "dense only", "plain": "plain hybrid", "hybrid": "ours"}
# (retrievers, ours on top: the blend, the document vectors and MMR)
SEARCH: dict[str, tuple[Mode, bool]] = {"bm25": ("bm25", False), "dense": ("dense", False),
                                        "plain": ("plain", False), "hybrid": ("hybrid", True)}


def _km(name: str) -> Kennismakelaar:
    return Kennismakelaar(Settings.from_env({"KM_DATA_DIR": str(WORK / name / "store")}))


# --- documents: policyqa -----------------------------------------------------------------------------


def policyqa() -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    """(doc id, title, text) for every passage; (question, relevant doc id) for every question."""
    docs: list[tuple[str, str, str]] = []
    queries: list[tuple[str, str]] = []
    for path in sorted((SHARED / "policyqa").rglob("policyqa-*.json")):
        for article in json.loads(path.read_text("utf-8"))["data"]:
            for i, paragraph in enumerate(article["paragraphs"]):
                doc_id = f"pq-{article['title']}-{i}"
                docs.append((doc_id, paragraph["context"][:80], paragraph["context"]))
                queries.extend((qa["question"], doc_id) for qa in paragraph["qas"])
    return docs, queries


def documents_benchmark(limit: int | None) -> dict:
    docs, queries = policyqa()
    folder = WORK / "policyqa" / "files"
    folder.mkdir(parents=True, exist_ok=True)
    for doc_id, title, text in docs:
        path = folder / f"{doc_id}.txt"
        if not path.exists():
            front = yaml.safe_dump({"id": doc_id, "title": title, "kind": "antwoord"}, allow_unicode=True)
            path.write_text(f"---\n{front}---\n{text}\n", "utf-8")
    km = _km("policyqa")
    report = km.ingestor().run([folder])
    broker = km.broker()
    queries = queries[:limit] if limit else queries
    out = {"documents": len(docs), "queries": len(queries), "ingest_seconds": round(report.seconds, 1)}
    out |= _rank_documents(broker, [(q, {rel}) for q, rel in queries])
    km.close()
    return out


def policyqa_sections(split: str) -> tuple[list[tuple[str, str, str]], list[tuple[str, set[str]]]]:
    """(section id, section title, text) for every section; (question, relevant section ids) for the questions
    of ``split``: ``dev`` (three quarters), ``held`` (the quarter held back) or ``all``."""
    root = SHARED / "policyqa-sections"
    docs = [(r["id"], r.get("title") or "", r["text"]) for r in _jsonl(root / "sections.jsonl")]
    queries = [(r["question"], set(r["relevant"])) for r in _jsonl(root / "questions.jsonl")
               if split == "all" or (held_back(r["id"]) == (split == "held"))]
    return docs, queries


def held_back(question_id: str) -> bool:
    """A stable quarter of the questions, by a hash of their id, kept for a final check."""
    return hashlib.sha256(question_id.encode()).digest()[0] < 64


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def _sections_store(name: str, docs: Sequence[tuple[str, str, str]], *, id_titles: bool = False
                    ) -> tuple[Kennismakelaar, float]:
    """The sections ingested as Markdown files; with ``id_titles`` an untitled section is titled by its file
    name, as the pipeline did before issue 11 (``Train000 0``) — the ablation of the title rule."""
    folder = WORK / name / "files"
    folder.mkdir(parents=True, exist_ok=True)
    for doc_id, title, text in docs:
        path = folder / f"{doc_id}.md"
        if not path.exists():
            title = title or (from_name(doc_id) if id_titles else "")
            meta = {"id": doc_id, "kind": "antwoord", **({"title": title} if title else {})}
            path.write_text(f"---\n{yaml.safe_dump(meta, allow_unicode=True)}---\n{text}\n", "utf-8")
    km = _km(name)
    return km, km.ingestor().run([folder]).seconds


def sections_benchmark(limit: int | None, split: str = "dev") -> dict:
    docs, queries = policyqa_sections(split)
    queries = queries[:limit] if limit else queries
    km, seconds = _sections_store("policyqa-sections", docs)
    out: dict[str, Any] = {"documents": len(docs), "queries": len(queries), "split": split,
                           "ingest_seconds": round(seconds, 1)}
    broker = km.broker()
    out |= _rank_documents(broker, queries)
    ablations = {"ours, equal say (1:1)": _rank(broker, queries, weights=(1.0, 1.0)),
                 "ours without the title signal": _rank(broker, queries, title=0.0),
                 "ours without diversity": _rank(broker, queries, diversify=False),
                 "ours, each question word once (no k3)": _rank(broker, queries, k3=0.0),
                 "ours without the evidence boost": _rank(broker, queries, evidence_boost=0.0)}
    km_ids, _ = _sections_store("policyqa-sections-idtitles", docs, id_titles=True)
    ablations["ours, file ids as titles"] = _rank(km_ids.broker(), queries)
    km_ids.close()
    out["ablations"] = ablations
    out["not kept"] = ranking_lab.sections_rows(km, queries)
    km.close()
    return out


def _rank(broker: Any, queries: Sequence[tuple[str, set[str]]], *, weights: tuple[float, float] | None = None,
          title: float | None = None, diversify: bool = True, k3: float | None = None,
          evidence_boost: float | None = None) -> dict:
    """Ours with one kept method taken out."""
    retriever = broker.retriever
    kept = (retriever.weights, retriever.title, retriever.bm25.query_k3, broker.evidence_boost)
    retriever.weights = weights or retriever.weights
    retriever.title = retriever.title if title is None else title
    retriever.bm25.query_k3 = retriever.bm25.query_k3 if k3 is None else k3
    broker.evidence_boost = broker.evidence_boost if evidence_boost is None else evidence_boost
    try:
        rankings = [[r.document_id for r in broker.search(q, limit=10, diversify=diversify).results]
                    for q, _ in queries]
    finally:
        retriever.weights, retriever.title, retriever.bm25.query_k3, broker.evidence_boost = kept
    return _doc_metrics(rankings, [rel for _, rel in queries])


def _rank_documents(broker: Any, queries: Sequence[tuple[str, set[str]]]) -> dict:
    out = {}
    for mode in MODES:
        engine, diversify = SEARCH[mode]
        rankings = [[r.document_id for r in broker.search(q, limit=10, mode=engine, diversify=diversify).results]
                    for q, _ in queries]
        out[mode] = _doc_metrics(rankings, [rel for _, rel in queries])
    return out


def _doc_metrics(rankings: Sequence[Sequence[str]], relevant: Sequence[set[str]]) -> dict:
    """nDCG@10 (binary relevance, the ideal ranking puts every relevant section first), Recall@10 (the share of
    the relevant sections in the top 10), MRR@10; Recall@3 too, because Recall@10 sits at the ceiling on
    PolicyQA for both dense and ours and so cannot show a difference.

    >>> _doc_metrics([["a", "x", "b"]], [{"a", "b"}])["recall@3"]
    1.0
    """
    ndcg = recall = recall3 = mrr = 0.0
    for ranking, rel in zip(rankings, relevant, strict=True):
        top = list(ranking[:10])
        gains = [1 / math.log2(i + 2) for i, d in enumerate(top) if d in rel]
        ideal = sum(1 / math.log2(i + 2) for i in range(min(len(rel), 10)))
        ndcg += sum(gains) / ideal if ideal else 0.0
        recall += len(rel & set(top)) / len(rel)
        recall3 += len(rel & set(top[:3])) / len(rel)
        first = next((i + 1 for i, d in enumerate(top) if d in rel), None)
        mrr += 1 / first if first else 0.0
    n = len(relevant)
    return {"ndcg@10": round(ndcg / n, 4), "recall@10": round(recall / n, 4), "recall@3": round(recall3 / n, 4),
            "mrr@10": round(mrr / n, 4)}


# --- experts: expertise gold standard --------------------------------------------------------------


def goldstandard() -> tuple[list[dict], dict[str, dict], list[tuple[str, str, set[str]]]]:
    root = SHARED / "expertise-goldstandard"
    people = [json.loads(p.read_text("utf-8")) for p in sorted((root / "participants").glob("*.json"))]
    papers = {p.stem: json.loads(p.read_text("utf-8")) for p in (root / "papers").glob("*.json")}
    queries: dict[str, set[str]] = {}
    with (root / "evaluations-dev.tsv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            for i in range(1, 11):
                paper, rating = row.get(f"Paper{i}"), row.get(f"Expertise{i}")
                if paper and rating and float(rating) >= 4:
                    queries.setdefault(paper, set()).add(row["ParticipantID"])
    out = [(pid, _clip(f"{papers[pid]['title']}. {papers[pid].get('abstract') or ''}".strip()), rel)
           for pid, rel in sorted(queries.items()) if pid in papers]
    return people, papers, out


def _clip(text: str, limit: int = 1800) -> str:
    """The model reads 512 tokens at most; the broker takes questions of up to ``MAX_QUESTION_CHARS`` (2,000)."""
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0]


def experts_benchmark(limit: int | None) -> dict:
    people, papers, queries = goldstandard()
    folder = WORK / "experts" / "files"
    (folder / "papers").mkdir(parents=True, exist_ok=True)
    authored: dict[str, list[str]] = {}
    for person in people:
        for paper in person["papers"]:
            authored.setdefault(paper["paperId"], []).append(person["authorId"])
    profiles = [{"id": p["authorId"], "name": p["name"], "role": "onderzoeker", "consent": True} for p in people]
    (folder / "experts.yaml").write_text(yaml.safe_dump({"experts": profiles}, allow_unicode=True), "utf-8")
    for paper_id, authors in authored.items():
        paper = papers.get(paper_id)
        path = folder / "papers" / f"{paper_id}.md"
        if paper is None or path.exists():
            continue
        front = yaml.safe_dump({"id": paper_id, "title": paper["title"], "kind": "onderzoek", "authors": authors,
                                "date": str(paper.get("year") or "")[:4] or None}, allow_unicode=True)
        path.write_text(f"---\n{front}---\n# {paper['title']}\n\n{paper.get('abstract') or ''}\n", "utf-8")
    km = _km("experts")
    report = km.ingestor().run([folder])
    broker = km.broker()
    queries = queries[:limit] if limit else queries
    out: dict[str, Any] = {"people": len(people), "documents": len(authored), "queries": len(queries),
           "ingest_seconds": round(report.seconds, 1)}
    for mode in MODES:  # plain: the engine's fusion and the votes as they were before issue 11 (k = 5)
        engine, _ = SEARCH[mode]
        out[mode] = _rank_people(broker, queries, len(people), mode=engine, rank_k=5.0 if mode == "plain" else None)
    out["ablations"] = {
        "ours, findings' weights (4:1)": _rank_people(broker, queries, len(people), weights=FINDINGS),
        "ours, votes k = 5 (before)": _rank_people(broker, queries, len(people), rank_k=5.0),
        "ours, each question word once (no k3)": _rank_people(broker, queries, len(people), k3=0.0)}
    keys = {k: e["expert_id"] for e in km.catalog().experts() for k in e["keys"]}
    out["not kept"] = ranking_lab.experts_rows(km, queries, keys)
    km.close()
    return out


def _rank_people(broker: Any, queries: Sequence[tuple[str, str, set[str]]], n: int, *, mode: Mode = "hybrid",
                 weights: tuple[float, float] | None = None, rank_k: float | None = None,
                 k3: float | None = None) -> dict:
    """MRR and P@1 of the first relevant person, with ``mode``, or ours with one kept method taken out."""
    kept = (broker.people_weights, broker.finder.rank_k, broker.bm25.query_k3)
    ranks: list[int | None] = []
    try:
        broker.people_weights = weights or broker.people_weights
        broker.finder.rank_k = rank_k or broker.finder.rank_k
        broker.bm25.query_k3 = broker.bm25.query_k3 if k3 is None else k3
        for paper_id, text, relevant in queries:
            found, _ = broker.experts(text, limit=n, mode=mode, exclude=[paper_id])
            ranks.append(next((i + 1 for i, e in enumerate(found) if e.id in relevant), None))
    finally:
        broker.people_weights, broker.finder.rank_k, broker.bm25.query_k3 = kept
    return {"mrr": round(sum(1 / r for r in ranks if r) / len(ranks), 4),
            "p@1": round(sum(r == 1 for r in ranks) / len(ranks), 4)}


def _table(title: str, result: dict, metrics: Sequence[str]) -> str:
    width = 36
    def row(label: str, values: dict) -> str:
        return f"{label:>{width}}" + "".join(f"{values[m]:>12.4f}" for m in metrics)
    lines = [f"\n{title}", f"{'':>{width}}" + "".join(f"{m:>12}" for m in metrics)]
    modes = [m for m in MODES if m in result]
    lines += [row(LABEL[mode], result[mode]) for mode in modes]
    for m in metrics:
        ours, best = result["hybrid"][m], max(result[x][m] for x in modes if x != "hybrid")
        verdict = "beats both baselines" if ours > best else \
            "ties at the ceiling" if ours == best == 1.0 else "does NOT beat both baselines"
        lines.append(f"{m}: ours {verdict} ({ours:.4f} against {best:.4f})")
    for block, heading in (("ablations", "ours with one kept method taken out"),
                           ("not kept", "methods tried and dropped (benchmarks/ranking_lab.py)")):
        if result.get(block):
            lines += [f"-- {heading}", *(row(label, values) for label, values in result[block].items())]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", choices=("sections", "documents", "experts", "all"), default="all")
    parser.add_argument("--split", choices=("dev", "held", "all"), default="dev",
                        help="which questions of policyqa-sections (default: dev, the three quarters not held back)")
    parser.add_argument("--limit", type=int, help="only the first N queries (a quick look)")
    args = parser.parse_args()
    doc_metrics = ("ndcg@10", "recall@10", "recall@3", "mrr@10")
    runs: dict[str, tuple[Callable[[int | None], dict], Sequence[str]]] = {
        "sections": (lambda n: sections_benchmark(n, args.split), doc_metrics),
        "documents": (documents_benchmark, doc_metrics),
        "experts": (experts_benchmark, ("mrr", "p@1"))}
    results = {}
    for name, (run, metrics) in runs.items():
        if args.set in (name, "all"):
            started = time.perf_counter()
            results[name] = run(args.limit)
            results[name]["seconds"] = round(time.perf_counter() - started, 1)
            print(_table(f"{name} ({results[name]['queries']} queries)", results[name], metrics), flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
