"""The web pages in a real headless Chromium (Debian's, driven by Playwright): the journeys of the three
kinds of users, keyboard-only use, axe-core on every page, and a screenshot of every page.

Screenshots go to ``$KM_SCREENSHOTS`` (the docs use ``docs/screenshots``), else to a temporary folder.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.ordering import fold
from tests import docmaker
from tests.conftest import MailBox, live_server, make_settings, pristine_copy, smtp_server

pytestmark = [pytest.mark.slow, pytest.mark.browser]
TOKEN = "browser-test-token"
TRUST = "Hoe herstel je vertrouwen in een wijk waar projecten steeds kwamen en gingen?"
PERSONAL: dict[str, str] = {}  # a coordinator's own token, made before the service starts (_seed_questions)



@pytest.fixture(scope="module")
def mailbox() -> Iterator[tuple[MailBox, int]]:
    with smtp_server() as box:
        yield box


@pytest.fixture(scope="module")
def site(samples_dir, tmp_path_factory, mailbox) -> Iterator[str]:
    data = pristine_copy(samples_dir, tmp_path_factory.mktemp("web") / "data")
    settings = make_settings(data, KM_COORDINATOR_TOKENS=TOKEN, KM_CONTACT_EMAIL="coordinatie@example.org",
                             KM_ASK_PER_MINUTE="1000", KM_SMTP_HOST="127.0.0.1", KM_SMTP_PORT=str(mailbox[1]),
                             KM_SMTP_STARTTLS="nee")
    with live_server(settings, prepare=_seed_questions) as url:
        yield url


EARLIER = [  # questions members asked in the past months, for the knowledge agenda
    ("Hoe begeleid je statushouders naar een eigen bedrijf in de horeca?", "tweedeling-en-armoede", 150),
    ("Welke steun hebben statushouders nodig om als ondernemer te starten?", "tweedeling-en-armoede", 120),
    ("Wat werkt om statushouders aan werk als zelfstandige te helpen?", None, 40),
    ("Hoe voorkom je valpartijen bij ouderen met dementie die thuis wonen?", "veerkracht-in-gemeenschappen", 95),
    ("Wat helpt tegen gokverslaving bij jongeren en studenten?", "kansrijk-met-jeugd", 70),
    ("Hoe herken je gokproblemen bij jongeren vroeg?", "kansrijk-met-jeugd", 20),
    ("Hoe bereik je jongeren die online radicaliseren?", "kansrijk-met-jeugd", 55),
    ("Hoe herstel je vertrouwen in een wijk waar projecten steeds kwamen en gingen?", "veerkracht-in-gemeenschappen",
     10),
]


def _seed_questions(settings) -> None:
    import datetime as dt

    from matching.broker import Broker
    from service.container import Kennismakelaar

    km = Kennismakelaar(settings)
    broker: Broker = km.broker()
    now = dt.datetime.now(dt.UTC)
    for text, atelier, days in EARLIER:
        page = broker.search(text, limit=3)
        broker.questions.record(text, broker.encode(text).dense, atelier=atelier, atelier_inferred=atelier is None,
                                best_score=page.best_score, asked_at=now - dt.timedelta(days=days))
    _, PERSONAL["token"] = km.coordinators().add("Lotte Logboek")
    km.close()




@pytest.fixture
def page(browser, site):
    context = browser.new_context(base_url=site, viewport={"width": 1280, "height": 900}, locale="nl-NL")
    pg = context.new_page()
    errors: list[str] = []
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.on("dialog", lambda d: (errors.append(f"dialog: {d.message}"), d.dismiss()))
    pg.errors = errors
    yield pg
    context.close()


SHOTS = Path(os.environ.get("KM_SCREENSHOTS", "")) if os.environ.get("KM_SCREENSHOTS") else None


def shoot(page, name: str) -> None:
    folder = SHOTS or Path(os.environ.get("TMPDIR", "/tmp")) / "km-screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def check_axe(page, shot: str | None = None) -> None:
    """No serious or critical axe-core violation on the page; with ``shot``, its screenshot saved too."""
    from axe_playwright_python.sync_playwright import Axe

    if shot:
        shoot(page, shot)

    results = Axe().run(page)
    bad = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    assert not bad, [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in bad]


def login(page, token: str = TOKEN) -> None:
    page.goto("/coordinatie/inloggen")
    page.fill("#token", token)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/coordinatie$"))


# --- the journeys ------------------------------------------------------------------------------------------

def test_ask_a_question_and_see_findings_and_people(page):
    page.goto("/")
    check_axe(page, shot="01-stel-je-vraag")
    page.fill("#question", TRUST)
    page.select_option("#atelier", "kansrijk-met-jeugd")
    page.click("button.primary")
    page.wait_for_url(re.compile(r".*/antwoord/.+"))
    assert page.locator("article.finding").count() >= 3
    assert page.locator("article.person").count() >= 1
    assert page.get_by_role("heading", name="Uit andere ateliers").is_visible()
    assert page.locator(".elsewhere .badge").count() >= 1
    assert page.locator("a.button[href^='/contact?expert=']").count() >= 1  # a request, no personal addresses
    assert "mailto:" not in page.content()
    kinds = page.locator("section.perspective h3")  # what research, practice and lived experience say
    assert kinds.all_inner_texts() == ["Wat zegt onderzoek", "Wat zegt de praktijk", "Wat zeggen ervaringsdeskundigen"]
    check_axe(page, shot="02-antwoord")
    # helpful / not helpful, enhanced by HTMX: the buttons give way to a thank-you in place
    first = page.locator("article.finding .feedback").first
    first.get_by_role("button", name="Ja, nuttig").click()
    first.get_by_text("Bedankt").wait_for()
    assert not page.errors, page.errors


def test_keyboard_only_use_of_the_question_form(page):
    page.goto("/")
    page.keyboard.press("Tab")  # skip link comes first
    assert page.evaluate("document.activeElement.textContent") == "Naar de inhoud"
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "question":
            break
    assert page.evaluate("document.activeElement.id") == "question"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"  # focus is visible
    page.keyboard.type("Hoe bereik je jongvolwassenen met betalingsachterstanden?")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "atelier"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.type") == "submit"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/antwoord/.+"))
    assert page.locator("article.finding").count() >= 1


def test_ask_for_contact_from_an_answer(page):
    """Question → a suggested person → the contact form, filled in without JavaScript → the confirmation."""
    page.goto("/")
    page.fill("#question", TRUST)
    page.click("button.primary")
    page.wait_for_url(re.compile(r".*/antwoord/.+"))
    page.locator("article.person a.button[href^='/contact?expert=']").first.click()
    page.wait_for_url(re.compile(r".*/contact\?expert=.+&vraag=.+"))
    assert page.input_value("#question") == TRUST  # the question filled in
    check_axe(page, shot="15-contact-aanvragen")
    page.fill("#name", "Sara Bakker")
    page.fill("#email", "sara@wijkteam.nl")
    page.fill("#message", "Ik werk in een wijkteam en zoek iemand die meedenkt.")
    page.get_by_role("button", name="Verstuur je verzoek").click()
    page.get_by_role("heading", name=re.compile("je verzoek is ontvangen")).wait_for()
    check_axe(page, shot="16-contact-verstuurd")
    assert not page.errors, page.errors


def test_the_whole_loop_from_question_to_findable_answer(page, mailbox):
    """Question → contact request → forwarded by mail (received by a real SMTP server) → connected → closed with
    an outcome → a new question finds that outcome. Timed from the first question to the last answer."""
    box, _ = mailbox
    start = time.monotonic()
    question = "Hoe help je gezinnen die zich schamen om een minimaregeling aan te vragen?"
    page.goto("/")
    page.fill("#question", question)
    page.click("button.primary")
    page.wait_for_url(re.compile(r".*/antwoord/.+"))
    page.locator("article.person a.button[href^='/contact?expert=']").first.click()
    page.fill("#name", "Lotte Janssen")
    page.fill("#email", "lotte@buurtteam.nl")
    page.fill("#message", "Wie kan ons team helpen om deze gezinnen beter te bereiken?")
    page.get_by_role("button", name="Verstuur je verzoek").click()
    page.get_by_role("heading", name=re.compile("je verzoek is ontvangen")).wait_for()
    login(page)
    page.goto("/coordinatie/verzoeken")
    check_axe(page, shot="17-verzoeken-inbox")
    page.locator("article.card", has_text="Lotte Janssen").get_by_role("link").click()
    page.wait_for_url(re.compile(r".*/coordinatie/verzoeken/[0-9a-f]{32}$"))
    assert page.locator("input[name=expert_id]").count() >= 1  # suggested people to forward to, on opening it
    check_axe(page, shot="17b-verzoek")
    page.locator("input[name=cc_asker]").check()
    page.get_by_role("button", name=re.compile("^Stuur door per e-mail")).click()
    page.wait_for_url(re.compile(r".*/coordinatie/verzoeken/[0-9a-f]{32}$"))
    deadline = time.monotonic() + 10
    while not box.messages and time.monotonic() < deadline:
        time.sleep(0.05)
    # the expert got the question; the asker (in copy, or with a confirmation of their own) heard of it
    assert any("schamen" in m.get_payload(decode=True).decode() for _, m in box.messages)
    assert any("lotte@buurtteam.nl" in recipients for recipients, _ in box.messages)
    assert "doorgestuurd naar" in page.locator("article.card").inner_text()
    page.locator("select[name=status]").select_option("verbonden")
    page.get_by_role("button", name=re.compile("^Opslaan")).click()
    # the asker did not tick the box: the coordinator words the public question (not as the asker did)
    page.fill("#question", "Wat helpt gezinnen die zich schamen om een minimaregeling aan te vragen?")
    page.fill("#outcome",
              "Ga samen met een ervaringsdeskundige op huisbezoek en vul de aanvraag voor de minimaregeling aan de "
              "keukentafel in; noem het geen hulp maar recht. Zo durven gezinnen die zich schamen de regeling aan te "
              "vragen.")
    check_axe(page, shot="18-verzoek-afronden")
    page.get_by_role("button", name="Bekijk en rond af").click()
    page.get_by_role("heading", name="Zo wordt de kennisvraag openbaar").wait_for()
    assert "Lotte" not in page.locator("article.finding").inner_text()
    check_axe(page, shot="18b-kennisvraag-voorbeeld")
    page.get_by_role("button", name="Publiceer als kennisvraag en rond af").click()
    page.get_by_role("link", name="als kennisvraag vindbaar").wait_for()
    page.goto("/")  # someone else, later, with the same kind of question
    page.fill("#question", "Hoe krijg je gezinnen die zich schamen zover dat ze een minimaregeling aanvragen?")
    page.click("button.primary")
    page.wait_for_url(re.compile(r".*/antwoord/.+"))
    titles = page.locator("article.finding h3").all_inner_texts()
    assert any("schamen om een minimaregeling" in t for t in titles[:3]), titles
    elapsed = time.monotonic() - start
    print(f"\nthe whole loop in the browser: {elapsed:.1f} s")  # the figure for the closing note
    assert not page.errors, page.errors


def test_coordinator_plans_a_meeting_and_reads_the_overview(page, site):
    login(page)
    page.goto("/coordinatie/agenda")
    page.locator("article.cluster").first.get_by_role("button", name=re.compile("^Plan een bijeenkomst")).click()
    page.wait_for_url(re.compile(r".*/coordinatie/bijeenkomsten/nieuw.*"))
    check_axe(page, shot="19-bijeenkomst-plannen")
    page.fill("#date", "2027-02-11")
    page.fill("#k", "3")
    page.get_by_role("button", name="Plan en stel een panel voor").click()
    page.wait_for_url(re.compile(r".*/coordinatie/bijeenkomsten/[0-9a-f]{32}$"))
    assert page.locator("ol.panel > li").count() == 3
    check_axe(page, shot="20-bijeenkomst")
    page.goto("/coordinatie/bijeenkomsten")
    check_axe(page)
    page.goto("/coordinatie/overzicht")
    assert page.locator("svg").count() >= 2 and page.locator("table").count() >= 1
    check_axe(page, shot="21-overzicht")
    import httpx

    total = httpx.get(f"{site}/api/overview", headers={"Authorization": f"Bearer {TOKEN}"}).json()["total"]
    print("\noverview of the demo site after the journeys:", {k: v for k, v in total.items() if k != "period"})
    assert total["questions"] >= len(EARLIER)
    page.goto("/coordinatie/experts/petra-huijts")
    page.fill("#max_per_month", "2")
    page.get_by_role("button", name="Beschikbaarheid opslaan").click()
    page.wait_for_url(re.compile(r".*/coordinatie/experts/petra-huijts$"))
    assert page.input_value("#max_per_month") == "2"
    check_axe(page, shot="22-beschikbaarheid")


def test_search_with_a_facet_and_paging(page):
    page.goto("/zoeken")
    check_axe(page, shot="03-zoeken-leeg")
    page.fill("#q", "schaamte en geldzorgen bij jongeren")
    page.click("button.primary")
    page.wait_for_selector("article.finding")
    before = page.locator("article.finding").count()
    label = page.locator("fieldset:has(legend:text('Atelier')) label", has_text="Veerkracht")
    label.click()
    page.get_by_role("button", name="Filters toepassen").click()
    page.wait_for_url(re.compile(r".*atelier=veerkracht-in-gemeenschappen.*"))
    cards = page.locator("article.finding")
    assert 0 < cards.count() <= before
    for i in range(cards.count()):
        assert "Veerkracht" in cards.nth(i).locator(".badge").all_inner_texts().__str__()
    check_axe(page, shot="04-zoeken-met-filter")
    page.goto("/zoeken?q=jongeren")
    first_page = page.locator("article.finding h3").all_inner_texts()
    assert page.locator(".pager a[rel=next]").count() == 1  # 48 documents: more than one page of ten
    page.locator(".pager a[rel=next]").click()
    page.wait_for_url(re.compile(r".*pagina=2.*"))
    second_page = page.locator("article.finding h3").all_inner_texts()
    assert second_page and not set(second_page) & set(first_page)  # the next ten, not the same ones


def test_document_and_expert_pages(page):
    page.goto("/documenten/rapport-2024-evaluatie-vaste-gezichten")
    assert page.locator("section.passage").count() > 5
    assert page.get_by_role("link", name=re.compile("Origineel bestand")).count() == 1
    check_axe(page, shot="05-document")
    page.goto("/experts")
    check_axe(page, shot="06-experts")
    assert "Wim Ramakers" not in page.content()  # no consent, not in the directory
    page.get_by_role("link", name="Petra Huijts").click()
    page.wait_for_url(re.compile(r".*/experts/petra-huijts"))
    assert page.locator("h1").inner_text() == "Petra Huijts"
    check_axe(page, shot="07-expertprofiel")


def test_coordinator_logs_in_and_builds_a_panel(page):
    page.goto("/coordinatie/panel")
    page.wait_for_url(re.compile(r".*/coordinatie/inloggen"))
    check_axe(page, shot="08-inloggen")
    login(page)
    check_axe(page, shot="09-coordinatie")
    page.goto("/coordinatie/panel")
    page.fill("#topic", "Expertmeeting over schaamte en niet-gebruik van regelingen")
    page.fill("#k", "4")
    page.check("#min-onderzoeker")
    page.check("#per-org")
    for i in (1, 2, 3):
        page.check(f"#cover-{i}")
    page.click("button.primary")
    members = page.locator("ol.panel > li")
    members.first.wait_for()
    assert members.count() == 4
    assert "onderzoeker" in page.locator("ol.panel").inner_text().lower()
    check_axe(page, shot="10-panel")


def test_coordinator_sees_the_agenda_with_its_chart(page):
    page.goto("/")
    page.fill("#question", "Hoe begeleid je statushouders naar een eigen bedrijf in de horeca?")
    page.click("button.primary")
    page.wait_for_url(re.compile(r".*/antwoord/.+"))
    assert page.locator(".notice").count() == 1  # little knowledge: it goes on the agenda
    # not answered: the coordinator is the one to ask, not people matched to something else
    assert page.get_by_role("link", name="Vraag de coördinator").count() == 1
    assert page.get_by_role("link", name="Vraag contact aan").count() == 0
    login(page)
    page.goto("/coordinatie/agenda")
    assert page.locator("svg.chart rect").count() >= 4  # several months, several ateliers
    first = page.locator("article.cluster").first.inner_text()
    assert "statushouders" in first.lower() and "Volgende stap" in first  # the largest cluster comes first
    check_axe(page, shot="11-kennisagenda")


def test_upload_a_document_and_find_it(page, tmp_path):
    login(page)
    page.goto("/coordinatie/upload")
    check_axe(page, shot="12-upload")
    good = docmaker.make_docx(tmp_path / "Verslag moestuin Bekkerveld.docx", title="Verslag moestuin Bekkerveld")
    bad = tmp_path / "kapot.pdf"
    bad.write_bytes(b"%PDF-1.4 stuk")
    page.set_input_files("#files", [str(good), str(bad)])
    page.select_option("#kind", "verslag")
    page.check("#at-3")
    page.click("button.primary")
    page.wait_for_url(re.compile(r".*/coordinatie/taken/.+"))
    page.get_by_text("Klaar").wait_for(timeout=120_000)  # HTMX polls the job until it is done
    assert "kapot.pdf" in page.locator("ul.errors").inner_text()
    check_axe(page, shot="13-verwerking")
    page.goto("/zoeken?q=geldzorgen+jongeren+Heerlen-Noord&soort=verslag&atelier=veerkracht-in-gemeenschappen")
    assert page.get_by_role("link", name="Verslag moestuin Bekkerveld").count() >= 1


def test_coordinator_manages_experts(page):
    login(page)
    page.goto("/coordinatie/experts")
    check_axe(page, shot="14-experts-beheren")
    page.goto("/coordinatie/experts/nieuw")
    page.fill("#name", "Noor de Test")
    page.fill("#expertise", "Voedselbanken en schaamte")
    page.check("#consent")
    check_axe(page)
    page.click("button.primary")
    page.wait_for_url(re.compile(r".*/coordinatie/experts$"))
    assert "Noor de Test" in page.content()
    # a second "new" profile with the same name must not replace the first (and its consent)
    page.goto("/coordinatie/experts/nieuw")
    page.fill("#name", "Noor de Test")
    page.fill("#expertise", "Iets heel anders")
    page.click("button.primary")
    assert "bestaat al" in page.content()
    page.goto("/coordinatie/experts/noor-de-test")
    assert page.input_value("#expertise") == "Voedselbanken en schaamte"


def test_a_coordinator_withdraws_consent_and_finds_it_in_the_logboek_under_her_name(page):
    login(page, PERSONAL["token"])
    page.goto("/coordinatie/experts/nieuw")
    page.fill("#name", "Kees Toestemming")
    page.fill("#expertise", "Buurtbemiddeling")
    page.check("#consent")
    page.click("button.primary")
    page.wait_for_url(re.compile(r".*/coordinatie/experts$"))
    page.goto("/coordinatie/experts/kees-toestemming")
    page.uncheck("#consent")
    page.click("button.primary")
    page.wait_for_url(re.compile(r".*/coordinatie/experts$"))
    page.goto("/coordinatie/logboek")
    page.select_option("#action", "toestemming-ingetrokken")
    page.click("form.filters button[type=submit]")
    page.wait_for_url(re.compile(r".*action=toestemming-ingetrokken.*"))
    rows = page.locator("#logboek tbody tr")
    assert rows.count() == 1
    assert "Lotte Logboek" in rows.first.inner_text() and "kees-toestemming" in rows.first.inner_text()
    check_axe(page, shot="23-logboek")
    session = [c for c in page.context.cookies() if c["name"] == "km_coordinator"]
    page.click("nav.subnav form button")  # Uitloggen
    page.wait_for_url(re.compile(r".*/$"))
    page.context.add_cookies(session)  # the cookie put back, as a copy of it would be: the server has ended it
    page.goto("/coordinatie/logboek")
    assert page.locator("#token").count() == 1  # the login form, not the log


def test_a_coordinator_adds_a_colleague_who_logs_in_with_the_token_and_is_then_removed(page, browser, site):
    login(page, PERSONAL["token"])
    page.goto("/coordinatie/coordinatoren")
    page.fill("#name", "Noor Nieuwkomer")
    page.click("form.card button[type=submit]")
    token = page.locator("#token").input_value()
    assert token.startswith("kmc_") and "niet nog eens getoond" in page.locator("section.card").inner_text()
    check_axe(page, shot="24-coordinatoren")
    other = browser.new_context(base_url=site, locale="nl-NL")  # the colleague, in her own browser
    try:
        hers = other.new_page()
        login(hers, token)
        hers.goto("/coordinatie/logboek")
        assert hers.locator("#logboek").count() == 1
        page.goto("/coordinatie/coordinatoren")
        assert token not in page.content()  # shown once
        page.click("#coordinatoren form:has(button:has-text('Noor Nieuwkomer')) button")
        page.click("#bevestigen button:has-text('Ja, verwijder deze coördinator')")  # it asks first
        assert "Noor Nieuwkomer is verwijderd" in page.locator("p.notice[role=status]").inner_text()
        hers.goto("/coordinatie/logboek")
        assert hers.locator("#token").count() == 1  # her session ended with her removal: the login form
    finally:
        other.close()


def test_on_a_phone_the_results_come_before_the_filters(browser, site):
    """Six groups of filters put the first result 1,500 px down on a phone."""
    context = browser.new_context(base_url=site, viewport={"width": 390, "height": 844}, locale="nl-NL")
    try:
        phone = context.new_page()
        phone.goto("/zoeken?q=schulden+en+schaamte")
        first = phone.locator("article.finding").first.bounding_box()
        facets = phone.locator("aside.facets").bounding_box()
        assert first and facets and first["y"] < 844 and first["y"] < facets["y"]
        phone.click("text=Verfijnen ↓")  # and the filters are one tap away
        assert phone.url.endswith("#verfijnen")
    finally:
        context.close()


def test_a_student_filters_on_lived_experience_and_reads_an_intervention_with_its_evidence(page):
    page.goto("/zoeken?q=schulden+en+schaamte")
    page.check("input[name=kennis][value=ervaring]")
    page.click("aside.facets button[type=submit]")
    page.wait_for_url(re.compile(r".*kennis=ervaring.*"))
    kinds = page.locator("article.finding .knowledge").all_inner_texts()
    assert kinds and all("ervaringskennis" in k for k in kinds)
    page.goto("/documenten/interventie-2025-vroeg-erop-af-parkstad")
    facts = page.locator("section.databank").inner_text()
    assert "Effectief" in facts and "Werkzame elementen" in facts and "Doelgroep" in facts
    assert "Beoordeeld" in facts and "Onderbouwing" in facts
    check_axe(page, shot="25-interventie-met-bewijs")


def test_a_student_browses_like_in_a_databank_and_takes_the_citations_away(page):
    page.goto("/bladeren")
    check_axe(page, shot="28-bladeren")
    page.check("input[name=soort][value=interventie]")  # no button: the list follows at once (HTMX)
    page.wait_for_url(re.compile(r".*soort=interventie.*"))
    page.wait_for_function("document.querySelector('#resultaten').innerText.startsWith('6 ')")
    kinds = page.locator("article.finding .meta").all_inner_texts()
    assert kinds and all("Interventie" in k for k in kinds)
    assert page.locator("input[name=soort][value=verslag]").count() == 1  # the other kinds stay to switch to
    assert page.evaluate("document.activeElement.id") == "f-soort-interventie"  # focus kept across the swap
    page.select_option("#sorteer", "titel")
    page.wait_for_url(re.compile(r".*sorteer=titel.*"))
    titles = page.locator("article.finding h3").all_inner_texts()
    assert [fold(t) for t in titles] == sorted(fold(t) for t in titles)
    url = page.url
    boxes = page.locator("input[form=citeren]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    time.sleep(0.5)
    assert page.url == url and boxes.nth(0).is_checked()  # ticking for the list is no filter
    page.select_option("#formaat", "ris")
    with page.expect_download() as download:
        page.get_by_role("button", name="Exporteren").click()
    text = Path(download.value.path()).read_text("utf-8")
    assert text.count("TY  - RPRT") == 2 and download.value.suggested_filename == "selectie.ris"
    page.goto("/documenten/interventie-huiswerkklas-plus")
    cite = page.locator("#citeren").inner_text()
    assert "(2025). Huiswerkklas Plus" in cite and "[Interventie]" in cite
    check_axe(page, shot="29-interventie-citeren")


def test_on_a_phone_the_browse_filters_fold_away(browser, site):
    context = browser.new_context(base_url=site, viewport={"width": 390, "height": 844}, locale="nl-NL")
    try:
        phone = context.new_page()
        phone.goto("/bladeren")
        phone.wait_for_function("!document.querySelector('details.fold').open")
        first = phone.locator("article.finding").first.bounding_box()
        assert first and first["y"] < 844
        phone.click("details.fold > summary")
        phone.check("input[name=atelier][value=kansrijk-met-jeugd]")
        phone.wait_for_url(re.compile(r".*atelier=kansrijk-met-jeugd.*"))
    finally:
        context.close()


def test_what_is_new_since_the_last_visit_and_a_reader_who_wants_no_memory(browser, site):
    context = browser.new_context(base_url=site, locale="nl-NL")
    try:
        context.add_cookies([{"name": "km_bezoek", "value": "_2000-01-01", "url": site}])
        reader = context.new_page()
        reader.goto("/")
        new = reader.locator("section.new-since").inner_text()
        assert "Nieuw sinds 1 januari 2000" in new and "documenten" in new
        reader.get_by_role("button", name="Niet onthouden").click()
        reader.wait_for_url(re.compile(r".*/$"))
        assert "niet onthouden" in reader.locator("section.new-since").inner_text()
        assert {c["name"]: c["value"] for c in context.cookies()}["km_bezoek"] == "uit"
        check_axe(reader)
    finally:
        context.close()


# --- safety ----------------------------------------------------------------------------------------------------

def test_script_in_a_document_or_question_renders_as_text(page, site):
    import httpx

    evil = "<script>alert('xss')</script>"
    upload = httpx.post(f"{site}/api/documents", headers={"Authorization": f"Bearer {TOKEN}"},
                          files=[("files", ("xss.txt", f"---\ntitle: Titel {evil}\n---\nTekst {evil} over buurtkamers "
                                            "in Heerlen.\n".encode()))], timeout=60)
    job = upload.json()["id"]
    for _ in range(120):
        if httpx.get(f"{site}/api/jobs/{job}").json()["status"] == "done":
            break
        time.sleep(0.5)
    page.goto("/documenten/xss.txt")
    assert page.locator("h1").inner_text() == f"Titel {evil}"
    assert page.get_by_text(f"Tekst {evil}", exact=False).count() >= 1
    page.goto("/")
    page.fill("#question", f"Buurtkamers {evil} in Heerlen")
    page.click("button.primary")
    page.wait_for_url(re.compile(r".*/antwoord/.+"))
    assert evil in page.locator("h1.question").inner_text()
    page.goto("/zoeken?q=" + "buurtkamers Heerlen")
    assert not [e for e in page.errors if e.startswith("dialog")], page.errors
