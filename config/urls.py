from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts.permissions import PUBLIC
from config import views


class SchemaApi(SpectacularAPIView):
    """The OpenAPI 3 schema."""

    allowed_roles = PUBLIC


class DocsApi(SpectacularSwaggerSplitView):
    """Interactive documentation (Swagger UI served from local assets)."""

    allowed_roles = PUBLIC


urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("accounts.urls")),
    path("api/", include("garage.urls")),
    path("api/", include("privacy.urls")),
    path("api/", include("invoices.urls")),
    path("api/", include("incidents.urls")),
    path("api/health/", views.HealthApi.as_view(), name="health"),
    path("api/schema/", SchemaApi.as_view(), name="schema"),
    path("api/docs/", DocsApi.as_view(url_name="schema"), name="docs"),
    path("api/csp-report/", views.CspReportApi.as_view(), name="csp-report"),
    re_path(r"^api/", views.api_not_found),
]

handler400 = views.handler400
handler403 = views.handler403
handler404 = views.handler404
handler500 = views.handler500
