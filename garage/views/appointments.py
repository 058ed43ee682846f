"""Garage API: appointments."""

urlpatterns = []
