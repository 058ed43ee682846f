"""El Fatoora in the admin: the lists filter by e-invoicing status; actions export, mark
submitted and record TTN's answer."""

import pytest

from invoices.models import Invoice
from invoices.tests.helpers import issued_invoice
from invoices.tests.test_immutability import admin_site_client  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/invoices/invoice/"


def act(client, action: str, invoice, **extra):
    return client.post(
        CHANGELIST, {"action": action, "_selected_action": [invoice.pk], **extra}, follow=True
    )


def test_the_list_filters_by_e_invoicing_status(admin_site_client, super_admin, teif_on):  # noqa: F811
    exported, waiting = issued_invoice(super_admin), issued_invoice(super_admin)
    act(admin_site_client, "einvoice_export", exported)

    page = admin_site_client.get(f"{CHANGELIST}?einvoice_status__exact=exported")

    assert page.status_code == 200
    assert exported.number.encode() in page.content
    assert waiting.number.encode() not in page.content


def test_the_actions_walk_a_document_to_accepted(admin_site_client, super_admin, teif_on):  # noqa: F811
    invoice = issued_invoice(super_admin)

    act(admin_site_client, "einvoice_export", invoice)
    act(admin_site_client, "einvoice_mark_submitted", invoice)
    form = act(admin_site_client, "einvoice_record_answer", invoice)
    done = act(
        admin_site_client,
        "einvoice_record_answer",
        invoice,
        confirm="1",
        accepted="on",
        reference="TTN-ADMIN-1",
        qr_payload="qr content",
    )

    assert form.status_code == 200 and b"TTN reference" in form.content
    assert done.status_code == 200 and b"answer recorded" in done.content
    invoice = Invoice.objects.get(pk=invoice.pk)
    assert (invoice.einvoice_status, invoice.ttn_reference) == ("accepted", "TTN-ADMIN-1")


def test_an_out_of_order_action_is_reported_not_applied(admin_site_client, super_admin, teif_on):  # noqa: F811
    invoice = issued_invoice(super_admin)

    page = act(admin_site_client, "einvoice_mark_submitted", invoice)

    assert b"Cannot submit" in page.content
    assert Invoice.objects.get(pk=invoice.pk).einvoice_status == "not_sent"
