"""The messages the outbox can send: each template's context keys and their types."""

from dataclasses import dataclass
from datetime import date, datetime

STR = "str"
STR_LIST = "list[str]"
DATE = "date"
DATETIME = "datetime"
OPTIONAL_INT = "int or null"


@dataclass(frozen=True)
class MessageTemplate:
    """A template name and the context it needs: every key required, none other accepted."""

    name: str
    keys: dict[str, str]


TEMPLATES = {
    template.name: template
    for template in (
        MessageTemplate(
            "breach_notice",
            {
                "incident_reference": STR,
                "occurred_from": DATE,
                "occurred_to": DATE,
                "data_categories": STR_LIST,
                "measures": STR_LIST,
                "recommended_actions": STR_LIST,
                "contact": STR,
            },
        ),
        MessageTemplate(
            "appointment_confirmation",
            {
                "appointment_reference": STR,
                "start": DATETIME,
                "vehicle": STR,
                "services": STR_LIST,
                "garage_address": STR,
                "contact": STR,
            },
        ),
        MessageTemplate(
            "service_reminder",
            {
                "vehicle": STR,
                "due_date": DATE,
                "due_km": OPTIONAL_INT,
                "contact": STR,
            },
        ),
    )
}


def context_problems(template: MessageTemplate, context: dict) -> list[str]:
    """What is wrong with a context for `template` (key names only, never the values)."""
    if not isinstance(context, dict):
        return ["the context must be a JSON object"]
    problems = [f"missing key {key!r}" for key in template.keys if key not in context]
    problems += [f"unexpected key {key!r}" for key in context if key not in template.keys]
    for key, kind in template.keys.items():
        if key in context and not _is_valid(kind, context[key]):
            problems.append(f"{key!r} must be {_DESCRIPTIONS[kind]}")
    return problems


def render_context(template: MessageTemplate, context: dict) -> dict:
    """The template context: ISO dates and times parsed, so templates format them per language."""
    values = dict(context)
    for key, kind in template.keys.items():
        if kind == DATE:
            values[key] = date.fromisoformat(values[key])
        elif kind == DATETIME:
            values[key] = datetime.fromisoformat(values[key])
    return values


_DESCRIPTIONS = {
    STR: "a non-empty string",
    STR_LIST: "a list of non-empty strings",
    DATE: "an ISO date (YYYY-MM-DD)",
    DATETIME: "an ISO date-time with its UTC offset",
    OPTIONAL_INT: "a whole number or null",
}


def _is_valid(kind: str, value) -> bool:
    if kind == STR:
        return isinstance(value, str) and bool(value.strip())
    if kind == STR_LIST:
        return isinstance(value, list) and all(
            isinstance(item, str) and item.strip() for item in value
        )
    if kind == OPTIONAL_INT:
        return value is None or (isinstance(value, int) and not isinstance(value, bool))
    if not isinstance(value, str):
        return False
    try:
        if kind == DATE:
            date.fromisoformat(value)
            return len(value) == 10
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return False
    return parsed.tzinfo is not None
