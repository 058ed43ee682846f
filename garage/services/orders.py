"""Service orders (job cards): opening, lines, assignment and the status workflow.

Every function here checks who may act (role, then ownership or assignment) and locks the order
row before reading its status, so two concurrent requests cannot both apply a change that only
one of them should (two transitions, or a line added while the order is being completed).
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from auditlog.models import LogEntry
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from config.exceptions import ApplicationError
from garage.models import (
    LabourLine,
    LineApproval,
    OdometerReading,
    Part,
    PartLine,
    Service,
    ServiceOrder,
    StockMovement,
)
from garage.services.catalogue import part_stock_move
from garage.services.vehicles import odometer_record

Status = ServiceOrder.Status

# The states in which work is being done on the vehicle (technicians' part of the workflow).
WORKING = frozenset({Status.IN_PROGRESS, Status.WAITING_PARTS})
# The states in which the estimate is still being prepared or discussed.
ESTIMATING = frozenset({Status.DRAFT, Status.ESTIMATE_SENT})
OPEN = frozenset(
    {Status.DRAFT, Status.ESTIMATE_SENT, Status.APPROVED, Status.IN_PROGRESS, Status.WAITING_PARTS}
)
NOTES_MAX_LENGTH = ServiceOrder._meta.get_field("technician_notes").max_length


@transaction.atomic
def service_order_open(
    *, actor, vehicle, appointment=None, complaint: str = "", odometer_in: int | None = None
) -> ServiceOrder:
    """Open a draft service order for a vehicle (at the front desk or at check-in)."""
    if odometer_in is not None:
        odometer_record(
            vehicle=vehicle,
            km=odometer_in,
            actor=actor,
            source=OdometerReading.Source.SERVICE_ORDER,
        )
    return ServiceOrder.objects.create(
        customer=vehicle.customer,
        vehicle=vehicle,
        appointment=appointment,
        complaint=complaint,
        odometer_in=odometer_in,
        created_by=actor,
    )


@transaction.atomic
def service_order_create(
    *, actor, vehicle, complaint: str = "", odometer_in: int | None = None
) -> ServiceOrder:
    """Open a service order at the front desk (super-admin); errors name the API's fields."""
    _require_role(actor, {Role.SUPER_ADMIN})
    try:
        return service_order_open(
            actor=actor, vehicle=vehicle, complaint=complaint, odometer_in=odometer_in
        )
    except ApplicationError as exc:
        if exc.code == "odometer_decrease":
            exc.extra = {"odometer_in": exc.extra.get("km", [exc.message])}
        raise


# --- Who may act ---------------------------------------------------------------------------------


def _require_role(actor, roles) -> None:
    if getattr(actor, "role", None) not in roles:
        raise ApplicationError(
            "Your role does not allow this action.", code="permission_denied", status_code=403
        )


def _require_scope(actor, order: ServiceOrder) -> None:
    """A technician must be assigned to the order and a customer must own it.

    Selectors already turn another's order into a 404; this is the same rule where the service is
    called directly, with the same answer (no hint that the order exists).
    """
    if actor.role == Role.TECHNICIAN:
        allowed = order.technicians.filter(pk=actor.pk).exists()
    elif actor.role == Role.CUSTOMER:
        allowed = order.customer.user_id == actor.pk
    else:
        allowed = actor.role == Role.SUPER_ADMIN
    if not allowed:
        raise ApplicationError("Not found.", code="not_found", status_code=404)


def _lock(order: ServiceOrder) -> ServiceOrder:
    """The order's row, locked until the end of the transaction, with its current status."""
    return ServiceOrder.objects.select_for_update().get(pk=order.pk)


def _authorise(actor, order: ServiceOrder, roles) -> ServiceOrder:
    """Check the role and the scope, then lock the order row and return the fresh order."""
    _require_role(actor, roles)
    locked = _lock(order)
    _require_scope(actor, locked)
    return locked


def _require_state(order: ServiceOrder, states, *, code: str, action: str) -> None:
    if order.status not in states:
        raise ApplicationError(
            f"A service order that is {order.get_status_display().lower()} cannot {action}.",
            code=code,
            extra={"status": [f"The order is {order.status}."]},
        )


def _line_states(actor) -> frozenset:
    """The states in which the actor may add or change lines."""
    if actor.role == Role.SUPER_ADMIN:
        return ESTIMATING | WORKING
    return WORKING


# --- Lines ---------------------------------------------------------------------------------------


def _approval_for_new_line(order: ServiceOrder) -> str:
    # Lines added while the estimate is open await the customer's decision. Once work has
    # started the estimate is approved and nothing stays pending: what the technician records
    # is part of the approved job.
    return LineApproval.APPROVED if order.status in WORKING else LineApproval.PENDING


@transaction.atomic
def service_order_labour_line_add(
    *, actor, order: ServiceOrder, service: Service, hours: Decimal, description: str = ""
) -> LabourLine:
    """Add labour: price and TVA rate copied from the catalogue as they are today."""
    order = _authorise(actor, order, {Role.SUPER_ADMIN, Role.TECHNICIAN})
    _require_state(order, _line_states(actor), code="invalid_state", action="take labour lines")
    if not service.is_active:
        raise ApplicationError(
            "This service is no longer offered.",
            code="invalid",
            extra={"service": ["This service is inactive."]},
        )
    return LabourLine.objects.create(
        order=order,
        service=service,
        description=description or service.name,
        hours=hours,
        unit_price=service.labour_price,
        tva_rate=service.tva_rate,
        approval=_approval_for_new_line(order),
        added_by=actor,
    )


@transaction.atomic
def service_order_labour_line_update(
    *, actor, order: ServiceOrder, line_id: int, hours: Decimal | None = None, description=None
) -> LabourLine:
    """Change the hours (or description) of a labour line: the recorded labour time."""
    order = _authorise(actor, order, {Role.SUPER_ADMIN, Role.TECHNICIAN})
    line = LabourLine.objects.select_for_update().filter(order=order, pk=line_id).first()
    if line is None:
        raise ApplicationError("Not found.", code="not_found", status_code=404)
    _require_state(order, _line_states(actor), code="invalid_state", action="change labour lines")
    fields = []
    if hours is not None:
        line.hours = hours
        fields.append("hours")
    if description:
        line.description = description
        fields.append("description")
    if fields:
        line.save(update_fields=fields)
    return line


def _consume(*, actor, order: ServiceOrder, part: Part, quantity: int) -> StockMovement:
    return part_stock_move(
        part=part,
        kind=StockMovement.Kind.USED,
        quantity=-quantity,
        reason=f"service order {order.pk}",
        actor=actor,
        service_order=order,
    )


@transaction.atomic
def service_order_part_line_add(*, actor, order: ServiceOrder, part: Part, quantity: int):
    """Add a part: price and TVA copied from the part; taken from stock at once during work.

    A line added to an estimate takes no stock yet: that happens when the work starts.
    """
    order = _authorise(actor, order, {Role.SUPER_ADMIN, Role.TECHNICIAN})
    _require_state(order, _line_states(actor), code="invalid_state", action="take part lines")
    if not part.is_active:
        raise ApplicationError(
            "This part is no longer stocked.",
            code="invalid",
            extra={"part": ["This part is inactive."]},
        )
    consumed = order.status in WORKING
    if consumed:
        # Raises insufficient_stock (and the transaction leaves no line) when stock is short.
        _consume(actor=actor, order=order, part=part, quantity=quantity)
    return PartLine.objects.create(
        order=order,
        part=part,
        quantity=quantity,
        unit_price=part.unit_price,
        tva_rate=part.tva_rate,
        approval=_approval_for_new_line(order),
        consumed=consumed,
        added_by=actor,
    )


@transaction.atomic
def service_order_lines_decide(
    *, actor, order: ServiceOrder, labour: dict[int, str], parts: dict[int, str]
) -> ServiceOrder:
    """Approve or decline estimate lines one by one while the estimate is with the customer."""
    order = _authorise(actor, order, {Role.CUSTOMER, Role.SUPER_ADMIN})
    _require_state(
        order, {Status.ESTIMATE_SENT}, code="invalid_state", action="have its lines decided"
    )
    errors = {}
    for key, model, decisions in (
        ("labour", LabourLine, labour),
        ("parts", PartLine, parts),
    ):
        if not decisions:
            continue
        lines = {
            line.pk: line
            for line in model.objects.select_for_update().filter(order=order, pk__in=decisions)
        }
        unknown = sorted(set(decisions) - set(lines))
        if unknown:
            errors[key] = [f"No line {pk} on this order." for pk in unknown]
            continue
        for pk, decision in decisions.items():
            line = lines[pk]
            if line.approval != decision:
                line.approval = decision
                line.save(update_fields=["approval"])
    if errors:
        raise ApplicationError("Some lines do not belong to this order.", extra=errors)
    return order


# --- Assignment and notes ------------------------------------------------------------------------


@transaction.atomic
def service_order_assign(*, actor, order: ServiceOrder, technician_ids: list[int]) -> ServiceOrder:
    """Set the technicians of an order: active technician-role users only."""
    order = _authorise(actor, order, {Role.SUPER_ADMIN})
    _require_state(order, OPEN, code="invalid_state", action="be reassigned")
    wanted = set(technician_ids)
    technicians = list(User.objects.filter(pk__in=wanted, role=Role.TECHNICIAN, is_active=True))
    invalid = sorted(wanted - {user.pk for user in technicians})
    if invalid:
        raise ApplicationError(
            "Only active technicians can be assigned.",
            code="invalid",
            extra={"technicians": [f"User {pk} is not an active technician." for pk in invalid]},
        )
    current = set(order.technicians.values_list("pk", flat=True))
    added = [user for user in technicians if user.pk not in current]
    removed = list(User.objects.filter(pk__in=current - wanted))
    order.technicians.set(technicians)
    # django-auditlog does not follow this many-to-many field on its own: record the change,
    # naming technicians by id (a username would outlive the erasure of their account).
    for changed, operation in ((added, "add"), (removed, "delete")):
        LogEntry.objects.log_m2m_changes(
            [f"user #{user.pk}" for user in changed], order, operation, "technicians", actor=actor
        )
    return order


@transaction.atomic
def service_order_note_add(*, actor, order: ServiceOrder, text: str) -> ServiceOrder:
    """Append a note, stamped with the time and the author's role and id.

    Not the username: the note outlives an erasure of its author's account.
    """
    order = _authorise(actor, order, {Role.SUPER_ADMIN, Role.TECHNICIAN})
    states = OPEN if actor.role == Role.SUPER_ADMIN else WORKING
    _require_state(order, states, code="invalid_state", action="take notes")
    stamp = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    entry = f"[{stamp} {actor.get_role_display()} #{actor.pk}] {text.strip()}"
    notes = f"{order.technician_notes}\n{entry}" if order.technician_notes else entry
    if len(notes) > NOTES_MAX_LENGTH:
        raise ApplicationError(
            "The order's notes are full.",
            code="notes_full",
            extra={"text": [f"Notes are limited to {NOTES_MAX_LENGTH} characters in all."]},
        )
    order.technician_notes = notes
    order.save(update_fields=["technician_notes"])
    return order


# --- Workflow ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Transition:
    name: str
    sources: frozenset
    target: str
    roles: frozenset


TRANSITIONS = {
    t.name: t
    for t in (
        Transition(
            "send_estimate",
            frozenset({Status.DRAFT}),
            Status.ESTIMATE_SENT,
            frozenset({Role.SUPER_ADMIN}),
        ),
        Transition(
            "approve",
            frozenset({Status.ESTIMATE_SENT}),
            Status.APPROVED,
            frozenset({Role.SUPER_ADMIN, Role.CUSTOMER}),
        ),
        Transition(
            "decline",
            frozenset({Status.ESTIMATE_SENT}),
            Status.CANCELLED,
            frozenset({Role.CUSTOMER}),
        ),
        Transition(
            "start",
            frozenset({Status.APPROVED}),
            Status.IN_PROGRESS,
            frozenset({Role.SUPER_ADMIN, Role.TECHNICIAN}),
        ),
        Transition(
            "wait_parts",
            frozenset({Status.IN_PROGRESS}),
            Status.WAITING_PARTS,
            frozenset({Role.SUPER_ADMIN, Role.TECHNICIAN}),
        ),
        Transition(
            "resume",
            frozenset({Status.WAITING_PARTS}),
            Status.IN_PROGRESS,
            frozenset({Role.SUPER_ADMIN, Role.TECHNICIAN}),
        ),
        Transition(
            "complete",
            frozenset({Status.IN_PROGRESS}),
            Status.COMPLETED,
            frozenset({Role.SUPER_ADMIN, Role.TECHNICIAN}),
        ),
        Transition(
            "deliver",
            frozenset({Status.COMPLETED}),
            Status.DELIVERED,
            frozenset({Role.SUPER_ADMIN}),
        ),
        Transition("cancel", OPEN, Status.CANCELLED, frozenset({Role.SUPER_ADMIN})),
    )
}


def _begin(actor, order: ServiceOrder, name: str) -> ServiceOrder:
    """Authorise a transition and lock the order; refuse it when the status does not allow it."""
    transition = TRANSITIONS[name]
    order = _authorise(actor, order, transition.roles)
    if order.status not in transition.sources:
        raise ApplicationError(
            f"A service order that is {order.get_status_display().lower()} cannot go to "
            f"{Status(transition.target).label.lower()}.",
            code="invalid_transition",
            extra={"status": [f"The order is {order.status}."]},
        )
    return order


def _finish(order: ServiceOrder, name: str, *fields: str) -> ServiceOrder:
    order.status = TRANSITIONS[name].target
    order.save(update_fields=["status", *fields])
    return order


@transaction.atomic
def service_order_send_estimate(*, actor, order: ServiceOrder) -> ServiceOrder:
    """Send the estimate to the customer: it needs at least one line."""
    order = _begin(actor, order, "send_estimate")
    if not (order.labour_lines.exists() or order.part_lines.exists()):
        raise ApplicationError(
            "An estimate needs at least one labour or part line.",
            code="estimate_empty",
            extra={"lines": ["Add a labour or part line first."]},
        )
    return _finish(order, "send_estimate")


@transaction.atomic
def service_order_approve(*, actor, order: ServiceOrder, ip: str | None = None) -> ServiceOrder:
    """Approve the estimate: in the app by the customer, or a verbal approval staff record.

    The remaining pending lines are approved with it; lines declined one by one stay declined.
    """
    order = _begin(actor, order, "approve")
    remaining = (
        order.labour_lines.exclude(approval=LineApproval.DECLINED).exists()
        or order.part_lines.exclude(approval=LineApproval.DECLINED).exists()
    )
    if not remaining:
        raise ApplicationError(
            "Every line of this estimate was declined: decline the estimate instead.",
            code="estimate_empty",
            extra={"lines": ["No line left to approve."]},
        )
    for lines in (order.labour_lines, order.part_lines):
        lines.filter(approval=LineApproval.PENDING).update(approval=LineApproval.APPROVED)
    in_app = actor.role == Role.CUSTOMER
    order.approval_method = (
        ServiceOrder.ApprovalMethod.APP if in_app else ServiceOrder.ApprovalMethod.VERBAL
    )
    order.approved_at = timezone.now()
    # The address proves where an in-app approval came from; a verbal one has none.
    order.approved_ip = ip if in_app else None
    order.approved_by = actor
    return _finish(order, "approve", "approval_method", "approved_at", "approved_ip", "approved_by")


@transaction.atomic
def service_order_decline(*, actor, order: ServiceOrder) -> ServiceOrder:
    """The customer declines the whole estimate: the order is cancelled."""
    order = _begin(actor, order, "decline")
    return _finish(order, "decline")


@transaction.atomic
def service_order_start(*, actor, order: ServiceOrder) -> ServiceOrder:
    """Start the work: the estimate's part lines are taken from stock now (all or nothing)."""
    order = _begin(actor, order, "start")
    lines = (
        order.part_lines.filter(consumed=False)
        .exclude(approval=LineApproval.DECLINED)
        .select_related("part")
        .order_by("part_id", "id")  # one lock order for every transaction: no deadlock
    )
    for line in lines:
        try:
            _consume(actor=actor, order=order, part=line.part, quantity=line.quantity)
        except ApplicationError as exc:
            if exc.code != "insufficient_stock":
                raise
            raise ApplicationError(
                "Not enough stock to start this order.",
                code="insufficient_stock",
                extra={
                    "part_lines": [
                        f"Line {line.pk} needs {line.quantity} of part {line.part.sku}; "
                        f"{Part.objects.get(pk=line.part_id).stock} in stock."
                    ]
                },
            ) from None
        line.consumed = True
        line.save(update_fields=["consumed"])
    return _finish(order, "start")


@transaction.atomic
def service_order_wait_parts(*, actor, order: ServiceOrder) -> ServiceOrder:
    """Pause the work until parts arrive."""
    return _finish(_begin(actor, order, "wait_parts"), "wait_parts")


@transaction.atomic
def service_order_resume(*, actor, order: ServiceOrder) -> ServiceOrder:
    """Resume the work once the parts are in."""
    return _finish(_begin(actor, order, "resume"), "resume")


@transaction.atomic
def service_order_complete(*, actor, order: ServiceOrder) -> ServiceOrder:
    """Finish the work and set the vehicle's next service reminder (by date and by mileage)."""
    order = _begin(actor, order, "complete")
    order.completed_at = timezone.now()
    vehicle = order.vehicle
    vehicle.next_service_date = timezone.localdate() + timedelta(
        days=settings.GARAGE_SERVICE_INTERVAL_DAYS
    )
    fields = ["next_service_date"]
    if order.odometer_in is not None:
        vehicle.next_service_km = order.odometer_in + settings.GARAGE_SERVICE_INTERVAL_KM
        fields.append("next_service_km")
    vehicle.save(update_fields=fields)
    return _finish(order, "complete", "completed_at")


@transaction.atomic
def service_order_deliver(*, actor, order: ServiceOrder) -> ServiceOrder:
    """Hand the vehicle back to the customer."""
    order = _begin(actor, order, "deliver")
    order.delivered_at = timezone.now()
    return _finish(order, "deliver", "delivered_at")


@transaction.atomic
def service_order_cancel(*, actor, order: ServiceOrder) -> ServiceOrder:
    """Cancel an order before it is completed (parts already used stay used)."""
    return _finish(_begin(actor, order, "cancel"), "cancel")
