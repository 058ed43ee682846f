"""Messages rendered from the Django templates under notifications/templates/, per language."""

from dataclasses import dataclass
from pathlib import Path

from django.template import Engine
from django.template.loader import render_to_string
from django.utils import translation

from notifications.catalogue import TEMPLATES, render_context

RIGHT_TO_LEFT = {"ar"}
# Month and day names: Arabic as written in Tunisia (جانفي, فيفري...), Django's Maghreb locale.
DATE_LOCALE = {"ar": "ar-dz"}

# Subjects, text bodies and SMS are plain text: no HTML escaping of "&" or "'" in them.
_text_engine = Engine(dirs=[Path(__file__).resolve().parent / "templates"], autoescape=False)


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    text: str
    html: str
    sms: str


def render_message(*, template: str, language: str, context: dict) -> RenderedMessage:
    """The subject, text and HTML bodies and SMS form of a template in one language."""
    values = render_context(TEMPLATES[template], context)
    folder = f"notifications/{template}/{language}"
    with translation.override(DATE_LOCALE.get(language, language)):
        subject = _one_line(_text_engine.render_to_string(f"{folder}/subject.txt", values))
        text = _text_engine.render_to_string(f"{folder}/body.txt", values).strip() + "\n"
        sms = _one_line(_text_engine.render_to_string(f"{folder}/sms.txt", values))
        html = render_to_string(
            "notifications/email.html",
            {
                "language": language,
                "direction": "rtl" if language in RIGHT_TO_LEFT else "ltr",
                "subject": subject,
                "body": text.strip(),
            },
        )
    return RenderedMessage(subject=subject, text=text, html=html, sms=sms)


def _one_line(text: str) -> str:
    # A header or an SMS is one line: no newline from a context value reaches it.
    return " ".join(text.split())
