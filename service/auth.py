"""Who may do what: the public asks and searches; coordinators (a bearer token from the settings, or the
web session that a token opened) upload, delete, compose panels, read the agenda and contact details.

Tokens are compared in constant time, against every configured token (no early exit).
"""

from __future__ import annotations

import hmac
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from service.errors import AuthenticationError, PermissionDeniedError

SESSION_KEY = "coordinator"


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
    tokens = connection.app.state.km.settings.service.tokens
    given = bearer(connection)
    if given is not None:
        return token_matches(given, tokens)
    session = connection.scope.get("session") or {}
    return bool(session.get(SESSION_KEY)) and bool(tokens)


def coordinator_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard for coordinator routes: 401 without credentials, 403 with wrong ones."""
    if is_coordinator(connection):
        return
    if bearer(connection) is None and not (connection.scope.get("session") or {}).get(SESSION_KEY):
        raise AuthenticationError("Inloggen is nodig: stuur 'Authorization: Bearer <token>'.",
                                  hint="Een coördinator krijgt het token van de beheerder.")
    raise PermissionDeniedError("Dit token geeft geen coördinatorrechten.")
