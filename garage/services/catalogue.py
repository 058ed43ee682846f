"""Catalogue, parts and stock."""

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F

from config.exceptions import ApplicationError
from garage.models import Part, Service, StockMovement

MONEY_PLACES = 3

SERVICE_FIELDS = ("code", "name", "labour_price", "estimated_minutes", "tva_rate", "is_active")
PART_FIELDS = ("sku", "name", "unit_price", "tva_rate", "reorder_level", "is_active")


def _invalid(field: str, message: str, code: str = "invalid") -> ApplicationError:
    return ApplicationError("Invalid input.", code=code, extra={field: [message]})


def _check_money(field: str, value: Decimal) -> None:
    """Money is never negative and never has more than 3 decimals (refused, not rounded)."""
    if value < 0:
        raise _invalid(field, "Must be zero or more.")
    if -value.as_tuple().exponent > MONEY_PLACES:
        raise _invalid(field, f"Use at most {MONEY_PLACES} decimal places.")


def _check_tva(value: Decimal) -> None:
    """A percentage. Which rates the law allows is data (invoices' FiscalRate table, with dates),
    checked where it binds: a line whose rate is not in force cannot be invoiced."""
    if not Decimal("0") <= value <= Decimal("100"):
        raise _invalid("tva_rate", "A TVA rate is a percentage between 0 and 100.")


def _clean_code(field: str, value: str) -> str:
    """Codes and SKUs are compared case-insensitively: stored trimmed and upper-cased."""
    value = value.strip().upper()
    if not value:
        raise _invalid(field, "This field may not be blank.")
    return value


def _save_unique(instance, *, field: str, update_fields=None):
    """Save, turning a lost race on the unique code into the same 400 as the pre-check."""
    try:
        with transaction.atomic():
            instance.save(update_fields=update_fields)
    except IntegrityError as exc:
        raise _invalid(field, "This value is already used.", code="duplicate") from exc
    return instance


# --- Service catalogue --------------------------------------------------------------------------


def _unique_code(model, field: str, value: str, instance) -> str:
    """A cleaned code or SKU, refused when another row already has it."""
    value = _clean_code(field, value)
    others = model.objects.filter(**{field: value})
    if instance is not None:
        others = others.exclude(pk=instance.pk)
    if others.exists():
        raise _invalid(field, "This value is already used.", code="duplicate")
    return value


def _service_validate(data: dict, *, instance: Service | None = None) -> dict:
    data = {k: v for k, v in data.items() if k in SERVICE_FIELDS}
    if "code" in data:
        data["code"] = _unique_code(Service, "code", data["code"], instance)
    if "labour_price" in data:
        _check_money("labour_price", data["labour_price"])
    if "tva_rate" in data:
        _check_tva(data["tva_rate"])
    if "estimated_minutes" in data and data["estimated_minutes"] < 1:
        raise _invalid("estimated_minutes", "Must be at least 1 minute.")
    return data


@transaction.atomic
def service_create(
    *,
    code: str,
    name: str,
    labour_price: Decimal,
    tva_rate: Decimal = Decimal("19"),
    estimated_minutes: int = 60,
    is_active: bool = True,
) -> Service:
    """Add a service to the catalogue."""
    data = _service_validate(
        {
            "code": code,
            "name": name,
            "labour_price": labour_price,
            "tva_rate": tva_rate,
            "estimated_minutes": estimated_minutes,
            "is_active": is_active,
        }
    )
    return _save_unique(Service(**data), field="code")


@transaction.atomic
def service_update(*, service: Service, data: dict) -> Service:
    """Change a catalogue entry; `is_active=False` deactivates it (services are never deleted)."""
    data = _service_validate(data, instance=service)
    for name, value in data.items():
        setattr(service, name, value)
    if not data:
        return service
    return _save_unique(service, field="code", update_fields=list(data))


# --- Parts --------------------------------------------------------------------------------------


def _part_validate(data: dict, *, instance: Part | None = None) -> dict:
    # `stock` is deliberately absent from PART_FIELDS: it only moves through part_stock_move.
    data = {k: v for k, v in data.items() if k in PART_FIELDS}
    if "sku" in data:
        data["sku"] = _unique_code(Part, "sku", data["sku"], instance)
    if "unit_price" in data:
        _check_money("unit_price", data["unit_price"])
    if "tva_rate" in data:
        _check_tva(data["tva_rate"])
    if "reorder_level" in data and data["reorder_level"] < 0:
        raise _invalid("reorder_level", "Must be zero or more.")
    return data


@transaction.atomic
def part_create(
    *,
    sku: str,
    name: str,
    unit_price: Decimal,
    tva_rate: Decimal = Decimal("19"),
    reorder_level: int = 0,
    is_active: bool = True,
) -> Part:
    """Add a part with no stock: stock arrives through an `in` movement."""
    data = _part_validate(
        {
            "sku": sku,
            "name": name,
            "unit_price": unit_price,
            "tva_rate": tva_rate,
            "reorder_level": reorder_level,
            "is_active": is_active,
        }
    )
    return _save_unique(Part(stock=0, **data), field="sku")


@transaction.atomic
def part_update(*, part: Part, data: dict) -> Part:
    """Change a part's description, price or reorder level (never its stock)."""
    data = _part_validate(data, instance=part)
    for name, value in data.items():
        setattr(part, name, value)
    if not data:
        return part
    return _save_unique(part, field="sku", update_fields=list(data))


# --- Stock --------------------------------------------------------------------------------------


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


# Movements entered by hand; `used` movements come only from service orders.
MANUAL_MOVEMENT_KINDS = (StockMovement.Kind.IN, StockMovement.Kind.ADJUSTMENT)


@transaction.atomic
def stock_movement_record(
    *, part: Part, kind: str, quantity: int, reason: str, actor
) -> StockMovement:
    """A goods receipt (`in`, positive) or a stock-take correction (`adjustment`, signed)."""
    if kind not in MANUAL_MOVEMENT_KINDS:
        raise _invalid("kind", "Only `in` and `adjustment` movements are entered by hand.")
    if kind == StockMovement.Kind.IN and quantity <= 0:
        raise _invalid("quantity", "A receipt adds stock: the quantity must be positive.")
    if quantity == 0:
        raise _invalid("quantity", "The quantity may not be zero.")
    reason = reason.strip()
    if not reason:
        raise _invalid("reason", "A reason is required.")
    return part_stock_move(part=part, kind=kind, quantity=quantity, reason=reason, actor=actor)
