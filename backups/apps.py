from django.apps import AppConfig


class BackupsConfig(AppConfig):
    name = "backups"
    verbose_name = "Backups and recovery"

    def ready(self):
        from django.conf import settings

        from backups import checks  # noqa: F401 - system checks
        from config.residency import register_destination

        register_destination("BACKUP_SFTP_HOST", lambda: settings.BACKUP_SFTP_HOST)
