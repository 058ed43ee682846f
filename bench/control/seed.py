"""Fill the control app's database with bench/dataset.py's rows (run by bench/bench_http.py)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "control.settings")

import django

django.setup()

import dataset  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402

from control import models  # noqa: E402


def main(username: str, password: str) -> None:
    rows = dataset.build()
    User.objects.create_superuser(username=username, password=password)
    customers = [models.Customer.objects.create(**values) for values in rows["customers"]]
    vehicles = []
    for values in rows["vehicles"]:
        values = dict(values)
        readings = values.pop("readings")
        vehicle = models.Vehicle.objects.create(
            **{**values, "customer": customers[values["customer"]]}
        )
        for reading in readings:
            models.OdometerReading.objects.create(vehicle=vehicle, **reading)
        vehicles.append(vehicle)
    services = [
        models.Service.objects.create(code=code, name=name, labour_price=price)
        for code, name, price in dataset.SERVICES
    ]
    parts = [
        models.Part.objects.create(sku=sku, name=name, unit_price=price, stock=100)
        for sku, name, price in dataset.PARTS
    ]
    for values in rows["orders"]:
        order = models.ServiceOrder.objects.create(
            customer=customers[values["customer"]],
            vehicle=vehicles[values["vehicle"]],
            status=values["status"],
            complaint=values["complaint"],
            odometer_in=values["odometer_in"],
        )
        for line in values["labour"]:
            models.LabourLine.objects.create(
                order=order,
                service=services[line["service"]],
                description=services[line["service"]].name,
                hours=line["hours"],
                unit_price=line["price"],
                tva_rate="19.00",
            )
        for line in values["parts"]:
            models.PartLine.objects.create(
                order=order,
                part=parts[line["part"]],
                quantity=line["quantity"],
                unit_price=line["price"],
                tva_rate="19.00",
            )


if __name__ == "__main__":
    main(*sys.argv[1:3])
