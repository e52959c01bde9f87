"""How the vectors are held at scale (issue 26): int8 quantisation with rescoring, originals on disk — on the real
engine. What is claimed: such a store finds what exact search finds (recall@10 ≥ 0.98), ``Query(exact=True)`` is
exact, and a store made under other settings is converted by ``kennismakelaar tune`` without losing a point.
"""

from __future__ import annotations

import io
import json
import logging

import numpy as np
import pytest

from core.errors import ConfigError
from core.store.edge import EdgeStore
from core.store.types import DENSE, CollectionSpec, Filter, MatchAny, Point, Query, Tuning, point_uuid
from tests.conftest import make_settings

SPEC = CollectionSpec("chunks", dense_dim=384, sparse=True, indexes={"visibility": "keyword"})
INT8_ON_DISK = Tuning(quantization="int8", vectors_on_disk=True)
PUBLIC = Filter(must=(MatchAny("visibility", ("openbaar",)),))


def _clustered(n: int, seed: int = 7) -> np.ndarray:
    """Unit vectors in 300 neighbourhoods, as a corpus's passages lie (random ones in 384 dimensions are all
    equally far apart: a case no index is built for, and no corpus looks like)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(300, 384))
    v = centres[rng.integers(0, 300, n)] + rng.normal(scale=0.35, size=(n, 384))
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def _fill(store: EdgeStore, vectors: np.ndarray) -> None:
    store.ensure(SPEC)
    points = [Point(f"p{i}", {"visibility": ("openbaar", "werkplaats")[i % 2], "i": i}, dense={DENSE: v})
              for i, v in enumerate(vectors)]
    for start in range(0, len(points), 2000):
        store.upsert("chunks", points[start:start + 2000])
    store.optimize()


def test_an_int8_store_with_its_vectors_on_disk_finds_what_exact_search_finds(tmp_path):
    vectors = _clustered(12_000)
    store = EdgeStore(tmp_path, INT8_ON_DISK)
    try:
        _fill(store, vectors)
        assert store._held("chunks") == (True, True)
        assert store._shards["chunks"].info().indexed_vectors_count >= len(vectors)  # an index, not a scan
        queries = _clustered(60, seed=8)
        shares = []
        for q in queries:
            truth = [h.id for h in store.query("chunks", Query(dense=q, limit=10, filter=PUBLIC, fields=(),
                                                               exact=True))]
            # exact is exact: the same ten as numpy's over the public half
            cosines = vectors[::2] @ q
            assert truth == [point_uuid(f"p{2 * i}") for i in np.argsort(-cosines)[:10]]
            found = {h.id for h in store.query("chunks", Query(dense=q, limit=10, filter=PUBLIC, fields=()))}
            shares.append(len(found & set(truth)) / 10)
        assert np.mean(shares) >= 0.98, np.mean(shares)
    finally:
        store.close()


def test_tune_converts_a_store_made_under_other_settings_and_loses_nothing(tmp_path, caplog):
    vectors = _clustered(3_000)
    store = EdgeStore(tmp_path)
    _fill(store, vectors)
    q = _clustered(1, seed=9)[0]
    before = [h.id for h in store.query("chunks", Query(dense=q, limit=10, fields=(), exact=True))]
    store.close()
    store = EdgeStore(tmp_path, INT8_ON_DISK)
    try:
        with caplog.at_level(logging.WARNING, logger="kennismakelaar.store"):
            store.ensure(SPEC)
        assert "kennismakelaar tune" in caplog.text  # told at start-up, not converted behind anyone's back
        assert store._held("chunks") == (False, False)
        assert store.retune() == ["chunks"]
        assert store._held("chunks") == (True, True) and store.count("chunks") == len(vectors)
        assert [h.id for h in store.query("chunks", Query(dense=q, limit=10, fields=(), exact=True))] == before
        assert store.retune() == []  # nothing left to do
    finally:
        store.close()


def test_the_tune_command_converts_every_collection_with_vectors(tmp_path):
    from service.cli import main
    from service.container import Kennismakelaar

    Kennismakelaar(make_settings(tmp_path)).catalog().store.close()  # a store made under the defaults
    out = io.StringIO()
    settings = make_settings(tmp_path, KM_VECTOR_QUANTIZATION="int8", KM_VECTORS_ON_DISK="ja")
    assert main(["tune", "--json"], settings=settings, out=out) == 0
    assert {"chunks", "documents", "experts", "questions"} <= set(json.loads(out.getvalue())["changed"])
    out = io.StringIO()
    assert main(["tune"], settings=settings, out=out) == 0 and "al zoals" in out.getvalue()


def test_an_unknown_quantization_is_refused_by_name(tmp_path):
    with pytest.raises(ConfigError, match="KM_VECTOR_QUANTIZATION"):
        make_settings(tmp_path, KM_VECTOR_QUANTIZATION="binary")
