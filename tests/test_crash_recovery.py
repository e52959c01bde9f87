"""A run killed half-way leaves a consistent store, and a rerun finishes the job: no duplicates, no orphans."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

from core.store.catalog import CHUNKS
from tests import docmaker
from tests.conftest import ROOT

CRASH_SCRIPT = textwrap.dedent("""
    import os, sys
    from core.store.catalog import Catalog
    from service.container import Kennismakelaar
    from service.settings import Settings

    crash_after = int(sys.argv[3])
    real_commit = Catalog.commit_document
    calls = []

    def commit_then_die(self, record, vector):
        calls.append(record["document_id"])
        if len(calls) > crash_after:
            os._exit(9)  # chunks of this document are written, its record is not: the worst moment
        real_commit(self, record, vector)

    Catalog.commit_document = commit_then_die
    km = Kennismakelaar(Settings.from_env({"KM_DATA_DIR": sys.argv[1]}))
    km.ingestor().run([sys.argv[2]])
""")


def _corpus(root: Path, n: int = 8) -> Path:
    root.mkdir()
    for i in range(n):
        town = docmaker.TOWNS[i % len(docmaker.TOWNS)]
        (root / f"doc{i}.md").write_text(
            f"---\nid: doc-{i}\ntitle: Verslag {i} uit {town}\n---\n# Verslag {i}\n\n"
            + "\n\n".join(f"## Deel {j}\n\nIn {town} spraken wij met bewoners over geld, school en zorg ({i}.{j})."
                          for j in range(3)), "utf-8")
    return root


def _assert_consistent(km, n: int) -> None:
    catalog = km.catalog()
    records = list(catalog.documents())
    assert sorted(r["document_id"] for r in records) == sorted(f"doc-{i}" for i in range(n))
    chunks = list(catalog.store.scroll(CHUNKS, fields=["document_id", "content_hash", "chunk_index"]))
    assert len(chunks) == sum(r["chunks"] for r in records)
    hashes = {r["document_id"]: r["content_hash"] for r in records}
    assert all(hashes[c.payload["document_id"]] == c.payload["content_hash"] for c in chunks)
    per_doc = Counter((c.payload["document_id"], c.payload["chunk_index"]) for c in chunks)
    assert max(per_doc.values()) == 1


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


@pytest.mark.slow  # ingest runs in a subprocess, then again here
def test_crash_between_chunks_and_commit_is_finished_by_a_rerun(tmp_path, km_factory):
    data, root = tmp_path / "data", _corpus(tmp_path / "c")
    done = subprocess.run([sys.executable, "-c", CRASH_SCRIPT, str(data), str(root), "3"], env=_env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 9, done.stderr
    km = km_factory(data)
    catalog = km.catalog()  # the store opens after the crash (write-ahead log replayed)
    assert catalog.counts()["documents"] == 3
    assert catalog.store.count(CHUNKS) > sum(r["chunks"] for r in catalog.documents())  # uncommitted chunks
    report = km.ingestor().run([root])
    assert report.ok and report.summary()["added"] == 5 and report.summary()["unchanged"] == 3
    _assert_consistent(km, 8)


@pytest.mark.slow  # ingest runs in a subprocess, then again here
def test_sigkill_at_any_moment_then_rerun(tmp_path, km_factory):
    data, root = tmp_path / "data", _corpus(tmp_path / "c", n=40)
    env = {**_env(), "KM_DATA_DIR": str(data)}
    proc = subprocess.Popen([sys.executable, "-m", "service.cli", "ingest", str(root)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cache = data / "embedding-cache.sqlite"
    deadline = time.monotonic() + 120
    while not cache.exists() and time.monotonic() < deadline:  # wait until it is writing
        time.sleep(0.1)
    time.sleep(2.0)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL, "the run finished before it could be killed"
    km = km_factory(data)
    assert km.catalog().counts()["documents"] < 40
    report = km.ingestor().run([root])
    assert report.ok
    _assert_consistent(km, 40)


def test_a_second_process_gets_a_clear_in_use_error(tmp_path, km_factory):
    km = km_factory(tmp_path / "data")
    km.catalog()
    done = subprocess.run([sys.executable, "-m", "service.cli", "status"], capture_output=True, text=True,
                          env={**_env(), "KM_DATA_DIR": str(tmp_path / "data")}, timeout=120)
    assert done.returncode == 2
    assert "in gebruik door een ander proces" in done.stderr and "Traceback" not in done.stderr
