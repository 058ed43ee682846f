"""Customer API: registration, account links, scoping, blind-index search and access records."""

import json

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from garage.models import Customer
from garage.services.customers import customer_create
from garage.tests.factories import CustomerFactory, customer_user
from privacy.models import AccessRecord

URL = "/api/customers/"

pytestmark = pytest.mark.django_db


def detail(customer) -> str:
    return f"{URL}{customer.pk}/"


def walk_in(**values) -> Customer:
    """A walk-in customer registered through the service, as the front desk would."""
    return customer_create(**{"full_name": "Walk In", "phone": "71 123 456", **values})


def customer_reads(customer):
    return AccessRecord.objects.filter(
        subject_type=ContentType.objects.get_for_model(Customer),
        subject_id=str(customer.pk),
        action="customer.read",
    )


# --- List -------------------------------------------------------------------------------------


def test_super_admin_lists_every_customer_without_identity_numbers(auth_client, super_admin):
    walk_in()
    customer_user("alice")

    response = auth_client(super_admin).get(URL)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == 2
    row = next(r for r in body["results"] if r["full_name"] == "Walk In")
    assert row["phone"] == "+21671123456"
    assert set(row) == {
        "id",
        "kind",
        "full_name",
        "company_name",
        "phone",
        "preferred_contact",
        "user",
        "created_at",
    }
    # The list is not a read of full records: no access record per row.
    assert not AccessRecord.objects.exists()


def test_customer_lists_only_their_own_record(auth_client):
    alice = customer_user("alice")
    customer_user("bob")
    walk_in()

    response = auth_client(alice).get(URL)

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [alice.customer.pk]


def test_technician_may_not_list_customers(auth_client, technician):
    walk_in()
    response = auth_client(technician).get(URL)
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_listing_customers_needs_authentication(api_client):
    assert api_client.get(URL).status_code == 401


def test_customer_list_query_count_does_not_grow_with_rows(auth_client, super_admin):
    client = auth_client(super_admin)
    walk_in()
    with CaptureQueriesContext(connection) as one:
        assert client.get(URL).status_code == 200
    CustomerFactory.create_batch(49)
    with CaptureQueriesContext(connection) as fifty:
        response = client.get(URL, {"page_size": 50})
    assert response.json()["count"] == 50
    assert len(response.json()["results"]) == 50
    assert len(fifty) == len(one)


# --- Search and filters -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("param", "stored", "searched"),
    [
        ("phone", {"phone": "20 123 456"}, "+216 20-123-456"),
        ("email", {"email": "Leila@Example.TN"}, "  leila@example.tn"),
        ("cin", {"national_id": "01234567"}, "01234567"),
        ("tax_id", {"tax_id": "1234567A/A/M/000"}, "1234567aam000"),
    ],
)
def test_staff_exact_search_through_blind_indexes(
    auth_client, super_admin, param, stored, searched
):
    wanted = walk_in(**stored)
    walk_in(full_name="Someone Else", phone="98 765 432")

    response = auth_client(super_admin).post(f"{URL}search/", {param: searched}, format="json")

    assert response.status_code == 200, response.content
    assert [row["id"] for row in response.json()["results"]] == [wanted.pk]


@pytest.mark.parametrize(
    ("param", "value"),
    [("phone", "12"), ("email", "not-an-address"), ("cin", "1234"), ("tax_id", "ABC")],
)
def test_invalid_search_value_is_a_400_with_the_field_error(auth_client, super_admin, param, value):
    response = auth_client(super_admin).post(f"{URL}search/", {param: value}, format="json")

    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid"
    assert list(body["errors"]) == [param]
    assert value not in json.dumps(body)


def test_filter_by_kind_and_order_by_created_at(auth_client, super_admin):
    first = walk_in(full_name="Individual")
    company = walk_in(full_name="Contact", kind="company", company_name="Garage SARL")
    client = auth_client(super_admin)

    response = client.get(URL, {"kind": "company"})
    assert [row["id"] for row in response.json()["results"]] == [company.pk]

    response = client.get(URL, {"ordering": "created_at"})
    assert [row["id"] for row in response.json()["results"]] == [first.pk, company.pk]


def test_ordering_on_an_encrypted_field_is_ignored_not_a_500(auth_client, super_admin):
    walk_in()
    response = auth_client(super_admin).get(URL, {"ordering": "full_name"})
    assert response.status_code == 200


# --- Create -----------------------------------------------------------------------------------


def test_super_admin_registers_a_walk_in_customer_with_normalised_identifiers(
    auth_client, super_admin
):
    payload = {
        "full_name": "  Leila Ben Salah ",
        "phone": "20 123 456",
        "phone_secondary": "0033 6 12 34 56 78",
        "email": "Leila@Example.TN",
        "national_id": "01234567",
        "address": "5 avenue Habib Bourguiba, Tunis",
        "preferred_contact": "whatsapp",
    }

    response = auth_client(super_admin).post(URL, payload, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["user"] is None
    assert body["full_name"] == "Leila Ben Salah"
    assert body["phone"] == "+21620123456"
    assert body["phone_secondary"] == "+33612345678"
    assert body["email"] == "leila@example.tn"
    customer = Customer.objects.get(pk=body["id"])
    assert customer.national_id == "01234567"
    assert Customer.objects.blind_lookup(phone="+21620123456").get() == customer
    entry = LogEntry.objects.get(
        content_type=ContentType.objects.get_for_model(Customer),
        object_pk=str(customer.pk),
        action=LogEntry.Action.CREATE,
    )
    assert entry.actor == super_admin
    assert "20123456" not in json.dumps(entry.changes)
    assert "Leila" not in json.dumps(entry.changes)


def test_super_admin_registers_a_company_with_its_tax_id(auth_client, super_admin):
    response = auth_client(super_admin).post(
        URL,
        {
            "kind": "company",
            "full_name": "Sami Trabelsi",
            "company_name": "Transports du Sud SARL",
            "tax_id": "1234567a/a/m/000",
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["tax_id"] == "1234567AAM000"
    assert Customer.objects.blind_lookup(tax_id="1234567 A A M 000").exists()


def test_a_company_needs_a_company_name(auth_client, super_admin):
    response = auth_client(super_admin).post(
        URL, {"kind": "company", "full_name": "Sami"}, format="json"
    )

    assert response.status_code == 400
    assert "company_name" in response.json()["errors"]
    assert not Customer.objects.exists()


def test_invalid_identifiers_are_refused_with_field_errors(auth_client, super_admin):
    response = auth_client(super_admin).post(
        URL,
        {
            "full_name": "X",
            "phone": "0123",
            "national_id": "1234567",
            "tax_id": "12AB",
            "email": "nobody@",
        },
        format="json",
    )

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert {"email"} <= set(errors)
    assert not Customer.objects.exists()

    response = auth_client(super_admin).post(
        URL,
        {"full_name": "X", "phone": "0123", "national_id": "1234567", "tax_id": "12AB"},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"phone", "national_id", "tax_id"}
    assert not Customer.objects.exists()


def test_missing_full_name_is_refused(auth_client, super_admin):
    response = auth_client(super_admin).post(URL, {"phone": "20123456"}, format="json")
    assert response.status_code == 400
    assert "full_name" in response.json()["errors"]


def test_super_admin_links_a_customer_account(auth_client, super_admin, customer):
    response = auth_client(super_admin).post(
        URL, {"full_name": "Nour", "user": customer.pk}, format="json"
    )

    assert response.status_code == 201, response.content
    assert Customer.objects.get(pk=response.json()["id"]).user == customer


def test_linking_a_staff_account_is_refused(auth_client, super_admin, technician):
    response = auth_client(super_admin).post(
        URL, {"full_name": "Nour", "user": technician.pk}, format="json"
    )

    assert response.status_code == 400
    assert "user" in response.json()["errors"]
    assert not Customer.objects.exists()


def test_linking_an_account_already_linked_is_refused(auth_client, super_admin):
    alice = customer_user("alice")

    response = auth_client(super_admin).post(
        URL, {"full_name": "Alice Again", "user": alice.pk}, format="json"
    )

    assert response.status_code == 400
    assert "user" in response.json()["errors"]
    assert Customer.objects.count() == 1


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.TECHNICIAN])
def test_only_super_admins_register_customers(auth_client, make_user, role):
    user = make_user("someone", role)
    response = auth_client(user).post(URL, {"full_name": "Nour"}, format="json")
    assert response.status_code == 403
    assert not Customer.objects.exists()


def test_registering_needs_authentication(api_client):
    assert api_client.post(URL, {"full_name": "Nour"}, format="json").status_code == 401


# --- Retrieve ---------------------------------------------------------------------------------


def test_super_admin_reading_a_record_leaves_an_access_record(auth_client, super_admin):
    alice = customer_user("alice")

    response = auth_client(super_admin).get(detail(alice.customer), REMOTE_ADDR="198.51.100.7")

    assert response.status_code == 200
    assert response.json()["national_id"] == alice.customer.national_id
    record = customer_reads(alice.customer).get()
    assert record.actor == super_admin
    assert record.actor_role == Role.SUPER_ADMIN
    assert record.subject_user == alice
    assert record.ip == "198.51.100.7"


def test_reading_a_walk_in_record_is_recorded_without_a_subject_account(auth_client, super_admin):
    customer = walk_in()

    assert auth_client(super_admin).get(detail(customer)).status_code == 200
    record = customer_reads(customer).get()
    assert record.subject_user is None
    assert record.actor == super_admin


def test_customer_reads_their_own_record_without_an_access_record(auth_client):
    alice = customer_user("alice")

    response = auth_client(alice).get(detail(alice.customer))

    assert response.status_code == 200
    assert response.json()["email"] == alice.customer.email
    assert not AccessRecord.objects.exists()


def test_another_customers_record_is_a_404(auth_client):
    alice = customer_user("alice")
    bob = customer_user("bob")

    assert auth_client(alice).get(detail(bob.customer)).status_code == 404
    assert auth_client(alice).get(detail(walk_in())).status_code == 404


def test_technician_may_not_read_a_customer(auth_client, technician):
    customer = walk_in()
    assert auth_client(technician).get(detail(customer)).status_code == 403
    assert not AccessRecord.objects.exists()


def test_reading_a_record_needs_authentication(api_client):
    assert api_client.get(detail(walk_in())).status_code == 401


def test_an_unknown_record_is_a_404(auth_client, super_admin):
    assert auth_client(super_admin).get(f"{URL}999999/").status_code == 404


# --- Update -----------------------------------------------------------------------------------


def test_customer_updates_their_contact_details(auth_client):
    alice = customer_user("alice")

    response = auth_client(alice).patch(
        detail(alice.customer),
        {"phone": "55 000 111", "preferred_contact": "sms", "address": "Sfax"},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["phone"] == "+21655000111"
    customer = Customer.objects.get(pk=alice.customer.pk)
    assert customer.phone == "+21655000111"
    assert customer.preferred_contact == "sms"
    assert Customer.objects.blind_lookup(phone="55000111").get() == customer


@pytest.mark.parametrize(
    "change",
    [{"national_id": "87654321"}, {"kind": "company"}, {"user": None}, {"tax_id": "1234567A"}],
)
def test_customer_may_not_change_identity_or_account_link(auth_client, change):
    alice = customer_user("alice")
    before = Customer.objects.get(pk=alice.customer.pk)

    response = auth_client(alice).patch(detail(alice.customer), change, format="json")

    assert response.status_code == 400
    assert list(response.json()["errors"]) == list(change)
    after = Customer.objects.get(pk=alice.customer.pk)
    assert (after.national_id, after.kind, after.user_id, after.tax_id) == (
        before.national_id,
        before.kind,
        before.user_id,
        before.tax_id,
    )


def test_customer_update_with_an_invalid_phone_is_refused(auth_client):
    alice = customer_user("alice")
    before = alice.customer.phone

    response = auth_client(alice).patch(detail(alice.customer), {"phone": "123"}, format="json")

    assert response.status_code == 400
    assert "phone" in response.json()["errors"]
    assert Customer.objects.get(pk=alice.customer.pk).phone == before


def test_customer_may_not_update_another_customer(auth_client):
    alice = customer_user("alice")
    bob = customer_user("bob")

    response = auth_client(alice).patch(detail(bob.customer), {"address": "X"}, format="json")

    assert response.status_code == 404
    assert Customer.objects.get(pk=bob.customer.pk).address != "X"


def test_technician_may_not_update_a_customer(auth_client, technician):
    customer = walk_in()
    response = auth_client(technician).patch(detail(customer), {"address": "X"}, format="json")
    assert response.status_code == 403


def test_updating_needs_authentication(api_client):
    customer = walk_in()
    assert api_client.patch(detail(customer), {"address": "X"}, format="json").status_code == 401


def test_super_admin_turns_a_customer_into_a_company_and_links_an_account(
    auth_client, super_admin, customer
):
    record = walk_in()
    client = auth_client(super_admin)

    refused = client.patch(detail(record), {"kind": "company"}, format="json")
    assert refused.status_code == 400
    assert "company_name" in refused.json()["errors"]

    response = client.patch(
        detail(record),
        {"kind": "company", "company_name": "Atelier SA", "user": customer.pk},
        format="json",
    )

    assert response.status_code == 200, response.content
    record.refresh_from_db()
    assert (record.kind, record.company_name, record.user) == ("company", "Atelier SA", customer)
    # The full record returned to staff is a read of personal data too.
    assert customer_reads(record).get().actor == super_admin


def test_put_and_delete_are_not_offered(auth_client, super_admin):
    record = walk_in()
    client = auth_client(super_admin)
    assert client.put(detail(record), {"full_name": "X"}, format="json").status_code == 405
    assert client.delete(detail(record)).status_code == 405
    assert Customer.objects.filter(pk=record.pk).exists()
