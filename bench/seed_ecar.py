"""Fill ECAR's benchmark database with bench/dataset.py's rows (run by bench/bench_http.py)."""

import os
import sys

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(BENCH), BENCH]

import django  # noqa: E402

django.setup()

import dataset  # noqa: E402

from accounts.models import Role, TOTPDevice  # noqa: E402
from accounts.services import user_create  # noqa: E402
from garage import models  # noqa: E402


def exporter_create(username: str, password: str, orders: int, services, parts) -> None:
    """A customer with `orders` service orders (two lines each), for the export measurement."""
    user = user_create(username=username, password=password, role=Role.CUSTOMER)
    customer = models.Customer.objects.create(user=user, full_name="Client Export", phone=None)
    vehicle = models.Vehicle.objects.create(
        customer=customer, plate="999 TU 9999", make="Renault", model="Clio"
    )
    created = models.ServiceOrder.objects.bulk_create(
        [
            models.ServiceOrder(
                customer=customer,
                vehicle=vehicle,
                status="delivered",
                complaint=f"Entretien {n}: bruit au freinage, voyant moteur allumé",
                odometer_in=20000 + n,
            )
            for n in range(orders)
        ],
        batch_size=500,
    )
    models.LabourLine.objects.bulk_create(
        [
            models.LabourLine(
                order=order,
                service=services[0],
                description=services[0].name,
                hours="1.50",
                unit_price=services[0].labour_price,
                tva_rate="19.00",
            )
            for order in created
        ],
        batch_size=500,
    )
    models.PartLine.objects.bulk_create(
        [
            models.PartLine(
                order=order,
                part=parts[0],
                quantity=1,
                unit_price=parts[0].unit_price,
                tva_rate="19.00",
            )
            for order in created
        ],
        batch_size=500,
    )


def main(username: str, password: str, totp_key: str) -> None:
    rows = dataset.build()
    admin = user_create(username=username, password=password, role=Role.SUPER_ADMIN)
    # Staff need a second factor in production: the bench signs in with codes of this key.
    TOTPDevice.objects.create(user=admin, name="authenticator", key=totp_key, confirmed=True)
    customers = [models.Customer.objects.create(**values) for values in rows["customers"]]
    vehicles = []
    for values in rows["vehicles"]:
        values = dict(values)
        readings = values.pop("readings")
        vehicle = models.Vehicle.objects.create(
            **{**values, "customer": customers[values["customer"]]}
        )
        for reading in readings:
            models.OdometerReading.objects.create(vehicle=vehicle, source="customer", **reading)
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
    if sys.argv[1] == "--exporter":  # after the comparison: the control app has no such rows
        exporter_create(
            sys.argv[2],
            sys.argv[3],
            int(sys.argv[4]),
            list(models.Service.objects.order_by("id")),
            list(models.Part.objects.order_by("id")),
        )
    else:
        main(*sys.argv[1:4])
