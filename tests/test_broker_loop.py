"""Issue 10, outcomes 2, 3 and 5: a request forwarded by real e-mail (an SMTP server in-process), people who are
away or full passed over with the reason, and an answered request coming back as a findable finding — on the
demo corpus, with the real model and the real store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from core.errors import ValidationError
from core.names import is_email
from service import contacts
from service.coordinators import COMMAND_LINE
from service.jobs import JobRunner
from service.profiles import availability_of, save_profile, set_availability
from tests.conftest import MailBox, log_in, make_settings, smtp_server

QUESTION = "Hoe bereik je gezinnen die uit schaamte geen gebruik maken van minimaregelingen?"
COORD = {"Authorization": "Bearer geheim-token"}


@pytest.fixture
def smtp() -> Iterator[tuple[MailBox, int]]:
    with smtp_server() as box:
        yield box


@pytest.fixture
def demo(fresh_samples, km_factory):
    """The demo corpus, a coordinator token, and (given) a mail server."""

    def make(**env: str):
        return km_factory(fresh_samples, KM_COORDINATOR_TOKENS="geheim-token",
                          KM_CONTACT_EMAIL="werkplaats@example.org", **env)

    return make


def _ask(km, **kw) -> contacts.ContactRequest:
    asked = km.broker().ask(QUESTION)
    return contacts.submit(km, **{"name": "Sara Bakker", "email": "sara@wijkteam.nl", "message": "Graag even sparren.",
                                  "question_id": asked.question_id, **kw})


def test_a_request_is_forwarded_by_mail_and_the_message_arrives(demo, smtp):
    inbox, port = smtp
    km = demo(KM_SMTP_HOST="127.0.0.1", KM_SMTP_PORT=str(port), KM_SMTP_STARTTLS="nee")
    request = _ask(km)
    suggested = contacts.suggestions(km, request)["people"]
    assert suggested, "the demo corpus knows people about non-take-up"
    expert = km.catalog().expert(suggested[0]["id"])
    done = contacts.forward(km, request.id, expert_id=expert["expert_id"], cc_asker=True, note="Zij weet er veel van.",
                            actor=COMMAND_LINE)
    assert done.sent and done.request.status == "doorgestuurd" and done.request.forwarded_to == expert["expert_id"]
    (recipients, message), (to_asker, confirmation) = inbox.messages
    assert recipients == [expert["email"]] and message["Cc"] is None  # the asker never sees the expert's address
    assert to_asker == ["sara@wijkteam.nl"] and confirmation["To"] == "sara@wijkteam.nl"
    assert expert["email"] not in confirmation.as_string()
    assert message["To"] == expert["email"] and message["Reply-To"] == "sara@wijkteam.nl"
    assert message["From"] == "werkplaats@example.org"
    body = message.get_payload(decode=True).decode()
    assert f"Beste {expert['name']}" in body and "schaamte" in body and "Zij weet er veel van." in body


def test_without_a_mail_server_the_inbox_shows_the_message_to_copy(demo):
    km = demo()
    request = _ask(km)
    expert_id = contacts.suggestions(km, request)["people"][0]["id"]
    with TestClient(_app(km)) as c:
        csrf = log_in(c)
        page = c.get(f"/coordinatie/verzoeken/{request.id}").text  # who to forward to: on opening the request
        assert "Maak het bericht klaar" in page and f'value="{expert_id}"' in page
        ready = c.post(f"/coordinatie/verzoeken/{request.id}/doorsturen",
                       data={"expert_id": expert_id, "_csrf_token": csrf})
        assert ready.status_code == 200 and "geen mailserver ingesteld" in ready.text and "mailto:" in ready.text
        assert f'action="/coordinatie/verzoeken/{request.id}"' in ready.text  # "Ik heb het bericht verstuurd"
        assert contacts.get(km, request.id).status == "nieuw"  # nothing was sent: nothing moved
        done = c.post(f"/coordinatie/verzoeken/{request.id}", data={"status": "doorgestuurd",
                                                                     "forwarded_to": expert_id, "_csrf_token": csrf})
        assert done.status_code == 200
        assert contacts.get(km, request.id).forwarded_to == expert_id
        api = c.post(f"/api/contact-requests/{request.id}/forward", json={"expert_id": expert_id}, headers=COORD)
        assert api.status_code == 200 and api.json()["sent"] is False and api.json()["body"].startswith("Beste")


def test_a_refusing_mail_server_is_a_clear_error_and_nothing_moves(demo):
    km = demo(KM_SMTP_HOST="127.0.0.1", KM_SMTP_PORT="9", KM_SMTP_STARTTLS="nee")  # nothing listens on 9
    request = _ask(km)
    expert_id = contacts.suggestions(km, request)["people"][0]["id"]
    with TestClient(_app(km)) as c:
        r = c.post(f"/api/contact-requests/{request.id}/forward", json={"expert_id": expert_id}, headers=COORD)
        assert r.status_code == 502 and r.json()["error"]["code"] == "mail", r.text
    assert contacts.get(km, request.id).status == "nieuw"


def test_people_away_or_full_are_passed_over_with_the_reason(demo):
    km = demo()
    first = km.broker().ask(QUESTION).experts
    assert len(first) >= 2
    away, full = first[0].id, first[1].id
    set_availability(km, away, unavailable_until=(dt.date.today() + dt.timedelta(days=10)).isoformat(),
                     actor=COMMAND_LINE)
    set_availability(km, full, max_per_month=1, actor=COMMAND_LINE)
    request = _ask(km)
    contacts.move(km, request.id, "doorgestuurd", forwarded_to=full,
                  actor=COMMAND_LINE)  # one forwarded this month: full
    assert availability_of(km, full)["reason"] == "Vol: 1 van 1 verzoeken deze maand."
    assert availability_of(km, away)["reason"].startswith("Afwezig tot en met ")
    now = {e.id for e in km.broker().ask(QUESTION).experts}
    assert away not in now and full not in now  # not suggested in answers
    panel = km.broker().panel(QUESTION, 3)
    assert {away, full}.isdisjoint({m.expert.id for m in panel.members})  # nor on panels
    reasons = {p.id: p.reason for p in panel.passed_over}
    assert reasons[away].startswith("Afwezig") and reasons[full].startswith("Vol")  # and the coordinator sees why
    later = _ask(km, expert_id=away)
    passed = contacts.suggestions(km, later)["passed_over"]
    assert passed[0]["id"] == away and "Afwezig" in passed[0]["reason"]  # the one asked for, passed over, said so
    set_availability(km, away, actor=COMMAND_LINE)  # cleared: back in
    assert away in {e.id for e in km.broker().ask(QUESTION).experts}
    with pytest.raises(ValidationError, match="JJJJ-MM-DD"):
        set_availability(km, away, unavailable_until="morgen", actor=COMMAND_LINE)


def test_availability_through_the_api_and_the_profile_form(demo):
    km = demo()
    person = km.broker().ask(QUESTION).experts[0].id
    until = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    with TestClient(_app(km)) as c:
        assert c.put(f"/api/experts/{person}/availability", json={"max_per_month": 2}).status_code == 401
        r = c.put(f"/api/experts/{person}/availability", json={"unavailable_until": until},
                  headers={**COORD, "If-Match": '"0"'})  # never set before
        assert r.status_code == 200 and r.json()["reason"].startswith("Afwezig"), r.text
        csrf = log_in(c)
        form = c.get(f"/coordinatie/experts/{person}").text
        assert f'value="{until}"' in form and "Afwezig tot en met" in form
        assert "Afwezig tot en met" in c.get("/coordinatie/experts").text  # the list says it too
        shown = form.split('name="availability_version" value="', 1)[1].split('"', 1)[0]  # the version it shows
        assert shown == r.headers["etag"].strip('"')
        saved = c.post(f"/coordinatie/experts/{person}/beschikbaarheid",
                       data={"unavailable_until": "", "max_per_month": "4", "availability_version": shown,
                             "_csrf_token": csrf})
        assert saved.status_code == 200
    assert availability_of(km, person) == {"unavailable_until": None, "max_per_month": 4, "reason": None}


def test_an_answered_request_becomes_a_finding_and_leaves_the_agenda(demo):
    km = demo()
    outcome = ("Werk met een vaste buurtvertrouwenspersoon die zelf langsgaat; schaamte zakt als iemand het "
               "formulier samen invult. Het wijkteam Heerlen-Noord deed dit met de formulierenbrigade.")
    request = _ask(km, message="Ik zoek iemand die weet wat werkt tegen schaamte bij minimaregelingen.",
                   publish_consent=True)  # the asker agreed that their question may be the public one
    # the findings did not help the asker (so the question is open, whatever the judgement said): a person may
    km.broker().questions.feedback(request.question_id, item_type="answer", item_id=request.question_id,
                                   helpful=False)
    assert request.question_id in _agenda_questions(km)
    expert_id = contacts.suggestions(km, request)["people"][0]["id"]
    contacts.move(km, request.id, "doorgestuurd", forwarded_to=expert_id, actor=COMMAND_LINE)
    with pytest.raises(ValidationError, match="afgerond"):
        contacts.close(km, request.id, outcome=outcome, answered=True, actor=COMMAND_LINE)  # not connected yet
    contacts.move(km, request.id, "verbonden", actor=COMMAND_LINE)
    with pytest.raises(ValidationError, match="Schrijf kort"):
        contacts.close(km, request.id, outcome="  ", answered=True, actor=COMMAND_LINE)
    seen = contacts.preview(km, request.id, outcome=outcome, themes=["impact"])  # what the coordinator checks
    closed = contacts.close(km, request.id, outcome=outcome, answered=True, themes=["impact"], seen=seen.digest,
                            actor=COMMAND_LINE)
    assert closed.status == "afgerond" and closed.answered and closed.finding_id == seen.document_id
    doc = km.catalog().document(closed.finding_id)
    expert = km.catalog().expert(expert_id)
    assert doc["kind"] == "kennisvraag" and "impact" in doc["themes"] and expert["name"] in doc["participants"]
    assert "Sara Bakker" not in str(doc) and "sara@" not in str(doc)  # never the asker
    # the next person with this question finds the answer among the first; its outcome's own words too
    found = km.broker().search("Wie weet wat werkt tegen schaamte bij het aanvragen van minimaregelingen?")
    assert closed.finding_id in [r.document_id for r in found.results[:3]]  # beside the research on non-take-up
    found = km.broker().search("vaste buurtvertrouwenspersoon die het formulier samen invult tegen schaamte")
    assert closed.finding_id in [r.document_id for r in found.results[:3]]
    assert request.question_id not in _agenda_questions(km)  # and the agenda no longer lists the question


def test_a_removed_person_leaves_requests_panels_and_availability(demo):
    km = demo()
    person = km.broker().ask(QUESTION).experts[0].id
    request = _ask(km, expert_id=person)
    contacts.move(km, request.id, "doorgestuurd", forwarded_to=person, actor=COMMAND_LINE)
    set_availability(km, person, max_per_month=3, actor=COMMAND_LINE)
    km.catalog().add_meeting("m1", {"id": "m1", "title": "Expertmeeting", "panel": [person, "iemand-anders"]})
    km.ingestor().forget_expert(person)
    stored = contacts.get(km, request.id)
    assert stored.expert_id is None and stored.forwarded_to is None
    assert km.catalog().meeting("m1")["panel"] == ["iemand-anders"]
    assert person not in km.catalog().availability()


def _agenda_questions(km) -> set[str]:
    m = km.settings.matching
    agenda = km.broker().agenda(threshold=m.answer_threshold, similarity=m.agenda_similarity)
    return {q for c in agenda["clusters"] for q in c["question_ids"]}


def _app(km):
    from web.app import create_app

    return create_app(km=km)


def test_mail_settings_are_checked(tmp_path):
    from core.errors import ConfigError

    with pytest.raises(ConfigError, match="KM_SMTP_PORT"):
        make_settings(tmp_path, KM_SMTP_PORT="geen-poort")
    s = make_settings(tmp_path, KM_SMTP_HOST="mail.example.org", KM_SMTP_PASSWORD="zeer-geheim")
    assert s.mail.configured and "zeer-geheim" not in repr(s)


def test_the_asker_never_reaches_a_finding_even_through_their_own_words(demo):
    """From a profile page a request has no question: its message — the asker's own words, often with their name
    and number — is never published; the coordinator words the question, and the asker's name is taken out."""
    km = demo()
    person = km.broker().ask(QUESTION).experts[0].id
    request = contacts.submit(km, name="Sara Bakker", email="sara@wijkteam.nl", expert_id=person,
                              message="Ik ben Sara Bakker van wijkteam Noord, bel me op 06-12345678.")
    contacts.move(km, request.id, "doorgestuurd", forwarded_to=person, actor=COMMAND_LINE)
    contacts.move(km, request.id, "verbonden", actor=COMMAND_LINE)
    with pytest.raises(ValidationError, match="Schrijf de vraag op") as err:
        contacts.close(km, request.id, outcome="Een vaste contactpersoon helpt.", answered=True, actor=COMMAND_LINE)
    assert err.value.field == "question"
    wording = {"question": "Wat helpt gezinnen die zich schamen?",
               "outcome": "Sara Bakker merkte: een vaste contactpersoon (sara@wijkteam.nl) helpt."}
    closed = contacts.close(km, request.id, answered=True, **wording, actor=COMMAND_LINE,
                            seen=contacts.preview(km, request.id, **wording).digest)
    doc = km.catalog().document(closed.finding_id)
    text = str(doc) + "".join(p["text"] for p in km.catalog().chunks_of(closed.finding_id))
    file = (km.settings.store.data_dir / "files" / f"{closed.finding_id}.md").read_text("utf-8")
    for where in (text, file, closed.outcome):
        assert "Sara Bakker" not in where and "sara@" not in where and "06-12345678" not in where
    assert "[naam verwijderd]" in closed.outcome


def test_the_panel_says_who_gave_way_to_others(demo):
    km = demo()
    first = km.broker().panel(QUESTION, 3)
    for n in range(4):
        km.catalog().add_meeting(f"m{n}", {"id": f"m{n}", "date": f"2026-0{n + 1}-01",
                                           "panel": [m.expert.id for m in first.members]})
    again = km.broker().panel(QUESTION, 3)
    gave_way = [p for p in again.passed_over if "voorrang" in p.reason]
    assert gave_way and {p.id for p in gave_way} <= {m.expert.id for m in first.members}


def test_one_long_request_does_not_break_the_inbox(demo):
    km = demo()
    long = contacts.submit(km, name="Piet Lang", email="piet@example.org", message="schulden " * 440)
    assert contacts.MAX_MESSAGE >= len(long.message) > km.settings.service.max_query_chars
    assert contacts.suggestions(km, long)["people"] is not None
    with TestClient(_app(km)) as c:
        log_in(c)
        assert c.get("/coordinatie/verzoeken").status_code == 200
        assert c.get(f"/coordinatie/verzoeken/{long.id}").status_code == 200


def test_a_person_without_consent_is_not_named_in_a_finding(demo):
    km = demo()
    save_profile(km, "jan-jansen", name="Jan Jansen", role="professional", email="jan@gemeente.nl", consent=False,
                 expertise="Schaamte en minimaregelingen bij gezinnen.", actor=COMMAND_LINE)
    request = _ask(km, publish_consent=True)
    contacts.move(km, request.id, "doorgestuurd", forwarded_to="jan-jansen", actor=COMMAND_LINE)
    contacts.move(km, request.id, "verbonden", actor=COMMAND_LINE)
    outcome = "Jan Jansen legde uit dat een huisbezoek met een vaste contactpersoon werkt."
    closed = contacts.close(km, request.id, answered=True, outcome=outcome, actor=COMMAND_LINE,
                            seen=contacts.preview(km, request.id, outcome=outcome).digest)
    assert "Jan Jansen" not in closed.outcome and "Jansen" not in str(km.catalog().document(closed.finding_id))
    file = (km.settings.store.data_dir / "files" / f"{closed.finding_id}.md").read_text("utf-8")
    assert "Jan Jansen" not in file


def test_what_follows_an_upload_failing_does_not_fail_the_upload(demo):
    from core.errors import NotFoundError

    km = demo()
    runner = JobRunner(km.settings.store.data_dir, km.ingestor)

    def gone(job) -> None:
        raise NotFoundError("Deze bijeenkomst bestaat niet meer.")

    job = runner.submit([("notitie.md", b"# Notitie\n\nOver buurtkamers.\n")], then=gone)
    runner.wait(timeout=120)
    runner.close()
    done = runner.get(job.id)
    assert done.status == "done" and done.documents and done.errors[0]["message"].startswith("Deze bijeenkomst")


@pytest.mark.parametrize("address", ["x@y.nl,root", "a@b.nl b@c.nl", "geen-adres"])
def test_one_plain_address_only(demo, tmp_path, address):
    from core.errors import ConfigError

    with pytest.raises(ConfigError, match="KM_CONTACT_EMAIL"):
        make_settings(tmp_path, KM_CONTACT_EMAIL=address)
    with pytest.raises(ValidationError) as err:
        save_profile(demo(), "iemand", name="Iemand", email=address, actor=COMMAND_LINE)
    assert err.value.field == "email"
    assert is_email("o'brien@gemeente.nl")
