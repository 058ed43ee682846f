"""Schemathesis against the live WSGI application: every operation of the OpenAPI schema, once
per role, on real objects.

Checks: no 5xx, only documented status codes and content types, responses matching their
declared schemas. Seeded (derandomised): a failure reproduces with the same command.
`FUZZ_EXAMPLES` (default 6) sets the examples per operation and role; the stateful test walks
the links between operations (inferred from the schema) as each role.
"""

import os
import zlib

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.tests.world import ROLES, path_kinds

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
SCOPES = ("own", "other", "generated")

application = WSGIHandler()
# The schema's examples and random generation; the coverage phase (every boundary of every
# parameter, ~100 requests an operation) would not fit the CI budget.
CONFIG = SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}}})
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application, config=CONFIG)
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def use_real_objects(case, world) -> None:
    """Point the case's path ids at the world's own or other objects, or keep the fuzzed ones:
    chosen from the generated values, so the same seed makes the same choice."""
    generated = repr(sorted(case.path_parameters.items())).encode()
    scope = SCOPES[zlib.crc32(generated) % len(SCOPES)]
    if scope == "generated":
        return
    for name, kind in path_kinds(case.path).items():
        case.path_parameters[name] = world.ids[kind][scope]


@pytest.mark.parametrize("role", ROLES)
@schema.parametrize()
@FUZZ_SETTINGS
def test_every_operation_as_every_role(case, role, world, db, wsgi_in_test_transaction):
    use_real_objects(case, world)
    response = case.call(headers=world.headers(role))
    case.validate_response(response, checks=CHECKS, headers=world.headers(role))
