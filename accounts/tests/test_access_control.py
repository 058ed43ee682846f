"""Deny by default: every API view declares its roles and is guarded by RolePermission."""

import pytest
from django.urls import URLResolver, get_resolver, include, path
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from accounts.models import Role
from accounts.permissions import (
    ALL_ROLES,
    CUSTOMER,
    PUBLIC,
    STAFF,
    SUPER_ADMIN,
    RolePermission,
)
from config import urls as project_urls
from config.views import api_not_found

# Plain Django views allowed under /api/ (they bypass DRF, so each one is reviewed here).
PLAIN_API_VIEWS = {api_not_found}
REVIEWED_PUBLIC_ROUTES = {
    "api/login/",
    "api/login/mfa/",
    "api/token/refresh/",
    "api/logout/",
    "api/token/logout/",
    "api/health/",
    "api/schema/",
    "api/docs/",
    "api/privacy-notice/",
    "api/csp-report/",  # browsers post violation reports without credentials
}


def iter_routes(patterns, prefix=""):
    """(route, callback) for every URL pattern, walking included resolvers recursively."""
    for pattern in patterns:
        route = prefix + str(pattern.pattern).lstrip("^").rstrip("$")
        if isinstance(pattern, URLResolver):
            yield from iter_routes(pattern.url_patterns, route)
        else:
            yield route, pattern.callback


def view_class_of(callback):
    return getattr(callback, "cls", None) or getattr(callback, "view_class", None)


def access_problems(patterns) -> list[str]:
    """Every API route that does not declare its roles or is not guarded by RolePermission."""
    problems = []
    for route, callback in iter_routes(patterns):
        if not route.startswith("api/"):
            continue
        view_class = view_class_of(callback)
        if view_class is None or not issubclass(view_class, APIView):
            if callback not in PLAIN_API_VIEWS:
                problems.append(f"{route}: not a DRF view, so RolePermission never runs")
            continue
        # as_view(**initkwargs) and a viewset's @action(...) arguments override the class.
        overrides = getattr(callback, "initkwargs", None) or {}
        allowed_roles = overrides.get("allowed_roles", getattr(view_class, "allowed_roles", None))
        permissions = overrides.get("permission_classes", view_class.permission_classes)
        if allowed_roles is None:
            problems.append(f"{route}: {view_class.__name__} declares no allowed_roles")
        if not any(
            isinstance(permission, type) and issubclass(permission, RolePermission)
            for permission in permissions
        ):
            problems.append(f"{route}: {view_class.__name__} is not guarded by RolePermission")
    return problems


def api_views(patterns) -> dict:
    return {
        route: view_class_of(callback)
        for route, callback in iter_routes(patterns)
        if route.startswith("api/") and view_class_of(callback) is not None
    }


# --- Test-only views (this module doubles as a URL configuration) -------------------------------


class NoRolesApi(APIView):
    """Forgot to declare allowed_roles."""

    def get(self, request):
        return Response({"ok": True})


class CustomerOnlyApi(APIView):
    allowed_roles = CUSTOMER

    def get(self, request):
        return Response({"ok": True})


class StaffOnlyApi(APIView):
    allowed_roles = STAFF

    def get(self, request):
        return Response({"ok": True})


class SuperAdminOnlyApi(APIView):
    allowed_roles = SUPER_ADMIN

    def get(self, request):
        return Response({"ok": True})


class LookalikePublicApi(APIView):
    """Declares a set equal to PUBLIC but not PUBLIC itself: must not be public."""

    allowed_roles = frozenset({"__public__"})

    def get(self, request):
        return Response({"ok": True})


urlpatterns = [
    path("api/test/no-roles/", NoRolesApi.as_view()),
    path("api/test/customer-only/", CustomerOnlyApi.as_view()),
    path("api/test/staff-only/", StaffOnlyApi.as_view()),
    path("api/test/super-admin-only/", SuperAdminOnlyApi.as_view()),
    path("api/test/lookalike-public/", LookalikePublicApi.as_view()),
    *project_urls.urlpatterns,
]


# --- The URL configuration walk -----------------------------------------------------------------


def test_every_api_view_declares_roles_and_is_guarded():
    patterns = get_resolver().url_patterns

    assert access_problems(patterns) == []
    # The walk really reached the views (an empty walk would pass vacuously).
    assert {
        "api/login/",
        "api/token/refresh/",
        "api/logout/",
        "api/password/change/",
        "api/protected/",
        "api/me/",
        "api/health/",
        "api/schema/",
        "api/docs/",
    } <= set(api_views(patterns))


def test_public_api_views_are_exactly_the_reviewed_ones():
    public = {
        route
        for route, view_class in api_views(get_resolver().url_patterns).items()
        if getattr(view_class, "allowed_roles", None) is PUBLIC
    }

    assert public == REVIEWED_PUBLIC_ROUTES


class BogusNoRolesApi(APIView):
    def get(self, request):
        return Response()


class BogusNoneRolesApi(APIView):
    allowed_roles = None

    def get(self, request):
        return Response()


class BogusAllowAnyApi(APIView):
    allowed_roles = ALL_ROLES
    permission_classes = [AllowAny]

    def get(self, request):
        return Response()


class GoodApi(APIView):
    allowed_roles = ALL_ROLES

    def get(self, request):
        return Response()


def plain_view(request):
    return None


def test_the_walk_flags_views_without_roles_or_role_permission():
    patterns = [
        path(
            "api/",
            include(
                [
                    path("good/", GoodApi.as_view()),
                    path("v1/", include([path("no-roles/", BogusNoRolesApi.as_view())])),
                    path("none-roles/", BogusNoneRolesApi.as_view()),
                    path("allow-any/", BogusAllowAnyApi.as_view()),
                    path("plain/", plain_view),
                    path("overridden/", GoodApi.as_view(permission_classes=[AllowAny])),
                    path("roles-removed/", GoodApi.as_view(allowed_roles=None)),
                ]
            ),
        ),
        path("elsewhere/", BogusNoRolesApi.as_view()),
    ]

    problems = access_problems(patterns)

    assert problems == [
        "api/v1/no-roles/: BogusNoRolesApi declares no allowed_roles",
        "api/none-roles/: BogusNoneRolesApi declares no allowed_roles",
        "api/allow-any/: BogusAllowAnyApi is not guarded by RolePermission",
        "api/plain/: not a DRF view, so RolePermission never runs",
        "api/overridden/: GoodApi is not guarded by RolePermission",
        "api/roles-removed/: GoodApi declares no allowed_roles",
    ]


class ThingViewSet(viewsets.ViewSet):
    allowed_roles = ALL_ROLES

    def list(self, request):
        return Response([])

    @action(detail=False, permission_classes=[AllowAny])
    def export(self, request):
        return Response([])


def test_the_walk_flags_a_router_action_that_drops_role_permission():
    router = SimpleRouter()
    router.register("things", ThingViewSet, basename="thing")

    problems = access_problems([path("api/", include(router.urls))])

    assert problems == ["api/things/export/: ThingViewSet is not guarded by RolePermission"]


def test_the_walk_accepts_the_project_views_when_added_to_a_bogus_list():
    patterns = [path("api/", include("accounts.urls")), path("api/good/", GoodApi.as_view())]

    assert access_problems(patterns) == []
    assert set(api_views(patterns)) >= {"api/login/", "api/good/", "api/protected/"}


# --- RolePermission through the real client -------------------------------------------------


ROLE_FIXTURES = ["customer", "technician", "super_admin"]


@pytest.fixture
def client_as(request, auth_client):
    def make(fixture_name):
        return auth_client(request.getfixturevalue(fixture_name))

    return make


@pytest.mark.django_db
@pytest.mark.urls(__name__)
class TestRolePermission:
    @pytest.mark.parametrize("role", ROLE_FIXTURES)
    def test_a_view_without_allowed_roles_admits_nobody(self, client_as, role):
        response = client_as(role).get("/api/test/no-roles/")

        assert response.status_code == 403
        assert response.json() == {
            "detail": "Your role does not allow this action.",
            "code": "permission_denied",
        }

    def test_a_view_without_allowed_roles_refuses_anonymous_callers(self, api_client):
        response = api_client.get("/api/test/no-roles/")

        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"
        assert response["WWW-Authenticate"].startswith("Bearer")

    @pytest.mark.parametrize(
        ("url", "admitted"),
        [
            ("/api/test/customer-only/", {Role.CUSTOMER}),
            ("/api/test/staff-only/", {Role.TECHNICIAN, Role.SUPER_ADMIN}),
            ("/api/test/super-admin-only/", {Role.SUPER_ADMIN}),
        ],
    )
    @pytest.mark.parametrize("role", ROLE_FIXTURES)
    def test_role_matrix_of_test_views(self, client_as, role, url, admitted):
        response = client_as(role).get(url)

        assert response.status_code == (200 if role in admitted else 403), response.content

    @pytest.mark.parametrize(
        "url", ["/api/test/customer-only/", "/api/test/staff-only/", "/api/test/super-admin-only/"]
    )
    def test_role_restricted_views_refuse_anonymous_callers(self, api_client, url):
        assert api_client.get(url).status_code == 401

    def test_only_the_public_sentinel_itself_makes_a_view_public(self, api_client, client_as):
        assert api_client.get("/api/test/lookalike-public/").status_code == 401
        assert client_as("super_admin").get("/api/test/lookalike-public/").status_code == 403


@pytest.mark.django_db
class TestProjectEndpoints:
    @pytest.mark.parametrize("role", ROLE_FIXTURES)
    def test_protected_admits_every_role(self, client_as, role, request):
        user = request.getfixturevalue(role)

        response = client_as(role).get("/api/protected/")

        assert response.status_code == 200
        assert response.json() == {"id": user.pk, "username": user.username, "role": user.role}

    def test_protected_refuses_anonymous_callers(self, api_client):
        response = api_client.get("/api/protected/")

        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"

    def test_protected_refuses_a_garbage_token(self, api_client):
        api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")

        assert api_client.get("/api/protected/").status_code == 401

    def test_password_change_refuses_anonymous_callers(self, api_client, customer, password):
        response = api_client.post(
            "/api/password/change/",
            {"current_password": password, "new_password": "Another#Garage2027"},
        )

        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"
        customer.refresh_from_db()
        assert customer.check_password(password)

    def test_me_refuses_anonymous_callers(self, api_client):
        assert api_client.get("/api/me/").status_code == 401
        assert api_client.patch("/api/me/", {"full_name": "X"}).status_code == 401


# --- Admin allow-list (by resolved client IP) ---------------------------------------------------


@pytest.mark.django_db
class TestAdminAllowList:
    @pytest.mark.parametrize("url", ["/admin/", "/admin/login/", "/admin/accounts/user/"])
    def test_admin_is_refused_outside_the_allowed_networks(self, client, url):
        response = client.get(url, REMOTE_ADDR="203.0.113.5")

        assert response.status_code == 403

    def test_admin_without_trailing_slash_ends_refused(self, client):
        response = client.get("/admin", REMOTE_ADDR="203.0.113.5", follow=True)

        assert response.status_code == 403

    def test_admin_login_page_is_served_to_an_allowed_network(self, client):
        response = client.get("/admin/login/", REMOTE_ADDR="127.0.0.1")

        assert response.status_code == 200
        assert b"otp_device" in response.content or b"otp_token" in response.content

    def test_spoofed_forwarded_for_from_an_untrusted_peer_does_not_open_the_admin(
        self, client, settings
    ):
        settings.TRUSTED_PROXIES = ["10.0.0.0/8"]

        response = client.get(
            "/admin/login/", REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="127.0.0.1"
        )

        assert response.status_code == 403

    def test_a_prepended_fake_hop_behind_the_proxy_does_not_open_the_admin(self, client, settings):
        settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
        settings.ADMIN_ALLOWED_NETWORKS = ["192.168.1.0/24"]

        response = client.get(
            "/admin/login/",
            REMOTE_ADDR="10.0.0.5",
            HTTP_X_FORWARDED_FOR="192.168.1.20, 203.0.113.5",
        )

        assert response.status_code == 403

    def test_an_allowed_client_behind_the_trusted_proxy_reaches_the_admin(self, client, settings):
        settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
        settings.ADMIN_ALLOWED_NETWORKS = ["192.168.1.0/24"]

        response = client.get(
            "/admin/login/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="192.168.1.20"
        )

        assert response.status_code == 200
