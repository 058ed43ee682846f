"""Garage API: orders."""

urlpatterns = []
