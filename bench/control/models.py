"""The benchmark's control app: the garage's columns as plain, unencrypted fields."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Customer(models.Model):
    kind = models.CharField(max_length=12, default="individual")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    full_name = models.CharField(max_length=150)
    company_name = models.CharField(max_length=200, blank=True, default="")
    tax_id = models.CharField(max_length=20, null=True, blank=True)
    national_id = models.CharField(max_length=8, null=True, blank=True)
    phone = models.CharField(max_length=20, null=True, blank=True)
    phone_secondary = models.CharField(max_length=20, null=True, blank=True)
    email = models.EmailField(max_length=254, null=True, blank=True)
    address = models.TextField(max_length=500, blank=True, default="")
    preferred_contact = models.CharField(max_length=10, default="phone")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]


class Vehicle(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="vehicles")
    plate = models.CharField(max_length=20, null=True, unique=True)
    vin = models.CharField(max_length=17, null=True, blank=True, unique=True)
    make = models.CharField(max_length=50)
    model = models.CharField(max_length=50)
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    fuel = models.CharField(max_length=10, blank=True, default="")
    colour = models.CharField(max_length=30, blank=True, default="")
    next_service_date = models.DateField(null=True, blank=True)
    next_service_km = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]


class OdometerReading(models.Model):
    vehicle = models.ForeignKey(Vehicle, on_delete=models.CASCADE, related_name="readings")
    km = models.PositiveIntegerField()
    recorded_on = models.DateField(default=timezone.localdate)
    source = models.CharField(max_length=20, default="customer")
    created_at = models.DateTimeField(default=timezone.now)


class Service(models.Model):
    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=120)
    labour_price = models.DecimalField(max_digits=12, decimal_places=3)
    tva_rate = models.DecimalField(max_digits=5, decimal_places=2, default="19.00")


class Part(models.Model):
    sku = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    unit_price = models.DecimalField(max_digits=12, decimal_places=3)
    tva_rate = models.DecimalField(max_digits=5, decimal_places=2, default="19.00")
    stock = models.PositiveIntegerField(default=0)


class ServiceOrder(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    vehicle = models.ForeignKey(Vehicle, on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(max_length=16, default="draft")
    complaint = models.TextField(max_length=2000, blank=True, default="")
    odometer_in = models.PositiveIntegerField(null=True, blank=True)
    technician_notes = models.TextField(max_length=4000, blank=True, default="")
    technicians = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    appointment_id = models.BigIntegerField(null=True, blank=True)
    approval_method = models.CharField(max_length=8, blank=True, default="")
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_ip = models.GenericIPAddressField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]


class LabourLine(models.Model):
    order = models.ForeignKey(ServiceOrder, on_delete=models.CASCADE, related_name="labour_lines")
    service = models.ForeignKey(Service, on_delete=models.PROTECT)
    description = models.CharField(max_length=200)
    hours = models.DecimalField(max_digits=6, decimal_places=2)
    unit_price = models.DecimalField(max_digits=12, decimal_places=3)
    tva_rate = models.DecimalField(max_digits=5, decimal_places=2)
    approval = models.CharField(max_length=10, default="pending")

    class Meta:
        ordering = ["id"]


class PartLine(models.Model):
    order = models.ForeignKey(ServiceOrder, on_delete=models.CASCADE, related_name="part_lines")
    part = models.ForeignKey(Part, on_delete=models.PROTECT)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=3)
    tva_rate = models.DecimalField(max_digits=5, decimal_places=2)
    approval = models.CharField(max_length=10, default="pending")
    consumed = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]
