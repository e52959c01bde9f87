"""Property-based run over the OpenAPI schema (schemathesis) against the live service: over 1,000 generated
requests, no 5xx and no response that breaks the documented schema."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import live_server, make_settings, pristine_copy

pytestmark = pytest.mark.slow
TOKEN = "fuzz-token"
EXAMPLES = 90  # per operation; 16 operations


@pytest.fixture(scope="module")
def live_url(samples_dir, tmp_path_factory) -> Iterator[str]:
    data = pristine_copy(samples_dir, tmp_path_factory.mktemp("fuzz") / "data")
    with live_server(make_settings(data, KM_COORDINATOR_TOKENS=TOKEN, KM_ASK_PER_MINUTE="100000")) as url:
        yield url


def test_generated_requests_get_no_5xx_and_follow_the_schema(live_url):
    """Every operation in turn, with hypothesis-generated requests (coordinator token on, to reach every route)."""
    schema = schemathesis.openapi.from_url(f"{live_url}/schema/openapi.json")
    calls: dict[str, int] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:
        _fuzz(operation, calls)()
    total = sum(calls.values())
    print(f"schemathesis: {total} requests over {len(calls)} operations: {calls}")
    assert total >= 1000, calls


def _fuzz(operation, calls: dict[str, int]):
    """A hypothesis test for one operation; built in a function so each closure keeps its own operation."""
    label = f"{operation.method.upper()} {operation.path}"

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck),
              database=None)
    def run(case) -> None:
        calls[label] = calls.get(label, 0) + 1
        case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"},
                               checks=[not_a_server_error, status_code_conformance, content_type_conformance,
                                       response_schema_conformance])

    return run
