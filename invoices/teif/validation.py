"""Structural validation of a TEIF 1.8.8 document, written from TTN's implementation guide.

TTN distributes its XSD (facture_INVOIC_V1.8.8_withSig.xsd) to registered companies only; it is
not vendored here. This checks what the guide and the XSD fragments it quotes define for the
elements this project emits: element order, mandatory elements and attributes, cardinalities,
code lists (I-0 … I-17), the identifier formats (matricule fiscal of 13 characters in 1.8.8),
dates (ddMMyy) and amounts (dot decimal). Elements the guide defines but this project never
emits (LocSection, SpecialConditions, InvoiceAlc, LinAlc, SubLin, …) are refused rather than
half-checked. It also checks the arithmetic the guide's example keeps: lines add up to the
total HT, taxes per rate to the total tax, and TTC = HT + taxes, to the millime.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from lxml import etree

from invoices.teif import codes

DS = "{http://www.w3.org/2000/09/xmldsig#}"
UNBOUNDED = None


@dataclass
class Element:
    name: str
    children: list[tuple["Element", int, int | None]] = field(default_factory=list)
    attributes: dict[str, tuple[bool, Callable[[str], bool]]] = field(default_factory=dict)
    text: Callable[[str], bool] | None = None


def one_of(values) -> Callable[[str], bool]:
    return lambda value: value in values


def length(minimum: int, maximum: int) -> Callable[[str], bool]:
    return lambda value: minimum <= len(value) <= maximum


def _decimal(value: str) -> bool:
    try:
        Decimal(value)
    except InvalidOperation:
        return False
    return value.strip() == value and "," not in value


def leaf(name, text=None, **attributes) -> Element:
    return Element(name, attributes=attributes, text=text or length(1, 500))


# --- The schema (TEIF 1.8.8), as far as this project uses it -------------------------------------

_moa = Element(
    "Moa",
    [
        (
            leaf("Amount", codes.AMOUNT_PATTERN.fullmatch, currencyIdentifier=(True, length(3, 3))),
            1,
            1,
        ),
        (leaf("AmountDescription", length(1, 500), lang=(True, one_of(codes.LANGUAGES))), 0, 1),
    ],
    {
        "amountTypeCode": (True, one_of(codes.AMOUNT_TYPES)),
        "currencyCodeList": (True, one_of({codes.CURRENCY_CODE_LIST})),
    },
)
_amount_details = Element("AmountDetails", [(_moa, 1, 1)])
_date_text = leaf(
    "DateText",
    length(6, 13),
    format=(True, one_of(codes.DATE_FORMATS)),
    functionCode=(True, one_of(codes.DATE_FUNCTIONS)),
)
_tax_type = leaf("TaxTypeName", length(1, 35), code=(True, one_of(codes.TAX_TYPES)))
_tax_details = Element("TaxDetails", [(leaf("TaxRate", _decimal), 1, 1)])

_header = Element(
    "InvoiceHeader",
    [
        (
            leaf(
                "MessageSenderIdentifier",
                length(1, 35),
                type=(True, one_of(codes.IDENTIFIER_TYPES)),
            ),
            1,
            1,
        ),
        (
            leaf(
                "MessageRecieverIdentifier",
                length(1, 35),
                type=(True, one_of(codes.IDENTIFIER_TYPES)),
            ),
            1,
            1,
        ),
    ],
)
_bgm = Element(
    "Bgm",
    [
        (leaf("DocumentIdentifier", length(1, 70)), 1, 1),
        (leaf("DocumentType", length(1, 35), code=(True, one_of(codes.DOCUMENT_TYPES))), 1, 1),
        (
            Element(
                "DocumentReferences",
                [
                    (
                        Element(
                            "DocumentReference",
                            [
                                (
                                    leaf(
                                        "Reference",
                                        length(1, 70),
                                        refID=(True, one_of(codes.REFERENCE_QUALIFIERS)),
                                    ),
                                    1,
                                    1,
                                ),
                                (Element("ReferenceDate", [(_date_text, 1, 1)]), 0, 1),
                            ],
                        ),
                        1,
                        UNBOUNDED,
                    )
                ],
            ),
            0,
            1,
        ),
    ],
)
_nad = Element(
    "Nad",
    [
        (
            leaf("PartnerIdentifier", length(1, 35), type=(True, one_of(codes.IDENTIFIER_TYPES))),
            1,
            1,
        ),
        (leaf("PartnerName", length(1, 200), nameType=(True, one_of(codes.NAME_TYPES))), 1, 1),
        (
            Element(
                "PartnerAdresses",
                [
                    (leaf("AdressDescription", length(1, 500)), 1, 1),
                    (leaf("Street", length(1, 35)), 0, 1),
                    (leaf("CityName", length(1, 35)), 0, 1),
                    (leaf("PostalCode", length(1, 17)), 0, 1),
                    (
                        leaf(
                            "Country",
                            length(2, 2),
                            codeList=(True, one_of({codes.COUNTRY_CODE_LIST})),
                        ),
                        1,
                        1,
                    ),
                ],
                {"lang": (True, one_of(codes.LANGUAGES))},
            ),
            0,
            1,
        ),
    ],
)
_partner_details = Element(
    "PartnerDetails",
    [
        (_nad, 1, 1),
        (
            Element(
                "RffSection",
                [
                    (
                        leaf(
                            "Reference",
                            length(1, 200),
                            refID=(True, one_of(codes.REFERENCE_QUALIFIERS)),
                        ),
                        1,
                        1,
                    )
                ],
            ),
            0,
            UNBOUNDED,
        ),
        (
            Element(
                "CtaSection",
                [
                    (
                        Element(
                            "Contact",
                            [
                                (leaf("ContactIdentifier", length(1, 6)), 0, 1),
                                (leaf("ContactName", length(1, 200)), 0, 1),
                            ],
                            {"functionCode": (True, one_of(codes.CONTACT_FUNCTIONS))},
                        ),
                        1,
                        1,
                    ),
                    (
                        Element(
                            "Communication",
                            [
                                (leaf("ComMeansType", one_of(codes.COMMUNICATION_MEANS)), 1, 1),
                                (leaf("ComAdress", length(1, 500)), 1, 1),
                            ],
                        ),
                        0,
                        1,
                    ),
                ],
            ),
            0,
            UNBOUNDED,
        ),
    ],
    {"functionCode": (True, one_of(codes.PARTNER_FUNCTIONS))},
)
_pyt_section = Element(
    "PytSection",
    [
        (
            Element(
                "PytSectionDetails",
                [
                    (
                        Element(
                            "Pyt",
                            [
                                (leaf("PaymentTearmsTypeCode", one_of(codes.PAYMENT_TERMS)), 1, 1),
                                (leaf("PaymentTearmsDescription", length(1, 500)), 0, 1),
                            ],
                        ),
                        1,
                        1,
                    ),
                    (
                        Element(
                            "PytFii",
                            [
                                (
                                    Element(
                                        "AccountHolder",
                                        [
                                            (leaf("AccountNumber", length(1, 20)), 1, 1),
                                            (leaf("OwnerIdentifier", length(1, 70)), 0, 1),
                                        ],
                                    ),
                                    1,
                                    1,
                                ),
                                (
                                    Element(
                                        "InstitutionIdentification",
                                        [
                                            (leaf("BranchIdentifier", length(1, 17)), 0, 1),
                                            (leaf("InstitutionName", length(1, 70)), 0, 1),
                                        ],
                                        {"nameCode": (False, length(1, 11))},
                                    ),
                                    0,
                                    1,
                                ),
                            ],
                            {"functionCode": (True, one_of(codes.FINANCIAL_INSTITUTIONS))},
                        ),
                        0,
                        1,
                    ),
                ],
            ),
            1,
            UNBOUNDED,
        )
    ],
)
_ftx = Element(
    "Ftx",
    [
        (
            Element(
                "FreeTextDetail",
                [(leaf("FreeTexts", length(1, 500)), 1, UNBOUNDED)],
                {"subjectCode": (True, one_of(codes.FREE_TEXT_SUBJECTS))},
            ),
            1,
            UNBOUNDED,
        )
    ],
)
_lin = Element(
    "Lin",
    [
        (leaf("ItemIdentifier", length(1, 35)), 1, 1),
        (
            Element(
                "LinImd",
                [
                    (leaf("ItemCode", length(1, 35)), 1, 1),
                    (leaf("ItemDescription", length(1, 500)), 0, 1),
                ],
                {"lang": (True, one_of(codes.LANGUAGES))},
            ),
            1,
            1,
        ),
        (
            Element(
                "LinQty", [(leaf("Quantity", _decimal, measurementUnit=(True, length(1, 8))), 1, 1)]
            ),
            1,
            1,
        ),
        (Element("LinTax", [(_tax_type, 1, 1), (_tax_details, 1, 1)]), 1, UNBOUNDED),
        (Element("LinMoa", [(Element("MoaDetails", [(_moa, 1, 1)]), 1, UNBOUNDED)]), 1, 1),
    ],
)
_invoice_tax_details = Element(
    "InvoiceTaxDetails",
    [
        (Element("Tax", [(_tax_type, 1, 1), (_tax_details, 1, 1)]), 1, 1),
        (_amount_details, 1, UNBOUNDED),
    ],
)
_body = Element(
    "InvoiceBody",
    [
        (_bgm, 1, 1),
        (Element("Dtm", [(_date_text, 1, UNBOUNDED)]), 1, 1),
        (Element("PartnerSection", [(_partner_details, 1, UNBOUNDED)]), 1, 1),
        (_pyt_section, 0, 1),
        (_ftx, 0, 1),
        (Element("LinSection", [(_lin, 1, UNBOUNDED)]), 1, 1),
        (Element("InvoiceMoa", [(_amount_details, 1, UNBOUNDED)]), 1, 1),
        (Element("InvoiceTax", [(_invoice_tax_details, 1, UNBOUNDED)]), 1, 1),
    ],
)
_ref_ttn = Element(
    "RefTtnVal",
    [
        (leaf("ReferenceTTN", length(1, 70), refID=(True, one_of({codes.REF_TTN}))), 1, 1),
        (Element("ReferenceDate", [(_date_text, 1, 1)]), 0, 1),
        (leaf("ReferenceCEV", length(1, 100000)), 0, 1),
    ],
)
# ds:Signature elements are checked by the signature verifier, not here.
_signature = Element(f"{DS}Signature")
TEIF = Element(
    "TEIF",
    [(_header, 1, 1), (_body, 1, 1), (_signature, 0, 1), (_ref_ttn, 0, 1), (_signature, 0, 1)],
    {
        "version": (True, one_of({codes.TEIF_VERSION})),
        "controlingAgency": (True, one_of({codes.CONTROLLING_AGENCY, "Tunisie TradeNet"})),
    },
)


# --- The checks ---------------------------------------------------------------------------------


class TeifValidationError(Exception):
    """A document that is not valid TEIF 1.8.8; `errors` lists each problem with its path."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


def _check(node: etree._Element, spec: Element, path: str, errors: list[str]) -> None:
    if spec.name == _signature.name:
        return
    for name, (required, valid) in spec.attributes.items():
        value = node.get(name)
        if value is None:
            if required:
                errors.append(f"{path}: attribute {name} is required")
        elif not valid(value):
            errors.append(f"{path}: {name}={value!r} is not allowed")
    for name in node.attrib:
        if name not in spec.attributes:
            errors.append(f"{path}: unexpected attribute {name}")
    if spec.text is not None:
        value = node.text or ""
        if len(node):
            errors.append(f"{path}: must hold text only")
        elif not spec.text(value):
            errors.append(f"{path}: value {value[:40]!r} is not allowed")
        return
    if (node.text or "").strip():
        errors.append(f"{path}: text is not allowed here")
    children = [child for child in node if isinstance(child.tag, str)]
    index = 0
    for child_spec, minimum, maximum in spec.children:
        count = 0
        while index < len(children) and children[index].tag == child_spec.name:
            count += 1
            if maximum is not None and count > maximum:
                errors.append(f"{path}/{child_spec.name}: at most {maximum} allowed")
            _check(
                children[index], child_spec, f"{path}/{_local(child_spec.name)}[{count}]", errors
            )
            index += 1
        if count < minimum:
            errors.append(f"{path}: {_local(child_spec.name)} is required here")
    if index < len(children):
        errors.append(f"{path}: {_local(children[index].tag)} is not allowed here (order or name)")


def _local(tag: str) -> str:
    return "ds:" + tag[len(DS) :] if tag.startswith(DS) else tag


def _values(node, xpath: str) -> list[Decimal]:
    return [Decimal(text) for text in node.xpath(xpath)]


def _check_identifiers(root, errors: list[str]) -> None:
    for node in root.xpath(
        "//MessageSenderIdentifier|//MessageRecieverIdentifier|//PartnerIdentifier"
    ):
        pattern = codes.IDENTIFIER_PATTERNS.get(node.get("type"))
        if pattern is not None and not pattern.fullmatch(node.text or ""):
            errors.append(f"{node.tag}: {node.get('type')} identifier has not the required form")
    for node in root.xpath("//DateText"):
        pattern = codes.DATE_FORMATS.get(node.get("format"))
        if pattern is not None and not pattern.fullmatch(node.text or ""):
            errors.append(f"DateText: {node.text!r} is not in the {node.get('format')} format")


def _check_arithmetic(root, errors: list[str]) -> None:
    def total(code: str) -> Decimal | None:
        values = _values(
            root,
            f"InvoiceBody/InvoiceMoa/AmountDetails/Moa[@amountTypeCode='{code}']/Amount/text()",
        )
        return values[0] if len(values) == 1 else None

    lines = _values(
        root,
        f"InvoiceBody/LinSection/Lin/LinMoa/MoaDetails/Moa[@amountTypeCode='{codes.AMOUNT_LINE_HT}']/Amount/text()",
    )
    taxes = _values(
        root,
        f"InvoiceBody/InvoiceTax/InvoiceTaxDetails/AmountDetails/Moa[@amountTypeCode='{codes.AMOUNT_TAX}']/Amount/text()",
    )
    bases = _values(
        root,
        f"InvoiceBody/InvoiceTax/InvoiceTaxDetails/AmountDetails/Moa[@amountTypeCode='{codes.AMOUNT_TAX_BASE}']/Amount/text()",
    )
    ht, ttc = total(codes.AMOUNT_TOTAL_HT), total(codes.AMOUNT_TOTAL_TTC)
    if ht is None or ttc is None:
        errors.append("InvoiceMoa: one total HT (I-176) and one total TTC (I-180) are required")
        return
    if sum(lines, Decimal(0)) != ht:
        errors.append("InvoiceMoa: the total HT (I-176) is not the sum of the lines (I-171)")
    if ht + sum(taxes, Decimal(0)) != ttc:
        errors.append(
            "InvoiceMoa: the total TTC (I-180) is not the total HT plus the taxes (I-178)"
        )
    for code, parts in ((codes.AMOUNT_TOTAL_TAX, taxes), (codes.AMOUNT_TOTAL_TAX_BASE, bases)):
        value = total(code)
        if value is not None and value != sum(parts, Decimal(0)):
            errors.append(f"InvoiceMoa: {code} is not the sum of the InvoiceTax amounts")
    for details in root.xpath(
        "InvoiceBody/InvoiceTax/InvoiceTaxDetails[Tax/TaxTypeName/@code='I-1602']"
    ):
        rate = details.findtext("Tax/TaxDetails/TaxRate")
        at_rate = _values(
            root,
            f"InvoiceBody/LinSection/Lin[LinTax/TaxDetails/TaxRate='{rate}']"
            f"/LinMoa/MoaDetails/Moa[@amountTypeCode='{codes.AMOUNT_LINE_HT}']/Amount/text()",
        )
        base = _values(
            details, f"AmountDetails/Moa[@amountTypeCode='{codes.AMOUNT_TAX_BASE}']/Amount/text()"
        )
        if base != [sum(at_rate, Decimal(0))]:
            errors.append(f"InvoiceTax: the TVA base at {rate} % is not the sum of its lines")


def validate_teif(document: bytes | etree._Element) -> None:
    """Raise TeifValidationError listing every problem of a TEIF document (signed or not)."""
    if isinstance(document, bytes | str):
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
        try:
            root = etree.fromstring(document, parser)
        except etree.XMLSyntaxError as exc:
            raise TeifValidationError([f"not well-formed XML: {exc}"]) from exc
    else:
        root = document
    errors: list[str] = []
    if root.tag != TEIF.name:
        raise TeifValidationError([f"the root element is {root.tag}, not TEIF"])
    _check(root, TEIF, "TEIF", errors)
    if not errors:
        _check_identifiers(root, errors)
        _check_arithmetic(root, errors)
    if errors:
        raise TeifValidationError(errors)
