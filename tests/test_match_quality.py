"""Issue 11, the methods kept for match quality, each tried against the real model, engine and pipeline:

- a file name that reads as an id is no title: the document is titled by its first words, and no made-up
  title enters the embedded context (nor comes back after a removal re-embeds the passage);
- the two retrievers are fused here with weights, and with equal weights our fusion is the engine's own;
- the title is a signal of its own for findings: its vector is stored with the document, its cosine added;
  a removed name leaves the title, its vector and the embedding cache.
"""

from __future__ import annotations

import numpy as np
import pytest

from core.models import Chunk
from matching.fusion import normalise
from matching.retrieve import Retriever

pytestmark = pytest.mark.slow

TEXT = ("voor particulieren geldt geen wettelijke bewaarplicht. maar voor naheffingen door de belastingdienst is "
        "het slim om uw administratie 5 jaar te bewaren.")


def _passage(km, document_id):
    [hit] = [h for h in km.catalog().scan_passages() if h.payload["document_id"] == document_id]
    [full] = km.catalog().store.retrieve("chunks", [hit.id], with_vectors=True)
    return full


def test_an_id_like_file_name_is_no_title_and_no_context(km_factory, tmp_path, e5):
    root = tmp_path / "docs"
    root.mkdir()
    (root / "train000-0.md").write_text(TEXT + "\n", "utf-8")
    (root / "verslag-moestuin-bekkerveld.md").write_text("Wij spraken met tien bewoners over de tuin.\n", "utf-8")
    km = km_factory()
    report = km.ingestor().run([root])
    assert report.ok, report.summary()
    ids = {o.path: o.document_id for o in report.outcomes}
    made = _passage(km, ids["train000-0.md"])
    assert made.payload["title"] == "Voor particulieren geldt geen wettelijke bewaarplicht"
    assert made.payload["title_from_text"] is True
    # the vector is that of the text alone: no "Train000 0", and not the opening twice
    assert np.allclose(made.dense, e5.embed_documents([made.payload["text"]])[0], atol=1e-5)
    named = _passage(km, ids["verslag-moestuin-bekkerveld.md"])
    assert named.payload["title"] == "Verslag moestuin bekkerveld" and not named.payload["title_from_text"]
    assert np.allclose(named.dense, e5.embed_documents([Chunk.from_payload(named.payload).context_text()])[0],
                       atol=1e-5)
    assert Chunk.from_payload(named.payload).context_text().startswith("Verslag moestuin bekkerveld\n")
    page = km.broker().search("hoe lang moet ik mijn administratie bewaren", limit=2)
    assert page.results[0].title == "Voor particulieren geldt geen wettelijke bewaarplicht"


def test_a_title_that_says_nothing_is_shown_but_is_no_context_and_no_signal(km_factory, tmp_path, e5):
    """Issue 21: a report's "Inleiding", a "Verslag leeratelier" or a file id given as title is no context of
    the passages and has no title vector — glued to every such document it made them all alike — while an
    id given as title gives way to the text's first words."""
    root = tmp_path / "docs"
    root.mkdir()
    for name, title in (("a", "Inleiding"), ("b", "Verslag leeratelier 12 maart 2025"), ("c", "train000-0"),
                        ("d", "Bewaarplicht voor particulieren")):
        (root / f"{name}.md").write_text(f"---\ntitle: {title}\nkind: verslag\n---\n{TEXT}\n", "utf-8")
    km = km_factory()
    report = km.ingestor().run([root])
    assert report.ok, report.summary()
    ids = {o.path: o.document_id for o in report.outcomes}
    catalog = km.catalog()
    for name, shown in (("a", "Inleiding"), ("b", "Verslag leeratelier 12 maart 2025"),
                        ("c", "Voor particulieren geldt geen wettelijke bewaarplicht")):
        passage = _passage(km, ids[f"{name}.md"])
        assert passage.payload["title"] == shown
        assert Chunk.from_payload(passage.payload).context_text() == passage.payload["text"]
        assert np.allclose(passage.dense, e5.embed_documents([passage.payload["text"]])[0], atol=1e-5)
        assert not catalog.document(ids[f"{name}.md"]).get("title_vector")
    titled = _passage(km, ids["d.md"])
    assert Chunk.from_payload(titled.payload).context_text().startswith("Bewaarplicht voor particulieren\n")
    assert catalog.document(ids["d.md"]).get("title_vector")


def test_a_removal_re_embeds_a_passage_with_the_same_context_rule(km_factory, tmp_path, e5):
    root = tmp_path / "docs"
    root.mkdir()
    (root / "scan-0012.md").write_text("Jan Modaal vertelde over zijn schulden en de hulp die hij kreeg.\n", "utf-8")
    km = km_factory()
    report = km.ingestor().run([root])
    doc_id = report.outcomes[0].document_id
    km.ingestor().remover().scrub({"jan modaal"}.__contains__, documents=[doc_id])
    after = _passage(km, doc_id)
    assert "Jan Modaal" not in after.payload["text"] and after.payload["title_from_text"]
    assert after.payload["title"] == "[naam verwijderd] vertelde over zijn schulden en de hulp die hij kreeg"
    assert np.allclose(after.dense, e5.embed_documents([after.payload["text"]])[0], atol=1e-5)


def test_equal_weights_give_the_engines_own_fusion(samples_km):
    """Our DBSF in Python is the engine's DBSF when both lists have the same say: the same passages in the
    same order (so the weights and the title are the only things we changed)."""
    broker = samples_km.broker()
    equal = Retriever(broker.catalog, broker.retriever.embedder, broker.bm25, weights=(1.0, 1.0), title=0.0)
    for text in ("Waarom laten ouders regelingen voor hun kinderen liggen?", "vertrouwen in de wijk herstellen",
                 "schulden jongeren"):
        question = equal.encode(text)
        ours = [p.id for p in equal.passages(question, limit=20)]
        engine = [p.id for p in equal.passages(question, limit=20, mode="plain")]
        assert ours[:10] == engine[:10], text


def test_the_title_is_a_signal_of_its_own_for_findings_not_for_people(km_factory, tmp_path, e5):
    """A document's own title is embedded once more, on its own, and its cosine to the question is added to its
    passages' (half their say) when findings are ranked; a title made from the text has no vector."""
    root = tmp_path / "docs"
    root.mkdir()
    (root / "a.md").write_text("---\ntitle: Schulden bij jongeren in Heerlen\nauthors: [Anna de Vries]\n---\n"
                               "We spraken met twaalf jongvolwassenen over hun rekeningen.\n", "utf-8")
    (root / "train001-0.md").write_text("Een belastingverdrag is een overeenkomst tussen twee landen.\n", "utf-8")
    km = km_factory()
    report = km.ingestor().run([root])
    ids = {o.path: o.document_id for o in report.outcomes}
    catalog = km.catalog()
    from core.vector_codec import unpack
    record = catalog.document(ids["a.md"])
    assert np.dot(unpack(record["title_vector"]), e5.embed_documents(["Schulden bij jongeren in Heerlen"])[0]) > 0.999
    assert catalog.document(ids["train001-0.md"])["title_vector"] is None
    retriever = km.broker().retriever
    question = retriever.encode("jongeren met schulden")
    found = retriever.find(question, limit=10)
    title_cos = {ids["a.md"]: float(np.dot(unpack(record["title_vector"]), question.dense))}
    # meaning alone (BM25 without a say): DBSF of one list, each cosine plus half its title's (or its own)
    meaning = [(h.id, h.score + 0.5 * title_cos.get(h.payload["document_id"], h.score)) for h in found.by_dense]
    expected = dict(zip([i for i, _ in meaning], normalise([s for _, s in meaning]), strict=True))
    fused = retriever.fuse(found, (1.0, 0.0), 10, title=0.5)
    assert {p.id: round(p.score, 6) for p in fused if p.id in expected} == \
        {i: round(s, 6) for i, s in expected.items()}
    assert title_cos[ids["a.md"]] != next(h.score for h in found.by_dense if h.payload["document_id"] == ids["a.md"])
    people, _ = km.broker().experts("jongeren met schulden")  # people: no title signal (and no error)
    assert isinstance(people, list)


def test_a_removed_name_leaves_the_title_vector_and_the_cache(km_factory, tmp_path, e5):
    root = tmp_path / "docs"
    root.mkdir()
    (root / "a.md").write_text("---\ntitle: Gesprek met Jan Modaal over schulden\n---\nHet ging over rekeningen.\n",
                               "utf-8")
    km = km_factory()
    doc_id = km.ingestor().run([root]).outcomes[0].document_id
    km.ingestor().remover().scrub({"jan modaal"}.__contains__, documents=[doc_id])
    from core.vector_codec import unpack
    record = km.catalog().document(doc_id)
    assert record["title"] == "Gesprek met [naam verwijderd] over schulden"
    assert np.dot(unpack(record["title_vector"]),
                  e5.embed_documents(["Gesprek met [naam verwijderd] over schulden"])[0]) > 0.999
    cache = km.embedder
    before = cache.misses
    cache.embed_documents(["Gesprek met Jan Modaal over schulden"])
    assert cache.misses == before + 1  # the old title was not in the cache any more


def test_an_edited_file_leaves_no_old_text_in_the_cache(km_factory, tmp_path):
    """An edit that takes a name out of a file takes the old passage and old title out of the embedding cache
    too: a later removal of that person could no longer find them there. What did not change stays cached."""
    root = tmp_path / "docs"
    root.mkdir()
    kept = "Een tweede alinea die niet verandert, over huur en toeslagen en wat wijkteams daarmee doen."
    (root / "a.md").write_text(f"---\ntitle: Gesprek met Jan Modaal\n---\nJan Modaal vertelde over rekeningen.\n\n"
                               f"{kept}\n", "utf-8")
    km = km_factory()
    km.ingestor().run([root])
    old = km.ingestor()._texts_of(km.catalog().document("a.md"))
    (root / "a.md").write_text(f"---\ntitle: Gesprek over schulden\n---\nIemand vertelde over rekeningen.\n\n"
                               f"{kept}\n", "utf-8")
    assert km.ingestor().run([root]).outcomes[0].status == "updated"
    new = km.ingestor()._texts_of(km.catalog().document("a.md"))
    gone = sorted(old - new)
    assert "Gesprek met Jan Modaal" in gone and any("Jan Modaal vertelde" in t for t in gone)
    cache = km.embedder
    for text in gone:  # each is embedded afresh: the cache had forgotten it
        before = cache.misses
        cache.embed_documents([text])
        assert cache.misses == before + 1, text
    before = cache.misses
    cache.embed_documents(sorted(new))
    assert cache.misses == before  # the new version is cached


def test_a_deleted_document_leaves_nothing_in_the_cache(km_factory, tmp_path):
    root = tmp_path / "docs"
    root.mkdir()
    (root / "a.md").write_text("---\ntitle: Gesprek met Jan Modaal\n---\nJan Modaal vertelde over rekeningen.\n",
                               "utf-8")
    km = km_factory()
    km.ingestor().run([root])
    texts = sorted(km.ingestor()._texts_of(km.catalog().document("a.md")))
    assert km.ingestor().remove_document("a.md")
    before = km.embedder.misses
    km.embedder.embed_documents(texts)
    assert km.embedder.misses == before + len(texts)  # every text embedded afresh: none was still cached


def test_a_question_weighs_the_words_it_repeats_and_the_plain_baseline_does_not(km_factory):
    retriever = km_factory().broker().retriever
    question = retriever.encode("schulden, schulden, schulden en nog eens schulden bij jongeren")
    weights = dict(zip(question.sparse.indices, question.sparse.values, strict=True))
    assert sorted(round(w, 2) for w in weights.values()) == [1.0, 3.0]  # jongeren once; schulden 4×: 9·4 / 12
    assert sorted(question.sparse_for("plain").values) == [1.0, 1.0]
    assert question.sparse_for("hybrid") is question.sparse and question.sparse_for("dense") is None


def test_the_first_questions_at_once_all_get_their_terms(monkeypatch):
    """The BM25 models are built on first use; questions arriving together while they are built all wait
    for them (a slow build widens the window in which a half-built state would show)."""
    import threading
    import time as clock

    import qdrant_edge

    from core.bm25 import DutchBm25

    real = qdrant_edge.Bm25

    def slow(*args, **kwargs):
        clock.sleep(0.2)
        return real(*args, **kwargs)

    monkeypatch.setattr(qdrant_edge, "Bm25", slow)
    bm25 = DutchBm25()
    results, errors = [], []

    def ask() -> None:
        try:
            results.append(bm25.embed_query("schulden schulden jongeren"))
        except Exception as exc:  # the failure this test is about
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:  # arriving one after another, while the first is still building
        t.start()
        clock.sleep(0.06)
    for t in threads:
        t.join()
    assert not errors and len(results) == 8 and len({r.values for r in results}) == 1


def test_pages_continue_each_other(samples_km):
    """Every page ranks the same passages: pages one to four of a broad question repeat no document, and
    the total does not change from page to page."""
    broker = samples_km.broker()
    pages = [broker.search("jongeren", limit=10, offset=offset) for offset in (0, 10, 20, 30)]
    ids = [r.document_id for page in pages for r in page.results]
    assert len(ids) == len(set(ids)) and len(ids) >= 30
    assert len({page.total for page in pages}) == 1
    whole = [r.document_id for r in broker.search("jongeren", limit=40).results]
    assert whole == ids[:len(whole)]


def test_a_name_cut_off_in_a_made_title_is_removed_too(km_factory, tmp_path):
    """A title made from the first words is cut at a word, and may end in half a name ("… vertelde Jan…"),
    which no search for whole names finds: it is made again from the redacted text, at ingest and at removal."""
    text = ("In de wijk Heerlen-Noord en in de buurt daaromheen, zo vertelde ons later Jan Modaal, waren de "
            "schulden groot.")
    root = tmp_path / "docs"
    root.mkdir()
    (root / "train009-0.md").write_text(text + "\n", "utf-8")
    km = km_factory()
    doc_id = km.ingestor().run([root]).outcomes[0].document_id
    assert km.catalog().document(doc_id)["title"].endswith("later Jan…")  # the cut the test is about
    km.catalog().forget(["jan modaal"])  # as a removal on request does first: the markers
    remover = km.ingestor().remover()
    remover.scrub(remover.marked_by_markers())
    titles = [km.catalog().document(doc_id)["title"],
              *(h.payload["title"] for h in km.catalog().scan_passages() if h.payload["document_id"] == doc_id)]
    assert all("Jan" not in t and t.startswith("In de wijk Heerlen-Noord") for t in titles), titles
    # and a new version of the file, read after the removal, is titled without him from the start
    (root / "train009-0.md").write_text(text + " Nu gaat het beter.\n", "utf-8")
    km.ingestor().run([root])
    assert "Jan" not in km.catalog().document(doc_id)["title"]

