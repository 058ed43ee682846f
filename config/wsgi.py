"""WSGI entry point (gunicorn): production settings unless told otherwise."""

import os

from django.core.wsgi import get_wsgi_application
from django.urls import resolve

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

application = get_wsgi_application()
# Import the URLconf, and with it every view module and the PDF fonts, while the worker starts:
# Django would do it during the worker's first request, which then took about a second.
resolve("/api/health/")
