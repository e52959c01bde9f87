"""No lost decision: every change to a person (profile, consent, availability) and to the coordinators is based on
a version, and a change based on a version that is no longer the stored one is refused — checked and written in
one step in the engine, so two workers cannot both pass the check. A removed person is never re-created by an
edit. Two application instances over one core stand in for two workers; forced interleavings (threads, a
barrier, a hook right before the write) for the moments that are too short to hit by chance.

From the review of 2026-12: findings 3 (repro_02), 4 (repro_03) and 16(b) (repro_13).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pytest
from litestar.testing import TestClient

from core.errors import ConflictError, NotFoundError, PermissionDeniedError
from core.names import name_key
from core.store.catalog import Catalog
from service import coordinator_admin
from service.coordinators import COMMAND_LINE, Coordinators
from service.profiles import remove_person, save_profile
from tests.conftest import log_in
from web.app import create_app

TOKEN = "geheim-token"
COORD = {"Authorization": f"Bearer {TOKEN}"}
ANNA, SANNE = "anna-de-vries", "sanne-vossen"


@pytest.fixture
def km(km_factory):
    core = km_factory(KM_COORDINATOR_TOKENS=TOKEN, KM_SECRET_KEY="versies-geheim-0123456789abcdef")
    save_profile(core, ANNA, name="Anna de Vries", role="onderzoeker", organization="Zuyd Hogeschool",
                 expertise="Niet-gebruik van voorzieningen en schaamte.", email="anna.devries@example.nl",
                 consent=True, actor=COMMAND_LINE)
    save_profile(core, SANNE, name="Sanne Vossen", role="professional", organization="Wijkteam Heerlen",
                 ateliers=["tweedeling-en-armoede"], expertise="Schuldhulp aan jonge gezinnen.",
                 email="s.vossen@example.nl", consent=True, actor=COMMAND_LINE)
    return core


@pytest.fixture
def apps(km) -> Iterator[tuple[TestClient, TestClient]]:
    """Two application instances over one core: two workers (or two coordinators' browsers)."""
    with TestClient(create_app(km=km)) as a, TestClient(create_app(km=km)) as b:
        yield a, b


def _form(client: TestClient, expert_id: str) -> dict[str, Any]:
    """The profile form as the browser shows it: its fields, the hidden version included."""
    page = client.get(f"/coordinatie/experts/{expert_id}")
    assert page.status_code == 200, page.text
    html = page.text

    def value(name: str) -> str:
        found = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html)
        return found.group(1) if found else ""

    form: dict[str, Any] = {f: value(f) for f in ("name", "role", "organization", "email", "version")}
    form["expertise"] = re.search(r'name="expertise"[^>]*>([^<]*)</textarea>', html).group(1)  # type: ignore[union-attr]
    form["ateliers"] = re.findall(r'name="ateliers" value="([^"]+)" checked', html)
    if re.search(r'name="consent" value="1" checked', html):
        form["consent"] = "1"
    return form


def _audit(km) -> list[tuple[str, str]]:
    """The log's entries about people, newest first (logins left out)."""
    return [(e.action, e.target) for e in km.audit().entries() if e.action not in ("ingelogd", "uitgelogd")]


# --- finding 3: a stale edit form (or a retried PUT) cannot undo a removal ----------------------------------------

def test_a_form_opened_before_a_removal_cannot_bring_the_person_back(apps, km):
    a, b = apps
    csrf = log_in(a, TOKEN)
    form = _form(a, ANNA)  # coordinator A opens Anna's form ...
    assert b.delete(f"/api/experts/{ANNA}", headers=COORD).status_code == 200  # ... B removes her on request
    marker = km.catalog().ledger.keyed(name_key("Anna de Vries"))
    assert marker in km.catalog().forgotten()

    saved = a.post(f"/coordinatie/experts/{ANNA}", data={**form, "_csrf_token": csrf}, follow_redirects=False)
    assert saved.status_code == 404 and "bestaat niet (meer)" in saved.text and "niets opgeslagen" in saved.text
    without_version = {k: v for k, v in form.items() if k != "version"}  # a form from before versions
    assert a.post(f"/coordinatie/experts/{ANNA}", data={**without_version, "_csrf_token": csrf},
                  follow_redirects=False).status_code in (404, 409)
    assert a.get(f"/coordinatie/experts/{ANNA}").status_code == 404  # the edit URL offers no form to fill in

    # a script that retries its PUT: with or without the version it had, it creates nobody
    body = {"name": "Anna de Vries", "role": "onderzoeker", "organization": "Zuyd Hogeschool", "ateliers": [],
            "themes": [], "expertise": "x", "email": "anna.devries@example.nl", "consent": True}
    retried = b.put(f"/api/experts/{ANNA}", json=body, headers={**COORD, "If-Match": f'"{form["version"]}"'})
    assert retried.status_code == 404 and "bestaat niet (meer)" in retried.json()["error"]["message"]
    assert b.put(f"/api/experts/{ANNA}", json=body, headers=COORD).status_code == 428
    assert b.put(f"/api/experts/{ANNA}", json=body, headers={**COORD, "If-Match": "*"}).status_code == 404

    assert km.catalog().expert(ANNA) is None and marker in km.catalog().forgotten()
    assert a.get(f"/api/experts/{ANNA}").status_code == 404
    asked = a.post("/api/ask", json={"question": "Wat vindt Anna de Vries van schaamte?"}).json()
    assert "Anna de Vries" not in km.catalog().question(asked["question_id"])["text"]
    assert [action for action, _ in _audit(km)] == ["persoon-verwijderd", "profiel-aangemaakt", "profiel-aangemaakt"]


def test_only_an_explicit_new_profile_with_a_confirmation_brings_a_removed_person_back(apps, km):
    a, b = apps
    assert b.delete(f"/api/experts/{ANNA}", headers=COORD).status_code == 200
    marker = km.catalog().ledger.keyed(name_key("Anna de Vries"))
    new = {"name": "Anna de Vries", "role": "onderzoeker", "email": "anna.devries@example.nl", "consent": True}

    refused = b.post("/api/experts", json=new, headers=COORD)
    assert refused.status_code == 409 and refused.json()["error"]["field"] == "recreate_removed"
    csrf = log_in(a, TOKEN)
    page = a.post("/coordinatie/experts/nieuw", data={**new, "consent": "1", "_csrf_token": csrf})
    assert page.status_code == 409 and 'name="recreate_removed"' in page.text  # the form asks to confirm
    assert km.catalog().expert(ANNA) is None and marker in km.catalog().forgotten()

    done = a.post("/coordinatie/experts/nieuw", data={**new, "consent": "1", "recreate_removed": "1",
                                                      "_csrf_token": csrf}, follow_redirects=False)
    assert done.status_code == 303
    assert km.catalog().expert(ANNA)["consent"] is True and marker not in km.catalog().forgotten()
    assert _audit(km)[0] in {("profiel-aangemaakt", ANNA), ("profiel-heraangemaakt", ANNA)}
    assert b.post("/api/experts", json={**new, "recreate_removed": True}, headers=COORD).status_code == 409  # exists


def test_a_namesake_of_a_removed_person_can_still_be_edited_but_nobody_takes_the_name(km):
    save_profile(km, "anna-de-vries-2", name="Anna de Vries", role="docent", actor=COMMAND_LINE)
    remove_person(km, ANNA, COMMAND_LINE)
    namesake = km.catalog().expert("anna-de-vries-2")
    saved = save_profile(km, "anna-de-vries-2", name="Anna de Vries", role="lector", expected=namesake["rev"],
                         actor=COMMAND_LINE)  # her own id carries no marker: the other one was removed
    assert km.catalog().expert("anna-de-vries-2")["role"] == "lector" and saved.version > namesake["rev"]
    sanne = km.catalog().expert(SANNE)
    with pytest.raises(ConflictError, match="op verzoek is verwijderd"):  # another profile does not take her name
        save_profile(km, SANNE, name="Anna de Vries", expected=sanne["rev"], actor=COMMAND_LINE)
    with pytest.raises(ConflictError, match="op verzoek verwijderd"):  # nor does a new one, unconfirmed
        save_profile(km, "anna-de-vries-3", name="Anna de Vries", new=True, actor=COMMAND_LINE)


def test_a_save_that_races_a_removal_ends_with_the_person_removed(km, monkeypatch):
    """A save in flight while a removal runs: the removal lands right before the save's write, or right after it.
    Either way the person stays removed, and the markers stay."""
    marker = km.catalog().ledger.keyed(name_key("Anna de Vries"))
    original = Catalog.replace_expert

    def removal_first(self: Catalog, point: Any, expected: int) -> int | None:
        monkeypatch.setattr(Catalog, "replace_expert", original)
        remove_person(km, ANNA, COMMAND_LINE)  # another worker, in the window between check and write
        return original(self, point, expected)

    version = km.catalog().expert(ANNA)["rev"]
    monkeypatch.setattr(Catalog, "replace_expert", removal_first)
    with pytest.raises(NotFoundError, match=r"bestaat niet \(meer\)"):
        save_profile(km, ANNA, name="Anna de Vries", consent=True, expected=version, actor=COMMAND_LINE)
    assert km.catalog().expert(ANNA) is None and marker in km.catalog().forgotten()

    marker = km.catalog().ledger.keyed(name_key("Sanne Vossen"))

    def removal_after(self: Catalog, point: Any, expected: int) -> int | None:
        written = original(self, point, expected)
        monkeypatch.setattr(Catalog, "replace_expert", original)
        remove_person(km, SANNE, COMMAND_LINE)  # runs while the save has written but not yet looked again
        return written

    version = km.catalog().expert(SANNE)["rev"]
    monkeypatch.setattr(Catalog, "replace_expert", removal_after)
    with pytest.raises(NotFoundError, match="op verzoek verwijderd"):
        save_profile(km, SANNE, name="Sanne Vossen", consent=True, expected=version, actor=COMMAND_LINE)
    assert km.catalog().expert(SANNE) is None and marker in km.catalog().forgotten()


def test_a_profile_file_read_while_consent_is_withdrawn_does_not_give_it_back(km, tmp_path, monkeypatch):
    """An ingest reads a changed profile file; a coordinator withdraws consent right before the ingest writes. The
    file's write is based on the version it read: it loses, reads again, and keeps the coordinator's decision."""
    folder = tmp_path / "profielen"
    folder.mkdir()
    person = "id: piet-peeters\nname: Piet Peeters\nrole: professional\norganization: {org}\nconsent: true\n"
    (folder / "piet.yaml").write_text(person.format(org="Gemeente Heerlen"), "utf-8")
    assert km.ingestor().run([folder]).ok and km.catalog().expert("piet-peeters")["consent"] is True
    (folder / "piet.yaml").write_text(person.format(org="Gemeente Kerkrade"), "utf-8")
    original = Catalog.replace_expert

    def withdrawn_meanwhile(self: Catalog, point: Any, expected: int) -> int | None:
        monkeypatch.setattr(Catalog, "replace_expert", original)
        stored = km.catalog().expert("piet-peeters")
        save_profile(km, "piet-peeters", name="Piet Peeters", role="professional", organization="Gemeente Heerlen",
                     consent=False, expected=stored["rev"], actor=COMMAND_LINE)
        return original(self, point, expected)

    monkeypatch.setattr(Catalog, "replace_expert", withdrawn_meanwhile)
    assert km.ingestor().run([folder]).ok
    stored = km.catalog().expert("piet-peeters")
    assert stored["consent"] is False and stored["visibility"] == "hidden" and "consent" in stored["edited"]
    assert stored["organization"] == "Gemeente Kerkrade"  # what nobody edited in the service: the file's


def test_a_removal_makes_forms_on_profiles_that_named_the_person_stale(apps, km):
    """The removal's scrub rewrites other people's expertise texts as a new version: a form opened before it cannot
    put the name back, and a name of someone removed that is typed in again is taken out on the way in."""
    a, b = apps
    version = km.catalog().expert(SANNE)["rev"]
    save_profile(km, SANNE, name="Sanne Vossen", expertise="Schuldhulp, samen met Anna de Vries.", consent=True,
                 expected=version, actor=COMMAND_LINE)
    csrf = log_in(a, TOKEN)
    form = _form(a, SANNE)
    assert "Anna de Vries" in form["expertise"]
    assert b.delete(f"/api/experts/{ANNA}", headers=COORD).status_code == 200
    assert "Anna de Vries" not in km.catalog().expert(SANNE)["expertise"]
    stale = a.post(f"/coordinatie/experts/{SANNE}", data={**form, "_csrf_token": csrf}, follow_redirects=False)
    assert stale.status_code == 409 and "Anna de Vries" not in km.catalog().expert(SANNE)["expertise"]
    fresh = _form(a, SANNE)
    again = a.post(f"/coordinatie/experts/{SANNE}", follow_redirects=False,
                   data={**fresh, "expertise": "Werkt met Anna de Vries.", "_csrf_token": csrf})
    assert again.status_code == 303 and "Anna de Vries" not in km.catalog().expert(SANNE)["expertise"]


# --- finding 4: a stale form (or PUT) cannot give back a consent that was withdrawn --------------------------------

def test_a_stale_form_cannot_regrant_a_withdrawn_consent(apps, km):
    a, b = apps
    csrf_a, csrf_b = log_in(a, TOKEN), log_in(b, TOKEN)
    form_a, form_b = _form(a, SANNE), _form(b, SANNE)  # both open the form, consent ticked
    assert form_a["consent"] == form_b["consent"] == "1"

    withdraw = {k: v for k, v in form_a.items() if k != "consent"}  # A: the person withdrew consent by phone
    assert a.post(f"/coordinatie/experts/{SANNE}", data={**withdraw, "_csrf_token": csrf_a},
                  follow_redirects=False).status_code == 303
    assert km.catalog().expert(SANNE)["consent"] is False

    typo = {**form_b, "expertise": form_b["expertise"] + " (typo hersteld)", "_csrf_token": csrf_b}
    page = b.post(f"/coordinatie/experts/{SANNE}", data=typo, follow_redirects=False)  # B: the form opened earlier
    assert page.status_code == 409 and "intussen door iemand anders gewijzigd" in page.text
    shown = re.search(r'<input type="checkbox" id="consent"[^>]*>', page.text).group(0)  # type: ignore[union-attr]
    assert "checked" not in shown and "typo hersteld" not in page.text  # the form again, as it is now
    stored = km.catalog().expert(SANNE)
    assert stored["consent"] is False and "typo hersteld" not in stored["expertise"]
    assert a.get(f"/api/experts/{SANNE}").status_code == 404 and "Sanne Vossen" not in a.get("/experts").text
    assert _audit(km)[0] == ("toestemming-ingetrokken", SANNE)
    assert ("toestemming-gegeven", SANNE) not in _audit(km)

    # B applies the fix to the current version: saved, and the withdrawal stands
    current = _form(b, SANNE)
    fixed = b.post(f"/coordinatie/experts/{SANNE}", follow_redirects=False,
                   data={**current, "expertise": current["expertise"] + " (typo hersteld)", "_csrf_token": csrf_b})
    assert fixed.status_code == 303 and km.catalog().expert(SANNE)["consent"] is False
    assert _audit(km)[:2] == [("profiel-bewerkt", SANNE), ("toestemming-ingetrokken", SANNE)]


def test_the_api_hands_out_versions_and_refuses_a_change_based_on_an_old_one(apps, km):
    a, b = apps
    got = a.get(f"/api/experts/{SANNE}", headers=COORD)
    tag = got.headers["etag"]
    body = {k: got.json()[k] for k in ("name", "role", "organization", "ateliers", "themes", "expertise", "email",
                                       "consent")}
    missing = a.put(f"/api/experts/{SANNE}", json=body, headers=COORD)
    assert missing.status_code == 428 and "If-Match" in missing.json()["error"]["message"]
    assert a.put(f"/api/experts/{SANNE}", json={"name": "Sanne Vossen"},
                 headers={**COORD, "If-Match": tag}).status_code == 400  # a PUT replaces all: nothing left out

    withdrawn = a.put(f"/api/experts/{SANNE}", json={**body, "consent": False}, headers={**COORD, "If-Match": tag})
    assert withdrawn.status_code == 200 and withdrawn.headers["etag"] != tag
    stale = b.put(f"/api/experts/{SANNE}", json={**body, "role": "lector"}, headers={**COORD, "If-Match": tag})
    assert stale.status_code == 412 and stale.json()["error"]["code"] == "stale"
    assert stale.json()["current"]["consent"] is False and stale.headers["etag"] == withdrawn.headers["etag"]
    assert "gewijzigd" in stale.json()["error"]["message"]
    stored = km.catalog().expert(SANNE)
    assert stored["consent"] is False and stored["role"] == "professional"

    current = stale.json()["current"]  # B applies its change to the state that won
    redone = b.put(f"/api/experts/{SANNE}", json={**{k: current[k] for k in body}, "role": "lector"},
                   headers={**COORD, "If-Match": stale.headers["etag"]})
    assert redone.status_code == 200 and redone.json()["consent"] is False and redone.json()["role"] == "lector"
    assert a.get(f"/api/experts/{SANNE}").status_code == 404  # the public never sees a version
    assert "etag" not in a.get(f"/api/experts/{ANNA}").headers

    created = a.post("/api/experts", json={"name": "Noa Jacobs"}, headers=COORD)
    assert created.status_code == 201 and created.headers["location"] == "/api/experts/noa-jacobs"
    noa = a.get("/api/experts/noa-jacobs", headers=COORD)
    assert noa.headers["etag"] == created.headers["etag"] and noa.json()["email"] is None
    back = a.put("/api/experts/noa-jacobs", json={**{k: noa.json()[k] for k in body}, "role": "lector"},
                 headers={**COORD, "If-Match": noa.headers["etag"]})  # what GET gave, sent back whole
    assert back.status_code == 200 and back.json()["role"] == "lector" and back.json()["email"] is None
    assert a.post("/api/experts", json={"name": "Noa Jacobs"}, headers=COORD).status_code == 409
    assert a.put("/api/experts/niemand-bekends", json=body, headers={**COORD, "If-Match": '"1"'}).status_code == 404


def test_of_two_workers_saving_the_same_version_exactly_one_wins(apps, km, monkeypatch):
    """Both pass the version check; the write itself decides (a barrier holds both right before it)."""
    a, b = apps
    got = a.get(f"/api/experts/{SANNE}", headers=COORD)
    body = {k: got.json()[k] for k in ("name", "role", "organization", "ateliers", "themes", "expertise", "email",
                                       "consent")}
    results = _both(monkeypatch, (Catalog, "replace_expert"),
                    lambda: a.put(f"/api/experts/{SANNE}", json={**body, "consent": False},
                                  headers={**COORD, "If-Match": got.headers["etag"]}).status_code,
                    lambda: b.put(f"/api/experts/{SANNE}", json={**body, "role": "lector"},
                                  headers={**COORD, "If-Match": got.headers["etag"]}).status_code)
    assert sorted(results) == [200, 412]
    stored = km.catalog().expert(SANNE)
    won = results.index(200)
    assert (stored["consent"], stored["role"]) == ((False, "professional") if won == 0 else (True, "lector"))
    assert len([e for e in _audit(km) if e[1] == SANNE]) == 2  # the creation and the one change that was made


# --- availability: versioned apart from the profile ---------------------------------------------------------------

def test_availability_is_versioned_through_the_api_and_the_form(apps, km):
    a, b = apps
    path = f"/api/experts/{SANNE}/availability"
    first = a.get(path, headers=COORD)
    assert first.status_code == 200 and first.headers["etag"] == '"0"'  # never set
    assert a.put(path, json={"max_per_month": 2}, headers=COORD).status_code == 428
    set_a = a.put(path, json={"max_per_month": 2}, headers={**COORD, "If-Match": '"0"'})
    assert set_a.status_code == 200 and set_a.headers["etag"] != '"0"'
    stale = b.put(path, json={"unavailable_until": "2031-01-01"}, headers={**COORD, "If-Match": '"0"'})
    assert stale.status_code == 412 and stale.json()["current"]["max_per_month"] == 2
    cleared = b.put(path, json={}, headers={**COORD, "If-Match": stale.headers["etag"]})
    assert cleared.status_code == 200 and cleared.json()["max_per_month"] is None
    assert SANNE not in km.catalog().availability()
    assert a.put(path, json={"max_per_month": 5}, headers={**COORD, "If-Match": set_a.headers["etag"]}).status_code \
        == 412  # cleared is a version too: the value from before it does not come back

    csrf = log_in(a, TOKEN)
    page = a.get(f"/coordinatie/experts/{SANNE}").text
    version = re.search(r'name="availability_version" value="(\d+)"', page).group(1)  # type: ignore[union-attr]
    assert b.put(path, json={"max_per_month": 1}, headers={**COORD, "If-Match": cleared.headers["etag"]}
                 ).status_code == 200  # meanwhile, another coordinator
    refused = a.post(f"/coordinatie/experts/{SANNE}/beschikbaarheid",
                     data={"unavailable_until": "", "max_per_month": "4", "availability_version": version,
                           "_csrf_token": csrf})
    assert refused.status_code == 409 and "intussen" in refused.text and 'value="1"' in refused.text
    assert km.catalog().availability()[SANNE]["max_per_month"] == 1
    page = a.get(f"/coordinatie/experts/{SANNE}").text
    version = re.search(r'name="availability_version" value="(\d+)"', page).group(1)  # type: ignore[union-attr]
    saved = a.post(f"/coordinatie/experts/{SANNE}/beschikbaarheid", follow_redirects=False,
                   data={"max_per_month": "4", "availability_version": version, "_csrf_token": csrf})
    assert saved.status_code == 303 and km.catalog().availability()[SANNE]["max_per_month"] == 4


# --- finding 16(b): two coordinators removing each other -----------------------------------------------------------

def test_two_coordinators_removing_each_other_at_once_never_leave_nobody(km, monkeypatch):
    """repro_13 (b): a barrier right before each removal, both at once, several rounds."""
    for round_ in range(4):
        a, _ = coordinator_admin.add(km, f"Anne Coord {round_}", COMMAND_LINE)
        b, _ = coordinator_admin.add(km, f"Bert Coord {round_}", COMMAND_LINE)
        results = _both(monkeypatch, (Coordinators, "remove"), partial(coordinator_admin.remove, km, b.id, a),
                        partial(coordinator_admin.remove, km, a.id, b))
        left = {c["coordinator_id"] for c in km.coordinators().all()}
        assert left & {a.id, b.id}, results  # at least one of them is still there
        assert all(isinstance(r, (ConflictError, PermissionDeniedError)) or r.id in {a.id, b.id} for r in results)
        assert len(left & {a.id, b.id}) == 2 - sum(not isinstance(r, Exception) for r in results)


def test_nobody_is_removed_while_they_are_removing_someone(km, monkeypatch):
    """The interleaving that left nobody: A is between its check and its write when B tries to remove A."""
    a, _ = coordinator_admin.add(km, "Anne Coord", COMMAND_LINE)
    b, _ = coordinator_admin.add(km, "Bert Coord", COMMAND_LINE)
    outcome: dict[str, Any] = {}
    original = Coordinators._write

    def meanwhile(self: Coordinators, coordinator_id: str, record: dict[str, Any], expected: int) -> bool:
        if coordinator_id == b.id and record.get("removed_at") and "b" not in outcome:
            try:  # right before A's removal of B is written, B removes A
                outcome["b"] = coordinator_admin.remove(km, a.id, b)
            except Exception as exc:  # what B is told is checked below
                outcome["b"] = exc
        return original(self, coordinator_id, record, expected)

    monkeypatch.setattr(Coordinators, "_write", meanwhile)
    removed = coordinator_admin.remove(km, b.id, a)
    assert removed.id == b.id and isinstance(outcome["b"], ConflictError)
    assert [c["coordinator_id"] for c in km.coordinators().all()] == [a.id]
    assert "removing" not in km.coordinators().get(a.id)  # the claim went with the removal


def _both(monkeypatch: pytest.MonkeyPatch, where: tuple[type, str], first: Callable[[], Any],
          second: Callable[[], Any]) -> list[Any]:
    """Run two calls in threads; each waits at a barrier right before ``where`` (a class and a method)."""
    cls, name = where
    original = getattr(cls, name)
    barrier = threading.Barrier(2, timeout=30)

    def waiting(self: Any, *args: Any, **kwargs: Any) -> Any:
        barrier.wait()
        return original(self, *args, **kwargs)

    results: list[Any] = [None, None]

    def run(i: int, call: Callable[[], Any]) -> None:
        try:
            results[i] = call()
        except Exception as exc:  # the outcome of each call is what is checked
            results[i] = exc

    with monkeypatch.context() as patch:
        patch.setattr(cls, name, waiting)
        threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate((first, second))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return results
