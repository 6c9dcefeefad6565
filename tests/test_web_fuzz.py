"""Schema-driven fuzzing of every API endpoint (schemathesis): whatever the parameters, never a 500.

The OpenAPI schema the app serves drives the requests, so a new endpoint is fuzzed as soon as it exists.
Runs in process on the crawled sample archive (tests/webdb.py); the example count is kept modest so the
whole file takes well under a minute.
"""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import response_schema_conformance  # noqa: E402

import storage  # noqa: E402
from tests.webdb import web_database  # noqa: E402
from web import create_app  # noqa: E402


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory, local_archive, sample_archive):
    database = storage.open_database(web_database(tmp_path_factory, local_archive, sample_archive))
    yield schemathesis.openapi.from_asgi("/api/openapi.json", create_app(database))
    database.dispose()


# The operations are enumerated in the test, not with schemathesis' pytest plugin (which does not run on
# this pytest), each through its own Hypothesis strategy.
def test_no_endpoint_answers_500(api_schema):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 7
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def fuzz(case):
            case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])

        fuzz()
