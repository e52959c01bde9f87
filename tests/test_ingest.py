"""The pipeline end to end with the real model and the embedded engine: idempotent, linked, prunable.

Each test ingests the small corpus (some 5-10 s): the first run stays in the fast subset, the rest are ``slow``."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from core.errors import ModelMismatchError
from core.names import name_key
from core.store.catalog import CHUNKS
from tests import docmaker

EXPERTS = """experts:
  - id: sanne-vossen
    name: Sànne Vossen
    role: onderzoeker
    organization: Zuyd Hogeschool
    ateliers: [armoede]
    expertise: Schulden en schaamte bij jonge gezinnen.
    consent: true
  - name: Mohamed El Amrani
    role: jongerenwerker
    ateliers: Kansrijk met jeugd
    expertise: Jongerenwerk in Heerlen-Noord.
    consent: false
"""


def corpus(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "experts.yaml").write_text(EXPERTS, "utf-8")
    docmaker.make_md(root / "verslag.md", front="id: verslag-1\ntitle: Verslag geldzorgen\nkind: verslag\n"
                     "ateliers: [armoede]\nthemes: [impact]\ndate: 2024-05-13\n"
                     "authors: [sanne-vossen]\nparticipants: [mohamed el amrani, Gast Van Buiten]\n")
    docmaker.make_docx(root / "notitie.docx")
    (root / "notitie.docx.yaml").write_text("title: Notitie jongerenwerk\nkind: notitie\nauthors: [Sanne Vossen]\n",
                                            "utf-8")
    docmaker.make_html(root / "pagina.html")
    return root


@pytest.fixture
def km(km_factory):
    return km_factory()


def test_first_run_takes_everything_in(km, tmp_path):
    report = km.ingestor().run([corpus(tmp_path / "c")])
    assert report.ok
    assert report.summary()["added"] == 4  # 3 documents + the profile file
    catalog = km.catalog()
    assert catalog.counts()["documents"] == 3 and catalog.counts()["experts"] == 2
    doc = catalog.document("verslag-1")
    assert doc["title"] == "Verslag geldzorgen" and doc["ateliers"] == ["tweedeling-en-armoede"]
    assert doc["date"] == "2024-05-13" and doc["year"] == 2024 and not doc["ateliers_inferred"]
    assert catalog.document("pagina.html")["title"] == "Geldzorgen bij jongeren"
    assert catalog.document("notitie.docx")["title"] == "Notitie jongerenwerk"


@pytest.mark.slow
def test_people_are_linked_by_id_or_name_whatever_the_accents(km, tmp_path):
    km.ingestor().run([corpus(tmp_path / "c")])
    catalog = km.catalog()
    sanne = catalog.expert("sanne-vossen")
    mohamed = catalog.expert("mohamed-el-amrani")
    verslag, notitie = catalog.document("verslag-1"), catalog.document("notitie.docx")
    assert set(sanne["keys"]) & set(verslag["people"]) and set(sanne["keys"]) & set(notitie["people"])
    assert set(mohamed["keys"]) & set(verslag["people"])
    assert "gast van buiten" in verslag["people"]  # an outside guest is kept as a name
    assert mohamed["visibility"] == "hidden" and sanne["visibility"] == "public"


@pytest.mark.slow
def test_missing_labels_are_inferred_and_marked(km, tmp_path):
    km.ingestor().run([corpus(tmp_path / "c")])
    doc = km.catalog().document("pagina.html")
    assert doc["ateliers_inferred"] and doc["themes_inferred"]
    assert doc["ateliers"] and doc["ateliers"][0] in {"tweedeling-en-armoede", "kansrijk-met-jeugd"}


@pytest.mark.slow
def test_rerun_on_unchanged_files_embeds_nothing(km, tmp_path):
    root = corpus(tmp_path / "c")
    km.ingestor().run([root])
    started = time.perf_counter()
    again = km.ingestor().run([root])
    assert time.perf_counter() - started < 5
    assert again.chunks_embedded == 0
    assert again.summary()["unchanged"] == 4 and again.summary()["added"] == 0


class _Timed:
    """Passes calls through to the real parser or embedder and notes when each began and ended; ``slower``
    makes each call last a little longer, as a larger file would."""

    def __init__(self, inner, method: str, log: list, slower: float = 0.0) -> None:
        self.inner, self.method, self.log, self.slower = inner, method, log, slower

    def __getattr__(self, name):
        found = getattr(self.inner, name)
        if name != self.method:
            return found

        def timed(arg):
            began = time.perf_counter()
            try:
                result = found(arg)
                time.sleep(self.slower)
                return result
            finally:
                self.log.append((name, getattr(arg, "relpath", None), began, time.perf_counter()))
        return timed


def test_the_next_file_is_read_while_this_one_is_embedded(km, tmp_path):
    root = corpus(tmp_path / "c")
    log: list = []
    ingestor = km.ingestor()
    ingestor.parser = _Timed(ingestor.parser, "parse", log, slower=0.5)
    ingestor.embedder = _Timed(ingestor.embedder, "embed_documents", log)
    report = ingestor.run([root])
    assert report.ok and report.summary()["added"] == 4
    parses = sorted((began, end, path) for name, path, began, end in log if name == "parse")
    embeds = [(began, end) for name, _, began, end in log if name == "embed_documents"]
    assert [p for _, _, p in parses] == ["notitie.docx", "pagina.html", "verslag.md"]  # in order, each once
    for began, end, path in parses[1:]:  # read one after another, the model busy with the file before
        assert any(began < e_end and e_start < end for e_start, e_end in embeds), f"{path}: read, nothing embedded"
    log.clear()
    again = ingestor.run([root])
    assert again.summary()["unchanged"] == 4 and not [e for e in log if e[0] == "parse"]  # unchanged: not read


def test_a_broken_file_read_ahead_fails_alone_and_in_its_place(km, tmp_path):
    root = tmp_path / "c"
    root.mkdir()
    docmaker.make_md(root / "a-goed.md", front="title: Eerste verslag\n")
    (root / "b-kapot.docx").write_bytes(b"PK\x03\x04 geen echte docx")
    docmaker.make_md(root / "c-goed.md", front="title: Tweede verslag\n")
    report = km.ingestor().run([root])
    assert [(o.path, o.status) for o in report.outcomes] == [
        ("a-goed.md", "added"), ("b-kapot.docx", "failed"), ("c-goed.md", "added")]
    assert "b-kapot.docx" in report.outcomes[1].message


@pytest.mark.slow
def test_changed_file_replaces_its_chunks(km, tmp_path):
    root = corpus(tmp_path / "c")
    km.ingestor().run([root])
    catalog = km.catalog()
    before = catalog.counts()["chunks"]
    text = (root / "verslag.md").read_text("utf-8").replace("Schaamte speelt een grote rol.",
                                                            "Niemand schaamde zich; dat verraste ons.")
    (root / "verslag.md").write_text(text, "utf-8")
    report = km.ingestor().run([root])
    assert [o.status for o in report.outcomes if o.document_id == "verslag-1"] == ["updated"]
    chunks = " ".join(c["text"] for c in catalog.chunks_of("verslag-1"))
    assert "verraste ons" in chunks and "Schaamte speelt" not in chunks
    assert catalog.counts()["chunks"] == before


@pytest.mark.slow
def test_sidecar_change_counts_as_a_change(km, tmp_path):
    root = corpus(tmp_path / "c")
    km.ingestor().run([root])
    (root / "notitie.docx.yaml").write_text("title: Nieuwe titel\n", "utf-8")
    km.ingestor().run([root])
    assert km.catalog().document("notitie.docx")["title"] == "Nieuwe titel"


@pytest.mark.slow
def test_prune_removes_documents_and_profiles_whose_files_are_gone(km, tmp_path):
    root = corpus(tmp_path / "c")
    km.ingestor().run([root])
    (root / "pagina.html").unlink()
    (root / "experts.yaml").write_text(EXPERTS.split("  - name: Mohamed")[0], "utf-8")
    kept = km.ingestor().run([root])  # without --prune nothing is removed
    assert km.catalog().document("pagina.html") is not None and not kept.of("removed")
    report = km.ingestor().run([root], prune=True)
    catalog = km.catalog()
    assert catalog.document("pagina.html") is None
    assert catalog.store.count(CHUNKS) == sum(d["chunks"] for d in catalog.documents())
    assert catalog.expert("mohamed-el-amrani") is None and catalog.expert("sanne-vossen") is not None
    removed = report.of("removed")
    assert sorted((o.kind, o.document_id) for o in removed) == [("document", "pagina.html"), ("experts", None)]
    assert "mohamed-el-amrani" in next(o.message for o in removed if o.kind == "experts")


@pytest.mark.slow
def test_a_document_that_gets_an_id_leaves_no_old_record(km, tmp_path):
    root = corpus(tmp_path / "c")
    km.ingestor().run([root])
    (root / "pagina.html.yaml").write_text("id: pagina-geld\n", "utf-8")
    km.ingestor().run([root])
    catalog = km.catalog()
    assert catalog.document("pagina.html") is None and catalog.document("pagina-geld") is not None
    assert catalog.counts()["documents"] == 3


@pytest.mark.slow
def test_two_files_claiming_one_id_is_an_error_for_the_second(km, tmp_path):
    root = corpus(tmp_path / "c")
    docmaker.make_md(root / "kopie.md", front="id: verslag-1\n")
    report = km.ingestor().run([root])
    failed = report.failed
    assert len(failed) == 1 and "verslag-1" in failed[0].message


@pytest.mark.slow
def test_store_built_with_another_model_is_refused(km_factory, tmp_path, minilm):
    data = tmp_path / "data"
    km = km_factory(data)
    km.ingestor().run([corpus(tmp_path / "c")])
    km.close()
    other = km_factory(data, embedder=minilm)
    with pytest.raises(ModelMismatchError, match="--recreate"):
        other.catalog()
    other.catalog(recreate=True)
    assert other.catalog().counts()["documents"] == 0
    assert other.catalog().built_with()["model"] == minilm.identity


@pytest.mark.slow
def test_a_person_removed_while_their_document_is_ingested_stays_removed(km, tmp_path):
    root = corpus(tmp_path / "c")
    km.ingestor().run([root])
    ingestor = km.ingestor()
    real = ingestor.embedder

    class RemovalMidway:
        """The real embedder; on its first call the person is removed, as a coordinator could do meanwhile."""

        removed = False

        def __getattr__(self, name):
            return getattr(real, name)

        def embed_documents(self, texts):
            if not RemovalMidway.removed:
                RemovalMidway.removed = True
                km.ingestor().forget_expert("sanne-vossen")
            return real.embed_documents(texts)

    ingestor.embedder = RemovalMidway()
    path = root / "verslag.md"
    path.write_text(path.read_text("utf-8") + "\nEen nieuwe alinea over schulden.\n", "utf-8")
    assert ingestor.run([root]).ok and RemovalMidway.removed
    record = km.catalog().document("verslag-1")
    # people are stored as name keys ("sanne vossen"), never as the slug: look for the key
    key = name_key("sanne-vossen")
    assert key not in record["people"] and "sanne-vossen" not in record["authors"]
    assert "mohamed el amrani" in record["people"]  # only she went: the other person stays linked
    chunks = [h for h in km.store.scroll(CHUNKS, filter=None) if h.payload["document_id"] == "verslag-1"]
    assert chunks and not [h for h in chunks if key in h.payload.get("people", [])]


@pytest.mark.slow
def test_a_windows_1252_file_keeps_its_accents_in_front_matter(km, tmp_path):
    root = corpus(tmp_path / "c")
    text = "---\ntitle: Café-overleg in Kerkrade\nauthors: [Sànne Vossen]\n---\n# Overleg\n\nSchulden en schaamte.\n"
    (root / "cafe.md").write_bytes(text.encode("cp1252"))  # as saved by an older Windows editor
    assert km.ingestor().run([root]).ok
    record = km.catalog().document("cafe.md")
    assert record["title"] == "Café-overleg in Kerkrade" and record["authors"] == ["Sànne Vossen"]
    assert set(km.catalog().expert("sanne-vossen")["keys"]) & set(record["people"])
