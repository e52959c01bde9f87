"""One error hierarchy for the whole application.

Every error a user can act on derives from :class:`KennismakelaarError` and carries a Dutch message that
says what went wrong and, where possible, what to do (``hint``). The CLI prints ``message`` and ``hint``;
the HTTP layer maps the class to a status code in one place (``service.http_errors``).
"""

from __future__ import annotations

from typing import Any


class KennismakelaarError(Exception):
    """Base class: an error with a message meant for people, not a traceback."""

    code = "error"

    def __init__(self, message: str, *, hint: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.field = field

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message


class ConfigError(KennismakelaarError):
    """A setting or configuration file is wrong."""

    code = "config"


class ValidationError(KennismakelaarError):
    """Input from a user (query, form field, parameter) is not acceptable."""

    code = "invalid"


class NotFoundError(KennismakelaarError):
    code = "not_found"


class ConflictError(KennismakelaarError):
    code = "conflict"


class StaleVersionError(ConflictError):
    """A change based on a version of a record that is no longer the current one: nothing was written (another
    coordinator, or another worker, changed it first). ``version`` is the current version (``None``: the record is
    gone), ``current`` the record as it is now, for the caller to show instead of the stale values."""

    code = "stale"

    def __init__(self, message: str, *, version: int | None, current: dict[str, Any] | None = None,
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.version = version
        self.current = current


class PreconditionRequiredError(KennismakelaarError):
    """A change to a versioned record that does not say which version it is based on (``If-Match``)."""

    code = "precondition_required"


class AuthenticationError(KennismakelaarError):
    code = "unauthenticated"


class PermissionDeniedError(KennismakelaarError):
    code = "forbidden"


class RateLimitedError(KennismakelaarError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int = 60) -> None:
        super().__init__(message)
        self.retry_after = retry_after


# --- store -----------------------------------------------------------------------------------------


class StoreError(KennismakelaarError):
    """The vector store cannot be used."""

    code = "store"


class StoreInUseError(StoreError):
    code = "store_in_use"


class ModelMismatchError(StoreError):
    code = "model_mismatch"


class StoreUnavailableError(StoreError):
    code = "store_unavailable"


class ModelLoadError(KennismakelaarError):
    code = "model"


class MailError(KennismakelaarError):
    """The mail server refused a recipient or could not be reached: nothing was recorded (and, but for a
    confirmation refused after the expert's message went out — the error says so — nothing was sent)."""

    code = "mail"
    permanent = False  # the server said no for good (5xx): trying again will not help


class MailUncertain(MailError):
    """The connection went while the message was being sent: it may have arrived. Not to be sent again by itself."""


# --- ingestion: one file could not be taken in -------------------------------------------------------


class FileRejected(KennismakelaarError):
    """A single input file is skipped; the rest of the batch goes on."""

    code = "file_rejected"

    def __init__(self, message: str, *, path: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.path = path


class UnsupportedFileError(FileRejected):
    code = "unsupported"


class FileTooLargeError(FileRejected):
    code = "too_large"


class EmptyFileError(FileRejected):
    code = "empty"


class UnreadableFileError(FileRejected):
    code = "unreadable"


class CorruptFileError(FileRejected):
    code = "corrupt"


class EncryptedFileError(FileRejected):
    code = "encrypted"


class MetadataError(FileRejected):
    code = "metadata"


class UnsafeFileError(FileRejected):
    """A file built to exhaust the reader, such as a zip bomb: refused before it is unpacked."""

    code = "unsafe"


class ParseTimeoutError(FileRejected):
    """Reading the file took longer than its time limit; its worker process was stopped."""

    code = "parse_timeout"


class ParseMemoryError(FileRejected):
    """Reading the file needed more memory than its worker process may use."""

    code = "parse_memory"
