"""Members (issue 24, outcome 2), as a member and as an attacker: a sign-in link by mail (single use, short-lived)
or from a coordinator, a domain rule, sessions in the store, and a member moved or removed losing access at once
— removed, out of the store's files too. And the leakage matrix for members: of the right atelier, of another."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient

from service.container import Kennismakelaar
from tests.bytescan import files_holding
from tests.conftest import MailBox, make_settings, smtp_server
from tests.test_visibility import CANARIES, COORD, TOKEN, _ingest, _seen, _surfaces
from web.app import create_app

pytestmark = pytest.mark.slow
JEUGD = "kansrijk-met-jeugd"


@pytest.fixture
def mailbox() -> Iterator[tuple[MailBox, int]]:
    with smtp_server() as box:
        yield box


@pytest.fixture
def km(tmp_path: Path, e5, mailbox) -> Kennismakelaar:
    settings = make_settings(tmp_path / "data", KM_COORDINATOR_TOKENS=TOKEN, KM_ASK_PER_MINUTE="1000",
                             KM_REQUESTS_PER_MINUTE="10000", KM_SMTP_HOST="127.0.0.1",
                             KM_SMTP_PORT=str(mailbox[1]), KM_SMTP_STARTTLS="nee",
                             KM_SMTP_FROM="werkplaats@example.org", KM_PUBLIC_URL="https://kennis.werkplaats.example",
                             KM_MEMBER_DOMAINS=f"hogeschool.example:{JEUGD}, partner.example")
    made = Kennismakelaar(settings, embedder=e5)
    _ingest(made, tmp_path)
    return made


@pytest.fixture
def app(km) -> Iterator[TestClient]:
    with TestClient(create_app(km=km)) as client:
        yield client


def _link_from(box: MailBox, to: str) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for recipients, message in box.messages:
            if to in recipients:
                body = message.get_payload(decode=True).decode()
                found = re.search(r"https?://\S+/inloggen/\S+", body)
                assert found, body
                return found.group(0)
        time.sleep(0.05)
    raise AssertionError(f"no mail to {to}")


def _sign_in(client: TestClient, link: str) -> int:
    path = link[link.index("/inloggen/"):]
    shown = client.get(path)  # a mail scanner opening the link signs nobody in
    assert shown.status_code == 200 and "km_lid" not in client.cookies
    return client.post(path, data={"_csrf_token": client.cookies.get("km_csrf", "")},
                       follow_redirects=False).status_code


def _ask_link(client: TestClient, email: str) -> str:
    client.get("/inloggen")
    return client.post("/inloggen", data={"email": email, "_csrf_token": client.cookies.get("km_csrf", "")}).text


def test_a_member_signs_in_by_mail_and_sees_the_werkplaats_and_their_atelier(app, km, mailbox):
    box, _ = mailbox
    added = app.post("/api/members", json={"email": "Lotte@Wijkteam.example", "ateliers": [JEUGD]}, headers=COORD)
    assert added.status_code == 201 and added.json()["email"] == "lotte@wijkteam.example"
    said = _ask_link(app, "lotte@wijkteam.example")
    stranger = _ask_link(app, "niemand@elders.example")
    # the same answer for a member and a stranger: the form tells nobody who is a member
    assert _notice(said) == _notice(stranger) and "link in je mailbox" in _notice(said)
    link = _link_from(box, "lotte@wijkteam.example")
    assert not [m for rcpt, m in box.messages if "niemand@elders.example" in rcpt]
    assert _sign_in(app, link) == 303 and app.cookies.get("km_lid")
    for level, (word, doc_id, _, _, _) in CANARIES.items():
        found = doc_id in app.get("/api/search", params={"q": word}).text
        assert found is (level in ("openbaar", "werkplaats", f"atelier:{JEUGD}")), level
    assert "Uitloggen" in app.get("/").text
    # the link worked once
    app.cookies.clear()
    assert _sign_in(app, link) == 400
    assert {e.action for e in km.audit().entries()} >= {"lid-toegevoegd"}


def test_someone_at_a_listed_domain_becomes_a_member_of_its_ateliers(app, km, mailbox):
    box, _ = mailbox
    _ask_link(app, "sam@hogeschool.example")
    assert _sign_in(app, _link_from(box, "sam@hogeschool.example")) == 303
    (member,) = km.members().all()
    assert (member.email, member.ateliers, member.via) == ("sam@hogeschool.example", (JEUGD,), "domain")
    word, doc_id, *_ = CANARIES[f"atelier:{JEUGD}"]
    assert doc_id in app.get("/api/search", params={"q": word}).text


def test_a_member_moved_or_removed_loses_access_at_once_and_removed_is_gone_from_the_files(app, km):
    member_id = app.post("/api/members", json={"email": "kees@wijk.example", "ateliers": [JEUGD]},
                         headers=COORD).json()["id"]
    link = app.post(f"/api/members/{member_id}/link", headers=COORD).json()["link"]  # no mail needed for this
    assert _sign_in(app, link) == 303
    word, doc_id, *_ = CANARIES[f"atelier:{JEUGD}"]
    assert doc_id in app.get("/api/search", params={"q": word}).text
    assert app.patch(f"/api/members/{member_id}", json={"ateliers": []}, headers=COORD).status_code == 200
    assert doc_id not in app.get("/api/search", params={"q": word}).text  # moved: at once
    werk_word, werk_doc, *_ = CANARIES["werkplaats"]
    assert werk_doc in app.get("/api/search", params={"q": werk_word}).text  # still a member of the Werkplaats
    assert app.delete(f"/api/members/{member_id}", headers=COORD).status_code == 200
    assert werk_doc not in app.get("/api/search", params={"q": werk_word}).text  # removed: at once
    assert "Inloggen" in app.get("/").text
    km.catalog().flush()
    assert files_holding(km.settings.store.data_dir, "kees@wijk.example") == []
    assert [e.action for e in km.audit().entries() if e.target == member_id] == \
        ["lid-verwijderd", "lid-verplaatst", "lid-inloglink", "lid-toegevoegd"]


def test_a_link_past_its_time_or_made_up_opens_nothing(app, km):
    member_id = app.post("/api/members", json={"email": "ria@wijk.example"}, headers=COORD).json()["id"]
    link = app.post(f"/api/members/{member_id}/link", headers=COORD).json()["link"]
    token = link.rsplit("/", 1)[1]
    key = km.members()._hash(token)
    record = km.catalog().ledger.get("member-link", key)
    km.catalog().ledger.put("member-link", key, {**record, "expires": time.time() - 1})
    assert _sign_in(app, link) == 400
    assert _sign_in(app, link.rsplit("/", 1)[0] + "/verzonnen-token") == 400
    assert "km_lid" not in app.cookies
    assert app.get("/api/members", headers={"Cookie": "km_lid=verzonnen"}).status_code == 401


@pytest.mark.parametrize(("atelier", "allowed"), [
    (JEUGD, {"openbaar", "werkplaats", f"atelier:{JEUGD}"}),
    ("tweedeling-en-armoede", {"openbaar", "werkplaats"}),
])
def test_the_leakage_matrix_for_members(app, atelier, allowed):
    """A member of the right atelier sees its canary on every surface; of another, on none — like the public."""
    member_id = app.post("/api/members", json={"email": f"lid@{atelier}.example", "ateliers": [atelier]},
                         headers=COORD).json()["id"]
    assert _sign_in(app, app.post(f"/api/members/{member_id}/link", headers=COORD).json()["link"]) == 303
    for level, (word, doc_id, person, _, kind) in CANARIES.items():
        surfaces = _surfaces(app, word, doc_id, person, {})
        if level in allowed:  # seen on every surface that shows it (a profile lists its author's documents)
            shown = [where for where in ("api search", "api ask", "page search", "page answer", "api profile",
                                         "page profile") if doc_id in surfaces[where]]
            assert len(shown) == 6, (level, shown)
            assert app.get(f"/documenten/{doc_id}").status_code == 200, level
        else:
            leaks = {where: seen for where, text in surfaces.items()
                     if (seen := _seen(where, text, word, doc_id, kind))}
            assert leaks == {}, level
            assert app.get(f"/api/documents/{doc_id}").status_code == 404, level


def _notice(page: str) -> str:
    found = re.search(r'<p class="notice" role="status" id="link-gevraagd">(.*?)</p>', page, re.S)
    return " ".join(found.group(1).split()) if found else ""


def test_members_are_in_the_backup_and_a_removed_one_does_not_come_back_with_an_older_export(app, km, tmp_path):
    from service.backup import export_store, import_store

    kept = app.post("/api/members", json={"email": "blijft@wijk.example", "ateliers": [JEUGD]},
                    headers=COORD).json()["id"]
    gone = app.post("/api/members", json={"email": "gaat@wijk.example"}, headers=COORD).json()["id"]
    assert _sign_in(app, app.post(f"/api/members/{kept}/link", headers=COORD).json()["link"]) == 303
    export_store(km, tmp_path / "export")
    written = " ".join(p.read_text("utf-8", "replace") for p in (tmp_path / "export").iterdir() if p.is_file())
    assert "blijft@wijk.example" in written and "member-session" not in written and "member-link" not in written
    assert app.delete(f"/api/members/{gone}", headers=COORD).status_code == 200
    import_store(km, tmp_path / "export")
    assert [m.email for m in km.members().all()] == ["blijft@wijk.example"]


# --- in a real browser ----------------------------------------------------------------------------------------


@pytest.mark.browser
def test_a_coordinator_hands_out_a_link_and_restricts_a_document_and_a_member_signs_in_in_a_browser(
        browser, tmp_path, e5):
    """The README's configuration (no mail server): the coordinator adds a member and hands out the link; the
    member signs in and finds what is for the Werkplaats and for their atelier; what the coordinator restricts
    on a document's page is gone for the public at once."""
    from tests.conftest import live_server
    from tests.test_web_browser import shoot
    from tests.test_web_inbox_journeys import check_axe

    settings = make_settings(tmp_path / "data", KM_COORDINATOR_TOKENS=TOKEN, KM_ASK_PER_MINUTE="1000",
                             KM_REQUESTS_PER_MINUTE="10000")

    def prepare(s):
        made = Kennismakelaar(s, embedder=e5)
        _ingest(made, tmp_path)
        made.close()

    def opened(site):
        context = browser.new_context(base_url=site, viewport={"width": 1280, "height": 900}, locale="nl-NL")
        return context, context.new_page()

    with live_server(settings, prepare=prepare) as site:
        coordinator_context, coordinator = opened(site)
        coordinator.goto("/coordinatie/inloggen")
        coordinator.fill("#token", TOKEN)
        coordinator.click("button[type=submit]")
        coordinator.wait_for_url(re.compile(r".*/coordinatie$"))
        coordinator.goto("/coordinatie/leden")
        coordinator.fill("#email", "lotte@wijkteam.example")
        coordinator.check(f"#nieuw-{JEUGD}")
        coordinator.get_by_role("button", name="Toevoegen en inloglink maken").click()
        link = coordinator.locator("#link").input_value()
        assert "/inloggen/" in link
        check_axe(coordinator)
        shoot(coordinator, "26-leden")
        open_word, open_doc, *_ = CANARIES["openbaar"]
        coordinator.goto(f"/documenten/{open_doc}")
        coordinator.select_option("#visibility", "werkplaats")
        coordinator.get_by_role("button", name="Opslaan").click()
        coordinator.get_by_text("Opgeslagen: zichtbaar voor leden van de werkplaats").wait_for()
        check_axe(coordinator)
        coordinator_context.close()

        member_context, member = opened(site)
        member.goto(link[link.index("/inloggen/"):])
        member.get_by_role("button", name="Inloggen").click()
        member.wait_for_url(re.compile(r".*/\?ingelogd=ja$"))
        assert member.get_by_role("button", name="Uitloggen").is_visible()
        for level, (word, doc_id, _, _, _) in CANARIES.items():
            member.goto(f"/zoeken?q={word}")
            shown = doc_id in member.content()
            assert shown is (level in ("openbaar", "werkplaats", f"atelier:{JEUGD}")), level
        member.goto(f"/zoeken?q={CANARIES[f'atelier:{JEUGD}'][0]}")
        assert member.locator(".badge.restricted").count() >= 1  # marked: not to be passed on outside
        check_axe(member)
        shoot(member, "27-lid-zoekt")
        member.get_by_role("button", name="Uitloggen").click()
        member.goto(f"/zoeken?q={open_word}")
        assert open_doc not in member.content()  # signed out: the public, for whom it is no longer open
        member_context.close()


@pytest.mark.parametrize("hostile", ["<evil@attacker.example>x@hogeschool.example",
                                     "evil@attacker.example;x@hogeschool.example",
                                     "evil@attacker.example,x@hogeschool.example",
                                     '"evil@attacker.example" x@hogeschool.example',
                                     "x@hogeschool.example\nBcc: evil@attacker.example"])
def test_an_address_that_hides_another_gets_no_link(app, mailbox, hostile):
    """It ends in a listed domain, but the mail would go to someone else."""
    box, _ = mailbox
    page = _ask_link(app, hostile)
    assert "Geef een geldig e-mailadres" in page
    time.sleep(0.3)  # a mail would be sent in the background
    assert box.messages == [] and list(app.app.state.km.catalog().ledger.all("member-link")) == []


def test_a_forged_host_does_not_make_the_link(app, mailbox):
    box, _ = mailbox
    app.get("/inloggen")
    app.post("/inloggen", data={"email": "sam@hogeschool.example", "_csrf_token": app.cookies.get("km_csrf", "")},
             headers={"Host": "attacker.example"})
    assert _link_from(box, "sam@hogeschool.example").startswith("https://kennis.werkplaats.example/inloggen/")


def test_a_removed_domain_member_stays_out_and_a_domain_off_the_list_ends_its_sessions(app, km, mailbox):
    box, _ = mailbox
    _ask_link(app, "sam@hogeschool.example")
    assert _sign_in(app, _link_from(box, "sam@hogeschool.example")) == 303
    (sam,) = km.members().all()
    # the domain taken off the list: a member by its rule only is signed out at once
    narrower = Kennismakelaar(make_settings(km.settings.store.data_dir, KM_MEMBER_DOMAINS="partner.example"),
                              store=km.store, embedder=km.embedder)
    assert narrower.members().session(app.cookies.get("km_lid")) is None
    assert km.members().session(app.cookies.get("km_lid")) == sam
    # removed: the domain does not let them back in; added again by a coordinator, it does
    assert app.delete(f"/api/members/{sam.id}", headers=COORD).status_code == 200
    box.messages.clear()
    _ask_link(app, "sam@hogeschool.example")
    time.sleep(0.3)
    assert box.messages == [] and not km.members().may_sign_in("sam@hogeschool.example")
    assert app.post("/api/members", json={"email": "sam@hogeschool.example"}, headers=COORD).status_code == 201
    assert km.members().may_sign_in("sam@hogeschool.example")
