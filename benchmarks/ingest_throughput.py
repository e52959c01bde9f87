"""Ingest throughput next to the raw embedder on the same passages, and the rerun time.

    python -m benchmarks.ingest_throughput samples/documenten samples/experts
    python -m benchmarks.ingest_throughput ../shared/data/real-docs --model all-MiniLM-L6-v2

Runs in a temporary data folder with the embedding cache off, so every passage is embedded once by the
pipeline; then the same passage texts are embedded by the bare model (the baseline, same run, same
machine). The ratio is what parsing, chunking, BM25 and the store cost on top of the model.
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
        km.close()
    chunks = report.chunks_embedded
    result = {
        "paths": args.paths, "model": args.model, "files": len(report.outcomes), "failed": len(report.failed),
        "chunks": chunks, "ingest_seconds": round(report.seconds, 2),
        "ingest_chunks_per_s": round(chunks / report.seconds, 2),
        "raw_embed_seconds": round(raw_seconds, 2), "raw_embed_chunks_per_s": round(len(texts) / raw_seconds, 2),
        "overhead_ratio": round(report.seconds / raw_seconds, 3),
        "throughput_ratio": round(raw_seconds / report.seconds, 3),
        "rerun_seconds": round(rerun_seconds, 2), "rerun_embedded": rerun.chunks_embedded,
    }
    print(f"{'files':>24}: {result['files']} ({result['failed']} failed)")
    print(f"{'passages':>24}: {chunks}")
    print(f"{'ingest':>24}: {result['ingest_seconds']} s = {result['ingest_chunks_per_s']} passages/s")
    print(f"{'raw embedder, same texts':>24}: {result['raw_embed_seconds']} s = {result['raw_embed_chunks_per_s']} "
          "passages/s")
    print(f"{'ingest / raw (time)':>24}: {result['overhead_ratio']}")
    print(f"{'throughput, ingest / raw':>24}: {result['throughput_ratio']}")
    print(f"{'rerun, unchanged':>24}: {result['rerun_seconds']} s, {rerun.chunks_embedded} passages embedded")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
