"""Members: the professionals and students who may see what the Werkplaats keeps for its own (``core.visibility``),
signed in without a password.

A member signs in with a link mailed to their address — single use, valid for ``KM_MEMBER_LINK_MINUTES`` — or one
a coordinator hands out where no mail server is set. Who may ask for a link: a member a coordinator added, or
anyone at an address of a domain the Werkplaats lists (``KM_MEMBER_DOMAINS``, e.g. the university's), who becomes a
member at their first sign-in, in the ateliers of that domain's rule. Everything is in the store, like the
coordinators' sessions, so a member removed or moved loses what they saw at once, on every worker.

Records in the ledger, one fact per point:

- ``member``: ``{member_id, email, name, ateliers, via, created_at, generation}`` — personal data: removed on
  request (with their links and sessions, out of the store's files), exported and imported with the rest;
- ``member-link``: keyed by the keyed hash of the link's token, ``{email, expires, used?}``;
- ``member-session``: keyed by the keyed hash of the cookie's value, ``{member_id, generation, expires}``;
- ``gone-member``: the id of a removed member, nothing more: an import of an older export leaves them out;
- ``member-blocked``: the keyed hash of a removed member's address: their domain does not let them back in
  (a coordinator who adds them again lifts it).

>>> domain_rules("zuyd.nl: kansrijk-met-jeugd + tweedeling-en-armoede, Maastrichtuniversity.nl")
{'zuyd.nl': ('kansrijk-met-jeugd', 'tweedeling-en-armoede'), 'maastrichtuniversity.nl': ()}
"""

from __future__ import annotations

import re
import secrets
import time
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from email.utils import getaddresses
from typing import Any

from core.errors import ConfigError, NotFoundError, ValidationError
from core.store.ledger import Ledger
from core.store.revisions import revision
from core.visibility import Audience, member

MEMBER, LINK, SESSION, GONE, BLOCKED = "member", "member-link", "member-session", "gone-member", "member-blocked"
MAX_EMAIL = 254
LINK_PATH = "/inloggen/"  # a sign-in link is this path and its token


@dataclass(frozen=True)
class Member:
    id: str
    email: str
    name: str
    ateliers: tuple[str, ...]
    via: str  # "coordinator" or "domain"
    created_at: float

    @classmethod
    def of(cls, record: dict[str, Any]) -> Member:
        return cls(record["member_id"], record["email"], record.get("name", ""), tuple(record.get("ateliers", [])),
                   record.get("via", "coordinator"), float(record.get("created_at", 0)))

    @property
    def audience(self) -> Audience:
        return member(self.ateliers)


def domain_rules(text: str | None) -> dict[str, tuple[str, ...]]:
    """``KM_MEMBER_DOMAINS`` read: each domain with the ateliers its people join (none: the Werkplaats only)."""
    rules: dict[str, tuple[str, ...]] = {}
    for part in (text or "").split(","):
        domain, _, ateliers = part.partition(":")
        domain = domain.strip().lower().lstrip("@")
        if domain:
            rules[domain] = tuple(a.strip() for a in ateliers.split("+") if a.strip())
    return rules


def normalised(email: str) -> str:
    """An address as members are known by: trimmed and in lower case (mail servers treat it so in practice).
    A plain address only: "evil@x.example;a@zuyd.nl" or "<evil@x.example>a@zuyd.nl" ends in a listed domain
    but would be mailed to someone else.

    >>> normalised(" Lotte@Zuyd.NL "), _plain("<evil@x.example>a@zuyd.nl"), _plain("a@zuyd.nl,b@x.example")
    ('lotte@zuyd.nl', False, False)
    """
    address = (email or "").strip().lower()
    if len(address) > MAX_EMAIL or not _plain(address):
        raise ValidationError("Geef een geldig e-mailadres, zoals naam@organisatie.nl.", field="email")
    return address


_PLAIN = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
                    r"@[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+")


def _plain(address: str) -> bool:
    """One address, nothing around it (the dot-atom of RFC 5322: no quotes, brackets, commas or spaces), that
    the mail library reads back as exactly itself."""
    return bool(_PLAIN.fullmatch(address)) and getaddresses([address]) == [("", address)]


class Members:
    """Members, their sign-in links and sessions, in the store (``ledger``)."""

    def __init__(self, ledger: Ledger, *, rules: dict[str, tuple[str, ...]], ateliers: Collection[str],
                 link_seconds: float, session_seconds: float) -> None:
        unknown = sorted({a for chosen in rules.values() for a in chosen} - set(ateliers))
        if unknown:
            raise ConfigError(f"KM_MEMBER_DOMAINS noemt een onbekend atelier: {unknown[0]!r}.",
                              hint="Kies uit: " + ", ".join(sorted(ateliers)) + ".")
        self.ledger = ledger
        self.rules = rules
        self.ateliers = frozenset(ateliers)
        self.link_seconds = link_seconds
        self.session_seconds = session_seconds

    # --- members -------------------------------------------------------------------------------------

    def all(self) -> list[Member]:
        return sorted((Member.of(r) for r in self.ledger.all(MEMBER)), key=lambda m: m.email)

    def get(self, member_id: str) -> Member:
        record = self.ledger.get(MEMBER, member_id)
        if record is None:
            raise NotFoundError(f"Lid {member_id!r} bestaat niet (meer).")
        return Member.of(record)

    def by_email(self, email: str) -> Member | None:
        found = next(iter(self.ledger.all(MEMBER, email=normalised(email))), None)
        return Member.of(found) if found else None

    def add(self, email: str, *, name: str = "", ateliers: Sequence[str] = (), via: str = "coordinator") -> Member:
        """A new member (an address already known is refused: change that member instead)."""
        address = normalised(email)
        if self.by_email(address) is not None:
            raise ValidationError(f"{address} is al lid.", hint="Wijzig de ateliers van dat lid.", field="email")
        if via == "coordinator":
            self.ledger.remove(BLOCKED, [self._hash(address)])  # added on purpose: a removal before is undone
        member_id = uuid.uuid4().hex
        record = {"member_id": member_id, "email": address, "name": " ".join(name.split())[:120],
                  "ateliers": self._checked(ateliers), "via": via, "created_at": time.time(),
                  "generation": secrets.token_hex(8)}
        self.ledger.put(MEMBER, member_id, record)
        return Member.of(record)

    def move(self, member_id: str, ateliers: Sequence[str]) -> Member:
        """Put a member in ``ateliers`` (and out of the others): from their next request on."""
        record = self.ledger.get(MEMBER, member_id)
        if record is None:
            raise NotFoundError(f"Lid {member_id!r} bestaat niet (meer).")
        changed = {**record, "ateliers": self._checked(ateliers)}
        if not self.ledger.put_if_unchanged(MEMBER, member_id, changed, revision(record)):
            return self.move(member_id, ateliers)  # changed meanwhile: the ateliers asked for now, over theirs
        return Member.of(changed)

    def remove(self, member_id: str) -> Member:
        """The member, their links and sessions go (the caller takes them out of the store's files)."""
        gone = self.get(member_id)
        self.ledger.remove(SESSION, [s["key"] for s in self.ledger.all(SESSION, member_id=member_id)])
        self.ledger.remove(LINK, [k["key"] for k in self.ledger.all(LINK, email=gone.email)])
        # a tombstone of the id first (no address in it): an older export does not bring the member back; and
        # the address blocked (as a keyed hash), or a listed domain would let them in again at once
        self.ledger.put(GONE, member_id, {})
        self.ledger.put(BLOCKED, self._hash(gone.email), {})
        self.ledger.remove(MEMBER, [member_id])
        return gone

    def _checked(self, ateliers: Sequence[str]) -> list[str]:
        unknown = [a for a in ateliers if a not in self.ateliers]
        if unknown:
            raise ValidationError(f"Onbekend atelier {unknown[0]!r}.", field="ateliers")
        return sorted(set(ateliers))

    # --- sign-in links -------------------------------------------------------------------------------

    def may_sign_in(self, email: str) -> bool:
        """Whether ``email`` is a member's, or of a domain whose people may become members."""
        address = normalised(email)
        if self.by_email(address) is not None:
            return True
        return address.rpartition("@")[2] in self.rules and self.ledger.get(BLOCKED, self._hash(address)) is None

    def link(self, email: str) -> str:
        """A sign-in token for ``email`` (a member's, or of a listed domain): single use, short-lived. The
        caller mails it, or — asked by a coordinator — shows it."""
        address = normalised(email)
        if not self.may_sign_in(address):
            raise NotFoundError(f"{address} is geen lid en hoort niet bij een domein van de Werkplaats.")
        token = secrets.token_urlsafe(32)
        now = time.time()
        self.ledger.put(LINK, self._hash(token), {"email": address, "expires": now + self.link_seconds})
        self._sweep(now)
        return token

    def use_link(self, token: str, *, joined: Callable[[Member], object] | None = None) -> str | None:
        """Sign in with a link's token: a new session (the cookie's value), or None when the link is unknown,
        used or past its time. Of two uses at the same moment one wins (a conditional write). Someone of a
        listed domain becomes a member here: ``joined`` hears of it at once, before the session — the audit
        (``service.membership.sign_in``, the way to call this: without it, nothing is logged)."""
        key = self._hash(token or "")
        record = self.ledger.get(LINK, key)
        if record is None or record.get("used") or float(record.get("expires", 0)) < time.time():
            return None
        if not self.ledger.put_if_unchanged(LINK, key, {**record, "used": time.time()}, revision(record)):
            return None
        found = self.by_email(record["email"])
        if found is None:  # someone of a listed domain, here for the first time (or removed since the link)
            if not self.may_sign_in(record["email"]):  # the domain left the list, or they were removed since
                return None
            domain = record["email"].rpartition("@")[2]
            found = self.add(record["email"], ateliers=self.rules[domain], via="domain")
            if joined is not None:
                joined(found)
        self.ledger.remove(LINK, [key])
        return self._open(found)

    # --- sessions ------------------------------------------------------------------------------------

    def _open(self, found: Member) -> str:
        value = secrets.token_urlsafe(32)
        generation = (self.ledger.get(MEMBER, found.id) or {}).get("generation")
        self.ledger.put(SESSION, self._hash(value), {"member_id": found.id, "generation": generation,
                                                     "expires": time.time() + self.session_seconds})
        return value

    def session(self, value: str | None) -> Member | None:
        """The member of a live session: removed, or removed and added again, they are no longer that member."""
        if not value:
            return None
        record = self.ledger.get(SESSION, self._hash(value))
        if record is None or float(record.get("expires", 0)) < time.time():
            return None
        current = self.ledger.get(MEMBER, record.get("member_id", ""))
        if current is None or current.get("generation") != record.get("generation"):
            return None
        found = Member.of(current)
        if found.via == "domain" and found.email.rpartition("@")[2] not in self.rules:
            return None  # a member by their domain's rule only while the domain is on the list
        return found

    def close_session(self, value: str | None) -> None:
        if value:
            self.ledger.remove(SESSION, [self._hash(value)])

    def _sweep(self, now: float) -> None:
        """Links past their time, and sessions past theirs, go (at each new link: they are few)."""
        self.ledger.remove(LINK, [k["key"] for k in self.ledger.all(LINK) if float(k.get("expires", 0)) < now])
        self.ledger.remove(SESSION, [s["key"] for s in self.ledger.all(SESSION) if float(s.get("expires", 0)) < now])

    def _hash(self, secret: str) -> str:
        return self.ledger.keyed(secret, "member")
