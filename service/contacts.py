"""Contact requests: someone asks to be put in touch with the people who know (issue 10, issue 22).

A request is one ledger record (``Catalog.add_contact_request``); its status moves along the Werkplaats' own
path — nieuw → doorgestuurd → verbonden / afgewezen → afgerond. Every change is a conditional write on the
version it was based on (``rev``, ``core.store.revisions``): of two coordinators — or two workers — moving one
request at once, exactly one wins and the other is told, instead of a request ending both rejected and
forwarded. A coordinator's form carries the version it showed, so a stale form is refused the same way.

The asker's details are personal data: they are kept for ``KM_CONTACT_RETENTION_DAYS`` and can be removed on
request (``remove``, ``forget_asker``), with the finding made from the request if the asker wants that too. The
asker decides what becomes public: their own words only if they ticked the box on the form
(``publish_consent``); otherwise the public question is the coordinator's own wording, and nothing is published
before the coordinator has seen exactly what will be (``preview``, then ``close`` with its digest). An expert's
address is never part of a request: the coordinator forwards it.

>>> allowed("nieuw", "doorgestuurd"), allowed("afgerond", "nieuw")
(True, False)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import yaml

from core.errors import ConfigError, ConflictError, NotFoundError, ValidationError
from core.glossary import label
from core.names import REDACTED, email_key, fold, is_email, name_key, name_variants, redact
from core.store.revisions import revision, stamped
from core.visibility import COORDINATORS
from matching.availability import PassedOver, unavailable
from service import following, mail
from service.container import Kennismakelaar
from service.coordinators import Actor
from service.jobs import files_dir, ingest_text

log = logging.getLogger(__name__)

REQUEST = "contactverzoek"  # the audit log's name for a contact request as a target
STATUSES = ("nieuw", "doorgestuurd", "verbonden", "afgewezen", "afgerond")
NEXT: dict[str, tuple[str, ...]] = {
    "nieuw": ("doorgestuurd", "afgewezen"),
    "doorgestuurd": ("verbonden", "afgewezen"),
    "verbonden": ("afgerond",),
    "afgewezen": ("afgerond",),
    "afgerond": (),
}
# The longest texts a request takes, from the web form and the API alike (the API's schema imports these).
MAX_NAME = 200
MAX_EMAIL = 200
MAX_ORGANIZATION = 200
MAX_ROLE = 80
MAX_MESSAGE = 4000
MAX_QUESTION = 4000
MAX_PUBLIC_QUESTION = 2000  # a finding's question, as the coordinator words it
MAX_OUTCOME = 4000
LIMITS = {"name": MAX_NAME, "email": MAX_EMAIL, "organization": MAX_ORGANIZATION, "role": MAX_ROLE,
          "message": MAX_MESSAGE, "question": MAX_QUESTION}
_LABELS = {"name": "Je naam", "email": "Je e-mailadres", "organization": "De naam van je organisatie",
           "role": "Je rol", "message": "Je bericht", "question": "Je vraag"}
# the texts of a request: what a removal's markers are applied to before each write
_TEXTS = ("name", "organization", "role", "message", "question", "note", "outcome")
NUMBER_LENGTH = 8
STALE = "Dit verzoek is intussen gewijzigd door iemand anders; jouw wijziging is niet opgeslagen."
RELOAD = "Open het verzoek opnieuw, kijk wat er veranderde en doe je wijziging nog eens als die nog nodig is."
NOT_SEEN = "Bekijk eerst wat er openbaar wordt: er is nog niets gepubliceerd."
# words of a name that are no name on their own ("de" in "Anna de Vries"): never taken out of a text alone
_PARTICLES = frozenset({"van", "de", "der", "den", "het", "t", "ten", "ter", "te", "in", "op", "s", "la", "le",
                        "du", "da", "di", "del", "dos", "el", "al", "bin", "ben", "von", "zu", "d", "o", "mc"})
_WORD = re.compile(r"[^\W_]+")


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
    publish_consent: bool = False  # the asker agreed that their own words may be published
    duplicate_of: str | None = None  # merged into that request (``merge``): closed, its notes kept there
    rev: int = 0  # the version (``core.store.revisions``): what an ETag and a form's hidden field carry
    changed_at: dict[str, str] = field(default_factory=dict)  # when each status was reached

    @property
    def number(self) -> str:
        """The number the asker was told to quote (``number_of``)."""
        return number_of(self.id)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> ContactRequest:
        names = {f.name for f in fields(cls)}
        changed = {k.removesuffix("_at"): v for k, v in record.items() if k.endswith("_at") and k != "created_at"
                   and k.removesuffix("_at") in STATUSES}
        return cls(**{k: v for k, v in record.items() if k in names and k not in ("changed_at", "rev")},
                   rev=revision(record), changed_at=changed)


def number_of(request_id: str) -> str:
    """The short number an asker is given for a request: the first eight characters of its id — enough to tell
    requests apart, short enough to quote in a mail.

    >>> number_of("0123456789abcdef0123456789abcdef")
    '01234567'
    """
    return request_id[:NUMBER_LENGTH]


def allowed(current: str, wanted: str) -> bool:
    """Whether a request may move from ``current`` to ``wanted``."""
    return wanted in NEXT.get(current, ())


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def check_lengths(**texts: str) -> None:
    """Refuse a text longer than its limit (``LIMITS``), naming its field.

    >>> check_lengths(name="Sara", role="r" * 81)
    Traceback (most recent call last):
    core.errors.ValidationError: Je rol is te lang: hoogstens 80 tekens (nu 81). Maak het korter.
    """
    for name, text in texts.items():
        if len(text) > LIMITS[name]:
            raise ValidationError(f"{_LABELS[name]} is te lang: hoogstens {LIMITS[name]} tekens (nu {len(text)}).",
                                  hint="Maak het korter.", field=name)


def submit(km: Kennismakelaar, *, name: str, email: str, message: str, organization: str = "", role: str = "",
           question: str = "", question_id: str | None = None, expert_id: str | None = None,
           publish_consent: bool = False) -> ContactRequest:
    """Store a new request after checking it; names of people removed on request are left out of its texts —
    also of a removal that ran while it was written (looked at again after the write)."""
    name, email, message = " ".join(name.split()), email.strip(), message.strip()
    organization, role, question = organization.strip(), role.strip(), question.strip()
    if not name:
        raise ValidationError("Vul je naam in.", field="name")
    check_lengths(name=name, email=email)
    if not is_email(email):
        raise ValidationError("Vul een geldig e-mailadres in.", hint="Bijvoorbeeld naam@organisatie.nl.",
                              field="email")
    if not message:
        raise ValidationError("Schrijf kort waarover je contact zoekt.", field="message")
    check_lengths(organization=organization, role=role, message=message, question=question)
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
    forgotten = catalog.forgotten()
    request = ContactRequest(id=uuid.uuid4().hex, name=name, email=email, message=message, created_at=now(),
                             organization=organization, role=role, question=question, question_id=question_id,
                             expert_id=expert_id, atelier=atelier, publish_consent=publish_consent)
    record = {k: v for k, v in request.__dict__.items() if k not in ("changed_at", "rev")}
    catalog.add_contact_request(request.id, stamped(_cleaned(km, {**record, "email_key": fold(email)}, forgotten)))
    _look_again(km, request.id, forgotten)
    return get(km, request.id)


def get(km: Kennismakelaar, request_id: str) -> ContactRequest:
    return ContactRequest.from_record(_record(km, request_id))


def _record(km: Kennismakelaar, request_id: str) -> dict[str, Any]:
    found = km.catalog().contact_request(request_id) if re.fullmatch(r"[0-9a-f]{32}", request_id) else None
    if found is None:
        raise NotFoundError(f"Contactverzoek {request_id!r} bestaat niet (meer).")
    return found


def listing(km: Kennismakelaar, *, status: str | None = None, atelier: str | None = None,
            number: str | None = None) -> list[ContactRequest]:
    """Every request (of one status or atelier, or whose number starts with ``number``), newest first."""
    if status is not None and status not in STATUSES:
        raise ValidationError(f"Onbekende status {status!r}.", hint="Kies uit: " + ", ".join(STATUSES) + ".",
                              field="status")
    wanted = (number or "").strip().lower()
    found = [ContactRequest.from_record(r) for r in km.catalog().contact_requests()]
    chosen = [r for r in found if (status is None or r.status == status) and (atelier is None or r.atelier == atelier)
              and r.id.startswith(wanted)]
    return sorted(chosen, key=lambda r: r.created_at, reverse=True)


def by_number(km: Kennismakelaar, number: str) -> ContactRequest:
    """The one request with this number (or id), as the asker or a coordinator quotes it."""
    wanted = number.strip().lower()
    if not (NUMBER_LENGTH <= len(wanted) <= 32 and re.fullmatch(r"[0-9a-f]+", wanted)):
        raise ValidationError(f"Geef het nummer van het verzoek: de {NUMBER_LENGTH} tekens die de vrager kreeg "
                              "(cijfers en a-f).", field="into")
    found = [r for r in km.catalog().contact_requests() if str(r["key"]).startswith(wanted)]
    if len(found) != 1:  # two ids that share eight characters: one in four billion, but then the whole id
        raise NotFoundError(f"Er is geen verzoek met nummer {wanted}." if not found else
                            f"Meer verzoeken beginnen met {wanted}: geef het hele nummer.")
    return ContactRequest.from_record(found[0])


# --- changes: each one a write on the version it was based on ------------------------------------------------


def _said(status: str) -> str:
    """A status as the pages name it: ‘in contact gebracht’, not ‘verbonden’."""
    return label("status", status).lower()


def _change(km: Kennismakelaar, request_id: str, rev: int | None,
            plan: Callable[[ContactRequest], dict[str, Any]]) -> tuple[dict[str, Any], ContactRequest]:
    """Write ``plan``'s changes to the request as it is stored now, on the condition that nobody changed it
    since it was read here (and, given ``rev``, since the coordinator saw it). ``plan`` checks the change
    against what it reads. Returns the record as it was, and the request as it is now."""
    catalog = km.catalog()
    forgotten = catalog.forgotten()  # before the read: a removal after it is caught by ``_look_again``
    before = _record(km, request_id)
    current = ContactRequest.from_record(before)
    if rev is not None and rev != current.rev:
        raise ConflictError(STALE, hint=RELOAD, field="rev")
    changes = plan(current)
    if not _replace_if(km, request_id, _cleaned(km, {**before, **changes}, forgotten), current.rev):
        _record(km, request_id)  # deleted meanwhile: not found
        raise ConflictError(STALE, hint=RELOAD, field="rev")
    _look_again(km, request_id, forgotten)
    return before, get(km, request_id)


def _replace_if(km: Kennismakelaar, request_id: str, record: dict[str, Any], expected: int) -> bool:
    """Replace the request's ledger record if it is still at version ``expected``; ``False`` if another write came
    first or it is gone."""
    return km.catalog().replace_contact_request(request_id, record, expected)


def _cleaned(km: Kennismakelaar, record: dict[str, Any], forgotten: frozenset[str]) -> dict[str, Any]:
    """The record with the names of people removed on request (``forgotten``'s markers) out of its texts."""
    if not forgotten:
        return record
    marked = km.catalog().marked(forgotten)
    return {k: redact(v, marked)[0] if k in _TEXTS and isinstance(v, str) else v for k, v in record.items()}


def _look_again(km: Kennismakelaar, request_id: str, forgotten: frozenset[str]) -> None:
    """A removal that ran while the request was written scrubbed the ledger before (or while) this write: with
    markers that changed since ``forgotten`` was read, the request is scrubbed and unlinked again, field by
    field (so nothing else of it is touched)."""
    catalog = km.catalog()
    markers = catalog.forgotten()
    if markers == forgotten:
        return
    record = catalog.contact_request(request_id)
    if record is None:
        return
    cleaned = _cleaned(km, record, markers)
    changes = {k: v for k, v in cleaned.items() if v != record[k]}
    changes |= {f: None for f in ("expert_id", "forwarded_to") if record.get(f)
                and catalog.is_forgotten(str(record[f]), markers)}
    if changes:  # the text written first may be in files the removal rewrote already: they are rewritten again
        with catalog.erasing("requests"):
            catalog.update_contact_request(request_id, changes)


def move(km: Kennismakelaar, request_id: str, status: str | None = None, *, note: str | None = None,
         forwarded_to: str | None = None, actor: Actor, rev: int | None = None) -> ContactRequest:
    """Move a request to ``status`` (along ``NEXT``; ``None``: it stays), with an optional note of the
    coordinator; ``forwarded_to`` records who it went to (the coordinator sent the message themselves).
    ``rev``: the version the coordinator saw (a ``ConflictError`` if it changed since)."""
    if status is not None and status not in STATUSES:
        raise ValidationError(f"Onbekende status {status!r}.", hint="Kies uit: " + ", ".join(STATUSES) + ".",
                              field="status")
    if note is not None and len(note) > MAX_MESSAGE:
        raise ValidationError(f"De notitie is te lang: hoogstens {MAX_MESSAGE} tekens.", field="note")
    if forwarded_to and km.catalog().expert(forwarded_to) is None:
        raise ValidationError(f"Expert {forwarded_to!r} bestaat niet.", field="forwarded_to")

    def plan(current: ContactRequest) -> dict[str, Any]:
        wanted = status or current.status
        if wanted == "afgerond" and current.status != "afgerond":
            raise ValidationError("Een verzoek wordt afgerond met zijn uitkomst.",
                                  hint="Gebruik 'Afronden' (POST /api/contact-requests/{id}/close).", field="status")
        if wanted != current.status and not allowed(current.status, wanted):
            raise ValidationError(f"Van ‘{_said(current.status)}’ kan een verzoek niet naar ‘{_said(wanted)}’.",
                                  hint="Mogelijk: " + (", ".join(NEXT[current.status]) or "niets meer") + ".",
                                  field="status")
        changes: dict[str, Any] = {"status": wanted}
        if wanted != current.status:
            changes[f"{wanted}_at"] = now()
        if note is not None:
            changes["note"] = note.strip()
        if forwarded_to:
            changes |= {"forwarded_to": forwarded_to, "forwarded_at": now()}
        return changes

    _, moved = _change(km, request_id, rev, plan)
    km.audit().record(actor, "contactverzoek-doorgestuurd" if forwarded_to else "contactverzoek-gewijzigd",
                      REQUEST, request_id)
    return moved


@dataclass
class Forwarded:
    """A forward: the message, and whether the mail server took it (without one, it waits to be copied)."""

    mail: EmailMessage
    sent: bool
    request: ContactRequest

    def to_json(self) -> dict[str, Any]:
        out = {"sent": self.sent, "to": self.mail["To"], "cc": self.mail["Cc"], "subject": self.mail["Subject"],
               "body": self.mail.get_content(), "mailto": mail.mailto(self.mail), "confirmation": None}
        confirmation = getattr(self.mail, "confirmation", None)
        if confirmation is not None:  # without a mail server the coordinator sends it too: a message of its own
            out["confirmation"] = {"to": confirmation["To"], "subject": confirmation["Subject"],
                                   "body": confirmation.get_content(), "mailto": mail.mailto(confirmation)}
        return out


def forward(km: Kennismakelaar, request_id: str, *, expert_id: str, cc_asker: bool = False,
            note: str = "", actor: Actor, rev: int | None = None) -> Forwarded:
    """Write the Dutch message to ``expert_id`` and send it when a mail server is set (the request is then
    ``doorgestuurd`` to that person); without one, the message comes back unsent, for the coordinator to copy.
    The request is claimed first (a conditional write) and given back if the mail server refuses: a request
    another coordinator just rejected is never mailed."""
    request = get(km, request_id)
    _forwardable(request)
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
                           note=note.strip(), coordinators=settings.service.contact_email or "")
    if not settings.mail.configured:
        return Forwarded(message, False, request)
    if not sender:
        raise ConfigError("Er is geen afzender ingesteld.", hint="Stel KM_SMTP_FROM (of KM_CONTACT_EMAIL) in.")

    def plan(current: ContactRequest) -> dict[str, Any]:
        _forwardable(current)
        changes: dict[str, Any] = {"forwarded_to": expert_id, "forwarded_cc": cc_asker, "forwarded_at": now()}
        if current.status == "nieuw":
            changes |= {"status": "doorgestuurd", "doorgestuurd_at": now()}
        return changes

    before, claimed = _change(km, request_id, rev, plan)
    try:
        mail.send(settings.mail, message)
    except BaseException:
        _replace_if(km, request_id, before, claimed.rev)  # nothing was sent: nothing moved (unless changed since)
        raise
    km.audit().record(actor, "contactverzoek-doorgestuurd", REQUEST, request_id)
    return Forwarded(message, True, claimed)


def _forwardable(request: ContactRequest) -> None:
    if request.status not in ("nieuw", "doorgestuurd"):
        raise ValidationError(f"Een verzoek met status ‘{_said(request.status)}’ wordt niet meer doorgestuurd.",
                              field="status")


def suggestions(km: Kennismakelaar, request: ContactRequest, limit: int = 3) -> dict[str, Any]:
    """The people to forward a request to: the person asked for first (if they are still public), then the best
    matches for its question — each with a reason when they are passed over (unavailable, full this month).
    One expert search: asked for when a coordinator opens the request, never for a list of them; remembered
    until the store changes."""
    memo = km.catalog().memo("suggestions")
    key = f"{dt.date.today().isoformat()}:{request.id}"  # an absence that ends at midnight ends here too
    if key not in memo:
        passed: list[PassedOver] = []
        text = (request.question or request.message)[: km.settings.service.max_query_chars]
        try:
            found, _ = km.broker(COORDINATORS).experts(text, limit=limit, passed_over=passed)
        except ValidationError:  # a text with nothing to search on: the person asked for, if any
            found = []
        people = [{"id": e.id, "name": e.name, "role": e.role, "organization": e.organization,
                   "has_email": is_email(e.email or "")} for e in found]
        # the person the asker chose comes first (the inbox pre-selects the first), also when the search ranked
        # them lower; someone who withdrew their consent after the request was made is no longer proposed
        asked = km.catalog().public_expert(request.expert_id) if request.expert_id else None
        if asked is not None:
            chosen = asked["expert_id"]
            away = unavailable(km.catalog())
            people = [p for p in people if p["id"] != chosen]
            if chosen in away:
                if chosen not in {p.id for p in passed}:
                    passed.insert(0, PassedOver(chosen, asked["name"], away[chosen]))
            else:
                people.insert(0, {"id": chosen, "name": asked["name"], "role": asked.get("role", ""),
                                  "organization": asked.get("organization", ""),
                                  "has_email": is_email(asked.get("email") or "")})
        memo[key] = {"people": people, "passed_over": [p.to_json() for p in passed]}
    return dict(memo[key])


# --- closing, and the finding it may publish -----------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """What closing a request as answered would publish, exactly: the coordinator sees it before it is."""

    document_id: str
    title: str
    question: str
    outcome: str
    participants: list[str]
    ateliers: list[str]
    themes: list[str]
    own_words: bool  # the public question is the asker's (they agreed to that)
    text: str  # the file that is published, word for word

    @property
    def digest(self) -> str:
        """What the coordinator saw: ``close`` publishes only a finding with this digest."""
        return hashlib.sha256(self.text.encode()).hexdigest()[:32]

    def to_json(self) -> dict[str, Any]:
        return {**{f.name: getattr(self, f.name) for f in fields(self)}, "digest": self.digest}


def preview(km: Kennismakelaar, request_id: str, *, outcome: str, question: str | None = None,
            themes: Sequence[str] = ()) -> Finding:
    """The finding closing ``request_id`` as answered would publish: the question (the coordinator's wording;
    the asker's own only if they agreed on the form), what was learnt, the atelier and themes, the expert as
    participant if they consented — never the asker: their name (in full, and each name word alone), address and
    message stay out, as do the names of people without consent and of people removed on request."""
    request = get(km, request_id)
    _closable(request)
    clean = _public_redactor(km, request)
    wording = " ".join((question or "").split())
    if len(wording) > MAX_PUBLIC_QUESTION or len(outcome) > MAX_OUTCOME:
        raise ValidationError(f"Houd het kort: de vraag hoogstens {MAX_PUBLIC_QUESTION} tekens, wat het opleverde "
                              f"hoogstens {MAX_OUTCOME}.", field="question" if len(wording) > MAX_PUBLIC_QUESTION
                              else "outcome")
    if not wording and request.publish_consent:
        wording = " ".join(request.question.split())
    if not wording:
        raise ValidationError("Schrijf de vraag op zoals anderen haar zouden stellen, in je eigen woorden.",
                              hint="De vrager gaf geen toestemming om de eigen woorden openbaar te maken."
                              if not request.publish_consent else None, field="question")
    own = _same_words(wording, request.question) or _same_words(wording, request.message)
    if own and not (request.publish_consent and _same_words(wording, request.question)):
        raise ValidationError("Dit zijn de woorden van de vrager, en die mogen niet openbaar worden.",
                              hint="Schrijf de vraag in je eigen woorden, zonder wat de vrager over zichzelf "
                                   "vertelde.", field="question")
    asked, learnt = clean(wording), clean(outcome.strip())
    if not learnt:
        raise ValidationError("Schrijf kort wat de vraag beantwoordde: dat wordt vindbaar voor de volgende.",
                              field="outcome")
    resolved = [km.taxonomy.resolve_theme(t) for t in themes]
    if None in resolved:
        raise ValidationError("Onbekend thema.", field="themes")
    expert_id = request.forwarded_to or request.expert_id
    expert = km.catalog().public_expert(expert_id) if expert_id else None  # named only with consent
    doc_id = f"kennisvraag-{request.id[:12]}"
    # published: open to anyone, whatever the default for files (the coordinator saw it as it goes out)
    meta: dict[str, Any] = {"id": doc_id, "title": _title(asked), "kind": "kennisvraag",
                            "date": dt.date.today().isoformat(), "participants": [expert["name"]] if expert else [],
                            "visibility": "openbaar"}
    if request.atelier:
        meta["ateliers"] = [request.atelier]
    if themes:
        meta["themes"] = [t for t in resolved if t]
    # labels in the paragraphs, not headings: the short question would share a passage with the answer under
    # the heading "De vraag" alone, and the document page would run the two together
    body = f"**De vraag:** {asked}\n\n**Wat we leerden:** {learnt}\n"
    text = "---\n" + yaml.safe_dump(meta, allow_unicode=True, sort_keys=False) + "---\n\n" + body
    return Finding(document_id=doc_id, title=meta["title"], question=asked, outcome=learnt,
                   participants=meta["participants"], ateliers=meta.get("ateliers", []),
                   themes=meta.get("themes", []), own_words=own, text=text)


def close(km: Kennismakelaar, request_id: str, *, outcome: str, answered: bool, themes: Sequence[str] = (),
          question: str | None = None, seen: str | None = None, actor: Actor,
          rev: int | None = None) -> ContactRequest:
    """Close a request (``afgerond``) with what came of it. Answered, its outcome becomes a finding of kind
    ``kennisvraag`` (``preview``) — published only if ``seen`` is the digest of that very finding: what the
    coordinator checked is what goes out, word for word. Its question leaves the agenda."""
    finding = preview(km, request_id, outcome=outcome, question=question, themes=themes) if answered else None
    if finding is not None and seen != finding.digest:
        raise ValidationError(NOT_SEEN, hint="Vraag het voorbeeld op (POST /api/contact-requests/{id}/preview) en "
                                             "geef de digest mee als 'preview'.", field="preview")
    if len(outcome) > MAX_OUTCOME:
        raise ValidationError(f"Wat het opleverde is te lang: hoogstens {MAX_OUTCOME} tekens.", field="outcome")
    request = get(km, request_id)
    learnt = finding.outcome if finding else _public_redactor(km, request)(outcome.strip())

    def plan(current: ContactRequest) -> dict[str, Any]:
        _closable(current)
        return {"status": "afgerond", "afgerond_at": now(), "outcome": learnt, "answered": answered,
                "finding_id": finding.document_id if finding else None}

    before, closed = _change(km, request_id, rev, plan)
    if finding is not None:
        try:
            ingest_text(km.ingestor(), km.settings.store.data_dir, f"{finding.document_id}.md", finding.text)
        except BaseException:
            _replace_if(km, request_id, before, closed.rev)  # not published: not closed either
            raise
        km.audit().record(actor, "bevinding-opgenomen", "document", finding.document_id)
        if closed.question_id:
            km.catalog().close_questions([closed.question_id], f"contact:{closed.id}")
        following.run_soon(km)  # whoever follows the question hears of it
    km.audit().record(actor, "contactverzoek-afgerond", REQUEST, request_id)
    return closed


def _closable(request: ContactRequest) -> None:
    if not allowed(request.status, "afgerond"):
        raise ValidationError(f"Van ‘{_said(request.status)}’ kan een verzoek niet naar ‘afgerond’.",
                              hint="Eerst verbonden of afgewezen.", field="status")


def _same_words(a: str, b: str) -> bool:
    """Whether two texts hold the same words (case, accents, spacing and punctuation aside).

    >>> _same_words("Hoe vraag ik bijstand aan?", "hoe  vraag ik Bijstand aan"), _same_words("Hoe?", "")
    (True, False)
    """
    return bool(b.strip()) and _words(a) == _words(b)


def _words(text: str) -> list[str]:
    return [fold(w) for w in _WORD.findall(unicodedata.normalize("NFC", text))]


def _title(question: str, limit: int = 120) -> str:
    """A question as a title: whole words, at most ``limit`` characters.

    >>> _title("Hoe bereik je jongeren met schulden die geen hulp zoeken, en wat werkt dan?", 40)
    'Hoe bereik je jongeren met schulden die…'
    """
    one = " ".join(question.split())
    return one if len(one) <= limit else one[:limit].rsplit(" ", 1)[0] + "…"


# --- duplicates: one request closed into another ---------------------------------------------------------------


def merge(km: Kennismakelaar, duplicate_id: str, into: str, *, actor: Actor, rev: int | None = None) -> ContactRequest:
    """Close ``duplicate_id`` into the request numbered ``into`` (an asker who sent the same request twice): the
    duplicate is closed from whatever open status it has — a merge is no outcome, so it skips the path — not
    answered and pointing at the other (``duplicate_of``); its note goes on in the other's note. Each write is
    conditional on the version it read (the duplicate's on ``rev``, the one the coordinator saw); when the second
    is overtaken the first is undone. Both are logged. Returns the request merged into."""
    target = by_number(km, into)
    if target.id == duplicate_id:
        raise ValidationError("Een verzoek kan niet met zichzelf worden samengevoegd.",
                              hint="Geef het nummer van het andere verzoek.", field="into")
    if target.duplicate_of:  # before the first write: refused, nothing to undo
        raise ValidationError(f"Verzoek {target.number} is zelf al samengevoegd met verzoek "
                              f"{number_of(target.duplicate_of)}.",
                              hint=f"Voeg samen met verzoek {number_of(target.duplicate_of)}.", field="into")

    def close_it(current: ContactRequest) -> dict[str, Any]:
        if current.status == "afgerond":
            raise ValidationError("Dit verzoek is al afgerond: er valt niets meer samen te voegen.", field="status")
        return {"status": "afgerond", "afgerond_at": now(), "answered": False, "duplicate_of": target.id,
                "outcome": f"Dubbel verzoek: samengevoegd met verzoek {target.number}."}

    before, closed = _change(km, duplicate_id, rev, close_it)
    kept = f"Samengevoegd met dubbel verzoek {closed.number}" + (f": {before['note']}" if before.get("note") else ".")

    def keep_notes(current: ContactRequest) -> dict[str, Any]:
        if current.duplicate_of:  # merging into a merged request would hide the notes one step further
            raise ValidationError(f"Verzoek {current.number} is zelf al samengevoegd met verzoek "
                                  f"{number_of(current.duplicate_of)}.",
                                  hint=f"Voeg samen met verzoek {number_of(current.duplicate_of)}.", field="into")
        note = "\n\n".join(n for n in (current.note, kept) if n)
        if len(note) > MAX_MESSAGE:
            raise ValidationError(f"De notities samen zijn te lang: hoogstens {MAX_MESSAGE} tekens.",
                                  hint="Maak eerst een van beide notities korter.", field="note")
        return {"note": note}

    try:
        try:
            _, merged = _change(km, target.id, None, keep_notes)
        except ConflictError as exc:  # the other request changed at this moment: not the version the caller named
            raise ConflictError(f"Verzoek {target.number} werd op hetzelfde moment gewijzigd; er is niets "
                                "samengevoegd.", hint="Probeer het opnieuw.", field="into") from exc
    except BaseException:
        # not kept there: not closed either (unless a coordinator changed it meanwhile: then theirs stands)
        if not _replace_if(km, duplicate_id, before, closed.rev):
            log.warning("samenvoegen mislukt en niet teruggedraaid: het verzoek is intussen gewijzigd")
        raise
    km.audit().record_all(actor, [("contactverzoek-samengevoegd", REQUEST, duplicate_id),
                                  ("contactverzoek-samengevoegd", REQUEST, target.id)])
    return merged


# --- deleting: one request, or every request of one asker, with what was published from them -----------------


def remove(km: Kennismakelaar, request_id: str, actor: Actor, *, withdraw_finding: bool = False) -> int:
    """Delete a request, at its asker's request (with their name and address, and the duplicates merged into it);
    ``withdraw_finding``: the finding made from it goes too (deleted like any document, with its tombstone).
    Returns how many findings went."""
    request = get(km, request_id)  # 404 for an unknown id
    withdrawn = _withdraw(km, [request.finding_id] if withdraw_finding and request.finding_id else [], actor)
    # the duplicates merged into it are the same request, with the same name and address: they go with it
    ids = _delete_with_merged(km, [request_id])
    km.audit().record_all(actor, [("contactverzoek-verwijderd", REQUEST, i) for i in ids])
    return withdrawn


def _delete_with_merged(km: Kennismakelaar, ids: Sequence[str]) -> list[str]:
    """Delete requests with every request merged into them, along chains (A into B, then B into C), and once
    more after the delete for a merge another worker finished meanwhile; their names and addresses leave the
    store's files, not only what it serves. Returns the ids deleted."""
    catalog = km.catalog()
    gone: list[str] = []
    with catalog.erasing("requests"):
        wanted = set(ids)
        while wanted:
            catalog.delete_contact_requests(sorted(wanted))
            gone += sorted(wanted)
            wanted = {r["key"] for r in catalog.contact_requests() if r.get("duplicate_of") in {*gone}} - {*gone}
    return gone


def forget_asker(km: Kennismakelaar, email: str, *, actor: Actor, withdraw_findings: bool = False) -> dict[str, int]:
    """Remove every request of one asker (a request to be forgotten), and with ``withdraw_findings`` the findings
    made from them; returns how many of each went. The log holds the requests' ids, never the address."""
    key = fold(email.strip())
    if not is_email(email.strip()):
        raise ValidationError("Geef het e-mailadres van de vrager.", field="email")
    catalog = km.catalog()
    mine = [r for r in catalog.contact_requests() if r.get("email_key") == key]
    findings = [r["finding_id"] for r in mine if r.get("finding_id")] if withdraw_findings else []
    withdrawn = _withdraw(km, findings, actor)
    # the store's files too, also when nothing matches now: a request the retention took left its versions in
    # the ledger's write-ahead log; requests merged into theirs go along, whatever address they came from
    ids = _delete_with_merged(km, [r["key"] for r in mine])
    km.audit().record_all(actor, [("contactverzoek-verwijderd", REQUEST, i) for i in ids])
    # whoever asks to be forgotten is forgotten as a follower too
    follows = [f.id for f in following.follows(km).all() if fold(f.email) == key]
    if follows:
        following.remove(km, follows, actor, "volgen-verwijderd")
    return {"requests": len(ids), "findings": withdrawn, "follows": len(follows)}


def _withdraw(km: Kennismakelaar, document_ids: Sequence[str], actor: Actor) -> int:
    """Delete published findings as a coordinator deletes a document: with a tombstone (its file will not bring
    it back), logged, and its file out of the uploads folder."""
    uploads, gone = files_dir(km.settings.store.data_dir), 0
    for doc_id in document_ids:
        record = km.catalog().document(doc_id)
        if record is None:
            continue
        km.ingestor().remove_document(doc_id)
        km.audit().record(actor, "document-verwijderd", "document", doc_id)
        path = Path(record.get("path", ""))
        if path.is_file() and path.parent == uploads:
            path.unlink()
            Path(f"{path}.yaml").unlink(missing_ok=True)
        gone += 1
    return gone


def expired(km: Kennismakelaar, retention_days: int) -> list[str]:
    """The requests made before the day ``retention_days`` ago. By the day, as questions: the first sweep of a
    day takes that day's share, and the ledger's files are rewritten for them once a day, not in every sweep."""
    cutoff = (dt.datetime.now(dt.UTC) - dt.timedelta(days=retention_days)).date().isoformat()
    return [r["key"] for r in km.catalog().contact_requests() if str(r.get("created_at", ""))[:10] < cutoff]


# --- what may not be named in public ---------------------------------------------------------------------------


def _unnamed(km: Kennismakelaar, request: ContactRequest) -> list[dict[str, Any]]:
    """The people of a request who may not be named in public: those without consent."""
    catalog = km.catalog()
    ids = {i for i in (request.forwarded_to, request.expert_id) if i}
    return [e for i in ids if (e := catalog.expert(i)) is not None and catalog.public_expert(i) is None]


def _public_redactor(km: Kennismakelaar, asker: ContactRequest) -> Callable[[str], str]:
    """For a text made public: out go the names of people removed on request, the asker's name (in full, as
    initial and surname, and each of its words alone — "Ik ben Sara"), their address, and the names of the
    people of the request without consent."""
    marked = km.catalog().marked()
    own = {*name_variants(asker.name), name_key(asker.name), email_key(asker.email)}
    for person in _unnamed(km, asker):
        own |= {*name_variants(person["name"]), name_key(person["name"])}
        if person.get("email"):
            own.add(email_key(person["email"]))
    alone = {w for w in name_key(asker.name).split() if len(w) > 1 and w not in _PARTICLES}
    return lambda text: _without_words(redact(text, lambda key: key in own or marked(key))[0], alone)


def _without_words(text: str, words: set[str]) -> str:
    """``text`` with each word in ``words`` (compared as ``name_key`` compares) replaced by ``[naam verwijderd]``.

    >>> _without_words("Ik ben Sára, student in Brunssum.", {"sara"})
    'Ik ben [naam verwijderd], student in Brunssum.'
    """
    if not words:
        return text
    return _WORD.sub(lambda m: REDACTED if fold(m.group()) in words else m.group(), unicodedata.normalize("NFC", text))
