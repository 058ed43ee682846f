"""The admin site of the project: django-otp's site, so staff sign in with a TOTP code."""

from django.contrib.admin.apps import AdminConfig


class OTPAdminConfig(AdminConfig):
    default_site = "django_otp.admin.OTPAdminSite"
