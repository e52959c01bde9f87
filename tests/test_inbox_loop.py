"""Issue 23, outcome 3: the coordinators' inbox works as shipped — with and without a mail server — on the real
store, the real model and the real app. The person the asker chose is the one pre-selected; the asker's request
number is on every page and finds the request; a duplicate is merged into the other request; the contact form
answers with a redirect, so a reload sends nothing twice; the message to the expert says how to reach the asker.
(The browser journeys of the same loop: ``tests/test_web_inbox_journeys.py``.)"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from core.errors import ConflictError, NotFoundError, ValidationError
from service import contacts
from service.container import Kennismakelaar
from service.coordinators import COMMAND_LINE
from service.profiles import save_profile
from tests.conftest import log_in, smtp_server

CHOSEN, STUDENT = "anna-de-vries", "priya-student"
ASKER, ASKER_MAIL = "Sara Bakker", "sara@wijkteam.nl"
QUESTION = "Hoe help je jongeren met schulden die zich schamen om hulp te vragen?"
COORD = {"Authorization": "Bearer geheim-token"}


def _people(km: Kennismakelaar) -> None:
    # the student's profile says the question almost word for word: the search ranks her first
    save_profile(km, STUDENT, name="Priya Student", role="student", email="priya@student.nl", consent=True,
                 expertise="Jongeren met schulden die zich schamen om hulp te vragen: hoe help je hen?",
                 actor=COMMAND_LINE)
    save_profile(km, CHOSEN, name="Anna de Vries", role="onderzoeker", ateliers=["tweedeling-en-armoede"],
                 email="anna@example.org", consent=True, actor=COMMAND_LINE,
                 expertise="Schulden bij gezinnen en jongvolwassenen; schaamte en niet-gebruik van regelingen.")


@pytest.fixture
def km(km_factory) -> Kennismakelaar:
    km = km_factory(KM_COORDINATOR_TOKENS="geheim-token", KM_ASK_PER_MINUTE="1000",
                    KM_CONTACT_EMAIL="coordinatie@example.org")
    _people(km)
    return km


@pytest.fixture
def client(km) -> Iterator[TestClient]:
    from web.app import create_app

    with TestClient(create_app(km=km)) as c:
        yield c


def _ask(km: Kennismakelaar, **kw) -> contacts.ContactRequest:
    return contacts.submit(km, **{"name": ASKER, "email": ASKER_MAIL, "question": QUESTION,
                                  "message": "Ik werk in een wijkteam en zoek iemand die meedenkt.", **kw})


def _checked(html: str) -> list[str]:
    """The values of the checked radio buttons of the forward form."""
    return re.findall(r'name="expert_id" value="([^"]+)" checked', html)


# --- the person the asker chose ---------------------------------------------------------------------------------


def test_the_person_the_asker_chose_comes_first_and_is_preselected(km, client):
    request = _ask(km, expert_id=CHOSEN)
    found, _ = km.broker().experts(QUESTION, limit=3)
    assert [e.id for e in found][:2] == [STUDENT, CHOSEN]  # the chosen one is a match, but not the best one
    people = [p["id"] for p in contacts.suggestions(km, contacts.get(km, request.id))["people"]]
    assert people[0] == CHOSEN and people.count(CHOSEN) == 1 and STUDENT in people
    log_in(client)
    assert _checked(client.get(f"/coordinatie/verzoeken/{request.id}").text) == [CHOSEN]


def test_without_a_chosen_person_the_best_match_is_preselected(km, client):
    request = _ask(km)
    log_in(client)
    assert _checked(client.get(f"/coordinatie/verzoeken/{request.id}").text) == [STUDENT]


def test_a_chosen_person_who_is_away_is_not_preselected_but_said_why(km, client):
    import datetime as dt

    from service.profiles import set_availability

    request = _ask(km, expert_id=CHOSEN)
    set_availability(km, CHOSEN, unavailable_until=(dt.date.today() + dt.timedelta(days=30)).isoformat(),
                     actor=COMMAND_LINE)
    suggested = contacts.suggestions(km, contacts.get(km, request.id))
    assert CHOSEN not in [p["id"] for p in suggested["people"]]
    assert [p["id"] for p in suggested["passed_over"]].count(CHOSEN) == 1
    log_in(client)
    assert _checked(client.get(f"/coordinatie/verzoeken/{request.id}").text) == [STUDENT]


# --- without a mail server: the message to copy, and its forward recorded ---------------------------------------


def test_without_a_mail_server_the_copied_forward_is_recorded(km, client):
    request = _ask(km, expert_id=CHOSEN)
    csrf = log_in(client)
    shown = client.post(f"/coordinatie/verzoeken/{request.id}/doorsturen",
                        data={"expert_id": CHOSEN, "rev": str(request.rev), "_csrf_token": csrf})
    assert shown.status_code == 200 and "Ik heb het bericht verstuurd" in shown.text
    action = re.search(r'<form method="post" action="([^"]+)">\s*<input type="hidden" name="_csrf_token"',
                       shown.text[shown.text.index("Ik heb het bericht") - 1200:])
    assert action is not None and action.group(1) == f"/coordinatie/verzoeken/{request.id}"  # was: without the id
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', shown.text))
    done = client.post(action.group(1), data={**fields, "_csrf_token": csrf}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/coordinatie/verzoeken/{request.id}"
    stored = contacts.get(km, request.id)
    assert (stored.status, stored.forwarded_to) == ("doorgestuurd", CHOSEN)
    assert [e.target for e in km.audit().entries(action="contactverzoek-doorgestuurd")] == [request.id]
    assert "doorgestuurd naar Anna de Vries" in client.get(f"/coordinatie/verzoeken/{request.id}").text


# --- the message tells the expert how to reach the asker ------------------------------------------------------


def test_the_copied_message_gives_the_askers_address_and_promises_no_reply_route(km, client):
    request = _ask(km, expert_id=CHOSEN)
    copied = client.post(f"/api/contact-requests/{request.id}/forward", headers=COORD,
                         json={"expert_id": CHOSEN}).json()
    assert copied["sent"] is False
    body = copied["body"]
    # copied into the coordinator's own mail program, a reply goes to the coordinator: the address is written out
    assert "Beantwoord dit bericht" not in body
    assert f"Mail {ASKER} op {ASKER_MAIL}" in body and "vroeg zelf om dit contact" in body
    assert "coordinatie@example.org" in body  # how to tell the coordinator it is not for them
    assert ASKER_MAIL in copied["mailto"].replace("%40", "@")


def test_the_mailed_message_says_the_same_and_replies_reach_the_asker(km_factory):
    with smtp_server() as (box, port):
        km = km_factory(KM_COORDINATOR_TOKENS="geheim-token", KM_SMTP_HOST="127.0.0.1", KM_SMTP_PORT=str(port),
                        KM_SMTP_STARTTLS="nee", KM_CONTACT_EMAIL="coordinatie@example.org")
        _people(km)
        request = _ask(km, expert_id=CHOSEN)
        done = contacts.forward(km, request.id, expert_id=CHOSEN, actor=COMMAND_LINE)
    assert done.sent and len(box.messages) == 1
    recipients, message = box.messages[0]
    body = message.get_payload(decode=True).decode()
    assert recipients == ["anna@example.org"] and message["Reply-To"] == ASKER_MAIL
    assert f"Mail {ASKER} op {ASKER_MAIL}" in body and "Beantwoord dit bericht" not in body


# --- the contact form: post, redirect, get ---------------------------------------------------------------------


def test_the_contact_form_redirects_and_a_reload_sends_nothing_twice(km, client):
    client.get(f"/contact?expert={CHOSEN}")
    csrf = client.cookies.get("km_csrf")
    fields = {"name": ASKER, "email": ASKER_MAIL, "message": "Graag contact.", "question": QUESTION,
              "expert_id": CHOSEN, "_csrf_token": csrf}
    sent = client.post("/contact", data=fields, follow_redirects=False)
    assert sent.status_code == 303, sent.text
    where = sent.headers["location"]
    (request,) = contacts.listing(km)
    assert where == f"/contact/ontvangen/{request.id}"  # the random id only: nothing of the asker in the address
    assert "sara" not in where.lower() and "bakker" not in where.lower()
    for _ in range(3):  # a reload reads the confirmation again
        page = client.get(where)
        assert page.status_code == 200 and "je verzoek is ontvangen" in page.text
        assert request.number in page.text and "coordinatie@example.org" in page.text
        assert ASKER not in page.text and ASKER_MAIL not in page.text
    assert len(contacts.listing(km)) == 1
    assert client.get("/contact/ontvangen/" + "0" * 32).status_code == 404
    wrong = client.post("/contact", data={**fields, "email": "sara"}, follow_redirects=False)
    assert wrong.status_code == 400 and 'aria-invalid="true"' in wrong.text  # a refusal shows the form again


# --- the number, deleting, merging ------------------------------------------------------------------------------


def test_the_inbox_shows_the_number_finds_a_request_by_it_and_deletes_it(km, client):
    first = _ask(km, expert_id=CHOSEN)
    other = _ask(km, name="Ahmed Yilmaz", email="ahmed@school.nl")
    csrf = log_in(client)
    listed = client.get("/coordinatie/verzoeken").text
    assert first.number in listed and other.number in listed
    found = client.get("/coordinatie/verzoeken", params={"nummer": first.number.upper()}).text
    assert ASKER in found and "Ahmed Yilmaz" not in found
    opened = client.get(f"/coordinatie/verzoeken/{first.id}").text
    assert f'<code id="verzoeknummer">{first.number}</code>' in opened and "Verwijder dit verzoek" in opened
    gone = client.post(f"/coordinatie/verzoeken/{first.id}/verwijderen", data={"_csrf_token": csrf})
    assert gone.status_code == 200 and ASKER not in gone.text
    assert [r.id for r in contacts.listing(km)] == [other.id]
    assert first.id in km.catalog().deleted_ids("contact")


def test_a_duplicate_is_merged_into_the_other_request_with_its_note_and_logged(km, client):
    kept = _ask(km, expert_id=CHOSEN)
    twice = _ask(km, expert_id=CHOSEN)  # the asker sent it again
    contacts.move(km, kept.id, note="Anna is tot 3 maart weg.", actor=COMMAND_LINE)
    contacts.move(km, twice.id, note="Belde ook nog op.", actor=COMMAND_LINE)
    csrf = log_in(client)
    opened = client.get(f"/coordinatie/verzoeken/{twice.id}").text
    assert "Voeg samen" in opened and f'value="{kept.number}"' in opened  # the asker's other request, proposed
    rev = contacts.get(km, twice.id).rev
    stale = client.post(f"/coordinatie/verzoeken/{twice.id}/samenvoegen",
                        data={"into": kept.number, "rev": str(rev - 1), "_csrf_token": csrf})
    assert stale.status_code == 409 and contacts.get(km, twice.id).status == "nieuw"
    merged = client.post(f"/coordinatie/verzoeken/{twice.id}/samenvoegen",
                         data={"into": kept.number, "rev": str(rev), "_csrf_token": csrf}, follow_redirects=False)
    assert merged.status_code == 303 and merged.headers["location"] == f"/coordinatie/verzoeken/{kept.id}"
    closed, stays = contacts.get(km, twice.id), contacts.get(km, kept.id)
    assert (closed.status, closed.answered, closed.duplicate_of) == ("afgerond", False, kept.id)
    assert closed.finding_id is None and kept.number in closed.outcome
    assert stays.status == "nieuw" and stays.note.startswith("Anna is tot 3 maart weg.")
    assert f"Samengevoegd met dubbel verzoek {twice.number}: Belde ook nog op." in stays.note
    logged = {(e.action, e.target) for e in km.audit().entries()}
    assert {("contactverzoek-samengevoegd", twice.id), ("contactverzoek-samengevoegd", kept.id)} <= logged
    assert "Samengevoegd" in client.get(f"/coordinatie/verzoeken/{twice.id}").text
    with pytest.raises(ValidationError, match="al afgerond"):
        contacts.merge(km, twice.id, kept.number, actor=COMMAND_LINE)
    third = _ask(km)
    with pytest.raises(ValidationError, match="met zichzelf"):
        contacts.merge(km, third.id, third.number, actor=COMMAND_LINE)
    with pytest.raises(ValidationError, match="zelf al samengevoegd"):
        contacts.merge(km, third.id, twice.number, actor=COMMAND_LINE)
    assert contacts.get(km, third.id).status == "nieuw"  # the refused merge into a merged request undid itself
    with pytest.raises(NotFoundError):
        contacts.merge(km, third.id, "ffffffff", actor=COMMAND_LINE)
    with pytest.raises(ConflictError):
        contacts.merge(km, third.id, kept.number, actor=COMMAND_LINE, rev=third.rev + 5)
    opened = client.get(f"/coordinatie/verzoeken/{kept.id}").text
    assert "met 1 dubbel verzoek dat erin is samengevoegd" in opened
    client.post(f"/coordinatie/verzoeken/{kept.id}/verwijderen", data={"_csrf_token": csrf})
    assert [r.id for r in contacts.listing(km)] == [third.id]  # the duplicate, with the asker's name, went too
    assert {kept.id, twice.id} <= km.catalog().deleted_ids("contact")


def test_deleting_follows_merge_chains_and_other_addresses(km):
    """A merged into B, then B into C: deleting C took B only, and A kept the asker's name and address. And
    ``forget-asker`` matched addresses only: a duplicate sent from another address and merged into theirs stayed,
    pointing at a deleted request."""
    a, b, c = _ask(km), _ask(km), _ask(km)
    contacts.merge(km, a.id, b.number, actor=COMMAND_LINE)
    contacts.merge(km, b.id, c.number, actor=COMMAND_LINE)
    contacts.remove(km, c.id, COMMAND_LINE)
    assert [r.id for r in contacts.listing(km)] == []
    assert {a.id, b.id, c.id} <= km.catalog().deleted_ids("contact")
    mine, other = _ask(km), _ask(km, email="werk.adres@wijkteam.example")
    contacts.merge(km, other.id, mine.number, actor=COMMAND_LINE)
    gone = contacts.forget_asker(km, ASKER_MAIL, actor=COMMAND_LINE)
    assert gone["requests"] == 2 and contacts.listing(km) == []


def test_the_api_merges_a_duplicate_and_shows_numbers_and_merges(km, client):
    kept, twice = _ask(km, expert_id=CHOSEN), _ask(km, expert_id=CHOSEN)
    listed = client.get("/api/contact-requests", headers=COORD).json()
    assert {r["number"] for r in listed} == {kept.number, twice.number}  # what the askers were told to quote
    stale = client.post(f"/api/contact-requests/{twice.id}/merge", json={"into": kept.number},
                        headers={**COORD, "If-Match": f'"{twice.rev + 1}"'})
    assert stale.status_code == 412 and contacts.get(km, twice.id).status == "nieuw"
    merged = client.post(f"/api/contact-requests/{twice.id}/merge", json={"into": kept.number},
                         headers={**COORD, "If-Match": f'"{twice.rev}"'})
    assert merged.status_code == 200, merged.text
    assert merged.json()["id"] == kept.id and merged.headers["ETag"] == f'"{contacts.get(km, kept.id).rev}"'
    assert merged.headers["Content-Location"] == f"/api/contact-requests/{kept.id}"  # whose ETag that is
    closed = client.get(f"/api/contact-requests/{twice.id}", headers=COORD).json()
    assert (closed["status"], closed["duplicate_of"]) == ("afgerond", kept.id)
    again = client.post(f"/api/contact-requests/{kept.id}/merge", json={"into": kept.number}, headers=COORD)
    assert again.status_code == 400 and "met zichzelf" in again.text
    assert client.post(f"/api/contact-requests/{kept.id}/merge", json={"into": "x"}).status_code == 401
