"""Every document of the demo data exports to TEIF that validates, is signed by the test CA's
certificate and carries the invoice's own totals to the millime."""

from decimal import Decimal

import pytest
from django.core.management import call_command

from invoices.models import CreditNote, Invoice
from invoices.services import einvoicing
from invoices.teif.signing import verify_teif
from invoices.teif.validation import validate_teif


def amount(root, path: str) -> Decimal:
    (value,) = root.xpath(f"{path}/text()")
    return Decimal(value)


@pytest.mark.django_db
def test_every_seeded_invoice_and_credit_note_exports_to_valid_signed_teif(teif_on, teif_ca):
    call_command("seed_demo", verbosity=0)
    documents = [
        *Invoice.objects.exclude(status="draft").order_by("id"),
        *CreditNote.objects.exclude(status="draft").order_by("id"),
    ]
    seen = {"rates": set(), "receivers": set(), "types": set(), "stamp": set()}

    for document in documents:
        signed = einvoicing.teif_signed(document)
        validate_teif(signed)
        root = verify_teif(signed, certificate=teif_on)
        moa = "InvoiceBody/InvoiceMoa/AmountDetails/Moa[@amountTypeCode='{}']/Amount"
        assert amount(root, moa.format("I-176")) == document.total_ht
        assert amount(root, moa.format("I-180")) == document.total_ttc
        assert amount(root, moa.format("I-181")) == document.total_tva + document.stamp_duty
        stamp = "InvoiceBody/InvoiceTax/InvoiceTaxDetails[Tax/TaxTypeName/@code='I-1601']"
        assert amount(root, f"{stamp}/AmountDetails/Moa/Amount") == document.stamp_duty
        seen["stamp"].add(document.stamp_duty)
        seen["rates"] |= set(root.xpath("//LinTax/TaxDetails/TaxRate/text()"))
        seen["receivers"].add(root.find("InvoiceHeader/MessageRecieverIdentifier").get("type"))
        seen["types"].add(root.find("InvoiceBody/Bgm/DocumentType").get("code"))
    teif_on.verify_directly_issued_by(teif_ca[1])

    # The demo data covers what the format must carry.
    assert {"7", "13", "19"} <= seen["rates"]
    assert seen["receivers"] == {"I-01", "I-02"}  # a company (MF) and individuals (CIN)
    assert seen["types"] == {"I-11", "I-12"}  # invoices and a credit note
    assert seen["stamp"] == {Decimal("1.000")}
