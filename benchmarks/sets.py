"""The benchmark's data sets, and the ways a real corpus titles its documents.

A ranking rule must hold whatever the titles look like: the same 2,372 policyqa-sections are ingested under
each title regime (``REGIMES``), every one through the real pipeline into a store of its own. The embedding
cache of the first store seeds the others, so a regime only embeds the texts it changes.

    python -m benchmarks.sets                  # build every store (once; a rerun embeds nothing)
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import yaml

from benchmarks.faq_set import faq_set
from service.container import Kennismakelaar
from service.settings import Settings

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "data"
WORK = HERE / ".data"

# the headings a real report or verslag gives the part a section of ours comes from
GENERIC = ("Inleiding", "Samenvatting", "Verslag leeratelier", "Notulen", "Achtergrond", "Conclusies")


def _generic(doc_id: str) -> str:
    return GENERIC[hashlib.sha256(doc_id.encode()).digest()[0] % len(GENERIC)]


# regime → (section id, its real title or "") → the title the file carries ("" for none)
REGIMES: dict[str, Callable[[str, str], str]] = {
    # the real section titles; a page's untitled opening left untitled (the pipeline titles it by its first words)
    "eerste woorden": lambda doc_id, title: title,
    # the real section titles; the untitled opening called what a report calls its first section
    "inleiding": lambda doc_id, title: title or "Inleiding",
    # the real section titles; the untitled opening titled by its file name, as an export without titles does
    "bestandsnaam": lambda doc_id, title: title or doc_id,
    # no titles at all
    "geen titels": lambda doc_id, title: "",
    # every section under a generic heading: the titles say nothing about the text (invented shape)
    "generiek": lambda doc_id, title: _generic(doc_id),
}
REGIME_SLUG = {"eerste woorden": "first-words", "inleiding": "inleiding", "bestandsnaam": "file-ids",
               "geen titels": "no-titles", "generiek": "generic"}


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def sections() -> list[dict]:
    return jsonl(SHARED / "policyqa-sections" / "sections.jsonl")


def section_questions() -> list[dict]:
    return jsonl(SHARED / "policyqa-sections" / "questions.jsonl")


def open_store(name: str) -> Kennismakelaar:
    return Kennismakelaar(Settings.from_env({"KM_DATA_DIR": str(WORK / name / "store")}))


def _seed_cache(name: str, seed: str | None) -> None:
    """Copy a built store's embedding cache into a new one: only what this regime changes is embedded."""
    target = WORK / name / "store" / "embedding-cache.sqlite"
    source = WORK / seed / "store" / "embedding-cache.sqlite" if seed else None
    if source and source.exists() and not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)


def write_markdown(folder: Path, doc_id: str, text: str, **meta: object) -> None:
    """One document as Markdown with front matter (unchanged files are left as they are: a rerun embeds
    nothing)."""
    path = folder / f"{doc_id}.md"
    front = yaml.safe_dump({"id": doc_id, **{k: v for k, v in meta.items() if v}}, allow_unicode=True)
    content = f"---\n{front}---\n{text}\n"
    if not path.exists() or path.read_text("utf-8") != content:
        path.write_text(content, "utf-8")


def sections_store(regime: str, *, withheld: frozenset[str] = frozenset(), name: str | None = None
                   ) -> Kennismakelaar:
    """The policyqa-sections under ``regime``, ingested (an unchanged rerun is quick); ``withheld`` sections
    left out (the store that cannot answer some questions)."""
    name = name or f"sections-{REGIME_SLUG[regime]}"
    folder = WORK / name / "files"
    folder.mkdir(parents=True, exist_ok=True)
    title_of = REGIMES[regime]
    wanted = set()
    for s in sections():
        if s["id"] in withheld:
            continue
        wanted.add(f"{s['id']}.md")
        write_markdown(folder, s["id"], s["text"], title=title_of(s["id"], s.get("title") or ""), kind="antwoord")
    for stale in folder.glob("*.md"):
        if stale.name not in wanted:
            stale.unlink()
    _seed_cache(name, "sections-first-words" if name != "sections-first-words" else None)
    km = open_store(name)
    km.ingestor().run([folder], prune=True)
    return km


def held_back(question_id: str) -> bool:
    """A stable quarter of the questions, by a hash of their id, kept for a final check (and, for the
    'answered' judgement, withheld from the store: questions it cannot answer)."""
    return hashlib.sha256(question_id.encode()).digest()[0] < 64


def withheld() -> frozenset[str]:
    """The sections that answer a held-back question."""
    return frozenset(s for q in section_questions() if held_back(q["id"]) for s in q["relevant"])


def withheld_pages() -> frozenset[str]:
    """The pages (all their sections) whose every question is held back: a subject the store knows nothing of,
    rather than one whose answer is missing while its neighbouring sections stay."""
    pages: dict[str, list[bool]] = {}
    by_id = {s["id"]: s["page"] for s in sections()}
    for q in section_questions():
        for section in q["relevant"]:
            pages.setdefault(by_id[section], []).append(held_back(q["id"]))
    return frozenset(p for p, held in pages.items() if all(held))


def page_withheld_store() -> Kennismakelaar:
    """policyqa-sections without every section of the pages only held-back questions ask about."""
    gone = withheld_pages()
    return sections_store("eerste woorden", withheld=frozenset(s["id"] for s in sections() if s["page"] in gone),
                          name="sections-pages-withheld")


def withheld_store() -> Kennismakelaar:
    """policyqa-sections (first-words regime) without the sections that answer the held-back questions."""
    return sections_store("eerste woorden", withheld=withheld(), name="sections-withheld")


def documents_store(name: str, docs: Sequence[tuple[str, str, str]], *, kind: str = "antwoord",
                    seed: str | None = None) -> Kennismakelaar:
    """(id, title, text) documents as Markdown files, ingested into the store ``name``."""
    folder = WORK / name / "files"
    folder.mkdir(parents=True, exist_ok=True)
    wanted = set()
    for doc_id, title, text in docs:
        wanted.add(f"{doc_id}.md")
        write_markdown(folder, doc_id, text, title=title, kind=kind)
    for stale in folder.glob("*.md"):
        if stale.name not in wanted:
            stale.unlink()
    _seed_cache(name, seed)
    km = open_store(name)
    km.ingestor().run([folder], prune=True)
    return km


# --- debian-faq: technical Dutch, where the words matter (``benchmarks.faq_set``) ---------------------------

FAQ_REGIMES: dict[str, Callable[[dict], str]] = {
    "hoofdstuk": lambda s: s["chapter"],  # the chapter's title: shared by its sections, about their subject
    "geen titels": lambda s: "",
}
FAQ_SLUG = {"hoofdstuk": "chapter", "geen titels": "no-titles"}


def faq_store(regime: str) -> Kennismakelaar:
    found, _ = faq_set()
    return documents_store(f"faq-{FAQ_SLUG[regime]}", [(s["id"], FAQ_REGIMES[regime](s), s["text"]) for s in found],
                           seed="faq-chapter" if regime != "hoofdstuk" else None)


def faq_questions() -> list[tuple[str, set[str]]]:
    _, questions = faq_set()
    return [(q["question"], set(q["relevant"])) for q in questions]


# --- PolicyQA pages: every answer passage a document titled by its first words ------------------------------


def policyqa() -> tuple[list[tuple[str, str, str]], list[tuple[str, set[str]]]]:
    """(doc id, title, text) for every passage; (question, {relevant doc id}) for every question."""
    docs: list[tuple[str, str, str]] = []
    queries: list[tuple[str, set[str]]] = []
    for path in sorted((SHARED / "policyqa").rglob("policyqa-*.json")):
        for article in json.loads(path.read_text("utf-8"))["data"]:
            for i, paragraph in enumerate(article["paragraphs"]):
                doc_id = f"pq-{article['title']}-{i}"
                docs.append((doc_id, paragraph["context"][:80], paragraph["context"]))
                queries.extend((qa["question"], {doc_id}) for qa in paragraph["qas"])
    return docs, queries


def policyqa_store() -> Kennismakelaar:
    return documents_store("policyqa", policyqa()[0])


# --- the expertise gold standard: researchers found through their papers ----------------------------------


def goldstandard() -> tuple[list[dict], dict[str, dict], list[tuple[str, str, set[str]]]]:
    """The researchers, their papers, and (paper id, question text, {researchers who rated it 4 or 5})."""
    import csv

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
    out = [(pid, paper_question(papers[pid]), rel) for pid, rel in sorted(queries.items()) if pid in papers]
    return people, papers, out


def paper_question(paper: dict, limit: int = 1800) -> str:
    """A paper's title and abstract as a question, within what the broker takes (2,000 characters)."""
    text = f"{paper['title']}. {paper.get('abstract') or ''}".strip()
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0]


def experts_store() -> Kennismakelaar:
    """The researchers as expert profiles (name only: their expertise must come from their papers) and their
    papers as documents linked by author."""
    people, papers, _ = goldstandard()
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
        if paper is not None:
            write_markdown(folder / "papers", paper_id, f"# {paper['title']}\n\n{paper.get('abstract') or ''}",
                           title=paper["title"], kind="onderzoek", authors=authors,
                           date=str(paper.get("year") or "")[:4] or None)
    km = open_store("experts")
    km.ingestor().run([folder])
    return km


def main() -> None:
    for regime in REGIMES:
        km = sections_store(regime)
        print("sections", regime, km.catalog().count_documents(), flush=True)
        km.close()
    for regime in FAQ_REGIMES:
        km = faq_store(regime)
        print("faq", regime, km.catalog().count_documents(), flush=True)
        km.close()
    km = policyqa_store()
    print("policyqa", km.catalog().count_documents(), flush=True)
    km.close()
    km = withheld_store()
    print("sections withheld", km.catalog().count_documents(), flush=True)
    km.close()
    km = experts_store()
    print("experts", km.catalog().count_documents(), flush=True)
    km.close()


if __name__ == "__main__":
    main()
