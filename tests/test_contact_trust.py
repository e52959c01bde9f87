"""Issue 22, contact requests (review 2026-12, findings 8, 9, 14, 16a, 17, 22): the asker decides what becomes
public, the inbox does not search per request on every load, the web form keeps the API's limits, two
coordinators never both move one request, a removal during a request's write still reaches it, and an asker can
be forgotten by address — on the real store, the real model and the real app."""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from core.errors import ConflictError, ValidationError
from core.store.catalog import Catalog
from matching.broker import Broker
from service import contacts, coordinator_admin
from service.container import Kennismakelaar
from service.coordinators import COMMAND_LINE
from service.profiles import remove_person, save_profile
from tests.conftest import give_the_cli, log_in, smtp_server

PERSON = "anna-de-vries"
COORD = {"Authorization": "Bearer geheim-token"}
SARA = ("Ik ben Sara, alleenstaande moeder van twee uit Heerlen-Noord, met een betalingsachterstand bij Enexis. "
        "Hoe vraag ik bijzondere bijstand aan zonder dat mijn ex het merkt?")
PRIYA = "Priya hier, student, ik woon sinds maart in een caravan in Brunssum. Waar kan ik terecht met mijn schulden?"


@pytest.fixture
def km(km_factory) -> Kennismakelaar:
    km = km_factory(KM_COORDINATOR_TOKENS="geheim-token", KM_ASK_PER_MINUTE="1000")
    save_profile(km, PERSON, name="Anna de Vries", role="onderzoeker", ateliers=["tweedeling-en-armoede"],
                 expertise="Schulden, bijzondere bijstand en schaamte bij gezinnen.", email="anna@example.org",
                 consent=True, actor=COMMAND_LINE)
    return km


@pytest.fixture
def client(km) -> Iterator[TestClient]:
    from web.app import create_app

    with TestClient(create_app(km=km)) as c:
        yield c


def _ask(km: Kennismakelaar, **kw) -> contacts.ContactRequest:
    return contacts.submit(km, **{"name": "Sara Bakker", "email": "sara@wijkteam.nl",
                                  "message": "Ik zoek iemand die meedenkt over schulden.", **kw})


def _connected(c: TestClient, request_id: str) -> None:
    for status in ("doorgestuurd", "verbonden"):
        r = c.patch(f"/api/contact-requests/{request_id}", headers=COORD,
                    json={"status": status, **({"forwarded_to": PERSON} if status == "doorgestuurd" else {})})
        assert r.status_code == 200, r.text


# --- finding 9 (repro_12): what becomes public -------------------------------------------------------------------


def test_a_closed_request_publishes_only_what_the_coordinator_saw_and_never_the_askers_words(km, client):
    c = client
    made = c.post("/api/contact-requests", json={"name": "Sara Bakker", "email": "sara@wijkteam.nl",
                                                 "message": "Graag contact.", "question": SARA, "expert_id": PERSON})
    assert made.status_code == 201, made.text
    rid = made.json()["id"]
    _connected(c, rid)
    finding_id = f"kennisvraag-{rid[:12]}"
    outcome = {"answered": True, "outcome": "Sara kreeg uitleg over de aanvraag via het wijkteam van Sara Bakker."}
    # no agreement on the form: the asker's question is not the default, and not allowed word for word either
    r = c.post(f"/api/contact-requests/{rid}/close", headers=COORD, json=outcome)
    assert r.status_code == 400 and r.json()["error"]["field"] == "question", r.text
    r = c.post(f"/api/contact-requests/{rid}/preview", headers=COORD, json={**outcome, "question": SARA.upper()})
    assert r.status_code == 400 and r.json()["error"]["field"] == "question", r.text
    wording = {**outcome, "question": "Hoe vraag je bijzondere bijstand aan als alleenstaande ouder, Sara?"}
    # nothing is published before the coordinator saw it
    r = c.post(f"/api/contact-requests/{rid}/close", headers=COORD, json=wording)
    assert r.status_code == 400 and r.json()["error"]["field"] == "preview", r.text
    assert km.catalog().document(finding_id) is None and contacts.get(km, rid).status == "verbonden"
    seen = c.post(f"/api/contact-requests/{rid}/preview", headers=COORD, json=wording)
    assert seen.status_code == 200, seen.text
    preview = seen.json()
    assert preview["document_id"] == finding_id and not preview["own_words"]
    for leak in ("Sara", "Bakker", "sara@", "Heerlen-Noord", "Enexis"):
        assert leak not in preview["text"], leak
    assert "[naam verwijderd]" in preview["question"] and "Anna de Vries" in preview["participants"]
    r = c.post(f"/api/contact-requests/{rid}/close", headers=COORD, params={"preview": "0" * 32}, json=wording)
    assert r.status_code == 400 and km.catalog().document(finding_id) is None  # another text than the one seen
    closed = c.post(f"/api/contact-requests/{rid}/close", headers=COORD, params={"preview": preview["digest"]},
                    json=wording)
    assert closed.status_code == 200 and closed.json()["finding_id"] == finding_id, closed.text
    public = c.get(f"/api/documents/{finding_id}")  # anyone, whatever KM_DEFAULT_VISIBILITY says of other files
    assert public.status_code == 200 and public.json()["visibility"] == "openbaar"
    assert "\nvisibility: openbaar\n" in preview["text"]
    text = " ".join(p["text"] for p in public.json()["passages"]) + public.json()["title"]
    assert "Sara" not in text and "bijzondere bijstand" in text
    file = km.settings.store.data_dir / "files" / f"{finding_id}.md"
    assert file.read_text("utf-8") == preview["text"]  # word for word what was shown

    # the asker asks to be forgotten: the request goes, and with it the finding made from it
    gone = c.delete(f"/api/contact-requests/{rid}", headers=COORD, params={"withdraw_finding": "true"})
    assert gone.status_code == 200 and gone.json()["details"] == {"findings": 1}, gone.text
    assert c.get(f"/api/documents/{finding_id}").status_code == 404
    assert km.catalog().tombstoned(finding_id) is not None and not file.exists()  # its file will not bring it back
    actions = [(e.action, e.target) for e in km.audit().entries()]
    assert ("document-verwijderd", finding_id) in actions and ("contactverzoek-verwijderd", rid) in actions


def test_with_the_askers_agreement_their_words_are_published_but_never_their_name(km, client):
    """On the form the box is unticked; ticked, the asker's question may be the public one — without their
    one-word name. The coordinator closes in the inbox through the preview, and deletes with the finding."""
    c = client
    form = c.get(f"/contact?expert={PERSON}").text
    box = re.search(r'<input type="checkbox" id="publish_consent"[^>]*>', form, re.S)
    assert box and "checked" not in box.group() and "openbaar" in form
    csrf = c.cookies.get("km_csrf")
    sent = c.post("/contact", data={"name": "Priya", "email": "priya@student.nl", "message": "Graag contact.",
                                    "question": PRIYA, "expert_id": PERSON, "publish_consent": "ja",
                                    "_csrf_token": csrf})
    assert sent.status_code == 200, sent.text
    (request,) = contacts.listing(km)
    assert request.publish_consent
    contacts.move(km, request.id, "doorgestuurd", forwarded_to=PERSON, actor=COMMAND_LINE)
    contacts.move(km, request.id, "verbonden", actor=COMMAND_LINE)
    csrf = log_in(c)
    page = c.get(f"/coordinatie/verzoeken/{request.id}")
    assert page.status_code == 200 and "vindt het goed" in page.text
    rev = re.search(r'name="rev" value="(\d+)"', page.text).group(1)
    close = {"answered": "ja", "question": "", "outcome": "Priya vond hulp bij de schuldhulp van de gemeente.",
             "rev": rev, "_csrf_token": csrf}
    shown = c.post(f"/coordinatie/verzoeken/{request.id}/afronden", data=close)
    assert shown.status_code == 200 and "Zo wordt de kennisvraag openbaar" in shown.text
    assert "Priya" not in shown.text.split("<h1>", 1)[1].split("<form", 1)[0] and "caravan in Brunssum" in shown.text
    assert km.catalog().document(f"kennisvraag-{request.id[:12]}") is None  # shown, not published
    assert f'action="/coordinatie/verzoeken/{request.id}/afronden"' in shown.text  # publishing posts back here
    digest = re.search(r'name="gezien" value="([0-9a-f]+)"', shown.text).group(1)
    question = re.search(r'id="question" name="question"[^>]* value="([^"]*)"', shown.text).group(1)
    outcome = re.search(r'id="outcome"[^>]*>([^<]*)</textarea>', shown.text).group(1)
    done = c.post(f"/coordinatie/verzoeken/{request.id}/afronden",
                  data={**close, "question": _unescape(question), "outcome": _unescape(outcome), "gezien": digest,
                        "stap": "publiceer"})
    assert done.status_code == 200 and "als kennisvraag vindbaar" in done.text, done.text
    finding_id = contacts.get(km, request.id).finding_id
    doc = c.get(f"/api/documents/{finding_id}").text
    assert "caravan in Brunssum" in doc and "Priya" not in doc  # their words, not their name
    deleted = c.post(f"/coordinatie/verzoeken/{request.id}/verwijderen",
                     data={"withdraw_finding": "ja", "_csrf_token": csrf})
    assert deleted.status_code == 200 and contacts.listing(km) == []
    assert c.get(f"/api/documents/{finding_id}").status_code == 404


def _unescape(text: str) -> str:
    import html

    return html.unescape(text)


# --- finding 8 (repro_09 b): the inbox costs no search per request --------------------------------------------


def test_the_inbox_does_not_search_for_every_open_request_and_pages(km, client, monkeypatch):
    searches = {"n": 0}
    original = Broker.experts

    def counted(self, *args, **kwargs):
        searches["n"] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Broker, "experts", counted)
    topics = ["schulden", "eenzaamheid", "jongerenwerk", "wijkteam", "armoede", "mantelzorg", "schooluitval"]
    made = [_ask(km, name=f"Spam {n}", email=f"s{n}@example.nl",
                 message=(f"{topics[n % 7]} en {topics[(n * 3) % 7]} {n} " * 300)[:3900]) for n in range(30)]
    log_in(client)

    def load(path: str) -> tuple[str, int]:
        searches["n"] = 0
        page = client.get(path)
        assert page.status_code == 200
        return page.text, searches["n"]

    listed, n = load("/coordinatie/verzoeken")
    assert n == 0  # was: one expert search per open request, on every load after any change
    assert listed.count('<article class="card"') == 25 and "pagina 1 van 2" in listed
    second, n = load("/coordinatie/verzoeken?pagina=2")
    assert n == 0 and second.count('<article class="card"') == 5
    _ask(km, name="Nog een", email="n@example.nl", message="hulp " * 500)  # a new request changes the store
    assert load("/coordinatie/verzoeken")[1] == 0
    opened, n = load(f"/coordinatie/verzoeken/{made[0].id}")
    assert n == 1 and "Doorsturen naar" in opened  # looked up for the request opened, only
    assert load(f"/coordinatie/verzoeken/{made[0].id}")[1] == 0  # and remembered while nothing changes


# --- finding 14 (repro_09 a): the same limits on the web form as on the API --------------------------------------


@pytest.mark.parametrize("name", ["name", "organization", "role", "message", "question"])
def test_the_web_form_and_the_api_refuse_the_same_lengths(km, client, name):
    c = client
    c.get("/contact")
    base = {"name": "Sara Bakker", "email": "sara@wijkteam.nl", "message": "Graag contact.", "question": ""}
    long = {**base, name: "x" * (contacts.LIMITS[name] + 1)}
    web = c.post("/contact", data={**long, "_csrf_token": c.cookies.get("km_csrf")})
    assert web.status_code == 400 and "te lang" in web.text
    assert re.search(rf'id="{name}"[^>]*aria-invalid="true"', web.text)
    api = c.post("/api/contact-requests", json=long)
    assert api.status_code == 400 and api.json()["error"]["field"] == name
    just = c.post("/contact", data={**base, name: "x" * contacts.LIMITS[name],
                                    "_csrf_token": c.cookies.get("km_csrf")})
    assert just.status_code == 200, just.text
    assert [len(getattr(r, name)) for r in contacts.listing(km)] == [contacts.LIMITS[name]]


# --- finding 16 (a) (repro_13 a): one of two transitions at once wins -------------------------------------------


def test_a_request_is_never_both_rejected_and_forwarded(km, monkeypatch):
    """Both coordinators read the request before either writes (forced): exactly one move wins; the other is told,
    in Dutch, and changes nothing."""
    anne, _ = coordinator_admin.add(km, "Anne Coord", COMMAND_LINE)
    bert, _ = coordinator_admin.add(km, "Bert Coord", COMMAND_LINE)
    request = _ask(km, expert_id=PERSON)
    barrier = threading.Barrier(2, timeout=30)
    passed = threading.local()
    original = Catalog.contact_request

    def read_then_wait(self, request_id):
        found = original(self, request_id)
        if not getattr(passed, "done", False):  # each thread's first read: the check before its write
            passed.done = True
            barrier.wait()
        return found

    monkeypatch.setattr(Catalog, "contact_request", read_then_wait)
    results: list[object] = [None, None]

    def run(i: int, call) -> None:
        try:
            results[i] = call()
        except Exception as exc:  # the loser's error is the result
            results[i] = exc

    calls = (lambda: contacts.move(km, request.id, "afgewezen", actor=anne),
             lambda: contacts.move(km, request.id, "doorgestuurd", forwarded_to=PERSON, actor=bert))
    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    monkeypatch.undo()
    lost = [r for r in results if isinstance(r, Exception)]
    assert len(lost) == 1 and isinstance(lost[0], ConflictError), results
    assert "intussen gewijzigd" in lost[0].message
    record = km.catalog().contact_request(request.id)
    if record["status"] == "afgewezen":
        assert "doorgestuurd_at" not in record and record.get("forwarded_to") is None
    else:
        assert record["status"] == "doorgestuurd" and "afgewezen_at" not in record
    assert len(km.audit().entries(target=request.id)) == 1


def test_every_edit_carries_a_version(km, client):
    """ETag on reading, If-Match on changing (412 when stale), and the inbox's hidden field (409 when stale)."""
    c = client
    request = _ask(km, expert_id=PERSON)
    one = c.get(f"/api/contact-requests/{request.id}", headers=COORD)
    assert one.status_code == 200 and one.headers["etag"] == '"1"'
    moved = c.patch(f"/api/contact-requests/{request.id}", headers={**COORD, "If-Match": '"1"'},
                    json={"note": "Eerst bellen."})
    assert moved.status_code == 200 and moved.headers["etag"] == '"2"', moved.text
    stale = c.patch(f"/api/contact-requests/{request.id}", headers={**COORD, "If-Match": '"1"'},
                    json={"status": "afgewezen"})
    assert stale.status_code == 412 and "intussen gewijzigd" in stale.text
    assert contacts.get(km, request.id).status == "nieuw"
    assert c.patch(f"/api/contact-requests/{request.id}", headers={**COORD, "If-Match": "twee"},
                   json={"note": "x"}).status_code == 400
    csrf = log_in(c)
    page = c.get(f"/coordinatie/verzoeken/{request.id}").text
    assert 'name="rev" value="2"' in page
    contacts.move(km, request.id, note="Een andere coördinator schreef dit.", actor=COMMAND_LINE)  # meanwhile
    refused = c.post(f"/coordinatie/verzoeken/{request.id}", data={"status": "afgewezen", "note": "Eerst bellen.",
                                                                    "rev": "2", "_csrf_token": csrf})
    assert refused.status_code == 409 and "intussen gewijzigd" in refused.text
    assert contacts.get(km, request.id).note == "Een andere coördinator schreef dit."


def test_a_forward_from_a_stale_view_sends_no_mail(km_factory, tmp_path):
    """The request is claimed (a conditional write) before the mail goes: from a version that is no longer there,
    nothing is sent."""
    with smtp_server() as (box, port):
        km = km_factory(tmp_path / "mail", KM_SMTP_HOST="127.0.0.1", KM_SMTP_PORT=str(port), KM_SMTP_STARTTLS="nee",
                        KM_CONTACT_EMAIL="werkplaats@example.org")
        save_profile(km, PERSON, name="Anna de Vries", email="anna@example.org", consent=True, actor=COMMAND_LINE)
        request = _ask(km, expert_id=PERSON)
        contacts.move(km, request.id, note="Eerst bellen.", actor=COMMAND_LINE)  # version 2 now
        with pytest.raises(ConflictError, match="intussen gewijzigd"):
            contacts.forward(km, request.id, expert_id=PERSON, actor=COMMAND_LINE, rev=1)
        assert box.messages == [] and contacts.get(km, request.id).status == "nieuw"
        done = contacts.forward(km, request.id, expert_id=PERSON, actor=COMMAND_LINE, rev=2)
        assert done.sent and done.request.status == "doorgestuurd" and len(box.messages) == 1


# --- finding 17 (repro_16, the request part): a removal during the write still reaches the request ---------------


def test_a_request_stored_while_a_removal_runs_loses_the_name(km, monkeypatch):
    original = Catalog.add_contact_request

    def removed_meanwhile(self, *args, **kwargs):
        remove_person(km, PERSON, COMMAND_LINE)  # another coordinator's removal finishes now
        monkeypatch.setattr(Catalog, "add_contact_request", original)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Catalog, "add_contact_request", removed_meanwhile)
    made = contacts.submit(km, name="Sara Bakker", email="sara@wijkteam.nl", expert_id=PERSON,
                           message="Ik sprak Anna de Vries op de Werkplaatsdag, graag contact.")
    assert km.catalog().expert(PERSON) is None
    stored = km.catalog().contact_request(made.id)
    assert "Anna de Vries" not in stored["message"] and "[naam verwijderd]" in stored["message"]
    assert stored.get("expert_id") is None


# --- finding 22: forget an asker by address; suggest only who is still public -----------------------------------


def test_an_asker_is_forgotten_by_address_through_the_api(km, client):
    c = client
    mine = [_ask(km, email="sara@wijkteam.nl"), _ask(km, email="Sara@Wijkteam.nl", message="Nog een vraag.")]
    other = _ask(km, name="Ahmed Yilmaz", email="ahmed@school.nl")
    assert c.delete("/api/contact-requests", params={"email": "sara@wijkteam.nl"}).status_code == 401
    r = c.delete("/api/contact-requests", headers=COORD, params={"email": "sara@wijkteam.nl"})
    assert r.status_code == 200 and r.json()["details"] == {"requests": 2, "findings": 0, "follows": 0}, r.text
    assert [x.id for x in contacts.listing(km)] == [other.id]
    logged = km.audit().entries(action="contactverzoek-verwijderd")
    assert {e.target for e in logged} == {m.id for m in mine} and "sara" not in str(logged)
    assert km.catalog().deleted_ids("contact") >= {m.id for m in mine}  # tombstones: an export will not revive them


def test_an_asker_is_forgotten_by_address_from_the_command_line(km, monkeypatch, e5):
    from service.cli import main

    _ask(km)
    kept = _ask(km, email="ahmed@school.nl")
    settings = km.settings
    km.close()  # the embedded store has one owner: the command
    give_the_cli(monkeypatch, e5)
    out = io.StringIO()
    assert main(["forget-asker", "sara@wijkteam.nl"], settings=settings, out=out, err=io.StringIO()) == 0
    assert "1 contactverzoek van dit adres verwijderd" in out.getvalue()
    again = Kennismakelaar(settings, embedder=e5)
    try:
        assert [r.id for r in contacts.listing(again)] == [kept.id]
        assert [e.coordinator for e in again.audit().entries(action="contactverzoek-verwijderd")] == ["opdrachtregel"]
    finally:
        again.close()


def test_someone_who_withdrew_consent_is_not_suggested_first(km):
    request = _ask(km, expert_id=PERSON, message="Wie weet iets over bijzondere bijstand?")
    save_profile(km, PERSON, name="Anna de Vries", role="onderzoeker", ateliers=["tweedeling-en-armoede"],
                 expertise="Schulden, bijzondere bijstand en schaamte bij gezinnen.", email="anna@example.org",
                 consent=False, actor=COMMAND_LINE)
    assert PERSON not in [p["id"] for p in contacts.suggestions(km, contacts.get(km, request.id))["people"]]


def test_the_limits_are_the_services_own(km):
    with pytest.raises(ValidationError) as err:
        _ask(km, organization="O" * 20000)
    assert err.value.field == "organization" and contacts.listing(km) == []
