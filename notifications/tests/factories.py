"""Contexts and enqueued notifications for the tests, made through the service."""

import itertools

from django.db import transaction

from notifications.services import notification_enqueue

_keys = itertools.count(1)


def breach_context(**overrides) -> dict:
    return {
        "incident_reference": "INC-2026-0042",
        "occurred_from": "2026-11-20",
        "occurred_to": "2026-11-22",
        "data_categories": ["Coordonnées", "Immatriculation du véhicule"],
        "measures": ["Toutes les sessions ont été fermées", "Mots de passe réinitialisés"],
        "recommended_actions": ["Changez votre mot de passe", "Méfiez-vous des appels suspects"],
        "contact": "Délégué à la protection des données, 71 000 111",
        **overrides,
    }


def appointment_context(**overrides) -> dict:
    return {
        "appointment_reference": "RDV-0815",
        "start": "2026-11-25T10:30:00+01:00",
        "vehicle": "Peugeot 208 (123 TU 4567)",
        "services": ["Vidange", "Contrôle des freins"],
        "garage_address": "12 rue de Marseille, Tunis",
        "contact": "71 000 222",
        **overrides,
    }


def reminder_context(**overrides) -> dict:
    return {
        "vehicle": "Renault Clio (200 TU 1234)",
        "due_date": "2027-01-15",
        "due_km": 60000,
        "contact": "71 000 333",
        **overrides,
    }


def enqueue(**overrides):
    """Enqueue (and, outside a test transaction, commit) one notification; defaults: an e-mail."""
    values = {
        "template": "breach_notice",
        "language": "fr",
        "channel": "email",
        "address": "amel.bensalah@example.tn",
        "context": breach_context(),
        "recipient_ref": "user:1",
        "dedupe_key": f"test:{next(_keys)}",
        **overrides,
    }
    with transaction.atomic():
        return notification_enqueue(**values)
