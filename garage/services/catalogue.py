"""Catalogue, parts and stock."""

from django.db import transaction
from django.db.models import F

from config.exceptions import ApplicationError
from garage.models import Part, StockMovement


@transaction.atomic
def part_stock_move(
    *, part: Part, kind: str, quantity: int, reason: str, actor, service_order=None
) -> StockMovement:
    """Change a part's stock by `quantity` (signed) and record the movement.

    The conditional UPDATE is the guard: of two technicians taking the last unit at once, exactly
    one succeeds (the other sees 0 rows updated), on any database.
    """
    if quantity == 0:
        raise ApplicationError("A stock movement needs a non-zero quantity.", code="invalid")
    updated = Part.objects.filter(pk=part.pk, stock__gte=-quantity if quantity < 0 else 0).update(
        stock=F("stock") + quantity
    )
    if not updated:
        raise ApplicationError(
            "Not enough stock for this part.",
            code="insufficient_stock",
            extra={"quantity": [f"Only {Part.objects.get(pk=part.pk).stock} in stock."]},
        )
    part.refresh_from_db(fields=["stock"])
    return StockMovement.objects.create(
        part=part,
        kind=kind,
        quantity=quantity,
        reason=reason,
        actor=actor,
        service_order=service_order,
        stock_after=part.stock,
    )
