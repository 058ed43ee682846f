"""Garage API: vehicles."""

urlpatterns = []
