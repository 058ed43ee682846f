"""Vehicles, odometer readings and registration documents."""

import os
import unicodedata

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from PIL import Image
from pypdf import PdfReader

from accounts.models import Role
from config.exceptions import ApplicationError
from garage.identifiers import normalise_vin
from garage.models import Customer, OdometerReading, Vehicle, VehicleDocument
from privacy.models import StoredFile


@transaction.atomic
def odometer_record(
    *, vehicle: Vehicle, km: int, actor, source: str, recorded_on=None
) -> OdometerReading:
    """Record a reading; lower than the last one is refused unless a super-admin corrects it."""
    Vehicle.objects.select_for_update().filter(pk=vehicle.pk).first()
    last = vehicle.odometer_readings.order_by("-recorded_on", "-id").first()
    correcting = source == OdometerReading.Source.CORRECTION
    if correcting and getattr(actor, "role", None) != Role.SUPER_ADMIN:
        raise ApplicationError(
            "Only a super-admin may correct an odometer reading.",
            code="permission_denied",
            status_code=403,
        )
    if last is not None and km < last.km and not correcting:
        raise ApplicationError(
            "The odometer reading is lower than the last one.",
            code="odometer_decrease",
            extra={"km": [f"The last reading is {last.km} km."]},
        )
    return OdometerReading.objects.create(
        vehicle=vehicle,
        km=km,
        recorded_on=recorded_on or timezone.localdate(),
        source=source,
        recorded_by=actor,
    )


VEHICLE_FIELDS = frozenset({"plate", "vin", "make", "model", "year", "fuel", "colour"})
OLDEST_YEAR = 1950


def _invalid_vehicle(errors: dict, *, code: str = "invalid") -> ApplicationError:
    return ApplicationError("Invalid vehicle details.", code=code, extra=errors)


def _plate_taken() -> ApplicationError:
    return _invalid_vehicle({"plate": ["This plate is already registered."]}, code="plate_taken")


def _vin_taken() -> ApplicationError:
    return _invalid_vehicle({"vin": ["This VIN is already registered."]}, code="vin_taken")


def _clean_vehicle_values(values: dict) -> dict:
    """Plate trimmed, otherwise as entered (the blind index holds the normal form); VIN upper."""
    cleaned = dict(values)
    for name in ("plate", "make", "model", "colour"):
        if name in cleaned:
            cleaned[name] = (cleaned[name] or "").strip()
    if "vin" in cleaned:
        vin = (cleaned["vin"] or "").strip() or None
        if vin is not None:
            try:
                vin = normalise_vin(vin)
            except DjangoValidationError as exc:
                raise _invalid_vehicle({"vin": exc.messages}) from exc
        cleaned["vin"] = vin
    year = cleaned.get("year")
    latest = timezone.localdate().year + 1
    if year is not None and not OLDEST_YEAR <= year <= latest:
        raise _invalid_vehicle({"year": [f"Enter a year between {OLDEST_YEAR} and {latest}."]})
    return cleaned


def _validate_and_save_vehicle(vehicle: Vehicle) -> Vehicle:
    """Model validators, one vehicle per plate and per VIN (also under concurrent requests)."""
    try:
        vehicle.full_clean(exclude=["customer"], validate_unique=False)
    except DjangoValidationError as exc:
        raise _invalid_vehicle(exc.message_dict) from exc
    others = Vehicle.objects.exclude(pk=vehicle.pk)
    if others.blind_lookup(plate=vehicle.plate).exists():
        raise _plate_taken()
    if vehicle.vin and others.blind_lookup(vin=vehicle.vin).exists():
        raise _vin_taken()
    try:
        with transaction.atomic():
            vehicle.save()
    except IntegrityError as exc:
        # A concurrent request registered the same plate (or VIN) between the check and the save.
        if vehicle.vin and others.blind_lookup(vin=vehicle.vin).exists():
            raise _vin_taken() from exc
        raise _plate_taken() from exc
    return vehicle


@transaction.atomic
def vehicle_create(
    *,
    customer: Customer,
    plate: str,
    make: str,
    model: str,
    vin: str | None = None,
    year: int | None = None,
    fuel: str = "",
    colour: str = "",
) -> Vehicle:
    """Register a vehicle for a customer: valid plate and VIN, each registered only once."""
    values = _clean_vehicle_values(
        {
            "plate": plate,
            "vin": vin,
            "make": make,
            "model": model,
            "year": year,
            "fuel": fuel,
            "colour": colour,
        }
    )
    return _validate_and_save_vehicle(Vehicle(customer=customer, **values))


@transaction.atomic
def vehicle_update(*, vehicle: Vehicle, actor, data: dict) -> Vehicle:
    """Change a vehicle's details; only a super-admin may move it to another customer."""
    allowed = VEHICLE_FIELDS | ({"customer"} if actor.role == Role.SUPER_ADMIN else set())
    refused = sorted(set(data) - allowed)
    if refused:
        raise _invalid_vehicle({name: ["This field cannot be changed here."] for name in refused})
    vehicle = Vehicle.objects.select_for_update().get(pk=vehicle.pk)
    for name, value in _clean_vehicle_values(data).items():
        setattr(vehicle, name, value)
    return _validate_and_save_vehicle(vehicle)


@transaction.atomic
def odometer_reading_add(
    *, vehicle: Vehicle, actor, km: int, recorded_on=None, correction: bool = False
) -> OdometerReading:
    """A reading reported through the vehicle API; `correction` (super-admins) may go lower.

    Readings taken at the workshop come from service orders (source service_order); a reading
    entered here is the customer's report, whoever types it in, unless it is a correction.
    """
    if recorded_on is not None and recorded_on > timezone.localdate():
        raise ApplicationError(
            "A reading cannot be dated in the future.",
            code="invalid",
            extra={"recorded_on": ["Enter today's date or an earlier one."]},
        )
    source = OdometerReading.Source.CORRECTION if correction else OdometerReading.Source.CUSTOMER
    return odometer_record(
        vehicle=vehicle, km=km, actor=actor, source=source, recorded_on=recorded_on
    )


# --- Registration documents -------------------------------------------------------------------

# Recognised by content only: the name and the client's content type are the client's word.
_SIGNATURES = (
    (b"%PDF-", "application/pdf", (".pdf",)),
    (b"\xff\xd8\xff", "image/jpeg", (".jpg", ".jpeg")),
    (b"\x89PNG\r\n\x1a\n", "image/png", (".png",)),
)
_HEAD_BYTES = max(len(magic) for magic, _, _ in _SIGNATURES)
MAX_NAME_LENGTH = 150


def document_type_detect(head: bytes) -> tuple[str, tuple[str, ...]] | None:
    """The content type and usual extensions of a file's first bytes, or None if not accepted."""
    for magic, content_type, extensions in _SIGNATURES:
        if head.startswith(magic):
            return content_type, extensions
    return None


def document_parses(upload, content_type: str) -> bool:
    """Whether a real parser reads the file as its detected type (magic bytes prove nothing)."""
    upload.seek(0)
    try:
        if content_type == "application/pdf":
            return len(PdfReader(upload).pages) > 0
        with Image.open(upload) as image:
            if Image.MIME.get(image.format) != content_type:
                return False
            image.load()
        return True
    # Parsers fed hostile files raise every kind of error (truncated, malformed, bomb): all refuse.
    except Exception:  # noqa: BLE001
        return False
    finally:
        upload.seek(0)


def document_name_clean(name: str, extensions: tuple[str, ...]) -> str:
    """A safe display name: no path or control characters, the extension of the real content."""
    name = os.path.basename((name or "").replace("\\", "/"))
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip(" .")
    stem, suffix = os.path.splitext(name)
    if suffix.lower() not in extensions:
        stem, suffix = name, extensions[0]
    stem = stem[: MAX_NAME_LENGTH - len(suffix)] or "document"
    return f"{stem}{suffix}"


def _file_too_large() -> ApplicationError:
    limit = settings.DOCUMENT_MAX_BYTES // (1024 * 1024)
    return ApplicationError(
        f"The file is larger than {limit} MB.",
        code="file_too_large",
        status_code=413,
        extra={"file": [f"Upload a file of at most {limit} MB."]},
    )


def document_size_check(size: int | None) -> None:
    """Refuse an upload larger than settings.DOCUMENT_MAX_BYTES (413, code file_too_large)."""
    if size is not None and size > settings.DOCUMENT_MAX_BYTES:
        raise _file_too_large()


@transaction.atomic
def vehicle_document_upload(
    *, vehicle: Vehicle, upload, actor, kind: str = VehicleDocument.Kind.REGISTRATION
) -> VehicleDocument:
    """Store a PDF, JPEG or PNG (recognised by content) encrypted, as a document of the vehicle."""
    document_size_check(upload.size)
    upload.seek(0)
    detected = document_type_detect(upload.read(_HEAD_BYTES))
    upload.seek(0)
    if detected is None:
        raise ApplicationError(
            "Only PDF, JPEG and PNG files are accepted.",
            code="invalid_file_type",
            extra={"file": ["Upload a PDF, JPEG or PNG file."]},
        )
    content_type, extensions = detected
    if not document_parses(upload, content_type):
        raise ApplicationError(
            "The file is damaged or not really a PDF, JPEG or PNG.",
            code="invalid_file",
            extra={"file": ["Upload a complete, readable PDF, JPEG or PNG file."]},
        )
    stored = StoredFile(
        original_name=document_name_clean(upload.name, extensions),
        content_type=content_type,
        size=upload.size,
    )
    # The encrypted storage gives the file a random name; the original one is encrypted above.
    stored.file.save("document", upload, save=False)
    name = stored.file.name
    try:
        stored.save()
        document = VehicleDocument.objects.create(
            vehicle=vehicle, kind=kind, file=stored, uploaded_by=actor
        )
    except BaseException:
        stored.file.storage.delete(name)
        raise
    return document


@transaction.atomic
def vehicle_document_delete(*, document: VehicleDocument) -> None:
    """Delete a document, its stored-file row and, once committed, the encrypted file on disk."""
    stored = document.file
    storage, name = stored.file.storage, stored.file.name
    document.delete()
    stored.delete()
    transaction.on_commit(lambda: storage.delete(name))
