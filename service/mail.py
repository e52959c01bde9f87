"""Forwarding a contact request to the person asked for: a Dutch message, sent through the configured mail
server, or — without one — shown to the coordinator ready to copy.

The message is built apart from the sending, so the inbox shows exactly what would be sent. Python's own
``smtplib`` and ``email`` do the work: both are the standard library's well-kept implementations.

>>> m = compose(to="anna@example.org", expert_name="Anna de Vries", asker_name="Sara Bakker",
...             asker_email="sara@wijkteam.nl", organization="Wijkteam", role="", question="Schulden?",
...             message="Graag contact.", sender="werkplaats@example.org", cc_asker=True)
>>> m["To"], m["Cc"], m["Reply-To"]
('anna@example.org', 'sara@wijkteam.nl', 'sara@wijkteam.nl')
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import quote

from core.errors import MailError
from service.settings import MailSettings

SUBJECT = "Verzoek om contact via de Werkplaats Sociaal Domein"


def compose(*, to: str, expert_name: str, asker_name: str, asker_email: str, organization: str, role: str,
            question: str, message: str, sender: str, cc_asker: bool, note: str = "") -> EmailMessage:
    """The Dutch message to the expert; replies go to the asker. With ``cc_asker`` the asker gets a copy."""
    who = asker_name + "".join(f", {x}" for x in (role, organization) if x)
    lines = [f"Beste {expert_name},", "",
             f"Via de Werkplaats Sociaal Domein zoekt {who} contact met je.", ""]
    if question:
        lines += ["De vraag:", f"  {question}", ""]
    lines += ["Het bericht:", *(f"  {line}" for line in message.splitlines()), ""]
    if note:
        lines += ["Van de coördinator:", f"  {note}", ""]
    lines += [f"Wil je reageren? Beantwoord dit bericht: het gaat naar {asker_name} ({asker_email}).",
              "Kun of wil je niet helpen, laat het de coördinator dan weten; dan zoeken we iemand anders.", "",
              "Met vriendelijke groet,", "De coördinatie van de Werkplaats Sociaal Domein"]
    mail = EmailMessage()
    mail["Subject"] = SUBJECT
    mail["From"] = sender
    mail["To"] = to
    if cc_asker:
        mail["Cc"] = asker_email
    mail["Reply-To"] = asker_email
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    mail.set_content("\n".join(lines))
    return mail


def mailto(mail: EmailMessage) -> str:
    """A ``mailto:`` link that opens the same message in the coordinator's mail program."""
    cc = f"&cc={quote(mail['Cc'])}" if mail["Cc"] else ""
    return (f"mailto:{quote(mail['To'], safe='@')}?subject={quote(mail['Subject'])}{cc}"
            f"&body={quote(mail.get_content())}")


def send(settings: MailSettings, mail: EmailMessage, *, timeout: float = 20.0) -> None:
    """Send through the configured server (STARTTLS and login when set); a refusal is a ``MailError``."""
    if not settings.smtp_host:
        raise MailError("Er is geen mailserver ingesteld (KM_SMTP_HOST).")
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
                smtp.login(settings.smtp_user, password)
            smtp.send_message(mail)
    except (OSError, smtplib.SMTPException) as exc:
        # the server's own words help the coordinator (or the admin); they never hold the password
        raise MailError(f"De mail kon niet worden verstuurd: {exc}.",
                        hint="Controleer KM_SMTP_HOST, KM_SMTP_PORT en de inlog, of stuur het bericht zelf.") from None
