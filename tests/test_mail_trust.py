"""Issue 22, review finding 12: forwarding a contact request by mail, against a real SMTP server in-process.

(a) A recipient the server refuses is a failure, whoever it is: smtplib raises only when *every* recipient is
    refused, so a forward whose expert was refused used to be reported as sent and recorded as "doorgestuurd".
    Nothing goes out then, and nothing is recorded.
(b) The asker is never shown the expert's address: instead of a Cc of the message to the expert, the asker gets a
    confirmation of their own, addressed to them only.
"""

from __future__ import annotations

import contextlib
from email.message import EmailMessage
from typing import Any

import pytest
from litestar.testing import TestClient

from core.errors import MailError
from service import contacts, mail
from service.coordinators import COMMAND_LINE
from service.profiles import save_profile
from tests.conftest import MailBox, smtp_server

COORD = {"Authorization": "Bearer geheim-token"}
EXPERT, EXPERT_NAME, EXPERT_MAIL = "sanne-vossen", "Sanne Vossen", "s.vossen@example.nl"
ASKER, ASKER_MAIL = "Sara Bakker", "sara@wijkteam.nl"


class PickyBox(MailBox):
    """A mail server that refuses some mailboxes (full, moved, a typo) — at RCPT, or only after the message
    (at DATA) — and takes the rest."""

    def __init__(self, refuse: set[str], refuse_after_data: set[str]) -> None:
        super().__init__()
        self.refuse, self.refuse_after_data = refuse, refuse_after_data

    async def handle_RCPT(self, server: object, session: object, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        if self.refuse_after_data & set(envelope.rcpt_tos):
            return "554 5.7.1 message refused"
        return await super().handle_DATA(server, session, envelope)


def picky_server(refuse: set[str] = frozenset(), refuse_after_data: set[str] = frozenset()  # type: ignore[assignment]
                 ) -> contextlib.AbstractContextManager[tuple[MailBox, int]]:
    return smtp_server(PickyBox(set(refuse), set(refuse_after_data)))


@pytest.fixture
def forwarding(km_factory):
    """A store with one expert and one open request, and a forward through the real app to a given server."""
    made: dict[str, Any] = {}

    def forward(port: int, *, cc_asker: bool) -> tuple[Any, contacts.ContactRequest]:
        if "km" not in made:
            km = km_factory(KM_COORDINATOR_TOKENS="geheim-token", KM_SMTP_HOST="127.0.0.1", KM_SMTP_PORT=str(port),
                            KM_SMTP_STARTTLS="nee", KM_SMTP_FROM="werkplaats@example.org")
            save_profile(km, EXPERT, name=EXPERT_NAME, role="ervaringsdeskundige", email=EXPERT_MAIL,
                         expertise="Schulden en schaamte.", consent=True, actor=COMMAND_LINE)
            request = contacts.submit(km, name=ASKER, email=ASKER_MAIL, message="Graag contact over schulden.",
                                      question="Hoe bereik je gezinnen met schulden?", expert_id=EXPERT)
            made.update(km=km, request=request)
        km, request = made["km"], made["request"]
        from web.app import create_app

        with TestClient(create_app(km=km)) as c:
            answer = c.post(f"/api/contact-requests/{request.id}/forward", headers=COORD,
                            json={"expert_id": EXPERT, "cc_asker": cc_asker})
        return answer, contacts.get(km, request.id)

    return forward


def test_a_refused_expert_is_a_failure_and_nothing_goes_out(forwarding):
    with picky_server(refuse={EXPERT_MAIL}) as (box, port):
        answer, request = forwarding(port, cc_asker=True)
    assert answer.status_code == 502 and answer.json()["error"]["code"] == "mail", answer.text
    assert EXPERT_MAIL in answer.json()["error"]["message"]  # the coordinator sees which address was refused
    assert (request.status, request.forwarded_to) == ("nieuw", None)  # not recorded as forwarded
    assert box.messages == []  # nor did the asker get a confirmation of a forward that did not happen


def test_a_refused_asker_stops_the_forward_before_anything_is_sent(forwarding):
    with picky_server(refuse={ASKER_MAIL}) as (box, port):
        answer, request = forwarding(port, cc_asker=True)
        assert answer.status_code == 502 and ASKER_MAIL in answer.json()["error"]["message"], answer.text
        assert (request.status, box.messages) == ("nieuw", [])  # the expert did not get it either: a retry
        answer, request = forwarding(port, cc_asker=False)     # (without the confirmation) sends it once
    assert answer.status_code == 200 and answer.json()["sent"] is True
    assert request.status == "doorgestuurd" and [rcpts for rcpts, _ in box.messages] == [[EXPERT_MAIL]]


def test_the_asker_gets_a_confirmation_that_does_not_show_the_experts_address(forwarding):
    with picky_server() as (box, port):
        answer, request = forwarding(port, cc_asker=True)
    assert answer.status_code == 200 and answer.json()["sent"] is True, answer.text
    assert (request.status, request.forwarded_to) == ("doorgestuurd", EXPERT)
    (to_expert, expert_message), (to_asker, confirmation) = box.messages
    assert to_expert == [EXPERT_MAIL] and expert_message["Cc"] is None  # the expert's message: to the expert only
    assert expert_message["To"] == EXPERT_MAIL and expert_message["Reply-To"] == ASKER_MAIL
    assert to_asker == [ASKER_MAIL] and confirmation["To"] == ASKER_MAIL and confirmation["Cc"] is None
    raw = confirmation.as_string()
    assert EXPERT_MAIL not in raw and "vossen" not in raw.lower()  # neither the address nor who it is
    body = confirmation.get_payload(decode=True).decode()
    assert body.startswith(f"Beste {ASKER},") and "doorgestuurd" in body and "gezinnen met schulden" in body


def test_without_the_confirmation_only_the_expert_gets_mail(forwarding):
    with picky_server() as (box, port):
        answer, _ = forwarding(port, cc_asker=False)
    assert answer.status_code == 200 and [rcpts for rcpts, _ in box.messages] == [[EXPERT_MAIL]]


def test_a_confirmation_refused_after_the_expert_got_the_message_says_so(forwarding):
    """The server takes both addresses, then refuses the confirmation itself: the coordinator is told exactly
    that the expert has the message (so as not to send it twice) and that the asker does not."""
    with picky_server(refuse_after_data={ASKER_MAIL}) as (box, port):
        answer, request = forwarding(port, cc_asker=True)
    assert answer.status_code == 502, answer.text
    error = answer.json()["error"]
    assert EXPERT_MAIL in error["message"] and "verstuurd" in error["message"] and ASKER_MAIL in error["message"]
    assert "niet opnieuw" in error["hint"]
    assert [rcpts for rcpts, _ in box.messages] == [[EXPERT_MAIL]]
    assert request.status == "nieuw"  # a mail error records nothing; the hint says to set it by hand


def test_any_refused_recipient_of_one_message_is_a_mail_error(tmp_path):
    """smtplib returns the refused recipients instead of raising when some were accepted: still a failure."""
    from tests.conftest import make_settings

    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "werkplaats@example.org", f"{EXPERT_MAIL}, {ASKER_MAIL}", "x"
    message.set_content("Hallo.")
    with picky_server(refuse={EXPERT_MAIL}) as (box, port):
        settings = make_settings(tmp_path, KM_SMTP_HOST="127.0.0.1", KM_SMTP_PORT=str(port), KM_SMTP_STARTTLS="nee")
        with pytest.raises(MailError, match=EXPERT_MAIL):
            mail.send(settings.mail, message)
    assert box.messages == []


def test_without_a_mail_server_the_confirmation_is_a_message_of_its_own_to_copy(km_factory):
    km = km_factory(KM_COORDINATOR_TOKENS="geheim-token")
    save_profile(km, EXPERT, name=EXPERT_NAME, role="ervaringsdeskundige", email=EXPERT_MAIL,
                 expertise="Schulden en schaamte.", consent=True, actor=COMMAND_LINE)
    request = contacts.submit(km, name=ASKER, email=ASKER_MAIL, message="Graag contact over schulden.",
                              question="Hoe bereik je gezinnen met schulden?", expert_id=EXPERT)
    from web.app import create_app

    with TestClient(create_app(km=km)) as c:
        answer = c.post(f"/api/contact-requests/{request.id}/forward", headers=COORD,
                        json={"expert_id": EXPERT, "cc_asker": True})
        without = c.post(f"/api/contact-requests/{request.id}/forward", headers=COORD,
                         json={"expert_id": EXPERT, "cc_asker": False})
    body = answer.json()
    assert answer.status_code == 200 and body["sent"] is False and body["cc"] is None
    assert body["to"] == EXPERT_MAIL and body["confirmation"]["to"] == ASKER_MAIL
    shown = str(body["confirmation"]).lower()
    assert EXPERT_MAIL not in shown and "vossen" not in shown and "mailto:sara" in body["confirmation"]["mailto"]
    assert without.json()["confirmation"] is None


class GruffBox(MailBox):
    """A mail server that takes the message, then answers the goodbye with an error (busy, shutting down)."""

    async def handle_QUIT(self, server: object, session: object, envelope: Any) -> str:
        return "421 4.3.2 shutting down"


def test_a_message_the_server_took_is_sent_even_when_the_goodbye_fails(tmp_path):
    """smtplib raises when QUIT is not answered with 221; the message is out by then, and calling that a failure
    would have the outbox send it again (a follower's digest twice)."""
    from tests.conftest import make_settings

    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "werkplaats@example.org", EXPERT_MAIL, "x"
    message.set_content("Hallo.")
    with smtp_server(GruffBox()) as (box, port):
        settings = make_settings(tmp_path, KM_SMTP_HOST="127.0.0.1", KM_SMTP_PORT=str(port), KM_SMTP_STARTTLS="nee")
        mail.send(settings.mail, message)
    assert [rcpts for rcpts, _ in box.messages] == [[EXPERT_MAIL]]
