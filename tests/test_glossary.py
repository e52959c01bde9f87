"""One word for each thing (``core.glossary``): the avoided words are in no template, no message of ours and no
page a crawler reaches, for the public and for a coordinator, on the demo corpus."""

from __future__ import annotations

import ast
import re
from collections import deque
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from litestar.testing import TestClient

from core.glossary import WORDS, avoided_in, counted, label
from service import contacts, meetings
from service.coordinators import COMMAND_LINE
from tests.conftest import log_in, make_settings
from web.app import create_app

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "web" / "templates"
# what people read: our pages and the messages the service sends back (errors, mails, the CLI)
MESSAGE_CODE = [p for d in ("service", "web", "ingestion", "matching") for p in (ROOT / d).rglob("*.py")]
VISIBLE_ATTRIBUTES = {"placeholder", "title", "aria-label", "alt", "value", "content"}


class _Words(HTMLParser):
    """The words a page shows or reads out, without the corpus's own words: passages and quoted snippets are
    what the documents' authors wrote (a third-party report may say "u"), not our wording."""

    SKIPPED = frozenset({"script", "style", "code"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.words: list[str] = []
        self._skip: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = dict(attrs).get("class") or ""
        if tag in self.SKIPPED or tag == "blockquote" or "passage" in classes.split():
            self._skip.append(tag)
        elif self._skip and tag == self._skip[-1]:
            self._skip.append(tag)  # nested in what we skip, so its end tag does not end the skip
        if self._skip:
            return
        kind = dict(attrs).get("type")
        for name, value in attrs:
            if value and name in VISIBLE_ATTRIBUTES and not (name == "value" and kind in ("hidden", None)):
                self.words.append(value)

    def handle_endtag(self, tag: str) -> None:
        if self._skip and tag == self._skip[-1]:
            self._skip.pop()

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.words.append(data)


def shown_words(html: str) -> str:
    parser = _Words()
    parser.feed(html)
    return " ".join(" ".join(parser.words).split())


def _problems(text: str) -> list[str]:
    return [f"{hit!r} (gebruik: {a.instead})" for a in avoided_in(text) for hit in a.found_in(text)]


# --- the glossary itself --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "caught"), [
    ("Heeft u een vraag?", True), ("Uw gegevens", True), ("wetenschappelijke kennis", True),
    ("De meeting van dinsdag", True), ("Vraag een deskundige", True), ("Je email", True), ("Klik hier", True),
    ("Submit", True), ("Lege tekst.", True), ("Dat mag uzelf weten", True), ("Alle emailadressen", True),
    ("Een vakdeskundige", True), ("De teammeeting", True), ("Klik\n    hier", True),
    # what is right must pass: "u" inside words, the Werkplaats's own "expertmeeting", an ervaringsdeskundige
    ("nieuw uur status uitnodiging", False), ("Een expertmeeting over schulden", False),
    ("Minstens één ervaringsdeskundige", False), ("Je e-mailadres", False), ("Onderzoekskennis", False),
    ("Om 14.00 u begint het", False), ("Een U-bocht", False), ("Log in met je token", False),
])
def test_the_glossary_catches_what_we_avoid_and_passes_what_we_say(text, caught):
    assert bool(avoided_in(text)) is caught, text


def test_counts_and_labels_speak_dutch():
    assert [counted(n, "vraag") for n in (0, 1, 2)] == ["geen vragen", "1 vraag", "2 vragen"]
    assert label("status", "verbonden") == "In contact gebracht" and label("rol", "docent") == "Docent"


# --- the sources: templates and messages ---------------------------------------------------------------------


def _template_text(source: str) -> str:
    # Jinja's own code is not shown; its string literals are (a label in an expression)
    shown = re.sub(r"\{#.*?#\}", " ", source, flags=re.S)
    code = " ".join(re.findall(r"\{[{%].*?[%}]\}", shown, flags=re.S))
    literals = " ".join(t for t in re.findall(r"[\"']([^\"'{}]*)[\"']", code) if " " in t.strip())  # prose, not keys
    shown = re.sub(r"\{[{%].*?[%}]\}", " ", shown, flags=re.S)
    return shown_words(shown) + " " + literals


@pytest.mark.parametrize("template", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_no_template_uses_an_avoided_word(template):
    assert _problems(_template_text(template.read_text(encoding="utf-8"))) == []


COUNTED = "|".join(re.escape(more) for _, more in WORDS.values())


def test_templates_count_with_the_glossary():
    # a hand-made plural ("vraag" if n == 1 else "vragen", "{{ n }} documenten") is how the words drifted apart:
    # "1 documenten gevonden"
    hand_made = [p.name for p in TEMPLATES.rglob("*.html")
                 if re.search(r"\" if [^}]*(== 1|> 1|!= 1)|\}\}\s+(" + COUNTED + r")\b", p.read_text())]
    assert hand_made == []


def _messages(path: Path) -> Iterator[tuple[int, str]]:
    """The prose in a module's string literals (docstrings and single words are not messages)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                  and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
                and " " in node.value.strip()):
            yield node.lineno, re.sub(r"`[^`]*`", " ", node.value)  # `meeting` names a field, in code


def test_no_message_of_ours_uses_an_avoided_word():
    found = [f"{p.relative_to(ROOT)}:{line}: {problem}" for p in MESSAGE_CODE for line, text in _messages(p)
             for problem in _problems(text)]
    assert found == []


# --- every page a crawler reaches -----------------------------------------------------------------------------

TOKEN = "woordenlijst-token"
SEEDS = ["/", "/zoeken?q=schulden+bij+jongeren", "/zoeken?q=", "/experts", "/bestaat-niet",
         "/coordinatie", "/coordinatie/verzoeken", "/coordinatie/upload", "/coordinatie/panel",
         "/coordinatie/bijeenkomsten/nieuw", "/coordinatie/coordinatoren", "/coordinatie/logboek"]
SKIPPED = ("/static/", "/api/", ".csv", "/file")
MAX_PAGES = 260


def _shape(url: str) -> str:
    """A page's kind: its path with the query's keys, so twenty filter values are one page to read."""
    parts = urlsplit(url)
    keys = sorted({kv.split("=")[0] for kv in parts.query.split("&") if kv})
    return parts.path + ("?" + "&".join(keys) if keys else "")


@pytest.fixture
def client(fresh_samples) -> Iterator[TestClient]:
    settings = make_settings(fresh_samples, KM_COORDINATOR_TOKENS=TOKEN, KM_CONTACT_EMAIL="coordinatie@example.org",
                             KM_ASK_PER_MINUTE="10000", KM_REQUESTS_PER_MINUTE="100000")
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.mark.slow
def test_no_page_a_crawler_reaches_uses_an_avoided_word(client):
    km = client.app.state.km
    # something in each coordinator's list: a request, a meeting, a question on the agenda
    request = contacts.submit(km, name="Sanne Vrager", email="sanne@example.org", question="Hoe bereik ik "
                              "gezinnen die zich schamen voor schulden?", message="Ik zoek iemand die meedenkt.")
    meetings.plan(km, title="Expertmeeting over schaamte", date="2030-01-15", step="expertmeeting", actor=COMMAND_LINE)
    client.get("/")
    asked = client.post("/vraag", data={"question": "Wat werkt tegen eenzaamheid bij ouderen in een krimpregio?",
                                         "_csrf_token": client.cookies.get("km_csrf", "")})
    assert asked.status_code == 200 and "/antwoord/" in str(asked.url), asked.status_code
    public = _crawl(client, [*SEEDS[:5], urlsplit(str(asked.url)).path])
    log_in(client, TOKEN)
    assert urlsplit(str(client.get("/coordinatie").url)).path == "/coordinatie", "the coordinator's log-in failed"
    coordinator = _crawl(client, [*SEEDS, f"/coordinatie/verzoeken/{request.id}", "/coordinatie/agenda",
                                  "/coordinatie/overzicht"])
    print(f"{len(public.read)} public pages and {len(coordinator.read)} a coordinator's read")
    assert len(public.read) > 40 and sum(p.startswith("/coordinatie") for p in coordinator.read) > 20, \
        (public.read, coordinator.read)
    assert {**public.problems, **coordinator.problems} == {}


class _Crawl:
    def __init__(self) -> None:
        self.read: list[str] = []
        self.problems: dict[str, list[str]] = {}


def _crawl(client: TestClient, seeds: list[str]) -> _Crawl:
    """Every page the links reach from ``seeds`` (each kind of page once), read for avoided words."""
    done = _Crawl()
    queue = deque(seeds)
    seen: set[str] = set()
    while queue and len(done.read) < MAX_PAGES:
        url = queue.popleft()
        # a seed is read whatever its shape ("/zoeken?q=" is another page than a search with words)
        if (url not in seeds and _shape(url) in seen) or url in done.read or any(s in url for s in SKIPPED):
            continue
        seen.add(_shape(url))
        page = client.get(url)
        assert page.status_code < 500, (url, page.status_code)
        if "text/html" not in page.headers.get("content-type", ""):
            continue
        done.read.append(url)
        if found := _problems(shown_words(page.text)):
            done.problems[url] = found
        queue.extend(h for h in re.findall(r'href="(/[^"#]*)', page.text.replace("&amp;", "&")))
    return done
