"""Forwarding a contact request to the person asked for: a Dutch message, sent through the configured mail
server, or — without one — shown to the coordinator ready to copy.

The message is built apart from the sending, so the inbox shows exactly what would be sent. Python's own
``smtplib`` and ``email`` do the work: both are the standard library's well-kept implementations.

An expert's address is never shown to an asker: the asker is not copied in on the message to the expert but, when
the coordinator asks for it, gets a confirmation of their own that names neither the address nor the person (who
may not have agreed to be named).

>>> m = compose(to="anna@example.org", expert_name="Anna de Vries", asker_name="Sara Bakker",
...             asker_email="sara@wijkteam.nl", organization="Wijkteam", role="", question="Schulden?",
...             message="Graag contact.", sender="werkplaats@example.org", cc_asker=True)
>>> m["To"], m["Cc"], m["Reply-To"]
('anna@example.org', None, 'sara@wijkteam.nl')
>>> m.confirmation["To"], "anna" in m.confirmation.as_string().lower()
('sara@wijkteam.nl', False)
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Callable, Sequence
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid
from typing import TypeVar
from urllib.parse import quote

from core.errors import MailError, MailUncertain
from service.settings import MailSettings

log = logging.getLogger("kennismakelaar.mail")

SUBJECT = "Verzoek om contact via de Werkplaats Sociaal Domein"
Sender = Callable[[EmailMessage], None]  # what sends one message (``send`` with the settings; a test's own)
# headers up to the 998 characters SMTP allows: a long List-Unsubscribe address folded at 78 would be
# encoded (=?utf-8?q?...), and no mail program reads that as an address
UNFOLDED = policy.SMTP.clone(max_line_length=998)
CONFIRMATION_SUBJECT = "Je verzoek om contact is doorgestuurd"
_M = TypeVar("_M", bound=EmailMessage)
_GREETING = ["Met vriendelijke groet,", "De coördinatie van de Werkplaats Sociaal Domein"]


class Forward(EmailMessage):
    """The message to the expert, carrying the separate confirmation to the asker (``None``: none asked for)."""

    confirmation: EmailMessage | None = None


def compose(*, to: str, expert_name: str, asker_name: str, asker_email: str, organization: str, role: str,
            question: str, message: str, sender: str, cc_asker: bool, note: str = "",
            coordinators: str = "") -> Forward:
    """The Dutch message to the expert, with the asker's address in it (sent from here, replies go to the asker
    too). With ``cc_asker`` the asker gets a confirmation of their own (``.confirmation``), sent along with it.
    ``coordinators``: where the expert says no (default ``sender``, which may be a no-reply address)."""
    reach = coordinators or sender
    who = asker_name + "".join(f", {x}" for x in (role, organization) if x)
    lines = [f"Beste {expert_name},", "",
             f"Via de Werkplaats Sociaal Domein zoekt {who} contact met je.", ""]
    if question:
        lines += ["De vraag:", f"  {question}", ""]
    lines += ["Het bericht:", *(f"  {line}" for line in message.splitlines()), ""]
    if note:
        lines += ["Van de coördinator:", f"  {note}", ""]
    # the address written out: a copied message is sent from the coordinator's own mailbox, so a plain reply
    # would go to the coordinator, not to the asker (only a mail sent here carries the asker's Reply-To)
    lines += [f"{asker_name} vroeg zelf om dit contact en vindt het goed dat je rechtstreeks mailt.",
              f"Wil je reageren? Mail {asker_name} op {asker_email}.",
              "Kun of wil je niet helpen, laat het de coördinator dan weten"
              + (f" via {reach}" if reach else "") + "; dan zoeken we iemand anders.", "",
              *_GREETING]
    mail = make_message(Forward(), to=to, subject=SUBJECT, sender=sender, text=lines)
    mail["Reply-To"] = asker_email
    if cc_asker:
        mail.confirmation = confirmation(to=asker_email, asker_name=asker_name, question=question,
                                         message=message, sender=sender)
    return mail


def confirmation(*, to: str, asker_name: str, question: str, message: str, sender: str) -> EmailMessage:
    """The asker's confirmation that the request went on: their own words, and nothing of the expert's."""
    lines = [f"Beste {asker_name},", "",
             "We hebben je verzoek om contact via de Werkplaats Sociaal Domein doorgestuurd naar iemand die er "
             "verstand van heeft.",
             "Die persoon heeft je bericht en je e-mailadres gekregen en kan je rechtstreeks antwoorden.",
             "Kan die persoon je niet helpen, dan zoeken we iemand anders.", ""]
    if question:
        lines += ["Je vraag:", f"  {question}", ""]
    lines += ["Je bericht:", *(f"  {line}" for line in message.splitlines()), "", *_GREETING]
    return make_message(EmailMessage(), to=to, subject=CONFIRMATION_SUBJECT, sender=sender, text=lines)


def make_message(mail: _M, *, to: str, subject: str, sender: str, text: list[str]) -> _M:
    mail["Subject"] = subject
    mail["From"] = sender
    mail["To"] = to
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    mail.set_content("\n".join(text))
    return mail


def mailto(mail: EmailMessage) -> str:
    """A ``mailto:`` link that opens the same message in the coordinator's mail program."""
    cc = f"&cc={quote(mail['Cc'])}" if mail["Cc"] else ""
    return (f"mailto:{quote(mail['To'], safe='@')}?subject={quote(mail['Subject'])}{cc}"
            f"&body={quote(mail.get_content())}")


def send(settings: MailSettings, mail: EmailMessage, *, timeout: float = 20.0) -> None:
    """Send through the configured server (STARTTLS and login when set): the message, then the asker's
    confirmation when it carries one. A refused recipient — any, not only all of them — is a ``MailError``, and
    every recipient is asked first, so that one refused means nothing went out at all."""
    if not settings.smtp_host:
        raise MailError("Er is geen mailserver ingesteld (KM_SMTP_HOST).")
    messages = [mail, *([mail.confirmation] if isinstance(mail, Forward) and mail.confirmation else [])]
    sent: list[EmailMessage] = []
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
                smtp.login(settings.smtp_user, password)
            _ask_first(smtp, messages)
            for message in messages:
                # smtplib raises only when every recipient is refused; the others it returns
                try:
                    refused = smtp.send_message(message)
                except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused):
                    raise  # the server answered: it did not take the message
                except OSError as exc:  # smtplib's own errors are OSErrors too: these are the rest
                    # the connection went while the message was on its way: the server may have taken it
                    raise MailUncertain(f"De verbinding met de mailserver viel weg tijdens het versturen ({exc}).",
                                        hint="Misschien is het bericht aangekomen: stuur het niet vanzelf "
                                             "opnieuw.") from None
                if refused:
                    raise smtplib.SMTPRecipientsRefused(refused)
                sent.append(message)
    except (OSError, smtplib.SMTPException) as exc:
        if len(sent) == len(messages):  # the server took every message; only the goodbye (QUIT) went wrong
            log.info("Mail verstuurd; de verbinding sloot daarna niet netjes (%s).", exc)
            return
        failure = _failure(exc, sent, messages)
        # 5xx: this will not change by trying again (4xx, or no server at all: it may)
        failure.permanent = (isinstance(exc, smtplib.SMTPResponseException) and 500 <= exc.smtp_code < 600) or (
            isinstance(exc, smtplib.SMTPRecipientsRefused)
            and all(500 <= code < 600 for code, _ in exc.recipients.values()))
        raise failure from None


def _recipients(mail: EmailMessage) -> list[str]:
    """Whom ``send_message`` sends ``mail`` to (its To, Cc and Bcc)."""
    return [a for _, a in getaddresses([str(v) for k in ("To", "Cc", "Bcc") for v in mail.get_all(k, [])]) if a]


def _ask_first(smtp: smtplib.SMTP, messages: Sequence[EmailMessage]) -> None:
    """Ask the server about every recipient of every message (then take the question back): a refusal now stops
    the lot, so the expert never gets a forward the asker's refused address would leave half done, nor the asker
    a confirmation of a forward that did not happen."""
    sender = getaddresses([str(messages[0]["From"] or "")])[0][1]
    recipients = [a for m in messages for a in _recipients(m)]
    smtp.ehlo_or_helo_if_needed()
    options: list[str] = []
    if not "".join([sender, *recipients]).isascii():
        if not smtp.has_extn("smtputf8"):
            raise smtplib.SMTPNotSupportedError("de mailserver kent geen adressen met letters als é of ü (SMTPUTF8)")
        options.append("SMTPUTF8")
    code, answer = smtp.mail(sender, options)
    if code != 250:
        smtp.rset()
        raise smtplib.SMTPSenderRefused(code, answer, sender)
    refused = {}
    for address in recipients:
        code, answer = smtp.rcpt(address)
        if code not in (250, 251):
            refused[address] = (code, answer)
    smtp.rset()
    if refused:
        raise smtplib.SMTPRecipientsRefused(refused)


def _failure(exc: Exception, sent: Sequence[EmailMessage], messages: Sequence[EmailMessage]) -> MailError:
    """The error in the coordinator's words: which address was refused, and — when the expert did get the message
    and only the confirmation failed — that it must not be sent again."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        reason = "de mailserver weigert " + ", ".join(f"{a} ({code} {_text(answer)})"
                                                     for a, (code, answer) in exc.recipients.items())
    elif isinstance(exc, smtplib.SMTPResponseException):
        reason = f"de mailserver antwoordt {exc.smtp_code} {_text(exc.smtp_error)}"
    else:  # the server's own words help the coordinator (or the admin); they never hold the password
        reason = str(exc) or type(exc).__name__
    if sent:
        done, failed = ", ".join(str(m["To"]) for m in sent), ", ".join(str(m["To"]) for m in messages[len(sent):])
        return MailError(f"Het bericht aan {done} is verstuurd, maar dat aan {failed} niet: {reason}.",
                         hint=f"Stuur het niet opnieuw: zet het verzoek zelf op 'doorgestuurd' en laat {failed} "
                              "het op een andere manier weten.")
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        askers = {a for m in messages[1:] for a in _recipients(m)}
        hint = ("Verstuur het zonder bevestiging aan de vrager, of vraag de vrager om een ander adres."
                if askers & set(exc.recipients) else
                "Controleer het adres (van een expert: in het profiel), of kies iemand anders.")
    else:
        hint = "Controleer KM_SMTP_HOST, KM_SMTP_PORT en de inlog, of stuur het bericht zelf."
    return MailError(f"De mail kon niet worden verstuurd: {reason}. Er is niets verstuurd.", hint=hint)


def _text(answer: bytes | str) -> str:
    return answer.decode("utf-8", "replace") if isinstance(answer, bytes) else answer
