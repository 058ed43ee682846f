"""The report of an incident for the authority (INPDP): JSON and PDF, with no one's identity.

What happened, when, which categories of data, how many people, what was done about it. People
are counted, never named: the list of who was affected stays in the application.
"""

from django.conf import settings
from django.utils import timezone
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from incidents.categories import category_label
from incidents.models import Incident, IncidentEvent
from incidents.selectors import incident_affected
from invoices.pdf import ENCODING, printable

MEASURE_LABELS = {
    IncidentEvent.Kind.SESSIONS_REVOKED: "Sessions révoquées",
    IncidentEvent.Kind.ACCOUNTS_DISABLED: "Comptes désactivés",
    IncidentEvent.Kind.PASSWORD_CHANGE_FORCED: "Changement de mot de passe imposé",
    IncidentEvent.Kind.KEYS_ROTATED: "Clés de chiffrement renouvelées",
    IncidentEvent.Kind.NETWORK_BLOCKED: "Réseau bloqué",
    IncidentEvent.Kind.PEOPLE_NOTIFIED: "Personnes concernées notifiées",
}


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _measure_summary(event: IncidentEvent) -> str:
    details = event.details
    if event.kind == IncidentEvent.Kind.NETWORK_BLOCKED:
        return f"{details.get('network')} jusqu'au {details.get('expires_at', '')[:16]}"
    if event.kind == IncidentEvent.Kind.KEYS_ROTATED:
        return f"{details.get('values_rewritten', 0)} valeurs rechiffrées"
    if details.get("everyone"):
        return f"tous les comptes ({details.get('count', 0)})"
    return f"{details.get('count', 0)} personne(s)"


def report_data(*, incident: Incident) -> dict:
    """The report's content: only dates, categories, counts and measures."""
    people = incident_affected(incident=incident)
    events = list(incident.events.order_by("created_at", "id"))
    alerts = list(incident.alerts.order_by("first_seen"))
    detected = min([a.first_seen for a in alerts], default=incident.created_at)
    measures = [
        {
            "at": e.created_at.isoformat(),
            "kind": e.kind,
            "label": MEASURE_LABELS[e.kind],
            "summary": _measure_summary(e),
        }
        for e in events
        if e.kind in IncidentEvent.MEASURES
    ]
    return {
        "reference": incident.reference,
        "controller": settings.INCIDENT_CONTROLLER,
        "contact": settings.INCIDENT_CONTACT,
        "generated_at": timezone.now().isoformat(),
        "status": incident.status,
        "severity": incident.severity,
        "nature": {"title": incident.title, "description": incident.description},
        "when": {
            "occurred_from": _iso(incident.occurred_from),
            "occurred_to": _iso(incident.occurred_to),
            "detected_at": _iso(detected),
            "opened_at": _iso(incident.created_at),
            "contained_at": _iso(incident.contained_at),
            "closed_at": _iso(incident.closed_at),
        },
        "data_categories": sorted({c for person in people.values() for c in person.categories}),
        "people_affected": {
            "total": len(people),
            "with_account": sum(1 for p in people.values() if p.user_id),
            "without_account": sum(1 for p in people.values() if not p.user_id),
        },
        "people_notified": sum(
            e.details.get("count", 0)
            for e in events
            if e.kind == IncidentEvent.Kind.PEOPLE_NOTIFIED
        ),
        "measures": measures,
        "alerts": [
            {
                "id": a.pk,
                "detector": a.detector,
                "severity": a.severity,
                "first_seen": a.first_seen.isoformat(),
                "occurrences": a.occurrences,
            }
            for a in alerts
        ],
    }


class _ReportPDF(FPDF):
    def __init__(self, reference: str):
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.core_fonts_encoding = ENCODING
        self.reference = reference
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(auto=True, margin=18)
        self.alias_nb_pages()

    def footer(self):
        self.set_y(-13)
        self.set_font("Helvetica", size=8)
        self.cell(0, 5, printable(f"{self.reference} - page {self.page_no()}/{{nb}}"), align="C")

    def line_of(self, text, *, size=10, style="", height=5.2):
        self.set_font("Helvetica", style=style, size=size)
        self.multi_cell(0, height, printable(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def section(self, title: str):
        self.ln(3)
        self.line_of(title, size=12, style="B", height=7)


def report_pdf(data: dict) -> bytes:
    """The report as a PDF (French, built-in font)."""
    pdf = _ReportPDF(data["reference"])
    pdf.add_page()
    pdf.line_of("Notification d'une violation de données à caractère personnel", size=14, style="B")
    pdf.line_of("Instance Nationale de Protection des Données Personnelles (INPDP)", size=11)
    pdf.line_of(f"Reference : {data['reference']}  -  établi le {data['generated_at'][:16]}")
    pdf.line_of(f"Responsable du traitement : {data['controller']}")
    if data["contact"]:
        pdf.line_of(f"Contact : {data['contact']}")

    pdf.section("1. Nature de la violation")
    pdf.line_of(data["nature"]["title"], style="B")
    if data["nature"]["description"]:
        pdf.line_of(data["nature"]["description"])
    pdf.line_of(f"Gravité : {data['severity']}  -  statut : {data['status']}")

    pdf.section("2. Dates")
    when = data["when"]
    labels = {
        "occurred_from": "Début (estimé)",
        "occurred_to": "Fin (estimée)",
        "detected_at": "Détection",
        "opened_at": "Ouverture de l'incident",
        "contained_at": "Confinement",
        "closed_at": "Clôture",
    }
    for key, label in labels.items():
        pdf.line_of(f"{label} : {(when[key] or 'en cours')[:16].replace('T', ' ')}")

    pdf.section("3. Catégories de données concernées")
    for category in data["data_categories"]:
        pdf.line_of(f"- {category_label(category)}")
    if not data["data_categories"]:
        pdf.line_of("Aucune donnée personnelle consultée.")

    pdf.section("4. Personnes concernées")
    affected = data["people_affected"]
    pdf.line_of(
        f"Nombre : {affected['total']} (dont {affected['with_account']} avec un compte client, "
        f"{affected['without_account']} sans compte)"
    )
    pdf.line_of(f"Personnes notifiées : {data['people_notified']}")

    pdf.section("5. Mesures prises")
    for measure in data["measures"] or []:
        at = measure["at"][:16].replace("T", " ")
        pdf.line_of(f"- {at} : {measure['label']} ({measure['summary']})")
    if not data["measures"]:
        pdf.line_of("Aucune mesure enregistrée à ce jour.")

    pdf.section("6. Alertes de détection")
    for alert in data["alerts"]:
        seen = alert["first_seen"][:16].replace("T", " ")
        pdf.line_of(
            f"- alerte {alert['id']} : {alert['detector']} ({alert['severity']}), "
            f"{alert['occurrences']} occurrence(s), vue le {seen}"
        )
    if not data["alerts"]:
        pdf.line_of("Incident ouvert manuellement.")
    return bytes(pdf.output())
