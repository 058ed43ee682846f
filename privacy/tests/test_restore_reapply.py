"""A restored backup never brings an erased person back: snapshot, erase, restore, re-apply.

The snapshot is taken and restored at SQL level, row by row and column by column as the
database holds them (ciphertext stays ciphertext), which is what a backup restore does; a
dumpdata/loaddata round trip would decrypt and re-encrypt every value instead.
"""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from rest_framework.test import APIClient

from accounts.models import Profile, Role, User
from garage.models import Customer, ServiceOrder, Vehicle
from privacy.erasure import ledger_read
from privacy.models import ErasureLedgerEntry, PrivacyNotice
from privacy.tests.people import (
    PASSWORD,
    blind_indexes_of,
    ciphertexts_of,
    database_occurrences,
    logged_in_client,
    own_ledger,
    rich_person,
)

pytestmark = pytest.mark.django_db(transaction=True)


# --- Snapshot and restore at SQL level ----------------------------------------------------------


def snapshot() -> dict[str, tuple[list[str], list[tuple]]]:
    """Every row of every table, as stored."""
    quote = connection.ops.quote_name
    saved = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {quote(table)}")
            saved[table] = ([column[0] for column in cursor.description], cursor.fetchall())
    return saved


def restore(saved) -> None:
    """Replace the content of every table with the snapshot, foreign-key checks off meanwhile."""
    quote = connection.ops.quote_name
    sqlite = connection.vendor == "sqlite"
    with connection.cursor() as cursor:
        if sqlite:
            cursor.execute("PRAGMA foreign_keys = OFF")  # only effective outside a transaction
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            if not sqlite:
                cursor.execute("SET LOCAL session_replication_role = replica")
            for table in connection.introspection.table_names(cursor):
                cursor.execute(f"DELETE FROM {quote(table)}")
            for table, (columns, rows) in saved.items():
                if not rows:
                    continue
                names = ", ".join(quote(column) for column in columns)
                marks = ", ".join(["%s"] * len(columns))
                cursor.executemany(
                    f"INSERT INTO {quote(table)} ({names}) VALUES ({marks})",
                    [list(row) for row in rows],
                )
    finally:
        if sqlite:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA foreign_keys = ON")


def reapply(*args) -> str:
    out = StringIO()
    call_command("reapply_erasures", *args, stdout=out)
    return out.getvalue()


def can_log_in(username: str) -> bool:
    response = APIClient().post("/api/login/", {"username": username, "password": PASSWORD})
    return response.status_code == 200


# --- Fixtures -----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def ledger_file(settings, tmp_path):
    return own_ledger(settings, tmp_path)


@pytest.fixture
def notice():
    # A transactional test starts from a flushed database: the notice of the data migration
    # may be gone, and consents need one.
    return PrivacyNotice.objects.get_or_create(version="1", defaults={"text": "Notice v1."})[0]


@pytest.fixture
def admin(make_user, notice):
    return make_user("frontdesk", Role.SUPER_ADMIN)


@pytest.fixture
def admin_client(admin):
    return logged_in_client(admin)


@pytest.fixture
def alice(admin, admin_client):
    return rich_person(1, "amel", admin=admin, admin_client=admin_client, ip="198.51.100.21")


@pytest.fixture
def bob(admin, admin_client):
    return rich_person(2, "bilel", admin=admin, admin_client=admin_client, ip="198.51.100.52")


def known_values(person) -> list[str]:
    return list(person.values.values())


# --- Tests --------------------------------------------------------------------------------------


def test_a_restored_backup_does_not_bring_an_erased_person_back(alice, bob, ledger_file):
    # Given: a backup taken while Alice was a customer, with what it holds about her.
    backup = snapshot()
    ciphertexts = ciphertexts_of(alice)
    indexes = blind_indexes_of(alice)
    bob_data = database_occurrences([*ciphertexts_of(bob), *blind_indexes_of(bob)])

    # She asks for erasure.
    assert alice.client.generic("POST", "/api/delete_user_data/").status_code == 200
    assert [entry["user_id"] for entry in ledger_read(ledger_file)] == [alice.user.pk]

    # The backup is restored: she is back, exactly as she was.
    restore(backup)
    assert can_log_in(alice.values["username"])
    assert Profile.objects.get(user=alice.user).email == alice.values["profile_email"]
    assert not ErasureLedgerEntry.objects.exists()
    assert set(ciphertexts) <= {needle for _, _, needle in database_occurrences(ciphertexts)}

    # When: the ledger is re-applied.
    output = reapply()

    # Then: she is gone again, and the ledger file still lists her.
    assert "1 ledger entries; 1 people erased again." in output
    assert database_occurrences(known_values(alice)) == []
    assert database_occurrences(ciphertexts) == []
    assert database_occurrences(indexes) == []
    user = User.objects.get(pk=alice.user.pk)
    assert not user.is_active and not user.has_usable_password()
    assert not Profile.objects.filter(user=user).exists()
    customer = Customer.objects.get(pk=alice.customer.pk)
    assert customer.user_id is None and customer.phone is None and customer.email is None
    assert not Vehicle.objects.filter(pk=alice.vehicle_without_orders.pk).exists()
    assert Vehicle.objects.get(pk=alice.vehicle_with_orders.pk).plate is None
    assert ServiceOrder.objects.filter(pk__in=[o.pk for o in alice.orders]).count() == 2
    assert not can_log_in(alice.values["username"])
    assert ErasureLedgerEntry.objects.filter(user_id=alice.user.pk).count() == 1
    assert [entry["user_id"] for entry in ledger_read(ledger_file)] == [alice.user.pk]
    # Bob, in the same backup, is untouched.
    assert can_log_in(bob.values["username"])
    assert database_occurrences([*ciphertexts_of(bob), *blind_indexes_of(bob)]) == bob_data


def test_reapplying_twice_changes_nothing_more(alice, ledger_file):
    assert alice.client.generic("POST", "/api/delete_user_data/").status_code == 200
    reapply()
    state = snapshot()

    output = reapply()

    assert "1 ledger entries; 1 people erased again." in output
    assert ErasureLedgerEntry.objects.count() == 1
    assert not can_log_in(alice.values["username"])
    after = snapshot()
    for table in ("accounts_profile", "garage_customer", "garage_vehicle", "privacy_consent"):
        assert after[table][1] == state[table][1], table


def test_reapply_reads_another_ledger_file_when_told(alice, admin_client, tmp_path, ledger_file):
    backup = snapshot()
    assert admin_client.post(f"/api/users/{alice.user.pk}/erase/").status_code == 200
    copy = tmp_path / "copied-ledger.jsonl"
    copy.write_text(ledger_file.read_text())
    ledger_file.unlink()
    restore(backup)

    assert "0 ledger entries" in reapply()
    assert can_log_in(alice.values["username"])

    assert "1 people erased again" in reapply("--ledger", str(copy))
    assert not can_log_in(alice.values["username"])


def test_reapply_never_erases_someone_who_was_given_an_erased_persons_id(
    admin, admin_client, make_user
):
    # A backup from before Carla registered.
    backup = snapshot()
    carla = make_user("carla.rights3", Role.CUSTOMER)
    assert admin_client.post(f"/api/users/{carla.pk}/erase/").status_code == 200
    # The backup is restored and the ledger re-applied: Carla is not in it, nothing to do.
    restore(backup)
    reapply()
    # The restored id sequence gives Carla's old id to Dora, who registers now.
    dora = User.objects.create_user(id=carla.pk, username="dora.rights4", password=PASSWORD)
    assert can_log_in("dora.rights4")

    # A later restore drill re-applies the ledger again.
    reapply()

    assert can_log_in("dora.rights4")
    assert User.objects.get(pk=dora.pk).is_active
