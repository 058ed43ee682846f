"""Garage API: catalogue."""

urlpatterns = []
