"""Money: invoices from service orders, credit notes, payments, fiscal rates and numbering.

An issued invoice or credit note is a legal document: its number, dates, buyer, seller, lines and
amounts never change again. Four layers keep it so: the services refuse, the admin is read-only,
`save()`/`delete()` and the querysets refuse here, and on PostgreSQL triggers (migration 0002)
refuse the raw UPDATE or DELETE. Only the settlement columns of an invoice (status, paid and
credited totals) and the e-invoicing columns of both (El Fatoora status, signed file, TTN's
answer; migration 0004) move after issue.
"""

import datetime
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from garage.identifiers import validate_tax_id
from garage.models import Customer, ServiceOrder
from invoices.money import RATE_STEP, ZERO
from privacy.fields import EncryptedJSONField, EncryptedTextField
from privacy.models import EncryptedModel
from privacy.querysets import EncryptedQuerySet

MONEY = {"max_digits": 12, "decimal_places": 3}  # TND with millimes
RATE = {"max_digits": 5, "decimal_places": 2}  # TVA rate in percent
QUANTITY = {"max_digits": 10, "decimal_places": 3}
RETENTION_YEARS = 10  # Tunisian accounting records are kept ten years


def retention_end(issue_date: datetime.date) -> datetime.date:
    """The last day an issued document must be kept: issue date + 10 years (29 Feb → 28 Feb)."""
    try:
        return issue_date.replace(year=issue_date.year + RETENTION_YEARS)
    except ValueError:
        return issue_date.replace(year=issue_date.year + RETENTION_YEARS, day=28)


class IssuedDocumentError(Exception):
    """A change to an issued invoice or credit note (or its lines) was attempted."""


class EInvoiceStatus(models.TextChoices):
    """Where an issued document stands on El Fatoora (TTN), in the only order it can move."""

    NOT_SENT = "not_sent", "Not sent"
    EXPORTED = "exported", "Exported (signed file in the outbox)"
    SUBMITTED = "submitted", "Submitted to TTN"
    ACCEPTED = "accepted", "Accepted by TTN"
    REJECTED = "rejected", "Rejected by TTN"


# Columns of the e-invoicing workflow: they move after issue, like the settlement columns.
EINVOICE_FIELDS = (
    "einvoice_status",
    "einvoice_updated_at",
    "teif_xml",
    "ttn_reference",
    "ttn_qr_payload",
    "ttn_rejection_reason",
)


# --- Fiscal data ----------------------------------------------------------------------------------


class FiscalRate(models.Model):
    """A TVA rate or the stamp-duty amount, in force from `valid_from` (to `valid_until`).

    A change of law is a new row here, not a code change. Issued documents keep the rate and the
    stamp duty they were issued with.
    """

    class Kind(models.TextChoices):
        TVA = "tva", "TVA rate (%)"
        STAMP_DUTY = "stamp_duty", "Stamp duty (TND per document)"

    kind = models.CharField(max_length=12, choices=Kind.choices)
    value = models.DecimalField(
        **MONEY,
        validators=[MinValueValidator(ZERO)],
        help_text="A percentage for TVA (19.000), an amount in TND for the stamp duty (1.000).",
    )
    label = models.CharField(max_length=80, blank=True)
    valid_from = models.DateField()
    valid_until = models.DateField(null=True, blank=True, help_text="Last day in force, if any.")

    class Meta:
        ordering = ["kind", "-valid_from", "-value"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "value", "valid_from"], name="invoices_fiscalrate_unique"
            ),
            models.CheckConstraint(condition=Q(value__gte=0), name="invoices_fiscalrate_gte_0"),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=F("valid_from")),
                name="invoices_fiscalrate_period",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.value} from {self.valid_from}"

    @classmethod
    def in_force(cls, *, kind: str, on: datetime.date):
        return cls.objects.filter(kind=kind, valid_from__lte=on).filter(
            Q(valid_until__isnull=True) | Q(valid_until__gte=on)
        )

    @classmethod
    def tva_rates(cls, *, on: datetime.date) -> set[Decimal]:
        """The TVA rates (percent) that may be invoiced on a date."""
        values = cls.in_force(kind=cls.Kind.TVA, on=on).values_list("value", flat=True)
        return {value.quantize(RATE_STEP) for value in values}

    @classmethod
    def stamp_duty(cls, *, on: datetime.date) -> Decimal | None:
        """The stamp duty per document on a date (the latest rule in force), None if none."""
        return (
            cls.in_force(kind=cls.Kind.STAMP_DUTY, on=on)
            .order_by("-valid_from")
            .values_list("value", flat=True)
            .first()
        )


class SellerProfile(models.Model):
    """The garage's legal identity printed on every invoice: one row, edited in the admin."""

    legal_name = models.CharField(max_length=200)
    address = models.TextField(max_length=500)
    tax_id = models.CharField(
        "matricule fiscal", max_length=20, validators=[validate_tax_id], help_text="MF."
    )
    trade_register = models.CharField(
        "registre du commerce", max_length=40, help_text="RC / RNE identifier."
    )
    bank_name = models.CharField(max_length=100, blank=True)
    bank_account = models.CharField("RIB", max_length=34, blank=True)
    phone = models.CharField(max_length=30, blank=True)
    email = models.EmailField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "seller identity"
        verbose_name_plural = "seller identity"
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="invoices_seller_singleton")]

    def __str__(self):
        return self.legal_name

    def save(self, *args, **kwargs):
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def current(cls) -> "SellerProfile | None":
        return cls.objects.filter(pk=1).first()

    def snapshot(self) -> dict:
        """What an issued document keeps of the seller, whatever is edited later."""
        return {
            "legal_name": self.legal_name,
            "address": self.address,
            "tax_id": self.tax_id,
            "trade_register": self.trade_register,
            "bank_name": self.bank_name,
            "bank_account": self.bank_account,
            "phone": self.phone,
            "email": self.email,
        }


class DocumentSequence(models.Model):
    """The last number given per kind of document and calendar year (locked while issuing)."""

    class Kind(models.TextChoices):
        INVOICE = "invoice", "Invoice"
        CREDIT_NOTE = "credit_note", "Credit note"

    kind = models.CharField(max_length=12, choices=Kind.choices)
    year = models.PositiveSmallIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["kind", "year"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "year"], name="invoices_sequence_unique")
        ]

    def __str__(self):
        return f"{self.kind} {self.year}: {self.last_number}"


# --- Documents ----------------------------------------------------------------------------------


class DocumentQuerySet(EncryptedQuerySet):
    """Bulk updates and deletes obey the same rule as save() and delete()."""

    def update(self, **kwargs):
        protected = set(kwargs) - set(self.model.SETTLEMENT_FIELDS)
        if kwargs.get("status") == self.model.DRAFT:
            protected.add("status")  # an issued document never returns to draft
        if protected and self.exclude(status=self.model.DRAFT).exists():
            raise IssuedDocumentError(
                f"Issued {self.model._meta.verbose_name_plural} cannot be changed "
                f"({', '.join(sorted(protected))})."
            )
        return super().update(**kwargs)

    def delete(self):
        if self.filter(self.model.kept_q()).exists():
            raise IssuedDocumentError(
                f"Issued {self.model._meta.verbose_name_plural} are kept until their retention "
                "date."
            )
        return super().delete()


DocumentManager = models.Manager.from_queryset(DocumentQuerySet)


class Document(EncryptedModel):
    """What invoices and credit notes share: number, dates, parties and totals."""

    DRAFT = "draft"
    # Columns that may still change once the document is issued.
    SETTLEMENT_FIELDS: tuple[str, ...] = ("status", "updated_at", *EINVOICE_FIELDS)
    # Columns a protected row may have changed by the database itself (a deleted user).
    NULLABLE_ACTORS: tuple[str, ...] = ("created_by", "issued_by")

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    number = models.CharField(max_length=20, null=True, blank=True, unique=True, editable=False)
    issue_date = models.DateField(null=True, blank=True, editable=False)
    issued_at = models.DateTimeField(null=True, blank=True, editable=False)
    retention_until = models.DateField(null=True, blank=True, editable=False)
    # The buyer as the law requires it on the document (name, address, tax ID or CIN), frozen
    # and encrypted at issue: a later edit or erasure of the customer does not change it.
    buyer = EncryptedJSONField(null=True, blank=True, editable=False)
    seller = models.JSONField(null=True, blank=True, editable=False)
    total_ht = models.DecimalField(**MONEY, default=ZERO, editable=False)
    total_tva = models.DecimalField(**MONEY, default=ZERO, editable=False)
    stamp_duty = models.DecimalField(**MONEY, default=ZERO, editable=False)
    total_ttc = models.DecimalField(**MONEY, default=ZERO, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # El Fatoora (TEIF): the signed file as exported (replaced by the file TTN returns), and
    # TTN's answer. The file carries the buyer's identity: encrypted like the buyer snapshot.
    einvoice_status = models.CharField(
        max_length=12, choices=EInvoiceStatus.choices, default=EInvoiceStatus.NOT_SENT
    )
    einvoice_updated_at = models.DateTimeField(null=True, blank=True, editable=False)
    teif_xml = EncryptedTextField(blank=True, default="", editable=False)
    ttn_reference = models.CharField("TTN reference", max_length=70, blank=True, default="")
    ttn_qr_payload = models.TextField(
        "TTN QR code content", max_length=4000, blank=True, default=""
    )
    ttn_rejection_reason = models.TextField(max_length=1000, blank=True, default="")

    objects = DocumentManager()

    class Meta:
        abstract = True

    @property
    def is_draft(self) -> bool:
        return self.status == self.DRAFT

    @classmethod
    def kept_q(cls) -> Q:
        """Rows that may not be deleted: issued and still within their retention period."""
        return ~Q(status=cls.DRAFT) & (
            Q(retention_until__isnull=True) | Q(retention_until__gte=timezone.localdate())
        )

    def _protected_names(self) -> list[str]:
        allowed = {*self.SETTLEMENT_FIELDS, *self.NULLABLE_ACTORS}
        return [f.attname for f in self._meta.concrete_fields if f.name not in allowed]

    def save(self, *args, update_fields=None, **kwargs):
        # The stored row decides, not this instance: a stale or hand-built object with the pk of
        # an issued document cannot overwrite it.
        if self.pk is not None:
            stored = type(self).objects.filter(pk=self.pk).first()
            if stored is not None and not stored.is_draft:
                changed = [
                    name
                    for name in self._protected_names()
                    if getattr(self, name) != getattr(stored, name)
                ]
                if changed or self.is_draft:
                    raise IssuedDocumentError(
                        f"{self._meta.verbose_name.capitalize()} {stored.number} is issued: "
                        f"{', '.join(changed) or 'status'} cannot change."
                    )
                # Re-saving unchanged encrypted values would write new ciphertexts: only the
                # settlement columns are written.
                allowed = set(self.SETTLEMENT_FIELDS)
                update_fields = sorted(
                    allowed if update_fields is None else allowed & {*update_fields}
                )
        super().save(*args, update_fields=update_fields, **kwargs)

    def delete(self, *args, **kwargs):
        if type(self).objects.filter(pk=self.pk).filter(self.kept_q()).exists():
            raise IssuedDocumentError(
                f"{self._meta.verbose_name.capitalize()} {self.number} is issued and kept until "
                f"{self.retention_until}."
            )
        return super().delete(*args, **kwargs)


class Invoice(Document):
    """An invoice made from a completed service order."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ISSUED = "issued", "Issued"
        PARTIALLY_PAID = "partially_paid", "Partially paid"
        PAID = "paid", "Paid"
        CREDITED = "credited", "Credited in full"

    SETTLEMENT_FIELDS = ("status", "paid_total", "credited_total", "updated_at", *EINVOICE_FIELDS)

    service_order = models.ForeignKey(
        ServiceOrder, on_delete=models.PROTECT, related_name="invoices"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    due_date = models.DateField(null=True, blank=True)
    notes = EncryptedTextField(max_length=1000, blank=True, default="")
    # The vehicle as serviced (make, model, plate, VIN, odometer), frozen and encrypted at issue.
    vehicle = EncryptedJSONField(null=True, blank=True, editable=False)
    paid_total = models.DecimalField(**MONEY, default=ZERO, editable=False)
    credited_total = models.DecimalField(**MONEY, default=ZERO, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "issue_date"]),
            models.Index(fields=["issue_date"]),
            models.Index(fields=["einvoice_status", "issue_date"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(paid_total__gte=0) & Q(credited_total__gte=0),
                name="invoices_invoice_settled_gte_0",
            ),
            models.CheckConstraint(
                condition=Q(status="draft")
                | Q(total_ttc__gte=F("paid_total") + F("credited_total")),
                name="invoices_invoice_not_oversettled",
            ),
            models.CheckConstraint(
                condition=Q(status="draft")
                | (
                    Q(number__isnull=False)
                    & Q(issue_date__isnull=False)
                    & Q(retention_until__isnull=False)
                    & Q(buyer__isnull=False)
                ),
                name="invoices_invoice_issued_complete",
            ),
        ]

    def __str__(self):
        return f"invoice {self.number or f'draft {self.pk}'}"

    @property
    def balance_due(self) -> Decimal:
        """What the customer still owes: total - payments - issued credit notes."""
        return self.total_ttc - self.paid_total - self.credited_total


class CreditNote(Document):
    """A credit note (facture d'avoir): the only way to correct or cancel an issued invoice."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ISSUED = "issued", "Issued"

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credit_notes")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    reason = EncryptedTextField(max_length=1000)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "issue_date"]),
            models.Index(fields=["einvoice_status", "issue_date"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="draft")
                | (
                    Q(number__isnull=False)
                    & Q(issue_date__isnull=False)
                    & Q(retention_until__isnull=False)
                    & Q(buyer__isnull=False)
                ),
                name="invoices_creditnote_issued_complete",
            ),
        ]

    def __str__(self):
        return f"credit note {self.number or f'draft {self.pk}'}"


# --- Lines ----------------------------------------------------------------------------------------


class LineQuerySet(models.QuerySet):
    """Lines of an issued document are as fixed as the document, in bulk too."""

    parent_field = ""

    def _parents(self):
        return self.model._meta.get_field(self.parent_field).related_model.objects

    def _refuse_if_issued(self, parent_ids) -> None:
        if self._parents().filter(pk__in=parent_ids).exclude(status=Document.DRAFT).exists():
            raise IssuedDocumentError("Lines of an issued document cannot be changed.")

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        self._refuse_if_issued({getattr(obj, f"{self.parent_field}_id") for obj in objs})
        return super().bulk_create(objs, *args, **kwargs)

    def update(self, **kwargs):
        parent_ids = set(self.values_list(f"{self.parent_field}_id", flat=True))
        if self.parent_field in kwargs or f"{self.parent_field}_id" in kwargs:
            target = kwargs.get(self.parent_field, kwargs.get(f"{self.parent_field}_id"))
            parent_ids.add(getattr(target, "pk", target))
        self._refuse_if_issued(parent_ids)
        return super().update(**kwargs)

    def delete(self):
        parent = self.model._meta.get_field(self.parent_field).related_model
        kept = parent.objects.filter(parent.kept_q())
        if self.filter(**{f"{self.parent_field}__in": kept}).exists():
            raise IssuedDocumentError("Lines of an issued document cannot be deleted.")
        return super().delete()


class Line(models.Model):
    """One line: quantity x unit price excluding tax, its TVA, each rounded to the millime."""

    class Kind(models.TextChoices):
        LABOUR = "labour", "Labour"
        PART = "part", "Part"
        OTHER = "other", "Other"

    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.OTHER)
    description = models.CharField(max_length=200)
    quantity = models.DecimalField(**QUANTITY, validators=[MinValueValidator(Decimal("0.001"))])
    unit_price = models.DecimalField(**MONEY, validators=[MinValueValidator(ZERO)])
    tva_rate = models.DecimalField(**RATE, validators=[MinValueValidator(Decimal("0.00"))])
    total_ht = models.DecimalField(**MONEY, editable=False)
    tva_amount = models.DecimalField(**MONEY, editable=False)
    total_ttc = models.DecimalField(**MONEY, editable=False)

    parent_field = ""

    class Meta:
        abstract = True
        ordering = ["position", "id"]

    def save(self, *args, **kwargs):
        # Both the line's document and, for a moved line, the one it leaves must be drafts.
        parent_ids = {getattr(self, f"{self.parent_field}_id")}
        if self.pk is not None:
            stored = type(self).objects.filter(pk=self.pk)
            parent_ids |= set(stored.values_list(f"{self.parent_field}_id", flat=True))
        type(self).objects.none()._refuse_if_issued(parent_ids)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        parent = self._meta.get_field(self.parent_field).related_model
        parent_id = getattr(self, f"{self.parent_field}_id")
        if parent.objects.filter(pk=parent_id).filter(parent.kept_q()).exists():
            raise IssuedDocumentError("Lines of an issued document cannot be deleted.")
        return super().delete(*args, **kwargs)


class InvoiceLineQuerySet(LineQuerySet):
    parent_field = "invoice"


class CreditNoteLineQuerySet(LineQuerySet):
    parent_field = "credit_note"


class InvoiceLine(Line):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")

    parent_field = "invoice"
    objects = models.Manager.from_queryset(InvoiceLineQuerySet)()

    class Meta(Line.Meta):
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="invoices_invoiceline_qty"),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="invoices_invoiceline_price"
            ),
        ]

    def __str__(self):
        return f"line {self.pk} of invoice {self.invoice_id}"


class CreditNoteLine(Line):
    credit_note = models.ForeignKey(CreditNote, on_delete=models.CASCADE, related_name="lines")

    parent_field = "credit_note"
    objects = models.Manager.from_queryset(CreditNoteLineQuerySet)()

    class Meta(Line.Meta):
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="invoices_creditline_qty"),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="invoices_creditline_price"
            ),
        ]

    def __str__(self):
        return f"line {self.pk} of credit note {self.credit_note_id}"


# --- Payments and events ------------------------------------------------------------------------


class PaymentQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise IssuedDocumentError("Recorded payments cannot be changed.")

    def delete(self):
        if self.filter(invoice__in=Invoice.objects.filter(Invoice.kept_q())).exists():
            raise IssuedDocumentError("Payments are kept with their invoice.")
        return super().delete()


class Payment(models.Model):
    """Money received against an issued invoice. Never edited: a mistake is a new document."""

    class Method(models.TextChoices):
        CASH = "cash", "Cash (espèces)"
        CARD = "card", "Card (carte bancaire)"
        CHEQUE = "cheque", "Cheque (chèque)"
        TRANSFER = "transfer", "Bank transfer (virement)"

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="payments")
    method = models.CharField(max_length=10, choices=Method.choices)
    amount = models.DecimalField(**MONEY, validators=[MinValueValidator(Decimal("0.001"))])
    paid_on = models.DateField(default=timezone.localdate)
    reference = models.CharField(
        max_length=60, blank=True, help_text="Cheque number, transfer or card receipt reference."
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = models.Manager.from_queryset(PaymentQuerySet)()

    class Meta:
        ordering = ["-paid_on", "-id"]
        indexes = [models.Index(fields=["paid_on"])]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="invoices_payment_positive")
        ]

    def __str__(self):
        return f"payment {self.pk} of {self.amount} on invoice {self.invoice_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise IssuedDocumentError("A recorded payment cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if Invoice.objects.filter(pk=self.invoice_id).filter(Invoice.kept_q()).exists():
            raise IssuedDocumentError("Payments are kept with their invoice.")
        return super().delete(*args, **kwargs)


class InvoiceEvent(models.Model):
    """A step of an invoice's life with the actor: issue, payment, credit note."""

    class Kind(models.TextChoices):
        CREATED = "created", "Draft created"
        ISSUED = "issued", "Invoice issued"
        PAYMENT = "payment", "Payment recorded"
        CREDIT_NOTE_CREATED = "credit_note_created", "Credit note drafted"
        CREDIT_NOTE_ISSUED = "credit_note_issued", "Credit note issued"
        EINVOICE = "einvoice", "E-invoicing status changed"

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="events")
    credit_note = models.ForeignKey(
        CreditNote, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Numbers and amounts only: never personal data.
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.kind} on invoice {self.invoice_id}"
