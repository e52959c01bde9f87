"""In-process latency of search, experts and ask at 50,000 passages, next to the raw parts — for a coordinator
(no visibility filter) and for the public and a member (filtered in the engine on ``visibility``).

    python -m benchmarks.latency [--chunks 50000] [--queries 200] [--reuse]

The demo corpus is ingested (embedding cache in ``benchmarks/.data``), then its passages are replicated
— each copy a new document, its vector nudged by noise — up to the target count, and the engine builds its
indexes. The copies take turns at the four visibilities (a quarter each is open to the public, half to a member
of one atelier). Every query is a real question; timings include the query embedding. Printed side by side:
the raw embedding time, the raw engine query (hybrid, vectors precomputed), and our three calls.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from core.store.catalog import CHUNKS, DOCUMENTS
from core.store.types import Point, Query
from core.visibility import ATELIER as AT
from core.visibility import COORDINATORS, PUBLIC, Audience, member
from matching.browse import BrowseFilters
from matching.retrieve import LIGHT
from service.browse import browse as browse_page
from service.container import Kennismakelaar
from service.settings import Settings

HERE = Path(__file__).resolve().parent
ATELIER = "kansrijk-met-jeugd"
LEVELS = ("openbaar", "werkplaats", AT + ATELIER, "coordinatie")  # the copies' visibilities, in turn
SAMPLES = HERE.parent / "samples"
QUESTIONS = [
    "Waarom laten ouders regelingen voor hun kinderen liggen?",
    "Hoe herstel je vertrouwen in een wijk waar projecten kwamen en gingen?",
    "Wat levert het op als professionals zelf over een klein budget beslissen?",
    "Hoe bereik je jongvolwassenen met betalingsachterstanden?",
    "Hoe werken wijkteam, corporatie en schuldhulp samen bij huurachterstand?",
    "Hoe zet je ervaringsdeskundigen goed in?",
    "Jongeren schamen zich voor geldzorgen, hoe praat je daarover?",
    "Wat werkt tegen eenzaamheid bij ouderen in Kerkrade?",
    "Hoe maak je de impact van buurtwerk zichtbaar voor de gemeente?",
    "Welke rol spelen scholen bij het signaleren van armoede?",
    "Hoe geef je leiding aan een interprofessioneel wijkteam?",
    "Energiearmoede in Brunssum: wat hebben we geleerd?",
]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def timed(fn: Callable[[str], object], queries: list[str]) -> list[float]:
    out = []
    for q in queries:
        started = time.perf_counter()
        fn(q)
        out.append((time.perf_counter() - started) * 1000)
    return out


def _browse_cases(n: int) -> list[tuple[BrowseFilters, str, int]]:
    """Filters, orders and pages as people browse: mostly the first pages, one facet or two."""
    choices: list[dict[str, tuple[Any, ...]]] = [
        {}, {"kind": ("verslag",)}, {"atelier": (ATELIER,)}, {"kind": ("interventie",), "atelier": (ATELIER,)},
        {"year": (2024,)}, {"knowledge": ("ervaring",)}, {"target_group": ("jeugd",)}, {"theme": ("impact",)}]
    return [(BrowseFilters(chosen=choices[i % len(choices)]), ("date", "title", "added")[i % 3], 1 + i % 4)
            for i in range(n)]


def interleaved(calls: dict[str, Callable[[str], object]], queries: list[str]) -> dict[str, list[float]]:
    """Each query through every call, the calls taking turns at going first; the timings per call."""
    out: dict[str, list[float]] = {name: [] for name in calls}
    names = list(calls)
    for i, q in enumerate(queries):
        for name in names[i % len(names):] + names[:i % len(names)]:
            started = time.perf_counter()
            calls[name](q)
            out[name].append((time.perf_counter() - started) * 1000)
    return out


def build(data: Path, target: int) -> None:
    cache = HERE / ".data" / "latency-cache"
    cache.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    if (cache / "embedding-cache.sqlite").exists():
        shutil.copy(cache / "embedding-cache.sqlite", data / "embedding-cache.sqlite")
    km = Kennismakelaar(Settings.from_env({"KM_DATA_DIR": str(data)}))
    km.ingestor().run([SAMPLES / "documenten", SAMPLES / "experts"])
    shutil.copy(data / "embedding-cache.sqlite", cache / "embedding-cache.sqlite")
    store = km.store
    chunks = list(store.scroll(CHUNKS, with_vectors=True))
    docs = {h.payload["document_id"]: h for h in store.scroll(DOCUMENTS, with_vectors=True)}
    sparse = km.bm25
    rng = np.random.default_rng(42)
    copy = 0
    while store.count(CHUNKS) < target:
        copy += 1
        points, records = [], []
        seen_by = LEVELS[copy % len(LEVELS)]
        for h in chunks:
            v = np.asarray(h.dense) + rng.normal(scale=0.02, size=len(h.dense))
            payload = {**h.payload, "document_id": f"{h.payload['document_id']}~{copy}", "visibility": seen_by}
            points.append(Point(f"{h.id}~{copy}", payload, dense={"dense": v / np.linalg.norm(v)},
                                sparse={"bm25": sparse.embed_document(payload["text"])}))
        for doc_id, d in docs.items():
            records.append(Point(f"doc:{doc_id}~{copy}", {**d.payload, "document_id": f"{doc_id}~{copy}",
                                                          "visibility": seen_by}, dense={"dense": d.dense}))
        room = target - store.count(CHUNKS)
        store.upsert(CHUNKS, points[:room])
        store.upsert(DOCUMENTS, records)
    started = time.perf_counter()
    getattr(store, "optimize", lambda: None)()
    print(f"built {store.count(CHUNKS)} passages, {store.count(DOCUMENTS)} documents; "
          f"index build {time.perf_counter() - started:.1f} s", flush=True)
    km.close()
    (data / "built").write_text(str(target))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--reuse", action="store_true", help="measure the store the last run built (same size)")
    args = parser.parse_args()
    data = HERE / ".data" / "latency-store"
    built = data / "built"  # the size the last build reached (the questions asked since are in it too)
    if not (args.reuse and built.exists() and built.read_text().strip() == str(args.chunks)):
        build(data, args.chunks)
    km = Kennismakelaar(Settings.from_env({"KM_DATA_DIR": str(data)}))  # as a freshly started service
    km.warm_up()
    broker = km.broker(COORDINATORS)  # sees everything: no filter
    public, one_atelier = km.broker(PUBLIC), km.broker(member([ATELIER]))
    queries = [f"{QUESTIONS[i % len(QUESTIONS)]}" + ("" if i < len(QUESTIONS) else f" ({i})")
               for i in range(args.queries)]
    for q in QUESTIONS[:3]:  # warm up: model, taxonomy vectors, engine caches
        broker.ask(q, record=False)
    encoded = [broker.retriever.encode(q) for q in queries]
    rows = {
        "embed query (raw)": timed(km.embedder.embed_query, queries),
        "engine hybrid query (raw)": [],  # the fused query the retriever sends, vectors precomputed
        # before issue 11: one fused query of the engine (equal say), the baseline of the two lists fused here
        "search, engine fusion (before)": timed(lambda q: broker.search(q, limit=10, mode="plain"), queries),
        "search": timed(lambda q: broker.search(q, limit=10), queries),
        "experts, engine fusion (before)": timed(lambda q: broker.experts(q, limit=10, mode="plain"), queries),
        "experts": timed(lambda q: broker.experts(q, limit=10), queries),
        "ask": timed(lambda q: broker.ask(q), queries),
        # the filter's cost: each question asked by the three audiences in turn (the order rotating), so that
        # the machine's drift over a run falls on all three alike
        **interleaved({"search, unfiltered": lambda q: broker.search(q, limit=10),
                       "search, public (filtered)": lambda q: public.search(q, limit=10),
                       "search, member (filtered)": lambda q: one_atelier.search(q, limit=10)}, queries),
        **interleaved({"ask, unfiltered (not recorded)": lambda q: broker.ask(q, record=False),
                       "ask, public (filtered)": lambda q: public.ask(q, record=False),
                       "ask, member (filtered)": lambda q: one_atelier.ask(q, record=False)}, queries),
    }
    # browsing without a question: every page with its seven facets counted, for the public and a coordinator
    cases = _browse_cases(args.queries)
    def browsing(audience: Audience) -> Callable[[str], object]:
        def one(i: str) -> object:
            filters, sort, page = cases[int(i)]
            return browse_page(km, audience, filters, sort=sort, page=page)
        return one

    rows.update(interleaved({"browse, public (facets)": browsing(PUBLIC),
                             "browse, coordinator (facets)": browsing(COORDINATORS)},
                            [str(i) for i in range(len(cases))]))
    for e in encoded:
        started = time.perf_counter()
        km.store.query(CHUNKS, Query(dense=e.dense, sparse=e.sparse, limit=80, prefetch_limit=120,
                                     fusion="dbsf", fields=LIGHT))
        rows["engine hybrid query (raw)"].append((time.perf_counter() - started) * 1000)
    print(f"\n{'(ms, ' + str(len(queries)) + ' queries)':>32}{'median':>10}{'p99':>10}")
    result = {}
    for name, values in rows.items():
        med, p99 = statistics.median(values), percentile(values, 99)
        result[name] = {"median_ms": round(med, 2), "p99_ms": round(p99, 2)}
        print(f"{name:>32}{med:>10.1f}{p99:>10.1f}")
    for call in ("search", "experts"):
        ratio = result[call]["median_ms"] / result[f"{call}, engine fusion (before)"]["median_ms"]
        print(f"{call}: median {ratio:.2f}× the engine's own fusion")
    for call in ("search", "ask"):
        for who in ("public", "member"):
            base = "search, unfiltered" if call == "search" else "ask, unfiltered (not recorded)"
            ratio = result[f"{call}, {who} (filtered)"]["median_ms"] / result[base]["median_ms"]
            print(f"{call}, {who}: median {ratio:.2f}× unfiltered")
    ok = all(result[k]["median_ms"] < 50 and result[k]["p99_ms"] < 150
             for k in ("search", "experts", "ask", "search, public (filtered)", "ask, public (filtered)",
                       "search, member (filtered)", "ask, member (filtered)"))
    print(f"\ntarget (median < 50 ms, p99 < 150 ms) met: {'yes' if ok else 'NO'}")
    print(json.dumps({"chunks": km.store.count(CHUNKS), **result}))
    km.close()


if __name__ == "__main__":
    main()
