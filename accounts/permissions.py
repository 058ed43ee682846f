"""Role-based access, deny by default: every API view declares `allowed_roles`.

A view without the declaration admits nobody (and a test walking the URL configuration fails).
`PUBLIC` is the explicit declaration for the few views anyone may call (login, health, schema).
"""

from django.conf import settings
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

from accounts.models import Role
from accounts.tokens import token_has_mfa

PUBLIC = frozenset({"__public__"})
ALL_ROLES = frozenset(Role.values)
STAFF = frozenset({Role.SUPER_ADMIN, Role.TECHNICIAN})
SUPER_ADMIN = frozenset({Role.SUPER_ADMIN})
CUSTOMER = frozenset({Role.CUSTOMER})


class PasswordChangeRequired(PermissionDenied):
    """The account must change its password (incident containment) before anything else."""

    default_detail = "Change your password first (POST /api/password/change/)."
    default_code = "password_change_required"


def _lacks_required_mfa(request) -> bool:
    """A staff member's token did not pass a second factor, while the policy requires one."""
    return (
        settings.STAFF_MFA_REQUIRED
        and request.user.is_staff_role
        and not token_has_mfa(request.auth)
    )


def declared_roles(view) -> frozenset | None:
    """The roles a view admits, or None when it declares nothing."""
    return getattr(view, "allowed_roles", None)


class RolePermission(BasePermission):
    """Admit a request only when the view declares the caller's role (or is PUBLIC)."""

    message = "Your role does not allow this action."

    def has_permission(self, request, view):
        roles = declared_roles(view)
        if roles is None:
            return False
        if roles is PUBLIC:
            return True
        user = request.user
        if not (user and user.is_authenticated and user.role in roles):
            return False
        if user.password_change_required and not getattr(view, "password_change_view", False):
            raise PasswordChangeRequired()
        # Staff signed in without a second factor may only enrol one (views that allow it).
        if not getattr(view, "allow_without_mfa", False) and _lacks_required_mfa(request):
            raise PermissionDenied(
                "Enrol an authenticator (/api/mfa/totp/), then sign in again with a code.",
                code="mfa_enrolment_required",
            )
        return True

    def has_object_permission(self, request, view, obj):
        return self.has_permission(request, view)
