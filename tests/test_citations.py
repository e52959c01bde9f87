"""Cite it (issue 25): APA with the Dutch conventions, RIS and BibTeX — formats a reference manager reads back,
names only of people who may be shown, nothing of a document the reader may not see."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import rispy
from litestar.testing import TestClient

from service.citations import Reference, apa, apa_html, bibtex, cited_name, in_text, ris
from tests.conftest import demo_app

TOKEN = "citeer-token"
COORD = {"Authorization": f"Bearer {TOKEN}"}
WERKPLAATS = "Werkplaats Sociaal Domein"


def _ref(**kw: object) -> Reference:
    base: dict = {"title": "Schaamte en schulden", "document_id": "d1", "authors": ["Anna de Vries"],
                  "date": "2024-03-05", "kind": "Verslag", "publisher": WERKPLAATS}
    return Reference(**{**base, **kw})


# --- the formats ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "cited"), [
    ("Anna de Vries", "De Vries, A."), ("Kees van der Berg", "Van der Berg, K."),
    ("Jan-Willem Bakker", "Bakker, J.-W."),
    ("Mohamed El Amrani", "El Amrani, M."), ("Joyce op den Camp", "Op den Camp, J."),
    ("Kees 't Hart", "'t Hart, K."), ("Verwey-Jonker Instituut", "Verwey-Jonker Instituut"), ("NJi", "NJi"),
    ("Gemeente Heerlen", "Gemeente Heerlen"), ("Movisie", "Movisie"),
])
def test_names_as_the_dutch_apa_conventions_cite_them(name, cited):
    assert cited_name(name) == cited


def test_apa_reference_and_in_text_citation():
    assert apa(_ref()) == "De Vries, A. (2024). Schaamte en schulden [Verslag]. Werkplaats Sociaal Domein."
    two = _ref(authors=["Anna de Vries", "Sanne Vossen"], kind="", date=None, url="https://x.example/v")
    assert apa(two) == "De Vries, A., & Vossen, S. (z.d.). Schaamte en schulden. Werkplaats Sociaal Domein. " \
                       "https://x.example/v"
    assert in_text(two) == "(De Vries & Vossen, z.d.)"
    assert in_text(_ref(authors=["Ann Berg", "Cor Dorp", "Eva Fles"])) == "(Berg et al., 2024)"
    assert cited_name("A. de Vries") == "De Vries, A." and cited_name("GGD Zuid Limburg") == "GGD Zuid Limburg"
    # no person to name: the Werkplaats is the author, and not named twice
    nobody = _ref(authors=[])
    assert apa(nobody) == "Werkplaats Sociaal Domein. (2024). Schaamte en schulden [Verslag]."
    assert in_text(nobody) == "(Werkplaats Sociaal Domein, 2024)"
    assert apa(_ref(title="Wat werkt?", kind="")).count("?.") == 0
    many = apa(_ref(authors=[f"Persoon Nummer{i}" for i in range(25)]))
    assert "Nummer18, P., . . . Nummer24, P. (2024)" in many and "Nummer19" not in many
    html = str(apa_html(_ref(title="<script>alert(1)</script>")))
    assert "<script>" not in html and "<i>&lt;script&gt;" in html


def test_ris_reads_back_as_it_was_written():
    refs = [_ref(url="https://x.example/v", summary="Twee\nregels.", keywords=["Armoede"]),
            _ref(document_id="d2", authors=[], date=None)]
    back = rispy.loads(ris(refs))
    assert len(back) == 2
    assert back[0]["authors"] == ["De Vries, Anna"] and back[0]["year"] == "2024"
    assert back[0]["title"] == "Schaamte en schulden" and back[0]["urls"] == ["https://x.example/v"]
    assert back[0]["abstract"] == "Twee regels." and back[0]["keywords"] == ["Armoede"]
    assert back[1]["authors"] == [WERKPLAATS] and "year" not in back[1]


def test_bibtex_escapes_what_would_break_the_file():
    hostile = _ref(title="50% & {meer}}, author = {Evil", url="https://x.example/a}b", authors=["A_B C#D"])
    text = bibtex([hostile, _ref()])
    entries = text.split("@techreport")[1:]
    assert len(entries) == 2
    for entry in entries:  # every brace that opens closes, once the escaped ones are left out
        depth = 0
        plain = entry.replace("\\{", "").replace("\\}", "")
        for c in plain:
            depth += {"{": 1, "}": -1}.get(c, 0)
            assert depth >= 0
        assert depth == 0
    assert "\\%" in text and "\\&" in text and "%7D" in text and "author = {Evil" not in text
    assert text.count("@techreport{devries2024schaamte") == 1 and "devries2024schaamtea" not in text


# --- through the API, on the demo corpus ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def client(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with demo_app(samples_dir, tmp_path_factory.mktemp("cite"), TOKEN) as c:
        yield c


@pytest.mark.slow
def test_a_citation_names_only_people_who_may_be_shown(client):
    items = client.get("/api/citations", params={"id": ["interventie-keukentafelgesprek-over-geld",
                                                        "ervaringsverhaal-2026-de-buurt-na-de-mijnen"]}).json()["items"]
    consenting, hidden = items
    assert consenting["apa"].startswith("Dassen, I. (2023). Het Keukentafelgesprek over geld")
    assert "https://kennis.example.org/documenten/interventie-keukentafelgesprek-over-geld" in consenting["apa"]
    # its author gave no consent to be shown: the Werkplaats is the author, the name appears nowhere
    assert hidden["apa"].startswith(WERKPLAATS + ". (2026).")
    for form in ("apa", "in_text", "ris", "bibtex"):
        assert "Ramakers" not in hidden[form] and "ramakers" not in hidden[form]


@pytest.mark.slow
def test_a_selection_is_one_file_and_a_hidden_document_does_not_exist(client):
    ids = ["interventie-keukentafelgesprek-over-geld", "interventie-huiswerkklas-plus"]
    response = client.get("/api/citations.bib", params={"id": ids})
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/x-bibtex")
    assert 'filename="selectie.bib"' in response.headers["content-disposition"]
    assert response.text.count("@techreport{") == 2
    hidden = client.get("/api/citations", params={"id": "verslag-2024-01-23-kansrijk"})
    unknown = client.get("/api/citations", params={"id": "bestaat-niet"})
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json()["error"]["message"].replace("verslag-2024-01-23-kansrijk", "X") == \
        unknown.json()["error"]["message"].replace("bestaat-niet", "X")
    assert client.get("/api/citations", params={"id": "verslag-2024-01-23-kansrijk"}, headers=COORD).status_code == 200
    assert client.get("/api/citations", params={"id": ["x"] * 201}).status_code == 400
    apa_text = client.get("/api/citations.txt", params={"id": ids}).text
    assert apa_text.count("(20") == 2 and apa_text.endswith("\n")
    one = client.get("/api/citations.ris", params={"id": ids[0]})
    assert 'filename="interventie-keukentafelgesprek-over-geld.ris"' in one.headers["content-disposition"]
    # the page's export: the ticked documents to the API's file, or a page that says nothing was ticked
    exported = client.get("/citeren", params={"id": ids, "formaat": "ris"}, follow_redirects=False)
    assert exported.status_code == 303 and exported.headers["location"].startswith("/api/citations.ris?id=")
    assert client.get("/citeren", params={"formaat": "ris"}).status_code == 400


def test_a_person_without_consent_is_left_out_in_any_form_of_their_name(km_factory, tmp_path):
    from service.views import shown_name

    folder = tmp_path / "mensen"
    folder.mkdir()
    (folder / "mensen.yaml").write_text(
        "experts:\n  - {id: anna-geheim, name: Anna de Geheim, consent: false}\n"
        "  - {id: open-olga, name: Olga Open, consent: true}\n", "utf-8")
    km = km_factory()
    assert km.ingestor().run([folder]).ok
    for form in ("Anna de Geheim", "A. de Geheim", "De Geheim, Anna", "dr. Anna de Geheim", "anna-geheim",
                 "ANNA DE GEHEIM"):
        assert shown_name(km, form) is None, form
    assert shown_name(km, "open-olga") == shown_name(km, "O. Open") == "Olga Open"
    assert shown_name(km, "Nederlands Jeugdinstituut") == "Nederlands Jeugdinstituut"
    assert shown_name(km, "iemand-die-weg-is") is None  # an id nobody has (any longer) names nobody
