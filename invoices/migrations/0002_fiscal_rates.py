"""The TVA rates (19, 13, 7 and 0 %) and the stamp duty on invoices (1.000 TND) in force."""

import datetime
from decimal import Decimal

from django.db import migrations

TVA_FROM = datetime.date(2018, 1, 1)
RATES = [
    ("tva", Decimal("19.000"), "TVA taux normal", TVA_FROM),
    ("tva", Decimal("13.000"), "TVA taux intermédiaire", TVA_FROM),
    ("tva", Decimal("7.000"), "TVA taux réduit", TVA_FROM),
    ("tva", Decimal("0.000"), "Exonéré", TVA_FROM),
    ("stamp_duty", Decimal("1.000"), "Droit de timbre sur les factures", datetime.date(2022, 1, 1)),
]


def seed(apps, schema_editor):
    FiscalRate = apps.get_model("invoices", "FiscalRate")
    for kind, value, label, valid_from in RATES:
        FiscalRate.objects.get_or_create(
            kind=kind, value=value, valid_from=valid_from, defaults={"label": label}
        )


def unseed(apps, schema_editor):
    FiscalRate = apps.get_model("invoices", "FiscalRate")
    for kind, value, _label, valid_from in RATES:
        FiscalRate.objects.filter(kind=kind, value=value, valid_from=valid_from).delete()


class Migration(migrations.Migration):
    dependencies = [("invoices", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
