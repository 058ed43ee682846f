"""Tunisian identifiers: validation and the normal form their blind indexes are computed on."""

import re

from django.core.exceptions import ValidationError

_SPACES = re.compile(r"[\s\-_.]+")
# Series, "تونس" (or TU/TUN), number: 123 تونس 4567 ≡ 123 TU 4567.
_STANDARD = re.compile(r"(\d{1,3})(?:TUN|TU|تونس)(\d{1,4})")
# Régime suspensif: RS 123456 (ر ش in Arabic).
_RS = re.compile(r"(?:RS|رش)(\d{1,6})")
# Temporary plates: 12345 ن ت.
_TEMPORARY = re.compile(r"(\d{1,5})(?:نت|NT)")
_VIN = re.compile(r"[A-HJ-NPR-Z0-9]{17}")
_CIN = re.compile(r"\d{8}")
# Matricule fiscal: 7 digits, a check letter, then VAT code, category, establishment number.
_TAX_ID = re.compile(r"\d{7}[A-Z](?:[ABDNP][MPCEN]\d{3})?")


def normalise_plate(value: str) -> str:
    """One spelling per plate: '123 تونس 4567' and '123 tu 4567' both give '123TU4567'."""
    compact = _SPACES.sub("", value.strip()).upper()
    if match := _STANDARD.fullmatch(compact):
        return f"{int(match[1])}TU{int(match[2])}"
    if match := _RS.fullmatch(compact):
        return f"RS{int(match[1])}"
    if match := _TEMPORARY.fullmatch(compact):
        return f"{int(match[1])}NT"
    raise ValidationError(
        "Enter a Tunisian plate: '123 TU 4567' (or تونس), 'RS 123456' or '12345 ن ت'.",
        code="invalid_plate",
    )


def normalise_vin(value: str) -> str:
    """17 characters, letters I, O and Q excluded."""
    vin = _SPACES.sub("", value.strip()).upper()
    if not _VIN.fullmatch(vin):
        raise ValidationError(
            "A VIN has 17 letters and digits, without I, O or Q.", code="invalid_vin"
        )
    return vin


def normalise_cin(value: str) -> str:
    """National identity card number: 8 digits."""
    cin = _SPACES.sub("", value.strip())
    if not _CIN.fullmatch(cin):
        raise ValidationError("A CIN has exactly 8 digits.", code="invalid_cin")
    return cin


def normalise_tax_id(value: str) -> str:
    """Matricule fiscal, e.g. '1234567A/M/A/000' → '1234567AMA000'."""
    tax_id = re.sub(r"[\s/\-.]", "", value.strip()).upper()
    if not _TAX_ID.fullmatch(tax_id):
        raise ValidationError(
            "Enter a matricule fiscal such as 1234567A/A/M/000.", code="invalid_tax_id"
        )
    return tax_id


def validate_plate(value: str) -> None:
    normalise_plate(value)


def validate_vin(value: str) -> None:
    normalise_vin(value)


def validate_cin(value: str) -> None:
    normalise_cin(value)


def validate_tax_id(value: str) -> None:
    normalise_tax_id(value)
