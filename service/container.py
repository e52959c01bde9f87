"""The application core: builds the heavy parts from settings, once, lazily, and hands them out.

The CLI and the web app both hold one ``Kennismakelaar``; tests build one with their own settings (and,
where the model is not the subject, their own embedder).

>>> from service.settings import Settings
>>> km = Kennismakelaar(Settings.from_env({"KM_DATA_DIR": "/tmp/km-doctest"}))
>>> km.settings.embedding.model      # nothing is loaded yet
'multilingual-e5-small'
"""

from __future__ import annotations

import logging
import os
import threading
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from core.bm25 import DutchBm25
from core.embedder import CachedEmbedder, Embedder, make_embedder
from core.errors import ConfigError, ValidationError
from core.store.base import Store
from core.store.catalog import Catalog
from core.taxonomy import Taxonomy
from core.visibility import PUBLIC, Audience, parse_visibility
from ingestion.isolation import IsolatedParser
from ingestion.pipeline import Ingestor
from service.audit import AuditLog
from service.coordinators import Coordinators
from service.keys import derive
from service.members import Members, domain_rules
from service.settings import Settings

if TYPE_CHECKING:
    from matching.broker import Broker
    from matching.browse import Browser

_log = logging.getLogger("kennismakelaar.data")
PRIVATE = 0o077  # no bits for group and others


def keep_private(data_dir: Path) -> None:
    """At start-up of the service or the CLI, before anything is written: what this process creates from now on
    (uploads, kennisvraag files, the store's own files, the cache, the key) is its user's alone — they hold names,
    as an export does, which is 0600 — and the data folder is closed to others, also one made earlier or by hand."""
    os.umask(PRIVATE)  # the store engine writes files of its own: only the umask reaches those
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        data_dir.chmod(0o700)
    except OSError as exc:  # not ours to change (or not there): the service may still work, readable by others
        _log.warning("De datamap %s is niet af te schermen voor andere gebruikers (%s).", data_dir, exc.strerror)


class Kennismakelaar:
    def __init__(self, settings: Settings, *, store: Store | None = None, embedder: Embedder | None = None,
                 parser: IsolatedParser | None = None) -> None:
        self.settings = settings
        self._store = store
        self._embedder = embedder
        self._parser = parser
        self._catalog: Catalog | None = None
        self._broker: Broker | None = None
        self._audit: AuditLog | None = None
        self._lock = threading.RLock()

    @cached_property
    def embedder(self) -> Embedder:
        inner = self._embedder or make_embedder(self.settings.embedding.model, self.settings.embedding.batch_size)
        if self.settings.embedding.cache:
            return CachedEmbedder(inner, self.settings.store.data_dir / "embedding-cache.sqlite")
        return inner

    @cached_property
    def store(self) -> Store:
        if self._store is not None:
            return self._store
        s = self.settings.store
        if s.qdrant_url:
            from core.store.server import ServerStore
            return ServerStore(url=s.qdrant_url, api_key=s.qdrant_api_key, prefix=s.collection_prefix,
                               tuning=s.tuning, shards=s.shards, replication=s.replication)
        from core.store.edge import EdgeStore
        return EdgeStore(s.data_dir, s.tuning)

    @cached_property
    def parser(self) -> IsolatedParser:
        """Files are parsed in a worker process with a time and memory limit (started on first use)."""
        if self._parser is not None:
            return self._parser
        ingest = self.settings.ingest
        return IsolatedParser(token_cost=self.embedder.token_count, timeout_seconds=ingest.parse_timeout_seconds,
                              memory_mb=ingest.parse_memory_mb)

    @cached_property
    def taxonomy(self) -> Taxonomy:
        return Taxonomy.load(self.settings.ingest.taxonomy_file)

    @cached_property
    def default_visibility(self) -> str:
        """``KM_DEFAULT_VISIBILITY``, its atelier checked against the taxonomy."""
        said = self.settings.ingest.default_visibility
        try:
            return parse_visibility(said, [a.slug for a in self.taxonomy.ateliers])
        except ValidationError as exc:
            raise ConfigError(f"KM_DEFAULT_VISIBILITY: {exc.message}", hint=exc.hint) from None

    @cached_property
    def bm25(self) -> DutchBm25:
        return DutchBm25()

    def catalog(self, *, recreate: bool = False) -> Catalog:
        """The opened catalog; ``recreate`` drops everything first (a model change needs it)."""
        with self._lock:
            if self._catalog is None or recreate:
                catalog = Catalog(self.store, self.embedder.identity, self.embedder.dim,
                                  marker_key=derive(self.settings, "markers"))
                kept = catalog.carry_over() if recreate else ([], [])
                catalog.open(recreate=recreate)
                self._catalog = catalog
                if recreate:  # what exists only in the store comes back, embedded by the new model
                    self.ingestor().restore(*kept)
            return self._catalog

    def coordinators(self) -> Coordinators:
        """Personal tokens and sessions of coordinators, in the store (``service.coordinators``)."""
        service = self.settings.service
        return Coordinators(self.catalog().ledger, service.tokens, service.session_hours * 3600.0)

    def members(self) -> Members:
        """Members, their sign-in links and sessions, in the store (``service.members``)."""
        service = self.settings.service
        return Members(self.catalog().ledger, rules=domain_rules(service.member_domains),
                       ateliers=self.taxonomy.atelier_names(), link_seconds=service.member_link_minutes * 60.0,
                       session_seconds=service.member_session_days * 86400.0)

    def audit(self) -> AuditLog:
        """Who changed what, and when (``service.audit``); one per catalog (it counts entries between sweeps)."""
        catalog = self.catalog()
        with self._lock:
            if self._audit is None or self._audit.ledger is not catalog.ledger:
                self._audit = AuditLog(catalog.ledger, self.settings.service.audit_retention_days)
            return self._audit

    def ingestor(self) -> Ingestor:
        ingest = self.settings.ingest
        return Ingestor(self.catalog(), self.embedder, self.taxonomy, bm25=self.bm25,
                        chunk_tokens=ingest.chunk_tokens, max_bytes=ingest.max_file_bytes,
                        exclude=[self.settings.store.data_dir], parser=self.parser,
                        default_visibility=self.default_visibility)

    def broker(self, audience: Audience = PUBLIC) -> Broker:
        """The knowledge broker on the opened catalog (one per catalog: it caches taxonomy vectors), answering
        for ``audience``: the public unless a caller says who asks (``service.auth.audience_of``)."""
        with self._lock:
            catalog = self.catalog()
            if self._broker is None or self._broker.catalog is not catalog:
                from matching.broker import Broker
                self._broker = Broker(catalog, self.embedder, self.taxonomy, bm25=self.bm25,
                                      max_chars=self.settings.service.max_query_chars)
            return self._broker.scoped(audience)

    def browser(self, audience: Audience = PUBLIC) -> Browser:
        """Browsing the documents ``audience`` may see, without a question (``matching.browse``)."""
        from matching.browse import Browser

        return Browser(self.catalog(), audience.filter())

    def warm_up(self) -> None:
        """Load model and store now (service start-up) instead of on the first request."""
        getattr(self.embedder, "warm_up", lambda: None)()
        self.catalog()
        from matching.agenda import prepare

        prepare()

    def close(self) -> None:
        with self._lock:
            if "store" in self.__dict__:
                self.store.close()
                del self.__dict__["store"]
            self._catalog = None
            if "embedder" in self.__dict__ and hasattr(self.embedder, "close"):
                self.embedder.close()
            if "parser" in self.__dict__ and self._parser is None:  # an injected parser belongs to its owner
                self.parser.close()
                del self.__dict__["parser"]
