"""Input and output shapes of the invoicing API. Money travels as strings with 3 decimals."""

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.serializers import RejectUnknownFieldsMixin
from invoices.models import (
    MONEY,
    QUANTITY,
    RATE,
    CreditNote,
    EInvoiceStatus,
    Invoice,
    Line,
    Payment,
)
from invoices.money import tva_summary
from invoices.services.einvoicing import TTN_FILE_MAX_BYTES

MONEY_OUT = {**MONEY, "read_only": True}


def money_field(**kwargs):
    return serializers.DecimalField(**MONEY, **kwargs)


# Named enum components: garage models have a `status` and a `kind` of their own.
@extend_schema_field(
    {"type": "string", "enum": Invoice.Status.values}, component_name="InvoiceStatusEnum"
)
class InvoiceStatusField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=Invoice.Status.choices, **kwargs)


@extend_schema_field(
    {"type": "string", "enum": CreditNote.Status.values}, component_name="CreditNoteStatusEnum"
)
class CreditNoteStatusField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=CreditNote.Status.choices, **kwargs)


@extend_schema_field(
    {"type": "string", "enum": EInvoiceStatus.values}, component_name="EInvoiceStatusEnum"
)
class EInvoiceStatusField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=EInvoiceStatus.choices, **kwargs)


@extend_schema_field(
    {"type": "string", "enum": Payment.Method.values}, component_name="PaymentMethodEnum"
)
class PaymentMethodField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=Payment.Method.choices, **kwargs)


@extend_schema_field({"type": "string", "enum": Line.Kind.values}, component_name="LineKindEnum")
class LineKindField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=Line.Kind.choices, **kwargs)


# --- Output -------------------------------------------------------------------------------------


class LineOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    position = serializers.IntegerField(read_only=True)
    kind = LineKindField(read_only=True)
    description = serializers.CharField(read_only=True)
    quantity = serializers.DecimalField(**QUANTITY, read_only=True)
    unit_price = serializers.DecimalField(**MONEY_OUT)
    tva_rate = serializers.DecimalField(**RATE, read_only=True)
    total_ht = serializers.DecimalField(**MONEY_OUT)
    tva_amount = serializers.DecimalField(**MONEY_OUT)
    total_ttc = serializers.DecimalField(**MONEY_OUT)


class TvaBucketOutputSerializer(serializers.Serializer):
    rate = serializers.DecimalField(**RATE, read_only=True)
    base = serializers.DecimalField(**MONEY_OUT)
    amount = serializers.DecimalField(**MONEY_OUT)


class BuyerOutputSerializer(serializers.Serializer):
    kind = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    contact = serializers.CharField(read_only=True)
    address = serializers.CharField(read_only=True)
    tax_id = serializers.CharField(read_only=True)
    national_id = serializers.CharField(read_only=True)


class SellerOutputSerializer(serializers.Serializer):
    legal_name = serializers.CharField(read_only=True)
    address = serializers.CharField(read_only=True)
    tax_id = serializers.CharField(read_only=True)
    trade_register = serializers.CharField(read_only=True)
    bank_name = serializers.CharField(read_only=True)
    bank_account = serializers.CharField(read_only=True)
    phone = serializers.CharField(read_only=True)
    email = serializers.CharField(read_only=True)


class PaymentOutputSerializer(serializers.ModelSerializer):
    method = PaymentMethodField(read_only=True)

    class Meta:
        model = Payment
        fields = ["id", "invoice", "method", "amount", "paid_on", "reference", "created_at"]
        read_only_fields = fields


class DocumentTotalsMixin(serializers.Serializer):
    """The totals and TVA per rate of an invoice or credit note, and its El Fatoora status."""

    einvoice_status = EInvoiceStatusField(read_only=True)
    total_ht = serializers.DecimalField(**MONEY_OUT)
    total_tva = serializers.DecimalField(**MONEY_OUT)
    stamp_duty = serializers.DecimalField(**MONEY_OUT)
    total_ttc = serializers.DecimalField(**MONEY_OUT)


class DocumentDetailMixin(DocumentTotalsMixin):
    """A whole invoice or credit note: its lines, TVA per rate and the parties."""

    lines = LineOutputSerializer(many=True, read_only=True)
    tva = serializers.SerializerMethodField()
    buyer = BuyerOutputSerializer(read_only=True, allow_null=True)
    seller = SellerOutputSerializer(read_only=True, allow_null=True)

    @extend_schema_field(TvaBucketOutputSerializer(many=True))
    def get_tva(self, document) -> list:
        return TvaBucketOutputSerializer(tva_summary(document.lines.all()), many=True).data


class InvoiceListOutputSerializer(DocumentTotalsMixin, serializers.ModelSerializer):
    status = InvoiceStatusField(read_only=True)
    balance_due = serializers.DecimalField(**MONEY_OUT)

    class Meta:
        model = Invoice
        fields = [
            "id",
            "number",
            "status",
            "issue_date",
            "due_date",
            "customer",
            "service_order",
            "total_ht",
            "total_tva",
            "stamp_duty",
            "total_ttc",
            "paid_total",
            "credited_total",
            "balance_due",
            "einvoice_status",
            "ttn_reference",
            "created_at",
        ]
        read_only_fields = fields


class CreditNoteSummaryOutputSerializer(serializers.ModelSerializer):
    status = CreditNoteStatusField(read_only=True)

    class Meta:
        model = CreditNote
        fields = ["id", "number", "status", "issue_date", "total_ttc"]
        read_only_fields = fields


class ServicedVehicleOutputSerializer(serializers.Serializer):
    make = serializers.CharField(read_only=True)
    model = serializers.CharField(read_only=True)
    plate = serializers.CharField(read_only=True)
    vin = serializers.CharField(read_only=True)
    odometer_km = serializers.IntegerField(read_only=True, allow_null=True)


class InvoiceDetailOutputSerializer(DocumentDetailMixin, InvoiceListOutputSerializer):
    """An invoice with its buyer snapshot (personal data: reads by staff are recorded)."""

    vehicle = ServicedVehicleOutputSerializer(read_only=True, allow_null=True)
    payments = PaymentOutputSerializer(many=True, read_only=True)
    credit_notes = CreditNoteSummaryOutputSerializer(many=True, read_only=True)

    class Meta(InvoiceListOutputSerializer.Meta):
        fields = [
            *InvoiceListOutputSerializer.Meta.fields,
            "notes",
            "issued_at",
            "retention_until",
            "einvoice_updated_at",
            "ttn_qr_payload",
            "ttn_rejection_reason",
            "vehicle",
            "buyer",
            "seller",
            "lines",
            "tva",
            "payments",
            "credit_notes",
        ]
        read_only_fields = fields


class CreditNoteOutputSerializer(DocumentDetailMixin, serializers.ModelSerializer):
    status = CreditNoteStatusField(read_only=True)
    invoice_number = serializers.CharField(source="invoice.number", read_only=True)

    class Meta:
        model = CreditNote
        fields = [
            "id",
            "number",
            "status",
            "invoice",
            "invoice_number",
            "customer",
            "issue_date",
            "issued_at",
            "retention_until",
            "einvoice_status",
            "einvoice_updated_at",
            "ttn_reference",
            "ttn_qr_payload",
            "ttn_rejection_reason",
            "reason",
            "buyer",
            "seller",
            "lines",
            "tva",
            "total_ht",
            "total_tva",
            "stamp_duty",
            "total_ttc",
            "created_at",
        ]
        read_only_fields = fields


class CreditNoteListOutputSerializer(DocumentTotalsMixin, serializers.ModelSerializer):
    status = CreditNoteStatusField(read_only=True)
    invoice_number = serializers.CharField(source="invoice.number", read_only=True)

    class Meta:
        model = CreditNote
        fields = [
            "id",
            "number",
            "status",
            "invoice",
            "invoice_number",
            "customer",
            "issue_date",
            "total_ht",
            "total_tva",
            "stamp_duty",
            "total_ttc",
            "einvoice_status",
            "ttn_reference",
            "created_at",
        ]
        read_only_fields = fields


# --- Input --------------------------------------------------------------------------------------


class InvoiceCreateInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    service_order = serializers.IntegerField(min_value=1)


class InvoiceUpdateInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    due_date = serializers.DateField(required=False, allow_null=True)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=1000)


class LineInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    kind = LineKindField(default=Line.Kind.OTHER)
    description = serializers.CharField(max_length=200)
    quantity = serializers.DecimalField(**QUANTITY, min_value=Decimal("0.001"))
    unit_price = money_field(min_value=Decimal("0.000"))
    tva_rate = serializers.DecimalField(**RATE, min_value=Decimal("0.00"))


class PaymentInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    method = PaymentMethodField()
    amount = money_field(min_value=Decimal("0.001"))
    paid_on = serializers.DateField(required=False)
    reference = serializers.CharField(required=False, allow_blank=True, max_length=60, default="")


class CreditNoteCreateInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    invoice = serializers.IntegerField(min_value=1)
    reason = serializers.CharField(max_length=1000)
    lines = LineInputSerializer(
        many=True,
        required=False,
        help_text="The lines to credit. Left out: every line of the invoice (full cancellation, "
        "only while nothing was paid or credited).",
    )

    def validate_lines(self, value):
        if not value:
            raise serializers.ValidationError("Give at least one line, or leave `lines` out.")
        return value


class EInvoiceAnswerInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """TTN's answer: accepted (reference and QR content, or the returned signed file) or not."""

    accepted = serializers.BooleanField()
    reference = serializers.CharField(required=False, allow_blank=True, max_length=70, default="")
    qr_payload = serializers.CharField(
        required=False, allow_blank=True, max_length=4000, default="", help_text="QR content."
    )
    reason = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="")
    file = serializers.FileField(
        required=False,
        help_text="The signed file TTN returned (multipart upload), at most "
        f"{TTN_FILE_MAX_BYTES // (1024 * 1024)} MB: larger is a 413 with code file_too_large.",
    )


class PeriodInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    start = serializers.DateField(help_text="First issue date, YYYY-MM-DD.")
    end = serializers.DateField(help_text="Last issue date, YYYY-MM-DD.")

    def validate(self, data):
        if data["end"] < data["start"] or (data["end"] - data["start"]).days > 366:
            raise serializers.ValidationError("Give a period of at most one year, start ≤ end.")
        return data


class MonthInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    month = serializers.RegexField(r"^\d{4}-(0[1-9]|1[0-2])$", help_text="YYYY-MM.")


# --- Monthly summary output ---------------------------------------------------------------------


class DocumentSummaryOutputSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    total_ht = serializers.DecimalField(**MONEY_OUT)
    total_tva = serializers.DecimalField(**MONEY_OUT)
    stamp_duty = serializers.DecimalField(**MONEY_OUT)
    total_ttc = serializers.DecimalField(**MONEY_OUT)
    tva = TvaBucketOutputSerializer(many=True)


class PaymentMethodSummaryOutputSerializer(serializers.Serializer):
    method = PaymentMethodField()
    count = serializers.IntegerField()
    total = serializers.DecimalField(**MONEY_OUT)


class NetTvaOutputSerializer(serializers.Serializer):
    rate = serializers.DecimalField(**RATE, read_only=True)
    base = serializers.DecimalField(**MONEY_OUT)
    amount = serializers.DecimalField(**MONEY_OUT)


class MonthSummaryOutputSerializer(serializers.Serializer):
    month = serializers.CharField()
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    invoices = DocumentSummaryOutputSerializer()
    credit_notes = DocumentSummaryOutputSerializer()
    net_tva = NetTvaOutputSerializer(many=True)
    net_stamp_duty = serializers.DecimalField(**MONEY_OUT)
    payments = PaymentMethodSummaryOutputSerializer(many=True)
    payments_total = serializers.DecimalField(**MONEY_OUT)
