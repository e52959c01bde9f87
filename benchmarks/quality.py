"""Ranking quality on every set and every way of titling, side by side in one run.

    python -m benchmarks.quality                      # the whole table (development questions)
    python -m benchmarks.quality --split held         # policyqa-sections' held-back quarter and FAQ's other half
    python -m benchmarks.quality --limit 50           # a quick look

A ranking rule must hold whatever the corpus looks like, so the table has a column for each shape
(``benchmarks.sets``):

- policyqa-sections (2,372 sections of Rijksoverheid pages; 498 citizen questions) under five title regimes:
  ``eerste woorden`` (real section titles; a page's untitled opening titled by its first words), ``inleiding``
  (the opening called "Inleiding"), ``bestandsnaam`` (the opening titled by its file name, ``train000-0``),
  ``geen titels`` and ``generiek`` (every section under one of six generic headings); and two question shapes
  on the first regime: ``kort`` (the question's content words only, as typed into a search box) and ``lang``
  (the question told as a situation, with its irrelevant details);
- debian-faq (``benchmarks.faq_set``: technical Dutch, where the words matter) with the chapter as title and
  without titles;
- PolicyQA pages (each answer passage a document, titled by its first 80 characters).

A quarter of the policyqa-sections questions is held back (``benchmarks.sets.held_back``), and half of the FAQ's
(by a hash of the question): ``--split dev`` (default) measures the rest. The rows: BM25 only, dense only, the
engine's plain hybrid (both lists with the same say), ours, and ours with one rule changed. Every row asks the
broker (``Broker.search``), as the service does. nDCG@10 with binary relevance (the ideal ranking puts every
relevant document first) and MRR@10.

Experts and the 'answered' judgement have benchmarks of their own: ``benchmarks.people`` and
``benchmarks.answerability``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from benchmarks import sets
from matching.retrieve import Mode
from service.container import Kennismakelaar

Queries = list[tuple[str, set[str]]]


@dataclass
class Column:
    name: str
    store: Callable[[], Kennismakelaar]
    queries: Callable[[str], Queries]


def _half(text: str) -> bool:
    return hashlib.sha256(text.encode()).digest()[0] % 2 == 1


def section_queries(split: str, shape: Callable[[str], str] = lambda q: q) -> Queries:
    return [(shape(q["question"]), set(q["relevant"])) for q in sets.section_questions()
            if split == "all" or sets.held_back(q["id"]) == (split == "held")]


def faq_queries(split: str) -> Queries:
    return [(q, rel) for q, rel in sets.faq_questions() if split == "all" or _half(q) == (split == "held")]


_QUESTION_WORDS = frozenset("""wat wie waar wanneer waarom hoe hoeveel welke welk kan kun kunt mag moet moeten
    ik mijn me mij je jij jouw u uw we wij ons onze is zijn ben bent wordt worden word heb hebt heeft hebben krijg
    krijgt krijgen doe doet doen gaat ga gaan er de het een van voor in op met aan bij naar om over als dat die
    dit deze te of en niet nog wel ook al dan zo""".split())  # noqa: SIM905 (a word list reads better so)
_STORY = ("Ik heb een vraag waar ik zelf niet goed uitkom en ik hoop dat iemand me verder kan helpen. Ik heb al "
          "op internet gezocht en met een paar mensen in mijn omgeving gepraat, maar iedereen zegt iets anders en "
          "ik wil het graag goed doen. Mijn vraag is eigenlijk deze: {q} Alvast bedankt voor het meedenken.")


def short(question: str) -> str:
    """A question as typed into a search box: its content words only.

    >>> short("Hoe lang moet ik mijn financiële administratie bewaren voor de Belastingdienst?")
    'lang financiële administratie bewaren belastingdienst'
    """
    words = [w for w in re.findall(r"[\w-]+", question.lower()) if w not in _QUESTION_WORDS]
    return " ".join(words) or question


def long(question: str) -> str:
    """A question told as a situation: the same question amid words that are not about it."""
    return _STORY.format(q=question)


def columns(split: str) -> list[Column]:
    out = [Column(f"sections: {regime}", lambda r=regime: sets.sections_store(r),  # type: ignore[misc]
                  lambda s: section_queries(s)) for regime in sets.REGIMES]
    out += [Column("sections: kort", lambda: sets.sections_store("eerste woorden"),
                   lambda s: section_queries(s, short)),
            Column("sections: lang", lambda: sets.sections_store("eerste woorden"),
                   lambda s: section_queries(s, long))]
    out += [Column(f"faq: {regime}", lambda r=regime: sets.faq_store(r), faq_queries)  # type: ignore[misc]
            for regime in sets.FAQ_REGIMES]
    out.append(Column("policyqa pages", sets.policyqa_store, lambda s: [(q, rel) for q, rel in sets.policyqa()[1]]))
    return out


@contextmanager
def changed(broker: Any, **changes: Any) -> Iterator[None]:
    """The broker with some retriever settings changed (``weights``, ``title``), then restored."""
    retriever = broker.retriever
    kept = {name: getattr(retriever, name) for name in changes}
    try:
        for name, value in changes.items():
            setattr(retriever, name, value)
        yield
    finally:
        for name, value in kept.items():
            setattr(retriever, name, value)


# (label, search mode, changed retriever settings)
ROWS: list[tuple[str, Mode, dict[str, Any]]] = [
    ("BM25 only", "bm25", {}),
    ("dense only", "dense", {}),
    ("plain hybrid (the engine's DBSF, 1:1)", "plain", {}),
    ("ours", "hybrid", {}),
    ("ours without the title signal", "hybrid", {"title": 0.0}),
    ("ours, dense:BM25 1:1", "hybrid", {"weights": (1.0, 1.0)}),
    ("ours, dense:BM25 2:1", "hybrid", {"weights": (2.0, 1.0)}),
    ("ours, dense:BM25 8:1", "hybrid", {"weights": (8.0, 1.0)}),
]


def metrics(rankings: Sequence[Sequence[str]], relevant: Sequence[set[str]]) -> dict[str, float]:
    """nDCG@10 (binary relevance) and MRR@10.

    >>> metrics([["a", "x", "b"]], [{"a", "b"}])["mrr@10"]
    1.0
    """
    ndcg = mrr = 0.0
    for ranked, rel in zip(rankings, relevant, strict=True):
        top = list(ranked[:10])
        ideal = sum(1 / math.log2(i + 2) for i in range(min(len(rel), 10)))
        ndcg += sum(1 / math.log2(i + 2) for i, d in enumerate(top) if d in rel) / ideal if ideal else 0.0
        first = next((i + 1 for i, d in enumerate(top) if d in rel), None)
        mrr += 1 / first if first else 0.0
    n = max(1, len(relevant))
    return {"ndcg@10": round(ndcg / n, 4), "mrr@10": round(mrr / n, 4)}


def measure(km: Kennismakelaar, queries: Queries) -> dict[str, dict[str, float]]:
    broker = km.broker()
    # every row asks the same questions: each is embedded once (no row changes how a question is encoded)
    encoded = {q: broker.encode(q) for q, _ in queries}
    encode = broker.encode
    broker.encode = lambda text: encoded[text] if text in encoded else encode(text)  # type: ignore[method-assign]
    out = {}
    try:
        for label, mode, settings in ROWS:
            with changed(broker, **settings):
                rankings = [[r.document_id for r in broker.search(q, limit=10, mode=mode).results]
                            for q, _ in queries]
            out[label] = metrics(rankings, [rel for _, rel in queries])
    finally:
        broker.encode = encode  # type: ignore[method-assign]
    return out


def table(results: dict[str, dict[str, dict[str, float]]], metric: str) -> str:
    names = list(results)
    width = 40
    lines = [f"{metric}".ljust(width) + "".join(f"{n.split(': ')[-1][:13]:>14}" for n in names) + f"{'mean':>10}"]
    for label, _, _ in ROWS:
        values = [results[n][label][metric] for n in names]
        lines.append(label.ljust(width) + "".join(f"{v:>14.4f}" for v in values)
                     + f"{sum(values) / len(values):>10.4f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=("dev", "held", "all"), default="dev")
    parser.add_argument("--limit", type=int, help="only the first N questions of each column (a quick look)")
    parser.add_argument("--only", help="only the columns whose name contains this")
    args = parser.parse_args()
    results: dict[str, dict[str, dict[str, float]]] = {}
    for column in columns(args.split):
        if args.only and args.only not in column.name:
            continue
        started = time.perf_counter()
        queries = column.queries(args.split)[: args.limit]
        km = column.store()
        try:
            results[column.name] = measure(km, queries)
        finally:
            km.close()
        print(f"{column.name}: {len(queries)} questions, {time.perf_counter() - started:.0f} s "
              + json.dumps(results[column.name]), flush=True)
    for metric in ("ndcg@10", "mrr@10"):
        print("\n" + table(results, metric))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
