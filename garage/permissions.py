"""Who may use the garage API. Object scope (own records, assigned orders) lives in selectors."""

from accounts.models import Role

EVERYONE = frozenset(Role.values)
STAFF = frozenset({Role.SUPER_ADMIN, Role.TECHNICIAN})
SUPER_ADMIN = frozenset({Role.SUPER_ADMIN})
CUSTOMER_OR_ADMIN = frozenset({Role.CUSTOMER, Role.SUPER_ADMIN})


class RolesByAction:
    """Per-action roles for a ViewSet: `allowed_roles` follows the action being served.

    Declare `roles_by_action = {"list": EVERYONE, "create": SUPER_ADMIN, ...}` and
    `allowed_roles = EVERYONE` as the union; actions not listed admit super-admins only.
    """

    roles_by_action: dict = {}

    def get_permissions(self):
        action = getattr(self, "action", None)
        self.allowed_roles = self.roles_by_action.get(action, SUPER_ADMIN)
        return super().get_permissions()
