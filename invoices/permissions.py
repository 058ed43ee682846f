"""Who may use the invoicing API. Object scope (own invoices) lives in selectors.

Customers read their own issued documents and payments; super-admins do everything; technicians
have no access to the money side at all.
"""

from garage.permissions import CUSTOMER_OR_ADMIN, SUPER_ADMIN, RolesByAction

READERS = CUSTOMER_OR_ADMIN
WRITERS = SUPER_ADMIN

__all__ = ["READERS", "WRITERS", "RolesByAction"]
