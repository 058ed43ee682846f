"""Running the commands as the timers do, and the people whose data is backed up."""

from io import StringIO

from django.core.management import call_command

from privacy.models import PrivacyNotice


def run(command: str, *args) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def notice():
    # A transactional test starts from a flushed database: the data migration's notice is gone.
    return PrivacyNotice.objects.get_or_create(version="1", defaults={"text": "Notice v1."})[0]
