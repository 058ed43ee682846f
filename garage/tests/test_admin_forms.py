"""Admin forms refuse a value a unique blind index already holds (a form error, not a 500)."""

import pytest

from accounts.admin import ProfileForm
from accounts.services import user_create
from garage.admin import VehicleForm
from garage.tests.factories import CustomerFactory, VehicleFactory

pytestmark = pytest.mark.django_db
PASSWORD = "Garage#Pass2026"


def _vehicle_data(customer, **values):
    return {"customer": customer.pk, "make": "Kia", "model": "Rio", "fuel": "petrol", **values}


def test_the_same_plate_in_its_other_spelling_is_refused():
    VehicleFactory(plate="123 TU 4567")
    form = VehicleForm(data=_vehicle_data(CustomerFactory(), plate="123 تونس 4567"))

    assert not form.is_valid()
    assert "plate" in form.errors


def test_a_registered_vin_is_refused_and_a_new_one_accepted():
    VehicleFactory(vin="VF1AB000000000001")
    customer = CustomerFactory()

    taken = VehicleForm(data=_vehicle_data(customer, plate="9 TU 9", vin="vf1ab000000000001"))
    free = VehicleForm(data=_vehicle_data(customer, plate="9 TU 9", vin="VF1AB000000000002"))

    assert "vin" in taken.errors
    assert free.is_valid(), free.errors


def test_editing_a_vehicle_keeps_its_own_plate():
    vehicle = VehicleFactory(plate="55 TU 55")
    form = VehicleForm(data=_vehicle_data(vehicle.customer, plate="55 TU 55"), instance=vehicle)

    assert form.is_valid(), form.errors


def test_an_email_used_by_another_account_is_refused_in_the_profile_form():
    user_create(username="a1", password=PASSWORD, contact={"email": "sami@example.tn"})
    other = user_create(username="a2", password=PASSWORD)

    form = ProfileForm(
        data={"email": " Sami@Example.TN ", "full_name": "S"}, instance=other.profile
    )

    assert not form.is_valid()
    assert form.errors["email"] == ["This e-mail address is already used by another account."]
