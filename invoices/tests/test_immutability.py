"""An issued invoice never changes: refused by the API, the admin, the ORM and the database."""

import datetime
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from accounts.tests.mfa_helpers import enrol_totp, totp_code
from invoices import services
from invoices.models import (
    CreditNote,
    CreditNoteLine,
    Invoice,
    InvoiceLine,
    IssuedDocumentError,
    Payment,
)
from invoices.tests.helpers import LINE, draft_invoice, issued_invoice
from privacy.models import AccessRecord

pytestmark = pytest.mark.django_db

postgresql_only = pytest.mark.skipif(
    "connection.vendor != 'postgresql'",
    reason="The database guards are PostgreSQL triggers; SQLite relies on the ORM guards.",
)


def snapshot(invoice: Invoice) -> tuple:
    """Everything legal about an invoice, as stored."""
    invoice = Invoice.objects.get(pk=invoice.pk)
    lines = list(invoice.lines.values_list("description", "quantity", "unit_price", "total_ht"))
    return (
        invoice.number,
        invoice.issue_date,
        invoice.buyer,
        invoice.total_ht,
        invoice.total_tva,
        invoice.stamp_duty,
        invoice.total_ttc,
        invoice.due_date,
        invoice.notes,
        lines,
    )


@pytest.fixture
def invoice(super_admin):
    return issued_invoice(super_admin)


# --- API ----------------------------------------------------------------------------------------


def test_the_api_refuses_every_change_to_an_issued_invoice(admin_client, invoice):
    before = snapshot(invoice)
    line = invoice.lines.first()
    base = f"/api/invoices/{invoice.pk}/"
    new_line = {"description": "x", "quantity": "1", "unit_price": "1", "tva_rate": "19"}

    responses = [
        admin_client.patch(base, {"notes": "changed"}, format="json"),
        admin_client.delete(base),
        admin_client.post(f"{base}lines/", new_line, format="json"),
        admin_client.patch(f"{base}lines/{line.pk}/", {"unit_price": "1"}, format="json"),
        admin_client.delete(f"{base}lines/{line.pk}/"),
    ]

    assert [r.status_code for r in responses] == [400] * 5
    assert {r.json()["code"] for r in responses} == {"not_draft"}
    assert snapshot(invoice) == before


# --- Admin --------------------------------------------------------------------------------------


@pytest.fixture
def admin_site_client(client, super_admin, password):
    """A browser session on the admin site, signed in with password and TOTP."""
    super_admin.is_staff = True
    super_admin.save(update_fields=["is_staff"])
    device = enrol_totp(super_admin)
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": super_admin.username, "password": password, "otp_token": totp_code(device)},
    )
    assert response.status_code == 302
    return client


def test_the_admin_shows_an_issued_invoice_read_only(admin_site_client, invoice, super_admin):
    before = snapshot(invoice)
    change = f"/admin/invoices/invoice/{invoice.pk}/change/"

    page = admin_site_client.get(change)
    posted = admin_site_client.post(change, {"notes": "changed", "total_ttc": "1.000"})
    deleted = admin_site_client.post(
        f"/admin/invoices/invoice/{invoice.pk}/delete/", {"post": "yes"}
    )
    added = admin_site_client.get("/admin/invoices/invoice/add/")

    assert page.status_code == 200
    assert invoice.number.encode() in page.content
    assert b'name="_save"' not in page.content
    assert (posted.status_code, deleted.status_code, added.status_code) == (403, 403, 403)
    assert snapshot(invoice) == before
    record = AccessRecord.objects.get(action="invoice.admin_read")
    assert record.actor == super_admin


def test_the_admin_edits_the_seller_identity_and_the_rates(admin_site_client):
    assert admin_site_client.get("/admin/invoices/sellerprofile/add/").status_code == 200
    assert admin_site_client.get("/admin/invoices/fiscalrate/").status_code == 200


# --- ORM ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("total_ttc", Decimal("1.000")),
        ("number", "2026-999999"),
        ("issue_date", datetime.date(2020, 1, 1)),
        ("buyer", {"name": "Quelqu'un d'autre"}),
        ("notes", "changed"),
        ("status", "draft"),
    ],
)
def test_save_refuses_to_change_an_issued_invoice(invoice, field, value):
    before = snapshot(invoice)
    setattr(invoice, field, value)

    with pytest.raises(IssuedDocumentError):
        invoice.save()

    assert snapshot(invoice) == before


def test_a_hand_built_object_cannot_overwrite_an_issued_invoice(invoice):
    impostor = Invoice(
        pk=invoice.pk,
        customer_id=invoice.customer_id,
        service_order_id=invoice.service_order_id,
        status="issued",
    )

    with pytest.raises(IssuedDocumentError):
        impostor.save()


def test_saving_an_issued_invoice_writes_only_its_settlement_columns(invoice):
    with connection.cursor() as cursor:
        cursor.execute("SELECT buyer FROM invoices_invoice WHERE id = %s", [invoice.pk])
        ciphertext = cursor.fetchone()[0]
    invoice.status = Invoice.Status.PARTIALLY_PAID
    invoice.paid_total = Decimal("1.000")

    invoice.save()

    invoice.refresh_from_db()
    assert (invoice.status, invoice.paid_total) == ("partially_paid", Decimal("1.000"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT buyer FROM invoices_invoice WHERE id = %s", [invoice.pk])
        assert cursor.fetchone()[0] == ciphertext  # not re-encrypted


def test_bulk_updates_and_deletes_of_issued_invoices_are_refused(invoice):
    before = snapshot(invoice)

    with pytest.raises(IssuedDocumentError):
        Invoice.objects.filter(pk=invoice.pk).update(total_ttc=Decimal("1.000"))
    with pytest.raises(IssuedDocumentError):
        Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.DRAFT)
    with pytest.raises(IssuedDocumentError):
        Invoice.objects.filter(pk=invoice.pk).delete()
    with pytest.raises(IssuedDocumentError):
        invoice.delete()

    assert snapshot(invoice) == before


def test_lines_of_an_issued_invoice_cannot_change(invoice):
    before = snapshot(invoice)
    line = invoice.lines.first()
    line.unit_price = Decimal("0.001")

    with pytest.raises(IssuedDocumentError):
        line.save()
    with pytest.raises(IssuedDocumentError):
        line.delete()
    with pytest.raises(IssuedDocumentError):
        invoice.lines.update(unit_price=Decimal("0.001"))
    with pytest.raises(IssuedDocumentError):
        invoice.lines.all().delete()
    with pytest.raises(IssuedDocumentError):
        InvoiceLine.objects.bulk_create([InvoiceLine(invoice=invoice, **LINE)])

    assert snapshot(invoice) == before


def test_a_line_cannot_be_moved_into_an_issued_invoice(super_admin, invoice):
    draft = draft_invoice(super_admin)
    line = draft.lines.first()
    line.invoice = invoice

    with pytest.raises(IssuedDocumentError):
        line.save()
    with pytest.raises(IssuedDocumentError):
        draft.lines.update(invoice=invoice)


def test_payments_are_never_edited(super_admin, invoice):
    payment = services.payment_record(
        actor=super_admin, invoice=invoice, method="cash", amount=Decimal("10.000")
    )
    payment.amount = Decimal("99.000")

    with pytest.raises(IssuedDocumentError):
        payment.save()
    with pytest.raises(IssuedDocumentError):
        Payment.objects.filter(pk=payment.pk).update(amount=Decimal("99.000"))
    with pytest.raises(IssuedDocumentError):
        payment.delete()

    assert Payment.objects.get(pk=payment.pk).amount == Decimal("10.000")


def test_an_issued_credit_note_cannot_change(super_admin, invoice):
    note = services.credit_note_create(actor=super_admin, invoice=invoice, reason="Erreur")
    note = services.credit_note_issue(actor=super_admin, credit_note=note)
    note.total_ttc = Decimal("0.001")

    with pytest.raises(IssuedDocumentError):
        note.save()
    with pytest.raises(IssuedDocumentError):
        note.lines.update(unit_price=Decimal("0.001"))
    with pytest.raises(IssuedDocumentError):
        CreditNote.objects.filter(pk=note.pk).delete()


# --- Retention ----------------------------------------------------------------------------------


def _expired_invoice(invoice: Invoice, *, retention_until) -> Invoice:
    """An issued invoice as it would stand years later: a draft with a line, then issued."""
    old = Invoice.objects.create(
        customer_id=invoice.customer_id, service_order_id=invoice.service_order_id
    )
    InvoiceLine.objects.create(invoice=old, **LINE)
    old.status = Invoice.Status.PAID
    old.number = "2015-000001"
    old.issue_date = retention_until.replace(year=retention_until.year - 10)
    old.retention_until = retention_until
    old.buyer = invoice.buyer
    old.total_ttc = old.paid_total = Decimal("1.190")
    old.save()
    return old


def test_an_issued_invoice_is_kept_ten_years(invoice):
    assert invoice.retention_until == invoice.issue_date.replace(year=invoice.issue_date.year + 10)
    still_kept = _expired_invoice(invoice, retention_until=timezone.localdate())

    with pytest.raises(IssuedDocumentError):
        still_kept.delete()


def test_after_its_retention_an_invoice_can_be_purged(invoice):
    old = _expired_invoice(
        invoice, retention_until=timezone.localdate() - datetime.timedelta(days=2)
    )

    old.delete()

    assert not Invoice.objects.filter(pk=old.pk).exists()
    assert Invoice.objects.filter(pk=invoice.pk).exists()


def test_the_retention_rule_purges_only_expired_documents(invoice):
    from privacy.registry import registry

    rule = next(rule for rule in registry.retention_rules() if rule.name == "invoices")
    old = _expired_invoice(
        invoice, retention_until=timezone.localdate() - datetime.timedelta(days=2)
    )

    assert rule.purge(True) == 1
    assert rule.purge(False) == 1

    assert not Invoice.objects.filter(pk=old.pk).exists()
    assert Invoice.objects.filter(pk=invoice.pk).exists()


# --- Database guards (PostgreSQL) -----------------------------------------------------------


def _raw(sql: str, params) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@postgresql_only
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE invoices_invoice SET total_ttc = 1 WHERE id = %s",
        "UPDATE invoices_invoice SET number = '2026-999999' WHERE id = %s",
        "UPDATE invoices_invoice SET buyer = 'e1:forged' WHERE id = %s",
        "UPDATE invoices_invoice SET issue_date = DATE '2020-01-01' WHERE id = %s",
        "UPDATE invoices_invoice SET status = 'draft' WHERE id = %s",
        "DELETE FROM invoices_invoice WHERE id = %s",
        "UPDATE invoices_invoiceline SET unit_price = 0 WHERE invoice_id = %s",
        "DELETE FROM invoices_invoiceline WHERE invoice_id = %s",
        "INSERT INTO invoices_invoiceline (invoice_id, position, kind, description, quantity, "
        "unit_price, tva_rate, total_ht, tva_amount, total_ttc) "
        "VALUES (%s, 9, 'other', 'x', 1, 1, 0, 1, 0, 1)",
    ],
)
def test_the_database_refuses_raw_changes_to_an_issued_invoice(invoice, sql):
    before = snapshot(invoice)

    with pytest.raises(DatabaseError, match="issued"):
        _raw(sql, [invoice.pk])

    assert snapshot(invoice) == before


@postgresql_only
def test_the_database_lets_the_settlement_columns_move(invoice):
    _raw(
        "UPDATE invoices_invoice SET status = 'paid', paid_total = total_ttc WHERE id = %s",
        [invoice.pk],
    )

    invoice.refresh_from_db()
    assert invoice.status == "paid"


@postgresql_only
def test_the_database_refuses_raw_changes_to_payments_and_credit_notes(super_admin, invoice):
    payment = services.payment_record(
        actor=super_admin, invoice=invoice, method="cash", amount=Decimal("10.000")
    )
    note = services.credit_note_create(
        actor=super_admin,
        invoice=invoice,
        reason="Remise",
        lines=[
            {
                "description": "Remise",
                "quantity": Decimal("1"),
                "unit_price": Decimal("5.000"),
                "tva_rate": Decimal("19.00"),
            }
        ],
    )
    services.credit_note_issue(actor=super_admin, credit_note=note)

    for sql, pk in [
        ("UPDATE invoices_payment SET amount = 1 WHERE id = %s", payment.pk),
        ("DELETE FROM invoices_payment WHERE id = %s", payment.pk),
        ("UPDATE invoices_creditnote SET total_ttc = 1 WHERE id = %s", note.pk),
        ("DELETE FROM invoices_creditnote WHERE id = %s", note.pk),
        ("UPDATE invoices_creditnoteline SET unit_price = 0 WHERE credit_note_id = %s", note.pk),
    ]:
        with pytest.raises(DatabaseError):
            _raw(sql, [pk])

    assert Payment.objects.get(pk=payment.pk).amount == Decimal("10.000")
    assert CreditNote.objects.get(pk=note.pk).total_ttc == Decimal("6.950")
    assert CreditNoteLine.objects.get(credit_note=note).unit_price == Decimal("5.000")


@postgresql_only
def test_the_database_still_lets_drafts_change_and_go(super_admin):
    draft = draft_invoice(super_admin)

    _raw("UPDATE invoices_invoiceline SET unit_price = 1 WHERE invoice_id = %s", [draft.pk])
    _raw("DELETE FROM invoices_invoiceline WHERE invoice_id = %s", [draft.pk])
    _raw("DELETE FROM invoices_invoiceevent WHERE invoice_id = %s", [draft.pk])
    _raw("DELETE FROM invoices_invoice WHERE id = %s", [draft.pk])

    assert not Invoice.objects.filter(pk=draft.pk).exists()


def test_deleting_the_account_that_issued_an_invoice_keeps_the_invoice(make_user):
    clerk = make_user("clerk", "super_admin")
    invoice = issued_invoice(clerk)
    before = snapshot(invoice)

    clerk.delete()

    invoice.refresh_from_db()
    assert (invoice.issued_by, invoice.created_by) == (None, None)
    assert snapshot(invoice) == before
