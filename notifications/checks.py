"""System checks: a usable SMS gateway; no development backend writing messages in production."""

from django.conf import settings
from django.core import checks
from django.utils.module_loading import import_string

from notifications.sms import BaseSmsBackend

# Backends that write whole messages (addresses, breach details) to logs, files or memory.
DEVELOPMENT_BACKENDS = {
    "notifications.sms.ConsoleSmsBackend",
    "notifications.sms.FileSmsBackend",
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
}


@checks.register()
def check_notification_backends(app_configs, **kwargs):
    errors = []
    try:
        backend = import_string(settings.SMS_BACKEND)
    except ImportError:
        backend = None
    if not (isinstance(backend, type) and issubclass(backend, BaseSmsBackend)):
        errors.append(
            checks.Error(
                "SMS_BACKEND is not the dotted path of a notifications.sms.BaseSmsBackend.",
                id="notifications.E001",
            )
        )
    if settings.NOTIFICATIONS_MAX_ATTEMPTS < 1:
        errors.append(
            checks.Error("NOTIFICATIONS_MAX_ATTEMPTS must be at least 1.", id="notifications.E002")
        )
    if settings.ENVIRONMENT == "production":
        errors += [
            checks.Error(
                f"{name} is {value}, which writes messages and their addresses in clear.",
                hint="Use the SMTP e-mail backend and a real SMS gateway (or none) in production.",
                id="notifications.E003",
            )
            for name, value in (
                ("EMAIL_BACKEND", settings.EMAIL_BACKEND),
                ("SMS_BACKEND", settings.SMS_BACKEND),
            )
            if value in DEVELOPMENT_BACKENDS
        ]
    return errors
