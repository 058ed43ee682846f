from django.db import migrations

NOTICE = """ECAR — Notice d'information sur les données personnelles (version 1)

Le garage ECAR traite vos données (identité, coordonnées, véhicules, rendez-vous, ordres de
réparation, factures) pour gérer l'entretien de vos véhicules, conformément à la loi organique
n° 2004-63 du 27 juillet 2004. Les données sont hébergées en Tunisie et chiffrées.
Vous pouvez à tout moment obtenir une copie de vos données (GET /api/download_user_data/),
demander leur effacement (POST /api/delete_user_data/), retirer votre consentement
(POST /api/me/consents/) et savoir qui a consulté vos données (GET /api/me/access-log/).
Les factures sont conservées 10 ans, comme la loi l'exige.

ECAR privacy notice (version 1): the garage processes your identity, contact details, vehicles,
appointments, service orders and invoices to service your vehicles, under Organic Law 2004-63.
Data is hosted in Tunisia and encrypted. You may export or erase your data, withdraw consent and
see who read your data at any time through the API. Invoices are kept 10 years, as the law requires.
"""


def publish(apps, schema_editor):
    PrivacyNotice = apps.get_model("privacy", "PrivacyNotice")
    PrivacyNotice.objects.get_or_create(version="1", defaults={"text": NOTICE})


def unpublish(apps, schema_editor):
    apps.get_model("privacy", "PrivacyNotice").objects.filter(version="1").delete()


class Migration(migrations.Migration):
    dependencies = [("privacy", "0003_consent_notice_ledger")]

    operations = [migrations.RunPython(publish, unpublish)]
