"""Abuse gets a clear refusal, and the service keeps answering: lock-outs, rate limits, paging, symlinks,
what the logs and /ready give away, and the settings a multi-worker deployment needs."""

from __future__ import annotations

import io
import logging
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient

from service.cli import main
from service.container import Kennismakelaar
from tests.conftest import HashEmbedder, give_the_cli, make_settings
from web.app import create_app

pytestmark = pytest.mark.slow
TOKEN = "abuse-token"
COORD = {"Authorization": f"Bearer {TOKEN}"}


def _client(data: Path, **env: str) -> TestClient:
    return TestClient(create_app(make_settings(data, KM_COORDINATOR_TOKENS=TOKEN, **env)))


@pytest.fixture
def locked(fresh_samples) -> Iterator[TestClient]:
    with _client(fresh_samples, KM_LOGIN_ATTEMPTS="3", KM_LOCKOUT_MINUTES="15",
                 KM_REQUESTS_PER_MINUTE="6") as c:
        yield c


def test_wrong_tokens_lock_the_client_out_for_a_while(locked):
    c = locked
    wrong = {"Authorization": "Bearer raden-maar"}
    assert [c.get("/api/agenda", headers=wrong).status_code for _ in range(3)] == [403, 403, 403]
    r = c.get("/api/agenda", headers=COORD)  # now even the right token waits
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
    assert 60 < int(r.headers["retry-after"]) <= 15 * 60 + 1
    assert "15 minuten" in r.json()["error"]["message"]
    # the public keeps being answered meanwhile
    assert c.post("/api/ask", json={"question": "Hoe bereik je gezinnen met geldzorgen?"}).status_code == 200


def test_the_web_login_is_throttled_too(locked):
    c = locked
    c.get("/coordinatie/inloggen")
    csrf = c.cookies.get("km_csrf")
    codes = [c.post("/coordinatie/inloggen", data={"token": f"gok-{i}", "_csrf_token": csrf}).status_code
             for i in range(4)]
    assert codes == [401, 401, 401, 429]
    r = c.post("/coordinatie/inloggen", data={"token": TOKEN, "_csrf_token": csrf})
    assert r.status_code == 429 and "Te veel mislukte pogingen" in r.text and r.headers.get("retry-after")


def test_public_routes_that_cost_work_are_rate_limited_and_paging_is_bounded(locked):
    c = locked
    codes = [c.get("/api/search", params={"q": f"armoede {i}"}).status_code for i in range(8)]
    assert codes[:6] == [200] * 6 and codes[6:] == [429, 429]
    assert c.get("/zoeken", params={"q": "armoede"}).status_code == 429  # one budget for the API and the pages
    assert c.get("/api/experts", params={"q": "armoede"}).status_code == 429
    assert c.get("/api/taxonomy").status_code == 200  # what costs nothing stays open


def test_a_flood_past_the_limit_stores_no_more_hits_than_the_limit(tmp_path):
    """Review finding 18: every refused request was kept as a hit for a day, and each check read them all."""
    settings = make_settings(tmp_path / "data", KM_REQUESTS_PER_MINUTE="5")
    km = Kennismakelaar(settings, embedder=HashEmbedder())  # no model and no corpus: only the ledger counts
    unknown = {"question_id": "00000000-0000-0000-0000-000000000000", "type": "answer", "id": "x", "helpful": True}
    try:
        with TestClient(create_app(settings, km=km)) as c:
            answers = [c.post("/api/feedback", json=unknown) for _ in range(40)]
            assert Counter(r.status_code for r in answers) == {404: 5, 429: 35}
            assert km.catalog().ledger.count("hit") == 5  # the admitted ones only
            assert all(1 <= int(r.headers["retry-after"]) <= 61 for r in answers if r.status_code == 429)
    finally:
        km.close()


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The usual 022 (what the review saw), and the test session's own umask back afterwards: the service sets
    the process's."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def _readable_by_others(root: Path) -> list[str]:
    return [f"{oct(p.stat().st_mode & 0o777)} {p.relative_to(root.parent)}"
            for p in [root, *root.rglob("*")] if p.stat().st_mode & 0o077]


def test_the_data_folder_is_for_the_service_user_alone(tmp_path, monkeypatch, usual_umask):
    """Review finding 21: the data folder, the uploads, the store and the cache were 0755/0644 (names inside)."""
    give_the_cli(monkeypatch, HashEmbedder())  # the service and the CLI build their core with this model
    data = tmp_path / "data"
    settings = make_settings(data, KM_COORDINATOR_TOKENS=TOKEN)
    with TestClient(create_app(settings)) as c:  # a service start on a fresh data folder, as `serve` does it
        files = [("files", ("Verslag Anna de Vries.md", b"# Verslag\n\nAnna de Vries sprak met gezinnen.\n"))]
        r = c.post("/api/documents", files=files, headers=COORD)
        assert r.status_code == 202, r.text
        c.app.state.jobs.wait(120)
        assert c.get(f"/api/jobs/{r.json()['id']}").json()["documents"]
        assert c.post("/api/ask", json={"question": "Wie sprak met gezinnen?"}).status_code == 200
    assert (data / "files").is_dir() and (data / "embedding-cache.sqlite").exists() and (data / "secret.key").exists()
    assert _readable_by_others(data) == []
    made_by_hand = tmp_path / "eigen-map"  # an operator's mkdir, with the same umask
    made_by_hand.mkdir()
    assert main(["status", "--json"], settings=make_settings(made_by_hand), out=io.StringIO(),
                err=io.StringIO()) == 0
    assert _readable_by_others(made_by_hand) == []


def test_paging_depth_is_bounded(fresh_samples):
    with _client(fresh_samples) as c:
        assert c.get("/api/search", params={"q": "armoede", "offset": 501}).status_code == 400
        assert c.get("/zoeken", params={"q": "armoede", "pagina": 51}).status_code == 400


def test_symlinks_are_neither_ingested_nor_served(km_factory, tmp_path):
    outside = tmp_path / "buiten" / "geheim.md"
    outside.parent.mkdir()
    outside.write_text("# Salarissen\n\nHet salaris van iedere medewerker staat hier.\n", "utf-8")
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "verslag.md").write_text("# Verslag\n\nDe buurtkamer in Heerlen-Noord is weer open.\n", "utf-8")
    os.symlink(outside, root / "link.md")
    km = km_factory(tmp_path / "data")
    report = km.ingestor().run([root])
    assert [Path(o.path).name for o in report.failed] == ["link.md"] and "symbolische link" in report.failed[0].message
    assert km.catalog().document("link.md") is None
    km.close()
    # a file swapped for a symlink after it was ingested is not served either
    target = root / "verslag.md"
    target.unlink()
    os.symlink(outside, target)
    with TestClient(create_app(km.settings)) as c:
        assert c.get("/api/documents/verslag.md").json()["has_file"] is False
        assert c.get("/api/documents/verslag.md/file").status_code == 404


def test_ready_and_error_logs_give_nothing_away(fresh_samples, monkeypatch):
    with _client(fresh_samples) as c:
        checks = c.get("/ready").json()["checks"]
        assert checks["store"] == "embedded" and str(fresh_samples) not in str(checks)

        def broken(*args: object, **kwargs: object) -> None:
            raise RuntimeError(f"kan {fresh_samples}/files/anna-de-vries.pdf niet lezen")

        # on the class: each request gets a broker of its own audience
        monkeypatch.setattr(type(c.app.state.km.broker()), "search", broken)
        records: list[logging.LogRecord] = []
        catcher = logging.Handler()
        catcher.emit = records.append  # type: ignore[method-assign]
        logger = logging.getLogger("kennismakelaar")  # at the source: the app's own handlers log from a queue
        logger.addHandler(catcher)
        try:
            r = c.get("/api/search", params={"q": "anna de vries"})
        finally:
            logger.removeHandler(catcher)
        assert r.status_code == 500 and "anna" not in r.text
        messages = [m.getMessage() for m in records]
        assert any(m.startswith("unexpected RuntimeError on GET /api/search") for m in messages), messages
        # where it happened, but not the exception's text (the source line of the frame is code, not data)
        assert not [m for m in messages if f"kan {fresh_samples}" in m]


def test_several_workers_need_a_shared_secret(tmp_path):
    err = io.StringIO()
    settings = make_settings(tmp_path / "data", KM_QDRANT_URL="http://127.0.0.1:9", KM_WORKERS="2")
    assert main(["serve"], settings=settings, out=io.StringIO(), err=err) == 2
    assert "KM_SECRET_KEY" in err.getvalue() and "Traceback" not in err.getvalue()


def test_a_short_shared_token_is_refused_where_others_can_reach_the_service(tmp_path):
    """The demo (this machine only) may use a short shared token; an address others can reach may not."""
    err = io.StringIO()
    settings = make_settings(tmp_path / "data", KM_COORDINATOR_TOKENS="demo-token", KM_HOST="0.0.0.0")
    assert main(["serve"], settings=settings, out=io.StringIO(), err=err) == 2
    assert "KM_COORDINATOR_TOKENS" in err.getvalue() and "Traceback" not in err.getvalue()
