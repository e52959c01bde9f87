"""Back-up and restore of what exists only in the store (``kennismakelaar export DIR`` / ``import DIR``).

Documents and their passages come back from their files (the source folders and the uploads folder
``KM_DATA_DIR/files``) by ingesting them again; what coordinators and askers did in the service does not.
An export holds exactly that: the parts in ``PARTS`` — profiles edited or created in the service, the
question log, and the ledger's records (markers of removed people, tombstones of deleted documents, feedback,
upload jobs; never the rate-limit hits).

DIR holds one JSON Lines file per part, a line ``{"id", "payload", "dense"?}`` per point, and ``manifest.json``
— written last, so a folder without it is no export — with the counts, the model, the schema version, the
time and a key check: markers made with one secret are blind to another, so an import with another
``KM_SECRET_KEY`` is refused.

An import upserts the points under their own ids (a service edit replaces the file's version of a profile and
keeps its ``edited`` and ``profile_hash``, so a re-ingest of the unchanged file changes nothing; importing
twice changes nothing), then applies their effects again: documents whose tombstone matches their current
version go, and the removal scrub runs with the imported markers over everything. So a re-ingest done before
the import brings back no removed person and no deleted document. Dense vectors are used as exported when the
model is the same; with another model profiles and questions are embedded again from their text.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import ConfigError, ValidationError
from core.models import API_ROOT
from core.names import name_key
from core.store.catalog import EXPERTS, QUESTIONS, SCHEMA_VERSION, Catalog
from core.store.ledger import LEDGER
from core.store.types import DENSE, SPARSE, Filter, MatchAny, Point
from ingestion.removal import Scrubbed

if TYPE_CHECKING:
    from service.container import Kennismakelaar

FORMAT = "kennismakelaar-export"
VERSION = 1
MANIFEST = "manifest.json"
# ledger kinds not kept: rate-limit counters of the last day; who may log in — coordinators, their token hashes
# and sessions — is not restored from a copy of the past (a restore would bring back a removed coordinator's
# token): after a restore coordinators are added again (``kennismakelaar coordinator add``)
NOT_EXPORTED = frozenset({"hit", "session", "coordinator", "coordinator-token"})
_BATCH = 256


def _made_in_service(profile: dict[str, Any]) -> bool:
    return bool(profile.get("edited")) or profile.get("root") == API_ROOT


@dataclass(frozen=True)
class Part:
    """One kind of store-only data: where it lives, which of its points, and whether it carries a vector."""

    name: str  # its file is NAME.jsonl
    collection: str
    label: str  # for people
    kind: str | None = None  # ledger records of this kind
    vectors: str | None = None  # "profile" | "question": how its dense vector is made again for another model
    keep: Callable[[dict[str, Any]], bool] | None = None

    @property
    def file(self) -> str:
        return f"{self.name}.jsonl"

    @property
    def where(self) -> Filter | None:
        return Filter.where(kind=self.kind) if self.kind else None


# Everything that exists only in the store, one line each, in the order of import (markers first: see
# ingestion.removal). A later kind of record (contact requests, audit log, meetings) is backed up by adding its
# line here; a ledger kind missing here is exported all the same (``_parts``), so none is lost by oversight.
PARTS: tuple[Part, ...] = (
    Part("forgotten", LEDGER, "markeringen van verwijderde personen", kind="forgotten"),
    Part("deleted", LEDGER, "verwijderde documenten", kind="deleted"),
    Part("profiles", EXPERTS, "profielen bewerkt of gemaakt in de dienst", vectors="profile", keep=_made_in_service),
    Part("questions", QUESTIONS, "gestelde vragen", vectors="question"),
    Part("feedback", LEDGER, "feedback", kind="feedback"),
    Part("contacts", LEDGER, "contactverzoeken (met naam en e-mailadres van de vrager)", kind="contact"),
    Part("meetings", LEDGER, "bijeenkomsten met hun panels", kind="meeting"),
    Part("availability", LEDGER, "beschikbaarheid van experts", kind="availability"),
    Part("jobs", LEDGER, "uploadtaken", kind="job"),
    Part("audit", LEDGER, "logboek: wie wat veranderde, en wanneer", kind="audit"),
)


# --- export ---------------------------------------------------------------------------------------------------


def export_store(km: Kennismakelaar, directory: Path) -> dict[str, Any]:
    """Write everything that exists only in the store to ``directory`` (new or empty)."""
    catalog = km.catalog()
    directory = Path(directory)
    try:
        if directory.exists() and any(directory.iterdir()):
            raise ValidationError(f"De map {directory} bestaat al en is niet leeg.",
                                  hint="Kies een nieuwe of lege map: een export overschrijft niets.", field="dir")
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        parts = _parts(catalog)
        counts = {part.name: _write_part(catalog, part, directory / part.file) for part in parts}
        manifest = {
            "format": FORMAT, "version": VERSION, "schema": SCHEMA_VERSION,
            "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "model": catalog.model_identity, "dim": catalog.dim, "keycheck": _keycheck(catalog),
            "parts": [{"name": p.name, "collection": p.collection, "kind": p.kind, "vectors": p.vectors,
                       "label": p.label, "file": p.file, "count": counts[p.name]} for p in parts],
            "counts": counts,
        }
        with _private(directory / MANIFEST) as out:  # last: a folder without a manifest is no export
            json.dump(manifest, out, ensure_ascii=False, indent=2)
    except OSError as exc:
        raise ConfigError(f"De export naar {directory} is mislukt ({exc.strerror or exc}).",
                          hint="Kies een map waarin je mag schrijven en waar genoeg ruimte is.") from exc
    return {"dir": str(directory), "model": catalog.model_identity, "exported_at": manifest["exported_at"],
            "exported": counts, "labels": {p.name: p.label for p in parts}}


def _parts(catalog: Catalog) -> list[Part]:
    known = {p.kind for p in PARTS if p.kind} | NOT_EXPORTED
    others = Filter(must_not=(MatchAny("kind", tuple(known)),))
    extra = sorted({h.payload.get("kind", "") for h in catalog.store.scroll(LEDGER, filter=others, fields=["kind"])})
    return [*PARTS, *(Part(f"ledger-{k}", LEDGER, f"overige registraties ({k})", kind=k) for k in extra if k)]


def _write_part(catalog: Catalog, part: Part, path: Path) -> int:
    n = 0
    with _private(path) as out:
        for hit in catalog.store.scroll(part.collection, filter=part.where, with_vectors=part.vectors is not None):
            if part.keep is not None and not part.keep(hit.payload):
                continue
            record: dict[str, Any] = {"id": hit.id, "payload": hit.payload}
            if part.vectors is not None and hit.dense is not None:
                record["dense"] = [float(x) for x in hit.dense]
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            n += 1
    return n


def _private(path: Path) -> Any:
    """A new file only its owner can read: an export holds names, e-mail addresses and questions."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8")


def _keycheck(catalog: Catalog) -> str:
    return catalog.ledger.keyed("kennismakelaar-export", purpose="keycheck")


# --- import ---------------------------------------------------------------------------------------------------


def import_store(km: Kennismakelaar, directory: Path) -> dict[str, Any]:
    """Put an export back into this store (which may already hold the re-ingested files); idempotent."""
    directory = Path(directory)
    manifest = _manifest(directory)
    catalog = km.catalog()
    if manifest.get("keycheck") != _keycheck(catalog):
        raise ConfigError(
            "Deze export is gemaakt met een andere geheime sleutel (KM_SECRET_KEY): de markeringen van verwijderde "
            "personen zouden hier niets meer herkennen, dus wordt er niets teruggezet.",
            hint="Gebruik de sleutel van de dienst waaruit de export komt (KM_SECRET_KEY, of het bestand secret.key "
                 "uit zijn KM_DATA_DIR). Heb je de bestanden al opgenomen met een andere sleutel, begin dan opnieuw "
                 "met een lege KM_DATA_DIR.")
    same_model = manifest.get("model") == catalog.model_identity and manifest.get("dim") == catalog.dim
    try:
        parts = _manifest_parts(manifest)
    except (AttributeError, TypeError, ValueError) as exc:
        raise ValidationError(f"{directory / MANIFEST}: de lijst van onderdelen is beschadigd ({exc}).",
                              hint="Maak een nieuwe export.", field="dir") from exc
    for part, count in parts:  # the whole export is read once before anything is written
        found = sum(1 for _ in _records(directory, part, catalog.dim if same_model else None))
        if found != count:
            raise ValidationError(f"{directory / part.file}: {found} regels, het manifest noemt er {count}.",
                                  hint="De export is onvolledig of gewijzigd; maak een nieuwe export.", field="dir")
    ingestor = km.ingestor()
    remover = ingestor.remover()
    imported = {}
    for part, _ in parts:
        imported[part.name] = 0
        batch: list[dict[str, Any]] = []
        for record in _records(directory, part, None):
            batch.append(record)
            if len(batch) >= _BATCH:
                imported[part.name] += _put(km, remover.profile_text, part, batch, same_model)
                batch = []
        imported[part.name] += _put(km, remover.profile_text, part, batch, same_model)
    deleted = _apply_tombstones(catalog)
    markers = catalog.forgotten()
    profiles_gone, scrubbed = 0, Scrubbed().as_dict()
    if markers:
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
    catalog.store.flush()
    return {"dir": str(directory), "model": catalog.model_identity, "exported_at": manifest.get("exported_at"),
            "imported": imported, "labels": {p.name: p.label for p, _ in parts}, "reembedded": not same_model,
            "documents_deleted": deleted, "profiles_deleted": profiles_gone, "scrubbed": scrubbed}


def _manifest(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise ValidationError(f"In {directory} staat geen export: {MANIFEST} ontbreekt.",
                              hint="Geef de map die 'kennismakelaar export' maakte (een onderbroken export heeft "
                                   "geen manifest).", field="dir") from None
    except (OSError, ValueError) as exc:
        raise ValidationError(f"{path} is niet te lezen ({getattr(exc, 'strerror', None) or exc}).",
                              hint="Geef de map die 'kennismakelaar export' maakte.", field="dir") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ValidationError(f"{path} is geen export van Kennismakelaar.", field="dir")
    if not (isinstance(manifest.get("version"), int) and isinstance(manifest.get("schema"), int)
            and isinstance(manifest.get("parts"), list)):
        raise ValidationError(f"{path}: versie, schema of onderdelen ontbreken.", hint="Maak een nieuwe export.",
                              field="dir")
    if manifest["version"] > VERSION or manifest["schema"] > SCHEMA_VERSION:
        raise ValidationError(f"{path} is gemaakt door een nieuwere versie van Kennismakelaar.",
                              hint="Zet de export terug met die versie (of een nieuwere).", field="dir")
    return manifest


def _manifest_parts(manifest: dict[str, Any]) -> list[tuple[Part, int]]:
    """The parts named in the manifest, in our order of import; a ledger kind we do not know yet comes back
    as it was, anything else unknown is refused."""
    ours = {p.name: p for p in PARTS}
    found: dict[str, tuple[Part, int]] = {}
    for entry in manifest.get("parts", []):
        name, kind, count = entry.get("name"), entry.get("kind"), int(entry.get("count", 0))
        part = ours.get(name)
        if part is None and entry.get("collection") == LEDGER and kind and kind not in NOT_EXPORTED:
            part = Part(name, LEDGER, entry.get("label") or name, kind=kind)
        if part is None or (part.kind or None) != (kind or None) or part.collection != entry.get("collection"):
            raise ValidationError(f"De export bevat een onderdeel dat deze versie niet kent: {name!r}.",
                                  hint="Zet de export terug met de versie van Kennismakelaar die hem maakte.",
                                  field="dir")
        found[name] = (part, count)
    order = [p.name for p in PARTS]
    return sorted(found.values(), key=lambda pc: (order.index(pc[0].name) if pc[0].name in order else len(order),
                                                  pc[0].name))


def _records(directory: Path, part: Part, dim: int | None) -> Iterator[dict[str, Any]]:
    """The lines of one part, each checked (with ``dim``: also the length of its vector)."""
    path = directory / part.file
    try:
        with path.open(encoding="utf-8") as lines:
            for n, line in enumerate(lines, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    ok = isinstance(record, dict) and isinstance(record.get("id"), str) \
                        and isinstance(record.get("payload"), dict)
                except ValueError:
                    ok = False
                if ok and part.kind is not None:
                    ok = record["payload"].get("kind") == part.kind
                if ok and dim is not None and part.vectors is not None:
                    ok = isinstance(record.get("dense"), list) and len(record["dense"]) == dim
                if not ok:
                    raise ValidationError(f"{path}, regel {n}: geen geldige regel van een export.",
                                          hint="Het bestand is beschadigd of gewijzigd; maak een nieuwe export.",
                                          field="dir")
                yield record
    except OSError as exc:
        raise ValidationError(f"{path} is niet te lezen ({exc.strerror or exc}).",
                              hint="Een export bestaat uit manifest.json en de bestanden die het noemt.",
                              field="dir") from exc


def _put(km: Kennismakelaar, profile_text: Callable[[dict[str, Any]], str], part: Part,
         records: list[dict[str, Any]], same_model: bool) -> int:
    """Upsert one batch under the exported ids; vectors as exported, or embedded again for another model."""
    if not records:
        return 0
    catalog = km.catalog()
    points = [Point(r["id"], r["payload"]) for r in records]
    if part.vectors == "profile":
        texts = [profile_text(p.payload) for p in points]
        dense = [r["dense"] for r in records] if same_model else list(km.embedder.embed_documents(texts))
        for p, text, vector in zip(points, texts, dense, strict=True):
            p.dense, p.sparse = {DENSE: vector}, {SPARSE: km.bm25.embed_document(text)}
    elif part.vectors == "question":
        for p, r in zip(points, records, strict=True):
            p.dense = {DENSE: r["dense"] if same_model else km.embedder.embed_query(p.payload.get("text", ""))}
    catalog.rewrite(part.collection, points)
    return len(points)


def _apply_tombstones(catalog: Catalog) -> int:
    """Documents a coordinator deleted go again when the re-ingested version is the one they deleted."""
    deleted = 0
    for tomb in list(catalog.ledger.all("deleted")):
        record = catalog.document(tomb.get("document_id", ""))
        if record is not None and record.get("content_hash") == tomb.get("content_hash"):
            catalog.delete_document(tomb["document_id"])
            deleted += 1
    return deleted
