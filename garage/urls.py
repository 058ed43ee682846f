"""The garage API: each area's views module lists its own routes."""

from garage.views import appointments, catalogue, customers, orders, vehicles

urlpatterns = [
    *customers.urlpatterns,
    *vehicles.urlpatterns,
    *catalogue.urlpatterns,
    *appointments.urlpatterns,
    *orders.urlpatterns,
]
