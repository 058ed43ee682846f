"""Garage API: customers."""

urlpatterns = []
