"""Rate limits and lock-outs shared by every worker: each request is a record in the store's ledger
(``core.store.ledger``), counted over a sliding window. Clients appear only as keyed hashes.

- ``ask``: questions per client per minute (``KM_ASK_PER_MINUTE``);
- ``public``: the other public routes that cost work (``KM_REQUESTS_PER_MINUTE``);
- ``login``: failed logins and wrong bearer tokens; ``KM_LOGIN_ATTEMPTS`` of them within
  ``KM_LOCKOUT_MINUTES`` lock the client out for that long (a correct token too is refused meanwhile).

Only admitted requests stay counted: a refused one takes its count back, so a flood past the limit keeps
no more records than the limit and each check reads no more than that. Requests counted at the same moment
may refuse each other (each sees the other's count).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from core.errors import RateLimitedError
from core.store.ledger import Ledger


@dataclass(frozen=True)
class Limit:
    name: str
    per_window: int
    window: float  # seconds
    message: str


class RateLimiter:
    def __init__(self, ledger: Callable[[], Ledger], limits: dict[str, Limit]) -> None:
        self._ledger = ledger
        self.limits = limits

    def _bucket(self, name: str, client: str) -> str:
        return f"{name}:{self._ledger().keyed(client, 'client')[:32]}"

    def check(self, name: str, client: str, *, count: bool = True, now: float | None = None) -> None:
        """Raise ``RateLimitedError`` (with the seconds to wait) when ``client`` is over the limit ``name``;
        otherwise count this request (unless ``count`` is false: a lock-out is only checked)."""
        limit = self.limits[name]
        now = time.time() if now is None else now
        ledger, bucket = self._ledger(), self._bucket(name, client)
        # counted first, then checked: a burst of simultaneous requests cannot all slip through
        own = ledger.hit(bucket, now=now) if count else None
        hits = ledger.hits(bucket, limit.window, now=now)
        allowed = limit.per_window + (1 if count else 0)  # this request's own hit is among them
        if len(hits) >= allowed:
            if own is not None:
                # a refusal kept as a hit would keep a flood's client refused longer, grow the ledger by a
                # point a request for a day, and make each of its checks read all of them
                ledger.unhit(own)
            # the window opens again when enough of the other hits have left it for this request to fit
            wait = hits[len(hits) - allowed] + limit.window - now
            raise RateLimitedError(limit.message, retry_after=max(1, int(wait) + 1))

    def failed(self, name: str, client: str) -> None:
        """Count one failure (a wrong token) against ``client``."""
        self._ledger().hit(self._bucket(name, client))

    def clear(self, name: str, client: str) -> None:
        self._ledger().clear_hits(self._bucket(name, client))


def limits_from(settings: Any) -> dict[str, Limit]:
    s = settings.service
    lockout = s.lockout_minutes * 60.0
    return {
        "ask": Limit("ask", s.ask_per_minute, 60.0,
                     "Te veel vragen achter elkaar; probeer het over een minuut opnieuw."),
        "public": Limit("public", s.requests_per_minute, 60.0,
                        "Te veel verzoeken achter elkaar; probeer het over een minuut opnieuw."),
        "login": Limit("login", s.login_attempts, lockout,
                       f"Te veel mislukte pogingen om in te loggen; probeer het over {s.lockout_minutes} minuten "
                       "opnieuw."),
    }


def client_of(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    return connection.client.host if connection.client else "onbekend"


def limited(name: str) -> Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], None]:
    """A route guard that counts the request against the limit ``name`` of its client."""
    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        connection.app.state.limiter.check(name, client_of(connection))
    return guard
