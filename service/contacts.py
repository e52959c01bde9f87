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
from dataclasses import dataclass, field, fields
from typing import Any

from core.errors import NotFoundError, ValidationError
from core.names import fold, redact
from service.container import Kennismakelaar

STATUSES = ("nieuw", "doorgestuurd", "verbonden", "afgewezen", "afgerond")
NEXT: dict[str, tuple[str, ...]] = {
    "nieuw": ("doorgestuurd", "afgewezen"),
    "doorgestuurd": ("verbonden", "afgewezen"),
    "verbonden": ("afgerond",),
    "afgewezen": ("afgerond",),
    "afgerond": (),
}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


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
    if not _EMAIL.match(email):
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


def move(km: Kennismakelaar, request_id: str, status: str, *, note: str | None = None) -> ContactRequest:
    """Move a request to ``status`` (along ``NEXT``), with an optional note of the coordinator."""
    current = get(km, request_id)
    if status not in STATUSES:
        raise ValidationError(f"Onbekende status {status!r}.", hint="Kies uit: " + ", ".join(STATUSES) + ".",
                              field="status")
    if status != current.status and not allowed(current.status, status):
        raise ValidationError(f"Van '{current.status}' kan een verzoek niet naar '{status}'.",
                              hint="Mogelijk: " + (", ".join(NEXT[current.status]) or "niets meer") + ".",
                              field="status")
    changes: dict[str, Any] = {"status": status}
    if status != current.status:
        changes[f"{status}_at"] = now()
    if note is not None:
        changes["note"] = note.strip()
    km.catalog().update_contact_request(request_id, changes)
    return get(km, request_id)


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


def _redactor(km: Kennismakelaar) -> Any:
    marked = km.catalog().marked()
    return lambda text: redact(text, marked)[0]
