"""The admin site of the project: staff sign in with a password and a second factor."""

from django.contrib.admin.apps import AdminConfig


class OTPAdminConfig(AdminConfig):
    default_site = "accounts.admin_site.AdminSite"
