"""Contact requests: someone asks to be put in touch with the people who know (issue 10).

A request is one ledger record (``Catalog.add_contact_request``); its status moves along the Werkplaats' own
path — nieuw → doorgestuurd → verbonden / afgewezen → afgerond — and each step is written field by field, so
two coordinators on two workers never undo each other. The asker's details are personal data: they are kept
for ``KM_CONTACT_RETENTION_DAYS`` and can be removed on request (``forget_asker``). An expert's address is never
part of a request: the coordinator forwards it.

>>> allowed("nieuw", "doorgestuurd"), allowed("afgerond", "nieuw")
(True, False)
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from email.message import EmailMessage
from typing import Any

import yaml

from core.errors import ConfigError, NotFoundError, ValidationError
from core.names import email_key, fold, is_email, name_key, name_variants, redact
from matching.availability import PassedOver, unavailable
from service import mail
from service.container import Kennismakelaar
from service.coordinators import Actor
from service.jobs import ingest_text

REQUEST = "contactverzoek"  # the audit log's name for a contact request as a target
STATUSES = ("nieuw", "doorgestuurd", "verbonden", "afgewezen", "afgerond")
NEXT: dict[str, tuple[str, ...]] = {
    "nieuw": ("doorgestuurd", "afgewezen"),
    "doorgestuurd": ("verbonden", "afgewezen"),
    "verbonden": ("afgerond",),
    "afgewezen": ("afgerond",),
    "afgerond": (),
}


@dataclass
class ContactRequest:
    id: str
    name: str
    email: str
    message: str
    created_at: str
    status: str = "nieuw"
    organization: str = ""
    role: str = ""
    question: str = ""
    question_id: str | None = None
    expert_id: str | None = None  # the person asked for, if any
    atelier: str | None = None
    note: str = ""  # the coordinator's
    forwarded_to: str | None = None  # the person it was forwarded to (counts toward their monthly load)
    outcome: str = ""  # what came of it, written when closed
    answered: bool | None = None  # closed as answered (its outcome is then a finding, ``finding_id``)
    finding_id: str | None = None
    changed_at: dict[str, str] = field(default_factory=dict)  # when each status was reached

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> ContactRequest:
        names = {f.name for f in fields(cls)}
        changed = {k.removesuffix("_at"): v for k, v in record.items() if k.endswith("_at") and k != "created_at"
                   and k.removesuffix("_at") in STATUSES}
        return cls(**{k: v for k, v in record.items() if k in names and k != "changed_at"}, changed_at=changed)


def allowed(current: str, wanted: str) -> bool:
    """Whether a request may move from ``current`` to ``wanted``."""
    return wanted in NEXT.get(current, ())


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def submit(km: Kennismakelaar, *, name: str, email: str, message: str, organization: str = "", role: str = "",
           question: str = "", question_id: str | None = None, expert_id: str | None = None) -> ContactRequest:
    """Store a new request after checking it; names of people removed on request are left out of its texts."""
    name, email, message = " ".join(name.split()), email.strip(), message.strip()
    if not name:
        raise ValidationError("Vul je naam in.", field="name")
    if not is_email(email):
        raise ValidationError("Vul een geldig e-mailadres in.", hint="Bijvoorbeeld naam@organisatie.nl.",
                              field="email")
    if not message:
        raise ValidationError("Schrijf kort waarover je contact zoekt.", field="message")
    catalog = km.catalog()
    atelier = None
    if expert_id:
        expert = catalog.public_expert(expert_id)
        if expert is None:
            raise NotFoundError(f"Expert {expert_id!r} bestaat niet of is niet openbaar.")
        atelier = (expert.get("ateliers") or [None])[0]
    if question_id:
        asked = km.broker().questions.get(question_id)  # NotFoundError for an unknown or expired question
        question = question or asked.get("text", "")
        atelier = atelier or asked.get("atelier")
    clean = _redactor(km)
    request = ContactRequest(id=uuid.uuid4().hex, name=name, email=email, message=clean(message),
                             created_at=now(), organization=organization.strip(), role=role.strip(),
                             question=clean(question.strip()), question_id=question_id, expert_id=expert_id,
                             atelier=atelier)
    record = {k: v for k, v in request.__dict__.items() if k != "changed_at"}
    catalog.add_contact_request(request.id, {**record, "email_key": fold(email)})
    return request


def get(km: Kennismakelaar, request_id: str) -> ContactRequest:
    found = km.catalog().contact_request(request_id) if re.fullmatch(r"[0-9a-f]{32}", request_id) else None
    if found is None:
        raise NotFoundError(f"Contactverzoek {request_id!r} bestaat niet.")
    return ContactRequest.from_record(found)


def listing(km: Kennismakelaar, *, status: str | None = None, atelier: str | None = None) -> list[ContactRequest]:
    """Every request (of one status or atelier), newest first."""
    if status is not None and status not in STATUSES:
        raise ValidationError(f"Onbekende status {status!r}.", hint="Kies uit: " + ", ".join(STATUSES) + ".",
                              field="status")
    found = [ContactRequest.from_record(r) for r in km.catalog().contact_requests()]
    chosen = [r for r in found if (status is None or r.status == status) and (atelier is None or r.atelier == atelier)]
    return sorted(chosen, key=lambda r: r.created_at, reverse=True)


def move(km: Kennismakelaar, request_id: str, status: str, *, note: str | None = None,
         forwarded_to: str | None = None, actor: Actor) -> ContactRequest:
    """Move a request to ``status`` (along ``NEXT``), with an optional note of the coordinator; ``forwarded_to``
    records who it went to (the coordinator sent the message themselves)."""
    current = get(km, request_id)
    if status not in STATUSES:
        raise ValidationError(f"Onbekende status {status!r}.", hint="Kies uit: " + ", ".join(STATUSES) + ".",
                              field="status")
    if status == "afgerond" and current.status != "afgerond":
        raise ValidationError("Een verzoek wordt afgerond met zijn uitkomst.",
                              hint="Gebruik 'Afronden' (POST /api/contact-requests/{id}/close).", field="status")
    if status != current.status and not allowed(current.status, status):
        raise ValidationError(f"Van '{current.status}' kan een verzoek niet naar '{status}'.",
                              hint="Mogelijk: " + (", ".join(NEXT[current.status]) or "niets meer") + ".",
                              field="status")
    changes: dict[str, Any] = {"status": status}
    if status != current.status:
        changes[f"{status}_at"] = now()
    if note is not None:
        changes["note"] = note.strip()
    if forwarded_to:
        if km.catalog().expert(forwarded_to) is None:
            raise ValidationError(f"Expert {forwarded_to!r} bestaat niet.", field="forwarded_to")
        changes |= {"forwarded_to": forwarded_to, "forwarded_at": now()}
    km.catalog().update_contact_request(request_id, changes)
    km.audit().record(actor, "contactverzoek-doorgestuurd" if forwarded_to else "contactverzoek-gewijzigd",
                      REQUEST, request_id)
    return get(km, request_id)


@dataclass
class Forwarded:
    """A forward: the message, and whether the mail server took it (without one, it waits to be copied)."""

    mail: EmailMessage
    sent: bool
    request: ContactRequest

    def to_json(self) -> dict[str, Any]:
        return {"sent": self.sent, "to": self.mail["To"], "cc": self.mail["Cc"], "subject": self.mail["Subject"],
                "body": self.mail.get_content(), "mailto": mail.mailto(self.mail)}


def forward(km: Kennismakelaar, request_id: str, *, expert_id: str, cc_asker: bool = False,
            note: str = "", actor: Actor) -> Forwarded:
    """Write the Dutch message to ``expert_id`` and send it when a mail server is set (the request is then
    ``doorgestuurd`` to that person); without one, the message comes back unsent, for the coordinator to copy."""
    request = get(km, request_id)
    if request.status not in ("nieuw", "doorgestuurd"):
        raise ValidationError(f"Een verzoek met status '{request.status}' wordt niet meer doorgestuurd.",
                              field="status")
    expert = km.catalog().expert(expert_id)
    if expert is None:
        raise NotFoundError(f"Expert {expert_id!r} bestaat niet.")
    if not is_email(expert.get("email") or ""):
        raise ValidationError(f"Van {expert['name']} is geen (geldig) e-mailadres bekend.",
                              hint="Vul het aan in het profiel, of kies iemand anders.", field="expert_id")
    settings = km.settings
    sender = settings.mail.smtp_from or settings.service.contact_email or ""
    message = mail.compose(to=expert["email"], expert_name=expert["name"], asker_name=request.name,
                           asker_email=request.email, organization=request.organization, role=request.role,
                           question=request.question, message=request.message, sender=sender, cc_asker=cc_asker,
                           note=note.strip())
    if not settings.mail.configured:
        return Forwarded(message, False, request)
    if not sender:
        raise ConfigError("Er is geen afzender ingesteld.", hint="Stel KM_SMTP_FROM (of KM_CONTACT_EMAIL) in.")
    mail.send(settings.mail, message)
    changes: dict[str, Any] = {"forwarded_to": expert_id, "forwarded_cc": cc_asker, "forwarded_at": now()}
    if request.status == "nieuw":
        changes |= {"status": "doorgestuurd", "doorgestuurd_at": now()}
    km.catalog().update_contact_request(request_id, changes)
    km.audit().record(actor, "contactverzoek-doorgestuurd", REQUEST, request_id)
    return Forwarded(message, True, get(km, request_id))


def suggestions(km: Kennismakelaar, request: ContactRequest, limit: int = 3) -> dict[str, Any]:
    """The people to forward a request to: the person asked for first, then the best matches for its question
    — each with a reason when they are passed over (unavailable, full this month). Remembered until the
    store changes (the inbox shows them for every request)."""
    memo = km.catalog().memo("suggestions")
    key = f"{dt.date.today().isoformat()}:{request.id}"  # an absence that ends at midnight ends here too
    if key not in memo:
        passed: list[PassedOver] = []
        text = (request.question or request.message)[: km.settings.service.max_query_chars]
        try:
            found, _ = km.broker().experts(text, limit=limit, passed_over=passed)
        except ValidationError:  # a text with nothing to search on: the person asked for, if any
            found = []
        people = [{"id": e.id, "name": e.name, "role": e.role, "organization": e.organization,
                   "has_email": is_email(e.email or "")} for e in found]
        away = unavailable(km.catalog())
        asked = km.catalog().expert(request.expert_id) if request.expert_id else None
        if asked is not None and asked["expert_id"] not in {p["id"] for p in people}:
            if asked["expert_id"] in away:
                passed.insert(0, PassedOver(asked["expert_id"], asked["name"], away[asked["expert_id"]]))
            else:
                people.insert(0, {"id": asked["expert_id"], "name": asked["name"], "role": asked.get("role", ""),
                                  "organization": asked.get("organization", ""),
                                  "has_email": is_email(asked.get("email") or "")})
        memo[key] = {"people": people, "passed_over": [p.to_json() for p in passed]}
    return dict(memo[key])


def close(km: Kennismakelaar, request_id: str, *, outcome: str, answered: bool, themes: Sequence[str] = (),
          question: str | None = None, actor: Actor) -> ContactRequest:
    """Close a request (``afgerond``) with what came of it. Answered, its outcome becomes a finding of kind
    ``kennisvraag`` — the question (as the coordinator words it; by default the one asked), what was learnt, the
    atelier and themes, the expert as participant if they consented — and never the asker: their name and address
    are taken out of both texts, and their message is never used. Its question leaves the agenda."""
    request = get(km, request_id)
    if not allowed(request.status, "afgerond"):
        raise ValidationError(f"Van '{request.status}' kan een verzoek niet naar 'afgerond'.",
                              hint="Eerst verbonden of afgewezen.", field="status")
    clean = _redactor(km, request, _unnamed(km, request))
    outcome = clean(outcome.strip())
    asked = clean(" ".join((request.question if question is None else question).split()))
    if answered and not outcome.strip():
        raise ValidationError("Schrijf kort wat de vraag beantwoordde: dat wordt vindbaar voor de volgende.",
                              field="outcome")
    if answered and not asked:
        raise ValidationError("Schrijf de vraag op zoals anderen haar zouden stellen.", field="question")
    resolved = [km.taxonomy.resolve_theme(t) for t in themes]
    if None in resolved:
        raise ValidationError("Onbekend thema.", field="themes")
    changes: dict[str, Any] = {"status": "afgerond", "afgerond_at": now(), "outcome": outcome, "answered": answered}
    if answered:
        changes["finding_id"] = _finding(km, request, asked, outcome, [t for t in resolved if t])
        km.audit().record(actor, "bevinding-opgenomen", "document", changes["finding_id"])
        if request.question_id:
            km.catalog().close_questions([request.question_id], f"contact:{request.id}")
    km.catalog().update_contact_request(request_id, changes)
    km.audit().record(actor, "contactverzoek-afgerond", REQUEST, request_id)
    return get(km, request_id)


def remove(km: Kennismakelaar, request_id: str, actor: Actor) -> None:
    """Delete a request, at its asker's request (with their name and address)."""
    get(km, request_id)  # 404 for an unknown id
    km.catalog().delete_contact_requests([request_id])
    km.audit().record(actor, "contactverzoek-verwijderd", REQUEST, request_id)


def _finding(km: Kennismakelaar, request: ContactRequest, question: str, outcome: str, themes: list[str]) -> str:
    """Write the outcome as a Markdown file in the uploads folder and ingest it now (findable at once)."""
    expert_id = request.forwarded_to or request.expert_id
    expert = km.catalog().public_expert(expert_id) if expert_id else None  # named only with consent
    doc_id = f"kennisvraag-{request.id[:12]}"
    meta: dict[str, Any] = {"id": doc_id, "title": _title(question), "kind": "kennisvraag",
                            "date": dt.date.today().isoformat(),
                            "participants": [expert["name"]] if expert else []}
    if request.atelier:
        meta["ateliers"] = [request.atelier]
    if themes:
        meta["themes"] = themes
    body = f"## De vraag\n\n{question}\n\n## Wat we leerden\n\n{outcome}\n"
    text = "---\n" + yaml.safe_dump(meta, allow_unicode=True, sort_keys=False) + "---\n\n" + body
    return ingest_text(km.ingestor(), km.settings.store.data_dir, f"{doc_id}.md", text)


def _title(question: str, limit: int = 120) -> str:
    """A question as a title: whole words, at most ``limit`` characters.

    >>> _title("Hoe bereik je jongeren met schulden die geen hulp zoeken, en wat werkt dan?", 40)
    'Hoe bereik je jongeren met schulden die…'
    """
    one = " ".join(question.split())
    return one if len(one) <= limit else one[:limit].rsplit(" ", 1)[0] + "…"


def forget_asker(km: Kennismakelaar, email: str) -> int:
    """Remove every request of one asker (a request to be forgotten); returns how many went."""
    key = fold(email.strip())
    catalog = km.catalog()
    ids = [r["key"] for r in catalog.contact_requests() if r.get("email_key") == key]
    catalog.delete_contact_requests(ids)
    return len(ids)


def purge(km: Kennismakelaar, retention_days: int) -> int:
    """Delete requests older than the retention period; returns how many went."""
    cutoff = (dt.datetime.now(dt.UTC) - dt.timedelta(days=retention_days)).isoformat(timespec="seconds")
    catalog = km.catalog()
    ids = [r["key"] for r in catalog.contact_requests() if str(r.get("created_at", "")) < cutoff]
    catalog.delete_contact_requests(ids)
    return len(ids)


def _unnamed(km: Kennismakelaar, request: ContactRequest) -> list[dict[str, Any]]:
    """The people of a request who may not be named in public: those without consent."""
    catalog = km.catalog()
    ids = {i for i in (request.forwarded_to, request.expert_id) if i}
    return [e for i in ids if (e := catalog.expert(i)) is not None and catalog.public_expert(i) is None]


def _redactor(km: Kennismakelaar, asker: ContactRequest | None = None,
              hidden: Sequence[dict[str, Any]] = ()) -> Any:
    """Names of people removed on request out of a text — and, for a text made public, the asker's own and those
    of people without consent."""
    marked = km.catalog().marked()
    own = {*name_variants(asker.name), name_key(asker.name), email_key(asker.email)} if asker else set()
    for person in hidden:
        own |= {*name_variants(person["name"]), name_key(person["name"])}
        if person.get("email"):
            own.add(email_key(person["email"]))
    return lambda text: redact(text, lambda key: key in own or marked(key))[0]
