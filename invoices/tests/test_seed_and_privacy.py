"""Demo invoices, audit registration, and the invoices' place in export, erasure and retention."""

import json

import pytest
from auditlog.registry import auditlog
from django.apps import apps

from garage.models import Customer
from invoices import services
from invoices.models import CreditNote, Invoice, SellerProfile
from invoices.seed import seed_invoices, seed_invoices_demo
from invoices.tests.helpers import completed_order, draft_invoice, issued_invoice
from privacy.registry import registry
from privacy.services import export_stream

pytestmark = pytest.mark.django_db


def test_seed_invoices_makes_one_invoice_in_every_state(super_admin):
    orders = [completed_order() for _ in range(5)]

    made = seed_invoices(orders=orders, actor=super_admin)

    assert [invoice.status for invoice in made] == [
        "draft",
        "issued",
        "partially_paid",
        "paid",
        "credited",
    ]
    assert SellerProfile.current() is not None
    assert CreditNote.objects.get().status == "issued"
    assert all(invoice.balance_due >= 0 for invoice in made)
    assert seed_invoices(orders=orders, actor=super_admin) == []  # nothing twice


def test_the_seed_demo_step_invoices_completed_and_delivered_orders(super_admin):
    completed_order()
    completed_order(status="delivered")
    completed_order(status="in_progress")

    result = seed_invoices_demo(admin=super_admin, technicians=[], customer_users=[], rng=None)

    assert result == {"invoices": 2, "states": ["draft", "issued"]}
    assert Invoice.objects.count() == 2


def test_every_invoicing_model_is_audited():
    models = apps.get_app_config("invoices").get_models()

    assert [m.__name__ for m in models if not auditlog.contains(m)] == []


def test_the_export_holds_the_persons_issued_invoices_only(super_admin, owner, other_owner):
    mine = issued_invoice(super_admin, owner.customer)
    draft_invoice(super_admin, owner.customer)
    issued_invoice(super_admin, other_owner.customer)
    note = services.credit_note_issue(
        actor=super_admin,
        credit_note=services.credit_note_create(actor=super_admin, invoice=mine, reason="Erreur"),
    )
    sources = {source.name: source for source in registry.sources()}

    invoices = list(sources["invoices"].export(owner))
    notes = list(sources["credit_notes"].export(owner))

    assert [row["number"] for row in invoices] == [mine.number]
    assert invoices[0]["buyer"]["name"] == owner.customer.full_name
    assert [row["number"] for row in notes] == [note.number]


def erase(name: str, user):
    return next(s for s in registry.sources() if s.name == name).erase(user)


def test_erasure_keeps_issued_documents_and_deletes_drafts(super_admin, owner):
    kept = issued_invoice(super_admin, owner.customer)
    draft = draft_invoice(super_admin, owner.customer)
    issued_note = services.credit_note_issue(
        actor=super_admin,
        credit_note=services.credit_note_create(actor=super_admin, invoice=kept, reason="x"),
    )
    draft_note = services.credit_note_create(
        actor=super_admin,
        invoice=issued_invoice(super_admin, owner.customer),
        reason="y",
    )

    notes = erase("credit_notes", owner)  # the erasure runs sources in reverse order
    invoices = erase("invoices", owner)

    assert (notes.erased, notes.retained) == (1, 1)
    assert (invoices.erased, invoices.retained) == (1, 2)
    assert "10 years" in invoices.reason and "10 years" in notes.reason
    assert not Invoice.objects.filter(pk=draft.pk).exists()
    assert not CreditNote.objects.filter(pk=draft_note.pk).exists()
    assert CreditNote.objects.filter(pk=issued_note.pk).exists()
    kept.refresh_from_db()
    assert kept.buyer["name"] == owner.customer.full_name


def test_erasure_of_someone_without_invoices_retains_nothing(owner):
    for name in ("credit_notes", "invoices"):
        result = erase(name, owner)

        assert (result.erased, result.retained, result.reason) == (0, 0, "")


def test_a_customer_who_erases_their_data_keeps_their_issued_invoices(
    auth_client, owner, super_admin, settings, tmp_path
):
    settings.ERASURE_LEDGER_PATH = str(tmp_path / "erasure-ledger.jsonl")
    invoice = issued_invoice(super_admin, owner.customer)
    name = owner.customer.full_name

    response = auth_client(owner).generic("POST", "/api/delete_user_data/")

    assert response.status_code == 200, response.content
    assert response.json()["retained"]["invoices"]["count"] == 1
    invoice.refresh_from_db()
    assert invoice.buyer["name"] == name  # the legal document keeps its buyer
    assert Customer.objects.get(pk=invoice.customer_id).full_name != name
    exported = json.loads(b"".join(export_stream(user=owner)))
    assert exported["sections"]["invoices"] == []  # the account is no longer linked
