"""Test-only URL configuration: the project's URLs plus an API call that changes a User row.

No real endpoint changes an audited User field yet (the password is excluded from the audit).
"""

from datetime import timedelta

from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import ALL_ROLES
from config import urls as project_urls


class UserTouchApi(APIView):
    """Move the caller's date_joined back a day: a harmless change django-auditlog records."""

    allowed_roles = ALL_ROLES

    def post(self, request):
        user = request.user
        user.date_joined -= timedelta(days=1)
        user.save(update_fields=["date_joined"])
        return Response({"id": user.pk})


urlpatterns = [
    path("api/test/user-touch/", UserTouchApi.as_view()),
    *project_urls.urlpatterns,
]

handler400 = project_urls.handler400
handler403 = project_urls.handler403
handler404 = project_urls.handler404
handler500 = project_urls.handler500
