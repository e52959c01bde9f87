"""Meetings planned from the knowledge agenda (issue 10, outcome 4): a cluster of open questions becomes an
expert meeting, workshop or experiment with a proposed panel; its verslag, once uploaded, closes the questions
and names the panel as the document's participants.

A meeting is one ledger record (``Catalog.add_meeting``). It holds ids, never names: a panel member's name is
looked up when shown, so a person removed on request leaves no trace here (``Catalog.unlink_person``). The
panel's proposal spreads invitations over people (``matching.panels``): who sat on many recent panels gives way.

>>> report_id("3f2a9c0d1e2b4c5d6e7f8a9b0c1d2e3f")
'verslag-bijeenkomst-3f2a9c0d1e2b'
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from core.errors import NotFoundError, ValidationError
from core.visibility import COORDINATORS
from matching.agenda import LADDER
from matching.panels import PanelConstraints
from service.container import Kennismakelaar
from service.coordinators import Actor
from service.jobs import Job

MEETING = "bijeenkomst"  # the audit log's name for a meeting as a target

STATUSES = ("gepland", "gehouden")


@dataclass
class Meeting:
    id: str
    title: str
    date: str
    step: str
    created_at: str
    ateliers: list[str] = field(default_factory=list)
    question_ids: list[str] = field(default_factory=list)
    topic: str = ""
    panel: list[str] = field(default_factory=list)  # expert ids, in the order proposed
    why: dict[str, list[str]] = field(default_factory=dict)  # expert id -> reasons for the choice
    gave_way: dict[str, str] = field(default_factory=dict)  # expert id -> why not proposed (away, full, recent)
    status: str = "gepland"
    report_id: str | None = None
    gehouden_at: str | None = None

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Meeting:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in record.items() if k in names})


def report_id(meeting_id: str) -> str:
    """The document id a meeting's verslag gets: known before its file is read, so the link is made at once."""
    return f"verslag-bijeenkomst-{meeting_id[:12]}"


def plan(km: Kennismakelaar, *, title: str, date: str, step: str, ateliers: Sequence[str] = (),
         question_ids: Sequence[str] = (), topic: str = "", k: int = 4, actor: Actor) -> Meeting:
    """Plan a meeting on the questions of an agenda cluster, with a panel of ``k`` proposed for its topic (the
    given one, or the first question's text)."""
    title = " ".join(title.split())
    if not title:
        raise ValidationError("Geef de bijeenkomst een titel.", field="title")
    try:
        day = dt.date.fromisoformat(date)
    except ValueError:
        raise ValidationError("Geef een datum als JJJJ-MM-DD.", field="date") from None
    if not 2000 <= day.year <= 2100:
        raise ValidationError("Kies een datum tussen 2000 en 2100.", field="date")
    if step not in LADDER:
        raise ValidationError(f"Onbekende stap {step!r}.", hint="Kies uit: " + ", ".join(LADDER) + ".", field="step")
    resolved = [km.taxonomy.resolve_atelier(a) for a in ateliers]
    if None in resolved:
        raise ValidationError("Onbekend atelier.", field="ateliers")
    if not 1 <= k <= 20:
        raise ValidationError("Een panel heeft 1 tot 20 leden.", field="k")
    catalog = km.catalog()
    questions = [catalog.question(q) if _is_id(q) else None for q in question_ids]
    if None in questions:
        raise ValidationError("Een van de vragen bestaat niet (meer).", field="question_ids")
    first = questions[0] if questions and questions[0] else {}
    topic = " ".join(topic.split()) or first.get("text", "") or title
    chosen = list(dict.fromkeys(a for a in resolved if a))
    cover = tuple(chosen) if len(chosen) <= k else ()
    panel = km.broker(COORDINATORS).panel(topic, k, PanelConstraints(cover_ateliers=cover))
    meeting = Meeting(id=uuid.uuid4().hex, title=title, date=date, step=step, created_at=_now(), ateliers=chosen,
                      question_ids=list(dict.fromkeys(question_ids)), topic=topic,
                      panel=[m.expert.id for m in panel.members], why={m.expert.id: m.why for m in panel.members},
                      gave_way={p.id: p.reason for p in panel.passed_over})
    catalog.add_meeting(meeting.id, dict(meeting.__dict__))
    km.audit().record(actor, "bijeenkomst-gepland", MEETING, meeting.id)
    return meeting


def get(km: Kennismakelaar, meeting_id: str) -> Meeting:
    found = km.catalog().meeting(meeting_id) if _is_id(meeting_id) else None
    if found is None:
        raise NotFoundError(f"Bijeenkomst {meeting_id!r} bestaat niet.")
    return Meeting.from_record(found)


def listing(km: Kennismakelaar) -> list[Meeting]:
    """Every meeting, the next one first, then the ones held (most recent first)."""
    found = [Meeting.from_record(r) for r in km.catalog().meetings()]
    planned = sorted((m for m in found if m.status == "gepland"), key=lambda m: m.date)
    held = sorted((m for m in found if m.status != "gepland"), key=lambda m: m.date, reverse=True)
    return planned + held


def names(km: Kennismakelaar, meeting: Meeting) -> dict[str, str]:
    """Expert id → name for the people of a meeting who still exist."""
    out = {}
    for expert_id in [*meeting.panel, *meeting.gave_way]:
        expert = km.catalog().expert(expert_id)
        if expert is not None:
            out[expert_id] = expert["name"]
    return out


def report_metadata(km: Kennismakelaar, meeting_id: str) -> dict[str, Any]:
    """The metadata of a meeting's verslag: its fixed id, kind, date, ateliers and the panel as participants.
    It goes into the file's sidecar, so a later re-ingest of the file keeps the link."""
    meeting = get(km, meeting_id)
    who = names(km, meeting)
    meta: dict[str, Any] = {"id": report_id(meeting.id), "kind": "verslag", "date": meeting.date,
                            "participants": [who[p] for p in meeting.panel if p in who]}
    if meeting.ateliers:
        meta["ateliers"] = meeting.ateliers
    return meta


def link_report(km: Kennismakelaar, meeting_id: str) -> Meeting:
    """The verslag is in: the meeting is held, and its questions leave the agenda."""
    meeting = get(km, meeting_id)
    catalog = km.catalog()
    if catalog.document(report_id(meeting.id)) is None:
        raise NotFoundError("Het verslag van deze bijeenkomst is (nog) niet verwerkt.")
    catalog.update_meeting(meeting.id, {"report_id": report_id(meeting.id), "status": "gehouden",
                                        "gehouden_at": _now()})
    catalog.close_questions(meeting.question_ids, f"meeting:{meeting.id}")
    return get(km, meeting_id)


def remove(km: Kennismakelaar, meeting_id: str, actor: Actor) -> None:
    get(km, meeting_id)  # NotFoundError for an unknown id
    km.catalog().delete_meetings([meeting_id])
    km.audit().record(actor, "bijeenkomst-verwijderd", MEETING, meeting_id)


def _is_id(value: str) -> bool:
    return bool(re.fullmatch(r"[0-9a-f-]{32,36}", value))


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass
class Upload:
    """How to take in an upload: its metadata, the name to store its one file under, what to do once it is in."""

    metadata: dict[str, Any] | None
    name: str | None = None
    then: Callable[[Job], None] | None = None


def for_upload(km: Kennismakelaar, metadata: dict[str, Any] | None, files: int) -> Upload:
    """Upload metadata naming a ``meeting``: one file, its verslag, with the meeting's metadata (what the
    coordinator gave otherwise, e.g. a title, is kept), stored under the verslag's own id (two meetings' files
    called "verslag.pdf" must not replace each other), and linked to the meeting once it is in."""
    if not metadata or not metadata.get("meeting"):
        return Upload(metadata)
    meeting = get(km, str(metadata["meeting"]))
    if files != 1:
        raise ValidationError("Upload bij een bijeenkomst precies één bestand: het verslag.", field="files")
    rest = {k: v for k, v in metadata.items() if k not in ("meeting", "id", "participants")}

    def link(job: Job) -> None:
        link_report(km, meeting.id)

    return Upload({**rest, **report_metadata(km, meeting.id)}, name=report_id(meeting.id), then=link)


def view(km: Kennismakelaar, meeting: Meeting) -> dict[str, Any]:
    """A meeting as the API and the pages show it: panel members and those who gave way, by name."""
    who = names(km, meeting)
    return {**{k: v for k, v in meeting.__dict__.items() if k not in ("panel", "why", "gave_way")},
            "step_label": LADDER.get(meeting.step, meeting.step),
            "panel": [{"id": p, "name": who[p], "why": meeting.why.get(p, [])} for p in meeting.panel if p in who],
            "passed_over": [{"id": p, "name": who[p], "reason": r} for p, r in meeting.gave_way.items() if p in who]}
