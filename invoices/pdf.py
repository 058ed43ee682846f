"""PDF of an issued invoice or credit note, in French, with the mentions Tunisian law requires.

Drawn with fpdf2 (pure Python) in its built-in Helvetica, which covers French (Windows-1252).
What the document is comes from its own frozen data (number, dates, seller, buyer and vehicle
snapshots, lines, totals). Two blocks reflect its state when printed: the payment situation of an
invoice, and, once TTN accepted it, the TTN reference with the QR code (drawn here from the
content TTN returned, or TTN's own image when the returned signed file carries one).
"""

import base64
import binascii
import io
import unicodedata

import qrcode
from django.utils import timezone
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from lxml import etree

from invoices.models import CreditNote, Document, EInvoiceStatus, Invoice
from invoices.money import amount_in_words, format_rate, format_tnd, tva_summary

ENCODING = "windows-1252"
WIDTH = 180  # A4 less 15 mm margins
LINE_COLUMNS = (78, 20, 28, 18, 36)


def printable(text) -> str:
    """Text the built-in font can draw: accents kept, other scripts reduced or replaced by '?'."""
    out = []
    for char in str(text or ""):
        try:
            char.encode(ENCODING)
            out.append(char)
        except UnicodeEncodeError:
            base = unicodedata.normalize("NFKD", char).encode(ENCODING, "ignore").decode(ENCODING)
            out.append(base or "?")
    return "".join(out)


def _date(value) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def _quantity(value) -> str:
    text = f"{value.normalize():f}" if value == value.to_integral() else f"{value:f}".rstrip("0")
    return text.replace(".", ",")


class _DocumentPDF(FPDF):
    def __init__(self, title: str):
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.core_fonts_encoding = ENCODING
        self.doc_title = title
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(auto=True, margin=18)
        self.alias_nb_pages()

    def footer(self):
        self.set_y(-13)
        self.set_font("Helvetica", size=8)
        self.cell(0, 5, printable(f"{self.doc_title} - page {self.page_no()}/{{nb}}"), align="C")

    def text_line(self, text, *, size=9, style="", height=4.6, align="L", width=0):
        self.set_font("Helvetica", style=style, size=size)
        self.multi_cell(
            width, height, printable(text), align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )


def _parties(pdf: _DocumentPDF, document: Document, heading: list[str]) -> None:
    seller, buyer = document.seller or {}, document.buyer or {}
    top = pdf.get_y()
    # Seller, top left.
    pdf.text_line(seller.get("legal_name", ""), size=13, style="B", height=6, width=100)
    for text in (
        seller.get("address", ""),
        f"Matricule fiscal (MF) : {seller.get('tax_id', '')}",
        f"Registre du commerce (RC) : {seller.get('trade_register', '')}",
        f"Tél. : {seller['phone']}" if seller.get("phone") else "",
        f"E-mail : {seller['email']}" if seller.get("email") else "",
    ):
        if text:
            pdf.text_line(text, width=100)
    seller_bottom = pdf.get_y()
    # Title and references, top right.
    pdf.set_xy(120, top)
    pdf.set_font("Helvetica", style="B", size=15)
    pdf.cell(75, 8, printable(heading[0]), align="R", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", size=9.5)
    for text in heading[1:]:
        pdf.set_x(95)
        pdf.cell(100, 5, printable(text), align="R", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_y(max(seller_bottom, pdf.get_y()) + 6)
    # Buyer box, right.
    box_top = pdf.get_y()
    pdf.set_x(105)
    pdf.set_font("Helvetica", style="B", size=9.5)
    pdf.cell(90, 5.5, "Client", new_x=XPos.LEFT, new_y=YPos.NEXT)
    lines = [buyer.get("name", "")]
    if buyer.get("contact"):
        lines.append(f"À l'attention de {buyer['contact']}")
    if buyer.get("address"):
        lines.append(buyer["address"])
    if buyer.get("tax_id"):
        lines.append(f"Matricule fiscal (MF) : {buyer['tax_id']}")
    if buyer.get("national_id"):
        lines.append(f"CIN : {buyer['national_id']}")
    pdf.set_font("Helvetica", size=9)
    for text in lines:
        pdf.set_x(105)
        pdf.multi_cell(90, 4.6, printable(text), new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.rect(103, box_top - 1.5, 92, pdf.get_y() - box_top + 3)
    pdf.set_y(pdf.get_y() + 8)


def _lines_table(pdf: _DocumentPDF, document: Document) -> None:
    pdf.set_font("Helvetica", size=8.5)
    with pdf.table(
        col_widths=LINE_COLUMNS,
        text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT"),
        line_height=5,
        first_row_as_headings=True,
    ) as table:
        table.row(["Désignation", "Qté", "P.U. HT (TND)", "TVA", "Total HT (TND)"])
        for line in document.lines.all():
            table.row(
                [
                    printable(line.description),
                    _quantity(line.quantity),
                    format_tnd(line.unit_price),
                    format_rate(line.tva_rate),
                    format_tnd(line.total_ht),
                ]
            )
    pdf.ln(4)


def _totals(pdf: _DocumentPDF, document: Document, closing: str) -> None:
    rows = [("Total HT", document.total_ht)]
    for bucket in tva_summary(document.lines.all()):
        label = f"TVA {format_rate(bucket.rate)} (base {format_tnd(bucket.base)})"
        rows.append((label, bucket.amount))
    rows.append(("Timbre fiscal", document.stamp_duty))
    rows.append(("Total TTC", document.total_ttc))
    for label, amount in rows:
        bold = label == "Total TTC"
        pdf.set_font("Helvetica", style="B" if bold else "", size=10 if bold else 9)
        pdf.set_x(95)
        border = "B" if bold else 0
        pdf.cell(60, 6, printable(label), border=border)
        pdf.cell(
            40,
            6,
            f"{format_tnd(amount)} TND",
            align="R",
            border=border,
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
    pdf.ln(5)
    pdf.text_line(f"{closing} {amount_in_words(document.total_ttc)}.", size=9, style="I")


def _bank(pdf: _DocumentPDF, document: Document) -> None:
    seller = document.seller or {}
    if seller.get("bank_name") or seller.get("bank_account"):
        pdf.ln(3)
        pdf.text_line(
            f"Règlement par virement : {seller.get('bank_name', '')} - "
            f"RIB {seller.get('bank_account', '')}",
            size=8.5,
        )


def _vehicle(pdf: _DocumentPDF, vehicle: dict | None) -> None:
    if not vehicle:
        return
    parts = [f"Véhicule : {vehicle.get('make', '')} {vehicle.get('model', '')}".strip()]
    if vehicle.get("plate"):
        parts.append(f"Immatriculation : {vehicle['plate']}")
    if vehicle.get("vin"):
        parts.append(f"VIN : {vehicle['vin']}")
    if vehicle.get("odometer_km") is not None:
        parts.append(f"Kilométrage : {vehicle['odometer_km']:,} km".replace(",", " "))
    pdf.text_line(" - ".join(parts), size=9)
    pdf.ln(3)


def payment_situation(invoice: Invoice) -> str:
    """Paid, partly paid (with the balance) or due, as of today."""
    if invoice.status == Invoice.Status.CREDITED:
        return "Situation : annulée par avoir."
    balance = f"{format_tnd(invoice.balance_due)} TND"
    if invoice.balance_due == 0:
        return "Situation : payée."
    if invoice.paid_total > 0:
        return f"Situation : partiellement payée, reste à payer {balance}."
    return f"Situation : à payer, {balance}."


def _payment(pdf: _DocumentPDF, invoice: Invoice) -> None:
    terms = (
        f"Conditions de paiement : au plus tard le {_date(invoice.due_date)}."
        if invoice.due_date
        else "Conditions de paiement : à réception de la facture."
    )
    pdf.ln(2)
    pdf.text_line(terms, size=8.5)
    pdf.text_line(
        f"{payment_situation(invoice)} (au {_date(timezone.localdate())})", size=8.5, style="B"
    )


def _qr_png(document: Document) -> bytes:
    """TTN's QR image from its returned file (ReferenceCEV), else one made from its content."""
    if document.teif_xml:
        root = etree.fromstring(
            document.teif_xml.encode(), etree.XMLParser(resolve_entities=False, no_network=True)
        )
        cev = (root.findtext("RefTtnVal/ReferenceCEV") or "").strip()
        if cev and not document.ttn_qr_payload:
            try:
                return base64.b64decode(cev, validate=True)
            except (binascii.Error, ValueError):
                pass
    image = qrcode.make(document.ttn_qr_payload or document.ttn_reference, border=1)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _ttn(pdf: _DocumentPDF, document: Document) -> None:
    if document.einvoice_status != EInvoiceStatus.ACCEPTED:
        return
    pdf.ln(4)
    top = pdf.get_y()
    if top > pdf.h - 60:
        pdf.add_page()
        top = pdf.get_y()
    pdf.image(io.BytesIO(_qr_png(document)), x=15, y=top, w=30, h=30)
    pdf.set_font("Helvetica", size=8.5)
    for offset, text in (
        (8, "Document électronique enregistré sur El Fatoora (Tunisie TradeNet)."),
        (13, f"Référence TTN : {document.ttn_reference}"),
    ):
        pdf.set_xy(50, top + offset)
        pdf.cell(140, 4.6, printable(text))
    pdf.set_y(top + 32)


def _output(pdf: _DocumentPDF, document: Document) -> bytes:
    pdf.set_creator("ECAR")
    pdf.set_title(pdf.doc_title)
    if document.issued_at:
        pdf.set_creation_date(document.issued_at)
    return bytes(pdf.output())


def invoice_pdf(invoice: Invoice) -> bytes:
    """The PDF of an issued invoice."""
    title = f"Facture N° {invoice.number}"
    pdf = _DocumentPDF(title)
    pdf.add_page()
    heading = ["FACTURE", title, f"Date : {_date(invoice.issue_date)}"]
    if invoice.due_date:
        heading.append(f"Échéance : {_date(invoice.due_date)}")
    heading.append(f"Ordre de réparation N° {invoice.service_order_id}")
    _parties(pdf, invoice, heading)
    _vehicle(pdf, invoice.vehicle)
    _lines_table(pdf, invoice)
    _totals(pdf, invoice, "Arrêtée la présente facture à la somme de :")
    if invoice.notes:
        pdf.ln(2)
        pdf.text_line(f"Observations : {invoice.notes}", size=8.5)
    _payment(pdf, invoice)
    _bank(pdf, invoice)
    _ttn(pdf, invoice)
    return _output(pdf, invoice)


def credit_note_pdf(note: CreditNote) -> bytes:
    """The PDF of an issued credit note (facture d'avoir)."""
    title = f"Avoir N° {note.number}"
    pdf = _DocumentPDF(title)
    pdf.add_page()
    invoice = note.invoice
    heading = [
        "FACTURE D'AVOIR",
        title,
        f"Date : {_date(note.issue_date)}",
        f"Facture d'origine N° {invoice.number} du {_date(invoice.issue_date)}",
    ]
    _parties(pdf, note, heading)
    _vehicle(pdf, invoice.vehicle)
    pdf.text_line(f"Motif : {note.reason}", size=9)
    pdf.ln(2)
    _lines_table(pdf, note)
    _totals(pdf, note, "Arrêté le présent avoir à la somme de :")
    _ttn(pdf, note)
    return _output(pdf, note)
