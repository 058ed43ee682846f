"""El Fatoora e-invoicing: TEIF check at issue, export (sign + outbox), TTN's answer, bulk export.

The status of each issued document only moves forward, one step at a time:
not sent → exported → submitted → accepted (TTN reference and QR code) or rejected (reason);
a rejected document may be exported again. Every step is one transaction with an invoice event;
django-auditlog records the row change.
"""

import csv
import datetime
import io
import zipfile
from collections.abc import Iterator

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from lxml import etree

from config.exceptions import ApplicationError
from invoices.models import CreditNote, Document, EInvoiceStatus, Invoice, InvoiceEvent
from invoices.services.common import invalid, require_super_admin
from invoices.teif.builder import TeifBuildError, build_teif
from invoices.teif.certificate import CertificateError, SigningIdentity, load_identity
from invoices.teif.signing import (
    TeifSignatureError,
    sign_teif,
    signer_certificate,
    supplier_part,
    verify_teif,
)
from invoices.teif.transport import OutboxTransport, Transport
from invoices.teif.validation import TeifValidationError, validate_teif
from privacy.services import access_record_create

TRANSITIONS = {
    "export": ({EInvoiceStatus.NOT_SENT, EInvoiceStatus.REJECTED}, EInvoiceStatus.EXPORTED),
    "submit": ({EInvoiceStatus.EXPORTED}, EInvoiceStatus.SUBMITTED),
    "accept": ({EInvoiceStatus.SUBMITTED}, EInvoiceStatus.ACCEPTED),
    "reject": ({EInvoiceStatus.SUBMITTED}, EInvoiceStatus.REJECTED),
}
EINVOICE_UPDATE = [
    "einvoice_status",
    "einvoice_updated_at",
    "teif_xml",
    "ttn_reference",
    "ttn_qr_payload",
    "ttn_rejection_reason",
    "updated_at",
]
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)
TTN_FILE_MAX_BYTES = 2 * 1024 * 1024
"""The largest signed file TTN may return (a TEIF file with its QR image is a few hundred KB)."""


def transport() -> Transport:
    """Where exported files go: the outbox folder (a TTN web-service backend would go here)."""
    return OutboxTransport(settings.TEIF_OUTBOX_DIR)


def signing_identity() -> SigningIdentity:
    """The configured certificate and key; a clear 503 when they cannot be used."""
    if not settings.TEIF_ENABLED:
        raise ApplicationError(
            "E-invoicing is off: set TEIF_ENABLED and the signing certificate.",
            code="teif_disabled",
        )
    try:
        return load_identity(settings.TEIF_SIGNING_CERT, settings.TEIF_SIGNING_PASSPHRASE_FILE)
    except CertificateError as exc:
        raise ApplicationError(str(exc), code="teif_certificate", status_code=503) from None


def teif_tree(document: Document) -> etree._Element:
    """The unsigned TEIF of an issued document, validated; a 400 listing what makes it invalid."""
    invoice = document.invoice if isinstance(document, CreditNote) else None
    try:
        root = build_teif(document, invoice=invoice)
        validate_teif(root)
    except TeifBuildError as exc:
        raise _teif_invalid(exc.problems) from None
    except TeifValidationError as exc:
        raise _teif_invalid(exc.errors) from None
    return root


def _teif_invalid(problems: list[str]) -> ApplicationError:
    return ApplicationError(
        "This document cannot be a valid El Fatoora (TEIF) e-invoice.",
        code="teif_invalid",
        extra={"teif": problems},
    )


def teif_check(document: Document) -> None:
    """At issue, with e-invoicing on: refuse a document that could not be valid TEIF."""
    if settings.TEIF_ENABLED:
        teif_tree(document)


def teif_signed(document: Document, *, identity: SigningIdentity | None = None) -> bytes:
    """The document's signed TEIF: the file exported (or returned by TTN), else signed now."""
    if document.teif_xml:
        return document.teif_xml.encode()
    return sign_teif(teif_tree(document), identity or signing_identity())


def _locked(document: Document) -> Document:
    document = type(document).objects.select_for_update().get(pk=document.pk)
    if document.is_draft:
        raise invalid(
            "A draft is not an e-invoice: issue it first.",
            code="not_issued",
            status=f"The {document._meta.verbose_name} is a draft.",
        )
    return document


def _require_step(document: Document, step: str) -> None:
    sources = TRANSITIONS[step][0]
    if document.einvoice_status not in sources:
        raise invalid(
            f"Cannot {step} a document whose e-invoicing status is {document.einvoice_status}.",
            code="einvoice_out_of_order",
            einvoice_status=f"Allowed from: {', '.join(sorted(sources))}.",
        )


def _move(document: Document, step: str, actor, **data) -> Document:
    _require_step(document, step)
    target = TRANSITIONS[step][1]
    previous = document.einvoice_status
    document.einvoice_status = target
    document.einvoice_updated_at = timezone.now()
    document.save(update_fields=EINVOICE_UPDATE)
    invoice, note = (
        (document.invoice, document) if isinstance(document, CreditNote) else (document, None)
    )
    InvoiceEvent.objects.create(
        invoice=invoice,
        credit_note=note,
        kind=InvoiceEvent.Kind.EINVOICE,
        actor=actor,
        data={"number": document.number, "from": previous, "to": target, **data},
    )
    return document


@transaction.atomic
def einvoice_export(*, actor, document: Document) -> Document:
    """Sign the document's TEIF and put it in the outbox for upload to El Fatoora."""
    require_super_admin(actor)
    document = _locked(document)
    _require_step(document, "export")
    content = sign_teif(teif_tree(document), signing_identity())
    where = transport().send(name=f"TEIF_{document.number}", content=content)
    document.teif_xml = content.decode()
    document.ttn_rejection_reason = ""
    return _move(document, "export", actor, sent_to=where)


@transaction.atomic
def einvoice_mark_submitted(*, actor, document: Document) -> Document:
    """The exported file was uploaded to El Fatoora (or sent by a web-service backend)."""
    require_super_admin(actor)
    return _move(_locked(document), "submit", actor)


def _ttn_file_too_large() -> ApplicationError:
    limit = TTN_FILE_MAX_BYTES // (1024 * 1024)
    return ApplicationError(
        f"TTN's file is larger than {limit} MB.",
        code="file_too_large",
        status_code=413,
        extra={"file": [f"Upload a file of at most {limit} MB."]},
    )


def ttn_file_read(upload) -> bytes | None:
    """The bytes of the file TTN returned (an uploaded file, or None), refused past
    TTN_FILE_MAX_BYTES (413, code file_too_large) without reading more than the limit + 1."""
    if upload is None:
        return None
    if (getattr(upload, "size", None) or 0) > TTN_FILE_MAX_BYTES:
        raise _ttn_file_too_large()
    if hasattr(upload, "seek"):
        upload.seek(0)
    content = upload.read(TTN_FILE_MAX_BYTES + 1)
    if len(content) > TTN_FILE_MAX_BYTES:
        raise _ttn_file_too_large()
    return content


def _returned_file(document: Document, signed_file: bytes) -> tuple[str, str]:
    """TTN's returned file checked against what was sent: (TTN reference, CEV image base64)."""
    try:
        returned = etree.fromstring(signed_file, _PARSER)
        sent = etree.fromstring(document.teif_xml.encode(), _PARSER)
    except etree.XMLSyntaxError as exc:
        raise invalid("TTN's file is not XML.", code="ttn_file_invalid", file=str(exc)) from None
    try:
        verify_teif(signed_file, certificate=signer_certificate(document.teif_xml.encode()))
    except TeifSignatureError:
        raise invalid(
            "TTN's file does not carry this document's signature unaltered.",
            code="ttn_file_mismatch",
            file="The signature of the returned file does not verify.",
        ) from None
    if etree.tostring(etree.fromstring(supplier_part(signed_file), _PARSER), method="c14n") != (
        etree.tostring(sent, method="c14n")
    ):
        raise invalid(
            "TTN's file is not the file exported for this document.",
            code="ttn_file_mismatch",
            file="The returned file differs from the exported one.",
        )
    reference = (returned.findtext("RefTtnVal/ReferenceTTN") or "").strip()
    return reference, (returned.findtext("RefTtnVal/ReferenceCEV") or "").strip()


def _as_utf8(signed_file: bytes) -> str:
    """The returned file re-serialised as UTF-8 whatever its declared encoding (e.g. ISO-8859-1),
    so that the stored text and its later `.encode()` agree. The signatures are over the
    canonical (C14N) form, which does not depend on the encoding: they still verify."""
    tree = etree.fromstring(signed_file, _PARSER).getroottree()
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8").decode()


@transaction.atomic
def einvoice_accept(
    *,
    actor,
    document: Document,
    reference: str = "",
    qr_payload: str = "",
    signed_file: bytes | None = None,
) -> Document:
    """TTN accepted the document: its reference and the QR code content, or its returned file."""
    require_super_admin(actor)
    if signed_file and len(signed_file) > TTN_FILE_MAX_BYTES:
        raise _ttn_file_too_large()
    document = _locked(document)
    _require_step(document, "accept")
    if signed_file:
        file_reference, cev = _returned_file(document, signed_file)
        reference = reference or file_reference
        document.teif_xml = _as_utf8(signed_file)
        if not qr_payload and not cev:
            raise invalid(
                "TTN's file carries no QR code (ReferenceCEV): give its content.",
                code="ttn_qr_missing",
                qr_payload="Required when the file has no ReferenceCEV.",
            )
    elif not qr_payload.strip():
        raise invalid(
            "Give the QR code content TTN returned.",
            code="ttn_qr_missing",
            qr_payload="Required.",
        )
    reference = reference.strip()
    if not reference or len(reference) > 70:
        raise invalid(
            "Give TTN's reference of the document (at most 70 characters).",
            code="ttn_reference_missing",
            reference="Required, at most 70 characters.",
        )
    document.ttn_reference = reference
    document.ttn_qr_payload = qr_payload.strip()
    return _move(document, "accept", actor, reference=reference)


@transaction.atomic
def einvoice_reject(*, actor, document: Document, reason: str) -> Document:
    """TTN rejected the document; the reason is kept and the file may be exported again."""
    require_super_admin(actor)
    document = _locked(document)
    _require_step(document, "reject")
    reason = (reason or "").strip()
    if not reason:
        raise invalid("Give TTN's reason.", code="invalid", reason="Required.")
    document.ttn_rejection_reason = reason[:1000]
    return _move(document, "reject", actor)


def einvoice_record_answer(
    *,
    actor,
    document: Document,
    accepted: bool,
    reference: str = "",
    qr_payload: str = "",
    returned_file=None,
    reason: str = "",
) -> Document:
    """TTN's answer, from the API or the admin: accepted (its reference and QR content, or the
    signed file it returned, an upload of at most TTN_FILE_MAX_BYTES) or rejected (its reason)."""
    require_super_admin(actor)
    if not accepted:
        return einvoice_reject(actor=actor, document=document, reason=reason)
    return einvoice_accept(
        actor=actor,
        document=document,
        reference=reference,
        qr_payload=qr_payload,
        signed_file=ttn_file_read(returned_file),
    )


# --- Bulk export ----------------------------------------------------------------------------------


class _Sink(io.RawIOBase):
    """A write-only stream whose bytes are taken out as they come (flat memory)."""

    def __init__(self):
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def drain(self) -> bytes:
        data, self._chunks = b"".join(self._chunks), []
        return data


def _issued_in(model, start: datetime.date, end: datetime.date):
    documents = (
        model.objects.exclude(status=Document.DRAFT)
        .filter(issue_date__gte=start, issue_date__lte=end)
        # For the access record: whose data it is, without loading (decrypting) the customer.
        .annotate(buyer_user_id=F("customer__user_id"))
    )
    if model is CreditNote:
        documents = documents.select_related("invoice")
    return documents.prefetch_related("lines").order_by("issue_date", "id")


def _export_problem(error: ApplicationError) -> str:
    """Why a document's file is left out of the export, for index.csv: the error's code and its
    message only, never its details (they may quote the document's values, e.g. the buyer's)."""
    return f"{error.code}: {error.message}"


def teif_export_stream(
    *, start: datetime.date, end: datetime.date, request: HttpRequest | None = None
) -> Iterator[bytes]:
    """A zip of the signed TEIF of every invoice and credit note issued from start to end, with
    an index (number, type, date, total TTC, e-invoicing status, TTN reference, TEIF problem).

    A document that cannot be valid TEIF (e.g. issued while e-invoicing was off, for a buyer
    without CIN) has no file in the zip: its index row says why, and the export goes on.
    `request`: the exporting user's request; each file handed over that carries a buyer leaves
    an access record (`invoice.teif_bulk`, `creditnote.teif_bulk`)."""
    identity = signing_identity()
    sink = _Sink()
    index = io.StringIO()
    writer = csv.writer(index)
    writer.writerow(
        [
            "number",
            "type",
            "issue_date",
            "total_ttc",
            "einvoice_status",
            "ttn_reference",
            "teif_problem",
        ]
    )
    stamp = timezone.localtime().timetuple()[:6]
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for model, folder, kind in ((Invoice, "factures", "I-11"), (CreditNote, "avoirs", "I-12")):
            for document in _issued_in(model, start, end).iterator(chunk_size=100):
                try:
                    content, problem = teif_signed(document, identity=identity), ""
                except ApplicationError as exc:
                    content, problem = None, _export_problem(exc)
                if content is not None:
                    info = zipfile.ZipInfo(f"{folder}/TEIF_{document.number}.xml", date_time=stamp)
                    info.compress_type = zipfile.ZIP_DEFLATED
                    archive.writestr(info, content)
                    if request is not None and document.buyer is not None:
                        _record_export(request, document)
                # The prefetched lines point back at their document: dropping them breaks the
                # cycle, so each document is freed at once instead of at the next full GC.
                document._prefetched_objects_cache.clear()
                writer.writerow(
                    [
                        document.number,
                        kind,
                        document.issue_date.isoformat(),
                        f"{document.total_ttc:.3f}",
                        document.einvoice_status,
                        document.ttn_reference,
                        problem,
                    ]
                )
                yield sink.drain()
        info = zipfile.ZipInfo("index.csv", date_time=stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, index.getvalue())
    yield sink.drain()


@transaction.atomic
def _record_export(request: HttpRequest, document: Document) -> None:
    """The file carries the buyer's identity: recorded before its bytes go out."""
    access_record_create(
        request=request,
        subject=document,
        action=f"{document._meta.model_name}.teif_bulk",
        subject_user_id=document.buyer_user_id,
    )
