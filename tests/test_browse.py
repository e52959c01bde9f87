"""Browsing like a databank (issue 25): every finding by facet, in an order, a page at a time — counted in the
engine, for what the reader may see; and an intervention's page in the databank's layout.

On the demo corpus through the real app, and on a store built for the hard cases: a hundred documents of one
date (the engine orders on the date alone), titles with articles and accents, documents without a date.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient

from core.ordering import date_order, fold, title_order
from core.store.catalog import DOCUMENTS
from core.store.types import Point
from core.visibility import COORDINATORS, PUBLIC
from matching.browse import BrowseFilters, Browser
from tests.conftest import demo_app, make_settings

pytestmark = pytest.mark.slow
TOKEN = "bladeren-token"
COORD = {"Authorization": f"Bearer {TOKEN}"}
RESTRICTED = {"verslag-2023-05-23-kansrijk", "verslag-2024-01-23-kansrijk", "verslag-2023-12-05-expertmeeting-ruimte"}


@pytest.fixture(scope="module")
def client(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with demo_app(samples_dir, tmp_path_factory.mktemp("browse"), TOKEN) as c:
        yield c


def _all(client: TestClient, headers: dict[str, str] | None = None, **params: object) -> list[dict]:
    """Every item of a listing, page after page."""
    items, page = [], 1
    while True:
        body = client.get("/api/browse", params={**params, "page": page}, headers=headers or {}).json()
        items += body["items"]
        if page >= body["pages"]:
            return items
        page += 1


# --- the order keys ----------------------------------------------------------------------------------------

def test_titles_sort_as_a_dutch_catalogue_does():
    titles = ["Zorg in de wijk", "De wijk als werkplaats", "Het Ééntje", "'t Hoekje", "een aanpak", "Armoede"]
    ordered = sorted(titles, key=lambda t: (title_order(t), fold(t)))
    # articles do not count, accents and case neither: een aanpak, Armoede, Het Ééntje, 't Hoekje, De wijk…, Zorg
    assert ordered == ["een aanpak", "Armoede", "Het Ééntje", "'t Hoekje", "De wijk als werkplaats", "Zorg in de wijk"]
    assert date_order("2024-03-05", "Zorg") > date_order("2024-03-04", "Aap") > date_order(None, "Aap")
    assert date_order(None, "Beer") == date_order("2024", "Beer")  # a year alone is no day: it sorts with the undated


# --- the demo corpus through the API -----------------------------------------------------------------------

def test_everything_the_public_may_see_and_nothing_else(client):
    public = {i["document_id"] for i in _all(client)}
    everything = {i["document_id"] for i in _all(client, COORD)}
    assert everything >= RESTRICTED and not RESTRICTED & public
    assert everything - public == RESTRICTED
    body = client.get("/api/browse").json()
    assert body["total"] == len(public)
    kinds = {f["value"]: f["count"] for f in body["facets"]["kind"]}
    assert sum(kinds.values()) == len(public)  # every document has one kind: the counts add up to the total
    coord_kinds = {f["value"]: f["count"] for f in client.get("/api/browse", headers=COORD).json()["facets"]["kind"]}
    assert coord_kinds["verslag"] == kinds["verslag"] + 3  # the three restricted verslagen are counted for them only


def test_newest_first_undated_last_and_pages_that_continue_each_other(client):
    items = _all(client, sort="date")
    dates = [i["date"] or "" for i in items]
    dated = [d for d in dates if d]
    assert dated == sorted(dated, reverse=True)
    assert dates[:len(dated)] == dated  # the undated come after every dated one
    assert len({i["document_id"] for i in items}) == len(items) == client.get("/api/browse").json()["total"]


def test_by_title_a_to_z_without_articles(client):
    titles = [i["title"] for i in _all(client, sort="title")]
    keys = [fold(t) for t in titles]
    assert keys == sorted(keys), titles[:10]
    assert not any(k.startswith(("de ", "het ", "een ")) for k in keys)


def test_facets_count_under_the_other_choices(client):
    everything = client.get("/api/browse").json()["facets"]
    verslagen = client.get("/api/browse", params={"kind": "verslag"}).json()
    # choosing a kind leaves the kind facet as it was: the other kinds stay there to switch to
    assert verslagen["facets"]["kind"] == everything["kind"]
    # the other facets count verslagen only
    ateliers = {f["value"]: f["count"] for f in verslagen["facets"]["atelier"]}
    for atelier, n in ateliers.items():
        both = client.get("/api/browse", params={"kind": "verslag", "atelier": atelier}).json()
        assert both["total"] == n
    assert all(i["kind"] == "verslag" for i in _all(client, kind="verslag"))
    # two values of one facet: either matches
    two = client.get("/api/browse", params={"kind": ["verslag", "interventie"]}).json()["total"]
    counts = {f["value"]: f["count"] for f in everything["kind"]}
    assert two == counts["verslag"] + counts["interventie"]


def test_target_groups_and_years_are_facets_too(client):
    body = client.get("/api/browse").json()
    groups = {f["value"]: f["count"] for f in body["facets"]["target_group"]}
    assert groups["jeugd"] >= 3 and groups["huishoudens met schulden"] == 2
    jeugd = _all(client, target_group="Jeugd ")  # as a user may type it
    assert len(jeugd) == groups["jeugd"] and all(i["kind"] == "interventie" for i in jeugd)
    years = {f["value"]: f["count"] for f in body["facets"]["year"]}
    assert all(isinstance(y, int) for y in years)
    y = max(years)
    assert {i["date"][:4] for i in _all(client, year=y)} == {str(y)}


def test_an_item_says_what_it_is_about(client):
    items = {i["document_id"]: i for i in _all(client)}
    assert items["interventie-huiswerkklas-plus"]["summary"].startswith("Drie middagen per week")
    # without a summary: the opening of its first passage
    without = [i for i in items.values() if i["document_id"] != "interventie-huiswerkklas-plus"]
    assert sum(1 for i in without if i["summary"]) >= len(without) - 2
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", i["added"]) for i in items.values())


def test_new_since_a_date(client):
    everything = client.get("/api/browse").json()["total"]
    assert client.get("/api/browse", params={"since": "2000-01-01"}).json()["total"] == everything
    assert client.get("/api/browse", params={"since": "2999-01-01"}).json()["total"] == 0


def test_bad_choices_get_a_clear_error(client):
    wrong = client.get("/api/browse", params={"atelier": "bestaat-niet"})
    assert wrong.status_code == 400 and wrong.json()["error"]["field"] == "atelier"
    assert client.get("/api/browse", params={"sort": "willekeurig"}).status_code == 400
    assert client.get("/api/browse", params={"page": 51}).status_code == 400
    assert client.get("/api/browse", params={"since": "gisteren"}).status_code == 400


# --- the page ----------------------------------------------------------------------------------------------

def test_the_page_works_without_javascript_and_every_state_is_a_url(client):
    page = client.get("/bladeren", params={"soort": "interventie", "sorteer": "titel"})
    assert page.status_code == 200
    assert 'value="interventie" checked' in page.text and '<option value="titel" selected' in page.text
    assert "Filters toepassen" in page.text  # the button for a browser without JavaScript
    titles = re.findall(r'<h3><a href="/documenten/[^"]+">([^<]+)</a></h3>', page.text)
    assert titles and [fold(t) for t in titles] == sorted(fold(t) for t in titles)
    assert client.get("/bladeren", params={"atelier": "bestaat-niet"}).status_code == 400
    assert 'href="/bladeren"' in client.get("/").text  # in the menu


def test_an_intervention_page_follows_the_databank_layout(client):
    page = client.get("/documenten/interventie-huiswerkklas-plus").text
    block = page[page.index("In het kort"):page.index("Citeren")]
    for label in ("Niveau van bewijs", "Beoordeeld", "18 november 2025", "Kennisteam Werkplaats",
                  "Onderbouwing", "Doelgroep", "Werkzame elementen"):
        assert label in block, label
    assert page.index("Drie middagen per week") < page.index("In het kort")  # the summary leads


# --- the hard cases, on a store of their own ---------------------------------------------------------------

def _record(i: int, date: str | None, title: str, visibility: str = "openbaar") -> dict:
    from core.ordering import browse_keys

    return {"document_id": f"d{i:03d}", "title": title, "kind": "verslag", "date": date, "visibility": visibility,
            "ateliers": [], "themes": [], "year": int(date[:4]) if date else None, "content_hash": f"h{i}",
            "ingested_at": "2026-01-01T00:00:00+00:00", **browse_keys(title, date, [])}


def test_a_hundred_documents_of_one_date_page_without_gaps_or_repeats(km_factory):
    catalog = km_factory().catalog()
    records = [_record(i, "2025-06-01", f"Verslag {i:03d}") for i in range(100)]
    records += [_record(100 + i, None, f"Zonder datum {i}") for i in range(5)]
    records += [_record(200, "2025-06-02", "Nieuwste"), _record(201, "2025-06-01", "Verborgen", "coordinatie")]
    catalog.store.upsert(DOCUMENTS, [Point(catalog.document_key(r["document_id"]), r) for r in records])
    browser = Browser(catalog, PUBLIC.filter())
    seen: list[str] = []
    for page in range(1, 7):
        seen += [i["document_id"] for i in browser.browse(BrowseFilters(), sort="date", page=page, size=20).items]
    assert len(seen) == len(set(seen)) == 106  # every open one once, the hidden one never
    assert seen[0] == "d200" and seen[1:101] == [f"d{i:03d}" for i in range(100)] and "d201" not in seen
    assert seen[101:] == [f"d{100 + i:03d}" for i in range(5)]
    assert Browser(catalog, COORDINATORS.filter()).browse(BrowseFilters()).total == 107


def test_a_store_from_before_browsing_is_browsable_after_one_opening(tmp_path, e5):
    """Schema 3: document records without the order keys, which the engine's order would leave out."""
    from core.store.catalog import _META_ID, META
    from service.container import Kennismakelaar

    data, docs = tmp_path / "data", tmp_path / "docs"
    docs.mkdir()
    (docs / "oud.md").write_text("---\ntitle: Het oude verslag\ndate: 2020-02-02\ntarget_groups: [Ouders]\n---\n"
                                 "# Oud\n\nEen verslag van vroeger.\n", "utf-8")
    km = Kennismakelaar(make_settings(data), embedder=e5)
    assert km.ingestor().run([docs]).ok
    store = km.catalog().store
    old = store.retrieve(DOCUMENTS, [km.catalog().document_key("oud.md")], with_vectors=True)[0]
    stripped = {k: v for k, v in old.payload.items() if k not in ("order_date", "order_title", "target_group_keys")}
    store.upsert(DOCUMENTS, [Point(old.id, stripped, dense={"dense": old.dense} if old.dense else {})])
    meta = store.retrieve(META, [_META_ID])[0].payload
    store.upsert(META, [Point(_META_ID, {**meta, "schema": 3})])
    assert km.browser().browse(BrowseFilters(), sort="date").items == []  # what the order would leave out
    km.close()
    again = Kennismakelaar(make_settings(data), embedder=e5)
    page = again.browser().browse(BrowseFilters(chosen={"target_group": ("ouders",)}), sort="title")
    assert [i["document_id"] for i in page.items] == ["oud.md"] and page.items[0]["order_date"] // 37 ** 5 == 20200202
    assert again.browser().browse(BrowseFilters(), sort="date").total == 1


# --- sort by date in search (issue 25, outcome 2) ------------------------------------------------------------

def test_search_newest_first_orders_the_most_relevant_documents_by_date(client):
    """"Nieuwste eerst" puts the ``DATE_POOL`` most relevant documents in date order (undated last), page after
    page: the same documents as the relevance order's first ``DATE_POOL``, none from further down."""
    from matching.broker import DATE_POOL

    def listing(sort: str) -> list[dict]:
        found: list[dict] = []
        for offset in range(0, DATE_POOL, 10):
            body = client.get("/api/search", params={"q": "armoede en schulden bij gezinnen", "sort": sort,
                                                      "limit": 10, "offset": offset}).json()
            found += body["results"]
        return found

    by_relevance, by_date = listing("relevance"), listing("date")
    assert len(by_date) == DATE_POOL
    assert {r["document_id"] for r in by_date} == {r["document_id"] for r in by_relevance}
    keys = [date_order(r.get("date")) for r in by_date]
    assert keys == sorted(keys, reverse=True) and keys != [date_order(r.get("date")) for r in by_relevance]
    page = client.get("/zoeken", params={"q": "armoede en schulden bij gezinnen", "sorteer": "datum"}).text
    assert "nieuwste eerst" in page
    shown = re.findall(r'<article class="card finding" id="document-([^"]+)"', page)
    assert shown == [r["document_id"] for r in by_date[:len(shown)]] and shown
