"""Schema-based fuzzing of the gateway (schemathesis) with an admin token, on the real stack:
no input, valid or not, gets a 5xx, and every answer matches the published OpenAPI
document (status codes, content types, headers, bodies)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
import schemathesis
from schemathesis import checks
from schemathesis.config import SchemathesisConfig

from helix_gateway.app import create_app
from helix_gateway.settings import GatewaySettings
from tests.conftest import make_settings
from tests.integration.gateway_harness import background_stack, bearer

pytestmark = pytest.mark.infra

EXAMPLES_PER_OPERATION = 30
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,  # invalid input is refused with a 4xx
    checks.ignored_auth,  # leaving the token out is refused (401), whatever the operation
]


# The document the application publishes, loaded from the application object (the
# running gateway serves the same one), so pytest can list one test per operation.
_config = SchemathesisConfig.from_dict(
    {
        "seed": 20261124,  # reproducible runs; change it to explore further
        "request-timeout": 15,
        "generation": {"max-examples": EXAMPLES_PER_OPERATION, "mode": "all"},
        "phases": {"stateful": {"enabled": False}},
    }
)
schema = schemathesis.openapi.from_dict(create_app(GatewaySettings()).openapi(), config=_config)
# The live event stream never ends; its status codes and auth are covered by the
# authorization matrix and the SSE tests.
schema = schema.exclude(path_regex=r"/events$")


@dataclass
class Served:
    url: str
    headers: dict[str, str]


@pytest.fixture(scope="module")
def served(infra_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("gateway-fuzz")
    with background_stack(make_settings(infra_env, folder), folder) as (_, stack):
        assert requests.get(f"{stack.url}/openapi.json", timeout=10).json() == schema.raw_schema, "the server publishes this document"
        yield Served(stack.url, bearer(stack.token("fuzz-admin", "admin")))


@schema.parametrize()
def test_gateway_conforms_to_its_schema(case: schemathesis.Case, served: Served) -> None:
    case.call_and_validate(base_url=served.url, headers=served.headers, checks=CHECKS)
