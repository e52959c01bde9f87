"""Issue 23, outcome 3: the coordinator's loop in a real headless Chromium, in both configurations the README
ships — with a mail server (a real SMTP server in-process) and without one (the message to copy). From a question
to a finding someone else finds: the question, the contact form (answered with a redirect: a reload sends nothing
twice), the inbox (the request by its number, the person the asker chose pre-selected), the forward, connecting,
closing as answered, and the finding in search.

Debian's ``chromium`` driven by Playwright, as ``tests/test_web_browser.py`` (its fixtures, copied).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from tests.conftest import MailBox, live_server, make_settings, pristine_copy, smtp_server

pytestmark = [pytest.mark.slow, pytest.mark.browser]
TOKEN = "journey-test-token"
QUESTION = "Hoe help je gezinnen die zich schamen om een minimaregeling aan te vragen?"
PUBLIC_QUESTION = "Wat helpt gezinnen die zich schamen om een minimaregeling aan te vragen?"
OUTCOME = ("Ga samen met een ervaringsdeskundige op huisbezoek en vul de aanvraag voor de minimaregeling aan de "
           "keukentafel in; noem het geen hulp maar recht. Zo durven gezinnen die zich schamen de regeling aan te "
           "vragen.")


@pytest.fixture(scope="module")
def mailbox() -> Iterator[tuple[MailBox, int]]:
    with smtp_server() as box:
        yield box


def _settings(data: Path, **env: str):
    return make_settings(data, KM_COORDINATOR_TOKENS=TOKEN, KM_CONTACT_EMAIL="coordinatie@example.org",
                         KM_ASK_PER_MINUTE="1000", **env)


@pytest.fixture(scope="module")
def site_with_mail(samples_dir, tmp_path_factory, mailbox) -> Iterator[str]:
    data = pristine_copy(samples_dir, tmp_path_factory.mktemp("journey-mail") / "data")
    settings = _settings(data, KM_SMTP_HOST="127.0.0.1", KM_SMTP_PORT=str(mailbox[1]), KM_SMTP_STARTTLS="nee")
    with live_server(settings) as url:
        yield url


@pytest.fixture(scope="module")
def site_without_mail(samples_dir, tmp_path_factory) -> Iterator[str]:
    data = pristine_copy(samples_dir, tmp_path_factory.mktemp("journey-plain") / "data")
    with live_server(_settings(data)) as url:  # as the README's demo command: no KM_SMTP_HOST
        yield url




def _page(browser, site: str):
    context = browser.new_context(base_url=site, viewport={"width": 1280, "height": 900}, locale="nl-NL")
    pg = context.new_page()
    errors: list[str] = []
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.on("dialog", lambda d: (errors.append(f"dialog: {d.message}"), d.dismiss()))
    pg.errors = errors
    return context, pg


@pytest.fixture
def page_with_mail(browser, site_with_mail):
    context, pg = _page(browser, site_with_mail)
    yield pg
    context.close()


@pytest.fixture
def page_without_mail(browser, site_without_mail):
    context, pg = _page(browser, site_without_mail)
    yield pg
    context.close()


def check_axe(page) -> None:
    """No serious or critical axe-core violation on the page."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    bad = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    assert not bad, [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in bad]


def login(page) -> None:
    page.goto("/coordinatie/inloggen")
    page.fill("#token", TOKEN)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/coordinatie$"))


# --- the steps both journeys share -------------------------------------------------------------------------------


def ask_and_request_contact(page, asker: str, email: str) -> tuple[str, str]:
    """A question, then contact with the second person suggested (a person the asker chose, not simply the best
    match); returns that person's id and the request number shown on the confirmation."""
    page.goto("/")
    page.fill("#question", QUESTION)
    page.click("button.primary")
    page.wait_for_url(re.compile(r".*/antwoord/.+"))
    people = page.locator("article.person a.button[href^='/contact?expert=']")
    assert people.count() >= 2
    chosen = people.nth(1)
    expert_id = parse_qs(urlparse(chosen.get_attribute("href") or "").query)["expert"][0]
    chosen.click()
    page.wait_for_url(re.compile(r".*/contact\?expert=.+"))
    page.fill("#name", asker)
    page.fill("#email", email)
    page.fill("#message", "Wie kan ons team helpen om deze gezinnen beter te bereiken?")
    page.get_by_role("button", name="Verstuur je verzoek").click()
    page.wait_for_url(re.compile(r".*/contact/ontvangen/[0-9a-f]{32}$"))  # redirected after the post
    assert asker.split()[0].lower() not in page.url.lower() and "@" not in page.url
    number = page.locator("#verzoeknummer").inner_text()
    assert re.fullmatch(r"[0-9a-f]{8}", number)
    check_axe(page)
    page.reload()  # reads the confirmation again: sends nothing
    page.get_by_role("heading", name=re.compile("je verzoek is ontvangen")).wait_for()
    assert page.locator("#verzoeknummer").inner_text() == number
    return expert_id, number


def open_by_number(page, asker: str, number: str, expert_id: str) -> str:
    """The coordinator finds the request by the number the asker quotes: one request, despite the reload; the
    person the asker chose is pre-selected. Returns the request's page address."""
    login(page)
    page.goto("/coordinatie/verzoeken")
    assert page.locator("article.card", has_text=asker).count() == 1  # the reload made no second request
    page.fill("#nummer", number)
    page.get_by_role("button", name="Tonen").click()
    page.wait_for_url(re.compile(rf".*nummer={number}.*"))
    cards = page.locator("article.card")
    assert cards.count() == 1 and number in cards.inner_text()
    check_axe(page)
    cards.get_by_role("link").click()
    page.wait_for_url(re.compile(r".*/coordinatie/verzoeken/[0-9a-f]{32}$"))
    assert page.locator("#verzoeknummer").inner_text() == number
    assert page.locator("input[name=expert_id]:checked").get_attribute("value") == expert_id
    check_axe(page)
    return page.url


def connect_close_and_find(page, request_url: str) -> None:
    """Connected, closed as answered (seen before it is published), and found by someone searching later."""
    page.locator("select[name=status]").select_option("verbonden")
    page.get_by_role("button", name=re.compile("^Opslaan")).click()
    page.wait_for_url(request_url)
    page.fill("#question", PUBLIC_QUESTION)
    page.fill("#outcome", OUTCOME)
    page.get_by_role("button", name="Bekijk en rond af").click()
    page.get_by_role("heading", name="Zo wordt de kennisvraag openbaar").wait_for()
    page.get_by_role("button", name="Publiceer als kennisvraag en rond af").click()
    page.get_by_role("link", name="als kennisvraag vindbaar").wait_for()
    page.get_by_role("link", name="als kennisvraag vindbaar").click()
    # the question and what was learnt, each a paragraph with its label (they ran together in one)
    paragraphs = page.locator("section.passage p").all_inner_texts()
    assert paragraphs[:2] == [f"De vraag: {PUBLIC_QUESTION}", f"Wat we leerden: {OUTCOME}"], paragraphs
    page.goto("/zoeken?q=" + "gezinnen schamen minimaregeling aanvragen")
    titles = page.locator("article.finding h3").all_inner_texts()
    assert any("schamen om een minimaregeling" in t for t in titles[:3]), titles


# --- the two configurations ---------------------------------------------------------------------------------------


def test_the_loop_with_a_mail_server(page_with_mail, mailbox):
    page, (box, _) = page_with_mail, mailbox
    expert_id, number = ask_and_request_contact(page, "Lotte Janssen", "lotte@buurtteam.nl")
    url = open_by_number(page, "Lotte Janssen", number, expert_id)
    before = len(box.messages)
    page.locator("input[name=cc_asker]").check()
    page.get_by_role("button", name=re.compile("^Stuur door per e-mail")).click()
    page.wait_for_url(url)
    deadline = time.monotonic() + 10
    while len(box.messages) < before + 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    to_expert = [m for rcpt, m in box.messages[before:] if "lotte@buurtteam.nl" not in rcpt]
    assert len(to_expert) == 1
    body = to_expert[0].get_payload(decode=True).decode()
    assert "schamen" in body and "Mail Lotte Janssen op lotte@buurtteam.nl" in body
    assert to_expert[0]["Reply-To"] == "lotte@buurtteam.nl"
    assert any("lotte@buurtteam.nl" in rcpt for rcpt, _ in box.messages[before:])  # her own confirmation
    assert "doorgestuurd naar" in page.locator("article.card").inner_text()
    connect_close_and_find(page, url)
    assert not page.errors, page.errors


def test_the_loop_without_a_mail_server(page_without_mail):
    page = page_without_mail
    expert_id, number = ask_and_request_contact(page, "Joost Maas", "joost@buurtteam.nl")
    url = open_by_number(page, "Joost Maas", number, expert_id)
    page.get_by_role("button", name=re.compile("^Maak het bericht klaar")).click()
    page.get_by_role("heading", name=re.compile("^Het bericht aan")).wait_for()
    body = page.input_value("#body")
    # copied from the coordinator's own mailbox, a reply would reach the coordinator: the address is in the text
    assert "Mail Joost Maas op joost@buurtteam.nl" in body and "Beantwoord dit bericht" not in body
    check_axe(page)
    page.get_by_role("button", name="Ik heb het bericht verstuurd").click()
    page.wait_for_url(url)  # was: 405, posted to the inbox without the request's id, and nothing recorded
    assert "doorgestuurd naar" in page.locator("article.card").inner_text()
    assert page.locator("h1 .badge").inner_text() == "Doorgestuurd"
    connect_close_and_find(page, url)
    assert not page.errors, page.errors


def test_a_duplicate_is_merged_and_a_request_deleted_in_the_inbox(page_without_mail):
    page = page_without_mail
    _, first = ask_and_request_contact(page, "Bas Dubbel", "bas@buurtteam.nl")
    _, second = ask_and_request_contact(page, "Bas Dubbel", "bas@buurtteam.nl")  # he sent it again
    login(page)
    page.goto(f"/coordinatie/verzoeken?nummer={second}")
    page.locator("article.card").get_by_role("link").click()
    page.wait_for_url(re.compile(r".*/coordinatie/verzoeken/[0-9a-f]{32}$"))
    page.fill("#note", "Belde ook nog op.")
    page.get_by_role("button", name=re.compile("^Opslaan")).click()
    assert page.input_value("#into") == first  # his other open request, proposed
    page.get_by_role("button", name="Voeg samen").click()
    page.wait_for_url(re.compile(r".*/coordinatie/verzoeken/[0-9a-f]{32}$"))
    assert page.locator("#verzoeknummer").inner_text() == first  # on to the request that stays
    assert f"Samengevoegd met dubbel verzoek {second}: Belde ook nog op." in page.input_value("#note")
    page.goto("/coordinatie/verzoeken")
    cards = page.locator("article.card", has_text="Bas Dubbel")
    assert cards.count() == 2 and "samengevoegd met" in cards.all_inner_texts().__str__()
    page.goto(f"/coordinatie/verzoeken?nummer={first}")
    page.locator("article.card").get_by_role("link").click()
    page.get_by_role("button", name="Verwijder dit verzoek").click()
    page.wait_for_url(re.compile(r".*/coordinatie/verzoeken$"))
    assert page.locator("article.card", has_text="Bas Dubbel").count() == 0  # the merged one went with it
    assert not page.errors, page.errors
