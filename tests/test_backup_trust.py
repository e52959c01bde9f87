"""A backup is verified before it is trusted (issue 22, review findings 7 and 19; repro_04_tampered_export_import).

An export is signed (HMAC-SHA256 over the manifest and every part's SHA-256, keyed from the service's secret);
an import refuses, before writing anything, a changed part or manifest, another service's export, a part whose
file could lie outside the export folder, and any line whose point id is not its own kind's. Nothing an import
brings may undo a removal or deletion made after the export, and no export carries what the retention should
already have removed. A small store of its own (two profile files), the real model, the real CLI where it counts.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from core.errors import ConfigError, ValidationError
from core.store.catalog import EXPERTS, QUESTIONS
from core.store.ledger import LEDGER
from core.store.types import point_uuid
from service import contacts
from service.backup import MANIFEST, export_store, import_store
from service.cli import main
from service.container import Kennismakelaar
from service.coordinators import COMMAND_LINE
from service.profiles import save_profile, set_availability
from tests.conftest import give_the_cli, make_settings

SECRET = "review-secret-key-0123456789"
REMOVED, KEPT = "anna-de-vries", "bert-jansen"
PEOPLE = """\
experts:
  - id: anna-de-vries
    name: Anna de Vries
    role: onderzoeker
    organization: Zuyd Hogeschool
    ateliers: [tweedeling-en-armoede]
    expertise: Onderzoekt niet-gebruik van voorzieningen en de rol van schaamte bij een laag inkomen.
    email: anna.devries@example.nl
    consent: true
  - id: bert-jansen
    name: Bert Jansen
    role: professional
    organization: Wijkteam Heerlen
    ateliers: [kansrijk-met-jeugd]
    expertise: Werkt met jongeren en hun ouders aan schulden en vertrouwen in de wijk.
    email: bert.jansen@example.nl
    consent: true
"""
ASKER = {"name": "Sara Bakker", "email": "sara@wijkteam.nl", "message": "Graag contact.", "status": "nieuw"}


def _now(days_ago: int = 0) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago)).isoformat(timespec="seconds")


def _request(km: Kennismakelaar, days_ago: int = 0) -> str:
    rid = uuid.uuid4().hex
    km.catalog().add_contact_request(rid, {**ASKER, "id": rid, "expert_id": KEPT, "created_at": _now(days_ago)})
    return rid


def _manifest(export: Path) -> dict[str, Any]:
    return json.loads((export / MANIFEST).read_text("utf-8"))


def _save(export: Path, manifest: dict[str, Any]) -> None:
    (export / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False), "utf-8")


def _lines(export: Path, part: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (export / f"{part}.jsonl").read_text("utf-8").splitlines() if line.strip()]


def _append(export: Path, part: str, records: list[dict[str, Any]]) -> None:
    """Lines added to a part, its count in the manifest raised to match (what repro_04 did)."""
    with (export / f"{part}.jsonl").open("a", encoding="utf-8") as out:
        for r in records:
            out.write(json.dumps(r) + "\n")
    manifest = _manifest(export)
    for entry in manifest["parts"]:
        if entry["name"] == part:
            entry["count"] += len(records)
    manifest["counts"][part] = manifest["counts"].get(part, 0) + len(records)
    _save(export, manifest)


def _as_before_signing(export: Path) -> Path:
    """The same folder as the version before signing wrote it: version 1, no signature, no checksums."""
    manifest = _manifest(export)
    manifest["version"] = 1
    manifest.pop("signature", None)
    for entry in manifest["parts"]:
        entry.pop("sha256", None)
    _save(export, manifest)
    return export


def _fingerprint(km: Kennismakelaar) -> list[Any]:
    return [sorted((h.id, json.dumps(h.payload, sort_keys=True)) for h in km.store.scroll(name))
            for name in (LEDGER, EXPERTS, QUESTIONS)]


def _cli(settings: Any, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(args), settings=settings, out=out, err=err), out.getvalue(), err.getvalue()


@pytest.fixture
def world(km_factory, tmp_path: Path) -> SimpleNamespace:
    """Two people from a profile file; a contact request; an export (the nightly backup); the request deleted at
    the asker's request and Anna removed on hers; a second export made after that (genuine)."""
    people = tmp_path / "experts"
    people.mkdir()
    (people / "mensen.yaml").write_text(PEOPLE, "utf-8")
    km = km_factory(tmp_path / "data", KM_SECRET_KEY=SECRET)
    assert km.ingestor().run([people]).ok
    rid = _request(km)
    export_store(km, tmp_path / "nightly")
    km.catalog().delete_contact_requests([rid])  # what DELETE /api/contact-requests/{id} does
    km.ingestor().forget_expert(REMOVED)
    export_store(km, tmp_path / "genuine")
    return SimpleNamespace(km=km, people=people, rid=rid, nightly=tmp_path / "nightly",
                           genuine=tmp_path / "genuine", root=tmp_path)


def _tampered(world: SimpleNamespace, name: str) -> Path:
    return Path(shutil.copytree(world.genuine, world.root / name))


def _still_removed(world: SimpleNamespace) -> None:
    """The next ingest of the unchanged profile file does not bring her back."""
    report = world.km.ingestor().run([world.people]).summary()
    assert report["added"] == 0
    assert world.km.catalog().expert(REMOVED) is None and world.km.catalog().expert(KEPT) is not None


# --- repro_04 (c): a request deleted at the asker's request -----------------------------------------------------


def test_an_older_export_brings_no_deleted_request_or_meeting_back(world):
    km = world.km
    meeting = uuid.uuid4().hex
    km.catalog().add_meeting(meeting, {"id": meeting, "title": "Werkplaats", "date": "2027-02-02", "panel": [KEPT],
                                       "why": {}, "gave_way": {}})
    export_store(km, world.root / "with-meeting")
    km.catalog().delete_meetings([meeting])
    summary = import_store(km, world.nightly)
    assert km.catalog().contact_request(world.rid) is None  # was: back, with Sara's name and address
    assert summary["dropped"] == {"contacts": 1}
    import_store(km, world.root / "with-meeting")
    assert km.catalog().meeting(meeting) is None
    assert world.rid in km.catalog().deleted_ids("contact") and meeting in km.catalog().deleted_ids("meeting")
    _still_removed(world)


# --- repro_04 (a): lines appended to a part overwrite the markers -----------------------------------------------


def test_lines_appended_to_a_part_are_refused_and_the_removed_person_stays_removed(world, e5, monkeypatch):
    km = world.km
    markers = _lines(world.genuine, "forgotten")
    assert len(markers) >= 3 and len(km.catalog().forgotten()) == len(markers)
    export = _tampered(world, "appended")
    _append(export, "jobs", [{"id": m["id"], "payload": {"kind": "job", "key": "x", "at": 0, "status": "done"}}
                             for m in markers])
    before = _fingerprint(km)
    with pytest.raises(ValidationError, match="ondertekening klopt niet"):
        import_store(km, export)
    assert _fingerprint(km) == before and len(km.catalog().forgotten()) == len(markers)
    _still_removed(world)  # was: her markers overwritten, and the ingest brought her back, public, with address

    km.close()  # the same through the command line: a clear message, no traceback, exit code 2
    give_the_cli(monkeypatch, e5)
    code, out, err = _cli(make_settings(world.root / "data", KM_SECRET_KEY=SECRET), "import", str(export))
    assert code == 2 and out == "" and "Traceback" not in err
    assert err.startswith(f"Fout: {export / MANIFEST}: de ondertekening klopt niet")


FORGED = {  # a line of one part that lands on a record of another kind — a marker, a tombstone — each refused
    "a job line with a marker's id": ("jobs", lambda m, rid: {
        "id": m["id"], "payload": {"kind": "job", "key": "x", "status": "done"}}),
    "a job line with a marker's id in clear": ("jobs", lambda m, rid: {
        "id": f"forgotten:{m['payload']['key']}", "payload": {"kind": "job", "key": "x"}}),
    "an audit line with a marker's id": ("audit", lambda m, rid: {
        "id": m["id"], "payload": {"kind": "audit", "key": "ingelogd", "at": 0}}),
    "a marker line under another marker's id": ("forgotten", lambda m, rid: {
        "id": m["id"], "payload": {"kind": "forgotten", "key": "0" * 64, "at": 0}}),
    "a request line with its tombstone's id": ("contacts", lambda m, rid: {
        "id": point_uuid(f"gone-contact:{rid}"), "payload": {"kind": "contact", "key": rid, **ASKER}}),
    "a feedback line whose key is not its own": ("feedback", lambda m, rid: {
        "id": point_uuid(f"feedback:{m['payload']['key']}"), "payload": {
            "kind": "feedback", "key": m["payload"]["key"], "question_id": "q", "item_type": "expert",
            "item_id": KEPT, "helpful": "ja"}}),
}


@pytest.mark.parametrize("forged", FORGED)
def test_no_part_may_write_another_kinds_id_even_unsigned(world, forged):
    """Without the signature to lean on (an export from before signing, accepted with ``--unsigned``), every
    line's point id must still follow its own kind's rule."""
    km = world.km
    part, line = FORGED[forged]
    export = _tampered(world, "forged")
    _append(export, part, [line(_lines(world.genuine, "forgotten")[0], world.rid)])
    _as_before_signing(export)
    before = _fingerprint(km)
    with pytest.raises(ValidationError, match=rf"{part}\.jsonl, regel \d+: het id .* eigen soort"):
        import_store(km, export, unsigned=True)
    assert _fingerprint(km) == before
    _still_removed(world)


# --- repro_04 (b), review 19: a part's file outside the export folder -------------------------------------------


@pytest.mark.parametrize("name", ["../outside", "/tmp/outside", "Jobs", "jobs.x"])
def test_a_part_name_that_could_leave_the_folder_is_refused(world, name):
    km = world.km
    (world.root / "outside.jsonl").write_text(json.dumps(
        {"id": "note:1", "payload": {"kind": "note", "key": "1", "text": "read from outside"}}) + "\n", "utf-8")
    export = _tampered(world, "escaping")
    manifest = _manifest(export)
    manifest["parts"].append({"name": name, "collection": LEDGER, "kind": "note", "count": 1})
    _save(export, manifest)
    with pytest.raises(ValidationError, match="ongeldige naam"):  # named as such, before the signature is weighed
        import_store(km, export)
    assert km.catalog().ledger.get("note", "1") is None


def test_a_part_file_that_is_a_symbolic_link_is_refused(world):
    """The same bytes, through a link to a file outside the folder: the checksum would hold, the link does not."""
    km = world.km
    export = _tampered(world, "linked")
    outside = world.root / "jobs-elsewhere.jsonl"
    shutil.move(export / "jobs.jsonl", outside)
    (export / "jobs.jsonl").symlink_to(outside)
    with pytest.raises(ValidationError, match="symbolische koppeling"):
        import_store(km, export)


# --- a changed byte, another service's export, an export from before signing ------------------------------------


def test_a_flipped_byte_in_a_part_is_refused(world):
    km = world.km
    export = Path(shutil.copytree(world.nightly, world.root / "flipped"))
    contacts = export / "contacts.jsonl"
    text = contacts.read_text("utf-8")
    assert "Sara Bakker" in text
    contacts.write_text(text.replace("Sara Bakker", "Sara Bakkes"), "utf-8")  # still valid JSON, same length
    before = _fingerprint(km)
    with pytest.raises(ValidationError, match=r"contacts\.jsonl is na de export gewijzigd of beschadigd"):
        import_store(km, export)
    assert _fingerprint(km) == before


def test_an_export_of_another_service_is_refused_even_with_a_copied_key_check(world, km_factory):
    km = world.km
    other = km_factory(world.root / "other", KM_SECRET_KEY="een-heel-andere-sleutel-van-lengte")
    other.catalog().ledger.put("job", uuid.uuid4().hex, {"status": "done", "errors": ["van elders"]})
    export_store(other, world.root / "foreign")
    with pytest.raises(ConfigError, match="andere geheime sleutel"):  # as it is
        import_store(km, world.root / "foreign")
    manifest = _manifest(world.root / "foreign")
    manifest["keycheck"] = _manifest(world.genuine)["keycheck"]  # the key check is a constant: copied from ours
    _save(world.root / "foreign", manifest)
    before = _fingerprint(km)
    with pytest.raises(ValidationError, match="andere geheime sleutel"):
        import_store(km, world.root / "foreign")
    assert _fingerprint(km) == before


def test_an_export_from_before_signing_is_refused_unless_asked_for(world, e5, monkeypatch):
    km = world.km
    export = _as_before_signing(_tampered(world, "old"))
    with pytest.raises(ValidationError, match="niet ondertekend") as refused:
        import_store(km, export)
    assert "--unsigned" in (refused.value.hint or "")
    summary = import_store(km, export, unsigned=True)
    assert summary["unsigned"] and summary["imported"]["forgotten"] == len(_lines(export, "forgotten"))
    _still_removed(world)
    signed = import_store(km, world.genuine, unsigned=True)  # the flag accepts the unsigned; a signed one is checked
    assert not signed["unsigned"]

    km.close()
    give_the_cli(monkeypatch, e5)
    settings = make_settings(world.root / "data", KM_SECRET_KEY=SECRET)
    code, _, err = _cli(settings, "import", str(export))
    assert code == 2 and "niet ondertekend" in err and "--unsigned" in err and "Traceback" not in err
    code, out, err = _cli(settings, "import", str(export), "--unsigned")
    assert code == 0 and "Teruggezet uit" in out and "niet ondertekend" in err


def test_a_manifest_listing_a_part_twice_is_refused(world):
    export = _as_before_signing(_tampered(world, "twice"))
    manifest = _manifest(export)
    manifest["parts"].append({**next(p for p in manifest["parts"] if p["name"] == "forgotten"),
                              "name": "ledger-forgotten"})
    _save(export, manifest)
    with pytest.raises(ValidationError, match="twee keer"):
        import_store(world.km, export, unsigned=True)


# --- what an import may never undo ------------------------------------------------------------------------------


def test_an_import_never_replaces_the_stores_markers_or_tombstones(world):
    """A document deleted, restored, changed and deleted again: the older export's tombstone (of the first
    version) must not replace the newer one, or the unchanged file of the second version would come back."""
    km = world.km
    catalog = km.catalog()
    catalog.tombstone("verslag-mei", "eerste-versie")
    export_store(km, world.root / "older")
    catalog.tombstone("verslag-mei", "tweede-versie")
    markers = {h.id: h.payload for h in km.store.scroll(LEDGER) if h.payload["kind"] == "forgotten"}
    import_store(km, world.root / "older")
    assert catalog.tombstoned("verslag-mei") == "tweede-versie"
    assert {h.id: h.payload for h in km.store.scroll(LEDGER) if h.payload["kind"] == "forgotten"} == markers


# --- a decision made after the export, in either direction (issue 22, finding I) ---------------------------------

NOTE = """\
---
id: verslag-mei
title: Verslag werkplaats mei
---
In mei spraken we in de werkplaats over schulden bij jongeren in de wijk en over wat het wijkteam samen met
ouders en school doet om vertrouwen op te bouwen.
"""


def _recreate_anna(km: Kennismakelaar) -> None:
    """She asked to come back herself, and a coordinator confirmed it: her markers are lifted."""
    save_profile(km, REMOVED, name="Anna de Vries", role="onderzoeker", organization="Zuyd Hogeschool",
                 ateliers=["tweedeling-en-armoede"], expertise="Onderzoekt niet-gebruik van voorzieningen.",
                 email="anna.devries@example.nl", consent=True, new=True, recreate_removed=True, actor=COMMAND_LINE)


def test_a_person_recreated_on_purpose_after_an_export_is_not_removed_again_by_it(world, km_factory):
    """The export that holds her markers is older than her return: imported now, it must not scrub her again (was:
    her markers came back, and with them the scrub deleted her profile). Removed once more, that removal wins over
    the export that holds her return. The lift is in the backup: a new store restored from it keeps her too."""
    km = world.km
    exported = {r["payload"]["key"] for r in _lines(world.genuine, "forgotten")}
    _recreate_anna(km)
    left = km.catalog().forgotten()  # markers that are not hers by id or name (her e-mail address) stay
    lifted = exported - left
    export_store(km, world.root / "recreated")
    summary = import_store(km, world.genuine)
    assert km.catalog().expert(REMOVED) is not None and km.catalog().forgotten() == left
    assert summary["dropped"] == {"forgotten": len(lifted)} and summary["profiles_deleted"] == 0
    assert lifted and km.catalog().ledger.count("lifted-forgotten") == len(lifted)  # ids only: keyed hashes

    fresh = km_factory(world.root / "fresh", KM_SECRET_KEY=SECRET)  # a restore: the newer export, then the older
    import_store(fresh, world.root / "recreated")
    again = import_store(fresh, world.genuine)
    assert fresh.catalog().expert(REMOVED) is not None and again["dropped"] == {"forgotten": len(lifted)}

    km.ingestor().forget_expert(REMOVED)  # removed again: this removal is the newer decision
    assert km.catalog().ledger.count("lifted-forgotten") == 0 and km.catalog().forgotten() >= exported
    summary = import_store(km, world.root / "recreated")
    assert summary["dropped"] == {"ledger-lifted-forgotten": len(lifted)}
    assert km.catalog().ledger.count("lifted-forgotten") == 0
    _still_removed(world)


def test_a_document_restored_on_purpose_after_an_export_is_not_deleted_again_by_it(world):
    """A coordinator deleted a document, then brought its unchanged file back on purpose: the export made in between
    holds the tombstone, and imported now must not delete the document again (was: deleted by the import, and
    every later ingest of the file skipped). Deleted once more, that deletion wins over an export that holds the
    return."""
    km = world.km
    docs = world.root / "documenten"
    docs.mkdir()
    (docs / "verslag-mei.md").write_text(NOTE, "utf-8")
    assert km.ingestor().run([docs]).ok
    assert km.ingestor().remove_document("verslag-mei")
    export_store(km, world.root / "deleted")
    assert km.ingestor().run([docs], restore_deleted=True).summary()["added"] == 1
    export_store(km, world.root / "restored")
    summary = import_store(km, world.root / "deleted")
    assert km.catalog().document("verslag-mei") is not None and km.catalog().tombstoned("verslag-mei") is None
    assert summary["dropped"] == {"deleted": 1} and summary["documents_deleted"] == 0

    assert km.ingestor().remove_document("verslag-mei")
    assert km.catalog().ledger.count("lifted-deleted") == 0
    summary = import_store(km, world.root / "restored")
    assert summary["dropped"] == {"ledger-lifted-deleted": 1}
    assert km.catalog().tombstoned("verslag-mei") is not None
    assert km.ingestor().run([docs]).summary()["added"] == 0 and km.catalog().document("verslag-mei") is None


LIFTS = {  # a lift line may only lift what its own key names: a keyed hash, a document's own id
    "a lifted marker that is no keyed hash": ("lifted-forgotten", {
        "id": "lifted-forgotten:anna", "payload": {"kind": "lifted-forgotten", "key": "anna", "at": 0.0}}),
    "a lifted tombstone of another document": ("lifted-deleted", {
        "id": "lifted-deleted:verslag-mei", "payload": {"kind": "lifted-deleted", "key": "verslag-mei",
                                                        "document_id": "verslag-juni", "at": 0.0}}),
}


@pytest.mark.parametrize("forged", LIFTS)
def test_a_lift_line_follows_its_own_id_rule(world, forged):
    kind, line = LIFTS[forged]
    export = _tampered(world, "lifts")
    (export / f"ledger-{kind}.jsonl").write_text(json.dumps(line) + "\n", "utf-8")
    manifest = _manifest(export)
    manifest["parts"].append({"name": f"ledger-{kind}", "collection": LEDGER, "kind": kind, "count": 1})
    _save(export, manifest)
    _as_before_signing(export)
    before = _fingerprint(world.km)
    with pytest.raises(ValidationError, match=rf"ledger-{kind}\.jsonl, regel 1: het id .* eigen soort"):
        import_store(world.km, export, unsigned=True)
    assert _fingerprint(world.km) == before


def test_an_older_export_rolls_no_later_version_back(world, km_factory, e5, monkeypatch):
    """A consent withdrawn, an availability changed and a request moved after the export: that export imported now
    keeps each as it is (the store's version is newer; was: the consent given again, the rest rolled back too).
    Into a new store whose files gave the profile a higher version number, the profile edited in the service still
    comes back: a version from a file is no decision made in the service."""
    km = world.km
    bert = km.catalog().expert(KEPT)
    fields = {f: bert[f] for f in ("name", "role", "organization", "ateliers", "themes", "email")}
    fields["expertise"] = bert["expertise"] + " Ook armoede in gezinnen."  # edited in the service: in the backup
    save_profile(km, KEPT, **fields, consent=True, actor=COMMAND_LINE)
    set_availability(km, KEPT, max_per_month=4, actor=COMMAND_LINE)
    rid = contacts.submit(km, name=ASKER["name"], email=ASKER["email"], message="Graag contact met Bert.",
                          expert_id=KEPT).id
    export_store(km, world.root / "before")
    save_profile(km, KEPT, **fields, consent=False, actor=COMMAND_LINE)  # he withdrew his consent
    set_availability(km, KEPT, unavailable_until="2027-06-30", max_per_month=1, actor=COMMAND_LINE)
    contacts.move(km, rid, status="afgewezen", actor=COMMAND_LINE)
    catalog = km.catalog()
    now = (catalog.expert(KEPT), catalog.availability_record(KEPT), catalog.contact_request(rid))
    summary = import_store(km, world.root / "before")
    assert catalog.expert(KEPT)["visibility"] == "hidden"  # was: public again, with his address
    assert (catalog.expert(KEPT), catalog.availability_record(KEPT), catalog.contact_request(rid)) == now
    assert summary["kept_newer"] == {"profiles": 1, "contacts": 1, "availability": 1}

    fresh = km_factory(world.root / "fresh", KM_SECRET_KEY=SECRET)
    assert fresh.ingestor().run([world.people]).ok  # his file: a version number higher than the exported one
    restored = import_store(fresh, world.root / "before")
    assert fresh.catalog().expert(KEPT)["expertise"] == fields["expertise"] and fresh.catalog().expert(KEPT)["consent"]
    assert fresh.catalog().contact_request(rid)["status"] == "nieuw" and not restored["kept_newer"]

    km.close()  # the command line says what it kept
    give_the_cli(monkeypatch, e5)
    settings = make_settings(world.root / "data", KM_SECRET_KEY=SECRET)
    code, out, err = _cli(settings, "import", str(world.root / "before"))
    assert code == 0, err
    assert "nieuwer dan in de export" in out and "1 contactverzoeken" in out


# --- retention before an export ---------------------------------------------------------------------------------


def test_an_export_carries_nothing_the_retention_should_have_removed(world):
    km = world.km
    expired, current = _request(km, days_ago=400), _request(km)
    asked = km.broker().ask("Wie weet iets van schulden bij jongeren?", role="professional").question_id
    km.store.set_payload(QUESTIONS, {"asked_at": _now(400)}, ids=[asked])  # as if asked 400 days ago
    summary = export_store(km, world.root / "after-retention")
    exported = world.root / "after-retention"
    assert {r["payload"]["key"] for r in _lines(exported, "contacts")} == {current}
    assert asked not in {r["payload"]["question_id"] for r in _lines(exported, "questions")}
    assert summary["purged"] == {"contacts": 1, "jobs": 0, "questions": 1}
    assert km.catalog().contact_request(expired) is None and km.catalog().question(asked) is None
