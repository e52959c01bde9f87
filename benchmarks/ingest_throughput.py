"""Ingest throughput next to the raw embedder on the same passages, and the rerun time.

    python -m benchmarks.ingest_throughput samples/documenten samples/experts
    python -m benchmarks.ingest_throughput ../shared/data/real-docs --model all-MiniLM-L6-v2

Runs in a temporary data folder with the embedding cache off, so every passage is embedded once by the
pipeline; then the same passage texts are embedded by the bare model (the baseline, same run, same
machine). The ratio is what parsing, chunking, BM25 and the store cost on top of the model.

The pipeline gives the model more than passages: each titled document's title on its own (the title signal),
each expert profile, the taxonomy's descriptions. A second ratio adds those texts to the bare model's work,
so that it shows only what is not the model's.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

from core.models import Chunk
from core.store.catalog import CHUNKS
from service.container import Kennismakelaar
from service.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--model", default="multilingual-e5-small")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env({"KM_DATA_DIR": tmp, "KM_EMBEDDING_CACHE": "false",
                                      "KM_EMBEDDING_MODEL": args.model})
        km = Kennismakelaar(settings)
        km.warm_up()
        report = km.ingestor().run(args.paths)
        rerun_started = time.perf_counter()
        rerun = km.ingestor().run(args.paths)
        rerun_seconds = time.perf_counter() - rerun_started
        texts = [Chunk.from_payload(p.payload).context_text() for p in km.store.scroll(CHUNKS, fields=[
            "document_id", "chunk_index", "text", "section", "page", "title", "title_from_text"])]
        started = time.perf_counter()
        km.embedder.embed_documents(texts)
        raw_seconds = time.perf_counter() - started
        ingestor = km.ingestor()
        catalog = km.catalog()
        extra = [d["title"] for d in catalog.documents(fields=["title", "title_vector"]) if d.get("title_vector")]
        extra += [ingestor._profile_payload_text(e) for e in catalog.experts()]
        extra += [f"{t.name}: {t.description}" for t in (*km.taxonomy.ateliers, *km.taxonomy.themes)]
        started = time.perf_counter()
        km.embedder.embed_documents(extra)
        extra_seconds = time.perf_counter() - started
        km.close()
    chunks = report.chunks_embedded
    result = {
        "paths": args.paths, "model": args.model, "files": len(report.outcomes), "failed": len(report.failed),
        "chunks": chunks, "ingest_seconds": round(report.seconds, 2),
        "ingest_chunks_per_s": round(chunks / report.seconds, 2),
        "raw_embed_seconds": round(raw_seconds, 2), "raw_embed_chunks_per_s": round(len(texts) / raw_seconds, 2),
        "overhead_ratio": round(report.seconds / raw_seconds, 3),
        "throughput_ratio": round(raw_seconds / report.seconds, 3),
        "other_texts": len(extra), "other_texts_seconds": round(extra_seconds, 2),
        "throughput_ratio_all_texts": round((raw_seconds + extra_seconds) / report.seconds, 3),
        "rerun_seconds": round(rerun_seconds, 2), "rerun_embedded": rerun.chunks_embedded,
    }
    print(f"{'files':>24}: {result['files']} ({result['failed']} failed)")
    print(f"{'passages':>24}: {chunks}")
    print(f"{'ingest':>24}: {result['ingest_seconds']} s = {result['ingest_chunks_per_s']} passages/s")
    print(f"{'raw embedder, same texts':>24}: {result['raw_embed_seconds']} s = {result['raw_embed_chunks_per_s']} "
          "passages/s")
    print(f"{'ingest / raw (time)':>24}: {result['overhead_ratio']}")
    print(f"{'throughput, ingest / raw':>24}: {result['throughput_ratio']}")
    print(f"{'+ titles, profiles, terms':>24}: {len(extra)} texts, {result['other_texts_seconds']} s by the bare "
          f"model: throughput ratio {result['throughput_ratio_all_texts']}")
    print(f"{'rerun, unchanged':>24}: {result['rerun_seconds']} s, {rerun.chunks_embedded} passages embedded")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
