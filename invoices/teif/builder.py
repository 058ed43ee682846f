"""A TEIF 1.8.8 document from an issued invoice or credit note.

Everything comes from the document as frozen at issue: number, dates, the seller and buyer
snapshots, lines and totals. Never from today's customer record: an erased customer's invoices
export the same file they always did. The element order is the schema's (TEIF implementation
guide: InvoiceHeader, then InvoiceBody with Bgm, Dtm, PartnerSection, PytSection, Ftx,
LinSection, InvoiceMoa, InvoiceTax); the supplier's signature is added after InvoiceBody by
`invoices.teif.signing`.
"""

import re
from decimal import Decimal

from lxml import etree

from invoices.money import amount_in_words, tva_summary
from invoices.teif import codes

_COMPACT = re.compile(r"[\s/\-.]")
_ITEM_CODES = {"labour": "MO", "part": "PIECE", "other": "DIVERS"}  # ItemCode, ≤ 35 characters


class TeifBuildError(Exception):
    """The document cannot be expressed as valid TEIF (e.g. a buyer without an identifier)."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def teif_tax_id(value: str) -> str:
    """A matricule fiscal as TEIF writes it: '1234567/A/A/M/000' → '1234567AAM000'."""
    return _COMPACT.sub("", value or "").upper()


def buyer_identifier(buyer: dict) -> tuple[str, str] | None:
    """(type, value) of the buyer's identifier: the matricule fiscal (I-01), else the CIN (I-02)."""
    if buyer.get("tax_id"):
        return codes.ID_MATRICULE_FISCAL, teif_tax_id(buyer["tax_id"])
    if buyer.get("national_id") and buyer.get("kind") != "company":
        return codes.ID_CIN, _COMPACT.sub("", buyer["national_id"])
    return None


def identifier_problems(seller: dict, buyer: dict) -> list[str]:
    """Why these parties cannot appear in a TEIF header; empty when they can."""
    problems = []
    seller_id = teif_tax_id(seller.get("tax_id", ""))
    if not codes.IDENTIFIER_PATTERNS[codes.ID_MATRICULE_FISCAL].fullmatch(seller_id):
        problems.append(
            "The seller's matricule fiscal must have the 13-character form TEIF 1.8.8 accepts "
            "(1234567/A/A/M/000, categories C, M, N or P, establishment 000)."
        )
    identifier = buyer_identifier(buyer)
    if identifier is None:
        problems.append(
            "A company buyer needs its matricule fiscal, an individual their matricule fiscal "
            "or CIN: add it to the customer record."
        )
    elif not codes.IDENTIFIER_PATTERNS[identifier[0]].fullmatch(identifier[1]):
        problems.append(
            "The buyer's matricule fiscal must have the 13-character form TEIF 1.8.8 accepts "
            "(1234567/A/A/M/000, categories C, M, N or P, establishment 000)."
        )
    return problems


def amount(value: Decimal) -> str:
    """An amount in TND: point decimal, three decimals, no separators (e.g. 1190.000)."""
    return f"{Decimal(value).quantize(Decimal('0.001')):f}"


def number(value: Decimal) -> str:
    """A rate or quantity without trailing zeros: 19, 7, 1.5."""
    text = f"{Decimal(value).normalize():f}"
    return text


def ddmmyy(value) -> str:
    return value.strftime("%d%m%y")


def _sub(parent, tag: str, text: str | None = None, **attributes) -> etree._Element:
    element = etree.SubElement(parent, tag, {k: v for k, v in attributes.items() if v})
    if text is not None:
        element.text = text
    return element


def _cut(text: str, limit: int) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _moa(parent, code: str, value: Decimal, words: str = "") -> None:
    moa = _sub(parent, "Moa", amountTypeCode=code, currencyCodeList=codes.CURRENCY_CODE_LIST)
    _sub(moa, "Amount", amount(value), currencyIdentifier=codes.CURRENCY)
    if words:
        _sub(moa, "AmountDescription", _cut(words, 500), lang="fr")


def _partner(
    section, function: str, identifier: tuple[str, str], name: str, name_type: str, address: str
) -> etree._Element:
    details = _sub(section, "PartnerDetails", functionCode=function)
    nad = _sub(details, "Nad")
    _sub(nad, "PartnerIdentifier", identifier[1], type=identifier[0])
    _sub(nad, "PartnerName", _cut(name, 200), nameType=name_type)
    if address.strip():
        addresses = _sub(nad, "PartnerAdresses", lang="fr")
        _sub(addresses, "AdressDescription", _cut(address, 500))
        _sub(addresses, "Country", "TN", codeList=codes.COUNTRY_CODE_LIST)
    return details


def _seller_partner(section, seller: dict) -> None:
    details = _partner(
        section,
        codes.PARTNER_SUPPLIER,
        (codes.ID_MATRICULE_FISCAL, teif_tax_id(seller["tax_id"])),
        seller["legal_name"],
        codes.NAME_COMPANY,
        seller.get("address", ""),
    )
    if seller.get("trade_register"):
        rff = _sub(details, "RffSection")
        _sub(rff, "Reference", _cut(seller["trade_register"], 200), refID=codes.REF_TRADE_REGISTER)
    for means, value in (
        (codes.COM_PHONE, seller.get("phone")),
        (codes.COM_EMAIL, seller.get("email")),
    ):
        if value:
            cta = _sub(details, "CtaSection")
            contact = _sub(cta, "Contact", functionCode=codes.CONTACT_OTHER)
            _sub(contact, "ContactName", _cut(seller["legal_name"], 200))
            communication = _sub(cta, "Communication")
            _sub(communication, "ComMeansType", means)
            _sub(communication, "ComAdress", _cut(value, 500))


def _payment(body, document, seller: dict) -> None:
    """Payment terms (I-11) and the garage's bank account (PytFii, institution I-142)."""
    due = getattr(document, "due_date", None)
    terms = f"Paiement au plus tard le {due:%d/%m/%Y}." if due else "Paiement à réception."
    details = _sub(_sub(body, "PytSection"), "PytSectionDetails")
    pyt = _sub(details, "Pyt")
    transfer = bool(seller.get("bank_account"))
    _sub(
        pyt,
        "PaymentTearmsTypeCode",
        codes.PAYMENT_BANK_TRANSFER if transfer else codes.PAYMENT_BASIC,
    )
    _sub(pyt, "PaymentTearmsDescription", terms)
    if transfer:
        fii = _sub(details, "PytFii", functionCode=codes.INSTITUTION_BANK)
        holder = _sub(fii, "AccountHolder")
        _sub(holder, "AccountNumber", _COMPACT.sub("", seller["bank_account"]))
        _sub(holder, "OwnerIdentifier", _cut(seller["legal_name"], 70))
        if seller.get("bank_name"):
            institution = _sub(fii, "InstitutionIdentification")
            _sub(institution, "InstitutionName", _cut(seller["bank_name"], 70))


def _free_texts(body, texts: list[tuple[str, str]]) -> None:
    if texts:
        ftx = _sub(body, "Ftx")
        for subject, text in texts:
            _sub(_sub(ftx, "FreeTextDetail", subjectCode=subject), "FreeTexts", _cut(text, 500))


def _lines(body, lines) -> None:
    section = _sub(body, "LinSection")
    for line in lines:
        lin = _sub(section, "Lin")
        _sub(lin, "ItemIdentifier", str(line.position))
        imd = _sub(lin, "LinImd", lang="fr")
        _sub(imd, "ItemCode", _ITEM_CODES.get(line.kind, "DIVERS"))
        _sub(imd, "ItemDescription", _cut(line.description, 500))
        _sub(_sub(lin, "LinQty"), "Quantity", number(line.quantity), measurementUnit="UNIT")
        tax = _sub(lin, "LinTax")
        _sub(tax, "TaxTypeName", "TVA", code=codes.TAX_TVA)
        _sub(_sub(tax, "TaxDetails"), "TaxRate", number(line.tva_rate))
        moa = _sub(lin, "LinMoa")
        _moa(_sub(moa, "MoaDetails"), codes.AMOUNT_UNIT_HT, line.unit_price)
        _moa(_sub(moa, "MoaDetails"), codes.AMOUNT_LINE_HT, line.total_ht)


def _totals(body, document, buckets) -> None:
    """Invoice amounts (I-176 HT, I-182 taxable base, I-181 taxes, I-180 TTC in words) and the
    taxes: stamp duty (I-1601) and TVA per rate (I-1602, base I-177 and amount I-178).

    "Montant total taxe" (I-181) is read as the sum of the InvoiceTax amounts, stamp duty
    included, so that TTC = HT + I-181 as in the guide's example (2.000 + 0.540 = 2.540).
    """
    moa = _sub(body, "InvoiceMoa")
    _moa(_sub(moa, "AmountDetails"), codes.AMOUNT_TOTAL_HT, document.total_ht)
    _moa(
        _sub(moa, "AmountDetails"),
        codes.AMOUNT_TOTAL_TAX_BASE,
        sum((b.base for b in buckets), Decimal(0)),
    )
    _moa(
        _sub(moa, "AmountDetails"), codes.AMOUNT_TOTAL_TAX, document.total_tva + document.stamp_duty
    )
    _moa(
        _sub(moa, "AmountDetails"),
        codes.AMOUNT_TOTAL_TTC,
        document.total_ttc,
        words=amount_in_words(document.total_ttc).upper(),
    )
    taxes = _sub(body, "InvoiceTax")
    if document.stamp_duty:
        details = _sub(taxes, "InvoiceTaxDetails")
        tax = _sub(details, "Tax")
        _sub(tax, "TaxTypeName", "Droit de timbre", code=codes.TAX_STAMP_DUTY)
        _sub(_sub(tax, "TaxDetails"), "TaxRate", "0")
        _moa(_sub(details, "AmountDetails"), codes.AMOUNT_TAX, document.stamp_duty)
    for bucket in buckets:
        details = _sub(taxes, "InvoiceTaxDetails")
        tax = _sub(details, "Tax")
        _sub(tax, "TaxTypeName", "TVA", code=codes.TAX_TVA)
        _sub(_sub(tax, "TaxDetails"), "TaxRate", number(bucket.rate))
        _moa(_sub(details, "AmountDetails"), codes.AMOUNT_TAX_BASE, bucket.base)
        _moa(_sub(details, "AmountDetails"), codes.AMOUNT_TAX, bucket.amount)


def build_teif(document, *, invoice=None) -> etree._Element:
    """The unsigned TEIF tree of an issued invoice, or of a credit note (`invoice`: the one it
    corrects). Raises TeifBuildError when the parties cannot be identified as TEIF requires."""
    seller, buyer = document.seller or {}, document.buyer or {}
    problems = identifier_problems(seller, buyer)
    if problems:
        raise TeifBuildError(problems)
    buyer_id = buyer_identifier(buyer)
    lines = list(document.lines.all())

    root = etree.Element(
        "TEIF", {"version": codes.TEIF_VERSION, "controlingAgency": codes.CONTROLLING_AGENCY}
    )
    header = _sub(root, "InvoiceHeader")
    _sub(
        header,
        "MessageSenderIdentifier",
        teif_tax_id(seller["tax_id"]),
        type=codes.ID_MATRICULE_FISCAL,
    )
    _sub(header, "MessageRecieverIdentifier", buyer_id[1], type=buyer_id[0])

    body = _sub(root, "InvoiceBody")
    bgm = _sub(body, "Bgm")
    _sub(bgm, "DocumentIdentifier", document.number)
    kind = codes.DOC_CREDIT_NOTE if invoice is not None else codes.DOC_INVOICE
    _sub(bgm, "DocumentType", codes.DOCUMENT_TYPES[kind], code=kind)
    if invoice is not None:
        reference = _sub(_sub(bgm, "DocumentReferences"), "DocumentReference")
        _sub(reference, "Reference", invoice.number, refID=codes.REF_INVOICE)
        date = _sub(reference, "ReferenceDate")
        _sub(
            date,
            "DateText",
            ddmmyy(invoice.issue_date),
            format="ddMMyy",
            functionCode=codes.DATE_ISSUE,
        )

    dtm = _sub(body, "Dtm")
    _sub(
        dtm, "DateText", ddmmyy(document.issue_date), format="ddMMyy", functionCode=codes.DATE_ISSUE
    )
    due = getattr(document, "due_date", None)
    if due:
        _sub(dtm, "DateText", ddmmyy(due), format="ddMMyy", functionCode=codes.DATE_DUE)

    partners = _sub(body, "PartnerSection")
    _seller_partner(partners, seller)
    company = buyer.get("kind") == "company"
    _partner(
        partners,
        codes.PARTNER_CLIENT,
        buyer_id,
        buyer.get("name", ""),
        codes.NAME_COMPANY if company else codes.NAME_PERSON,
        buyer.get("address", ""),
    )
    if invoice is None:
        _payment(body, document, seller)
        order = f"Réparation automobile, ordre de réparation N° {document.service_order_id}."
        _free_texts(body, [(codes.TEXT_GOODS_SERVICES, order)])
    else:
        _free_texts(body, [(codes.TEXT_OBSERVATION, f"Motif : {document.reason}")])
    _lines(body, lines)
    _totals(body, document, tva_summary(lines))
    return root
