"""One contract, two stores: the embedded Qdrant Edge engine and qdrant-client (":memory:" for a server).

The congruence tests run the same 263 queries on both, over 1,024 passages, and compare rankings, scores,
payloads, counts, scrolls and facets (and single-retriever rankings with an exact oracle).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import zlib
from collections import Counter
from collections.abc import Callable
from types import SimpleNamespace

import numpy as np
import pytest
from qdrant_client import QdrantClient

from core.bm25 import DutchBm25
from core.errors import StoreError
from core.store.edge import EdgeStore
from core.store.server import ServerStore
from core.store.types import (
    DENSE,
    SPARSE,
    CollectionSpec,
    Filter,
    HasId,
    Hit,
    MatchAny,
    Point,
    Query,
    Range,
    SparseVector,
    point_uuid,
)

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

    def test_ordered_by_a_numeric_field_in_the_engine(self, filled):
        years = [h.payload["year"] for h in filled.ordered("c", "year", limit=4)]
        assert years == sorted(years, reverse=True) and len(years) == 4 and years[0] == 2025
        armoede = filled.ordered("c", "year", limit=10, filter=Filter.where(ateliers="armoede"))
        assert sorted(h.payload["text"] for h in armoede) == sorted([TEXTS[1], TEXTS[3]])
        rising = filled.ordered("c", "year", limit=6, descending=False, fields=["year"])
        assert [h.payload["year"] for h in rising] == sorted(h.payload["year"] for h in rising)
        assert all(set(h.payload) == {"year"} for h in rising)

    def test_facet_counts(self, filled):
        assert dict(filled.facet("c", "ateliers")) == {"kansrijk": 2, "armoede": 2, "veerkracht": 2}

    def test_delete_by_id_and_by_filter(self, filled):
        filled.delete("c", ids=["p0"])
        filled.delete("c", filter=Filter.where(ateliers="veerkracht"))
        assert filled.count("c") == 3

    def test_set_payload(self, filled):
        filled.set_payload("c", {"status": "gezien"}, ids=["p1"])
        assert filled.retrieve("c", ["p1"])[0].payload["status"] == "gezien"

    def test_replace_if_writes_only_when_the_condition_holds(self, filled):
        base = filled.retrieve("c", ["p1"])[0]
        changed = Point("p1", {**base.payload, "status": "a"}, dense={DENSE: [0.5] * 8})
        filled.replace_if("c", changed, Filter.where(status="b"))  # not met: nothing changes
        assert "status" not in filled.retrieve("c", ["p1"])[0].payload
        filled.replace_if("c", changed, Filter.where(document_id="d0"))
        assert filled.retrieve("c", ["p1"])[0].payload["status"] == "a"
        filled.replace_if("c", Point("nieuw", {"status": "a"}, dense={DENSE: [0.5] * 8}), Filter())
        assert filled.retrieve("c", ["nieuw"]) == []  # never inserts

    def test_of_concurrent_writes_on_one_version_exactly_one_wins(self, filled):
        from concurrent.futures import ThreadPoolExecutor

        from core.store.revisions import revision, write_if_unchanged
        base = filled.retrieve("c", ["p2"], with_vectors=True)[0]
        point = Point("p2", base.payload, dense={DENSE: base.dense or []})
        with ThreadPoolExecutor(8) as pool:
            won = list(pool.map(lambda i: write_if_unchanged(filled, "c", point, revision(base.payload)), range(8)))
        assert won.count(True) == 1
        assert revision(filled.retrieve("c", ["p2"])[0].payload) == 1
        assert not write_if_unchanged(filled, "c", point, 0)  # based on the old version: refused
        assert write_if_unchanged(filled, "c", point, 1)
        filled.delete("c", ids=["p2"])
        assert not write_if_unchanged(filled, "c", point, 2) and filled.retrieve("c", ["p2"]) == []

    def test_a_write_followed_at_once_by_writes_based_on_it_knows_it_won(self, filled):
        """The engine does not say whether a conditional write took effect: the writer reads back. When a second
        writer (another worker) based a write on it before that read-back, the first one saw a stranger's
        version and reported a loss it never had — its caller redid a change that was saved."""
        from core.store.revisions import revision, write_if_unchanged

        base = filled.retrieve("c", ["p2"], with_vectors=True)[0]
        point = Point("p2", base.payload, dense={DENSE: base.dense or []})
        replace_if = filled.replace_if

        def others_before_the_read_back(name, written, condition):
            replace_if(name, written, condition)
            filled.replace_if = replace_if
            for _ in range(2):  # two more land first, each based on the one before
                now = revision(filled.retrieve(name, [written.id])[0].payload)
                assert write_if_unchanged(filled, name, Point("p2", {"text": "later"}, dense=point.dense), now)

        filled.replace_if = others_before_the_read_back
        try:
            assert write_if_unchanged(filled, "c", point, revision(base.payload))
        finally:
            vars(filled).pop("replace_if", None)
        assert revision(filled.retrieve("c", ["p2"])[0].payload) == revision(base.payload) + 3

    def test_insert_if_absent_writes_only_what_is_not_there(self, filled):
        first = Point("nieuw", {"text": "eerste", "rev": 5, "rev_token": "a"}, dense={DENSE: [0.5] * 8})
        assert filled.insert_if_absent("c", first)
        second = Point("nieuw", {"text": "tweede", "rev": 5, "rev_token": "b"}, dense={DENSE: [0.5] * 8})
        assert not filled.insert_if_absent("c", second)  # the same version number, another write: told apart
        assert filled.retrieve("c", ["nieuw"])[0].payload["text"] == "eerste"
        assert not filled.insert_if_absent("c", Point("p1", {"rev": 1, "rev_token": "c"}, dense={DENSE: [0.5] * 8}))
        assert "rev" not in filled.retrieve("c", ["p1"])[0].payload  # a record without a version: never replaced
        filled.delete("c", ids=["nieuw"])
        assert filled.insert_if_absent("c", second)  # deleted, it can be created again
        assert filled.retrieve("c", ["nieuw"])[0].payload["text"] == "tweede"
        filled.ensure(CollectionSpec("meta"))  # a collection without vectors (the ledger) alike
        assert filled.insert_if_absent("meta", Point("m", {"rev": 1, "rev_token": "d"}))
        assert not filled.insert_if_absent("meta", Point("m", {"rev": 1, "rev_token": "e"}))
        with pytest.raises(ValueError, match="rev"):  # without a version it could not tell whether it wrote
            filled.insert_if_absent("c", Point("zonder", {"text": "x"}, dense={DENSE: [0.5] * 8}))
        with pytest.raises(ValueError, match="rev_token"):  # nor without the token that tells two writes apart
            filled.insert_if_absent("c", Point("zonder", {"text": "x", "rev": 1}, dense={DENSE: [0.5] * 8}))
        assert filled.retrieve("c", ["zonder"]) == []

    def test_of_concurrent_creations_of_one_record_exactly_one_wins(self, filled):
        from concurrent.futures import ThreadPoolExecutor

        def create(i: int) -> bool:
            return filled.insert_if_absent("c", Point("nieuw", {"rev": 1, "rev_token": str(i)},
                                                      dense={DENSE: [0.5] * 8}))

        with ThreadPoolExecutor(8) as pool:
            won = list(pool.map(create, range(8)))
        assert won.count(True) == 1
        assert filled.retrieve("c", ["nieuw"])[0].payload["rev_token"] == str(won.index(True))

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


class _CreatedMeanwhile:
    """A client through which worker A writes; just before A's first write to ``collection``, worker B's creation
    of the same record lands (two processes on one server: no lock of A's process orders them)."""

    def __init__(self, inner: QdrantClient, collection: str, other: Callable[[], None] | None) -> None:
        self._inner, self._collection, self._other = inner, collection, other

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    def upsert(self, collection_name: str, *args: object, **kwargs: object) -> object:
        if collection_name == self._collection and self._other is not None:
            other, self._other = self._other, None
            other()
        return self._inner.upsert(collection_name, *args, **kwargs)


def test_two_workers_creating_one_profile_on_a_server_create_it_once():
    """Worker B creates a profile between worker A's look and A's write. A must learn that it lost (None), and
    B's profile stays as B wrote it: a look and a write in two steps would let A overwrite it and both succeed."""
    from core.store.catalog import EXPERTS, Catalog

    client = QdrantClient(":memory:")
    b = Catalog(ServerStore(client), "m@1", 4, marker_key=b"k" * 32)
    b.open()
    theirs = Point("expert:anna", {"expert_id": "anna", "name": "Anna", "rev": 1, "rev_token": "van-b"},
                   dense={DENSE: [0.5] * 4})
    a = Catalog(ServerStore(_CreatedMeanwhile(client, "km_experts",
                                              lambda: b.store.upsert(EXPERTS, [theirs]))), "m@1", 4,
                marker_key=b"k" * 32)
    a.open()
    assert a.create_expert(Point("expert:anna", {"expert_id": "anna", "name": "Anna van A"},
                                 dense={DENSE: [0.1] * 4})) is None
    assert a.expert("anna")["rev_token"] == "van-b"


def _profiles_scores(catalog, bm25: DutchBm25) -> dict[str, float]:
    hits = catalog.search_experts(Query(sparse=bm25.embed_query("schulden en schaamte"), limit=10,
                                        filter=Filter.where(visibility="public")))
    return {h.payload["expert_id"]: h.score for h in hits}


def _profile(bm25: DutchBm25, who: str, text: str, visibility: str) -> Point:
    return Point(f"expert:{who}", {"expert_id": who, "visibility": visibility, "rev": 1, "rev_token": who},
                 dense={DENSE: [0.5] * 4}, sparse={SPARSE: bm25.embed_document(text)})


@pytest.mark.parametrize("backend", ["edge", "server"])
def test_profiles_without_consent_move_no_public_bm25_score(tmp_path, backend):
    """The engine's IDF counts every point with a BM25 vector: a hidden profile sharing a word of the question
    would move the public scores (a difference that tells a registered name from a made-up one). Profiles without
    consent are stored without one — also those of a store made before that rule (schema 1), at its next open."""
    from core.store.catalog import _META_ID, EXPERTS, META, SCHEMA_VERSION, Catalog

    def catalog(path: str) -> Catalog:
        store = EdgeStore(tmp_path / path) if backend == "edge" else ServerStore(QdrantClient(":memory:"))
        c = Catalog(store, "m@1", 4, marker_key=b"k" * 32)
        c.open()
        return c

    bm25 = DutchBm25()
    public = [_profile(bm25, "anna", "schulden bij jongeren", "public"),
              _profile(bm25, "bert", "schaamte en armoede in de wijk", "public")]
    hidden = _profile(bm25, "hans", "schulden, schulden en schaamte", "hidden")
    alone = catalog("alone")
    alone.write_experts(public)
    expected = _profiles_scores(alone, bm25)
    with_hidden = catalog("with")
    with_hidden.write_experts([*public, hidden])
    assert _profiles_scores(with_hidden, bm25) == pytest.approx(expected, rel=1e-9)
    assert [p["expert_id"] for p in with_hidden.experts()].count("hans") == 1  # kept, for coordinators
    if backend != "edge":
        return
    # a store of schema 1: the hidden profile was written with its BM25 vector
    old = catalog("old")
    old.store.upsert(EXPERTS, [*public, hidden])
    meta = old.store.retrieve(META, [_META_ID])[0].payload
    old.store.upsert(META, [Point(_META_ID, {**meta, "schema": 1})])
    assert _profiles_scores(old, bm25) != pytest.approx(expected, rel=1e-9)  # the leak this guards against
    old.store.close()
    reopened = catalog("old")
    assert _profiles_scores(reopened, bm25) == pytest.approx(expected, rel=1e-9)
    assert reopened.built_with()["schema"] == SCHEMA_VERSION  # every migration since, in one opening


# --- congruence: the same 1,024 passages and 263 queries on both backends ------------------------------------
#
# Every query runs on Qdrant Edge and on qdrant-client (":memory:"); the rankings, scores, payloads, counts,
# scrolls and facets must agree. Queries with one retriever are also checked against an exact oracle (numpy
# cosine; BM25 with Qdrant's IDF), so an error both backends share cannot hide either.
#
# Exactness: local mode is brute force; the Edge shard stays a plain (unindexed) segment at this size (its
# vectors are far below the indexing threshold and ``optimize`` is never called), which
# ``test_edge_searches_exactly`` checks, so neither side approximates and the rankings must match exactly.
#
# Ties: hits whose scores lie within TIE of each other may come in either order; a tie cut by the limit
# may hold different ids (the oracle checks that the ids chosen really have that score). Reciprocal rank
# fusion turns a tie inside one retriever's list into a difference of rank, i.e. of fused score, which is
# the engine's arbitrary choice: the BM25 weights of each passage are scaled by a factor of its own
# (1 + i·1e-4, i a permutation) so that no two passages tie by accident, and the fused queries with RRF
# leave out the twins (exact copies of other passages, which tie on purpose: the other queries see them).

N_PASSAGES = 1000  # + 24 twins
DIM = 384
TIE = 1e-5
REL = 1e-4
BIG = CollectionSpec("big", dense_dim=DIM, sparse=True,
                     indexes={"document_id": "keyword", "state": "keyword", "ateliers": "keyword",
                              "themes": "keyword", "kind": "keyword", "people": "keyword", "date": "datetime",
                              "year": "integer"})  # "page" has no index: it is filtered without one
_STOP = ("de", "het", "een", "en", "in", "van", "met", "voor", "bij", "op", "aan", "door", "te", "is", "zijn",
         "worden", "niet", "ook", "dat", "die", "er", "om", "naar")
# with inflections that stem alike (gezin/gezinnen, wijk/wijken, ...)
_CONTENT = ("jongeren", "schulden", "armoede", "schaamte", "wijk", "bewoners", "vertrouwen", "gezinnen", "school",
            "jongerenwerk", "eenzaamheid", "ouderen", "mantelzorg", "huisvesting", "inkomen", "werk", "participatie",
            "gemeente", "wijkteam", "zorg", "jeugdzorg", "welzijn", "vrijwilligers", "buurthuis", "taal",
            "laaggeletterdheid", "statushouders", "integratie", "gezondheid", "sport", "cultuur", "onderwijs", "stage",
            "arbeidsmarkt", "uitkering", "bijstand", "toeslagen", "energie", "huurachterstand", "incasso",
            "bewindvoering", "preventie", "signalering", "netwerk", "samenwerking", "professionals", "kinderen",
            "ouders", "opvoeding", "scheiding", "veiligheid", "geweld", "verslaving", "dakloosheid", "discriminatie",
            "inclusie", "digitalisering", "regels", "bureaucratie", "kwetsbaarheid", "veerkracht", "kansengelijkheid",
            "tweedeling", "schuldhulpverlening", "gezin", "jongere", "wijken", "bewoner", "scholen", "vrijwilliger",
            "buurt")
_ATELIERS = ("armoede", "kansrijk", "veerkracht", "wonen", "zorg")
_THEMES = ("schulden", "eenzaamheid", "onderwijs", "gezondheid", "werk", "taal")
_KINDS = ("rapport", "notitie", "verslag", "artikel", "presentatie")
_PEOPLE = ("anna-de-vries", "bram-jansen", "chris-bakker", "dewi-visser", "eva-smit", "fatima-el-amrani")
# dates on and just beside the bounds of the date filters below (each inclusive bound takes its whole day)
_BOUNDARY_DATES = ("2020-03-14", "2020-03-15", "2023-06-30", "2023-07-01", "2020-12-31", "2021-01-01", "2021-12-31",
                   "2023-12-31", "2024-01-01", "2022-12-31")
_SAMPLE = tuple(f"p{i:04d}" for i in np.random.default_rng(5).choice(N_PASSAGES, 150, replace=False))
_TWINS = tuple(sorted(int(i) for i in np.random.default_rng(6).choice(N_PASSAGES, 24, replace=False)))
_NO_TWINS = Filter(must_not=(HasId(tuple(f"t{i:04d}" for i in _TWINS)),))

FILTERS: dict[str, Filter | None] = {
    "none": None,
    "visible": Filter(must_not=(MatchAny("state", ("pending",)),)),
    "atelier": Filter.where(ateliers="armoede"),
    "ateliers-any": Filter.where(ateliers=["kansrijk", "veerkracht"]),
    "atelier-and-atelier": Filter(must=(MatchAny("ateliers", ("armoede",)), MatchAny("ateliers", ("wonen",)))),
    "kind+theme": Filter.where(kind=["rapport", "verslag"], themes="schulden"),
    "people": Filter.where(people=["bram-jansen", "eva-smit"]),
    "year>=2022": Filter(must=(Range("year", gte=2022),)),
    "year 2019-2021": Filter(must=(Range("year", gte=2019, lte=2021),)),
    "year<=2020.5": Filter(must=(Range("year", lte=2020.5),)),
    "date in 2021": Filter(must=(Range("date", gte="2021", lte="2021"),)),
    "date 2020-03-15..2023-06-30": Filter(must=(Range("date", gte="2020-03-15", lte="2023-06-30"),)),
    "date>=2024": Filter(must=(Range("date", gte="2024-01-01"),)),
    "no date": Filter(must_not=(Range("date", gte="1900"),)),  # missing or null dates only
    "page 2-5 (no index)": Filter(must=(Range("page", gte=2, lte=5),)),
    "has-id": Filter(must=(HasId(_SAMPLE),)),
    "not has-id": Filter(must_not=(HasId(_SAMPLE),)),
    "atelier+year-not-kind": Filter(must=(MatchAny("ateliers", ("armoede", "zorg")), Range("year", gte=2020)),
                                    must_not=(MatchAny("kind", ("rapport",)),)),
    "not-atelier+date-visible": Filter(must=(Range("date", lte="2022-12-31"),),
                                       must_not=(MatchAny("ateliers", ("kansrijk",)), MatchAny("state", ("pending",)))),
    "has-id+kind-not-year": Filter(must=(HasId(_SAMPLE), MatchAny("kind", ("notitie", "verslag", "artikel"))),
                                   must_not=(Range("year", lte=2019),)),
    "nothing": Filter(must=(Range("year", gte=2100),)),
}


def _corpus(bm25: DutchBm25) -> list[Point]:
    """1,000 passages of 250 documents (4 each, dense vectors near their document's) and 24 twins."""
    rng = np.random.default_rng(2024)
    zipf = 1.0 / np.arange(1, len(_CONTENT) + 1)
    zipf /= zipf.sum()
    scale = 1.0 + 1e-4 * rng.permutation(N_PASSAGES)
    points: list[Point] = []
    for d in range(N_PASSAGES // 4):
        year = int(rng.integers(2016, 2026)) if rng.random() > 0.1 else None
        meta = {"document_id": f"d{d:03d}", "kind": str(rng.choice(_KINDS)),
                "ateliers": sorted({str(a) for a in rng.choice(_ATELIERS, size=rng.integers(0, 4))}),
                "themes": sorted({str(t) for t in rng.choice(_THEMES, size=rng.integers(1, 3))}),
                "people": sorted({str(p) for p in rng.choice(_PEOPLE, size=rng.integers(0, 3))}),
                "date": f"{year}-{rng.integers(1, 13):02d}-{rng.integers(1, 29):02d}" if year else None,
                "year": year, "state": "pending" if rng.random() < 0.05 else "committed"}
        if d % 25 == 0:
            meta["date"] = _BOUNDARY_DATES[d // 25]
            meta["year"] = int(meta["date"][:4])
        elif rng.random() < 0.05:
            del meta["date"]  # absent, not null
        topic = rng.choice(len(_CONTENT), size=6, replace=False)
        centre = rng.normal(size=DIM)
        for c in range(4):
            i = len(points)
            words = []
            for _ in range(int(rng.integers(8, 60))):
                r = rng.random()
                words.append(_STOP[rng.integers(len(_STOP))] if r < 0.35 else _CONTENT[topic[rng.integers(6)]]
                             if r < 0.7 else _CONTENT[rng.choice(len(_CONTENT), p=zipf)])
            text = " ".join(words).capitalize() + "."
            sv = bm25.embed_document(text)  # never empty here: see test_empty_bm25_vectors_count_alike
            v = centre + 1.5 * rng.normal(size=DIM)
            points.append(Point(f"p{i:04d}", {**meta, "chunk_index": c, "page": int(rng.integers(1, 9)), "text": text},
                                dense={DENSE: (v / np.linalg.norm(v)).tolist()},
                                sparse={SPARSE: SparseVector(sv.indices, tuple(x * scale[i] for x in sv.values))}))
    for i in _TWINS:  # the same passage in another document
        p = points[i]
        points.append(Point(f"t{i:04d}", {**p.payload, "document_id": f"d{(i // 4 + 7) % (N_PASSAGES // 4):03d}"},
                            dense=p.dense, sparse=p.sparse))
    return points


def _holds(point_id: str, payload: dict, cond: MatchAny | Range | HasId) -> bool:
    if isinstance(cond, HasId):
        return point_id in cond.ids
    value = payload.get(cond.key)
    values = [v for v in (value if isinstance(value, list) else [value]) if v is not None]
    if isinstance(cond, MatchAny):
        return any(v in cond.values for v in values)
    if isinstance(cond.gte, str) or isinstance(cond.lte, str):  # stored dates are yyyy-mm-dd, compared as text
        gte = cond.gte and (cond.gte + "-01-01" if len(cond.gte) == 4 else cond.gte)  # a year: its first day
        lte = cond.lte and (cond.lte + "-12-31" if len(cond.lte) == 4 else cond.lte)  # ... its last (inclusive)
        return any((gte is None or gte <= v) and (lte is None or v <= lte) for v in values)
    return any((cond.gte is None or cond.gte <= v) and (cond.lte is None or v <= cond.lte) for v in values)


class _Oracle:
    """Exact answers, computed here: which points a filter admits, and their cosine or BM25 scores."""

    def __init__(self, points: list[Point]) -> None:
        self.points = points
        self.dense = np.array([p.dense[DENSE] for p in points], dtype=np.float64)
        self.sparse = [dict(zip(p.sparse[SPARSE].indices, p.sparse[SPARSE].values, strict=True)) for p in points]
        self.df = Counter(t for s in self.sparse for t in s)

    def admits(self, flt: Filter | None) -> np.ndarray:
        return np.array([flt is None or (all(_holds(p.id, p.payload, c) for c in flt.must)
                                         and not any(_holds(p.id, p.payload, c) for c in flt.must_not))
                         for p in self.points])

    def top(self, query: Query) -> list[tuple[str, float]]:
        admitted = self.admits(query.filter)
        if query.dense is not None:
            q = np.asarray(query.dense, dtype=np.float64)
            scores = self.dense @ (q / np.linalg.norm(q))
        else:
            n = sum(1 for s in self.sparse if s)  # the engine's N: points with a non-empty BM25 vector
            idf = {t: math.log((n - self.df[t] + 0.5) / (self.df[t] + 0.5) + 1) for t in query.sparse.indices}
            weights = dict(zip(query.sparse.indices, query.sparse.values, strict=True))
            scores = np.array([sum(w * idf[t] * s[t] for t, w in weights.items() if t in s) for s in self.sparse])
            admitted &= np.array([bool(set(weights) & set(s)) for s in self.sparse])  # no shared term, no hit
        order = sorted(np.flatnonzero(admitted), key=lambda i: -scores[i])
        return [(self.points[i].id, float(scores[i])) for i in order[:query.limit]]

    def score_of(self, query: Query, point_id: str) -> float:
        return dict(self.top(dataclasses.replace(query, limit=len(self.points), filter=None)))[point_id]


def _assert_same_ranking(label: str, got: list[tuple[str, float]], want: list[tuple[str, float]], *,
                         limit: int, alike: Callable[[str, float], bool] | None = None) -> None:
    """Equal scores position by position; equal ids, where ids whose scores tie (within TIE) may swap.

    A tie still going on at the limit may have been cut anywhere: there the ids may differ, provided
    ``alike(id, score)`` (when given) confirms that the other side's ids have that score too.
    """
    assert len(got) == len(want), f"{label}: {len(got)} hits, expected {len(want)}"
    for pos, ((gid, gs), (wid, ws)) in enumerate(zip(got, want, strict=True)):
        assert math.isclose(gs, ws, rel_tol=REL, abs_tol=1e-6), f"{label}: score at {pos}: {gid} {gs} vs {wid} {ws}"
    start = 0
    while start < len(want):
        end = start + 1
        while end < len(want) and abs(want[end][1] - want[end - 1][1]) <= TIE:
            end += 1
        got_ids, want_ids = {i for i, _ in got[start:end]}, {i for i, _ in want[start:end]}
        if got_ids != want_ids:
            cut = end == len(want) == limit
            assert cut, f"{label}: positions {start}-{end - 1} hold {sorted(got_ids)}, expected {sorted(want_ids)}"
            if alike is not None:
                for i in got_ids - want_ids:
                    assert alike(i, want[start][1]), f"{label}: {i} at the cut does not score {want[start][1]}"
        start = end


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """The same corpus in both backends, with the oracle and the map from engine ids back to ours."""
    bm25 = DutchBm25()
    points = _corpus(bm25)
    with pytest.MonkeyPatch.context() as mp:
        # local mode parses every stored date again on every datetime filter (yyyy-mm-dd after 14 other
        # formats: ~1 ms a point); the parse is pure, so remembering it only saves time (minutes -> seconds)
        with contextlib.suppress(ImportError, AttributeError):  # without it, only slower
            from qdrant_client.local import datetime_utils
            mp.setattr(datetime_utils, "parse", functools.lru_cache(maxsize=None)(datetime_utils.parse))
        yield from _both(tmp_path_factory, bm25, points)


def _both(tmp_path_factory, bm25: DutchBm25, points: list[Point]):
    edge, server = EdgeStore(tmp_path_factory.mktemp("congruence") / "edge"), ServerStore(QdrantClient(":memory:"))
    for s in (edge, server):
        s.ensure(BIG)
        s.upsert("big", points)
    ours = {point_uuid(p.id): p.id for p in points}
    yield SimpleNamespace(edge=edge, server=server, oracle=_Oracle(points), bm25=bm25, ours=ours, points=points,
                          vectors={p.id: p.dense[DENSE] for p in points})
    edge.close()
    server.close()


def _run(both, label: str, query: Query) -> list[Hit]:
    """Run ``query`` on both backends, assert they agree (and with the oracle for one retriever)."""
    a, b = both.edge.query("big", query), both.server.query("big", query)
    pairs = ([(both.ours[h.id], h.score) for h in a], [(both.ours[h.id], h.score) for h in b])
    single = query.dense is None or query.sparse is None
    alike = (lambda i, s: abs(both.oracle.score_of(query, i) - s) <= TIE * 10) if single else None
    _assert_same_ranking(f"{label} (edge vs server)", pairs[0], pairs[1], limit=query.limit, alike=alike)
    if single:
        want = both.oracle.top(query)
        for side, got in zip(("edge", "server"), pairs, strict=True):
            _assert_same_ranking(f"{label} ({side} vs exact)", got, want, limit=query.limit, alike=alike)
    payloads = {h.id: h for h in b}
    for h in a:
        if h.id in payloads:
            assert h.payload == payloads[h.id].payload, f"{label}: payload of {both.ours[h.id]}"
            if query.with_vectors:
                assert np.allclose(h.dense, payloads[h.id].dense, atol=1e-6), f"{label}: vector"
                assert np.allclose(h.dense, both.vectors[both.ours[h.id]], atol=1e-6), f"{label}: vector"
            else:
                assert h.dense is None and payloads[h.id].dense is None
            if query.fields is not None:
                assert set(h.payload) <= set(query.fields)
    return a


def test_edge_searches_exactly(both):
    """The premise of exact comparison: Edge has built no HNSW graph, so it searches by brute force too."""
    info = both.edge._shards["big"].info()
    assert info.points_count == len(both.points) == N_PASSAGES + 24
    # only the BM25 vectors are indexed (a sparse index is always exact); an HNSW graph would add the dense ones
    assert info.indexed_vectors_count == sum(1 for p in both.points if p.sparse[SPARSE].indices)


@pytest.mark.parametrize("name", FILTERS)
def test_backends_rank_alike(both, name):
    """Dense, BM25 (real Dutch BM25, plain and weighted) and fused (RRF with k and weights, DBSF) queries,
    limits below, at and above the prefetch, payload selections and vectors: 12 queries per filter."""
    flt, bm25 = FILTERS[name], both.bm25
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    rrf = _NO_TWINS.and_(flt)

    def dense() -> list[float]:  # near a passage (cosine ~0.8) or anywhere
        v = both.oracle.dense[rng.integers(len(both.points))] + 0.04 * rng.normal(size=DIM) \
            if rng.random() < 0.6 else rng.normal(size=DIM)
        return (v / np.linalg.norm(v)).tolist()

    def words(k: int) -> str:
        return " ".join(rng.choice(_CONTENT, size=k))

    weighted = bm25.embed_query(words(4))
    weighted = SparseVector(weighted.indices, tuple(float(w) for w in rng.uniform(0.2, 2.0, len(weighted.indices))))
    cases = {
        "dense@10": Query(dense=dense(), limit=10, filter=flt),
        "dense@60 fields": Query(dense=dense(), limit=60, filter=flt, fields=("document_id", "year", "ateliers")),
        "dense@1": Query(dense=dense(), limit=1, filter=flt),
        "bm25@10": Query(sparse=bm25.embed_query(words(2)), limit=10, filter=flt),
        "bm25@50 weighted": Query(sparse=weighted, limit=50, filter=flt),
        "bm25@5 inflected": Query(sparse=bm25.embed_query(f"de {words(1)} van het gezin en jongere"), limit=5,
                                  filter=flt),
        "rrf@10": Query(dense=dense(), sparse=bm25.embed_query(words(3)), limit=10, filter=rrf),
        "rrf k=10 w=2:0.5 @20/40": Query(dense=dense(), sparse=bm25.embed_query(words(2)), limit=20,
                                         prefetch_limit=40, rrf_k=10, weights=(2.0, 0.5), filter=rrf),
        "rrf w=0.3:1 @60/25": Query(dense=dense(), sparse=bm25.embed_query(words(3)), limit=60, prefetch_limit=25,
                                    weights=(0.3, 1.0), filter=rrf, fields=("document_id",)),
        "dbsf@10": Query(dense=dense(), sparse=bm25.embed_query(words(3)), limit=10, fusion="dbsf", filter=flt),
        "dbsf@30/30 vectors": Query(dense=dense(), sparse=bm25.embed_query(words(2)), limit=30, prefetch_limit=30,
                                    fusion="dbsf", filter=flt, with_vectors=True),
        "dbsf@100/60": Query(dense=dense(), sparse=weighted, limit=100, prefetch_limit=60, fusion="dbsf", filter=flt),
    }
    found = [_run(both, f"{name}/{label}", q) for label, q in cases.items()]
    assert all(found) if name != "nothing" else not any(found)


@pytest.mark.parametrize("name", FILTERS)
def test_backends_count_scroll_and_facet_alike(both, name):
    """Counts, scrolls (whole payloads and chosen fields) and facets: the grouping the store offers
    (the protocol has no group query; matching groups hits per document itself)."""
    flt = FILTERS[name]
    admitted = [p for p, ok in zip(both.points, both.oracle.admits(flt), strict=True) if ok]
    assert both.edge.count("big", filter=flt) == both.server.count("big", filter=flt) == len(admitted)
    full = [{both.ours[h.id]: h.payload for h in s.scroll("big", filter=flt)} for s in (both.edge, both.server)]
    assert full[0] == full[1] == {p.id: p.payload for p in admitted}
    light = [{both.ours[h.id]: h.payload for h in s.scroll("big", filter=flt, fields=["document_id", "year"])}
             for s in (both.edge, both.server)]
    assert light[0] == light[1] == {p.id: {k: p.payload[k] for k in ("document_id", "year") if k in p.payload}
                                    for p in admitted}
    for key, limit in (("ateliers", 10), ("kind", 3), ("year", 20), ("people", 10), ("document_id", 8)):
        want = Counter(v for p in admitted for v in {*(p.payload.get(key) if isinstance(p.payload.get(key), list)
                                                       else [p.payload.get(key)])} - {None})
        for side in (both.edge, both.server):
            got = side.facet("big", key, filter=flt, limit=limit)
            label = f"{name}/facet {key} ({type(side).__name__})"
            assert [c for _, c in got] == sorted(want.values(), reverse=True)[:limit], label
            assert all(want[v] == c for v, c in got), label


def test_backends_agree_on_edge_cases(both):
    """A term in no passage (BM25 finds nothing, fusion runs on dense alone), prefetch 1, limits past the
    corpus, a few ids."""
    bm25, rng = both.bm25, np.random.default_rng(11)
    v = rng.normal(size=DIM).tolist()
    unknown, many = bm25.embed_query("fietsenmaker"), bm25.embed_query(" ".join(_CONTENT[:30]))
    few = Filter(must=(HasId(("p0003", "p0500", "t9999", "p1199")),))  # the last two do not exist
    cases = {
        "bm25 unknown": Query(sparse=unknown, limit=10),
        "rrf unknown": Query(dense=v, sparse=unknown, limit=10, filter=_NO_TWINS),
        "dbsf unknown": Query(dense=v, sparse=unknown, limit=10, fusion="dbsf"),
        "rrf prefetch 1": Query(dense=v, sparse=many, limit=10, prefetch_limit=1, filter=_NO_TWINS),
        "dbsf prefetch 1": Query(dense=v, sparse=many, limit=10, prefetch_limit=1, fusion="dbsf"),
        "dense everything": Query(dense=v, limit=2000, fields=()),
        "bm25 300": Query(sparse=many, limit=300, fields=("year",)),
        "rrf 500/400": Query(dense=v, sparse=many, limit=500, prefetch_limit=400, filter=_NO_TWINS, fields=()),
        "dbsf 2000/2000": Query(dense=v, sparse=many, limit=2000, prefetch_limit=2000, fusion="dbsf", fields=()),
        "dense few ids": Query(dense=v, limit=10, filter=few),
        "dbsf few ids": Query(dense=v, sparse=many, limit=10, fusion="dbsf", filter=few),
    }
    for label, q in cases.items():
        _run(both, label, q)
    assert not both.edge.query("big", cases["bm25 unknown"])
    assert len(both.edge.query("big", cases["dense everything"])) == len(both.points)


def test_empty_bm25_vectors_count_alike(tmp_path):
    """A passage of stopwords only ("En dat is het.") has an empty BM25 vector. The Qdrant engine leaves it
    out of N in idf = ln(1 + (N - n + 0.5) / (n + 0.5)); local mode (the test stand-in for a server) would
    count it, so both backends leave empty vectors out when they write."""
    bm25 = DutchBm25()
    texts = [*TEXTS, "En dat is het.", "Het is er niet.", "Dat zijn ze."]
    points = [Point(f"e{i}", {"text": t}, sparse={SPARSE: bm25.embed_document(t)}) for i, t in enumerate(texts)]
    assert sum(1 for p in points if not p.sparse[SPARSE].indices) == 3
    spec = CollectionSpec("idf", sparse=True)
    edge, server = EdgeStore(tmp_path / "e"), ServerStore(QdrantClient(":memory:"))
    try:
        scores = []
        for s in (edge, server):
            s.ensure(spec)
            s.upsert("idf", points)
            scores.append({h.id: h.score for h in s.query("idf", Query(sparse=bm25.embed_query("armoede wijk")))})
        assert scores[0] and scores[0] == pytest.approx(scores[1], rel=REL)
    finally:
        edge.close()
        server.close()


def test_the_comparison_sees_a_difference():
    """The congruence tests can fail: swaps, drifting scores, missing hits and foreign ids are caught."""
    want = [("a", 0.9), ("b", 0.8), ("c", 0.8), ("d", 0.7)]
    _assert_same_ranking("tie swapped", [("a", 0.9), ("c", 0.8), ("b", 0.8), ("d", 0.7)], want, limit=4)
    _assert_same_ranking("tie cut", [("a", 0.9), ("c", 0.8)], want[:2], limit=2, alike=lambda i, s: True)
    wrong = {"swap": [("b", 0.8), ("a", 0.9), ("c", 0.8), ("d", 0.7)],
             "drift": [("a", 0.9), ("b", 0.8), ("c", 0.8), ("d", 0.7002)],
             "missing": want[:3],
             "foreign id": [("a", 0.9), ("b", 0.8), ("x", 0.8), ("d", 0.7)],
             "order": [("a", 0.9), ("d", 0.7), ("b", 0.8), ("c", 0.8)]}
    for label, got in wrong.items():
        with pytest.raises(AssertionError):
            _assert_same_ranking(label, got, want, limit=4)
    with pytest.raises(AssertionError):  # a tie cut by the limit, but the other id has another score
        _assert_same_ranking("cut", [("a", 0.9), ("c", 0.8)], want[:2], limit=2, alike=lambda i, s: False)
