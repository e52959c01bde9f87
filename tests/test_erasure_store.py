"""The embedded store forgets to the byte: after ``erase_history`` no file holds a deleted point or the old
version of a rewritten payload; a crash half-way is finished at the next start; reads go on meanwhile."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from core.bm25 import DutchBm25
from core.store.edge import EdgeStore
from core.store.types import DENSE, SPARSE, CollectionSpec, Point, Query
from tests.bytescan import files_holding

SPEC = CollectionSpec("c", dense_dim=8, sparse=True, indexes={"people": "keyword", "year": "integer"})
META = CollectionSpec("m")
NAME = "Daan Brouns"


def _fill(store: EdgeStore, n: int = 300) -> None:
    store.ensure(SPEC)
    store.ensure(META)
    bm25 = DutchBm25()
    rng = np.random.default_rng(3)
    points = []
    for i in range(n):
        text = f"{NAME} vertelde over schulden {i}" if i % 50 == 0 else f"passage {i} over armoede en wonen"
        v = rng.normal(size=8)
        people = ["daan-brouns"] if i % 50 == 0 else []
        points.append(Point(f"p{i}", {"text": text, "people": people, "year": 2024},
                            dense={DENSE: (v / np.linalg.norm(v)).tolist()},
                            sparse={SPARSE: bm25.embed_document(text)}))
    store.upsert("c", points)
    store.upsert("m", [Point("note", {"text": f"contact {NAME} daan@example.nl"})])
    store.flush()


def _scrub(store: EdgeStore) -> None:
    """What a removal does: rewrite the payloads that named him, delete a record of him."""
    for i in range(0, 300, 50):
        store.set_payload("c", {"text": f"[naam verwijderd] vertelde over schulden {i}", "people": []}, ids=[f"p{i}"])
    store.delete("m", ids=["note"])
    store.flush()


def test_soft_deletes_leave_the_name_on_disk_until_the_history_is_erased(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = EdgeStore(data)
    _fill(store)
    before = store.query("c", Query(dense=[1.0] * 8, limit=300))
    _scrub(store)
    assert files_holding(data, NAME, "daan@example.nl"), "the engine deletes softly: the test must see that"
    store.erase_history()
    after = store.query("c", Query(dense=[1.0] * 8, limit=300))
    assert [h.id for h in after] == [h.id for h in before]  # same points, same ranking
    assert store.retrieve("c", ["p50"])[0].payload["text"].startswith("[naam verwijderd]")
    assert store.count("c") == 300 and store.count("m") == 0
    sparse = DutchBm25().embed_query("armoede wonen")
    assert store.query("c", Query(sparse=sparse, limit=5))  # the BM25 vectors came along
    store.upsert("m", [Point("later", {"text": "na het wissen"})])  # the new files take writes
    store.close()
    assert files_holding(data, NAME, "daan@example.nl") == []
    again = EdgeStore(data)
    again.ensure(SPEC)
    again.ensure(META)
    assert again.count("c") == 300 and again.retrieve("m", ["later"])
    assert set(again._shards["c"].info().payload_schema) == {"people", "year"}  # indexes rebuilt
    again.close()


def test_a_crash_between_the_two_renames_is_finished_at_the_next_start(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = EdgeStore(data)
    _fill(store)
    _scrub(store)
    store._mark_pending(["c", "m"])
    store.close()
    root = data / "qdrant"
    # the state a crash leaves after "c" was moved aside and before the copy was moved in: a partial copy
    os.replace(root / "c", root / "c.old")
    shutil.copytree(root / "c.old", root / "c.rewrite")
    shutil.rmtree(root / "c.rewrite" / "segments")
    again = EdgeStore(data)
    again.ensure(SPEC)
    again.ensure(META)
    assert again.count("c") == 300
    assert not (root / ".erase-pending").exists()
    again.close()
    assert files_holding(data, NAME, "daan@example.nl") == []
    assert sorted(p.name for p in root.iterdir()) == ["c", "m"]


def test_reads_go_on_while_collections_are_rewritten(tmp_path: Path) -> None:
    store = EdgeStore(tmp_path / "data")
    _fill(store, n=3000)
    errors: list[BaseException] = []
    counts: list[int] = []
    stop = threading.Event()

    def read() -> None:
        try:
            while not stop.is_set():
                counts.append(len(store.query("c", Query(dense=[0.5] * 8, limit=10))))
                counts.append(sum(1 for _ in store.scroll("c", fields=["year"])) // 300)
        except BaseException as exc:
            errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(3)]
    for t in readers:
        t.start()
    try:
        for _ in range(3):
            store.erase_history(["c"])
    finally:
        stop.set()
        for t in readers:
            t.join()
    store.close()
    assert errors == []
    assert counts and set(counts) == {10}


@pytest.mark.parametrize("name", ["c", "m"])
def test_erasing_one_collection_leaves_the_others_alone(tmp_path: Path, name: str) -> None:
    data = tmp_path / "data"
    store = EdgeStore(data)
    _fill(store)
    _scrub(store)
    store.erase_history([name])
    store.close()
    left = files_holding(data, NAME)
    assert left and all(not p.startswith(f"qdrant/{name}/") for p in left)


def test_a_removal_cut_off_before_its_erasure_is_finished_at_the_next_start(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = EdgeStore(data)
    _fill(store)
    store.mark_erasure_due()  # what a removal notes first
    _scrub(store)
    store.close()  # the process dies here: erase_history never ran
    assert files_holding(data, NAME)
    again = EdgeStore(data)
    again.ensure(SPEC)
    again.ensure(META)
    again.close()
    assert files_holding(data, NAME, "daan@example.nl") == []
    assert not (data / "qdrant" / ".erase-pending").exists()



def _paused_rewrite(store: EdgeStore, name: str, release: threading.Event,
                    monkeypatch: pytest.MonkeyPatch) -> threading.Thread:
    """A rewrite of ``name`` started in a thread and held, its copy begun, until ``release`` is set (the fresh
    shard is indexed first: the hold sits there)."""
    started, index = threading.Event(), store._index

    def paused(shard: object, spec: CollectionSpec) -> None:
        started.set()
        assert release.wait(30)
        index(shard, spec)

    monkeypatch.setattr(store, "_index", paused)
    rewrite = threading.Thread(target=store.erase_history, args=([name],))
    rewrite.start()
    assert started.wait(30)
    return rewrite

def test_writes_to_other_collections_go_on_while_one_is_rewritten(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A rewrite of the passages takes minutes at scale; the ledger (a rate-limit hit per public request) must
    not wait for it. Writes to the collection being rewritten do wait, so none is lost in the copy."""
    store = EdgeStore(tmp_path / "data")
    _fill(store)
    release = threading.Event()
    rewrite = _paused_rewrite(store, "c", release, monkeypatch)
    other = threading.Thread(target=store.upsert, args=("m", [Point("hit", {"text": "een hit"})]))
    other.start()
    other.join(10)
    same = threading.Thread(target=store.upsert, args=("c", [Point("late", {"text": "later", "people": []},
                                                                        dense={DENSE: [1.0] + [0.0] * 7})]))
    same.start()
    same.join(1)
    try:
        assert not other.is_alive(), "a write to another collection waited for the rewrite"
        assert same.is_alive(), "a write to the collection being rewritten did not wait for it"
    finally:
        release.set()
        rewrite.join()
        same.join()
    assert store.retrieve("m", ["hit"]) and store.retrieve("c", ["late"])
    assert store.count("c") == 301
    store.close()


def test_a_collection_noted_again_during_its_rewrite_stays_due(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A removal notes every collection as due, then writes — its writes to a collection being rewritten wait and
    land after the copy. That rewrite must not take the collection off the list: a crash before the removal's
    own rewrite would leave what it scrubbed in the files."""
    store = EdgeStore(tmp_path / "data")
    _fill(store)
    release = threading.Event()
    index = store._index
    rewrite = _paused_rewrite(store, "m", release, monkeypatch)
    store.mark_erasure_due(["m"])  # the removal's note, while the rewrite copies
    release.set()
    rewrite.join()
    pending = tmp_path / "data" / "qdrant" / ".erase-pending"
    assert pending.exists() and "m" in pending.read_text().split()
    monkeypatch.setattr(store, "_index", index)
    store.erase_history(["m"])  # the removal's own rewrite takes it off
    assert not pending.exists()
    store.close()
