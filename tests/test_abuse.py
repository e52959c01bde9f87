"""Abuse gets a clear refusal, and the service keeps answering: lock-outs, rate limits, paging, symlinks,
what the logs and /ready give away, and the settings a multi-worker deployment needs."""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import TestClient

from service.cli import main
from tests.conftest import make_settings
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

        monkeypatch.setattr(c.app.state.km.broker(), "search", broken)
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
