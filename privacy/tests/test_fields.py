"""Encrypted model fields on real models (accounts.Profile, privacy.StoredFile): storage at rest,
column binding, refused lookups and ordering, blind indexes, validation and key checks."""

import base64
import hashlib
import hmac
import logging
import os
import re
from types import SimpleNamespace

import pytest
from django.core.exceptions import FieldError, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, models, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Lower
from django.test.utils import isolate_apps

from accounts.models import Profile, User
from accounts.services import user_create
from config.exceptions import ApplicationError
from privacy.checks import check_encrypted_models, check_encryption_keys
from privacy.crypto import DecryptionError
from privacy.fields import EncryptedCharField, EncryptedFieldError
from privacy.keys import decode_key, generate_key
from privacy.models import StoredFile

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("key_settings")]

PASSWORD = "Garage#Pass2026"
HEX64 = re.compile(r"[0-9a-f]{64}")
CONTACT = {
    "full_name": "Salma Trabelsi",
    "email": "salma.trabelsi@example.tn",
    "phone": "+21620123456",
    "address": "5 rue de Marseille, Tunis",
}
ENCRYPTED_PROFILE_FIELDS = ("full_name", "email", "phone", "address")


# --- helpers -------------------------------------------------------------------------------


def make_profile(username: str, **contact) -> Profile:
    """A user and their profile, created through the service."""
    user = user_create(username=username, password=PASSWORD, contact=contact)
    return Profile.objects.get(user=user)


def _where_pk(model, pk) -> tuple[str, list]:
    qn = connection.ops.quote_name
    return f"{qn(model._meta.pk.column)} = %s", [model._meta.pk.get_db_prep_value(pk, connection)]


def raw_values(model, pk, *names) -> tuple:
    """The stored column values of one row, read with SQL (no field conversion)."""
    qn = connection.ops.quote_name
    columns = ", ".join(qn(model._meta.get_field(name).column) for name in names)
    where, params = _where_pk(model, pk)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {qn(model._meta.db_table)} WHERE {where}", params)
        return cursor.fetchone()


def raw_value(model, pk, name):
    return raw_values(model, pk, name)[0]


def set_raw_value(model, pk, name, value) -> None:
    """Overwrite one stored column value with SQL (no field conversion)."""
    qn = connection.ops.quote_name
    where, params = _where_pk(model, pk)
    column = qn(model._meta.get_field(name).column)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {qn(model._meta.db_table)} SET {column} = %s WHERE {where}", [value, *params]
        )
        assert cursor.rowcount == 1


def flip_payload_char(token: str) -> str:
    """The same token with one base64 character in the middle of its payload changed."""
    prefix, payload = token.rsplit(":", 1)
    middle = len(payload) // 2
    replacement = "A" if payload[middle] != "A" else "B"
    return f"{prefix}:{payload[:middle]}{replacement}{payload[middle + 1 :]}"


def use_keys(settings, ring: str, *, index: str | None = None) -> None:
    """Point the field key ring (and optionally the blind index key) at new values."""
    settings.ENCRYPTION_KEY_FILE = ""
    settings.FIELD_ENCRYPTION_KEYS = ring
    if index is not None:
        settings.BLIND_INDEX_KEY = index


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# --- round trip and storage at rest --------------------------------------------------------


def test_values_round_trip_through_the_orm():
    profile = make_profile("salma", **CONTACT)

    fresh = Profile.objects.get(pk=profile.pk)

    for name in ENCRYPTED_PROFILE_FIELDS:
        assert getattr(fresh, name) == CONTACT[name]
    assert list(Profile.objects.filter(pk=profile.pk).values_list("email", flat=True)) == [
        CONTACT["email"]
    ]


def test_stored_values_are_ciphertext_under_the_active_key():
    profile = make_profile("salma", **CONTACT)

    stored = raw_values(Profile, profile.pk, *ENCRYPTED_PROFILE_FIELDS)

    for name, value in zip(ENCRYPTED_PROFILE_FIELDS, stored, strict=True):
        assert value.startswith("e1:k1:"), name
        assert CONTACT[name] not in value
        assert CONTACT[name].lower() not in value.lower()


def test_empty_values_are_encrypted_too_and_null_stays_null():
    profile = make_profile("empty")  # no contact details at all

    full_name, email, phone, address = raw_values(Profile, profile.pk, *ENCRYPTED_PROFILE_FIELDS)

    assert full_name.startswith("e1:k1:") and address.startswith("e1:k1:")
    assert email is None and phone is None
    assert raw_values(Profile, profile.pk, "email_index", "phone_index") == (None, None)
    assert (profile.full_name, profile.address) == ("", "")


def test_same_plaintext_gives_different_ciphertexts():
    first = make_profile("first", full_name="Same Name", address="Same street")
    second = make_profile("second", full_name="Same Name", address="Same street")

    assert raw_value(Profile, first.pk, "full_name") != raw_value(Profile, second.pk, "full_name")
    assert raw_value(Profile, first.pk, "address") != raw_value(Profile, second.pk, "address")


def test_plaintext_longer_than_max_length_of_ciphertext_column_is_stored():
    # The column is text: max_length bounds the plaintext, not the (longer) ciphertext.
    name = "N" * 150
    profile = make_profile("long", full_name=name)

    assert len(raw_value(Profile, profile.pk, "full_name")) > 150
    assert Profile.objects.get(pk=profile.pk).full_name == name


# --- column binding, tampering, unknown keys -----------------------------------------------


def test_ciphertext_copied_into_another_column_of_the_same_row_fails(caplog):
    profile = make_profile("salma", **CONTACT)
    full_name_token = raw_value(Profile, profile.pk, "full_name")
    set_raw_value(Profile, profile.pk, "address", full_name_token)

    with (
        caplog.at_level(logging.ERROR, logger="ecar.privacy"),
        pytest.raises(EncryptedFieldError) as excinfo,
    ):
        Profile.objects.get(pk=profile.pk)

    assert "accounts.profile.address" in str(excinfo.value)
    assert full_name_token not in str(excinfo.value)
    assert CONTACT["full_name"] not in str(excinfo.value)
    records = [r for r in caplog.records if r.name == "ecar.privacy"]
    assert len(records) == 1
    message = records[0].getMessage()
    assert "accounts.profile.address" in message
    for secret in (full_name_token, full_name_token.rsplit(":", 1)[1], CONTACT["full_name"]):
        assert secret not in message
        assert secret not in caplog.text


def test_ciphertext_copied_into_another_model_fails():
    profile = make_profile("salma", **CONTACT)
    stored = StoredFile.objects.create(
        file=ContentFile(b"%PDF-1.7", name="carte-grise.pdf"),
        original_name="carte-grise.pdf",
        content_type="application/pdf",
        size=8,
    )
    token = raw_value(Profile, profile.pk, "full_name")
    set_raw_value(StoredFile, stored.pk, "original_name", token)

    with pytest.raises(EncryptedFieldError, match=r"privacy\.storedfile\.original_name"):
        StoredFile.objects.get(pk=stored.pk)


def test_ciphertext_copied_into_the_same_column_of_another_row_decrypts():
    # Documented limit: the associated data binds a value to its column (model.field), not to
    # its row, so moving a value between rows of one column goes unnoticed by decryption.
    victim = make_profile("victim", full_name="Victim Name")
    other = make_profile("other", full_name="Other Name")
    set_raw_value(Profile, other.pk, "full_name", raw_value(Profile, victim.pk, "full_name"))

    assert Profile.objects.get(pk=other.pk).full_name == "Victim Name"


def test_tampered_ciphertext_fails(caplog):
    profile = make_profile("salma", **CONTACT)
    token = raw_value(Profile, profile.pk, "email")
    tampered = flip_payload_char(token)
    assert tampered != token
    set_raw_value(Profile, profile.pk, "email", tampered)

    with (
        caplog.at_level(logging.ERROR, logger="ecar.privacy"),
        pytest.raises(EncryptedFieldError, match="authentication"),
    ):
        Profile.objects.get(pk=profile.pk)

    assert isinstance(EncryptedFieldError("x"), DecryptionError)
    assert "accounts.profile.email" in caplog.text
    for secret in (token, tampered, tampered.rsplit(":", 1)[1], CONTACT["email"]):
        assert secret not in caplog.text


@pytest.mark.parametrize("bad", ["not encrypted", "e1:k1:", "e1:k1:!!!", "e2:k1:AAAA", ""])
def test_malformed_stored_value_fails(bad):
    profile = make_profile("salma", **CONTACT)
    set_raw_value(Profile, profile.pk, "full_name", bad)

    with pytest.raises(EncryptedFieldError):
        Profile.objects.get(pk=profile.pk)


def test_value_under_a_key_removed_from_the_ring_fails(settings, caplog):
    use_keys(settings, f"k0:{generate_key()}")
    profile = make_profile("salma", **CONTACT)
    token = raw_value(Profile, profile.pk, "phone")
    assert token.startswith("e1:k0:")

    use_keys(settings, f"k1:{generate_key()}")
    with (
        caplog.at_level(logging.ERROR, logger="ecar.privacy"),
        pytest.raises(EncryptedFieldError, match="'k0'"),
    ):
        Profile.objects.get(pk=profile.pk)

    assert "accounts.profile." in caplog.text
    assert token not in caplog.text
    assert CONTACT["phone"] not in caplog.text


def test_old_key_still_in_the_ring_decrypts_and_new_writes_use_the_active_key(settings):
    k0 = generate_key()
    use_keys(settings, f"k0:{k0}")
    profile = make_profile("salma", **CONTACT)

    use_keys(settings, f"k2:{generate_key()},k0:{k0}")
    fresh = Profile.objects.get(pk=profile.pk)
    assert fresh.full_name == CONTACT["full_name"]
    fresh.full_name = "Salma T."
    fresh.save()

    assert raw_value(Profile, profile.pk, "full_name").startswith("e1:k2:")


# --- refused lookups and ordering ----------------------------------------------------------


@pytest.mark.parametrize(
    "lookup",
    [
        {"email": "salma.trabelsi@example.tn"},
        {"email__iexact": "salma.trabelsi@example.tn"},
        {"email__icontains": "salma"},
        {"email__startswith": "salma"},
        {"email__in": ["salma.trabelsi@example.tn"]},
        {"full_name": "Salma Trabelsi"},
        {"phone__contains": "2012"},
        {"address__gt": "A"},
        {"email__lower": "x"},
    ],
    ids=lambda lookup: next(iter(lookup)),
)
def test_filtering_an_encrypted_field_is_refused(lookup):
    field_name = next(iter(lookup)).split("__")[0]
    with pytest.raises(FieldError, match=rf"accounts\.Profile\.{field_name} is encrypted"):
        list(Profile.objects.filter(**lookup))


def test_refused_filter_message_points_to_the_blind_index():
    with pytest.raises(FieldError, match=r"cannot be filtered with 'icontains'.*blind index"):
        Profile.objects.filter(email__icontains="x")


@pytest.mark.parametrize(
    "queryset",
    [
        lambda: Profile.objects.exclude(email="x@example.tn"),
        lambda: Profile.objects.filter(Q(phone="20123456") | Q(pk=1)),
        lambda: Profile.objects.annotate(e=F("email")).filter(e="x@example.tn"),
        lambda: User.objects.filter(profile__email="x@example.tn"),
        lambda: Profile.objects.get_or_create(email="x@example.tn"),
    ],
    ids=["exclude", "q-object", "annotation", "across-relation", "get_or_create"],
)
def test_other_ways_of_filtering_an_encrypted_field_are_refused(queryset):
    with pytest.raises(FieldError, match="is encrypted"):
        result = queryset()
        if isinstance(result, models.QuerySet):
            list(result)  # evaluated, in case the refusal only comes with the SQL


def test_isnull_filter_works():
    with_email = make_profile("with", email="with@example.tn")
    without = make_profile("without")

    assert list(Profile.objects.filter(email__isnull=True)) == [without]
    assert list(Profile.objects.filter(email__isnull=False)) == [with_email]


@pytest.mark.parametrize(
    "term",
    [
        "full_name",
        "-email",
        "phone",
        F("phone").desc(),
        F("address").asc(nulls_last=True),
        "user__profile__email",
    ],
    ids=["full_name", "-email", "phone", "F-desc", "F-asc-nulls", "via-relation"],
)
def test_ordering_by_an_encrypted_field_is_refused(term):
    with pytest.raises(FieldError, match="is encrypted and cannot be ordered"):
        Profile.objects.order_by(term)


def test_ordering_values_by_an_encrypted_field_is_refused():
    with pytest.raises(FieldError, match="cannot be ordered"):
        Profile.objects.values("email").order_by("email")


def test_ordering_by_plain_fields_still_works():
    first = make_profile("bbb")
    second = make_profile("aaa")

    assert list(Profile.objects.order_by("user__username")) == [second, first]
    assert list(Profile.objects.order_by("-pk")) == [second, first]


def test_ordering_across_a_relation_from_a_plain_model_is_refused():
    make_profile("one", full_name="Zed")
    make_profile("two", full_name="Abe")

    with pytest.raises(FieldError):
        list(User.objects.order_by("profile__full_name"))


def test_ordering_by_an_expression_over_an_encrypted_field_is_refused():
    make_profile("one", email="b@example.tn")
    make_profile("two", email="a@example.tn")

    with pytest.raises(FieldError):
        list(Profile.objects.order_by(Lower("email")))


# --- blind indexes -------------------------------------------------------------------------


def test_blind_lookup_finds_an_email_whatever_its_case_and_spaces():
    profile = make_profile("salma", email="x@example.tn")
    make_profile("other", email="y@example.tn")

    assert list(Profile.objects.blind_lookup(email=" X@Example.TN ")) == [profile]
    assert not Profile.objects.blind_lookup(email="z@example.tn").exists()


@pytest.mark.parametrize(
    "typed", ["+21620123456", "20 123 456", "0021620123456", "+216 20-123-456"]
)
def test_blind_lookup_finds_a_phone_in_any_format(typed):
    profile = make_profile("salma", phone="+21620123456")
    make_profile("other", phone="+21620123457")

    assert list(Profile.objects.blind_lookup(phone=typed)) == [profile]


def test_blind_lookup_on_a_field_without_index_is_refused():
    with pytest.raises(FieldError, match="has no blind index"):
        Profile.objects.blind_lookup(full_name="Salma")


def test_blind_index_is_an_hmac_of_the_normalised_value_bound_to_its_column(key_settings):
    profile = make_profile("salma", email="Salma@Example.TN", phone="20 123 456")
    email_index, phone_index = raw_values(Profile, profile.pk, "email_index", "phone_index")
    key = decode_key(key_settings.index)

    assert HEX64.fullmatch(email_index) and HEX64.fullmatch(phone_index)
    expected = hmac.new(key, b"accounts.profile.email\x00salma@example.tn", hashlib.sha256)
    assert email_index == expected.hexdigest()
    expected = hmac.new(key, b"accounts.profile.phone\x00+21620123456", hashlib.sha256)
    assert phone_index == expected.hexdigest()
    # The same text indexed for two columns gives unrelated digests.
    same = "+21620123456"
    email_field, phone_field = (Profile._meta.get_field(n) for n in ("email_index", "phone_index"))
    assert email_field.digest(same) != phone_field.digest(same)


def test_same_email_in_another_case_is_refused_by_the_service():
    make_profile("first", email="dup@example.tn")

    with pytest.raises(ApplicationError) as excinfo:
        user_create(username="second", password=PASSWORD, contact={"email": " DUP@Example.tn"})

    assert "email" in excinfo.value.extra
    assert not User.objects.filter(username="second").exists()


def test_same_email_in_another_case_is_refused_by_the_database():
    make_profile("first", email="dup@example.tn")
    second = User.objects.create_user(username="second", password=PASSWORD)

    with pytest.raises(IntegrityError), transaction.atomic():
        Profile.objects.create(user=second, email="Dup@Example.TN")


def test_many_profiles_without_email_are_allowed():
    for n in range(3):
        make_profile(f"nobody{n}")

    assert Profile.objects.filter(email_index__isnull=True).count() == 3


def test_queryset_update_keeps_the_blind_index_in_sync():
    profile = make_profile("salma", email="old@example.tn", phone="+21620123456")

    Profile.objects.filter(pk=profile.pk).update(email="New@Example.tn", phone="98 765 432")

    assert list(Profile.objects.blind_lookup(email="new@example.tn")) == [profile]
    assert list(Profile.objects.blind_lookup(phone="+21698765432")) == [profile]
    assert not Profile.objects.blind_lookup(email="old@example.tn").exists()
    assert raw_value(Profile, profile.pk, "email").startswith("e1:k1:")

    Profile.objects.filter(pk=profile.pk).update(email=None)
    assert raw_values(Profile, profile.pk, "email", "email_index") == (None, None)


def test_save_with_update_fields_updates_the_blind_index():
    profile = make_profile("salma", email="old@example.tn")

    profile.email = "updated@example.tn"
    profile.save(update_fields=["email"])

    assert list(Profile.objects.blind_lookup(email="UPDATED@example.tn")) == [profile]
    assert not Profile.objects.blind_lookup(email="old@example.tn").exists()


def test_bulk_create_computes_blind_indexes():
    users = [User.objects.create_user(username=f"bulk{n}", password=PASSWORD) for n in range(2)]

    Profile.objects.bulk_create(
        [Profile(user=user, email=f"bulk{n}@example.tn") for n, user in enumerate(users)]
    )

    assert Profile.objects.blind_lookup(email="BULK1@example.tn").get().user == users[1]


EXPRESSION_BUG = (
    "bug: EncryptedFieldMixin.get_db_prep_save (privacy/fields.py) encrypts str(expression) "
    "instead of passing SQL expressions through like Field.get_db_prep_save, so update() with "
    "Value()/Case() (and bulk_update) stores the encrypted repr of the expression"
)


def test_update_with_a_value_expression_stores_the_value():
    profile = make_profile("salma", full_name="Before")

    Profile.objects.filter(pk=profile.pk).update(full_name=Value("After"))

    stored = raw_value(Profile, profile.pk, "full_name")
    assert stored.startswith("e1:k1:") and "After" not in stored
    assert Profile.objects.get(pk=profile.pk).full_name == "After"


def test_bulk_update_of_an_unindexed_encrypted_field_round_trips():
    profile = make_profile("salma", full_name="Before")
    profile.full_name = "After"

    Profile.objects.bulk_update([profile], ["full_name"])

    assert raw_value(Profile, profile.pk, "full_name").startswith("e1:k1:")
    assert Profile.objects.get(pk=profile.pk).full_name == "After"


def test_bulk_update_keeps_the_blind_index_in_sync():
    profile = make_profile("salma", email="old@example.tn")
    profile.email = "bulk@example.tn"

    Profile.objects.bulk_update([profile], ["email"])

    assert list(Profile.objects.blind_lookup(email="bulk@example.tn")) == [profile]


# --- validation ----------------------------------------------------------------------------


def _errors(profile: Profile) -> dict:
    with pytest.raises(ValidationError) as excinfo:
        profile.full_clean(exclude=["user"])
    return excinfo.value.message_dict


def test_max_length_applies_to_the_plaintext():
    user = User.objects.create_user(username="salma", password=PASSWORD)

    assert "full_name" in _errors(Profile(user=user, full_name="N" * 151))
    Profile(user=user, full_name="N" * 150).full_clean(exclude=["user"])


def test_email_field_rejects_an_invalid_address():
    user = User.objects.create_user(username="salma", password=PASSWORD)

    assert "email" in _errors(Profile(user=user, email="not-an-email"))


@pytest.mark.parametrize("phone", ["123", "+21601234567", "+21612345678", "abc"])
def test_phone_validator_rejects_invalid_numbers(phone):
    user = User.objects.create_user(username="salma", password=PASSWORD)

    assert "phone" in _errors(Profile(user=user, phone=phone))


@pytest.mark.parametrize("phone", ["+33612345678", "+21620123456", "20 123 456"])
def test_phone_validator_accepts_valid_numbers(phone):
    user = User.objects.create_user(username="salma", password=PASSWORD)

    Profile(user=user, phone=phone).full_clean(exclude=["user"])


# --- system checks -------------------------------------------------------------------------


def test_key_check_passes_with_valid_keys():
    assert check_encryption_keys(None) == []


def _check_messages(settings, **overrides) -> list[str]:
    settings.ENCRYPTION_KEY_FILE = ""
    for name, value in overrides.items():
        setattr(settings, name, value)
    errors = check_encryption_keys(None)
    assert errors, "expected a configuration error"
    assert {error.id for error in errors} == {"privacy.E001"}
    return [error.msg for error in errors]


def test_key_check_reports_an_empty_ring(settings):
    messages = _check_messages(settings, FIELD_ENCRYPTION_KEYS="")

    assert any("empty" in message for message in messages)


def test_key_check_reports_a_short_key(settings):
    short = b64(os.urandom(16))

    messages = _check_messages(settings, FIELD_ENCRYPTION_KEYS=f"k1:{short}")

    assert any("16 bytes" in message for message in messages)
    assert not any(short in message for message in messages)


def test_key_check_reports_a_key_reused_across_roles(settings, key_settings):
    messages = _check_messages(settings, BLIND_INDEX_KEY=key_settings.k1)

    assert any("same key" in message.lower() for message in messages)
    assert not any(key_settings.k1 in message for message in messages)


def test_model_check_passes_for_the_project_models():
    assert check_encrypted_models(None) == []


@isolate_apps("privacy")
def test_model_check_flags_an_unguarded_manager_and_encrypted_ordering(monkeypatch):
    class Leaky(models.Model):
        secret = EncryptedCharField(max_length=10)
        objects = models.Manager()

        class Meta:
            app_label = "privacy"
            ordering = ["-secret"]

        def __str__(self):
            return "leaky"

    monkeypatch.setattr("privacy.checks.apps", SimpleNamespace(get_models=lambda: [Leaky]))

    assert sorted(error.id for error in check_encrypted_models(None)) == [
        "privacy.E002",
        "privacy.E003",
    ]
