"""Reads of service orders and vehicle history, always scoped to the caller."""

from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from accounts.models import Role, User
from garage.models import (
    Customer,
    LabourLine,
    LineApproval,
    OdometerReading,
    PartLine,
    ServiceOrder,
    Vehicle,
)

MILLIMES = Decimal("0.001")
HISTORY_STATUSES = (ServiceOrder.Status.COMPLETED, ServiceOrder.Status.DELIVERED)


def round_half_up(value: Decimal, places: int = 3) -> Decimal:
    """Round money the way Tunisian invoices do: half up, to the millime by default."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _last_km(vehicle_ref: str) -> Subquery:
    """The vehicle's latest odometer reading, as a subquery (no query per row)."""
    return Subquery(
        OdometerReading.objects.filter(vehicle=OuterRef(vehicle_ref))
        .order_by("-recorded_on", "-id")
        .values("km")[:1]
    )


# An order shows its customer's name only: their other (encrypted) columns are not loaded, so
# they are not decrypted for every order of a list. `user` is kept for the ownership checks.
_ORDER_CUSTOMER_COLUMNS = {"id", "user", "full_name"}
_DEFERRED_CUSTOMER_COLUMNS = [
    f"customer__{field.name}"
    for field in Customer._meta.concrete_fields
    if field.name not in _ORDER_CUSTOMER_COLUMNS
]


def _with_details(queryset: QuerySet) -> QuerySet:
    """Everything the order serializers render, in a fixed number of queries."""
    queryset = queryset.select_related("vehicle", "customer", "approved_by")
    return queryset.defer(*_DEFERRED_CUSTOMER_COLUMNS).prefetch_related(
        Prefetch("technicians", queryset=User.objects.only("id", "username", "role")),
        Prefetch("labour_lines", queryset=LabourLine.objects.select_related("service")),
        Prefetch("part_lines", queryset=PartLine.objects.select_related("part")),
    )


def _scoped(user) -> QuerySet:
    """The orders a user may see: all (super-admin), assigned (technician), own (customer)."""
    orders = ServiceOrder.objects.all()
    role = getattr(user, "role", None)
    if role == Role.SUPER_ADMIN:
        return orders
    if role == Role.TECHNICIAN:
        return orders.filter(technicians=user)
    if role == Role.CUSTOMER:
        return orders.filter(customer__user=user)
    return orders.none()


def service_order_list(*, user) -> QuerySet:
    """The caller's orders, ready to render (filtering and ordering are applied by the view)."""
    return _with_details(_scoped(user)).annotate(vehicle_last_km=_last_km("vehicle"))


def service_order_get(*, user, pk: int) -> ServiceOrder:
    """One of the caller's orders; another's is a 404 (its existence is not disclosed)."""
    order = service_order_list(user=user).filter(pk=pk).first()
    if order is None:
        raise Http404
    return order


# --- Totals --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TvaAmount:
    rate: Decimal
    base: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Totals:
    labour: Decimal
    parts: Decimal
    total_excl_tax: Decimal
    tva: list[TvaAmount]
    total_tva: Decimal
    total: Decimal


def labour_line_total(line: LabourLine) -> Decimal:
    return round_half_up(line.hours * line.unit_price)


def part_line_total(line: PartLine) -> Decimal:
    return round_half_up(line.quantity * line.unit_price)


def service_order_totals(order: ServiceOrder) -> Totals:
    """Totals of the approved and pending lines (declined lines are not charged).

    Uses the prefetched lines: no query per order in a list.
    """
    bases: dict[Decimal, Decimal] = defaultdict(Decimal)
    labour = parts = Decimal("0.000")
    for line in order.labour_lines.all():
        if line.approval != LineApproval.DECLINED:
            amount = labour_line_total(line)
            labour += amount
            bases[line.tva_rate] += amount
    for line in order.part_lines.all():
        if line.approval != LineApproval.DECLINED:
            amount = part_line_total(line)
            parts += amount
            bases[line.tva_rate] += amount
    tva = [
        TvaAmount(rate=rate, base=base, amount=round_half_up(base * rate / 100))
        for rate, base in sorted(bases.items())
    ]
    total_tva = sum((item.amount for item in tva), Decimal("0.000"))
    excl = labour + parts
    return Totals(
        labour=labour,
        parts=parts,
        total_excl_tax=excl,
        tva=tva,
        total_tva=total_tva,
        total=excl + total_tva,
    )


# --- Vehicle history -----------------------------------------------------------------------------


def vehicle_history_get(*, user, pk: int) -> Vehicle:
    """A vehicle with its completed work, for its owner or a super-admin; otherwise a 404."""
    vehicles = Vehicle.objects.all()
    role = getattr(user, "role", None)
    if role == Role.CUSTOMER:
        vehicles = vehicles.filter(customer__user=user)
    elif role != Role.SUPER_ADMIN:
        vehicles = vehicles.none()
    done = (
        ServiceOrder.objects.filter(status__in=HISTORY_STATUSES)
        .order_by("-completed_at", "-id")
        .prefetch_related(
            Prefetch(
                "labour_lines",
                queryset=LabourLine.objects.exclude(approval=LineApproval.DECLINED),
            ),
            Prefetch(
                "part_lines",
                queryset=PartLine.objects.exclude(approval=LineApproval.DECLINED).select_related(
                    "part"
                ),
            ),
        )
    )
    vehicle = (
        vehicles.filter(pk=pk)
        .annotate(last_km=_last_km("pk"))
        .prefetch_related(Prefetch("service_orders", queryset=done, to_attr="history"))
        .first()
    )
    if vehicle is None:
        raise Http404
    return vehicle


def vehicle_service_due(vehicle: Vehicle) -> bool:
    """Whether the next service is due, by date or by mileage (whichever comes first)."""
    today = timezone.localdate()
    by_date = vehicle.next_service_date is not None and vehicle.next_service_date <= today
    last_km = getattr(vehicle, "last_km", None)
    by_km = (
        vehicle.next_service_km is not None
        and last_km is not None
        and last_km >= vehicle.next_service_km
    )
    return by_date or by_km
