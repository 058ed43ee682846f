"""Reads of the service catalogue, parts and stock movements, scoped to the caller's role."""

from django.db.models import F, QuerySet
from django.http import Http404

from accounts.models import Role
from garage.models import Part, Service, StockMovement


def service_list(*, user) -> QuerySet[Service]:
    """Everyone sees the active catalogue (customers book from it); super-admins see it all."""
    services = Service.objects.all()
    if user.role != Role.SUPER_ADMIN:
        services = services.filter(is_active=True)
    return services.order_by("code")


def service_get(*, user, pk) -> Service:
    service = service_list(user=user).filter(pk=pk).first()
    if service is None:
        raise Http404
    return service


def part_list(*, user) -> QuerySet[Part]:
    """Super-admins see every part; technicians the active ones they can put on an order."""
    parts = Part.objects.all()
    if user.role == Role.SUPER_ADMIN:
        return parts.order_by("sku")
    if user.role == Role.TECHNICIAN:
        return parts.filter(is_active=True).order_by("sku")
    return parts.none()


def part_get(*, user, pk) -> Part:
    part = part_list(user=user).filter(pk=pk).first()
    if part is None:
        raise Http404
    return part


def part_low_stock_list(*, user) -> QuerySet[Part]:
    """Active parts at or below their reorder level, the emptiest first."""
    return (
        part_list(user=user)
        .filter(is_active=True, stock__lte=F("reorder_level"))
        .order_by("stock", "sku")
    )


def stock_movement_list(*, user, part: Part) -> QuerySet[StockMovement]:
    """A part's movements, newest first (super-admins only: the views admit no other role)."""
    if user.role != Role.SUPER_ADMIN:
        return StockMovement.objects.none()
    return (
        StockMovement.objects.filter(part=part)
        .select_related("actor")
        .order_by("-created_at", "-id")
    )
