"""What coordinators and members do with memberships (``service.members``), logged and with mail: add, move and
remove members, hand out or mail a sign-in link, sign in with one (someone of a listed domain joining by it).

A sign-in asked for by address answers the same whether or not the address may sign in, so the form tells nobody
who is a member; only a member (or someone at a listed domain) gets the mail.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from email.message import EmailMessage

from core.errors import KennismakelaarError
from core.glossary import counted
from service import mail
from service.consequences import Consequences
from service.container import Kennismakelaar
from service.coordinators import JOINED, Actor
from service.members import LINK_PATH, SESSION, Member, normalised

log = logging.getLogger(__name__)
SUBJECT = "Je inloglink voor de Werkplaats Sociaal Domein"


def add(km: Kennismakelaar, email: str, *, name: str = "", ateliers: Sequence[str] = (), actor: Actor) -> Member:
    added = km.members().add(email, name=name, ateliers=ateliers)
    km.audit().record(actor, "lid-toegevoegd", "lid", added.id)
    return added


def move(km: Kennismakelaar, member_id: str, ateliers: Sequence[str], actor: Actor) -> Member:
    moved = km.members().move(member_id, ateliers)
    km.audit().record(actor, "lid-verplaatst", "lid", member_id)
    return moved


def remove(km: Kennismakelaar, member_id: str, actor: Actor) -> Member:
    """A member removed (on request, or leaving): their sessions end at once; their address leaves the store's
    files too (the ledger is rewritten)."""
    with km.catalog().erasing("members"):
        gone = km.members().remove(member_id)
    km.audit().record(actor, "lid-verwijderd", "lid", member_id)
    return gone


def sign_in(km: Kennismakelaar, token: str) -> str | None:
    """Sign in with a link's token (``Members.use_link``): the new session's value, or None. Someone of a listed
    domain here for the first time becomes a member: logged like a coordinator's adding, by the member's id (never
    the address), with the member as the actor."""
    return km.members().use_link(token, joined=lambda found: km.audit().record(JOINED, "lid-toegevoegd", "lid",
                                                                               found.id))


def consequences(km: Kennismakelaar, member_id: str) -> Consequences:
    found = km.members().get(member_id)
    sessions = sum(1 for _ in km.catalog().ledger.all(SESSION, member_id=member_id))
    return Consequences(found.email, [
        f"{counted(sessions, ('open sessie wordt', 'open sessies worden')).capitalize()} meteen beëindigd: wat "
        "alleen voor leden is, ziet dit lid niet meer.",
        "Het e-mailadres gaat uit de opslag, ook uit haar bestanden.",
    ], slow=True, counts={"sessions": sessions})


def link_for(km: Kennismakelaar, member_id: str, base_url: str, actor: Actor) -> str:
    """A sign-in link a coordinator hands out (no mail server, or a member who cannot find the mail): on
    ``KM_PUBLIC_URL``, else on the address the coordinator's own page was asked at."""
    found = km.members().get(member_id)
    token = km.members().link(found.email)
    km.audit().record(actor, "lid-inloglink", "lid", member_id)
    return _url(km.settings.service.public_url or base_url, token)


def mails_links(km: Kennismakelaar) -> bool:
    """Whether sign-in links go by mail: a mail server, and the service's own address to put in them."""
    return km.settings.mail.configured and bool(km.settings.service.public_url)


def request_link(km: Kennismakelaar, email: str) -> bool:
    """Mail a sign-in link to ``email`` if it may sign in; True when links go by mail (whether or not this
    address got one: the answer must not tell — nor its time, so the mail goes on in the background). A failing
    server is logged, not shown (that would tell)."""
    address = normalised(email)
    settings = km.settings
    if not mails_links(km):
        return False
    if km.members().may_sign_in(address):
        message = compose(to=address, link=_url(str(settings.service.public_url), km.members().link(address)),
                          minutes=settings.service.member_link_minutes,
                          sender=settings.mail.smtp_from or settings.service.contact_email or "")
        threading.Thread(target=_send, args=(km, message), daemon=True).start()
    return True


def _send(km: Kennismakelaar, message: EmailMessage) -> None:
    try:
        mail.send(km.settings.mail, message)
    except KennismakelaarError as exc:
        log.warning("inloglink niet verstuurd: %s", exc.message)


def compose(*, to: str, link: str, minutes: int, sender: str) -> EmailMessage:
    """The sign-in mail: the link, how long it works, and what to do if it was not asked for."""
    lines = ["Hallo,", "", "Met deze link log je in bij de Werkplaats Sociaal Domein:", "", f"  {link}", "",
             f"De link werkt één keer, {counted(minutes, ('minuut', 'minuten'))} lang.",
             "Heb je niet om deze link gevraagd? Dan kun je dit bericht negeren.", "",
             "Met vriendelijke groet,", "De coördinatie van de Werkplaats Sociaal Domein"]
    return mail.make_message(EmailMessage(), to=to, subject=SUBJECT, sender=sender, text=lines)


def _url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}{LINK_PATH}{token}"
