"""The invoicing API (mounted under /api/)."""

from invoices.views import urlpatterns

__all__ = ["urlpatterns"]
