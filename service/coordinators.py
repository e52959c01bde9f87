"""Coordinators are people: each has a personal token (shown once, kept only as a keyed hash) and sessions
held in the store, so that a coordinator who leaves loses access at once — on every worker — and everyone
else keeps theirs.

Records in the ledger (``core.store.ledger``), one fact per point:

- ``coordinator``: ``{coordinator_id, name, created_at, removed_at?, removing?, rev}``; a removed coordinator's
  record stays, without a token, so that the audit log can still say who did what; ``removing`` is the claim of
  a removal this coordinator is making (see ``Coordinators.remove``), ``rev`` its version;
- ``coordinator-token``: keyed by the keyed hash of the token, ``{coordinator_id}``: a token is checked by
  looking up its hash, never by comparing it with every token;
- ``session``: keyed by the keyed hash of the session id in the cookie, ``{coordinator_id, expires, shared?}``.

The shared tokens of ``KM_COORDINATOR_TOKENS`` keep working as before; their holder is logged as the
"gedeelde sleutel", and a session such a token opened ends when the token leaves the settings.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

from core.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from core.names import slugify
from core.store.ledger import Ledger
from core.store.revisions import revision

COORDINATOR = "coordinator"
TOKEN = "coordinator-token"
SESSION = "session"
TOKEN_PREFIX = "kmc_"  # a personal token says what it is, so that a leaked one is recognised (secret scanners)
CLAIM = "removing"
CLAIM_SECONDS = 60.0  # a claim left by a crash blocks its holder's removal no longer than this


@dataclass(frozen=True)
class Actor:
    """Who does something in the service: a coordinator, the shared key, or the command line."""

    id: str
    name: str


SHARED = Actor("gedeelde-sleutel", "gedeelde sleutel")
COMMAND_LINE = Actor("opdrachtregel", "opdrachtregel (beheer)")
FOLLOWER = Actor("volger", "de volger zelf")  # someone following a question: starts, confirms, unsubscribes
SERVICE = Actor("dienst", "de dienst (bewaartermijn)")  # what expires by itself
JOINED = Actor("lid-zelf", "het lid zelf (domeinregel)")  # someone of a listed domain who joins at sign-in
# who acts in the log without being a coordinator: no coordinator may be given one of their ids, or the Logboek
# would show a coordinator's changes under "de volger zelf" (and the filter by person would mix the two)
SYSTEM = (SHARED, COMMAND_LINE, FOLLOWER, SERVICE, JOINED)


class Coordinators:
    """Personal tokens and sessions, in the store (``ledger``); ``shared`` are the tokens of the settings."""

    def __init__(self, ledger: Ledger, shared: tuple[str, ...], session_seconds: float) -> None:
        self.ledger = ledger
        self.shared = shared
        self.session_seconds = session_seconds

    # --- coordinators --------------------------------------------------------------------------------

    def add(self, name: str) -> tuple[Actor, str]:
        """A new coordinator and their token — the only time the token exists in clear."""
        name = " ".join(name.split())
        coordinator_id = slugify(name)
        if not coordinator_id or len(name) > 120:
            raise ValidationError("Geef de coördinator een naam (hoogstens 120 tekens).")
        if any(coordinator_id == a.id or coordinator_id.startswith(a.id + "-") for a in SYSTEM):
            raise ValidationError(f"De naam {name!r} is gereserveerd.")
        base, n = coordinator_id, 1
        while (known := self.ledger.get(COORDINATOR, coordinator_id)) is not None:
            if not known.get("removed_at"):
                raise ConflictError(f"Er is al een coördinator {known['name']!r} ({coordinator_id}).",
                                    hint="Verwijder die eerst, of kies een andere naam.")
            n += 1  # someone removed had this id: the log keeps what each of them did apart
            coordinator_id = f"{base}-{n}"
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        # a coordinator added again under the same name is someone new: the tokens and sessions of the one
        # before (left by a crash, or a login racing the removal) carry another generation and open nothing
        generation = secrets.token_hex(8)
        # the token's record first: a crash in between leaves a token without a coordinator, which opens nothing
        self.ledger.put(TOKEN, self._hash(token), {"coordinator_id": coordinator_id, "generation": generation})
        self.ledger.put(COORDINATOR, coordinator_id, {"coordinator_id": coordinator_id, "name": name,
                                                      "created_at": time.time(), "generation": generation})
        if (self.ledger.get(COORDINATOR, coordinator_id) or {}).get("generation") != generation:
            self.ledger.remove(TOKEN, [self._hash(token)])  # another worker added the same name at once: theirs
            raise ConflictError(f"Er is zojuist al een coördinator {name!r} toegevoegd.")
        return Actor(coordinator_id, name), token

    def is_active(self, actor: Actor) -> bool:
        """Whether ``actor`` may still act: the shared key and the command line always; a coordinator until
        removed (checked again inside a request that a removal overtook)."""
        if actor in (SHARED, COMMAND_LINE):
            return True
        record = self.ledger.get(COORDINATOR, actor.id)
        return record is not None and not record.get("removed_at")

    def all(self, *, removed: bool = False) -> list[dict[str, Any]]:
        """The coordinators, by name (the removed ones too when ``removed``)."""
        found = [c for c in self.ledger.all(COORDINATOR) if removed or not c.get("removed_at")]
        return sorted(found, key=lambda c: (c["name"].lower(), c["coordinator_id"]))

    def get(self, coordinator_id: str) -> dict[str, Any] | None:
        return self.ledger.get(COORDINATOR, coordinator_id)

    def remove(self, coordinator_id: str, *, by: Actor | None = None) -> Actor:
        """Their token and every session of theirs go at once; the record stays, marked removed.

        ``by``: the coordinator who removes them (None, the shared key, the command line: nobody in the records).
        Two coordinators removing each other at the same moment must not both succeed and leave nobody: ``by``
        first puts a claim on their own record, and the removal is written only over a record without a live
        claim and still at the version read — both checked and written in one step in the engine. So nobody is
        removed while they are removing someone, and of two crossing removals at most one gets through (the
        other is told to try again)."""
        self._removable(coordinator_id)  # first, before the claim: a refusal then leaves the other's removal be
        claim = self._claim(by, coordinator_id) if by is not None and by not in (SHARED, COMMAND_LINE) else None
        try:
            record = self._removable(coordinator_id)
            if not self._write(coordinator_id, {**record, "removed_at": time.time()}, revision(record)):
                again = self.ledger.get(COORDINATOR, coordinator_id)
                if again is None or again.get("removed_at"):
                    raise NotFoundError(f"Coördinator {coordinator_id!r} is zojuist al verwijderd.")
                raise ConflictError(f"{record['name']} veranderde net (bijvoorbeeld: verwijdert zelf iemand); "
                                    "probeer het zo opnieuw.")
        finally:
            if claim is not None and by is not None:
                self._release(by, claim)
        self.ledger.remove(TOKEN, [t["key"] for t in self.ledger.all(TOKEN) if t["coordinator_id"] == coordinator_id])
        self.ledger.remove(SESSION, [s["key"] for s in self.ledger.all(SESSION)
                                     if s.get("coordinator_id") == coordinator_id])
        return Actor(coordinator_id, record["name"])

    def _removable(self, coordinator_id: str) -> dict[str, Any]:
        """The record of a coordinator who may be removed now: present, not removed, not removing someone."""
        record = self.ledger.get(COORDINATOR, coordinator_id)
        if record is None or record.get("removed_at"):
            raise NotFoundError(f"Coördinator {coordinator_id!r} bestaat niet (meer).")
        if _claimed(record):
            raise ConflictError(f"{record['name']} verwijdert op dit moment zelf iemand; probeer het zo opnieuw.")
        return record

    def _claim(self, actor: Actor, target: str) -> str:
        """Mark on ``actor``'s own record that they are removing ``target``, if they are still a coordinator and
        not already removing someone; returns the claim's token (to release it)."""
        record = self.ledger.get(COORDINATOR, actor.id)
        if record is None or record.get("removed_at"):
            raise PermissionDeniedError("Je bent zelf net verwijderd als coördinator.")
        if _claimed(record):
            raise ConflictError("Je bent al iemand aan het verwijderen; probeer het zo opnieuw.")
        token = secrets.token_hex(8)
        claimed = {**record, CLAIM: {"id": target, "until": time.time() + CLAIM_SECONDS, "token": token}}
        if not self._write(actor.id, claimed, revision(record)):
            again = self.ledger.get(COORDINATOR, actor.id)
            if again is None or again.get("removed_at"):
                raise PermissionDeniedError("Je bent zelf net verwijderd als coördinator.")
            raise ConflictError("Je eigen gegevens veranderden net; probeer het zo opnieuw.")
        return token

    def _release(self, actor: Actor, token: str) -> None:
        record = self.ledger.get(COORDINATOR, actor.id)
        if record is not None and (record.get(CLAIM) or {}).get("token") == token:
            # not written when it lost to another write: the claim then runs out by itself (``CLAIM_SECONDS``)
            self._write(actor.id, {k: v for k, v in record.items() if k != CLAIM}, revision(record))

    def _write(self, coordinator_id: str, record: dict[str, Any], expected: int) -> bool:
        """Replace a coordinator's record if it is still at version ``expected`` (``core.store.revisions``)."""
        return self.ledger.put_if_unchanged(COORDINATOR, coordinator_id, record, expected)

    # --- tokens --------------------------------------------------------------------------------------

    def by_token(self, token: str) -> Actor | None:
        """Who ``token`` belongs to: a coordinator, the shared key, or nobody."""
        if not token:
            return None
        if _shared_matches(token, self.shared):
            return SHARED
        if not token.startswith(TOKEN_PREFIX):
            return None
        found = self.ledger.get(TOKEN, self._hash(token))
        return self._active(found) if found else None

    def _active(self, grant: dict[str, Any]) -> Actor | None:
        """The coordinator a token or session record belongs to, if they are still that coordinator."""
        record = self.ledger.get(COORDINATOR, grant.get("coordinator_id", ""))
        if record is None or record.get("removed_at") or record.get("generation") != grant.get("generation"):
            return None
        return Actor(record["coordinator_id"], record["name"])

    # --- sessions ------------------------------------------------------------------------------------

    def open_session(self, actor: Actor, token: str) -> str:
        """A new session for ``actor`` (who logged in with ``token``); returns the cookie's value."""
        value = secrets.token_urlsafe(32)
        now = time.time()
        record: dict[str, Any] = {"coordinator_id": actor.id, "expires": now + self.session_seconds}
        if actor == SHARED:  # it ends when its token leaves the settings
            record["shared"] = self._hash(token)
        else:
            coordinator = self.ledger.get(COORDINATOR, actor.id) or {}
            record["generation"] = coordinator.get("generation")
        self.ledger.put(SESSION, self._hash(value), record)
        self._sweep(now)
        return value

    def session(self, value: str | None) -> Actor | None:
        """The coordinator of a live session, or None (expired, logged out, coordinator removed)."""
        if not value:
            return None
        record = self.ledger.get(SESSION, self._hash(value))
        if record is None or float(record.get("expires", 0)) < time.time():
            return None
        if record.get("shared"):
            return SHARED if record["shared"] in {self._hash(t) for t in self.shared} else None
        return self._active(record)

    def close_session(self, value: str | None) -> None:
        if value:
            self.ledger.remove(SESSION, [self._hash(value)])

    def _sweep(self, now: float) -> None:
        """Expired sessions go (at each login: they are few)."""
        self.ledger.remove(SESSION, [s["key"] for s in self.ledger.all(SESSION) if float(s.get("expires", 0)) < now])

    def _hash(self, secret: str) -> str:
        return self.ledger.keyed(secret, "coordinator")


def _claimed(record: dict[str, Any]) -> bool:
    """Whether a coordinator is removing someone right now (a claim that has not run out)."""
    return float((record.get(CLAIM) or {}).get("until", 0)) > time.time()


def _shared_matches(given: str, tokens: tuple[str, ...]) -> bool:
    """True when ``given`` equals one of ``tokens``; the time taken does not depend on which or how much.

    >>> _shared_matches("abc", ("xyz", "abc")), _shared_matches("ab", ("abc",)), _shared_matches("", ())
    (True, False, False)
    """
    ok = False
    for token in tokens:
        ok |= hmac.compare_digest(given.encode(), token.encode())
    return ok and bool(given)
