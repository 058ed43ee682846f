"""Personal data at rest: after writing known values through the service and the API, no table,
database dump, log record or audit row holds any of them in clear."""

import json
import logging
import shutil
import subprocess

import pytest
from auditlog.models import LogEntry
from django.db import connection

from accounts.models import Profile
from accounts.services import user_create

PASSWORD = "Garage#Pass2026"
CONTACT = {
    "full_name": "Zeineb Khemiri-Testval",
    "email": "Zeineb.Testval@example.tn",
    "phone": "+216 22 333 444",
    "address": "17 rue Testval, Sfax",
}
UPDATED = {
    "full_name": "Amira Ben Salah-Newval",
    "address": "42 avenue Newval, Gabes",
    "email": "amira.newval@example.tn",
    "phone": "98-765-432",
}
# Every form a value could take in clear: as typed, normalised (lower case, E.164) and its
# distinctive words alone (six letters or more, so random base64 will not match them by chance).
NEEDLES = [
    *CONTACT.values(),
    *UPDATED.values(),
    "zeineb.testval@example.tn",
    "+21622333444",
    "22333444",
    "22 333 444",
    "+21698765432",
    "98765432",
    "Khemiri",
    "Testval",
    "Newval",
    "Zeineb",
    "Ben Salah",
]


def leaks(text: str) -> list[str]:
    """The needles found in text, compared case-insensitively."""
    lowered = text.lower()
    return [needle for needle in NEEDLES if needle.lower() in lowered]


def cell_text(value) -> str:
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


@pytest.fixture
def written(auth_client, caplog):
    """Write the known values through the service and PATCH /api/me/; return the user."""
    caplog.set_level(logging.DEBUG)
    user = user_create(username="pii-probe", password=PASSWORD, contact=dict(CONTACT))
    client = auth_client(user)
    refused = client.patch("/api/me/", {"email": UPDATED["email"]}, format="json")
    assert refused.status_code == 403  # logged by django.request: the capture is live
    response = client.patch(
        "/api/me/",
        {
            "full_name": UPDATED["full_name"],
            "address": UPDATED["address"],
            "email": UPDATED["email"],
            "phone": UPDATED["phone"],
            "current_password": PASSWORD,
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    assert client.get("/api/me/").json()["full_name"] == UPDATED["full_name"]
    profile = Profile.objects.get(user=user)
    assert (profile.full_name, profile.phone) == (UPDATED["full_name"], "+21698765432")
    return user


@pytest.mark.django_db(transaction=True)
def test_no_table_holds_personal_data_in_clear(written):
    qn = connection.ops.quote_name
    found, rows_read = {}, 0
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {qn(table)}")
            for row in cursor.fetchall():
                rows_read += 1
                for value in row:
                    if hit := leaks(cell_text(value)):
                        found.setdefault(table, set()).update(hit)

    assert found == {}
    assert rows_read > 0
    assert Profile.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_database_dump_holds_no_personal_data_in_clear(written):
    if connection.vendor != "postgresql":
        pytest.skip("pg_dump needs PostgreSQL; on SQLite the raw-table test reads every row")
    pg_dump = shutil.which("pg_dump")
    assert pg_dump, "pg_dump is not installed (apt-get install postgresql-client)"
    db = connection.settings_dict

    dump = subprocess.run(  # noqa: S603 - fixed arguments
        [
            pg_dump,
            "--data-only",
            "--no-owner",
            "-h",
            db.get("HOST") or "127.0.0.1",
            "-p",
            str(db.get("PORT") or 5432),
            "-U",
            db.get("USER") or "postgres",
            db["NAME"],
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env={"PGPASSWORD": db.get("PASSWORD") or ""},
    ).stdout

    assert "accounts_profile" in dump and "e1:" in dump  # the rows are in the dump, encrypted
    assert leaks(dump) == []


@pytest.mark.django_db(transaction=True)
def test_logs_hold_no_personal_data(written, caplog):
    # The writes happened in the fixture: their records belong to the "setup" phase.
    records = caplog.get_records("setup")
    assert any(r.name == "django.request" for r in records), "the capture saw nothing"
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    texts = []
    for record in records:
        texts += [formatter.format(record), repr(record.args)]
        texts.append(repr({k: v for k, v in vars(record).items() if k not in ("args", "msg")}))

    assert leaks("\n".join(texts)) == []


@pytest.mark.django_db(transaction=True)
def test_audit_rows_hold_no_personal_data_nor_ciphertext(written):
    entries = list(LogEntry.objects.all())
    assert any(entry.content_type.model == "profile" for entry in entries)

    for entry in entries:
        text = json.dumps(
            [
                entry.changes,
                entry.changes_text,
                entry.object_repr,
                entry.additional_data,
                entry.serialized_data,
            ],
            default=str,
        )
        assert leaks(text) == [], entry.pk
        assert "e1:" not in text, entry.pk
