"""The world of real objects shared by the whole-API tests of one module (see world.py)."""

import tempfile

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis.configuration import set_hypothesis_home_dir

from config.tests.world import build_world

# The fuzzing writes nothing into the work tree (Hypothesis keeps its caches elsewhere).
set_hypothesis_home_dir(tempfile.mkdtemp(prefix="ecar-hypothesis-"))


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Built once per module inside a transaction rolled back at the end; each test runs in a
    savepoint of it (pytest-django's `db`), so a test's writes never reach the next one."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield build_world()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture
def wsgi_in_test_transaction():
    """Requests sent straight to the WSGI handler keep the test's connection, as Django's test
    client does: closing it between requests would end the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
