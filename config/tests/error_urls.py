"""Test-only URL configuration: the project's URLs plus views that fail unexpectedly."""

from django.db import connection, transaction
from django.urls import path
from rest_framework.views import APIView

from accounts.permissions import PUBLIC
from config import urls as project_urls

# Personal data inside an exception message must never reach the response.
SECRET_MESSAGE = "db row for Sami Ben Salah +21620123456 failed"


class BoomApi(APIView):
    """An API view with a bug."""

    allowed_roles = PUBLIC
    authentication_classes = []

    def get(self, request):
        raise RuntimeError(SECRET_MESSAGE)


def boom_plain(request):
    """A plain Django view under /api/ with a bug."""
    raise RuntimeError(SECRET_MESSAGE)


class CancelledQueryApi(APIView):
    """A query the database server cancels (statement_timeout): the server is up."""

    allowed_roles = PUBLIC
    authentication_classes = []

    def get(self, request):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL statement_timeout = 1")
            cursor.execute("SELECT pg_sleep(1)")


urlpatterns = [
    path("api/test/boom/", BoomApi.as_view()),
    path("api/test/cancelled-query/", CancelledQueryApi.as_view()),
    path("api/test/boom-plain/", boom_plain),
    *project_urls.urlpatterns,
]

handler400 = project_urls.handler400
handler403 = project_urls.handler403
handler404 = project_urls.handler404
handler500 = project_urls.handler500
