"""Property-based run over the OpenAPI schema (schemathesis) against the live service: over 1,000 generated
requests, no 5xx and no response that breaks the documented schema."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from service.app import create_app
from tests.conftest import make_settings

pytestmark = pytest.mark.slow
TOKEN = "fuzz-token"
CALLS = {"n": 0}
EXAMPLES = 90  # per operation; 16 operations


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def live_url(samples_dir, tmp_path_factory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("fuzz") / "data"
    shutil.copytree(samples_dir.parent / "samples-pristine", data)
    app = create_app(make_settings(data, KM_COORDINATOR_TOKENS=TOKEN, KM_ASK_PER_MINUTE="100000"))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server.started
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture(scope="module")
def api_schema(live_url):
    return schemathesis.openapi.from_url(f"{live_url}/schema/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_responses_follow_the_schema(case):
    CALLS["n"] += 1
    case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"},
                           checks=[not_a_server_error, status_code_conformance, content_type_conformance,
                                   response_schema_conformance])


def test_at_least_a_thousand_requests_were_made():
    assert CALLS["n"] >= 1000, CALLS
