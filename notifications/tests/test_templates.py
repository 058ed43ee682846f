"""Every template renders in French, Arabic and English with what the person needs to know."""

import pytest

from notifications.catalogue import TEMPLATES
from notifications.rendering import render_message
from notifications.tests.factories import appointment_context, breach_context, reminder_context

CONTEXTS = {
    "breach_notice": breach_context(),
    "appointment_confirmation": appointment_context(),
    "service_reminder": reminder_context(),
}

# Words of each language's text, and how each formats 2026-11-20 / 2027-01-15 / 2026-11-25.
GREETING = {
    "breach_notice": {"fr": "Madame, Monsieur,", "ar": "السيدة الكريمة", "en": "Dear customer,"},
    "appointment_confirmation": {"fr": "Bonjour,", "ar": "مرحبًا،", "en": "Hello,"},
    "service_reminder": {"fr": "Bonjour,", "ar": "مرحبًا،", "en": "Hello,"},
}
DATES = {
    "breach_notice": {
        "fr": ["20 novembre 2026", "22 novembre 2026"],
        "ar": ["20 نوفمبر 2026", "22 نوفمبر 2026"],
        "en": ["20 November 2026", "22 November 2026"],
    },
    "appointment_confirmation": {
        "fr": ["mercredi 25 novembre 2026", "10:30"],
        "ar": ["الأربعاء 25 نوفمبر 2026", "10:30"],
        "en": ["Wednesday 25 November 2026", "10:30"],
    },
    "service_reminder": {
        "fr": ["15 janvier 2027", "60000 km"],
        "ar": ["15 جانفي 2027", "60000 كم"],
        "en": ["15 January 2027", "60000 km"],
    },
}
SECTIONS = {
    "fr": ["Données concernées", "Mesures prises par le garage", "Ce que nous vous recommandons"],
    "ar": ["المعطيات المعنية", "الإجراءات التي اتخذها المرآب", "ما ننصحكم بالقيام به"],
    "en": ["Data concerned", "What the garage has done", "What we recommend you do"],
}


def test_the_catalogue_is_the_three_templates():
    assert set(TEMPLATES) == set(CONTEXTS)


DATE_KEYS = {"occurred_from", "occurred_to", "start", "due_date"}


def text_values(context: dict) -> list[str]:
    """The context's strings, list items included (dates are checked formatted, in DATES)."""
    values = []
    for key, value in context.items():
        if isinstance(value, list):
            values += value
        elif isinstance(value, str) and key not in DATE_KEYS:
            values.append(value)
    return values


@pytest.mark.parametrize("language", ["fr", "ar", "en"])
@pytest.mark.parametrize("template", sorted(CONTEXTS))
def test_each_template_renders_in_each_language(template, language):
    context = CONTEXTS[template]

    message = render_message(template=template, language=language, context=context)

    assert message.subject and "\n" not in message.subject
    assert message.text.startswith(GREETING[template][language])
    for value in text_values(context):
        assert value in message.text
    for formatted in DATES[template][language]:
        assert formatted in message.text
    assert context["contact"] in message.sms
    assert "\n" not in message.sms
    assert f'lang="{language}"' in message.html
    assert f'dir="{"rtl" if language == "ar" else "ltr"}"' in message.html
    other_greetings = [g for lang, g in GREETING[template].items() if lang != language]
    assert not any(greeting in message.text for greeting in other_greetings)


@pytest.mark.parametrize("language", ["fr", "ar", "en"])
def test_a_breach_notice_says_what_happened_what_data_what_was_done_and_what_to_do(language):
    message = render_message(template="breach_notice", language=language, context=breach_context())

    text = message.text
    positions = [text.index(heading) for heading in SECTIONS[language]]
    assert positions == sorted(positions)
    assert "INC-2026-0042" in message.subject
    assert "INC-2026-0042" in text.split(SECTIONS[language][0])[0]  # what happened comes first
    for category in breach_context()["data_categories"]:
        assert category in message.sms
    for heading, items in zip(
        SECTIONS[language], ["data_categories", "measures", "recommended_actions"], strict=True
    ):
        section = text.split(heading)[1]
        for item in breach_context()[items]:
            assert f"- {item}" in section


def test_a_reminder_without_a_kilometre_reading_leaves_it_out():
    message = render_message(
        template="service_reminder", language="fr", context=reminder_context(due_km=None)
    )

    assert "km" not in message.text
    assert "km" not in message.sms


def test_values_are_escaped_in_html_only_and_never_break_the_subject():
    context = breach_context(
        incident_reference="INC-1\nBcc: intruder@example.com",
        contact="<b>DPO</b> & co",
    )

    message = render_message(template="breach_notice", language="en", context=context)

    assert "\n" not in message.subject
    assert "INC-1 Bcc: intruder@example.com" in message.subject
    assert "<b>DPO</b> & co" in message.text
    assert "&lt;b&gt;DPO&lt;/b&gt; &amp; co" in message.html
    assert "<b>DPO</b>" not in message.html
