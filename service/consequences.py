"""What a removal will do, counted before a coordinator confirms it: the confirmation pages name the
consequences from the store ("9 documenten worden aangepast"). Each count is a filtered count or a filtered
read of the few records involved — never a scan of every document or passage — so a confirmation page stays
cheap however large the store grows.

The removals themselves are the service's own (``profiles.remove_person``, ``coordinator_admin.remove``,
``meetings.remove``); ``remove_document`` is here because the web page and the API must remove a document the
same way (its file, its audit entry).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import NotFoundError, ValidationError
from core.glossary import counted
from core.store.types import Filter, MatchAny
from ingestion.removal import person_keys
from service import meetings
from service.container import Kennismakelaar
from service.coordinators import Actor

OPEN_REQUESTS = ("nieuw", "doorgestuurd", "verbonden")  # what a contact request is while it still needs work


@dataclass
class Consequences:
    """One removal, as its confirmation page says it: who or what goes, and what changes with it."""

    name: str  # the person's or coordinator's name, the document's or meeting's title
    effects: list[str] = field(default_factory=list)  # one Dutch sentence per consequence, in order of weight
    slow: bool = False  # the removal rewrites the store's files: it takes seconds, not a blink
    counts: dict[str, int] = field(default_factory=dict)  # the numbers behind the sentences (for the API, tests)


def person(km: Kennismakelaar, expert_id: str) -> Consequences:
    """A person's removal on request: every document that names them is rewritten, their requests lose the
    link to them, they leave the panels they sit on, and the store's files are rewritten (seconds)."""
    catalog = km.catalog()
    expert = catalog.expert(expert_id)
    if expert is None:  # a profile its file dropped: the person can still ask to go (``remove_person``)
        if not km.audit().count(target=expert_id):
            raise NotFoundError(f"Expert {expert_id!r} bestaat niet (meer).")
        expert = {"expert_id": expert_id, "name": expert_id}
    keys = tuple(sorted(person_keys(expert)))
    documents = catalog.count_documents(filter=Filter(must=(MatchAny("people", keys),)))
    ledger = catalog.ledger
    # a request names the person as the one asked for or the one it went to: one read each, of theirs only
    theirs = {r["key"]: r for f in ("expert_id", "forwarded_to") for r in ledger.all("contact", **{f: expert_id})}
    requests = sum(r.get("status", "nieuw") in OPEN_REQUESTS for r in theirs.values())
    panels = sum(1 for _ in ledger.all("meeting", panel=expert_id))
    counts = {"documents": documents, "requests": requests, "panels": panels}
    effects = [
        f"{_start(counted(documents, ('document wordt', 'documenten worden')))} aangepast: de naam gaat eruit "
        "(ook in de tekst van andere documenten die de naam noemen).",
        _start(counted(requests, ("open contactverzoek verliest", "open contactverzoeken verliezen")))
        + " de koppeling met deze persoon.",
        f"{_start(counted(panels, ('bijeenkomst verliest', 'bijeenkomsten verliezen')))} deze persoon uit het panel.",
        "Het profiel, de beschikbaarheid en de feedback op deze persoon verdwijnen; in het logboek blijft alleen "
        "een onherleidbare markering.",
    ]
    return Consequences(expert.get("name", expert_id), effects, slow=True, counts=counts)


def coordinator(km: Kennismakelaar, coordinator_id: str, me: Actor) -> Consequences:
    """A coordinator's removal: their token and every open session stop at once; what they did stays in the
    log under their name."""
    if coordinator_id == me.id:
        raise ValidationError("Je kunt jezelf niet verwijderen; vraag een andere coördinator.", field="id")
    record = km.coordinators().get(coordinator_id)
    if record is None or record.get("removed_at"):
        raise NotFoundError(f"Coördinator {coordinator_id!r} bestaat niet (meer).")
    now = time.time()
    sessions = sum(1 for s in km.catalog().ledger.all("session", coordinator_id=coordinator_id)
                   if s.get("expires", 0) > now)
    entries = km.audit().count(coordinator=coordinator_id)
    effects = [
        "Het persoonlijke token werkt meteen niet meer, op elke server.",
        f"{_start(counted(sessions, ('open sessie wordt', 'open sessies worden')))} beëindigd.",
        f"{_start(counted(entries, 'regel'))} in het logboek blijven onder deze naam staan.",
    ]
    return Consequences(record.get("name", coordinator_id), effects,
                        counts={"sessions": sessions, "entries": entries})


def document(km: Kennismakelaar, document_id: str, uploads: Path) -> Consequences:
    """A document's removal: its passages leave search, an uploaded file goes too, and its unchanged file does
    not bring it back at the next ingest."""
    catalog = km.catalog()
    record = catalog.document(document_id)
    if record is None:
        raise NotFoundError(f"Document {document_id!r} bestaat niet.")
    passages = int(record.get("chunks") or 0)  # the record keeps its own count: no scan of the passages
    held = [m.get("title", "") for m in catalog.ledger.all("meeting", report_id=document_id)]
    upload = _uploaded(record, uploads)
    effects = [f"{_start(counted(passages, ('passage verdwijnt', 'passages verdwijnen')))} uit het zoeken "
               "en uit de antwoorden."]
    effects += [f"Het is het verslag van de bijeenkomst ‘{t}’: die houdt geen verslag meer." for t in held]
    effects.append("Het geüploade bestand wordt ook verwijderd." if upload else
                   "Het bestand zelf blijft staan, maar komt bij een volgende inname niet terug zolang het niet "
                   "verandert.")
    return Consequences(record.get("title") or document_id, effects,
                        counts={"passages": passages, "meetings": len(held), "files": int(upload)})


def meeting(km: Kennismakelaar, meeting_id: str) -> Consequences:
    """A meeting's removal: its panel and its link to the agenda's questions go; a verslag stays a document."""
    found = meetings.get(km, meeting_id)
    effects = [
        f"Het voorgestelde panel ({counted(len(found.panel), ('persoon', 'personen'))}) vervalt.",
        f"{_start(counted(len(found.question_ids), 'vraag'))} van de agenda "
        + ("blijven beantwoord door het verslag." if found.report_id else "horen er niet meer bij."),
    ]
    if found.report_id:
        effects.append("Het verslag blijft als document staan; verwijder het apart als dat ook moet.")
    return Consequences(found.title, effects,
                        counts={"panel": len(found.panel), "questions": len(found.question_ids)})


def remove_document(km: Kennismakelaar, document_id: str, uploads: Path, actor: Actor) -> dict[str, int]:
    """Remove a document with a tombstone (its unchanged file does not bring it back), log it, and delete its
    file when it is an upload; returns ``{"files": 0 | 1}``."""
    record = km.catalog().document(document_id)
    if record is None:
        raise NotFoundError(f"Document {document_id!r} bestaat niet.")
    km.ingestor().remove_document(document_id)
    km.audit().record(actor, "document-verwijderd", "document", document_id)
    for held in km.catalog().ledger.all("meeting", report_id=document_id):  # as the confirmation said
        km.catalog().update_meeting(str(held["key"]), {"report_id": None})
    if not _uploaded(record, uploads):
        return {"files": 0}
    path = Path(record["path"])
    path.unlink(missing_ok=True)
    Path(f"{path}.yaml").unlink(missing_ok=True)
    return {"files": 1}


def _uploaded(record: dict[str, Any], uploads: Path) -> bool:
    path = Path(record.get("path", ""))
    return path.is_file() and path.parent == uploads


def _start(phrase: str) -> str:
    """A counted phrase at the start of a sentence: "Geen vragen", "3 vragen"."""
    return phrase[:1].upper() + phrase[1:]
