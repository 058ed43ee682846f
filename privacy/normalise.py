"""Validation and normal forms of identifiers looked up through blind indexes."""

import re

from django.core.exceptions import ValidationError

_PHONE_NOISE = re.compile(r"[\s.\-()/]")
_E164 = re.compile(r"\+[1-9]\d{7,14}")
_TUNISIA = "+216"


def normalise_email(value: str) -> str:
    """E-mail addresses compare trimmed and lower-cased."""
    return value.strip().lower()


def normalise_phone(value: str) -> str:
    """E.164: Tunisian numbers as +216 and 8 digits; 00-prefixed international numbers as +."""
    digits = _PHONE_NOISE.sub("", value.strip())
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if re.fullmatch(r"\d{8}", digits):
        digits = _TUNISIA + digits
    if not _E164.fullmatch(digits):
        raise ValidationError(
            "Enter a phone number: 8 digits for Tunisia, or +country code and number.",
            code="invalid_phone",
        )
    if digits.startswith(_TUNISIA) and not re.fullmatch(r"\+216[2-9]\d{7}", digits):
        raise ValidationError(
            "A Tunisian number is +216 followed by 8 digits (not starting with 0 or 1).",
            code="invalid_phone",
        )
    return digits


def validate_phone(value: str) -> None:
    """Model/serializer validator: the value must normalise."""
    normalise_phone(value)
