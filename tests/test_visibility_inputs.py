"""Every way a document's visibility is set reaches the store and the search (issue 24): a YAML sidecar
``NAME.EXT.yaml`` beside the file, the metadata of an API upload, the coordinator's upload form, and — for a
document that says nothing — ``KM_DEFAULT_VISIBILITY``, which the coordinator's start page names.

For each: the level stored on the document and its passages, and a word only that document holds, which the
public does not find and a coordinator does. An open document with a word of its own is in every store, so that
"the public does not find it" is not just a search that finds nothing. A small store of its own each (seconds to
build, unlike the demo corpus), with the session's model and parser.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient

from service.container import Kennismakelaar
from tests.conftest import log_in
from web.app import create_app

pytestmark = pytest.mark.slow  # ingests (small corpora) with the real model
TOKEN = "invoer-token"
COORD = {"Authorization": f"Bearer {TOKEN}"}
OPEN_WORD, OPEN_DOC = "wielewaalfluit", "open-notitie"


def _note(word: str) -> bytes:
    return (f"Notitie over de buurtschuur\n\nIn de buurtschuur spraken ouders over schulden. Het codewoord van deze "
            f"notitie is {word}; het staat in geen ander document. {word}.\n").encode()


@contextlib.contextmanager
def _service(make: Callable[..., Kennismakelaar], root: Path, docs: Path | None = None,
             **env: str) -> Iterator[TestClient]:
    """The real app on a store of its own (``make``: ``km_factory``): the open document, and what is in ``docs``
    taken in from files."""
    opened = root / "open"
    opened.mkdir()
    (opened / "open.md").write_text(f"---\nid: {OPEN_DOC}\nvisibility: openbaar\n---\n\n" + _note(OPEN_WORD).decode(),
                                    "utf-8")
    km = make(KM_COORDINATOR_TOKENS=TOKEN, KM_REQUESTS_PER_MINUTE="10000", **env)
    report = km.ingestor().run([opened, *([docs] if docs else [])])
    assert report.ok, report.summary()
    with TestClient(create_app(km=km)) as client:
        yield client


def _found(client: TestClient, word: str, headers: dict[str, str] | None = None) -> list[str]:
    answer = client.get("/api/search", params={"q": word}, headers=headers or {})
    assert answer.status_code == 200, answer.text
    return [r["document_id"] for r in answer.json()["results"]]


def _holds(client: TestClient, doc_id: str, word: str, level: str) -> None:
    """``doc_id`` is stored at ``level``, and its word finds it for a coordinator only (``client`` without a
    session: the public, unless it sends the coordinator's token)."""
    catalog = client.app.state.km.catalog()
    assert catalog.document(doc_id)["visibility"] == level
    assert {p["visibility"] for p in catalog.chunks_of(doc_id)} == {level}
    assert OPEN_DOC in _found(client, OPEN_WORD)  # the public's search works ...
    assert doc_id not in _found(client, word)  # ... and does not find this one
    assert client.get(f"/api/documents/{doc_id}").status_code == 404
    assert _found(client, word, COORD)[:1] == [doc_id]


def _uploaded(client: TestClient, job_id: str) -> list[str]:
    client.app.state.jobs.wait(120)
    job = client.get(f"/api/jobs/{job_id}").json()
    assert job["status"] == "done" and job["errors"] == [], job
    return list(job["documents"])


def test_a_sidecar_beside_the_file_sets_it(km_factory, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "verslag.txt").write_bytes(_note("kemphaanveer"))  # a text file without front matter
    (docs / "verslag.txt.yaml").write_text("id: sidecar-verslag\nvisibility: werkplaats\n", "utf-8")
    with _service(km_factory, tmp_path, docs) as client:
        _holds(client, "sidecar-verslag", "kemphaanveer", "werkplaats")


def test_the_metadata_of_an_api_upload_sets_it(km_factory, tmp_path):
    with _service(km_factory, tmp_path) as client:
        sent = client.post("/api/documents", headers=COORD, files=[("files", ("api-verslag.txt", _note("tapuitnest")))],
                           data={"metadata": json.dumps({"visibility": "atelier:kansrijk-met-jeugd"})})
        assert sent.status_code == 202, sent.text
        assert _uploaded(client, sent.json()["id"]) == ["api-verslag.txt"]
        _holds(client, "api-verslag.txt", "tapuitnest", "atelier:kansrijk-met-jeugd")


def test_the_coordinators_upload_form_sets_it(km_factory, tmp_path):
    with _service(km_factory, tmp_path) as client:
        csrf = log_in(client, TOKEN)
        assert '<option value="coordinatie">' in client.get("/coordinatie/upload").text
        sent = client.post("/coordinatie/upload", files=[("files", ("form-verslag.txt", _note("roerdompei")))],
                           data={"_csrf_token": csrf, "visibility": "coordinatie"}, follow_redirects=False)
        assert sent.status_code == 303, sent.text
        job_id = sent.headers["location"].rsplit("/", 1)[1]
        client.cookies.clear()  # the public from here on
        assert _uploaded(client, job_id) == ["form-verslag.txt"]
        _holds(client, "form-verslag.txt", "roerdompei", "coordinatie")


def test_the_start_page_names_the_default_and_a_document_that_says_nothing_gets_it(km_factory, tmp_path):
    default = "atelier:tweedeling-en-armoede"
    with _service(km_factory, tmp_path, KM_DEFAULT_VISIBILITY=default) as client:
        csrf = log_in(client, TOKEN)
        start = " ".join(client.get("/coordinatie").text.split())
        said = re.search(r"krijgt de zichtbaarheid ‘(.*?)’ \(<code>KM_DEFAULT_VISIBILITY</code>\)", start)
        assert said, "the start page does not name the default"
        assert said.group(1) == "Leden van Over leven in tweedeling en armoede"
        form = client.get("/coordinatie/upload").text
        assert '<option value="">Zoals het bestand zegt, anders: leden van over leven in tweedeling en armoede' in form
        sent = client.post("/coordinatie/upload", files=[("files", ("zonder.txt", _note("grauwegors")))],
                           data={"_csrf_token": csrf, "visibility": ""}, follow_redirects=False)
        assert sent.status_code == 303, sent.text
        client.cookies.clear()
        assert _uploaded(client, sent.headers["location"].rsplit("/", 1)[1]) == ["zonder.txt"]
        _holds(client, "zonder.txt", "grauwegors", default)
