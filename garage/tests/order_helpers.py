"""Service orders for tests, built through the real services (so the workflow rules apply)."""

from decimal import Decimal

from accounts.models import Role
from accounts.services import user_create
from garage.models import ServiceOrder
from garage.services import orders as services
from garage.tests.factories import (
    PartFactory,
    ServiceFactory,
    VehicleFactory,
    customer_user,
)

PASSWORD = "Garage#Pass2026"
Status = ServiceOrder.Status

# The services that lead from one status to the next on the usual path.
PATH = [
    (Status.ESTIMATE_SENT, services.service_order_send_estimate),
    (Status.APPROVED, services.service_order_approve),
    (Status.IN_PROGRESS, services.service_order_start),
    (Status.COMPLETED, services.service_order_complete),
    (Status.DELIVERED, services.service_order_deliver),
]


def technician_user(username: str):
    return user_create(username=username, password=PASSWORD, role=Role.TECHNICIAN)


def owner_vehicle(owner, **fields):
    """A vehicle of the customer-role user `owner` (who has a Customer record)."""
    return VehicleFactory(customer=owner.customer, **fields)


def order_open(admin, *, owner=None, vehicle=None, odometer_in=None, complaint="Brake noise"):
    """A draft order opened by a super-admin at the front desk."""
    if vehicle is None:
        vehicle = owner_vehicle(owner or customer_user(f"owner{ServiceOrder.objects.count()}"))
    return services.service_order_create(
        actor=admin, vehicle=vehicle, complaint=complaint, odometer_in=odometer_in
    )


def order_with_lines(admin, *, part=None, quantity=1, hours="1.50", **open_kwargs):
    """A draft order with one labour line and one part line."""
    order = order_open(admin, **open_kwargs)
    services.service_order_labour_line_add(
        actor=admin, order=order, service=ServiceFactory(), hours=Decimal(hours)
    )
    services.service_order_part_line_add(
        actor=admin, order=order, part=part or PartFactory(), quantity=quantity
    )
    return order


def order_in(status, admin, *, technicians=(), **kwargs):
    """An order brought to `status` along the usual path (cancelled: from draft)."""
    order = order_with_lines(admin, **kwargs)
    if technicians:
        services.service_order_assign(
            actor=admin, order=order, technician_ids=[t.pk for t in technicians]
        )
    if status == Status.CANCELLED:
        return services.service_order_cancel(actor=admin, order=order)
    stop = Status.IN_PROGRESS if status == Status.WAITING_PARTS else status
    for _target, step in PATH:
        if order.status == stop:
            break
        order = step(actor=admin, order=order)
    if status == Status.WAITING_PARTS:
        order = services.service_order_wait_parts(actor=admin, order=order)
    assert order.status == status
    return order
