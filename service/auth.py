"""Who may do what: the public asks and searches; coordinators upload, delete, compose panels, read the
agenda and contact details.

The API knows coordinators by a bearer token (no cookies: nothing to forge across sites): a personal token
(``service.coordinators``) or one of the shared ``KM_COORDINATOR_TOKENS``. The web pages know them by a
session in the store that such a token opened, behind CSRF protection. Either way the request carries the
``Actor`` it was established for, and the audit log records that actor.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from core.errors import AuthenticationError, PermissionDeniedError
from core.visibility import COORDINATORS, PUBLIC, Audience
from service.coordinators import Actor
from service.members import Member
from service.ratelimit import client_of

SESSION_COOKIE = "km_coordinator"
MEMBER_COOKIE = "km_lid"
_UNKNOWN = object()


def bearer(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = connection.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def coordinator_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Actor | None:
    """API: who a valid bearer token belongs to (once per request). A wrong token counts as a failed login of
    the client; a client locked out after too many gets a 429, whatever token it sends now."""
    known = getattr(connection.state, "km_bearer", _UNKNOWN)
    if known is not _UNKNOWN:
        return known  # type: ignore[return-value]
    given = bearer(connection)
    actor = attempt_login(connection, given) if given is not None else None
    connection.state.km_bearer = actor
    return actor


def is_coordinator(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    return coordinator_of(connection) is not None


def attempt_login(connection: ASGIConnection[Any, Any, Any, Any], token: str) -> Actor | None:
    """Who ``token`` belongs to, checked under the per-client lock-out (``service.ratelimit``): refused while
    locked out, every failure counted."""
    limiter = connection.app.state.limiter
    client = client_of(connection)
    limiter.check("login", client, count=False)
    actor = connection.app.state.km.coordinators().by_token(token)
    if actor is None:
        limiter.failed("login", client)
    return actor


def coordinator_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard for coordinator API routes: 401 without a token, 403 with a wrong one."""
    if is_coordinator(connection):
        return
    if bearer(connection) is None:
        raise AuthenticationError("Inloggen is nodig: stuur 'Authorization: Bearer <token>'.",
                                  hint="Een coördinator krijgt een persoonlijk token van de beheerder.")
    raise PermissionDeniedError("Dit token geeft geen coördinatorrechten.")


def session_coordinator(connection: ASGIConnection[Any, Any, Any, Any]) -> Actor | None:
    """Web pages: the coordinator of a live session cookie (once per request)."""
    known = getattr(connection.state, "km_session", _UNKNOWN)
    if known is not _UNKNOWN:
        return known  # type: ignore[return-value]
    actor = connection.app.state.km.coordinators().session(connection.cookies.get(SESSION_COOKIE))
    connection.state.km_session = actor
    return actor


def audience_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Audience:
    """Who a request is answered for (``core.visibility``): the coordinators (a bearer token or a session), a
    signed-in member (their ateliers as they are now), else the public."""
    if coordinator_of(connection) is not None:
        return COORDINATORS
    if connection.cookies.get(SESSION_COOKIE) and session_coordinator(connection) is not None:
        return COORDINATORS
    signed_in = signed_in_member(connection)
    return signed_in.audience if signed_in is not None else PUBLIC


def signed_in_member(connection: ASGIConnection[Any, Any, Any, Any]) -> Member | None:
    """The member of a live member session (once per request), or None."""
    known = getattr(connection.state, "km_member", _UNKNOWN)
    if known is not _UNKNOWN:
        return known  # type: ignore[return-value]
    value = connection.cookies.get(MEMBER_COOKIE)
    found = connection.app.state.km.members().session(value) if value else None
    connection.state.km_member = found
    return found


def acting(connection: ASGIConnection[Any, Any, Any, Any]) -> Actor:
    """The coordinator a guard let through (for the audit log)."""
    actor: Actor | None = getattr(connection.state, "km_bearer", None) or getattr(connection.state, "km_session",
                                                                                  None)
    if actor is None:  # a handler without a coordinator guard: a programming error, not a user's
        raise PermissionDeniedError("Alleen voor coördinatoren.")
    return actor
