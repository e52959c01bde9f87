"""Security headers for every response, a content security policy without inline script, and the CSRF
configuration of the web pages."""

from __future__ import annotations

from litestar.config.csrf import CSRFConfig
from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

from service.auth import MEMBER_COOKIE, SESSION_COOKIE
from service.keys import derive
from service.settings import Settings

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'")
# Swagger UI starts itself with an inline script: only its page gets that exception.
CSP_API_DOCS = CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'").replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'")
HEADERS = {
    b"x-content-type-options": b"nosniff",
    b"x-frame-options": b"DENY",
    b"referrer-policy": b"same-origin",
    b"permissions-policy": b"camera=(), microphone=(), geolocation=(), interest-cohort=()",
    b"cross-origin-opener-policy": b"same-origin",
    b"cross-origin-resource-policy": b"same-origin",
}
# The API takes bearer tokens only, no cookies. Anchored: Litestar searches these patterns anywhere in the
# path, and a form such as /coordinatie/experts/health-coach must not slip through.
# one-click unsubscribe (RFC 8058) is a POST from a mail program: the secret in the path is the proof
EXEMPT_FROM_CSRF = ["^/api/", "^/schema", "^/health$", "^/ready$", "^/volgen/afmelden/"]


async def security_headers(message: Message, scope: Scope) -> None:
    """``before_send`` hook: runs for every response, errors and unmatched routes included."""
    if message["type"] != "http.response.start":
        return
    policy = CSP_API_DOCS if scope.get("path", "").rstrip("/") == "/schema" else CSP
    headers = MutableScopeHeaders.from_message(message)
    for name, value in HEADERS.items():
        headers[name.decode()] = value.decode()
    headers["content-security-policy"] = policy
    if _personal(scope):  # contact details, a token just made: not kept by a browser or a proxy on the way
        headers["cache-control"] = "no-store"
    elif not str(scope.get("path", "")).startswith("/static/"):
        headers["vary"] = "Cookie"  # a page may differ for a coordinator's session: never one cache for both
    if scope.get("scheme") == "https":
        headers["strict-transport-security"] = "max-age=31536000; includeSubDomains"


def _personal(scope: Scope) -> bool:
    """A coordinator's page, a coordinator's API call (one with a bearer token), or any page a coordinator's
    session reads (a public page then shows what only coordinators see)."""
    sessions = (f"{SESSION_COOKIE}=".encode(), f"{MEMBER_COOKIE}=".encode())  # a member sees more than the public
    path = str(scope.get("path", ""))
    if path.startswith("/static/"):  # the same for everyone: a coordinator's browser may keep it too
        return False
    return path.startswith("/coordinatie") or any(
        name.lower() == b"authorization" or (name.lower() == b"cookie" and any(s in value for s in sessions))
        for name, value in scope.get("headers", ()))


def csrf_config(settings: Settings) -> CSRFConfig:
    return CSRFConfig(secret=derive(settings, "csrf").hex(), cookie_name="km_csrf", cookie_httponly=True,
                      cookie_samesite="lax", cookie_secure=settings.service.secure_cookies,
                      exclude=EXEMPT_FROM_CSRF)
