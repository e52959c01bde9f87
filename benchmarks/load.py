"""Load: 20 concurrent clients asking while an upload is being ingested.

    python -m benchmarks.load [--clients 20] [--uploads 8]

Starts ``kennismakelaar serve`` on a copy of the ingested demo corpus (loopback only), lets the clients ask
real questions, uploads a batch of new documents half-way and waits for its job, then checks: zero errors,
every uploaded document in the store exactly once, no passage without its document. Prints p50 and p99 of
the ask latency, overall and while the upload was being ingested.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from benchmarks.latency import QUESTIONS, percentile
from core.store.catalog import CHUNKS
from service.container import Kennismakelaar
from service.settings import Settings

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TOKEN = "load-benchmark-token"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(data: Path) -> None:
    """Ingest the demo corpus into ``data`` (embedding cache shared with the latency benchmark)."""
    cache = HERE / ".data" / "latency-cache" / "embedding-cache.sqlite"
    data.mkdir(parents=True, exist_ok=True)
    if cache.exists():
        shutil.copy(cache, data / "embedding-cache.sqlite")
    km = Kennismakelaar(Settings.from_env({"KM_DATA_DIR": str(data)}))
    km.ingestor().run([ROOT / "samples" / "documenten", ROOT / "samples" / "experts"])
    km.close()


def uploads(n: int) -> list[tuple[str, tuple[str, bytes]]]:
    towns = ["Heerlen", "Kerkrade", "Brunssum", "Landgraaf", "Sittard", "Geleen", "Maastricht", "Voerendaal"]
    files = []
    for i in range(n):
        town = towns[i % len(towns)]
        text = (f"---\ntitle: Verslag buurtavond {town} {i}\nkind: verslag\ndate: 2026-0{1 + i % 9}-15\n---\n"
                f"# Buurtavond {town}\n\n## Wat we hoorden\n\nBewoners van {town} vertelden over geldzorgen, "
                f"eenzaamheid en het vertrouwen in de wijkteams. Jongeren vroegen om een plek om samen te komen.\n\n"
                f"## Afspraken\n\nHet wijkteam en het jongerenwerk in {town} maken samen een plan ({i}).\n")
        files.append(("files", (f"buurtavond-{town.lower()}-{i}.md", text.encode())))
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--uploads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0, help="asking time before and after the upload")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="km-load-"))
    data = work / "data"
    prepare(data)
    port = _port()
    env = {**os.environ, "KM_DATA_DIR": str(data), "KM_COORDINATOR_TOKENS": TOKEN, "KM_PORT": str(port),
           "KM_ASK_PER_MINUTE": "1000000"}  # all clients share one address here; the limit is per client
    log = (work / "server.log").open("w")  # a pipe nobody reads would fill up and stall the server
    server = subprocess.Popen([sys.executable, "-m", "service.cli", "serve"], env=env, cwd=ROOT,
                              stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base)
        results: list[tuple[float, float, int]] = []  # (start, seconds, status)
        stop = threading.Event()
        lock = threading.Lock()

        def client(n: int) -> None:
            with httpx.Client(base_url=base, timeout=120) as http:
                i = n
                while not stop.is_set():
                    started = time.perf_counter()
                    try:
                        status = http.post("/api/ask", json={"question": QUESTIONS[i % len(QUESTIONS)]}).status_code
                    except httpx.HTTPError:
                        status = -1
                    with lock:
                        results.append((started, time.perf_counter() - started, status))
                    i += args.clients

        threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
        for t in threads:
            t.start()
        time.sleep(args.seconds / 2)
        upload_started = time.perf_counter()
        with httpx.Client(base_url=base, timeout=120, headers={"Authorization": f"Bearer {TOKEN}"}) as http:
            job = http.post("/api/documents", files=uploads(args.uploads)).json()
            while job["status"] in ("queued", "running"):
                time.sleep(0.5)
                job = http.get(f"/api/jobs/{job['id']}").json()
        upload_finished = time.perf_counter()
        time.sleep(args.seconds / 2)
        stop.set()
        for t in threads:
            t.join()
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()
    km = Kennismakelaar(Settings.from_env({"KM_DATA_DIR": str(data)}))
    catalog = km.catalog()
    records = list(catalog.documents())
    ids = [r["document_id"] for r in records]
    uploaded = [f[1][0] for f in uploads(args.uploads)]
    chunk_docs = [h.payload["document_id"] for h in catalog.store.scroll(CHUNKS, fields=["document_id"])]
    km.close()
    shutil.rmtree(work, ignore_errors=True)

    lat = [s * 1000 for _, s, _ in results]
    during = [s * 1000 for t, s, _ in results if upload_started <= t <= upload_finished]
    errors = sum(1 for *_, status in results if status != 200)
    report = {
        "clients": args.clients, "requests": len(results), "errors": errors,
        "p50_ms": round(statistics.median(lat), 1), "p99_ms": round(percentile(lat, 99), 1),
        "during_upload": {"requests": len(during), "p50_ms": round(statistics.median(during), 1) if during else None,
                          "p99_ms": round(percentile(during, 99), 1) if during else None},
        "upload_seconds": round(upload_finished - upload_started, 1), "job_status": job["status"],
        "job_errors": job["errors"], "uploaded_present_once": all(ids.count(u) == 1 for u in uploaded),
        "duplicate_documents": len(ids) - len(set(ids)),
        "orphan_passages": sum(1 for d in chunk_docs if d not in set(ids)),
        "passages_match_records": len(chunk_docs) == sum(r["chunks"] for r in records),
    }
    print(f"{args.clients} clients, {len(results)} questions, {errors} errors")
    print(f"ask latency: p50 {report['p50_ms']} ms, p99 {report['p99_ms']} ms "
          f"(during the upload: p50 {report['during_upload']['p50_ms']} ms, p99 {report['during_upload']['p99_ms']} ms,"
          f" {len(during)} questions)")
    print(f"upload of {args.uploads} documents: {report['upload_seconds']} s, job {job['status']}; every document "
          f"present once: {report['uploaded_present_once']}; duplicates {report['duplicate_documents']}; orphan "
          f"passages {report['orphan_passages']}")
    print(json.dumps(report))


def _wait_ready(base: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/ready", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("the service did not become ready")


if __name__ == "__main__":
    main()
