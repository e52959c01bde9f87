"""The audit log: every change to people's data and to the collection, with who did it and when.

One ledger record per entry (``kind = "audit"``, ``key`` = the action, ``at`` = the time), holding ids only:
the coordinator's id, the action, the kind and id of what it touched, and counts. For a person removed on
request the target is the keyed marker of the removal, never the name: their earlier entries are rewritten
to that marker when they are removed. Entries older than ``KM_AUDIT_RETENTION_DAYS`` are deleted.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.errors import ValidationError
from core.names import name_key, redact
from core.store.ledger import Cursor, Ledger
from service.coordinators import SYSTEM, Actor, Coordinators

if TYPE_CHECKING:
    from ingestion.pipeline import FileOutcome

AUDIT = "audit"
PERSON = "persoon"  # a profile as a target: its id is a name in slug form, so it is hidden at a removal
# action → what the Logboek says
ACTIONS: dict[str, str] = {
    "profiel-aangemaakt": "profiel aangemaakt",
    "profiel-heraangemaakt": "profiel opnieuw aangemaakt (verwijderd op verzoek)",
    "profiel-bewerkt": "profiel bewerkt",
    "toestemming-gegeven": "toestemming gegeven",
    "toestemming-ingetrokken": "toestemming ingetrokken",
    "beschikbaarheid-gewijzigd": "beschikbaarheid gewijzigd",
    "persoon-verwijderd": "persoon verwijderd",
    "profiel-verwijderd": "profiel verwijderd (niet meer in het bestand)",
    "document-geupload": "document geüpload",
    "document-verwijderd": "document verwijderd",
    "zichtbaar-openbaar": "document: zichtbaar voor iedereen",
    "zichtbaar-werkplaats": "document: zichtbaar voor leden van de Werkplaats",
    "zichtbaar-atelier": "document: zichtbaar voor leden van één atelier",
    "zichtbaar-coordinatie": "document: alleen zichtbaar voor coördinatoren",
    "document-opgenomen": "document opgenomen (opdrachtregel)",
    "bevinding-opgenomen": "bevinding uit een contactverzoek opgenomen",
    "bestanden-opgenomen": "bestanden opgenomen (opdrachtregel)",
    "export": "back-up geëxporteerd",
    "import": "back-up teruggezet",
    "contactverzoek-gewijzigd": "contactverzoek: status gewijzigd",
    "contactverzoek-doorgestuurd": "contactverzoek doorgestuurd",
    "contactverzoek-afgerond": "contactverzoek afgerond",
    "contactverzoek-samengevoegd": "contactverzoek samengevoegd (dubbel)",
    "contactverzoek-verwijderd": "contactverzoek verwijderd",
    "bijeenkomst-gepland": "bijeenkomst gepland",
    "bijeenkomst-verwijderd": "bijeenkomst verwijderd",
    "lid-toegevoegd": "lid toegevoegd",
    "lid-verplaatst": "lid: ateliers gewijzigd",
    "lid-verwijderd": "lid verwijderd",
    "lid-inloglink": "inloglink voor een lid gemaakt",
    "volgen-aangemeld": "volgen aangevraagd (wacht op bevestiging)",
    "volgen-bevestigd": "volgen bevestigd",
    "volgen-afgemeld": "volgen afgemeld door de volger",
    "volgen-verwijderd": "volgen verwijderd op verzoek",
    "volgen-verlopen": "volgen verlopen (bewaartermijn)",
    "coordinator-toegevoegd": "coördinator toegevoegd",
    "coordinator-verwijderd": "coördinator verwijderd",
    "ingelogd": "ingelogd",
    "uitgelogd": "uitgelogd",
}
FIELDS = ("at", "time", "coordinator", "coordinator_name", "action", "label", "target_type", "target", "count")
_SWEEP_EVERY = 3600.0  # seconds between two sweeps of expired entries (per process); reads skip them anyway


@dataclass(frozen=True)
class Entry:
    at: float
    coordinator: str  # the actor's id: a coordinator, or one of ``coordinators.SYSTEM`` ("volger", "dienst", …)
    action: str
    target_type: str
    target: str
    count: int | None = None
    id: str = ""  # the entry's point id: with ``at``, where a page ends (``cursor``)

    @property
    def cursor(self) -> str:
        """Where a page that ends with this entry ends: ``before=`` of the next page."""
        return f"{self.at!r}:{self.id}"

    @property
    def time(self) -> str:
        """Local time, to the second (for people reading the log)."""
        return dt.datetime.fromtimestamp(self.at).astimezone().isoformat(timespec="seconds")

    def row(self, names: dict[str, str] | None = None) -> dict[str, Any]:
        return {"at": self.at, "time": self.time, "coordinator": self.coordinator,
                "coordinator_name": (names or {}).get(self.coordinator, self.coordinator),
                "action": self.action, "label": ACTIONS.get(self.action, self.action), "target_type": self.target_type,
                "target": self.target, "count": self.count, "cursor": self.cursor}


class AuditLog:
    """Writes and reads the log in the store's ledger."""

    def __init__(self, ledger: Ledger, retention_days: int) -> None:
        self.ledger = ledger
        self.retention_days = retention_days
        self._swept = 0.0

    def record(self, actor: Actor, action: str, target_type: str = "", target: str = "", *,
               count: int | None = None) -> None:
        """One entry: ``actor`` did ``action`` to ``target`` (an id) of ``target_type``."""
        self.record_all(actor, [(action, target_type, target)], count=count)

    def record_all(self, actor: Actor, done: Sequence[tuple[str, str, str]], *, count: int | None = None) -> None:
        """Several entries in one write: ``(action, target_type, target)`` each, all by ``actor``. A target that
        names a person removed on request goes in as their marker, or redacted — and if a removal ran while
        this was written, the log is gone over again (as ``service.profiles.remove_person`` does)."""
        unknown = [action for action, _, _ in done if action not in ACTIONS]
        if unknown:
            raise ValueError(f"unknown audit action {unknown[0]!r}")
        if not done:
            return
        forgotten = self.ledger.forgotten()
        shown = self._shown(forgotten)
        extra = {"count": count} if count is not None else {}
        self.ledger.append(AUDIT, [(action, {"coordinator": actor.id, "target_type": target_type,
                                             "target": shown(target_type, target), **extra})
                                   for action, target_type, target in done])
        now = self.ledger.forgotten()
        if now != forgotten:
            self.hide_removed(now)
        if time.time() - self._swept > _SWEEP_EVERY:
            self.sweep()

    def entries(self, *, action: str | None = None, coordinator: str | None = None, since: float | None = None,
                until: float | None = None, target: str | None = None, before: Cursor | None = None,
                limit: int | None = None) -> list[Entry]:
        """The entries that match every filter given (after the cursor ``before``, when given), newest first; the
        ``limit`` newest when given (the store orders them: a page of a long log costs the page)."""
        where = self._where(action, coordinator, target)
        since = max(since or 0.0, self._cutoff())  # what the retention has not swept yet is not shown either
        if limit is not None:
            return [_entry(p, i) for i, p in self.ledger.page(AUDIT, limit, since=since, until=until, before=before,
                                                               **where)]
        found = [_entry(p, i) for i, p in self.ledger.scan(AUDIT, since=since, until=until, **where)]
        return sorted((e for e in found if before is None or (e.at, e.id) < before), key=lambda e: (e.at, e.id),
                      reverse=True)

    def count(self, *, action: str | None = None, coordinator: str | None = None, since: float | None = None,
              until: float | None = None, target: str | None = None, before: Cursor | None = None) -> int:
        """How many entries ``entries`` would give without a limit."""
        return self.ledger.tally(AUDIT, since=max(since or 0.0, self._cutoff()), until=until, before=before,
                                 **self._where(action, coordinator, target))

    @staticmethod
    def _where(action: str | None, coordinator: str | None, target: str | None) -> dict[str, str]:
        given = {"key": action, "coordinator": coordinator, "target": target}
        return {k: v for k, v in given.items() if v}

    def hide_removed(self, forgotten: frozenset[str]) -> int:
        """After a removal (or the import of a backup): no entry names a person removed on request. A person's
        entry points at the keyed marker of their removal; any other id that holds their name (a document
        named after a conversation with them) is redacted as texts are. Returns how many entries changed."""
        if not forgotten:
            return 0
        shown = self._shown(forgotten)
        changed = []
        for pid, record in self.ledger.scan(AUDIT):
            target = str(record.get("target", ""))
            new = shown(str(record.get("target_type", "")), target)
            if new != target:
                changed.append((pid, {**record, "target": new}))
        self.ledger.rewrite(changed)
        return len(changed)

    def _shown(self, forgotten: frozenset[str]) -> Callable[[str, str], str]:
        """How a target goes into the log: a removed person as the marker of their removal, any other id with
        their name in it redacted; everything else as it is."""
        keyed = self.ledger.keyed

        def shown(target_type: str, target: str) -> str:
            if not forgotten or not target:
                return target
            marker = keyed(name_key(target)) if target_type == PERSON else ""
            return marker if marker in forgotten else redact(target, lambda key: keyed(key) in forgotten)[0]

        return shown

    def rename_target(self, target_type: str, old: str, new: str) -> int:
        """Point the entries about ``old`` at ``new`` (a removed person's id becomes their marker)."""
        changed = [(pid, {**record, "target": new})
                   for pid, record in self.ledger.scan(AUDIT, target_type=target_type, target=old)]
        self.ledger.rewrite(changed)
        return len(changed)

    def sweep(self, *, now: float | None = None) -> None:
        """Entries past the retention go."""
        now = time.time() if now is None else now
        self._swept = now
        self.ledger.expire(AUDIT, self._cutoff(now))

    def _cutoff(self, now: float | None = None) -> float:
        return (time.time() if now is None else now) - self.retention_days * 86400


@dataclass
class Found:
    """One page of the log for the filters given, and what the filters may choose from."""

    entries: list[Entry]
    total: int
    coordinators: dict[str, str]  # id → name, everyone who appears in the log or may log in
    first: int = 1  # the place of the page's first entry among all of them (1: the newest)


def search(log: AuditLog, coordinators: Coordinators, *, action: str | None = None, coordinator: str | None = None,
           since: str | None = None, until: str | None = None, before: str | None = None,
           limit: int | None = 100, offset: int = 0) -> Found:
    """The entries for the filters of the Logboek and ``GET /api/audit``: an action, a coordinator, a first and a
    last day (JJJJ-MM-DD, both inclusive, local time). A wrong filter is a ``ValidationError`` naming it.

    A page is the ``limit`` entries after ``offset``, or — steady while new entries arrive — the ``limit``
    entries after ``before`` (the ``cursor`` of the last entry of the page before; a time alone: the entries
    written before it)."""
    if action and action not in ACTIONS:
        raise ValidationError(f"Onbekende handeling {action!r}.", hint="Kies uit: " + ", ".join(ACTIONS) + ".",
                              field="action")
    first, last = _day(since, "since"), _day(until, "until")
    if first and last and first > last:
        raise ValidationError("De begindatum ligt na de einddatum.", field="since")
    start = dt.datetime.combine(first, dt.time.min).astimezone().timestamp() if first else None
    end = dt.datetime.combine(last, dt.time.max).astimezone().timestamp() if last else None
    chosen: dict[str, Any] = {"action": action or None, "coordinator": coordinator or None, "since": start,
                              "until": end}
    after = cursor(before)
    total = log.count(**chosen)
    newer = offset + (total - log.count(**chosen, before=after) if after is not None else 0)
    page = log.entries(**chosen, before=after, limit=None if limit is None else offset + limit)[offset:]
    return Found(page, total, names(coordinators), first=newer + 1)


def of_files(outcomes: Sequence[FileOutcome]) -> list[tuple[str, str, str]]:
    """The entries for what an ingest of files changed: each document taken in or removed, each profile made,
    edited, given or withdrawn consent, or removed because its file no longer holds it.

    >>> from ingestion.pipeline import FileOutcome
    >>> of_files([FileOutcome("p.yaml", "updated", kind="experts", people=[
    ...     {"id": "anna", "change": "updated", "fields": ["consent", "role"], "consent": False}])])
    [('toestemming-ingetrokken', 'persoon', 'anna'), ('profiel-bewerkt', 'persoon', 'anna')]
    """
    done: list[tuple[str, str, str]] = []
    for outcome in outcomes:
        if outcome.kind != "experts" and outcome.document_id:
            if outcome.status in ("added", "updated"):
                done.append(("document-opgenomen", "document", outcome.document_id))
            elif outcome.status == "removed":
                done.append(("document-verwijderd", "document", outcome.document_id))
        for person in outcome.people:
            change, fields = person["change"], set(person.get("fields", ()))
            if change == "added":
                done.append(("profiel-aangemaakt", PERSON, person["id"]))
            elif change == "removed":
                done.append(("profiel-verwijderd", PERSON, person["id"]))
            else:
                if "consent" in fields:
                    done.append(("toestemming-gegeven" if person.get("consent") else "toestemming-ingetrokken",
                                 PERSON, person["id"]))
                if fields - {"consent"}:
                    done.append(("profiel-bewerkt", PERSON, person["id"]))
    return done


def names(coordinators: Coordinators) -> dict[str, str]:
    """Everyone who may appear in the log, id → name: the coordinators (removed ones too), the shared key, the
    command line, and who acts on their own behalf (a follower, a member who joins, the retention)."""
    # the system's names last: a coordinator given one of their ids before they were reserved must not take
    # the follower's or the retention's entries for theirs
    return {**{c["coordinator_id"]: c["name"] for c in coordinators.all(removed=True)},
            **{a.id: a.name for a in SYSTEM}}


def _day(value: str | None, field: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationError("Geef een datum als JJJJ-MM-DD.", field=field) from None


def download_headers() -> dict[str, str]:
    """A file name with today's date: a coordinator keeps several."""
    return {"Content-Disposition": f'attachment; filename="logboek-{dt.date.today().isoformat()}.csv"'}


def to_csv(found: Found) -> str:
    """The entries as CSV (UTF-8, a header row, the columns of ``FIELDS``)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\r\n")
    writer.writeheader()
    for e in found.entries:
        writer.writerow({k: _plain(v) if isinstance(v, str) else v for k, v in e.row(found.coordinators).items()
                         if k != "cursor"})  # where a page ends: of no use in a file that holds them all
    return out.getvalue()


def _plain(text: str) -> str:
    """A name a spreadsheet will not run as a formula.

    >>> _plain("=HYPERLINK(1)"), _plain("Anna"), _plain("-1")
    ("'=HYPERLINK(1)", 'Anna', "'-1")
    """
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _entry(payload: dict[str, Any], point_id: str = "") -> Entry:
    count = payload.get("count")
    return Entry(at=float(payload["at"]), coordinator=str(payload.get("coordinator", "")), action=payload["key"],
                 target_type=str(payload.get("target_type", "")), target=str(payload.get("target", "")),
                 count=int(count) if count is not None else None, id=point_id)


def cursor(text: str | None) -> Cursor | None:
    """A page's ``before=``: an entry's ``cursor`` (its time and id), or a time alone (everything older).

    >>> cursor("1733500000.25:4f1c"), cursor("1733500000.25"), cursor(None)
    ((1733500000.25, '4f1c'), (1733500000.25, ''), None)
    """
    if not text:
        return None
    at, _, point_id = text.partition(":")
    try:
        value = float(at)
    except ValueError:
        value = float("nan")
    if not 0 <= value < float("inf"):
        raise ValidationError("Onbekende plek in het logboek.", hint="Gebruik de 'cursor' van een regel.",
                              field="before")
    return value, point_id
