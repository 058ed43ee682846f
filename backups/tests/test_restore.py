"""The real restore: a set over the live database, ending with the erasure ledger re-applied."""

import pytest
from django.core.management import CommandError
from django.db import connection

from accounts.models import Role, User
from backups.sets import set_names
from backups.tests.helpers import notice, run
from privacy.erasure import ledger_read
from privacy.tests.people import logged_in_client


def test_restore_brings_the_backup_back_and_erases_again_who_was_erased_since(
    backup_settings, make_user, keyrings, settings
):
    notice()
    admin = make_user("frontdesk", Role.SUPER_ADMIN)
    kept = make_user("kept.customer", Role.CUSTOMER)
    erased = make_user("erased.customer", Role.CUSTOMER)
    run("backup", "--no-offsite")
    (name,) = set_names(p.name for p in backup_settings.backup_dir.iterdir())
    # After the backup: one customer erased, another account created.
    assert logged_in_client(admin).post(f"/api/users/{erased.pk}/erase/").status_code == 200
    make_user("after.backup", Role.CUSTOMER)
    settings.GNUPGHOME = keyrings.recovery
    live = connection.settings_dict["NAME"]

    with pytest.raises(CommandError, match="Not confirmed"):
        run("restore", str(backup_settings.backup_dir / name), "--confirm", "other")
    output = run("restore", str(backup_settings.backup_dir / name), "--confirm", live)

    assert output.startswith(f"restored {name} into {live}: ")
    # The account made after the backup is gone; the erased customer came back with the backup
    # and reapply_erasures erased them again.
    back = User.objects.get(pk=erased.pk)
    assert set(User.objects.values_list("username", flat=True)) == {
        "frontdesk",
        "kept.customer",
        back.username,
    }
    assert back.username != "erased.customer"
    assert not back.is_active and not back.has_usable_password()
    assert User.objects.get(pk=kept.pk).is_active
    assert [e["user_id"] for e in ledger_read()] == [erased.pk]
