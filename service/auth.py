"""Who may do what: the public asks and searches; coordinators upload, delete, compose panels, read the
agenda and contact details.

The API knows coordinators by a bearer token from the settings only (no cookies: nothing to forge across
sites). The web pages know them by a session that a token opened (``session_value``), behind CSRF protection.
Tokens are compared in constant time, against every configured token (no early exit).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from core.errors import AuthenticationError, PermissionDeniedError
from service.keys import derive
from service.ratelimit import client_of


def token_matches(given: str, tokens: tuple[str, ...]) -> bool:
    """True when ``given`` equals one of ``tokens``; the time taken does not depend on which or how much.

    >>> token_matches("abc", ("xyz", "abc")), token_matches("ab", ("abc",)), token_matches("", ())
    (True, False, False)
    """
    ok = False
    for token in tokens:
        ok |= hmac.compare_digest(given.encode(), token.encode())
    return ok and bool(given)


def bearer(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = connection.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def is_coordinator(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """API: a valid bearer token. A wrong one counts as a failed login of the client; a client locked out
    after too many gets a 429, whatever token it sends now."""
    given = bearer(connection)
    if given is None:
        return False
    return attempt_login(connection, given)


def attempt_login(connection: ASGIConnection[Any, Any, Any, Any], token: str) -> bool:
    """Check ``token`` under the per-client lock-out (``service.ratelimit``): refused while locked out,
    every failure counted."""
    limiter = connection.app.state.limiter
    client = client_of(connection)
    limiter.check("login", client, count=False)
    if token_matches(token, connection.app.state.km.settings.service.tokens):
        return True
    limiter.failed("login", client)
    return False


def coordinator_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard for coordinator API routes: 401 without a token, 403 with a wrong one."""
    if is_coordinator(connection):
        return
    if bearer(connection) is None:
        raise AuthenticationError("Inloggen is nodig: stuur 'Authorization: Bearer <token>'.",
                                  hint="Een coördinator krijgt het token van de beheerder.")
    raise PermissionDeniedError("Dit token geeft geen coördinatorrechten.")


SESSION_COOKIE = "km_coordinator"
SESSION_SECONDS = 8 * 3600


def session_value(secret: bytes, tokens: tuple[str, ...], now: float | None = None) -> str:
    """A signed, expiring coordinator session (no server state: it works across workers).

    The signature covers the configured tokens too, so removing a token from the settings ends the
    sessions it opened.

    >>> v = session_value(b"k", ("t",), now=1000.0)
    >>> session_valid(v, b"k", ("t",), now=2000.0), session_valid(v, b"k", ("u",), now=2000.0)
    (True, False)
    >>> session_valid(v, b"k", ("t",), now=1000.0 + SESSION_SECONDS + 1)
    False
    """
    expires = int((time.time() if now is None else now) + SESSION_SECONDS)
    return f"{expires}.{_sign(secret, tokens, expires)}"


def session_valid(value: str, secret: bytes, tokens: tuple[str, ...], now: float | None = None) -> bool:
    expires, _, signature = value.partition(".")
    if not tokens or not expires.isdigit() or int(expires) < (time.time() if now is None else now):
        return False
    return hmac.compare_digest(signature, _sign(secret, tokens, int(expires)))


def _sign(secret: bytes, tokens: tuple[str, ...], expires: int) -> str:
    material = f"{expires}|" + "|".join(sorted(tokens))
    return hmac.new(secret, material.encode(), hashlib.sha256).hexdigest()


def has_session(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """Web pages: a valid coordinator session cookie."""
    value = connection.cookies.get(SESSION_COOKIE)
    settings = connection.app.state.km.settings
    if not value:
        return False
    return session_valid(value, session_secret(settings), settings.service.tokens)


def session_secret(settings: Any) -> bytes:
    """The key that signs coordinator sessions (``service.keys``)."""
    return derive(settings, "session")
