"""The shop's work: customers, vehicles, catalogue, parts, appointments and service orders."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from garage.identifiers import (
    normalise_cin,
    normalise_plate,
    normalise_tax_id,
    normalise_vin,
    validate_cin,
    validate_plate,
    validate_tax_id,
    validate_vin,
)
from privacy.fields import (
    BlindIndexField,
    EncryptedCharField,
    EncryptedEmailField,
    EncryptedTextField,
)
from privacy.models import EncryptedModel, StoredFile
from privacy.normalise import normalise_email, normalise_phone, validate_phone

MONEY = {"max_digits": 12, "decimal_places": 3}  # TND with millimes
TVA_RATE = {"max_digits": 5, "decimal_places": 2}
ZERO = Decimal("0.000")


class Customer(EncryptedModel):
    """An individual or a company; every identifying value encrypted."""

    class Kind(models.TextChoices):
        INDIVIDUAL = "individual", "Individual"
        COMPANY = "company", "Company"

    class ContactMethod(models.TextChoices):
        PHONE = "phone", "Phone call"
        SMS = "sms", "SMS"
        EMAIL = "email", "E-mail"
        WHATSAPP = "whatsapp", "WhatsApp"

    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.INDIVIDUAL)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customer",
        help_text="The customer's app account, if any (walk-in customers have none).",
    )
    full_name = EncryptedCharField(max_length=150)
    company_name = EncryptedCharField(max_length=200, blank=True, default="")
    tax_id = EncryptedCharField(max_length=20, null=True, blank=True, validators=[validate_tax_id])
    tax_id_index = BlindIndexField(source="tax_id", normaliser=normalise_tax_id)
    national_id = EncryptedCharField(max_length=8, null=True, blank=True, validators=[validate_cin])
    national_id_index = BlindIndexField(source="national_id", normaliser=normalise_cin)
    phone = EncryptedCharField(max_length=20, null=True, blank=True, validators=[validate_phone])
    phone_index = BlindIndexField(source="phone", normaliser=normalise_phone)
    phone_secondary = EncryptedCharField(
        max_length=20, null=True, blank=True, validators=[validate_phone]
    )
    email = EncryptedEmailField(max_length=254, null=True, blank=True)
    email_index = BlindIndexField(source="email", normaliser=normalise_email)
    address = EncryptedTextField(max_length=500, blank=True, default="")
    preferred_contact = models.CharField(
        max_length=10, choices=ContactMethod.choices, default=ContactMethod.PHONE
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"customer {self.pk}"


class Vehicle(EncryptedModel):
    """A customer's vehicle: plate and VIN encrypted and findable through blind indexes."""

    class Fuel(models.TextChoices):
        PETROL = "petrol", "Petrol"
        DIESEL = "diesel", "Diesel"
        HYBRID = "hybrid", "Hybrid"
        ELECTRIC = "electric", "Electric"
        LPG = "lpg", "LPG"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="vehicles")
    # Null only for an anonymised vehicle (its owner was erased; its service history stays).
    plate = EncryptedCharField(
        max_length=20,
        null=True,
        validators=[validate_plate],
        help_text="As entered, e.g. 123 تونس 4567.",
    )
    plate_index = BlindIndexField(source="plate", normaliser=normalise_plate, unique=True)
    vin = EncryptedCharField(max_length=17, null=True, blank=True, validators=[validate_vin])
    vin_index = BlindIndexField(source="vin", normaliser=normalise_vin, unique=True)
    make = models.CharField(max_length=50)
    model = models.CharField(max_length=50)
    year = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1950), MaxValueValidator(2100)]
    )
    fuel = models.CharField(max_length=10, choices=Fuel.choices, blank=True, default="")
    colour = models.CharField(max_length=30, blank=True, default="")
    next_service_date = models.DateField(null=True, blank=True)
    next_service_km = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"vehicle {self.pk} ({self.make} {self.model})"


class OdometerReading(models.Model):
    """A dated odometer reading; readings only go up unless a super-admin corrects one."""

    class Source(models.TextChoices):
        CUSTOMER = "customer", "Customer"
        SERVICE_ORDER = "service_order", "Service order"
        CORRECTION = "correction", "Correction"

    vehicle = models.ForeignKey(Vehicle, on_delete=models.CASCADE, related_name="odometer_readings")
    km = models.PositiveIntegerField()
    recorded_on = models.DateField(default=timezone.localdate)
    source = models.CharField(max_length=20, choices=Source.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.km} km on {self.recorded_on}"


class VehicleDocument(models.Model):
    """A vehicle's registration document (carte grise), stored encrypted."""

    class Kind(models.TextChoices):
        REGISTRATION = "registration", "Registration document (carte grise)"

    vehicle = models.ForeignKey(Vehicle, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.REGISTRATION)
    file = models.OneToOneField(StoredFile, on_delete=models.PROTECT, related_name="+")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-uploaded_at", "-id"]

    def __str__(self):
        return f"{self.get_kind_display()} of vehicle {self.vehicle_id}"


class Service(models.Model):
    """An entry of the service catalogue (labour)."""

    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=120)
    labour_price = models.DecimalField(**MONEY, validators=[MinValueValidator(ZERO)])
    estimated_minutes = models.PositiveIntegerField(default=60)
    tva_rate = models.DecimalField(**TVA_RATE, default=Decimal("19.00"))
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(labour_price__gte=0), name="garage_service_price_positive"
            )
        ]

    def __str__(self):
        return f"{self.code} {self.name}"


class Part(models.Model):
    """A stocked part; stock never goes negative."""

    sku = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    unit_price = models.DecimalField(**MONEY, validators=[MinValueValidator(ZERO)])
    tva_rate = models.DecimalField(**TVA_RATE, default=Decimal("19.00"))
    stock = models.PositiveIntegerField(default=0)
    reorder_level = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(stock__gte=0), name="garage_part_stock_gte_0"
            ),
            models.CheckConstraint(
                condition=models.Q(unit_price__gte=0), name="garage_part_price_positive"
            ),
        ]

    def __str__(self):
        return f"{self.sku} {self.name}"


class StockMovement(models.Model):
    """One change of a part's stock, with its reason and actor."""

    class Kind(models.TextChoices):
        IN = "in", "Received"
        USED = "used", "Used on a service order"
        ADJUSTMENT = "adjustment", "Adjustment"

    part = models.ForeignKey(Part, on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    quantity = models.IntegerField(help_text="Signed: positive in, negative out.")
    reason = models.CharField(max_length=200)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    service_order = models.ForeignKey(
        "ServiceOrder", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    stock_after = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(quantity=0), name="garage_movement_nonzero")
        ]

    def __str__(self):
        return f"{self.kind} {self.quantity} of part {self.part_id}"


class AppointmentSlot(models.Model):
    """Bookings per slot: the conditional increment of `booked` is what prevents overbooking."""

    start = models.DateTimeField(unique=True)
    booked = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["start"]

    def __str__(self):
        return f"slot {self.start:%Y-%m-%d %H:%M}"


class Appointment(EncryptedModel):
    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        CONFIRMED = "confirmed", "Confirmed"
        CHECKED_IN = "checked_in", "Checked in"
        CANCELLED = "cancelled", "Cancelled"
        NO_SHOW = "no_show", "No-show"

    ACTIVE = (Status.REQUESTED, Status.CONFIRMED, Status.CHECKED_IN)

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="appointments")
    vehicle = models.ForeignKey(Vehicle, on_delete=models.PROTECT, related_name="appointments")
    slot = models.ForeignKey(AppointmentSlot, on_delete=models.PROTECT, related_name="appointments")
    services = models.ManyToManyField(Service, blank=True, related_name="+")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.REQUESTED)
    notes = EncryptedTextField(max_length=2000, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"appointment {self.pk}"


class ServiceOrder(EncryptedModel):
    """A job card: the work on one vehicle, from estimate to delivery."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ESTIMATE_SENT = "estimate_sent", "Estimate sent"
        APPROVED = "approved", "Approved"
        IN_PROGRESS = "in_progress", "In progress"
        WAITING_PARTS = "waiting_parts", "Waiting for parts"
        COMPLETED = "completed", "Completed"
        DELIVERED = "delivered", "Delivered"
        CANCELLED = "cancelled", "Cancelled"

    class ApprovalMethod(models.TextChoices):
        APP = "app", "In the app"
        VERBAL = "verbal", "Verbal, recorded by staff"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="service_orders")
    vehicle = models.ForeignKey(Vehicle, on_delete=models.PROTECT, related_name="service_orders")
    appointment = models.OneToOneField(
        Appointment, null=True, blank=True, on_delete=models.SET_NULL, related_name="service_order"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    complaint = EncryptedTextField(max_length=2000, blank=True, default="")
    odometer_in = models.PositiveIntegerField(null=True, blank=True)
    technician_notes = models.TextField(max_length=4000, blank=True, default="")
    technicians = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="assigned_service_orders"
    )
    approval_method = models.CharField(
        max_length=8, choices=ApprovalMethod.choices, blank=True, default=""
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_ip = models.GenericIPAddressField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self):
        return f"service order {self.pk}"


class LineApproval(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    DECLINED = "declined", "Declined"


class LabourLine(models.Model):
    order = models.ForeignKey(ServiceOrder, on_delete=models.CASCADE, related_name="labour_lines")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    description = models.CharField(max_length=200)
    hours = models.DecimalField(
        max_digits=6, decimal_places=2, validators=[MinValueValidator(Decimal("0.00"))]
    )
    unit_price = models.DecimalField(**MONEY, validators=[MinValueValidator(ZERO)])
    tva_rate = models.DecimalField(**TVA_RATE)
    approval = models.CharField(
        max_length=10, choices=LineApproval.choices, default=LineApproval.PENDING
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"labour line {self.pk} of order {self.order_id}"


class PartLine(models.Model):
    order = models.ForeignKey(ServiceOrder, on_delete=models.CASCADE, related_name="part_lines")
    part = models.ForeignKey(Part, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(**MONEY, validators=[MinValueValidator(ZERO)])
    tva_rate = models.DecimalField(**TVA_RATE)
    approval = models.CharField(
        max_length=10, choices=LineApproval.choices, default=LineApproval.PENDING
    )
    consumed = models.BooleanField(default=False, help_text="Stock already taken for this line.")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="garage_partline_qty")
        ]

    def __str__(self):
        return f"part line {self.pk} of order {self.order_id}"
