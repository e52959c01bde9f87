"""Back-up and restore of what exists only in the store (``kennismakelaar export DIR`` / ``import DIR``).

Documents and their passages come back from their files (the source folders and the uploads folder
``KM_DATA_DIR/files``) by ingesting them again; what coordinators and askers did in the service does not.
An export holds exactly that: the parts in ``PARTS`` — profiles edited or created in the service, the
question log, and the ledger's records (markers of removed people, tombstones of deleted documents, contact
requests and meetings, feedback, upload jobs; never the rate-limit hits). What the retention should already
have removed is purged first, so no export carries it.

DIR holds one JSON Lines file per part, a line ``{"id", "payload", "dense"?}`` per point, and ``manifest.json``
— written last, so a folder without it is no export — with the counts, the model, the schema version, the
time, the SHA-256 of every part's file and a signature: an HMAC-SHA256 over the whole manifest with a key
derived from the service's secret. An import believes nothing it cannot check: a manifest or part changed
after the export, an export of another service (another ``KM_SECRET_KEY``: its markers would be blind here),
a part whose file name could lie outside DIR, a line whose point id is not its kind's own — so that a line of
one part could overwrite a record of another, a removal marker above all — are each refused by name, before
anything is written. Exports made before they were signed are refused unless ``--unsigned`` says the
operator vouches for the folder; every other check still holds for them.

An import upserts the points under their own ids (a service edit replaces the file's version of a profile and
keeps its ``edited`` and ``profile_hash``, so a re-ingest of the unchanged file changes nothing; importing
twice changes nothing) — except that it never replaces a marker of a removed person or a tombstone the store
already holds, and never brings back a contact request or meeting whose tombstone it holds. Then it applies
their effects again: documents whose tombstone matches their current version go, the removal scrub runs with
all markers over everything, and the retention purges what has expired. So neither a re-ingest done before
the import nor an older export brings back a removed person, a deleted document or a deleted request. Dense
vectors are used as exported when the model is the same; with another model profiles and questions are
embedded again from their text.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import math
import os
import re
import stat
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from core.errors import ConfigError, ValidationError
from core.models import API_ROOT
from core.names import name_key
from core.store.catalog import EXPERTS, QUESTIONS, SCHEMA_VERSION, Catalog, feedback_key
from core.store.ledger import LEDGER
from core.store.types import DENSE, SPARSE, Filter, MatchAny, Point, point_uuid
from ingestion.removal import Scrubbed
from service.keys import derive

if TYPE_CHECKING:
    from service.container import Kennismakelaar

FORMAT = "kennismakelaar-export"
VERSION = 2
SIGNED_SINCE = 2  # version 1 exports carry no signature
MANIFEST = "manifest.json"
SIGNATURE = "HMAC-SHA256"
# ledger kinds not kept: rate-limit counters of the last day; who may log in — coordinators, their token hashes
# and sessions — is not restored from a copy of the past (a restore would bring back a removed coordinator's
# token): after a restore coordinators are added again (``kennismakelaar coordinator add``)
NOT_EXPORTED = frozenset({"hit", "session", "coordinator", "coordinator-token"})
# what records a removal or a deletion: the store's own are never replaced by an import's (older) version
KEPT = frozenset({"forgotten", "deleted", "gone-contact", "gone-meeting"})
TOMBSTONED = ("contact", "meeting")  # kinds whose deleted ids leave a ``gone-<kind>`` tombstone
_NAME = re.compile(r"[a-z0-9-]+")  # a part's name, and so its file: nothing that can leave the folder
_HEX64 = re.compile(r"[0-9a-f]{64}")
_BATCH = 256
_IN_MEMORY = 32 * 1024 * 1024  # a part larger than this is checked and read back from a private temporary file


def _made_in_service(profile: dict[str, Any]) -> bool:
    return bool(profile.get("edited")) or profile.get("root") == API_ROOT


# --- the id rule of each part: a line may only write a point of its own kind ----------------------------------
# The store maps every id to a UUID (``point_uuid``; scroll gives that UUID back, and so does an export), so ids
# are compared as the store will see them. Keyed records (``Ledger.put``) live under ``{kind}:{key}``; appended
# ones (``Ledger.append``: the audit log) under a random UUID, which no ``{kind}:{key}`` ever maps to.

IdRule = Callable[["Part", str, dict[str, Any]], bool]


def _same_point(point_id: str, key: str) -> bool:
    return point_uuid(point_id) == point_uuid(key)


def _keyed(part: Part, point_id: str, payload: dict[str, Any]) -> bool:
    key = payload.get("key")
    return isinstance(key, str) and key != "" and _same_point(point_id, f"{part.kind}:{key}")


def _appended(part: Part, point_id: str, payload: dict[str, Any]) -> bool:
    try:
        random = uuid.UUID(point_id)
    except ValueError:
        return False
    return random.version == 4 and str(random) == point_id and isinstance(payload.get("key"), str)


def _marker(part: Part, point_id: str, payload: dict[str, Any]) -> bool:
    return _keyed(part, point_id, payload) and bool(_HEX64.fullmatch(payload["key"]))  # a keyed hash (Ledger.keyed)


def _tombstone(part: Part, point_id: str, payload: dict[str, Any]) -> bool:
    return _keyed(part, point_id, payload) and payload["key"] == payload.get("document_id")


def _feedback(part: Part, point_id: str, payload: dict[str, Any]) -> bool:
    fields = [f for f in (payload.get("question_id"), payload.get("item_type"), payload.get("item_id"))
              if isinstance(f, str)]
    if not (_keyed(part, point_id, payload) and len(fields) == 3):
        return False
    return payload["key"] == feedback_key(*fields)


def _profile(part: Part, point_id: str, payload: dict[str, Any]) -> bool:
    expert_id = payload.get("expert_id")
    return isinstance(expert_id, str) and expert_id != "" and _made_in_service(payload) \
        and _same_point(point_id, Catalog.expert_key(expert_id))


def _question(part: Part, point_id: str, payload: dict[str, Any]) -> bool:
    question_id = payload.get("question_id")
    try:
        uuid.UUID(str(question_id))
    except ValueError:
        return False
    return isinstance(question_id, str) and _same_point(point_id, question_id)


def _any_ledger(part: Part, point_id: str, payload: dict[str, Any]) -> bool:
    """A kind this version does not know (from a newer one): keyed or appended, nothing else."""
    return _keyed(part, point_id, payload) or _appended(part, point_id, payload)


@dataclass(frozen=True)
class Part:
    """One kind of store-only data: where it lives, which of its points, and whether it carries a vector."""

    name: str  # its file is NAME.jsonl
    collection: str
    label: str  # for people
    kind: str | None = None  # ledger records of this kind
    vectors: str | None = None  # "profile" | "question": how its dense vector is made again for another model
    keep: Callable[[dict[str, Any]], bool] | None = None
    ids: IdRule = _keyed  # which point ids a line of this part may carry

    @property
    def file(self) -> str:
        return f"{self.name}.jsonl"

    @property
    def where(self) -> Filter | None:
        return Filter.where(kind=self.kind) if self.kind else None


# Everything that exists only in the store, one line each, in the order of import (markers and tombstones first:
# see ingestion.removal, and the requests and meetings that their tombstones keep out). A later kind of record is
# backed up by adding its line here; a ledger kind missing here is exported all the same (``_parts``), so none is
# lost by oversight.
PARTS: tuple[Part, ...] = (
    Part("forgotten", LEDGER, "markeringen van verwijderde personen", kind="forgotten", ids=_marker),
    Part("deleted", LEDGER, "verwijderde documenten", kind="deleted", ids=_tombstone),
    Part("gone-contact", LEDGER, "verwijderde contactverzoeken (alleen hun id)", kind="gone-contact"),
    Part("gone-meeting", LEDGER, "verwijderde bijeenkomsten (alleen hun id)", kind="gone-meeting"),
    Part("profiles", EXPERTS, "profielen bewerkt of gemaakt in de dienst", vectors="profile", keep=_made_in_service,
         ids=_profile),
    Part("questions", QUESTIONS, "gestelde vragen", vectors="question", ids=_question),
    Part("feedback", LEDGER, "feedback", kind="feedback", ids=_feedback),
    Part("contacts", LEDGER, "contactverzoeken (met naam en e-mailadres van de vrager)", kind="contact"),
    Part("meetings", LEDGER, "bijeenkomsten met hun panels", kind="meeting"),
    Part("availability", LEDGER, "beschikbaarheid van experts", kind="availability"),
    Part("jobs", LEDGER, "uploadtaken", kind="job"),
    Part("audit", LEDGER, "logboek: wie wat veranderde, en wanneer", kind="audit", ids=_appended),
)


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
        manifest["signature"]["value"] = _signature(km, manifest)
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
    # every kind in the code is a plain slug; one that is not could not name a part's file
    return [*PARTS, *(_extra_part(k) for k in extra if _NAME.fullmatch(k))]


def _extra_part(kind: str) -> Part:
    return Part(f"ledger-{kind}", LEDGER, f"overige registraties ({kind})", kind=kind, ids=_any_ledger)


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


def _signature(km: Kennismakelaar, manifest: dict[str, Any]) -> str:
    """HMAC-SHA256 over the manifest as canonical JSON, its signature's value left out; the manifest holds every
    part's SHA-256, so this signs the lines too. The key is the service's own for this purpose."""
    signed = {**manifest, "signature": {k: v for k, v in manifest.get("signature", {}).items() if k != "value"}}
    body = json.dumps(signed, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return hmac.new(derive(km.settings, "export-signature"), body, hashlib.sha256).hexdigest()


# --- import ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    """A part as the manifest lists it."""

    part: Part
    count: int
    sha256: str | None


def import_store(km: Kennismakelaar, directory: Path, *, unsigned: bool = False) -> dict[str, Any]:
    """Put an export back into this store (which may already hold the re-ingested files); idempotent. Everything
    is checked before anything is written; ``unsigned`` accepts an export made before exports were signed."""
    directory = Path(directory)
    manifest = _manifest(directory)
    entries = _manifest_parts(directory, manifest)
    catalog = km.catalog()
    if manifest.get("keycheck") != _keycheck(catalog):
        raise ConfigError(
            "Deze export is gemaakt met een andere geheime sleutel (KM_SECRET_KEY): de markeringen van verwijderde "
            "personen zouden hier niets meer herkennen, dus wordt er niets teruggezet.",
            hint="Gebruik de sleutel van de dienst waaruit de export komt (KM_SECRET_KEY, of het bestand secret.key "
                 "uit zijn KM_DATA_DIR). Heb je de bestanden al opgenomen met een andere sleutel, begin dan opnieuw "
                 "met een lege KM_DATA_DIR.")
    signed = _verify_signature(km, directory, manifest, entries, unsigned)
    same_model = manifest.get("model") == catalog.model_identity and manifest.get("dim") == catalog.dim
    with contextlib.ExitStack() as stack:
        copies = [(e, stack.enter_context(_copy(directory, e))) for e in entries]  # the bytes that were checked
        for entry, copy in copies:
            _check_part(catalog, directory, entry, copy, catalog.dim if same_model else None)
        imported, dropped = _write_all(km, copies, same_model)
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
    if profiles_gone or sum(scrubbed.values()):  # names written by the import, then scrubbed: still in the files
        catalog.erase_history()
    catalog.store.flush()
    return {"dir": str(directory), "model": catalog.model_identity, "exported_at": manifest.get("exported_at"),
            "imported": imported, "labels": {e.part.name: e.part.label for e in entries},
            "reembedded": not same_model, "documents_deleted": deleted, "profiles_deleted": profiles_gone,
            "scrubbed": scrubbed, "dropped": dropped, "purged": purged, "unsigned": not signed}


def _refused(message: str, hint: str = "Maak een nieuwe export met 'kennismakelaar export'.") -> ValidationError:
    return ValidationError(message, hint=hint, field="dir")


def _manifest(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise _refused(f"In {directory} staat geen export: {MANIFEST} ontbreekt.",
                       hint="Geef de map die 'kennismakelaar export' maakte (een onderbroken export heeft "
                            "geen manifest).") from None
    except (OSError, ValueError) as exc:
        raise _refused(f"{path} is niet te lezen ({getattr(exc, 'strerror', None) or exc}).",
                       hint="Geef de map die 'kennismakelaar export' maakte.") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _refused(f"{path} is geen export van Kennismakelaar.", hint="Geef de map die 'kennismakelaar export' "
                                                                          "maakte.")
    if not (isinstance(manifest.get("version"), int) and isinstance(manifest.get("schema"), int)
            and isinstance(manifest.get("parts"), list)):
        raise _refused(f"{path}: versie, schema of onderdelen ontbreken.")
    if manifest["version"] > VERSION or manifest["schema"] > SCHEMA_VERSION:
        raise _refused(f"{path} is gemaakt door een nieuwere versie van Kennismakelaar.",
                       hint="Zet de export terug met die versie (of een nieuwere).")
    try:
        dt.datetime.fromisoformat(str(manifest.get("exported_at")))
    except ValueError:
        raise _refused(f"{path}: het tijdstip van de export ontbreekt of is onleesbaar.") from None
    return manifest


def _manifest_parts(directory: Path, manifest: dict[str, Any]) -> list[_Entry]:
    """The parts named in the manifest, in our order of import. Each name must be a plain file name in DIR; a
    ledger kind this version does not know yet comes back as it was, anything else unknown is refused."""
    ours = {p.name: p for p in PARTS}
    by_kind = {p.kind: p for p in PARTS if p.kind}
    found: dict[str, _Entry] = {}
    for entry in manifest["parts"]:
        if not isinstance(entry, dict):
            raise _refused(f"{directory / MANIFEST}: de lijst van onderdelen is beschadigd.")
        name, kind, count, digest = entry.get("name"), entry.get("kind"), entry.get("count"), entry.get("sha256")
        if not (isinstance(name, str) and _NAME.fullmatch(name)):
            raise _refused(
                f"{directory / MANIFEST} noemt een onderdeel met een ongeldige naam: {name!r}. Een onderdeel heet "
                f"alleen met kleine letters, cijfers en streepjes, en zijn bestand staat in de exportmap zelf.",
                hint="Deze export is gewijzigd of niet door Kennismakelaar gemaakt: zet hem niet terug.")
        part = ours.get(name)
        if part is None and entry.get("collection") == LEDGER and isinstance(kind, str) and name == f"ledger-{kind}" \
                and kind not in NOT_EXPORTED:  # kinds a version-1 export did not know yet are saved under this name
            part = dataclasses.replace(by_kind[kind], name=name) if kind in by_kind else _extra_part(kind)
        if part is None or (part.kind or None) != (kind or None) or part.collection != entry.get("collection"):
            raise _refused(f"De export bevat een onderdeel dat deze versie niet kent: {name!r}.",
                           hint="Zet de export terug met de versie van Kennismakelaar die hem maakte.")
        if not (isinstance(count, int) and count >= 0) or (digest is not None and not isinstance(digest, str)):
            raise _refused(f"{directory / MANIFEST}: het aantal regels of de controlesom van {name!r} is onleesbaar.")
        key = part.kind or part.name
        if key in found:
            raise _refused(f"{directory / MANIFEST} noemt het onderdeel {name!r} twee keer.",
                           hint="Deze export is gewijzigd of niet door Kennismakelaar gemaakt: zet hem niet terug.")
        found[key] = _Entry(part, count, digest)
    order = [p.kind or p.name for p in PARTS]
    return sorted(found.values(), key=lambda e: (order.index(e.part.kind or e.part.name)
                                                 if (e.part.kind or e.part.name) in order else len(order), e.part.name))


def _verify_signature(km: Kennismakelaar, directory: Path, manifest: dict[str, Any], entries: list[_Entry],
                      unsigned: bool) -> bool:
    """Whether the export is signed (and the signature holds); an unsigned one only from before signing, when
    ``unsigned`` accepts it."""
    path = directory / MANIFEST
    signature = manifest.get("signature")
    if signature is None and manifest["version"] < SIGNED_SINCE:
        if unsigned:
            return False
        raise _refused(
            f"{path}: deze export is niet ondertekend (gemaakt voordat Kennismakelaar exports ondertekende), dus is "
            f"niet na te gaan of hij sindsdien is gewijzigd. Er is niets teruggezet.",
            hint="Maak een nieuwe export als de dienst er nog is. Kan dat niet en weet je zeker dat niemand deze map "
                 "kon wijzigen, zet hem dan terug met 'kennismakelaar import DIR --unsigned': alle andere controles "
                 "blijven gelden.")
    held = signature if isinstance(signature, dict) else {}
    value = held.get("value")
    if not (isinstance(value, str) and held.get("alg") == SIGNATURE
            and hmac.compare_digest(value.encode(), _signature(km, manifest).encode())):
        raise _refused(
            f"{path}: de ondertekening klopt niet. Het manifest is na de export gewijzigd, of de export is gemaakt "
            f"door een dienst met een andere geheime sleutel (KM_SECRET_KEY). Er is niets teruggezet.",
            hint="Zet alleen een export terug die deze dienst (met deze sleutel) maakte en die niemand wijzigde.")
    missing = [e.part.name for e in entries if not (e.sha256 and _HEX64.fullmatch(e.sha256))]
    if missing:
        raise _refused(f"{path}: de controlesom van {', '.join(missing)} ontbreekt.")
    return True


@contextlib.contextmanager
def _copy(directory: Path, entry: _Entry) -> Iterator[IO[bytes]]:
    """A private copy of one part's file, read once, its SHA-256 checked against the signed manifest: the lines
    checked are the lines written, whatever happens to DIR meanwhile. Never through a symbolic link."""
    path = directory / entry.part.file
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)  # a FIFO must not hang us
    except FileNotFoundError:
        raise _refused(f"{path} ontbreekt: het manifest noemt dit onderdeel.") from None
    except OSError as exc:
        if os.path.islink(path):
            raise _refused(f"{path} is een symbolische koppeling: een export bestaat alleen uit eigen bestanden "
                           f"in de exportmap.", hint="Deze export is gewijzigd: zet hem niet terug.") from None
        raise _refused(f"{path} is niet te lezen ({exc.strerror or exc}).",
                       hint="Een export bestaat uit manifest.json en de bestanden die het noemt.") from exc
    with os.fdopen(fd, "rb") as source, tempfile.SpooledTemporaryFile(max_size=_IN_MEMORY) as copy:
        if not stat.S_ISREG(os.fstat(source.fileno()).st_mode):
            raise _refused(f"{path} is geen gewoon bestand.", hint="Deze export is gewijzigd: zet hem niet terug.")
        digest = hashlib.sha256()
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
            copy.write(block)
        if entry.sha256 is not None and not hmac.compare_digest(digest.hexdigest().encode(), entry.sha256.encode()):
            raise _refused(f"{path} is na de export gewijzigd of beschadigd: de controlesom klopt niet met het "
                           f"ondertekende manifest. Er is niets teruggezet.",
                           hint="Zet een export terug die niemand wijzigde, of maak een nieuwe.")
        yield copy


def _records(copy: IO[bytes], where: Path, part: Part, dim: int | None) -> Iterator[tuple[int, dict[str, Any]]]:
    """The lines of one part with their line numbers, each checked: its shape, its kind, its point id (its kind's
    own id rule) and, with ``dim``, the length of its vector."""
    copy.seek(0)
    for n, raw in enumerate(copy, 1):
        try:
            line = raw.decode("utf-8")
            if not line.strip():
                continue
            record = json.loads(line)
        except ValueError:
            record = None
        ok = isinstance(record, dict) and isinstance(record.get("id"), str) and isinstance(record.get("payload"), dict)
        if ok and part.kind is not None:
            ok = record["payload"].get("kind") == part.kind
        if ok and part.vectors is not None and "dense" in record:
            dense = record["dense"]
            ok = isinstance(dense, list) and all(isinstance(x, int | float) and math.isfinite(x) for x in dense)
        if ok and dim is not None and part.vectors is not None:
            ok = isinstance(record.get("dense"), list) and len(record["dense"]) == dim
        if not ok:
            raise _refused(f"{where}, regel {n}: geen geldige regel van een export.",
                           hint="Het bestand is beschadigd of gewijzigd; maak een nieuwe export.")
        if not part.ids(part, record["id"], record["payload"]):
            raise _refused(
                f"{where}, regel {n}: het id {record['id']!r} is geen id van een {part.label!r}-regel; een onderdeel "
                f"mag alleen gegevens van zijn eigen soort schrijven, nooit die van een ander (zoals de markeringen "
                f"van verwijderde personen). Er is niets teruggezet.",
                hint="Deze export is gewijzigd of niet door Kennismakelaar gemaakt: zet hem niet terug.")
        yield n, record


def _check_part(catalog: Catalog, directory: Path, entry: _Entry, copy: IO[bytes], dim: int | None) -> None:
    """Every line of one part, before anything is written; and no line may land on a point this store holds
    as another kind of record."""
    where, found, batch = directory / entry.part.file, 0, {}
    for n, record in _records(copy, where, entry.part, dim):
        found += 1
        if entry.part.collection == LEDGER:
            batch[point_uuid(record["id"])] = n
        if len(batch) >= _BATCH:
            _same_kind(catalog, where, entry.part, batch)
            batch = {}
    _same_kind(catalog, where, entry.part, batch)
    if found != entry.count:
        raise _refused(f"{where}: {found} regels, het manifest noemt er {entry.count}.",
                       hint="De export is onvolledig of gewijzigd; maak een nieuwe export.")


def _same_kind(catalog: Catalog, where: Path, part: Part, lines: dict[str, int]) -> None:
    for hit in catalog.store.retrieve(LEDGER, list(lines)) if lines else []:
        if hit.payload.get("kind") != part.kind:
            raise _refused(f"{where}, regel {lines.get(hit.id, 0)}: dit id hoort in deze opslag bij een ander soort "
                           f"gegeven ({hit.payload.get('kind')!r}); een onderdeel mag dat niet overschrijven.",
                           hint="Deze export is gewijzigd of niet door Kennismakelaar gemaakt: zet hem niet terug.")


def _write_all(km: Kennismakelaar, copies: list[tuple[_Entry, IO[bytes]]],
               same_model: bool) -> tuple[dict[str, int], dict[str, int]]:
    """Write every checked part; returns, per part, the lines now in the store and the ones left out because a
    tombstone of this store says they were deleted."""
    catalog = km.catalog()
    profile_text = km.ingestor().remover().profile_text
    imported, dropped = {}, {}
    for entry, copy in copies:
        part = entry.part
        gone = catalog.deleted_ids(part.kind) if part.kind in TOMBSTONED else set()
        imported[part.name] = dropped[part.name] = 0
        batch: list[dict[str, Any]] = []
        for _, record in _records(copy, Path(part.file), part, None):
            if part.kind in TOMBSTONED and record["payload"].get("key") in gone:
                dropped[part.name] += 1
                continue
            batch.append(record)
            if len(batch) >= _BATCH:
                imported[part.name] += _put(km, profile_text, part, batch, same_model)
                batch = []
        imported[part.name] += _put(km, profile_text, part, batch, same_model)
    return imported, {name: n for name, n in dropped.items() if n}


def _put(km: Kennismakelaar, profile_text: Callable[[dict[str, Any]], str], part: Part,
         records: list[dict[str, Any]], same_model: bool) -> int:
    """Upsert one batch under the exported ids; vectors as exported, or embedded again for another model. A marker
    or tombstone the store holds already stays as it is. Returns how many of the batch are in the store now."""
    if not records:
        return 0
    catalog = km.catalog()
    if part.kind in KEPT:
        held = {h.id for h in catalog.store.retrieve(LEDGER, [r["id"] for r in records])}
        fresh = [r for r in records if point_uuid(r["id"]) not in held]
    else:
        fresh = records
    points = [Point(r["id"], r["payload"]) for r in fresh]
    if part.vectors == "profile":
        texts = [profile_text(p.payload) for p in points]
        dense = [r["dense"] for r in fresh] if same_model else list(km.embedder.embed_documents(texts))
        for p, text, vector in zip(points, texts, dense, strict=True):
            p.dense, p.sparse = {DENSE: vector}, {SPARSE: km.bm25.embed_document(text)}
    elif part.vectors == "question":
        for p, r in zip(points, fresh, strict=True):
            p.dense = {DENSE: r["dense"] if same_model else km.embedder.embed_query(p.payload.get("text", ""))}
    if points:
        catalog.rewrite(part.collection, points)
    return len(records)


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
