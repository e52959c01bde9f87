"""What an export is, and the checks an import makes of it before it believes a line (``service.backup``).

An export is a folder: ``manifest.json`` and one JSON Lines file per ``Part``. The manifest is signed as a whole
(HMAC-SHA256, keyed from the service's secret) and holds each part's SHA-256, so every line is signed too. Each
part has its id rule: a line may only write a point of its own kind — so no line of one part can overwrite a
record of another, a removal marker above all. Nothing here writes to the store.
"""

from __future__ import annotations

import contextlib
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

from core.errors import ValidationError
from core.models import API_ROOT
from core.store.catalog import SCHEMA_VERSION, Catalog, feedback_key
from core.store.types import Filter, point_uuid
from service.keys import derive

if TYPE_CHECKING:
    from service.container import Kennismakelaar

FORMAT = "kennismakelaar-export"
VERSION = 2
SIGNED_SINCE = 2  # version 1 exports carry no signature
MANIFEST = "manifest.json"
SIGNATURE = "HMAC-SHA256"
NAME = re.compile(r"[a-z0-9-]+")  # a part's name, and so its file: nothing that can leave the folder
HEX64 = re.compile(r"[0-9a-f]{64}")
_IN_MEMORY = 32 * 1024 * 1024  # a part larger than this is checked and read back from a private temporary file


def made_in_service(profile: dict[str, Any]) -> bool:
    """A profile edited or created in the service: the only ones an export holds (the rest come from files)."""
    return bool(profile.get("edited")) or profile.get("root") == API_ROOT


# --- the id rule of each part: a line may only write a point of its own kind ----------------------------------
# The store maps every id to a UUID (``point_uuid``; scroll gives that UUID back, and so does an export), so ids
# are compared as the store will see them. Keyed records (``Ledger.put``) live under ``{kind}:{key}``; appended
# ones (``Ledger.append``: the audit log) under a random UUID, which no ``{kind}:{key}`` ever maps to.

IdRule = Callable[["Part", str, dict[str, Any]], bool]


def _same_point(point_id: str, key: str) -> bool:
    return point_uuid(point_id) == point_uuid(key)


def keyed(part: Part, point_id: str, payload: dict[str, Any]) -> bool:
    key = payload.get("key")
    return isinstance(key, str) and key != "" and _same_point(point_id, f"{part.kind}:{key}")


def appended(part: Part, point_id: str, payload: dict[str, Any]) -> bool:
    try:
        random = uuid.UUID(point_id)
    except ValueError:
        return False
    return random.version == 4 and str(random) == point_id and isinstance(payload.get("key"), str)


def marker(part: Part, point_id: str, payload: dict[str, Any]) -> bool:
    return keyed(part, point_id, payload) and bool(HEX64.fullmatch(payload["key"]))  # a keyed hash (Ledger.keyed)


def tombstone(part: Part, point_id: str, payload: dict[str, Any]) -> bool:
    return keyed(part, point_id, payload) and payload["key"] == payload.get("document_id")


def feedback(part: Part, point_id: str, payload: dict[str, Any]) -> bool:
    fields = [f for f in (payload.get("question_id"), payload.get("item_type"), payload.get("item_id"))
              if isinstance(f, str)]
    if not (keyed(part, point_id, payload) and len(fields) == 3):
        return False
    return payload["key"] == feedback_key(*fields)


def profile(part: Part, point_id: str, payload: dict[str, Any]) -> bool:
    expert_id = payload.get("expert_id")
    return isinstance(expert_id, str) and expert_id != "" and made_in_service(payload) \
        and _same_point(point_id, Catalog.expert_key(expert_id))


def question(part: Part, point_id: str, payload: dict[str, Any]) -> bool:
    question_id = payload.get("question_id")
    try:
        uuid.UUID(str(question_id))
    except ValueError:
        return False
    return isinstance(question_id, str) and _same_point(point_id, question_id)


def any_ledger(part: Part, point_id: str, payload: dict[str, Any]) -> bool:
    """A kind this version does not know (from a newer one): keyed or appended, nothing else."""
    return keyed(part, point_id, payload) or appended(part, point_id, payload)


def _dated(payload: dict[str, Any]) -> bool:
    at = payload.get("at")
    return isinstance(at, int | float) and not isinstance(at, bool) and math.isfinite(at)


def lifted_marker(part: Part, point_id: str, payload: dict[str, Any]) -> bool:
    """A marker lifted on purpose: under the same keyed hash as the marker, and when."""
    return marker(part, point_id, payload) and _dated(payload)


def lifted_tombstone(part: Part, point_id: str, payload: dict[str, Any]) -> bool:
    """A document's tombstone lifted on purpose: under the document's own id, and when."""
    return tombstone(part, point_id, payload) and _dated(payload)


@dataclass(frozen=True)
class Part:
    """One kind of store-only data: where it lives, which of its points, and whether it carries a vector."""

    name: str  # its file is NAME.jsonl
    collection: str
    label: str  # for people
    kind: str | None = None  # ledger records of this kind
    vectors: str | None = None  # "profile" | "question": how its dense vector is made again for another model
    keep: Callable[[dict[str, Any]], bool] | None = None
    ids: IdRule = keyed  # which point ids a line of this part may carry

    @property
    def file(self) -> str:
        return f"{self.name}.jsonl"

    @property
    def where(self) -> Filter | None:
        return Filter.where(kind=self.kind) if self.kind else None


@dataclass(frozen=True)
class Entry:
    """A part as the manifest lists it."""

    part: Part
    count: int
    sha256: str | None


def refused(message: str, hint: str = "Maak een nieuwe export met 'kennismakelaar export'.") -> ValidationError:
    return ValidationError(message, hint=hint, field="dir")


def read_manifest(directory: Path) -> dict[str, Any]:
    """The folder's manifest, if it is one of ours of a version this one reads (its signature: ``verify_signature``)."""
    path = directory / MANIFEST
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise refused(f"In {directory} staat geen export: {MANIFEST} ontbreekt.",
                      hint="Geef de map die 'kennismakelaar export' maakte (een onderbroken export heeft "
                           "geen manifest).") from None
    except (OSError, ValueError) as exc:
        raise refused(f"{path} is niet te lezen ({getattr(exc, 'strerror', None) or exc}).",
                      hint="Geef de map die 'kennismakelaar export' maakte.") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise refused(f"{path} is geen export van Kennismakelaar.", hint="Geef de map die 'kennismakelaar export' "
                                                                         "maakte.")
    if not (isinstance(manifest.get("version"), int) and isinstance(manifest.get("schema"), int)
            and isinstance(manifest.get("parts"), list)):
        raise refused(f"{path}: versie, schema of onderdelen ontbreken.")
    if manifest["version"] > VERSION or manifest["schema"] > SCHEMA_VERSION:
        raise refused(f"{path} is gemaakt door een nieuwere versie van Kennismakelaar.",
                      hint="Zet de export terug met die versie (of een nieuwere).")
    try:
        dt.datetime.fromisoformat(str(manifest.get("exported_at")))
    except ValueError:
        raise refused(f"{path}: het tijdstip van de export ontbreekt of is onleesbaar.") from None
    return manifest


def sign(km: Kennismakelaar, manifest: dict[str, Any]) -> str:
    """HMAC-SHA256 over the manifest as canonical JSON, its signature's value left out; the manifest holds every
    part's SHA-256, so this signs the lines too. The key is the service's own for this purpose."""
    signed = {**manifest, "signature": {k: v for k, v in manifest.get("signature", {}).items() if k != "value"}}
    body = json.dumps(signed, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return hmac.new(derive(km.settings, "export-signature"), body, hashlib.sha256).hexdigest()


def verify_signature(km: Kennismakelaar, directory: Path, manifest: dict[str, Any], entries: list[Entry],
                     unsigned: bool) -> bool:
    """Whether the export is signed (and the signature holds); an unsigned one only from before signing, when
    ``unsigned`` accepts it."""
    path = directory / MANIFEST
    signature = manifest.get("signature")
    if signature is None and manifest["version"] < SIGNED_SINCE:
        if unsigned:
            return False
        raise refused(
            f"{path}: deze export is niet ondertekend (gemaakt voordat Kennismakelaar exports ondertekende), dus is "
            f"niet na te gaan of hij sindsdien is gewijzigd. Er is niets teruggezet.",
            hint="Maak een nieuwe export als de dienst er nog is. Kan dat niet en weet je zeker dat niemand deze map "
                 "kon wijzigen, zet hem dan terug met 'kennismakelaar import DIR --unsigned': alle andere controles "
                 "blijven gelden.")
    held = signature if isinstance(signature, dict) else {}
    value = held.get("value")
    if not (isinstance(value, str) and held.get("alg") == SIGNATURE
            and hmac.compare_digest(value.encode(), sign(km, manifest).encode())):
        raise refused(
            f"{path}: de ondertekening klopt niet. Het manifest is na de export gewijzigd, of de export is gemaakt "
            f"door een dienst met een andere geheime sleutel (KM_SECRET_KEY). Er is niets teruggezet.",
            hint="Zet alleen een export terug die deze dienst (met deze sleutel) maakte en die niemand wijzigde.")
    missing = [e.part.name for e in entries if not (e.sha256 and HEX64.fullmatch(e.sha256))]
    if missing:
        raise refused(f"{path}: de controlesom van {', '.join(missing)} ontbreekt.")
    return True


@contextlib.contextmanager
def private_copy(directory: Path, entry: Entry) -> Iterator[IO[bytes]]:
    """A private copy of one part's file, read once, its SHA-256 checked against the signed manifest: the lines
    checked are the lines written, whatever happens to DIR meanwhile. Never through a symbolic link."""
    path = directory / entry.part.file
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)  # a FIFO must not hang us
    except FileNotFoundError:
        raise refused(f"{path} ontbreekt: het manifest noemt dit onderdeel.") from None
    except OSError as exc:
        if os.path.islink(path):
            raise refused(f"{path} is een symbolische koppeling: een export bestaat alleen uit eigen bestanden "
                          f"in de exportmap.", hint="Deze export is gewijzigd: zet hem niet terug.") from None
        raise refused(f"{path} is niet te lezen ({exc.strerror or exc}).",
                      hint="Een export bestaat uit manifest.json en de bestanden die het noemt.") from exc
    with os.fdopen(fd, "rb") as source, tempfile.SpooledTemporaryFile(max_size=_IN_MEMORY) as copy:
        if not stat.S_ISREG(os.fstat(source.fileno()).st_mode):
            raise refused(f"{path} is geen gewoon bestand.", hint="Deze export is gewijzigd: zet hem niet terug.")
        digest = hashlib.sha256()
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
            copy.write(block)
        if entry.sha256 is not None and not hmac.compare_digest(digest.hexdigest().encode(), entry.sha256.encode()):
            raise refused(f"{path} is na de export gewijzigd of beschadigd: de controlesom klopt niet met het "
                          f"ondertekende manifest. Er is niets teruggezet.",
                          hint="Zet een export terug die niemand wijzigde, of maak een nieuwe.")
        yield copy


def records(copy: IO[bytes], where: Path, part: Part, dim: int | None) -> Iterator[tuple[int, dict[str, Any]]]:
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
            raise refused(f"{where}, regel {n}: geen geldige regel van een export.",
                          hint="Het bestand is beschadigd of gewijzigd; maak een nieuwe export.")
        if not part.ids(part, record["id"], record["payload"]):
            raise refused(
                f"{where}, regel {n}: het id {record['id']!r} is geen id van een {part.label!r}-regel; een onderdeel "
                f"mag alleen gegevens van zijn eigen soort schrijven, nooit die van een ander (zoals de markeringen "
                f"van verwijderde personen). Er is niets teruggezet.",
                hint="Deze export is gewijzigd of niet door Kennismakelaar gemaakt: zet hem niet terug.")
        yield n, record
