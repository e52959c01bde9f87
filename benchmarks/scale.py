"""National scale (issue 26): stores of 50,000, 200,000 and 1,000,000 passages in the shape of real ones, and
what a freshly started serving process does on each.

    python -m benchmarks.scale                                   # the README's table (hours: 1M is built twice)
    python -m benchmarks.scale --sizes 200000 --settings standaard,int8-schijf --questions 1000
    python -m benchmarks.scale --sizes 200000 --client-local     # the qdrant-client path too (its local mode)

**How a store is made — said plainly.**

- A *pool* of real passages goes through the real pipeline once (cached in ``benchmarks/.data/scale/pool``):
  the demo corpus with its 34 profiles, the policyqa-sections (Dutch government answers, one document per page)
  and the third-party Dutch documents in ``real-docs`` — real text, real chunking, vectors of the real model.
- The pool is copied until the size is reached. Every copy of a document is a document of its own, of one of
  15 Werkplaatsen (each with its own copy of the 34 people, as authors and participants), in one of the three
  ateliers, dated in the last five years, and seen by: anyone (half), members (a quarter), one atelier's
  members (a fifth), coordinators (the rest). Its passages keep their text — BM25 sees real Dutch, and its
  posting lists grow with the store as they would — and their vectors are **drawn around the real ones**
  (Gaussian noise, cosine about 0.92 to the original): real neighbourhoods, not a million runs of the model
  (about ten hours on this machine).
- Questions are real: the policyqa-sections questions and the demo questions, embedded by the real model when
  asked.

**What is measured**, per size and setting, in a serving process of its own — the app's real start-up
(lifespan: model, store, sweep), then calls in-process as a request makes them, the public's visibility filter on:

- start-up: process start until ``/ready`` answers;
- search, experts and ask (not recorded) p50/p99; beside them the raw embedding and the raw engine query
  (the hybrid query with the vectors given);
- browsing a page with its seven facets (counted in the engine);
- resident memory after warm-up and after 1,000 questions (anonymous memory and mapped files apart);
- disk size of the data folder;
- recall@10 of the dense query and of the hybrid query against exact search (no index, no quantisation), and of
  the dense query as retrieval makes it (asking 120: ``dense_as_retrieved`` in the results file).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.latency import QUESTIONS, interleaved, percentile
from benchmarks.sets import SHARED, section_questions, sections, write_markdown
from core.ordering import browse_keys
from core.store.catalog import CHUNKS, DOCUMENTS, EXPERTS
from core.store.types import DENSE, SPARSE, Point, Query
from core.visibility import PUBLIC
from matching.browse import BrowseFilters
from matching.retrieve import LIGHT
from service.container import Kennismakelaar
from service.settings import Settings

HERE = Path(__file__).resolve().parent
WORK = HERE / ".data" / "scale"
SAMPLES = HERE.parent / "samples"
SIZES = (50_000, 200_000, 1_000_000)
SETTINGS: dict[str, dict[str, str]] = {
    "standaard": {},  # float vectors in RAM, the engine's HNSW defaults
    "int8": {"KM_VECTOR_QUANTIZATION": "int8"},
    "int8-schijf": {"KM_VECTOR_QUANTIZATION": "int8", "KM_VECTORS_ON_DISK": "ja"},
    # search-time settings on a store of another (the part before "+"): no store of their own
    "int8-schijf+ef256": {"KM_VECTOR_QUANTIZATION": "int8", "KM_VECTORS_ON_DISK": "ja", "KM_HNSW_EF": "256"},
    "standaard+ef256": {"KM_HNSW_EF": "256"},
}
WERKPLAATSEN = 15
ATELIERS = ("kansrijk-met-jeugd", "tweedeling-en-armoede", "veerkracht-in-gemeenschappen")
KINDS = ("verslag", "rapport", "interventie", "experiment", "workshop", "ervaringsverhaal")
NOISE = 0.02  # per dimension: |noise| ≈ 0.39 on a unit vector, cosine to the original ≈ 0.92
SEEN_BY = (("openbaar", 0.50), ("werkplaats", 0.25), ("atelier", 0.20), ("coordinatie", 0.05))
BATCH = 2_000


# --- the pool: real passages through the real pipeline, once ------------------------------------------------

def pool() -> Path:
    """The data folder of the pool store (built on the first run)."""
    data = WORK / "pool"
    if (data / "built").exists():
        return data
    files = WORK / "pool-files" / "policyqa"
    files.mkdir(parents=True, exist_ok=True)
    pages: dict[str, list[dict]] = {}
    for s in sections():
        pages.setdefault(s["page"], []).append(s)
    for page, parts in pages.items():
        first = next((p["title"] for p in parts if p.get("title")), "") or parts[0]["text"][:60]
        body = "\n\n".join((f"## {p['title']}\n\n" if p.get("title") else "") + p["text"] for p in parts)
        write_markdown(files, page, body, title=first.capitalize(), kind="rapport")
    km = Kennismakelaar(Settings.from_env({"KM_DATA_DIR": str(data)}))
    started = time.perf_counter()
    report = km.ingestor().run([SAMPLES / "documenten", SAMPLES / "experts", files, SHARED / "real-docs"])
    km.close()
    failed = [o.path for o in report.outcomes if o.status == "failed"]
    print(f"pool: {len(report.outcomes)} files ({len(failed)} not readable) in {time.perf_counter() - started:.0f} s",
          flush=True)
    (data / "built").write_text(json.dumps({"files": len(report.outcomes), "failed": failed}))
    return data


class Pool:
    """The pool's passages, documents and profiles, with their vectors, in memory."""

    def __init__(self, data: Path) -> None:
        km = Kennismakelaar(Settings.from_env({"KM_DATA_DIR": str(data)}))
        store, bm25 = km.store, km.bm25
        km.catalog()
        self.chunks = list(store.scroll(CHUNKS, with_vectors=True))
        self.sparse = {h.id: bm25.embed_document(h.payload["text"]) for h in self.chunks}
        self.documents = {h.payload["document_id"]: h for h in store.scroll(DOCUMENTS, with_vectors=True)}
        self.experts = list(store.scroll(EXPERTS, with_vectors=True))
        self.expert_sparse = {h.id: bm25.embed_document(_profile_text(h.payload)) for h in self.experts}
        km.close()
        self.by_document: dict[str, list[Any]] = {}
        for h in self.chunks:
            self.by_document.setdefault(h.payload["document_id"], []).append(h)
        self.order = sorted(d for d in self.by_document if d in self.documents)


def _profile_text(payload: dict[str, Any]) -> str:
    return " ".join(str(payload.get(k) or "") for k in ("name", "role", "organization", "expertise"))


# --- a store of a given size: copies of the pool ------------------------------------------------------------

def _suffix(key: str, w: int) -> str:
    return f"{key} w{w:02d}"


def _noisy(v: Sequence[float], rng: np.random.Generator) -> np.ndarray:
    out = np.asarray(v, np.float32) + rng.normal(scale=NOISE, size=len(v)).astype(np.float32)
    return out / np.linalg.norm(out)


def _seen_by(rng: random.Random, atelier: str) -> str:
    level = rng.choices([s for s, _ in SEEN_BY], [p for _, p in SEEN_BY])[0]
    return f"atelier:{atelier}" if level == "atelier" else level


def _copies(p: Pool, target: int, seed: int = 26) -> Iterator[tuple[list[Point], list[Point]]]:
    """Batches of (passages, document records), copy after copy, until ``target`` passages."""
    rng, nrng = random.Random(seed), np.random.default_rng(seed)
    made, copy = 0, 0
    today = time.time()
    while made < target:
        w = copy % WERKPLAATSEN
        chunks: list[Point] = []
        records: list[Point] = []
        for doc_id in p.order:
            if made >= target:
                break
            doc = p.documents[doc_id]
            new_id = f"{doc_id}~{copy}"
            ateliers = list(doc.payload.get("ateliers") or []) or [ATELIERS[rng.randrange(3)]]
            day = time.strftime("%Y-%m-%d", time.gmtime(today - rng.uniform(0, 5 * 365) * 86400))
            changed = {
                "document_id": new_id, "ateliers": ateliers, "date": day, "year": int(day[:4]),
                "kind": doc.payload.get("kind") or KINDS[rng.randrange(len(KINDS))],
                "visibility": _seen_by(rng, ateliers[0]),
                "people": [_suffix(k, w) for k in doc.payload.get("people") or []],
            }
            record = {**doc.payload, **changed, "authors": [f"{a}-w{w:02d}" for a in doc.payload.get("authors") or []],
                      "ingested_at": day + "T12:00:00+00:00",
                      **browse_keys(doc.payload.get("title"), day, list(doc.payload.get("target_groups") or []))}
            records.append(Point(f"doc:{new_id}", record,
                                 dense={DENSE: _noisy(doc.dense, nrng)} if doc.dense else {}))
            taken = p.by_document[doc_id][: target - made]
            for h in taken:
                chunks.append(Point(f"{h.id}~{copy}", {**h.payload, **changed}, dense={DENSE: _noisy(h.dense, nrng)},
                                    sparse={SPARSE: p.sparse[h.id]}))
            made += len(taken)
            if len(chunks) >= BATCH:
                yield chunks, records
                chunks, records = [], []
        if chunks or records:
            yield chunks, records
        copy += 1


def build(size: int, setting: str) -> tuple[Path, dict[str, float]]:
    """The store of ``size`` passages under ``setting`` (built once; reused while its marker stands)."""
    data = WORK / f"{setting.partition('+')[0]}-{size}"
    marker = data / "built.json"
    if marker.exists():
        return data, json.loads(marker.read_text())
    source = Pool(pool())
    shutil.rmtree(data, ignore_errors=True)
    km = Kennismakelaar(Settings.from_env({"KM_DATA_DIR": str(data), **SETTINGS[setting]}))
    catalog, store = km.catalog(), km.store
    started = time.perf_counter()
    for chunks, records in _copies(source, size):
        store.upsert(CHUNKS, chunks)
        store.upsert(DOCUMENTS, records)
    experts = [Point(f"{h.id}-w{w:02d}", {**h.payload, "expert_id": f"{h.payload['expert_id']}-w{w:02d}",
                                          "name": f"{h.payload['name']} (W{w:02d})",
                                          "keys": [_suffix(k, w) for k in h.payload.get("keys") or []]},
                   dense={DENSE: h.dense} if h.dense else {},
                   sparse={SPARSE: source.expert_sparse[h.id]} if h.payload.get("visibility") == "public" else {})
               for w in range(WERKPLAATSEN) for h in source.experts]
    catalog.write_experts(experts)
    written = time.perf_counter() - started
    started = time.perf_counter()
    getattr(store, "optimize", lambda: None)()
    figures = {"passages": store.count(CHUNKS), "documents": store.count(DOCUMENTS),
               "people": store.count(EXPERTS), "write_s": round(written, 1),
               "index_s": round(time.perf_counter() - started, 1)}
    km.close()
    marker.write_text(json.dumps(figures))
    return data, figures


# --- the serving process ------------------------------------------------------------------------------------

def questions(n: int) -> list[str]:
    """``n`` real questions (the policyqa-sections' and the demo's), repeated with a number when there are fewer."""
    real = [q["question"] for q in section_questions()] + QUESTIONS
    return [real[i % len(real)] + ("" if i < len(real) else f" ({i // len(real)})") for i in range(n)]


def _memory() -> dict[str, float]:
    """Resident memory of this process in MB: all of it, anonymous (heap) and mapped files (the engine's)."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
            fields[key] = round(int(value.split()[0]) / 1024, 1)
    return fields


def _recall(store: Any, encoded: Sequence[Any], *, hybrid: bool, asked: int = 10) -> float:
    """Mean share of the exact top 10 that the approximate query returns in its top 10 (public filter on, as
    served). ``asked``: how many the query asks for — 10, or 120 as retrieval asks (with int8 the index then keeps
    at least twice that many candidates, the oversampling, whatever ``KM_HNSW_EF`` says)."""
    def top(e: Any, exact: bool) -> set[str]:
        q = Query(dense=e.dense, sparse=e.sparse if hybrid and e.sparse.indices else None, limit=asked,
                  prefetch_limit=120, fusion="dbsf", filter=PUBLIC.filter(), fields=("document_id",), exact=exact)
        return {h.id for h in store.query(CHUNKS, q)[:10]}

    shares = []
    for e in encoded:
        truth = top(e, True)
        shares.append(len(top(e, False) & truth) / max(1, len(truth)))
    return round(float(np.mean(shares)), 4)


def serve(data: Path, setting: str, n_questions: int, store: Any = None) -> dict[str, Any]:
    """In the serving process: start the app as ``kennismakelaar serve`` does, then measure."""
    from litestar.testing import TestClient

    from service.browse import browse as browse_page
    from web.app import create_app

    settings = Settings.from_env({"KM_DATA_DIR": str(data), **SETTINGS[setting]})
    km = Kennismakelaar(settings, store=store) if store is not None else None
    with TestClient(create_app(settings, km=km)) as client:
        assert client.get("/ready").status_code == 200
        print("READY", flush=True)
        km = client.app.state.km
        broker = km.broker(PUBLIC)
        asked = questions(n_questions)
        for q in QUESTIONS[:3]:  # warm up: the model's first batches, taxonomy vectors, the engine's caches
            broker.ask(q, record=False)
        memory = {"after_warm_up": _memory()}
        sample = asked[: min(300, len(asked))]
        encoded = [broker.retriever.encode(q) for q in sample]
        rows = interleaved({"search": lambda q: broker.search(q, limit=10),
                       "experts": lambda q: broker.experts(q, limit=10),
                       "ask": lambda q: broker.ask(q, record=False)}, sample)
        rows["embed query (raw)"] = []
        for q in sample:
            t = time.perf_counter()
            km.embedder.embed_query(q)
            rows["embed query (raw)"].append((time.perf_counter() - t) * 1000)
        rows["engine hybrid query (raw)"] = []
        for e in encoded:
            t = time.perf_counter()
            km.store.query(CHUNKS, Query(dense=e.dense, sparse=e.sparse, limit=80, prefetch_limit=120, fusion="dbsf",
                                         filter=PUBLIC.filter(), fields=LIGHT))
            rows["engine hybrid query (raw)"].append((time.perf_counter() - t) * 1000)
        cases = [BrowseFilters(chosen=c) for c in ({}, {"kind": ("verslag",)}, {"atelier": (ATELIERS[0],)},
                                                    {"year": (2024,)})]
        rows["browse (7 facets)"] = interleaved({"b": lambda i: browse_page(km, PUBLIC, cases[int(i) % 4],
                                                                       sort=("date", "title")[int(i) % 2])},
                                           [str(i) for i in range(100)])["b"]
        for q in asked[len(sample):]:  # the rest of the 1,000 questions: the memory a day's use leaves
            broker.ask(q, record=False)
        memory["after_questions"] = _memory()
        recall = {"dense": _recall(km.store, encoded[:100], hybrid=False),
                  "hybrid": _recall(km.store, encoded[:100], hybrid=True),
                  "dense_as_retrieved": _recall(km.store, encoded[:100], hybrid=False, asked=120)}
    return {"latency_ms": {k: {"p50": round(statistics.median(v), 1), "p99": round(percentile(v, 99), 1)}
                           for k, v in rows.items()},
            "memory_mb": memory, "recall_at_10": recall, "questions": n_questions}


def disk_mb(folder: Path) -> float:
    """What the data folder takes on disk (blocks in use: the engine's files are sparse)."""
    return round(sum(f.stat().st_blocks * 512 for f in folder.rglob("*") if f.is_file()) / 2**20, 1)


def measure(size: int, setting: str, n_questions: int) -> dict[str, Any]:
    data, built = build(size, setting)
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "benchmarks.scale", "--serve", str(data), "--setting", setting,
                              "--questions", str(n_questions)], cwd=HERE.parent, stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": str(HERE.parent)})
    assert child.stdout is not None
    start_up = None
    out = ""
    for line in child.stdout:
        if line.startswith("READY") and start_up is None:
            start_up = time.perf_counter() - started
        out = line
    if child.wait() != 0:
        raise SystemExit(f"the serving process failed ({size}, {setting})")
    return {"size": size, "setting": setting, **built, "start_up_s": round(start_up or 0.0, 1),
            "disk_mb": disk_mb(data), **json.loads(out)}


def client_local(size: int, n_questions: int) -> dict[str, Any]:
    """The qdrant-client path (``ServerStore``, the code a Qdrant server is spoken to with) at ``size``, in the
    client's local mode: no server runs here. Local mode searches by brute force in Python — its latency says
    nothing of a server's; what it shows is that our server-side code carries a store of this size."""
    from qdrant_client import QdrantClient

    from core.store.server import ServerStore

    data = WORK / f"client-local-{size}"
    source = Pool(pool())
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    store = ServerStore(QdrantClient(":memory:"))  # on a path it also pickles every point into SQLite
    km = Kennismakelaar(Settings.from_env({"KM_DATA_DIR": str(data)}), store=store)
    km.catalog()
    started = time.perf_counter()
    for chunks, records in _copies(source, size):
        store.upsert(CHUNKS, chunks)
        store.upsert(DOCUMENTS, records)
    written = time.perf_counter() - started
    broker = km.broker(PUBLIC)
    asked = questions(min(n_questions, 10))  # brute force in Python: seconds a query at this size
    rows = interleaved({"search": lambda q: broker.search(q, limit=10), "ask": lambda q: broker.ask(q, record=False)},
                  asked)
    out = {"size": size, "setting": "qdrant-client (lokaal)", "passages": store.count(CHUNKS),
           "write_s": round(written, 1), "memory_mb": {"after_questions": _memory()},
           "latency_ms": {k: {"p50": round(statistics.median(v), 1), "p99": round(percentile(v, 99), 1)}
                          for k, v in rows.items()}}
    km.close()
    return out


def table(results: Sequence[dict[str, Any]]) -> str:
    head = ("| passages | setting | start-up s | RSS MB (warm / 1,000 q) | disk MB | search p50/p99 | "
            "experts p50/p99 | ask p50/p99 | engine p50 | embed p50 | browse p50 | recall@10 dense / hybrid |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in results:
        lat = r.get("latency_ms", {})
        cell = {k: f"{v['p50']} / {v['p99']}" for k, v in lat.items()}
        mem = r.get("memory_mb", {})
        rss = " / ".join(str(mem[k]["VmRSS"]) for k in ("after_warm_up", "after_questions") if k in mem)
        rec = r.get("recall_at_10", {})
        lines.append(f"| {r['size']:,} | {r['setting']} | {r.get('start_up_s', '–')} | {rss} | {r.get('disk_mb', '–')} "
                     f"| {cell.get('search', '–')} | {cell.get('experts', '–')} | {cell.get('ask', '–')} "
                     f"| {lat.get('engine hybrid query (raw)', {}).get('p50', '–')} "
                     f"| {lat.get('embed query (raw)', {}).get('p50', '–')} "
                     f"| {lat.get('browse (7 facets)', {}).get('p50', '–')} "
                     f"| {rec.get('dense', '–')} / {rec.get('hybrid', '–')} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES))
    parser.add_argument("--settings", default="standaard,int8-schijf")
    parser.add_argument("--questions", type=int, default=1000)
    parser.add_argument("--client-local", action="store_true", help="also the qdrant-client path (local mode)")
    parser.add_argument("--build-only", action="store_true", help="build the stores (their timings are not "
                        "measured then: they can be built beside other work)")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--setting", default="standaard", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        print(json.dumps(serve(args.serve, args.setting, args.questions)), flush=True)
        return
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        if args.build_only:
            for setting in args.settings.split(","):
                print(size, setting, build(size, setting)[1], flush=True)
            continue
        for setting in args.settings.split(","):
            result = measure(size, setting, args.questions)
            results.append(result)
            print(json.dumps(result), flush=True)
        if args.client_local:
            result = client_local(size, args.questions)
            results.append(result)
            print(json.dumps(result), flush=True)
    print()
    print(table(results))
    out = WORK / f"results-{args.sizes.replace(',', '+')}-{args.settings.replace(',', '+')}.json"
    out.write_text(json.dumps(results, indent=1))
    print(f"\n(results in {out})")


if __name__ == "__main__":
    main()
