"""The one mapping from exceptions to HTTP responses.

Every error leaves as ``{"status": int, "error": {"code", "message", "hint", "field"}}``. Errors the user
can act on carry a Dutch message; an unexpected error is logged (without request data) and answered
with a plain 500 that reveals nothing.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException

from core import errors as e

log = logging.getLogger("kennismakelaar.http")

STATUS: tuple[tuple[type[e.KennismakelaarError], int], ...] = (
    (e.ValidationError, 400),
    (e.AuthenticationError, 401),
    (e.PermissionDeniedError, 403),
    (e.NotFoundError, 404),
    (e.StaleVersionError, 412),  # before ConflictError, of which it is one
    (e.PreconditionRequiredError, 428),
    (e.ConflictError, 409),
    (e.FileTooLargeError, 413),
    (e.UnsupportedFileError, 415),
    (e.FileRejected, 422),
    (e.RateLimitedError, 429),
    (e.ModelMismatchError, 503),
    (e.StoreError, 503),
    (e.ModelLoadError, 503),
    (e.MailError, 502),
    (e.ConfigError, 500),
)
_HTTP_CODES = {400: "invalid", 401: "unauthenticated", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
               409: "conflict", 413: "too_large", 415: "unsupported", 429: "rate_limited"}
_HTTP_MESSAGES = {404: "Niet gevonden.", 405: "Deze methode is hier niet toegestaan.",
                  413: "Het verzoek is te groot.", 401: "Inloggen is nodig (Bearer-token).",
                  403: "Hiervoor zijn coördinatorrechten nodig.", 429: "Te veel verzoeken; probeer het zo weer."}


def route_of(scope: Any) -> str:
    """The route's template (``/experts/{expert_id:str}``), never the ids in it, which may name people; for a
    path no route matched, the path with what follows a known prefix left out."""
    if scope.get("path_template"):
        return str(scope["path_template"])
    path = str(scope.get("path", ""))
    for prefix in ("/api/documents/", "/api/experts/", "/api/jobs/", "/documenten/", "/experts/", "/antwoord/",
                   "/coordinatie/experts/", "/coordinatie/taken/"):
        if path.startswith(prefix) and len(path) > len(prefix):
            return prefix + "…"
    return path


def etag(version: int) -> str:
    """A record's version as an HTTP entity tag (strong: equal tags mean the same stored version)."""
    return f'"{version}"'


def status_of(exc: e.KennismakelaarError) -> int:
    return next((code for cls, code in STATUS if isinstance(exc, cls)), 500)


def error_body(status: int, code: str, message: str, hint: str | None = None,
               field: str | None = None) -> dict[str, Any]:
    return {"status": status, "error": {"code": code, "message": message, "hint": hint, "field": field}}


def _respond(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(body, status_code=status, media_type=MediaType.JSON, headers=headers)


def exception_to_http_response(request: Request, exc: Exception) -> Response:
    """The API's answer to an exception: a status and the one JSON error shape."""
    return _api_response(request, exc)


def _api_response(request: Request, exc: Exception) -> Response:
    if isinstance(exc, e.KennismakelaarError):
        status = status_of(exc)
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, e.RateLimitedError) else None
        if status == 401:
            headers = {"WWW-Authenticate": "Bearer"}
        if status >= 500:
            log.error("%s on %s %s: %s", type(exc).__name__, request.method, route_of(request.scope), exc.code)
        body = error_body(status, exc.code, exc.message, exc.hint, exc.field)
        if isinstance(exc, e.StaleVersionError):
            # the state that won, so the client can apply its change to it (and its version to send along)
            body["current"] = exc.current
            if exc.version is not None:
                headers = {"ETag": etag(exc.version)}
        return _respond(status, body, headers)
    if isinstance(exc, ValidationException):
        field, message = _first_problem(exc, request)
        return _respond(400, error_body(400, "invalid", message, None, field))
    if isinstance(exc, HTTPException):
        status = exc.status_code
        if status >= 500:
            log.error("HTTP %s on %s %s", status, request.method, route_of(request.scope))
            return _respond(500, error_body(500, "internal", "Er ging iets mis aan onze kant."))
        headers = dict(exc.headers or {})
        if status == 401:
            headers.setdefault("WWW-Authenticate", "Bearer")
        message = _HTTP_MESSAGES.get(status) or exc.detail or "Ongeldig verzoek."
        return _respond(status, error_body(status, _HTTP_CODES.get(status, "error"), message), headers or None)
    # where it went wrong, but not the exception's text: it may carry a path, an id or a question
    log.error("unexpected %s on %s %s\n%s", type(exc).__name__, request.method, route_of(request.scope),
              "".join(traceback.format_tb(exc.__traceback__)))
    return _respond(500, error_body(500, "internal", "Er ging iets mis aan onze kant."))


def _first_problem(exc: ValidationException, request: Request) -> tuple[str | None, str]:
    """The offending field, by the name the client sent (``from``, not the handler's ``date_from``), and a Dutch
    message from Litestar's validation details."""
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if isinstance(item, dict):
            key = _public_name(request, item.get("key") or item.get("source"))
            detail = str(item.get("message") or "ongeldige waarde")
            return (str(key) if key else None), f"Ongeldige invoer{f' in {key!r}' if key else ''}: {detail}."
    return None, f"Ongeldige invoer: {exc.detail}."


def _public_name(request: Request, key: Any) -> Any:
    """A handler's parameter under the name it has in the request (its query, header or cookie alias)."""
    try:
        kwarg = request.route_handler.parsed_fn_signature.parameters[key].kwarg_definition
    except (AttributeError, KeyError, TypeError):
        return key
    return getattr(kwarg, "query", None) or getattr(kwarg, "header", None) or getattr(kwarg, "cookie", None) or key
