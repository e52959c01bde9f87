"""Safe destructive actions and the coordinator's start page (issue 23, outcomes 4 and 5), on the real app, the
real store and the real model: every removal on the coordinators' pages goes through a confirmation that names
its consequences from the store, a post without the confirmation changes nothing, every save and removal says
so after its redirect, and the start page shows what waits (new requests, the agenda, upcoming meetings)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient

from service.container import Kennismakelaar
from service.settings import Settings
from tests.conftest import live_server, log_in, make_settings
from web.app import create_app

TOKEN = "bevestigen-token"
ANNA = "anna-de-vries"
DOCS = {  # two documents name Anna as an author; a third does not
    "schulden.md": "---\ntitle: Schulden bij jonge gezinnen\nauthors: [Anna de Vries]\nkind: rapport\n---\n\n"
                   "# Schulden bij jonge gezinnen\n\nJonge gezinnen met schulden vragen vroeg hulp als de "
                   "schuldhulp dichtbij is.\n\n## Aanpak\n\nEen vaste contactpersoon in de wijk helpt.\n",
    "armoede.md": "---\ntitle: Armoede in de wijk\nauthors: [Anna de Vries]\nkind: verslag\n---\n\n"
                  "# Armoede in de wijk\n\nBuurtteams zien armoede eerder dan instanties.\n",
    "moestuin.md": "---\ntitle: Moestuin Bekkerveld\nkind: verslag\n---\n\n# Moestuin\n\nDe buurt tuiniert samen.\n",
}
EXPERTS = (f"experts:\n  - id: {ANNA}\n    name: Anna de Vries\n    role: onderzoeker\n    consent: true\n"
           "    expertise: Schulden en armoede bij jonge gezinnen.\n"
           "  - id: bram-houben\n    name: Bram Houben\n    role: professional\n    consent: true\n"
           "    expertise: Moestuinen en buurtwerk.\n")


def _settings(root: Path) -> Settings:
    """A small store of its own (three documents, two people): seconds to build, unlike the demo corpus."""
    docs, people = root / "docs", root / "experts"
    docs.mkdir(parents=True)
    people.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text, "utf-8")
    (people / "mensen.yaml").write_text(EXPERTS, "utf-8")
    return make_settings(root / "data", KM_COORDINATOR_TOKENS=TOKEN)


def _ingest(settings: Settings, e5: object = None) -> None:
    km = Kennismakelaar(settings, embedder=e5) if e5 is not None else Kennismakelaar(settings)
    root = settings.store.data_dir.parent
    try:
        assert km.ingestor().run([root / "docs", root / "experts"]).ok
    finally:
        km.close()


@pytest.fixture
def client(tmp_path: Path, e5) -> Iterator[TestClient]:
    settings = _settings(tmp_path)
    _ingest(settings, e5)
    with TestClient(create_app(settings, km=Kennismakelaar(settings, embedder=e5))) as c:
        log_in(c, TOKEN)
        yield c


def _csrf(c: TestClient) -> str:
    return str(c.cookies.get("km_csrf"))


def _request_for(c: TestClient, expert_id: str) -> str:
    made = c.post("/api/contact-requests", json={"name": "Vera Vrager", "email": "vera@example.org",
                                                 "message": "Graag contact.", "expert_id": expert_id})
    assert made.status_code in (200, 201), made.text
    return str(made.json()["id"])


def _meeting(c: TestClient, title: str, days: int = 30) -> str:
    date = (dt.date.today() + dt.timedelta(days=days)).isoformat()
    made = c.post("/api/meetings", json={"title": title, "date": date, "step": "expertmeeting", "k": 1},
                  headers={"Authorization": f"Bearer {TOKEN}"})
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def _effects(page: str) -> list[str]:
    listed = re.search(r'<ul id="gevolgen-lijst">(.*?)</ul>', page, re.S)
    assert listed, page
    return [re.sub(r"\s+", " ", li).strip() for li in re.findall(r"<li>(.*?)</li>", listed.group(1), re.S)]


def test_removing_a_person_names_the_consequences_first_and_says_it_was_done(client):
    km = client.app.state.km
    _request_for(client, ANNA)
    _meeting(client, "Expertmeeting schulden")  # a panel of one: Anna, the one who knows about debts
    page = client.get(f"/coordinatie/experts/{ANNA}/verwijderen")
    assert page.status_code == 200 and "Anna de Vries verwijderen?" in page.text
    effects = _effects(page.text)
    assert effects[0].startswith("2 documenten worden aangepast")
    assert effects[1].startswith("1 open contactverzoek verliest")
    assert effects[2].startswith("1 bijeenkomst verliest")
    assert "kan even duren" in page.text and 'name="bevestigd" value="ja"' in page.text
    # the one-click post of before (no confirmation field): the confirmation again, nothing removed
    unconfirmed = client.post(f"/coordinatie/experts/{ANNA}/verwijderen", data={"_csrf_token": _csrf(client)})
    assert unconfirmed.status_code == 200 and "Dit gebeurt er" in unconfirmed.text
    assert km.catalog().expert(ANNA) is not None
    done = client.post(f"/coordinatie/experts/{ANNA}/verwijderen", follow_redirects=False,
                       data={"_csrf_token": _csrf(client), "bevestigd": "ja"})
    assert done.status_code == 303 and done.headers["location"] == "/coordinatie/experts"
    assert km.catalog().expert(ANNA) is None
    listing = client.get("/coordinatie/experts")
    assert "Verwijderd, met alle koppelingen (2 documenten bijgewerkt)." in listing.text  # the count held
    assert "Verwijderd, met" not in client.get("/coordinatie/experts").text  # said once


def test_removing_a_document_names_its_passages_and_a_post_without_confirmation_keeps_it(client):
    km = client.app.state.km
    doc = next(d for d in km.catalog().documents() if d["title"] == "Schulden bij jonge gezinnen")
    url = f"/coordinatie/documenten/verwijderen/{doc['document_id']}"
    public = client.get(f"/documenten/{doc['document_id']}")  # where a coordinator sees it should go
    assert f'href="{url}"' in public.text and public.headers["cache-control"] == "no-store"
    kept = list(client.cookies.jar)
    client.cookies.clear()  # anyone else
    seen = client.get(f"/documenten/{doc['document_id']}")
    client.cookies.clear()
    for cookie in kept:
        client.cookies.jar.set_cookie(cookie)
    assert seen.status_code == 200 and "/coordinatie/documenten/verwijderen" not in seen.text
    assert "cache-control" not in seen.headers
    page = client.get(url)
    assert page.status_code == 200 and "Schulden bij jonge gezinnen" in page.text
    passages = len(km.catalog().chunks_of(doc["document_id"]))
    said = f"{passages} passage verdwijnt" if passages == 1 else f"{passages} passages verdwijnen"
    assert passages >= 1 and _effects(page.text)[0].startswith(said)
    assert client.post(url, data={"_csrf_token": _csrf(client)}).status_code == 200
    assert km.catalog().document(doc["document_id"]) is not None
    done = client.post(url, data={"_csrf_token": _csrf(client), "bevestigd": "ja"})
    assert done.status_code == 200 and "Het document is verwijderd." in done.text  # on the start page
    assert km.catalog().document(doc["document_id"]) is None
    assert client.get(url).status_code == 404


def test_removing_a_coordinator_names_their_sessions_and_a_post_without_confirmation_keeps_them(client):
    km = client.app.state.km
    cor, token = km.coordinators().add("Cor Collega")
    with TestClient(client.app) as other:  # Cor, logged in elsewhere
        log_in(other, token)
    page = client.get(f"/coordinatie/coordinatoren/{cor.id}/verwijderen")
    assert page.status_code == 200 and "Cor Collega verwijderen als coördinator?" in page.text
    effects = _effects(page.text)
    assert effects[1].startswith("1 open sessie wordt beëindigd")
    logged = km.audit().count(coordinator=cor.id)
    assert logged >= 1 and effects[2].startswith(f"{logged} regel")  # their login, at least
    assert client.post(f"/coordinatie/coordinatoren/{cor.id}/verwijderen",
                       data={"_csrf_token": _csrf(client)}).status_code == 200
    assert km.coordinators().by_token(token) is not None
    done = client.post(f"/coordinatie/coordinatoren/{cor.id}/verwijderen",
                       data={"_csrf_token": _csrf(client), "bevestigd": "ja"})
    assert done.status_code == 200 and "Cor Collega is verwijderd" in done.text
    assert km.coordinators().by_token(token) is None


def test_removing_a_meeting_names_its_panel_and_questions_and_says_it_was_done(client):
    km = client.app.state.km
    meeting_id = _meeting(client, "Werkplaats armoede")
    url = f"/coordinatie/bijeenkomsten/{meeting_id}/verwijderen"
    page = client.get(url)
    assert page.status_code == 200 and "Werkplaats armoede" in page.text
    effects = _effects(page.text)
    assert effects[0].startswith("Het voorgestelde panel (1 persoon) vervalt")
    assert effects[1].startswith("Geen vragen van de agenda")
    assert client.post(url, data={"_csrf_token": _csrf(client)}).status_code == 200
    assert km.catalog().meeting(meeting_id) is not None
    done = client.post(url, data={"_csrf_token": _csrf(client), "bevestigd": "ja"})
    assert done.status_code == 200 and "De bijeenkomst is verwijderd." in done.text
    assert km.catalog().meeting(meeting_id) is None


def test_removing_a_meetings_verslag_leaves_the_meeting_without_one_as_the_confirmation_says(client):
    """The confirmation said the meeting "houdt geen verslag meer", but it kept pointing at the deleted document
    and its page said "Het verslag wordt verwerkt." for good."""
    km = client.app.state.km
    meeting_id = _meeting(client, "Moestuinavond")
    doc = next(d for d in km.catalog().documents() if d["title"] == "Moestuin Bekkerveld")
    km.catalog().update_meeting(meeting_id, {"report_id": doc["document_id"], "status": "gehouden"})
    url = f"/coordinatie/documenten/verwijderen/{doc['document_id']}"
    assert any("Moestuinavond" in e and "geen verslag meer" in e for e in _effects(client.get(url).text))
    client.post(url, data={"_csrf_token": _csrf(client), "bevestigd": "ja"})
    assert km.catalog().meeting(meeting_id).get("report_id") is None
    assert "Het verslag wordt verwerkt." not in client.get(f"/coordinatie/bijeenkomsten/{meeting_id}").text


def test_with_htmx_the_confirmation_turns_busy_and_the_removal_answers_with_a_redirect(client):
    km = client.app.state.km
    url = "/coordinatie/experts/bram-houben/verwijderen"
    busy = client.get(f"{url}?stap=bezig", headers={"HX-Request": "true"})
    assert busy.status_code == 200 and "Bezig met verwijderen…" in busy.text and "disabled" in busy.text
    assert 'hx-trigger="load"' in busy.text and km.catalog().expert("bram-houben") is not None  # nothing yet
    done = client.post(url, data={"bevestigd": "ja"}, headers={"HX-Request": "true", "X-CSRFToken": _csrf(client)})
    assert done.status_code == 200 and done.headers["hx-redirect"] == "/coordinatie/experts"
    assert km.catalog().expert("bram-houben") is None


def test_saving_a_profile_and_availability_says_it_saved(client):
    form = client.get(f"/coordinatie/experts/{ANNA}").text
    version = re.search(r'name="version" value="(\d+)"', form).group(1)
    saved = client.post(f"/coordinatie/experts/{ANNA}", data={
        "_csrf_token": _csrf(client), "version": version, "name": "Anna de Vries", "role": "onderzoeker",
        "expertise": "Schulden, armoede en jonge gezinnen.", "consent": "1"})
    assert saved.status_code == 200 and "Het profiel is opgeslagen." in saved.text
    form = client.get(f"/coordinatie/experts/{ANNA}").text
    assert "opgeslagen" not in form  # said once
    availability = re.search(r'name="availability_version" value="(\d+)"', form).group(1)
    saved = client.post(f"/coordinatie/experts/{ANNA}/beschikbaarheid", data={
        "_csrf_token": _csrf(client), "availability_version": availability, "max_per_month": "2"})
    assert saved.status_code == 200 and "De beschikbaarheid is opgeslagen." in saved.text


def test_the_upload_form_takes_title_authors_participants_and_themes(client):
    """The upload form had no fields for them: a verslag went in under its file's first words, without people."""
    km = client.app.state.km
    text = b"We spraken over de buurtmoestuin en wie er samen tuiniert.\n"
    r = client.post("/coordinatie/upload", files=[("files", ("notities.txt", text))],
                    data={"_csrf_token": _csrf(client), "title": "Buurtavond over de moestuin",
                          "authors": "Anna de Vries", "participants": "Bram Houben; Noor Jansen",
                          "themes": ["interprofessionaliteit"], "kind": "verslag"})
    assert r.status_code in (200, 303), r.text
    client.app.state.jobs.wait(120)
    doc = km.catalog().document("notities.txt")
    assert doc is not None and doc["title"] == "Buurtavond over de moestuin"
    assert doc["themes"] == ["interprofessionaliteit"] and not doc.get("themes_inferred")
    page = client.get("/documenten/notities.txt").text
    assert "Anna de Vries" in page


def test_the_start_page_lists_new_requests_the_agenda_and_upcoming_meetings(client):
    request_id = _request_for(client, ANNA)
    meeting_id = _meeting(client, "Expertmeeting schulden", days=10)
    past = _meeting(client, "Al geweest", days=-10)
    page = client.get("/coordinatie")
    assert page.status_code == 200
    assert f'href="/coordinatie/verzoeken/{request_id}"' in page.text and "Vera Vrager" in page.text
    assert f'href="/coordinatie/bijeenkomsten/{meeting_id}"' in page.text and past not in page.text
    assert 'href="/coordinatie/agenda"' in page.text and "Alle nieuwe verzoeken" in page.text


# --- in a real browser ----------------------------------------------------------------------------------------



@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = _settings(tmp_path_factory.mktemp("bevestigen"))
    with live_server(settings, prepare=_ingest) as url:
        yield url




@pytest.mark.browser
def test_a_coordinator_removes_a_person_through_the_confirmation_in_a_browser(browser, site):
    context = browser.new_context(base_url=site, viewport={"width": 1280, "height": 900}, locale="nl-NL")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        page.goto("/coordinatie/inloggen")
        page.fill("#token", TOKEN)
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r".*/coordinatie$"))
        page.goto("/coordinatie/experts")
        page.get_by_role("button", name=re.compile("Verwijderen… Anna de Vries")).click()
        page.wait_for_url(re.compile(rf".*/coordinatie/experts/{ANNA}/verwijderen\??$"))  # a GET form: "?"
        assert "2 documenten worden aangepast" in page.locator("#gevolgen-lijst").inner_text()
        page.get_by_role("button", name="Ja, verwijder deze persoon overal").click()
        # htmx: the form becomes the busy state, which posts and follows the answer's HX-Redirect
        page.wait_for_url(re.compile(r".*/coordinatie/experts$"))
        notice = page.locator("p.notice[role=status]").inner_text()
        assert "Verwijderd, met alle koppelingen (2 documenten bijgewerkt)." in notice
        assert "Anna de Vries" not in page.locator("table.people").inner_text()
        assert not errors, errors
    finally:
        context.close()
