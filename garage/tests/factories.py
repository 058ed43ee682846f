"""factory_boy factories for garage records (helpers for tests of every garage area)."""

from decimal import Decimal

import factory

from accounts.models import Role
from accounts.services import user_create
from garage import models


def customer_user(username: str, password: str = "Garage#Pass2026"):
    """A customer-role user with an attached Customer record."""
    user = user_create(username=username, password=password, role=Role.CUSTOMER)
    CustomerFactory(user=user)
    return user


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Customer

    full_name = factory.Sequence(lambda n: f"Client Test{n}")
    phone = factory.Sequence(lambda n: f"+2162{n:07d}")
    email = factory.Sequence(lambda n: f"client{n}@example.tn")
    national_id = factory.Sequence(lambda n: f"{10000000 + n}")
    address = "12 rue de Marseille, 1001 Tunis"


class VehicleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Vehicle

    customer = factory.SubFactory(CustomerFactory)
    plate = factory.Sequence(lambda n: f"{100 + n % 900} TU {1000 + n}")
    vin = factory.Sequence(lambda n: f"VF1AB000{n:09d}")
    make = "Renault"
    model = "Clio"
    year = 2019
    fuel = models.Vehicle.Fuel.DIESEL


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Service

    code = factory.Sequence(lambda n: f"SRV{n:03d}")
    name = factory.Sequence(lambda n: f"Service {n}")
    labour_price = Decimal("45.000")
    estimated_minutes = 60
    tva_rate = Decimal("19.00")


class PartFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Part

    sku = factory.Sequence(lambda n: f"PRT-{n:05d}")
    name = factory.Sequence(lambda n: f"Part {n}")
    unit_price = Decimal("12.500")
    stock = 10
    reorder_level = 2
