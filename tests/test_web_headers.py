"""The security headers and the CSRF check of the web pages, over HTTP against the real app under uvicorn.

No browser is needed for these (plain requests), and no corpus: an empty store serves the same headers."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import live_server, make_settings

TOKEN = "headers-test-token"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with live_server(make_settings(tmp_path_factory.mktemp("headers") / "data", KM_COORDINATOR_TOKENS=TOKEN)) as url:
        yield url


def test_headers_and_csrf(site):
    r = httpx.get(f"{site}/")
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "same-origin"
    forged = httpx.post(f"{site}/vraag", data={"question": "vals"}, follow_redirects=False)
    assert forged.status_code == 403
    forged_login = httpx.post(f"{site}/coordinatie/inloggen", data={"token": TOKEN}, follow_redirects=False)
    assert forged_login.status_code == 403
    for path in ("/coordinatie/experts/health-coach", "/coordinatie/experts/ready-made/verwijderen",
                 "/coordinatie/experts/api-tester"):  # the exemptions hold for the API's own paths only
        assert httpx.post(f"{site}{path}", data={"name": "x"}, follow_redirects=False).status_code == 403, path
