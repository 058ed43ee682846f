"""Schemathesis against the live WSGI application: every operation of the OpenAPI schema, once
per role, on real objects.

Checks: no 5xx, only documented status codes and content types, responses matching their
declared schemas. Seeded (derandomised): a failure reproduces with the same command.
`FUZZ_EXAMPLES` (default 6) sets the examples per operation and role. The stateful test chains
operations as each role along the links Schemathesis infers from the schema (an id a response
returns is the path id of the next call), starting from the role's real objects.
"""

import os
import zlib

import pytest
import schemathesis
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection, transaction
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.tests.world import ROLES, path_kinds

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))
SCENARIOS = int(os.environ.get("FUZZ_SCENARIOS", "15"))
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
    chosen from the generated values, so the same seed makes the same choice. Ids that are
    already those of real objects (taken from an earlier response along a link) are kept."""
    kinds = path_kinds(case.path)
    known = {value for ids in world.ids.values() for value in ids.values()}
    if all(case.path_parameters.get(name) in known for name in kinds):
        return
    generated = repr(sorted(case.path_parameters.items())).encode()
    scope = SCOPES[zlib.crc32(generated) % len(SCOPES)]
    if scope == "generated":
        return
    for name, kind in kinds.items():
        case.path_parameters[name] = world.ids[kind][scope]


@pytest.mark.parametrize("role", ROLES)
@schema.parametrize()
@FUZZ_SETTINGS
def test_every_operation_as_every_role(case, role, world, db, wsgi_in_test_transaction):
    use_real_objects(case, world)
    response = case.call(headers=world.headers(role))
    case.validate_response(response, checks=CHECKS, headers=world.headers(role))


def _sequence_values() -> dict:
    """PostgreSQL's id sequences ignore rollbacks: the ids a scenario sees come from them."""
    if connection.vendor != "postgresql":
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'"
        )
        return dict(cursor.fetchall())


def _restore_sequences(values: dict) -> None:
    with connection.cursor() as cursor:
        for name, last in values.items():
            cursor.execute("SELECT setval(%s, %s, %s)", [name, last or 1, last is not None])


def _forget_rate_limits() -> None:
    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")
    else:
        cache.clear()


@pytest.mark.parametrize("role", ROLES)
def test_linked_operations_as_every_role(role, world, db, wsgi_in_test_transaction):
    class Workflow(schema.as_state_machine()):
        # Each scenario starts from the same world: Hypothesis replays a failing scenario to
        # shrink it, and what an earlier one changed (an alert closed) would make it flaky.
        def __init__(self):
            super().__init__()
            self._savepoint = transaction.savepoint()
            self._sequences = _sequence_values()

        def teardown(self):
            transaction.savepoint_rollback(self._savepoint)
            _restore_sequences(self._sequences)
            _forget_rate_limits()
            super().teardown()

        def before_call(self, case):
            use_real_objects(case, world)

        def get_call_kwargs(self, case):
            return {"headers": world.headers(role)}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS, headers=world.headers(role))

    run_state_machine_as_test(
        Workflow,
        settings=settings(FUZZ_SETTINGS, max_examples=SCENARIOS, stateful_step_count=6),
    )
