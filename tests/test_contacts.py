"""Contact requests (issue 10, first part): stored in the real store, moved along the Werkplaats' path, never
losing a coordinator's change to another worker, kept no longer than the retention, removable on request."""

import datetime as dt

import pytest
from qdrant_client import QdrantClient

from core.errors import NotFoundError, ValidationError
from core.store.catalog import Catalog
from core.store.server import ServerStore
from service import contacts
from service.container import Kennismakelaar
from service.coordinators import COMMAND_LINE
from service.profiles import save_profile
from tests.conftest import log_in

PERSON = "anna-de-vries"


@pytest.fixture
def km(km_factory):
    km = km_factory(KM_COORDINATOR_TOKENS="geheim-token")
    save_profile(km, PERSON, name="Anna de Vries", role="onderzoeker", ateliers=["tweedeling-en-armoede"],
                 expertise="Schulden en schaamte bij jongeren.", email="anna@example.org", consent=True,
                 actor=COMMAND_LINE)
    save_profile(km, "piet-zonder-toestemming", name="Piet Jansen", consent=False, actor=COMMAND_LINE)
    return km


def _ask(km: Kennismakelaar, **kw) -> contacts.ContactRequest:
    return contacts.submit(km, **{"name": "Sara Bakker", "email": "sara@wijkteam.nl",
                                  "message": "Ik zoek iemand die meedenkt over schulden bij jongeren.", **kw})


def test_a_request_is_stored_and_moves_along_the_path(km):
    request = _ask(km, expert_id=PERSON, organization="Wijkteam Heerlen-Noord")
    stored = contacts.get(km, request.id)
    assert (stored.status, stored.expert_id, stored.atelier, stored.organization) == (
        "nieuw", PERSON, "tweedeling-en-armoede", "Wijkteam Heerlen-Noord")
    assert "anna@example.org" not in str(stored.__dict__)  # the expert's address is no part of a request
    for status in ("doorgestuurd", "verbonden"):
        moved = contacts.move(km, request.id, status, actor=COMMAND_LINE)
        assert moved.status == status and status in moved.changed_at
    with pytest.raises(ValidationError, match="met zijn uitkomst"):
        contacts.move(km, request.id, "afgerond", actor=COMMAND_LINE)  # closing takes an outcome: contacts.close
    closed = contacts.close(km, request.id, outcome="", answered=False, actor=COMMAND_LINE)
    assert closed.status == "afgerond" and "afgerond" in closed.changed_at and closed.finding_id is None
    with pytest.raises(ValidationError, match="kan een verzoek niet naar ‘nieuw’") as err:
        contacts.move(km, request.id, "nieuw", actor=COMMAND_LINE)
    assert err.value.field == "status"
    assert [r.id for r in contacts.listing(km, status="afgerond")] == [request.id]
    assert contacts.listing(km, status="nieuw") == []


@pytest.mark.parametrize(("kw", "field"), [({"name": "  "}, "name"), ({"email": "sara@"}, "email"),
                                          ({"message": ""}, "message")])
def test_a_bad_request_names_its_field(km, kw, field):
    with pytest.raises(ValidationError) as err:
        _ask(km, **kw)
    assert err.value.field == field
    assert km.catalog().contact_requests() == []


def test_no_request_for_a_person_without_consent_or_an_unknown_question(km):
    with pytest.raises(NotFoundError):
        _ask(km, expert_id="piet-zonder-toestemming")
    with pytest.raises(NotFoundError):
        _ask(km, question_id="00000000-0000-0000-0000-000000000000")
    with pytest.raises(NotFoundError):
        contacts.get(km, "../ledger")


def test_two_coordinators_on_two_workers_keep_both_changes(tmp_path):
    """A note written by one worker and a status set by another, on one server store: both stay."""
    client = QdrantClient(":memory:")
    one, two = (Catalog(ServerStore(client), "m@1", 4, marker_key=b"k" * 32) for _ in range(2))
    for c in (one, two):
        c.open()
    one.add_contact_request("a" * 32, {"name": "Sara", "status": "nieuw", "note": ""})
    one.update_contact_request("a" * 32, {"note": "Bel eerst het wijkteam."})
    two.update_contact_request("a" * 32, {"status": "doorgestuurd"})
    record = one.contact_request("a" * 32)
    assert (record["status"], record["note"], record["name"]) == ("doorgestuurd", "Bel eerst het wijkteam.", "Sara")


def test_requests_go_after_the_retention_and_on_the_askers_request(km):
    old = _ask(km)
    km.catalog().update_contact_request(old.id, {"created_at": (dt.datetime.now(dt.UTC) - dt.timedelta(days=400))
                                                 .isoformat(timespec="seconds")})
    kept = _ask(km, email="iemand@anders.nl")
    from service import retention

    assert retention.sweep(km)["contacts"] == 1
    assert [r.id for r in contacts.listing(km)] == [kept.id]
    _ask(km, email="Iemand@Anders.nl")  # the same person, written otherwise
    gone = contacts.forget_asker(km, "iemand@anders.nl ", actor=COMMAND_LINE)
    assert gone == {"requests": 2, "findings": 0, "follows": 0}
    assert contacts.listing(km) == []


def test_a_removed_person_is_gone_from_requests_too(km):
    request = _ask(km, expert_id=PERSON, message="Graag contact met Anna de Vries over schaamte.")
    km.ingestor().forget_expert(PERSON)
    stored = contacts.get(km, request.id)
    assert "Anna de Vries" not in stored.message and "[naam verwijderd]" in stored.message
    later = _ask(km, message="Weet Anna de Vries hier meer van?")  # after the removal: redacted on the way in
    assert "Anna de Vries" not in contacts.get(km, later.id).message


def test_the_api_takes_a_request_from_anyone_and_shows_it_to_coordinators_only(km):
    from litestar.testing import TestClient

    from web.app import create_app

    coord = {"Authorization": "Bearer geheim-token"}
    with TestClient(create_app(km=km)) as c:
        r = c.post("/api/contact-requests", json={"name": "Sara Bakker", "email": "sara@wijkteam.nl",
                                                  "message": "Graag contact over schulden.", "expert_id": PERSON})
        assert r.status_code == 201, r.text
        made = r.json()
        assert made["status"] == "nieuw" and "coördinator" in made["next"] and "anna@" not in r.text
        assert c.get("/api/contact-requests").status_code == 401  # the public sees no one's request
        assert c.get(f"/api/contact-requests/{made['id']}").status_code == 401
        listed = c.get("/api/contact-requests", headers=coord).json()
        assert [x["id"] for x in listed] == [made["id"]] and listed[0]["email"] == "sara@wijkteam.nl"
        moved = c.patch(f"/api/contact-requests/{made['id']}", json={"status": "doorgestuurd", "note": "Via mail."},
                        headers=coord)
        assert moved.status_code == 200 and moved.json()["status"] == "doorgestuurd", moved.text
        refused = c.patch(f"/api/contact-requests/{made['id']}", json={"status": "nieuw"}, headers=coord)
        assert refused.status_code == 400 and refused.json()["error"]["field"] == "status"
        bad = c.post("/api/contact-requests", json={"name": "X", "email": "geen-adres", "message": "hoi"})
        assert bad.status_code == 400 and bad.json()["error"]["field"] == "email"
        assert c.delete(f"/api/contact-requests/{made['id']}", headers=coord).status_code == 200
        assert c.get(f"/api/contact-requests/{made['id']}", headers=coord).status_code == 404


def test_the_contact_form_works_without_javascript_and_refuses_a_forged_post(km):
    from litestar.testing import TestClient

    from web.app import create_app

    asked = km.broker().ask("Hoe praat je met jongeren over schulden en schaamte?")
    with TestClient(create_app(km=km)) as c:
        answer = c.get(f"/antwoord/{asked.question_id}").text
        profile = c.get(f"/experts/{PERSON}").text
        assert f'href="/contact?expert={PERSON}' in profile and "anna@example.org" not in profile
        if asked.experts:  # the answer offers the form for each person it suggests
            assert f"/contact?expert={asked.experts[0].id}&amp;vraag={asked.question_id}" in answer
        form = c.get(f"/contact?expert={PERSON}&vraag={asked.question_id}")
        assert form.status_code == 200 and "Vraag contact aan met Anna de Vries" in form.text
        assert "schulden en schaamte" in form.text  # the question filled in
        assert "anna@example.org" not in form.text
        hidden = c.get("/contact?expert=piet-zonder-toestemming").text
        assert "Piet Jansen" not in hidden  # no one without consent, not even by name
        fields = {"name": "Sara Bakker", "email": "sara@wijkteam.nl", "message": "Graag even bellen.",
                  "expert_id": PERSON, "question_id": asked.question_id}
        assert c.post("/contact", data=fields).status_code == 403  # no CSRF token: refused
        csrf = c.cookies.get("km_csrf")
        wrong = c.post("/contact", data={**fields, "email": "sara", "_csrf_token": csrf})
        assert wrong.status_code == 400 and 'aria-invalid="true"' in wrong.text and "Graag even bellen." in wrong.text
        sent = c.post("/contact", data={**fields, "_csrf_token": csrf})
        assert sent.status_code == 200 and "je verzoek is ontvangen" in sent.text, sent.text
    (stored,) = contacts.listing(km)
    assert (stored.expert_id, stored.question_id, stored.email) == (PERSON, asked.question_id, "sara@wijkteam.nl")
    assert "schulden" in stored.question


def test_the_coordinators_inbox_lists_filters_and_moves_requests(km):
    from litestar.testing import TestClient

    from web.app import create_app

    first = _ask(km, expert_id=PERSON)
    second = _ask(km, name="Ahmed Yilmaz", email="ahmed@school.nl")
    with TestClient(create_app(km=km)) as c:
        assert c.get("/coordinatie/verzoeken", follow_redirects=False).status_code in (302, 303)  # log in first
        csrf = log_in(c)
        page = c.get("/coordinatie/verzoeken")
        assert page.status_code == 200 and "Sara Bakker" in page.text and "Ahmed Yilmaz" in page.text
        assert "Anna de Vries" in page.text  # the person asked for, by name
        assert c.post(f"/coordinatie/verzoeken/{first.id}", data={"status": "doorgestuurd"}).status_code == 403
        moved = c.post(f"/coordinatie/verzoeken/{first.id}", data={"status": "doorgestuurd", "note": "Gemaild.",
                                                                     "_csrf_token": csrf})
        assert moved.status_code == 200, moved.text  # followed the redirect back to the inbox
        assert (contacts.get(km, first.id).status, contacts.get(km, first.id).note) == ("doorgestuurd", "Gemaild.")
        wrong = c.post(f"/coordinatie/verzoeken/{second.id}", data={"status": "afgerond", "_csrf_token": csrf})
        assert wrong.status_code == 400 and contacts.get(km, second.id).status == "nieuw"
        only_new = c.get("/coordinatie/verzoeken", params={"status": "nieuw"}).text
        assert "Ahmed Yilmaz" in only_new and "Sara Bakker" not in only_new
