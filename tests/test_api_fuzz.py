"""Property-based run over the OpenAPI schema (schemathesis) against the live service: over 1,000 generated
requests, no 5xx and no response that breaks the documented schema."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import live_server, make_settings, pristine_copy

pytestmark = pytest.mark.slow
TOKEN = "fuzz-token"
CALLS = {"n": 0}
EXAMPLES = 90  # per operation; 16 operations


@pytest.fixture(scope="module")
def live_url(samples_dir, tmp_path_factory) -> Iterator[str]:
    data = pristine_copy(samples_dir, tmp_path_factory.mktemp("fuzz") / "data")
    with live_server(make_settings(data, KM_COORDINATOR_TOKENS=TOKEN, KM_ASK_PER_MINUTE="100000")) as url:
        yield url


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
