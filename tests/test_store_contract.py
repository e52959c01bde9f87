"""One contract, two stores: the embedded Qdrant Edge engine and qdrant-client (":memory:" for a server).

The congruence test runs the same queries on both and compares the rankings.
"""

from __future__ import annotations

import numpy as np
import pytest
from qdrant_client import QdrantClient

from core.bm25 import DutchBm25
from core.errors import StoreError
from core.store.edge import EdgeStore
from core.store.server import ServerStore
from core.store.types import DENSE, SPARSE, CollectionSpec, Filter, HasId, Point, Query, Range

SPEC = CollectionSpec("c", dense_dim=8, sparse=True,
                      indexes={"document_id": "keyword", "ateliers": "keyword", "date": "datetime", "year": "integer"})
TEXTS = ["jongeren met schulden zoeken laat hulp", "armoede en schaamte in de wijk", "vertrouwen tussen bewoners",
         "schuldhulpverlening voor gezinnen", "jongerenwerk en school werken samen", "eenzaamheid bij ouderen"]
ATELIERS = ["kansrijk", "armoede", "veerkracht", "armoede", "kansrijk", "veerkracht"]


def _points(bm25: DutchBm25) -> list[Point]:
    rng = np.random.default_rng(7)
    out = []
    for i, text in enumerate(TEXTS):
        v = rng.normal(size=8)
        out.append(Point(f"p{i}", {"document_id": f"d{i // 2}", "ateliers": [ATELIERS[i]], "text": text,
                                   "date": f"202{3 + i % 3}-0{1 + i}-15", "year": 2023 + i % 3},
                         dense={DENSE: (v / np.linalg.norm(v)).tolist()},
                         sparse={SPARSE: bm25.embed_document(text)}))
    return out


class StoreContract:
    """Subclasses provide the ``store`` fixture."""

    @pytest.fixture
    def filled(self, store):
        store.ensure(SPEC)
        store.upsert("c", _points(DutchBm25()))
        return store

    def test_ensure_is_idempotent(self, filled):
        filled.ensure(SPEC)
        assert filled.exists("c") and filled.count("c") == 6

    def test_upsert_same_id_replaces(self, filled):
        filled.upsert("c", [Point("p0", {"document_id": "d9", "text": "nieuw"}, dense={DENSE: [1.0] + [0.0] * 7})])
        assert filled.count("c") == 6
        assert filled.retrieve("c", ["p0"])[0].payload["document_id"] == "d9"

    def test_dense_query_orders_by_similarity(self, filled):
        target = filled.retrieve("c", ["p3"], with_vectors=True)[0]
        hits = filled.query("c", Query(dense=target.dense, limit=3))
        assert hits[0].payload["text"] == TEXTS[3] and hits[0].score == pytest.approx(1.0, abs=1e-4)
        assert hits[0].score >= hits[1].score >= hits[2].score

    def test_sparse_query_finds_the_terms(self, filled):
        hits = filled.query("c", Query(sparse=DutchBm25().embed_query("schulden"), limit=5))
        assert {h.payload["text"] for h in hits} == {TEXTS[0]}

    def test_hybrid_fusion_combines_both(self, filled):
        target = filled.retrieve("c", ["p5"], with_vectors=True)[0]
        hits = filled.query("c", Query(dense=target.dense, sparse=DutchBm25().embed_query("schaamte"), limit=6))
        top2 = {h.payload["text"] for h in hits[:2]}
        assert top2 == {TEXTS[5], TEXTS[1]}

    def test_filters(self, filled):
        assert filled.count("c", filter=Filter.where(ateliers="armoede")) == 2
        assert filled.count("c", filter=Filter.where(ateliers=["armoede", "kansrijk"])) == 4
        assert filled.count("c", filter=Filter(must=(Range("date", gte="2024-01-01", lte="2024-12-31"),))) == 2
        assert filled.count("c", filter=Filter(must=(Range("year", gte=2025),))) == 2
        assert filled.count("c", filter=Filter(must_not=Filter.where(ateliers="armoede").must)) == 4
        assert filled.count("c", filter=Filter(must=(HasId(("p1", "p2")),))) == 2
        target = filled.retrieve("c", ["p0"], with_vectors=True)[0]
        hits = filled.query("c", Query(dense=target.dense, limit=6, filter=Filter.where(ateliers="veerkracht")))
        assert {h.payload["ateliers"][0] for h in hits} == {"veerkracht"}

    def test_scroll_returns_everything_with_chosen_fields(self, filled):
        rows = list(filled.scroll("c", fields=["document_id"]))
        assert len(rows) == 6 and all(set(r.payload) == {"document_id"} for r in rows)

    def test_facet_counts(self, filled):
        assert dict(filled.facet("c", "ateliers")) == {"kansrijk": 2, "armoede": 2, "veerkracht": 2}

    def test_delete_by_id_and_by_filter(self, filled):
        filled.delete("c", ids=["p0"])
        filled.delete("c", filter=Filter.where(ateliers="veerkracht"))
        assert filled.count("c") == 3

    def test_set_payload(self, filled):
        filled.set_payload("c", {"status": "gezien"}, ids=["p1"])
        assert filled.retrieve("c", ["p1"])[0].payload["status"] == "gezien"

    def test_collection_without_vectors(self, store):
        store.ensure(CollectionSpec("meta"))
        store.upsert("meta", [Point("m", {"model": "x"})])
        assert store.retrieve("meta", ["m"])[0].payload == {"model": "x"}

    def test_drop(self, filled):
        filled.drop("c")
        assert not filled.exists("c")


class TestEdgeStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path):
        s = EdgeStore(tmp_path / "data")
        yield s
        s.close()

    def test_data_survives_a_reopen(self, tmp_path):
        s = EdgeStore(tmp_path / "d")
        s.ensure(SPEC)
        s.upsert("c", _points(DutchBm25()))
        s.close()
        again = EdgeStore(tmp_path / "d")
        again.ensure(SPEC)
        assert again.count("c") == 6
        again.close()

    def test_second_opener_gets_a_clear_in_use_error(self, store, tmp_path):
        with pytest.raises(StoreError, match="in gebruik"):
            EdgeStore(tmp_path / "data")


class TestServerStore(StoreContract):
    @pytest.fixture
    def store(self):
        s = ServerStore(QdrantClient(":memory:"))
        yield s
        s.close()

    def test_unreachable_server_is_a_clear_error(self):
        with pytest.raises(StoreError, match="niet bereikbaar"):
            ServerStore(url="http://127.0.0.1:9")


def test_both_backends_rank_alike(tmp_path):
    """Congruence: identical data and queries give identical rankings (dense, sparse and fused)."""
    bm25 = DutchBm25()
    edge, server = EdgeStore(tmp_path / "e"), ServerStore(QdrantClient(":memory:"))
    for s in (edge, server):
        s.ensure(SPEC)
        s.upsert("c", _points(bm25))
    rng = np.random.default_rng(3)
    try:
        for _ in range(5):
            v = rng.normal(size=8).tolist()
            for q in (Query(dense=v, limit=6), Query(sparse=bm25.embed_query("armoede schulden jongeren"), limit=6),
                      Query(dense=v, sparse=bm25.embed_query("wijk bewoners vertrouwen"), limit=6),
                      Query(dense=v, sparse=bm25.embed_query("armoede en schaamte"), limit=6, fusion="dbsf"),
                      Query(dense=v, limit=6, filter=Filter.where(ateliers=["armoede", "veerkracht"]))):
                a, b = edge.query("c", q), server.query("c", q)
                assert [h.id for h in a] == [h.id for h in b]
                assert [h.score for h in a] == pytest.approx([h.score for h in b], rel=1e-4)
    finally:
        edge.close()
        server.close()
