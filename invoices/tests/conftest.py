"""Fixtures of the invoicing tests: fiscal rates present, the seller identity, clients by role."""

import tempfile

import pytest
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir

from invoices.tests import helpers, teif_helpers

# Nothing written into the work tree (no example database, caches in a temporary folder); no
# deadline (examples that use the database vary in time).
set_hypothesis_home_dir(tempfile.mkdtemp(prefix="ecar-hypothesis-"))
settings.register_profile("invoices", database=None, deadline=None)
settings.load_profile("invoices")


@pytest.fixture(autouse=True)
def _fiscal_rates(request):
    """The rates the data migration seeds (a transactional test's flush removes them)."""
    marker = request.node.get_closest_marker("django_db")
    if marker is not None:
        transactional = marker.kwargs.get("transaction") or (marker.args and marker.args[0])
        request.getfixturevalue("transactional_db" if transactional else "db")
        helpers.fiscal_rates()
    yield


@pytest.fixture
def seller(db):
    return helpers.seller()


@pytest.fixture
def owner(db):
    """A customer-role user with a Customer record."""
    return helpers.owner("owner-a")


@pytest.fixture
def other_owner(db):
    return helpers.owner("owner-b")


@pytest.fixture
def admin_client(auth_client, super_admin):
    return auth_client(super_admin)


@pytest.fixture
def owner_client(auth_client, owner):
    return auth_client(owner)


@pytest.fixture(scope="session")
def teif_ca():
    """The test certification authority (key, certificate)."""
    return teif_helpers.make_ca()


@pytest.fixture(scope="session")
def teif_identity(teif_ca, tmp_path_factory):
    """The garage's signing certificate issued by the test CA: (cert, p12 path, passphrase path)."""
    key, cert = teif_helpers.make_signing_cert(teif_ca)
    p12, secret = teif_helpers.write_pkcs12(tmp_path_factory.mktemp("teif"), key, cert, teif_ca[1])
    return cert, p12, secret


@pytest.fixture
def teif_on(settings, teif_identity, tmp_path):
    """E-invoicing on, signing with the test certificate, the outbox in a temporary folder."""
    cert, p12, secret = teif_identity
    settings.TEIF_ENABLED = True
    settings.TEIF_SIGNING_CERT = str(p12)
    settings.TEIF_SIGNING_PASSPHRASE_FILE = str(secret)
    settings.TEIF_OUTBOX_DIR = str(tmp_path / "outbox")
    return cert
