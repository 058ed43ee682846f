# ruff: noqa: E501 - the guide's example keeps its lines
"""TEIF 1.8.8 structure: the implementation guide's own example validates; each kind of defect
in it is found; the builder's output for invoices and credit notes validates and is exact."""

from decimal import Decimal

import pytest
from lxml import etree

from invoices import services
from invoices.services import einvoicing
from invoices.teif import codes
from invoices.teif.validation import TeifValidationError, validate_teif
from invoices.tests.helpers import issued_invoice

# The example of TTN's TEIF implementation guide (its 2012 invoice 12016_2012: one line at the
# TVA rate of the time, 12 %, 0.300 TND of stamp duty), in the 1.8.8 structure.
GUIDE_EXAMPLE = """<?xml version="1.0" encoding="UTF-8"?>
<TEIF controlingAgency="TTN" version="1.8.8">
  <InvoiceHeader>
    <MessageSenderIdentifier type="I-01">0736202XAM000</MessageSenderIdentifier>
    <MessageRecieverIdentifier type="I-01">0914089JAM000</MessageRecieverIdentifier>
  </InvoiceHeader>
  <InvoiceBody>
    <Bgm>
      <DocumentIdentifier>12016_2012</DocumentIdentifier>
      <DocumentType code="I-11">Facture</DocumentType>
    </Bgm>
    <Dtm>
      <DateText format="ddMMyy" functionCode="I-31">070612</DateText>
      <DateText format="ddMMyy-ddMMyy" functionCode="I-36">010512-310512</DateText>
      <DateText format="ddMMyy" functionCode="I-32">070712</DateText>
    </Dtm>
    <PartnerSection>
      <PartnerDetails functionCode="I-62">
        <Nad>
          <PartnerIdentifier type="I-01">0736202XAM000</PartnerIdentifier>
          <PartnerName nameType="Qualification">Tunisie TradeNet</PartnerName>
          <PartnerAdresses lang="fr">
            <AdressDescription>Rue du Lac Malaren, Les Berges du Lac</AdressDescription>
            <Street>Rue du Lac Malaren</Street>
            <CityName>Tunis</CityName>
            <PostalCode>1053</PostalCode>
            <Country codeList="ISO_3166-1">TN</Country>
          </PartnerAdresses>
        </Nad>
        <RffSection><Reference refID="I-815">B154702000</Reference></RffSection>
      </PartnerDetails>
      <PartnerDetails functionCode="I-64">
        <Nad>
          <PartnerIdentifier type="I-01">0914089JAM000</PartnerIdentifier>
          <PartnerName nameType="Qualification">Client</PartnerName>
        </Nad>
      </PartnerDetails>
    </PartnerSection>
    <LinSection>
      <Lin>
        <ItemIdentifier>1</ItemIdentifier>
        <LinImd lang="fr"><ItemCode>DDM</ItemCode><ItemDescription>Dossier DDM</ItemDescription></LinImd>
        <LinQty><Quantity measurementUnit="UNIT">1.0</Quantity></LinQty>
        <LinTax>
          <TaxTypeName code="I-1602">TVA</TaxTypeName>
          <TaxDetails><TaxRate>12</TaxRate></TaxDetails>
        </LinTax>
        <LinMoa>
          <MoaDetails><Moa amountTypeCode="I-183" currencyCodeList="ISO_4217"><Amount currencyIdentifier="TND">2.000</Amount></Moa></MoaDetails>
          <MoaDetails><Moa amountTypeCode="I-171" currencyCodeList="ISO_4217"><Amount currencyIdentifier="TND">2.000</Amount></Moa></MoaDetails>
        </LinMoa>
      </Lin>
    </LinSection>
    <InvoiceMoa>
      <AmountDetails><Moa amountTypeCode="I-179" currencyCodeList="ISO_4217"><Amount currencyIdentifier="TND">2000000</Amount></Moa></AmountDetails>
      <AmountDetails><Moa amountTypeCode="I-180" currencyCodeList="ISO_4217"><Amount currencyIdentifier="TND">2.540</Amount><AmountDescription lang="fr">DEUX DINARS ET CINQ CENT QUARANTE MILLIMES</AmountDescription></Moa></AmountDetails>
      <AmountDetails><Moa amountTypeCode="I-176" currencyCodeList="ISO_4217"><Amount currencyIdentifier="TND">2.000</Amount></Moa></AmountDetails>
      <AmountDetails><Moa amountTypeCode="I-182" currencyCodeList="ISO_4217"><Amount currencyIdentifier="TND">2.000</Amount></Moa></AmountDetails>
      <AmountDetails><Moa amountTypeCode="I-181" currencyCodeList="ISO_4217"><Amount currencyIdentifier="TND">0.540</Amount></Moa></AmountDetails>
    </InvoiceMoa>
    <InvoiceTax>
      <InvoiceTaxDetails>
        <Tax><TaxTypeName code="I-1601">droit de timbre</TaxTypeName><TaxDetails><TaxRate>0</TaxRate></TaxDetails></Tax>
        <AmountDetails><Moa amountTypeCode="I-178" currencyCodeList="ISO_4217"><Amount currencyIdentifier="TND">0.300</Amount></Moa></AmountDetails>
      </InvoiceTaxDetails>
      <InvoiceTaxDetails>
        <Tax><TaxTypeName code="I-1602">TVA</TaxTypeName><TaxDetails><TaxRate>12</TaxRate></TaxDetails></Tax>
        <AmountDetails><Moa amountTypeCode="I-177" currencyCodeList="ISO_4217"><Amount currencyIdentifier="TND">2.000</Amount></Moa></AmountDetails>
        <AmountDetails><Moa amountTypeCode="I-178" currencyCodeList="ISO_4217"><Amount currencyIdentifier="TND">0.240</Amount></Moa></AmountDetails>
      </InvoiceTaxDetails>
    </InvoiceTax>
  </InvoiceBody>
</TEIF>
"""


def errors_of(xml: str) -> list[str]:
    with pytest.raises(TeifValidationError) as caught:
        validate_teif(xml.encode())
    return caught.value.errors


def test_the_guides_example_is_valid():
    validate_teif(GUIDE_EXAMPLE.encode())


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        # a mandatory element missing
        (
            ("<DocumentIdentifier>12016_2012</DocumentIdentifier>", ""),
            "DocumentIdentifier is required",
        ),
        # an element the format does not have
        (("<Bgm>", "<Bgm><Extra/>"), "Extra is not allowed here"),
        # elements out of order
        (
            (
                "<DocumentIdentifier>12016_2012</DocumentIdentifier>\n"
                '      <DocumentType code="I-11">Facture</DocumentType>',
                '<DocumentType code="I-11">Facture</DocumentType>'
                "<DocumentIdentifier>12016_2012</DocumentIdentifier>",
            ),
            "DocumentIdentifier is required here",
        ),
        # a code outside the lists
        (('<DocumentType code="I-11">', '<DocumentType code="I-19">'), "code='I-19'"),
        (('amountTypeCode="I-176"', 'amountTypeCode="I-199"'), "amountTypeCode='I-199'"),
        # a version other than 1.8.8
        (('version="1.8.8"', 'version="1.9.0"'), "version='1.9.0'"),
        # the 8-character matricule only 1.8.9 accepts
        (
            (
                '<MessageRecieverIdentifier type="I-01">0914089JAM000',
                '<MessageRecieverIdentifier type="I-01">0914089J',
            ),
            "MessageRecieverIdentifier: I-01 identifier",
        ),
        # a comma in an amount
        (('currencyIdentifier="TND">2.540<', 'currencyIdentifier="TND">2,540<'), "Amount"),
        # a date that is not ddMMyy
        (('functionCode="I-31">070612<', 'functionCode="I-31">2012-06-07<'), "DateText"),
        # totals that do not add up
        (('currencyIdentifier="TND">0.240<', 'currencyIdentifier="TND">0.250<'), "total TTC"),
    ],
)
def test_each_defect_of_the_example_is_found(change, expected):
    before, after = change
    assert before in GUIDE_EXAMPLE
    errors = errors_of(GUIDE_EXAMPLE.replace(before, after, 1))
    assert any(expected in error for error in errors), errors


def test_lines_at_a_rate_must_add_up_to_its_base():
    broken = GUIDE_EXAMPLE.replace(
        '<Amount currencyIdentifier="TND">2.000</Amount></Moa></AmountDetails>\n'
        '        <AmountDetails><Moa amountTypeCode="I-178"',
        '<Amount currencyIdentifier="TND">2.001</Amount></Moa></AmountDetails>\n'
        '        <AmountDetails><Moa amountTypeCode="I-178"',
    )
    assert any("base at 12 %" in error for error in errors_of(broken))


def test_a_document_with_an_entity_declaration_is_refused():
    doctype = (
        '<?xml version="1.0"?><!DOCTYPE TEIF [<!ENTITY x "y">]><TEIF version="1.8.8">&x;</TEIF>'
    )
    assert errors_of(doctype)


def amounts(root, xpath: str) -> list[Decimal]:
    return [Decimal(value) for value in root.xpath(xpath)]


@pytest.mark.django_db
def test_an_invoice_at_three_rates_is_exact_to_the_millime(super_admin, owner):
    invoice = issued_invoice(
        super_admin,
        owner.customer,
        labour=[("1.50", "33.333", "19.00", "approved"), ("0.75", "35.000", "7.00", "approved")],
        parts=[(3, "89.499", "13.00", "approved"), (1, "18.901", "19.00", "approved")],
    )

    root = einvoicing.teif_tree(invoice)

    validate_teif(root)
    total = lambda code: amounts(root, f"//InvoiceMoa//Moa[@amountTypeCode='{code}']/Amount/text()")  # noqa: E731
    assert total(codes.AMOUNT_TOTAL_HT) == [invoice.total_ht]
    assert total(codes.AMOUNT_TOTAL_TTC) == [invoice.total_ttc]
    assert total(codes.AMOUNT_TOTAL_TAX) == [invoice.total_tva + invoice.stamp_duty]
    rates = root.xpath(
        "//InvoiceTax/InvoiceTaxDetails[Tax/TaxTypeName/@code='I-1602']/Tax/TaxDetails/TaxRate/text()"
    )
    assert rates == ["19", "13", "7"]
    stamp = amounts(root, "//InvoiceTaxDetails[Tax/TaxTypeName/@code='I-1601']//Amount/text()")
    assert stamp == [Decimal("1.000")]
    lines = amounts(root, "//Lin//Moa[@amountTypeCode='I-171']/Amount/text()")
    assert lines == [line.total_ht for line in invoice.lines.all()]
    words = root.findtext(
        "InvoiceBody/InvoiceMoa/AmountDetails/Moa[@amountTypeCode='I-180']/AmountDescription"
    )
    assert words.endswith("MILLIMES") and "DINARS" in words
    assert root.findtext("InvoiceHeader/MessageRecieverIdentifier") == owner.customer.national_id
    assert root.find("InvoiceHeader/MessageRecieverIdentifier").get("type") == codes.ID_CIN


@pytest.mark.django_db
def test_a_credit_note_references_its_invoice(super_admin, owner):
    invoice = issued_invoice(super_admin, owner.customer)
    note = services.credit_note_issue(
        actor=super_admin,
        credit_note=services.credit_note_create(
            actor=super_admin, invoice=invoice, reason="Erreur"
        ),
    )

    root = einvoicing.teif_tree(note)

    validate_teif(root)
    assert root.find("InvoiceBody/Bgm/DocumentType").get("code") == codes.DOC_CREDIT_NOTE
    reference = root.find("InvoiceBody/Bgm/DocumentReferences/DocumentReference/Reference")
    assert (reference.get("refID"), reference.text) == (codes.REF_INVOICE, invoice.number)
    assert amounts(root, "//InvoiceMoa//Moa[@amountTypeCode='I-180']/Amount/text()") == [
        note.total_ttc
    ]


@pytest.mark.django_db
def test_an_invoice_exports_the_same_after_its_customer_is_erased(super_admin, owner, auth_client):
    invoice = issued_invoice(super_admin, owner.customer)
    before = etree.tostring(einvoicing.teif_tree(invoice), method="c14n")

    response = auth_client(owner).post("/api/delete_user_data/")

    assert response.status_code == 200, response.content
    invoice.refresh_from_db()
    invoice.customer.refresh_from_db()
    assert invoice.customer.full_name != invoice.buyer["name"]  # the record itself is gone
    assert etree.tostring(einvoicing.teif_tree(invoice), method="c14n") == before
