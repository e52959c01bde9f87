"""Every file is read in a worker process with a time and a memory limit: a hostile file fails alone.

``IsolatedParser`` has the interface of ``parse.Parser``. Its workers (a ``pebble`` process pool, started
with "spawn" on first use — never forked from a parent with threads and a loaded model) import
unstructured once and stay, so a file costs one round trip, not an import. A file that takes longer than
``timeout_seconds`` gets its worker killed (``ParseTimeoutError``); a worker may map at most
``memory_mb`` of address space (``RLIMIT_AS``), so a file that needs more fails with ``MemoryError`` or
takes its worker down (``ParseMemoryError``). A killed worker is replaced and the next file reads as usual.
Each worker leads its own process group, so a helper it started (pandoc, for EPUB and ODT) dies with it.
As with any "spawn" pool, a script that uses it must guard its entry point (``if __name__ == "__main__"``).

PDFs take two trips: pdfium extracts the raw page texts in the worker; the parent repairs private-use
glyphs with the embedder's tokenizer (``token_cost``, which cannot travel to another process); the
worker cleans and partitions the repaired pages — the same steps, in the same order, as ``Parser``.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import signal
import threading
import time
import weakref
from concurrent.futures import BrokenExecutor, CancelledError
from typing import Any

from core.errors import ConfigError, CorruptFileError, FileRejected, ParseMemoryError, ParseTimeoutError
from core.models import Element, SourceFile
from ingestion.parse import (
    Parsed,
    Parser,
    guarded,
    pdf_elements,
    pdf_title,
    require_content,
    require_text,
    warm_up,
)
from ingestion.pdf_text import TokenCost, read_pdf_pages, repair_private_use

_GRACE = 30.0  # seconds beyond the limit before the parent gives up waiting on the pool itself


class IsolatedParser:
    """Parses files like ``Parser``, each in a worker process with a time and memory limit."""

    def __init__(self, token_cost: TokenCost | None = None, *, timeout_seconds: float = 120,
                 memory_mb: int = 3072, workers: int = 1) -> None:
        if timeout_seconds <= 0:
            raise ValueError("timeout_seconds must be positive")
        if memory_mb <= 0:  # too little for the worker itself (some 1000 MB) shows as a ConfigError on first use
            raise ValueError("memory_mb must be positive")
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.token_cost = token_cost
        self.timeout_seconds = float(timeout_seconds)
        self.memory_mb = int(memory_mb)
        self.workers = int(workers)
        self._pool: Any = None
        self._finalizer: weakref.finalize | None = None
        self._lock = threading.Lock()

    def parse(self, source: SourceFile) -> Parsed:
        require_content(source)
        if source.extension != "pdf":
            return self._run(source, self.timeout_seconds, _parse_file)[0]
        (raw_pages, info), spent = self._run(source, self.timeout_seconds, _read_pdf)
        pages = repair_private_use(raw_pages, self.token_cost) if self.token_cost is not None else raw_pages
        elements, _ = self._run(source, self.timeout_seconds - spent, _pdf_elements, pages)
        return require_text(Parsed(elements, title=pdf_title(raw_pages, info), pages=len(raw_pages)), source)

    def close(self) -> None:
        """Stop the workers (a later ``parse`` starts new ones)."""
        with self._lock:
            finalizer, self._pool, self._finalizer = self._finalizer, None, None
        if finalizer is not None:
            finalizer()  # stops the pool, once

    def __enter__(self) -> IsolatedParser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the pool ------------------------------------------------------------------------------------

    def _workers(self) -> Any:
        with self._lock:
            if self._pool is None:
                from pebble import ProcessPool

                self._pool = ProcessPool(max_workers=self.workers, initializer=_start_worker,
                                         initargs=(self.memory_mb,), context=multiprocessing.get_context("spawn"))
                self._finalizer = weakref.finalize(self, _stop, self._pool)
            return self._pool

    def _run(self, source: SourceFile, timeout: float, task: Any, *args: Any) -> tuple[Any, float]:
        """``task(source, *args)`` in a worker: its result and the seconds it took there (a worker that is
        still starting does not count against the file)."""
        from pebble import ProcessExpired

        timeout = max(timeout, 0.1)
        try:
            future = self._workers().schedule(task, args=(source, *args), timeout=timeout)
        except RuntimeError:  # the pool broke down: start a fresh one once
            self.close()
            future = self._workers().schedule(task, args=(source, *args), timeout=timeout)
        try:
            outcome = future.result(timeout=timeout + _GRACE)
        except TimeoutError:
            future.cancel()  # if the pool did not stop it, cancelling does
            raise ParseTimeoutError(
                f"{source.relpath}: het lezen was te lang bezig (meer dan {self.timeout_seconds:.0f} seconden) "
                "en is afgebroken.", path=str(source.path),
                hint="Is het bestand kunstmatig samengesteld of extreem groot? Splits het, of verhoog "
                     "KM_PARSE_TIMEOUT als het echt zo lang mag duren.") from None
        except ProcessExpired as exc:
            raise self._memory_error(source, f"het leesproces stopte met code {exc.exitcode}") from None
        except CancelledError:
            raise ParseTimeoutError(f"{source.relpath}: het lezen is afgebroken omdat de verwerking stopte.",
                                    path=str(source.path)) from None
        except BrokenExecutor as exc:  # the pool itself failed: no worker could start
            self.close()
            raise ConfigError(f"De leesprocessen voor documenten starten niet ({exc}).",
                              hint="Is KM_PARSE_MEMORY_MB te laag? Een leesproces heeft zelf al zo'n "
                                   "1000 MB nodig.") from exc
        except Exception as exc:  # e.g. a result that could not be sent back
            outcome = ("failed", f"{type(exc).__name__}: {exc}")
        if outcome[0] == "ok":
            return outcome[1], outcome[2]
        if outcome[0] == "memory":
            raise self._memory_error(source, "er was meer geheugen nodig dan toegestaan")
        if outcome[0] == "failed":
            raise CorruptFileError(f"{source.relpath}: kon het bestand niet lezen als .{source.extension} "
                                   f"({outcome[1][:200]}).", path=str(source.path),
                                   hint="Is het bestand beschadigd of heeft het een verkeerde extensie?")
        _, cls, message, path, hint = outcome
        raise cls(message, path=path, hint=hint)

    def _memory_error(self, source: SourceFile, what: str) -> ParseMemoryError:
        return ParseMemoryError(
            f"{source.relpath}: het lezen vroeg te veel geheugen (de grens is {self.memory_mb} MB; {what}) en is "
            "afgebroken.", path=str(source.path),
            hint="Is het bestand kunstmatig samengesteld of extreem groot? Splits het, of verhoog "
                 "KM_PARSE_MEMORY_MB.")


def _stop(pool: Any) -> None:
    pool.stop()
    pool.join(timeout=10)


# --- in the worker process -----------------------------------------------------------------------------


def _start_worker(memory_mb: int) -> None:
    """Limit the worker, then warm it up (under the limit: it must leave room for the imports)."""
    try:
        os.setpgid(0, 0)  # lead a process group of our own: the group dies with us (see _on_terminate)
        signal.signal(signal.SIGTERM, _on_terminate)
    except OSError:
        pass
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))
    warm_up()


def _on_terminate(signum: int, frame: object) -> None:
    """The pool stops a worker (timeout, shutdown): take its helper processes down with it."""
    if os.getpgrp() == os.getpid():
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.killpg(os.getpid(), signal.SIGKILL)
    os._exit(1)


def _outcome(read: Any, source: SourceFile, *args: Any) -> tuple[Any, ...]:
    """Run ``read`` and wrap its result or rejection in plain data (a ``FileRejected`` keeps its path and
    hint only as fields: pickling an exception keeps just its message)."""
    started = time.perf_counter()
    try:
        return ("ok", read(source, *args), time.perf_counter() - started)
    except MemoryError:
        return ("memory",)
    except FileRejected as exc:
        if isinstance(exc.__cause__, MemoryError):
            return ("memory",)
        return ("rejected", type(exc), exc.message, exc.path, exc.hint)
    except BaseException as exc:  # SystemExit from a library: this file's failure, never the parent's exit
        return ("failed", f"{type(exc).__name__}: {exc}")


def _parse_file(source: SourceFile) -> tuple[Any, ...]:
    return _outcome(Parser().parse, source)


def _read_pdf(source: SourceFile) -> tuple[Any, ...]:
    return _outcome(lambda s: guarded(s, read_pdf_pages, s.path), source)


def _pdf_elements(source: SourceFile, pages: list[str]) -> tuple[Any, ...]:
    def build(s: SourceFile) -> list[Element]:
        return guarded(s, pdf_elements, pages, None)

    return _outcome(build, source)
