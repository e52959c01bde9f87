"""Back-up and restore of what exists only in the store (``kennismakelaar export DIR`` / ``import DIR``).

Documents and their passages come back from their files (the source folders and the uploads folder
``KM_DATA_DIR/files``) by ingesting them again; what coordinators and askers did in the service does not.
An export holds exactly that: the parts in ``PARTS`` — profiles edited or created in the service, the
question log, and the ledger's records (markers of removed people, tombstones of deleted documents, contact
requests and meetings, feedback, upload jobs; never the rate-limit hits) — and, when the store holds any, the
lifts of markers and tombstones (``LIFTS``). What the retention should already have removed is purged first, so
no export carries it.

DIR holds one JSON Lines file per part, a line ``{"id", "payload", "dense"?}`` per point, and ``manifest.json``
— written last, so a folder without it is no export — with the counts, the model, the schema version, the
time, the SHA-256 of every part's file and a signature: an HMAC-SHA256 over the whole manifest with a key
derived from the service's secret. An import believes nothing it cannot check (``service.backup_checks``): a
manifest or part changed after the export, an export of another service (another ``KM_SECRET_KEY``: its markers
would be blind here), a part whose file name could lie outside DIR, a line whose point id is not its kind's own
— so that a line of one part could overwrite a record of another, a removal marker above all — are each refused
by name, before anything is written. Exports made before they were signed are refused unless ``--unsigned`` says
the operator vouches for the folder; every other check still holds for them.

An import upserts the points under their own ids (a service edit replaces the file's version of a profile and
keeps its ``edited`` and ``profile_hash``, so a re-ingest of the unchanged file changes nothing; importing
twice changes nothing) — except where this store decided later, in either direction (``_sift``): it never
replaces a marker, tombstone or lift the store already holds; it never brings back a contact request or
meeting whose tombstone it holds, nor a marker or tombstone lifted on purpose after it was written (a person
re-created, a document brought back), nor the lift of something this store removed again; and it keeps a
profile, availability setting or contact request the store holds in a newer version. Then it applies the
effects again: documents whose tombstone matches their current version go, the removal scrub runs with all
markers over everything, and the retention purges what has expired. So neither a re-ingest done before the
import nor an older export brings back a removed person, a deleted document or a deleted request, or takes back
a decision made since. Dense vectors are used as exported when the model is the same; with another model
profiles and questions are embedded again from their text.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from core.errors import ConfigError, ValidationError
from core.names import name_key
from core.store.catalog import EXPERTS, QUESTIONS, SCHEMA_VERSION, Catalog
from core.store.ledger import LEDGER, LIFTED
from core.store.revisions import revision
from core.store.types import DENSE, SPARSE, Filter, MatchAny, Point, point_uuid
from ingestion.pipeline import TAKING_IN
from ingestion.removal import Scrubbed
from service import backup_checks as checks
from service.backup_checks import FORMAT, MANIFEST, SIGNATURE, VERSION, Entry, Part, refused

if TYPE_CHECKING:
    from service.container import Kennismakelaar

# ledger kinds not kept: rate-limit counters of the last day; who may log in — coordinators, their token hashes
# and sessions — is not restored from a copy of the past (a restore would bring back a removed coordinator's
# token): after a restore coordinators are added again (``kennismakelaar coordinator add``)
# a member signs in again after a restore; a follower's address lives for one purpose only, and an export is no
# place to keep it (a restore asks followers nothing, and tells them nothing more)
NOT_EXPORTED = frozenset({"hit", "session", "coordinator", "coordinator-token", TAKING_IN,
                          "member-link", "member-session", "follow", "follow-news", "mail-out"})
# what records a removal or a deletion, or its lift: the store's own are never replaced by an import's version
KEPT = frozenset({"forgotten", "deleted", "gone-contact", "gone-meeting", "gone-member", "member-blocked",
                  *LIFTED.values()})
TOMBSTONED = ("contact", "meeting", "member")  # kinds whose deleted ids leave a ``gone-<kind>`` tombstone
LIFTS_OF = {lifted: kind for kind, lifted in LIFTED.items()}  # a lift's kind -> the kind of record it lifted
_BATCH = 256


# Everything that exists only in the store, one line each, in the order of import (markers and tombstones first:
# see ingestion.removal, and the requests and meetings that their tombstones keep out). A later kind of record is
# backed up by adding its line here; a ledger kind missing here is exported all the same (``_parts``), so none is
# lost by oversight.
PARTS: tuple[Part, ...] = (
    Part("forgotten", LEDGER, "markeringen van verwijderde personen", kind="forgotten", ids=checks.marker),
    Part("deleted", LEDGER, "verwijderde documenten", kind="deleted", ids=checks.tombstone),
    Part("gone-contact", LEDGER, "verwijderde contactverzoeken (alleen hun id)", kind="gone-contact"),
    Part("gone-meeting", LEDGER, "verwijderde bijeenkomsten (alleen hun id)", kind="gone-meeting"),
    Part("gone-member", LEDGER, "verwijderde leden (alleen hun id)", kind="gone-member"),
    Part("profiles", EXPERTS, "profielen bewerkt of gemaakt in de dienst", vectors="profile",
         keep=checks.made_in_service, ids=checks.profile),
    Part("questions", QUESTIONS, "gestelde vragen", vectors="question", ids=checks.question),
    Part("feedback", LEDGER, "feedback", kind="feedback", ids=checks.feedback),
    Part("contacts", LEDGER, "contactverzoeken (met naam en e-mailadres van de vrager)", kind="contact"),
    Part("meetings", LEDGER, "bijeenkomsten met hun panels", kind="meeting"),
    Part("availability", LEDGER, "beschikbaarheid van experts", kind="availability"),
    Part("members", LEDGER, "leden (met hun e-mailadres en ateliers)", kind="member"),
    Part("jobs", LEDGER, "uploadtaken", kind="job"),
    Part("audit", LEDGER, "logboek: wie wat veranderde, en wanneer", kind="audit", ids=checks.appended),
)
# Markers and tombstones lifted on purpose (``Ledger.lift``), imported before the markers and tombstones they
# outdate. Exported only when the store holds some, under the name any other ledger kind gets (``ledger-<kind>``):
# an export without them reads as one from before lifts existed, and a version that does not know them yet
# restores them as they are instead of refusing the export.
LIFTS: tuple[Part, ...] = (
    Part(f"ledger-{LIFTED['forgotten']}", LEDGER, "opgeheven markeringen: verwijderde personen die bewust "
         "terugkwamen (alleen sleutels)", kind=LIFTED["forgotten"], ids=checks.lifted_marker),
    Part(f"ledger-{LIFTED['deleted']}", LEDGER, "verwijderde documenten die bewust terugkwamen (alleen hun id)",
         kind=LIFTED["deleted"], ids=checks.lifted_tombstone),
)
_KNOWN = (*LIFTS, *PARTS)  # in the order of import


# --- export ---------------------------------------------------------------------------------------------------


def export_store(km: Kennismakelaar, directory: Path) -> dict[str, Any]:
    """Write everything that exists only in the store to ``directory`` (new or empty), signed."""
    catalog = km.catalog()
    directory = Path(directory)
    try:
        if directory.exists() and any(directory.iterdir()):
            raise ValidationError(f"De map {directory} bestaat al en is niet leeg.",
                                  hint="Kies een nieuwe of lege map: een export overschrijft niets.", field="dir")
        purged = purge_expired(km)  # a backup must not keep what the retention should have removed
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        parts = _parts(catalog)
        written = {part.name: _write_part(catalog, part, directory / part.file) for part in parts}
        counts = {name: n for name, (n, _) in written.items()}
        manifest: dict[str, Any] = {
            "format": FORMAT, "version": VERSION, "schema": SCHEMA_VERSION,
            "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "model": catalog.model_identity, "dim": catalog.dim, "keycheck": _keycheck(catalog),
            "parts": [{"name": p.name, "collection": p.collection, "kind": p.kind, "vectors": p.vectors,
                       "label": p.label, "file": p.file, "count": counts[p.name], "sha256": written[p.name][1]}
                      for p in parts],
            "counts": counts,
            "signature": {"alg": SIGNATURE},
        }
        manifest["signature"]["value"] = checks.sign(km, manifest)
        with _private(directory / MANIFEST) as out:  # last: a folder without a manifest is no export
            out.write(json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8"))
    except OSError as exc:
        raise ConfigError(f"De export naar {directory} is mislukt ({exc.strerror or exc}).",
                          hint="Kies een map waarin je mag schrijven en waar genoeg ruimte is.") from exc
    return {"dir": str(directory), "model": catalog.model_identity, "exported_at": manifest["exported_at"],
            "exported": counts, "purged": purged, "labels": {p.name: p.label for p in parts}}


def purge_expired(km: Kennismakelaar) -> dict[str, int]:
    """Apply the retention now: before an export, and after an import that may have brought expired items back."""
    from service import retention

    return retention.sweep(km)


def _parts(catalog: Catalog) -> list[Part]:
    known = {p.kind for p in PARTS if p.kind} | NOT_EXPORTED
    others = Filter(must_not=(MatchAny("kind", tuple(known)),))
    extra = sorted({h.payload.get("kind", "") for h in catalog.store.scroll(LEDGER, filter=others, fields=["kind"])})
    lifts = {p.kind: p for p in LIFTS}
    # every kind in the code is a plain slug; one that is not could not name a part's file
    return [*PARTS, *(lifts.get(k) or _extra_part(k) for k in extra if checks.NAME.fullmatch(k))]


def _extra_part(kind: str) -> Part:
    return Part(f"ledger-{kind}", LEDGER, f"overige registraties ({kind})", kind=kind, ids=checks.any_ledger)


def _write_part(catalog: Catalog, part: Part, path: Path) -> tuple[int, str]:
    """Write one part; returns its number of lines and the SHA-256 of its file."""
    n, digest = 0, hashlib.sha256()
    with _private(path) as out:
        for hit in catalog.store.scroll(part.collection, filter=part.where, with_vectors=part.vectors is not None):
            if part.keep is not None and not part.keep(hit.payload):
                continue
            record: dict[str, Any] = {"id": hit.id, "payload": hit.payload}
            if part.vectors is not None and hit.dense is not None:
                record["dense"] = [float(x) for x in hit.dense]
            line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
            digest.update(line)
            out.write(line)
            n += 1
    return n, digest.hexdigest()


def _private(path: Path) -> IO[bytes]:
    """A new file only its owner can read: an export holds names, e-mail addresses and questions."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")


def _keycheck(catalog: Catalog) -> str:
    return catalog.ledger.keyed("kennismakelaar-export", purpose="keycheck")


# --- import ---------------------------------------------------------------------------------------------------


def import_store(km: Kennismakelaar, directory: Path, *, unsigned: bool = False) -> dict[str, Any]:
    """Put an export back into this store (which may already hold the re-ingested files); idempotent. Everything
    is checked before anything is written; ``unsigned`` accepts an export made before exports were signed."""
    directory = Path(directory)
    manifest = checks.read_manifest(directory)
    entries = _manifest_parts(directory, manifest)
    catalog = km.catalog()
    if manifest.get("keycheck") != _keycheck(catalog):
        raise ConfigError(
            "Deze export is gemaakt met een andere geheime sleutel (KM_SECRET_KEY): de markeringen van verwijderde "
            "personen zouden hier niets meer herkennen, dus wordt er niets teruggezet.",
            hint="Gebruik de sleutel van de dienst waaruit de export komt (KM_SECRET_KEY, of het bestand secret.key "
                 "uit zijn KM_DATA_DIR). Heb je de bestanden al opgenomen met een andere sleutel, begin dan opnieuw "
                 "met een lege KM_DATA_DIR.")
    signed = checks.verify_signature(km, directory, manifest, entries, unsigned)
    same_model = manifest.get("model") == catalog.model_identity and manifest.get("dim") == catalog.dim
    with contextlib.ExitStack() as stack:
        copies = [(e, stack.enter_context(checks.private_copy(directory, e))) for e in entries]  # the bytes checked
        for entry, copy in copies:
            _check_part(catalog, directory, entry, copy, catalog.dim if same_model else None)
        tally = _write_all(km, copies, same_model)
    deleted = _apply_tombstones(catalog)
    markers = catalog.forgotten()
    profiles_gone, scrubbed = 0, Scrubbed().as_dict()
    if markers:
        remover = km.ingestor().remover()
        marked = remover.marked_by_markers(markers)
        gone = [p["expert_id"] for p in catalog.experts(fields=["expert_id", "name"])
                if marked(name_key(p.get("expert_id", ""))) or marked(name_key(p.get("name", "")))]
        if gone:
            catalog.delete_experts(gone)
            for expert_id in gone:
                catalog.delete_feedback_on("expert", expert_id)
        profiles_gone = len(gone)
        for expert_id in catalog.linked_people():  # requests, panels, availability of people removed since
            if marked(name_key(expert_id)):
                catalog.unlink_person(expert_id)
        scrubbed = remover.scrub(marked).as_dict()
        km.audit().hide_removed(markers)  # the log as exported may still name someone removed since
    purged = purge_expired(km)
    catalog.recount_feedback()  # the marks came back: each question's count follows them
    # who may see a document: the coordinators' choices came with the backup, the documents from their files
    restricted = catalog.apply_chosen_visibility()
    if profiles_gone or sum(scrubbed.values()):  # names written by the import, then scrubbed: still in the files
        catalog.erase_history()
    catalog.store.flush()
    return {"dir": str(directory), "model": catalog.model_identity, "exported_at": manifest.get("exported_at"),
            "imported": tally.imported, "labels": {e.part.name: e.part.label for e in entries},
            "reembedded": not same_model, "documents_deleted": deleted, "profiles_deleted": profiles_gone,
            "scrubbed": scrubbed, "dropped": tally.left_out(tally.dropped),
            "kept_newer": tally.left_out(tally.kept_newer), "purged": purged, "unsigned": not signed,
            "visibility_applied": restricted}


def _manifest_parts(directory: Path, manifest: dict[str, Any]) -> list[Entry]:
    """The parts named in the manifest, in our order of import. Each name must be a plain file name in DIR; a
    ledger kind this version does not know yet comes back as it was, anything else unknown is refused."""
    ours = {p.name: p for p in _KNOWN}
    by_kind = {p.kind: p for p in _KNOWN if p.kind}
    found: dict[str, Entry] = {}
    for entry in manifest["parts"]:
        if not isinstance(entry, dict):
            raise refused(f"{directory / MANIFEST}: de lijst van onderdelen is beschadigd.")
        name, kind, count, digest = entry.get("name"), entry.get("kind"), entry.get("count"), entry.get("sha256")
        if not (isinstance(name, str) and checks.NAME.fullmatch(name)):
            raise refused(
                f"{directory / MANIFEST} noemt een onderdeel met een ongeldige naam: {name!r}. Een onderdeel heet "
                f"alleen met kleine letters, cijfers en streepjes, en zijn bestand staat in de exportmap zelf.",
                hint="Deze export is gewijzigd of niet door Kennismakelaar gemaakt: zet hem niet terug.")
        part = ours.get(name)
        if part is None and entry.get("collection") == LEDGER and isinstance(kind, str) and name == f"ledger-{kind}" \
                and kind not in NOT_EXPORTED:  # kinds a version-1 export did not know yet are saved under this name
            part = dataclasses.replace(by_kind[kind], name=name) if kind in by_kind else _extra_part(kind)
        if part is None or (part.kind or None) != (kind or None) or part.collection != entry.get("collection"):
            raise refused(f"De export bevat een onderdeel dat deze versie niet kent: {name!r}.",
                          hint="Zet de export terug met de versie van Kennismakelaar die hem maakte.")
        if not (isinstance(count, int) and count >= 0) or (digest is not None and not isinstance(digest, str)):
            raise refused(f"{directory / MANIFEST}: het aantal regels of de controlesom van {name!r} is onleesbaar.")
        key = part.kind or part.name
        if key in found:
            raise refused(f"{directory / MANIFEST} noemt het onderdeel {name!r} twee keer.",
                          hint="Deze export is gewijzigd of niet door Kennismakelaar gemaakt: zet hem niet terug.")
        found[key] = Entry(part, count, digest)
    order = [p.kind or p.name for p in _KNOWN]
    return sorted(found.values(), key=lambda e: (order.index(e.part.kind or e.part.name)
                                                 if (e.part.kind or e.part.name) in order else len(order), e.part.name))


def _check_part(catalog: Catalog, directory: Path, entry: Entry, copy: IO[bytes], dim: int | None) -> None:
    """Every line of one part, before anything is written; and no line may land on a point this store holds
    as another kind of record."""
    where, found, batch = directory / entry.part.file, 0, {}
    for n, record in checks.records(copy, where, entry.part, dim):
        found += 1
        if entry.part.collection == LEDGER:
            batch[point_uuid(record["id"])] = n
        if len(batch) >= _BATCH:
            _same_kind(catalog, where, entry.part, batch)
            batch = {}
    _same_kind(catalog, where, entry.part, batch)
    if found != entry.count:
        raise refused(f"{where}: {found} regels, het manifest noemt er {entry.count}.",
                      hint="De export is onvolledig of gewijzigd; maak een nieuwe export.")


def _same_kind(catalog: Catalog, where: Path, part: Part, lines: dict[str, int]) -> None:
    for hit in catalog.store.retrieve(LEDGER, list(lines)) if lines else []:
        if hit.payload.get("kind") != part.kind:
            raise refused(f"{where}, regel {lines.get(hit.id, 0)}: dit id hoort in deze opslag bij een ander soort "
                          f"gegeven ({hit.payload.get('kind')!r}); een onderdeel mag dat niet overschrijven.",
                          hint="Deze export is gewijzigd of niet door Kennismakelaar gemaakt: zet hem niet terug.")


# --- what an import writes, and what it leaves as this store has it ------------------------------------------


@dataclass
class _Tally:
    """Per part: the lines now in the store; the lines left out because this store decided otherwise after the
    export (``dropped``); the records this store holds in a newer version than the export's (``kept_newer``)."""

    imported: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    kept_newer: dict[str, int] = field(default_factory=dict)

    @staticmethod
    def left_out(counts: dict[str, int]) -> dict[str, int]:
        return {name: n for name, n in counts.items() if n}


def _write_all(km: Kennismakelaar, copies: list[tuple[Entry, IO[bytes]]], same_model: bool) -> _Tally:
    """Write every checked part, batch by batch, each line only where this store made no later decision."""
    profile_text = km.ingestor().remover().profile_text
    tally = _Tally()
    for entry, copy in copies:
        part = entry.part
        for counts in (tally.imported, tally.dropped, tally.kept_newer):
            counts[part.name] = 0
        batch: list[dict[str, Any]] = []
        for _, record in checks.records(copy, Path(part.file), part, None):
            batch.append(record)
            if len(batch) >= _BATCH:
                _write_batch(km, profile_text, part, batch, same_model, tally)
                batch = []
        _write_batch(km, profile_text, part, batch, same_model, tally)
    return tally


def _write_batch(km: Kennismakelaar, profile_text: Callable[[dict[str, Any]], str], part: Part,
                 records: list[dict[str, Any]], same_model: bool, tally: _Tally) -> None:
    if not records:
        return
    catalog = km.catalog()
    sifted = _sift(catalog, part, records)
    _put(km, profile_text, part, sifted.fresh, same_model)
    if sifted.outdated_lifts:  # a marker or tombstone newer than this store's lift of it: the lift no longer holds
        catalog.ledger.remove(LIFTED[str(part.kind)], sifted.outdated_lifts)
    tally.imported[part.name] += len(sifted.fresh) + sifted.held
    tally.dropped[part.name] += sifted.dropped
    tally.kept_newer[part.name] += sifted.kept_newer


@dataclass
class _Sifted:
    fresh: list[dict[str, Any]]  # to write
    held: int  # a marker, tombstone or lift this store holds already: it stays as it is
    dropped: int
    kept_newer: int
    outdated_lifts: list[str]  # keys of this store's lifts that a marker or tombstone written now outdates


def _sift(catalog: Catalog, part: Part, records: list[dict[str, Any]]) -> _Sifted:
    """Which lines of one batch to write. Never over a decision this store made after the export, in either
    direction: a request or meeting deleted since (its ``gone-`` tombstone) stays deleted; a marker or tombstone
    lifted on purpose since (a person re-created, a document brought back: a lift dated after it) stays lifted; a
    lift of something this store holds as removed again stays out; a versioned record this store holds in a newer
    version (a consent withdrawn since) stays as it is now."""
    store = catalog.store
    held = {h.id: h.payload for h in store.retrieve(part.collection, [r["id"] for r in records])}
    keys = [k for r in records if isinstance(k := r["payload"].get("key"), str)] if part.collection == LEDGER else []
    gone = _present(catalog, f"gone-{part.kind}", keys) if part.kind in TOMBSTONED else set()
    lifts = catalog.ledger.lifts(part.kind, keys) if part.kind in LIFTED else {}
    removed = _present(catalog, LIFTS_OF[part.kind], keys) if part.kind in LIFTS_OF else set()
    out = _Sifted([], 0, 0, 0, [])
    for record in records:
        payload, stored = record["payload"], held.get(point_uuid(record["id"]))
        key = payload.get("key") if part.collection == LEDGER else None
        if stored is not None and part.kind in KEPT:
            out.held += 1
        elif isinstance(key, str) and (key in gone or key in removed or _at(payload) < lifts.get(key, -math.inf)):
            out.dropped += 1
        elif stored is not None and _newer(part, stored, payload):
            out.kept_newer += 1
        else:
            out.fresh.append(record)
            if isinstance(key, str) and key in lifts:
                out.outdated_lifts.append(key)
    return out


def _present(catalog: Catalog, kind: str, keys: Iterable[str]) -> set[str]:
    """Which of ``keys`` this store holds a ledger record of ``kind`` for."""
    ids = [f"{kind}:{k}" for k in dict.fromkeys(keys)]
    return {h.payload.get("key", "") for h in catalog.store.retrieve(LEDGER, ids)} if ids else set()


def _at(payload: dict[str, Any]) -> float:
    """When a ledger record was written; one that cannot say is older than anything dated."""
    at = payload.get("at")
    return float(at) if isinstance(at, int | float) and not isinstance(at, bool) and math.isfinite(at) else -math.inf


def _newer(part: Part, stored: dict[str, Any], exported: dict[str, Any]) -> bool:
    """Whether the store holds a later version of the exported record (``core.store.revisions``). Of profiles only
    one made or edited in the service counts: a profile a new store read from its file carries a version from when
    it was read — a higher number, but no decision — and gives way to the exported edit, as it always did."""
    return _version(stored) > _version(exported) and (part.keep is None or part.keep(stored))


def _version(payload: dict[str, Any]) -> int:
    try:
        return revision(payload)
    except (TypeError, ValueError, OverflowError):  # a line of an unsigned export cannot outrank a stored version
        return 0


def _put(km: Kennismakelaar, profile_text: Callable[[dict[str, Any]], str], part: Part,
         records: list[dict[str, Any]], same_model: bool) -> None:
    """Upsert records under their exported ids; vectors as exported, or embedded again for another model."""
    if not records:
        return
    points = [Point(r["id"], r["payload"]) for r in records]
    if part.vectors == "profile":
        texts = [profile_text(p.payload) for p in points]
        dense = [r["dense"] for r in records] if same_model else list(km.embedder.embed_documents(texts))
        for p, text, vector in zip(points, texts, dense, strict=True):
            p.dense, p.sparse = {DENSE: vector}, {SPARSE: km.bm25.embed_document(text)}
    elif part.vectors == "question":
        for p, r in zip(points, records, strict=True):
            p.dense = {DENSE: r["dense"] if same_model else km.embedder.embed_query(p.payload.get("text", ""))}
    km.catalog().rewrite(part.collection, points)


def _apply_tombstones(catalog: Catalog) -> int:
    """Deletions count again: documents a coordinator deleted go when the re-ingested version is the one they
    deleted; a contact request or meeting that is there and has a tombstone (a deletion cut short) goes."""
    deleted = 0
    for tomb in list(catalog.ledger.all("deleted")):
        record = catalog.document(tomb.get("document_id", ""))
        if record is not None and record.get("content_hash") == tomb.get("content_hash"):
            catalog.delete_document(tomb["document_id"])
            deleted += 1
    for kind, delete in (("contact", catalog.delete_contact_requests), ("meeting", catalog.delete_meetings)):
        back = sorted({r["key"] for r in catalog.ledger.all(kind)} & catalog.deleted_ids(kind))
        delete(back)
    return deleted
