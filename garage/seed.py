"""Demo garage data for seed_demo: catalogue, stock, customers' vehicles, appointments, orders.

Everything goes through the services, so the demo data obeys the same rules as real data.
"""

import random
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.models import Profile
from garage.models import Customer, Part, Service, ServiceOrder, StockMovement
from garage.services import appointments, catalogue, customers, orders, vehicles

# Demo catalogue with the TVA rates of the invoicing table (19 % normal, 13 % intermediate, 7 %
# reduced): demo values that show every rate on an invoice; a real garage sets each rate with its
# accountant.
SERVICES = [
    ("VID-01", "Vidange moteur + filtre à huile", "45.000", 45, "19"),
    ("FRN-01", "Remplacement plaquettes de frein AV", "60.000", 60, "19"),
    ("DIA-01", "Diagnostic électronique", "35.000", 30, "7"),
    ("CLI-01", "Recharge climatisation", "80.000", 60, "19"),
    ("PNE-01", "Montage et équilibrage 4 pneus", "40.000", 45, "19"),
    ("DIS-01", "Remplacement kit de distribution", "220.000", 240, "19"),
]
PARTS = [
    ("HUI-5W30-5L", "Huile moteur 5W30 5 L", "89.500", 12, "13"),
    ("FLT-HUI-CLIO", "Filtre à huile Clio IV", "18.900", 20, "19"),
    ("PLQ-AV-208", "Plaquettes AV Peugeot 208", "74.000", 8, "19"),
    ("GAZ-R134A", "Gaz R134a (300 g)", "38.000", 6, "19"),
    ("KIT-DIS-POLO", "Kit distribution VW Polo 1.4", "389.000", 8, "19"),
    ("BAL-ESS-AV", "Balais essuie-glace AV", "29.500", 10, "19"),
]
# Each demo job: its service and the parts it takes (quantity).
JOBS = [
    ("VID-01", [("HUI-5W30-5L", 1), ("FLT-HUI-CLIO", 1)]),
    ("DIA-01", []),
    ("FRN-01", [("PLQ-AV-208", 1)]),
    ("CLI-01", [("GAZ-R134A", 1)]),
    ("DIS-01", [("KIT-DIS-POLO", 1)]),
    ("PNE-01", []),
]
CARS = [
    ("Renault", "Clio IV", "diesel"),
    ("Peugeot", "208", "petrol"),
    ("Volkswagen", "Polo", "petrol"),
    ("Kia", "Picanto", "petrol"),
    ("Hyundai", "i20", "diesel"),
    ("Toyota", "Yaris", "hybrid"),
    ("Citroën", "C-Elysée", "diesel"),
    ("Dacia", "Logan", "diesel"),
]
COLOURS = ["blanc", "gris", "noir", "rouge", "bleu"]
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
COMPLAINTS = [
    "Bruit au freinage à l'avant.",
    "Voyant moteur allumé depuis hier.",
    "Entretien des 60 000 km.",
    "La climatisation ne refroidit plus.",
    "Vibrations à 100 km/h.",
]
# The statuses demo orders are brought to, one order per status in turn.
STATUSES = [
    ServiceOrder.Status.DRAFT,
    ServiceOrder.Status.ESTIMATE_SENT,
    ServiceOrder.Status.APPROVED,
    ServiceOrder.Status.IN_PROGRESS,
    ServiceOrder.Status.WAITING_PARTS,
    ServiceOrder.Status.COMPLETED,
    ServiceOrder.Status.DELIVERED,
    ServiceOrder.Status.CANCELLED,
]


def seed_garage(*, admin, technicians, customer_users, rng: random.Random) -> dict:
    """Create the demo garage (idempotent: does nothing when the catalogue exists already)."""
    if Service.objects.exists():
        return {"skipped": "garage data already present"}
    services = [
        catalogue.service_create(
            code=code,
            name=name,
            labour_price=Decimal(price),
            estimated_minutes=minutes,
            tva_rate=Decimal(rate),
        )
        for code, name, price, minutes, rate in SERVICES
    ]
    parts = []
    for sku, name, price, stock, rate in PARTS:
        part = catalogue.part_create(
            sku=sku, name=name, unit_price=Decimal(price), reorder_level=3, tva_rate=Decimal(rate)
        )
        catalogue.stock_movement_record(
            part=part,
            kind=StockMovement.Kind.IN,
            quantity=stock,
            reason="Stock initial",
            actor=admin,
        )
        parts.append(part)
    fleet = []
    for number, user in enumerate(customer_users):
        profile = Profile.objects.get(user=user)
        customer = customers.customer_create(
            full_name=profile.full_name,
            user=user,
            phone=profile.phone,
            email=profile.email,
            address=profile.address,
            national_id=f"{rng.randrange(10**7, 10**8)}",
        )
        for _ in range(1 + number % 2):
            make, model, fuel = rng.choice(CARS)
            fleet.append(
                vehicles.vehicle_create(
                    customer=customer,
                    plate=f"{rng.randint(100, 250)} تونس {rng.randint(1000, 9999)}",
                    vin="".join(rng.choice(VIN_CHARS) for _ in range(17)),
                    make=make,
                    model=model,
                    year=rng.randint(2010, 2025),
                    fuel=fuel,
                    colour=rng.choice(COLOURS),
                )
            )
    company_vehicle = _company_vehicle(_walk_in(rng), rng)
    booked = _appointments(admin, fleet[:6], services)
    work = [
        (vehicle, STATUSES[index % len(STATUSES)], JOBS[index % len(JOBS)])
        for index, vehicle in enumerate(fleet[6:])
    ]
    # The company's order is delivered: its invoice has a buyer identified by matricule fiscal.
    work.append((company_vehicle, ServiceOrder.Status.DELIVERED, JOBS[4]))
    made = _orders(admin, technicians, work, services, parts, rng)
    return {
        "services": len(services),
        "parts": len(parts),
        "vehicles": len(fleet),
        "appointments": booked,
        "service_orders": made,
    }


def _walk_in(rng) -> Customer:
    return customers.customer_create(
        kind=Customer.Kind.COMPANY,
        full_name="Service achats",
        company_name="Transports Sahel SARL",
        tax_id="1234567A/A/M/000",
        phone=f"+21673{rng.randrange(10**6):06d}",
        address="Zone industrielle, 4000 Sousse",
    )


def _company_vehicle(company: Customer, rng):
    return vehicles.vehicle_create(
        customer=company,
        plate=f"{rng.randint(100, 250)} تونس {rng.randint(1000, 9999)}",
        vin="".join(rng.choice(VIN_CHARS) for _ in range(17)),
        make="Volkswagen",
        model="Polo",
        year=2021,
        fuel="petrol",
        colour="blanc",
    )


def _next_open_slots(count: int) -> list[datetime]:
    """The next `count` opening-hour slots from tomorrow on (weekdays, 09:00 to 16:00)."""
    day = timezone.localdate() + timedelta(days=1)
    starts = []
    while len(starts) < count:
        if day.weekday() < 5:
            for hour in (9, 11, 14, 16):
                starts.append(timezone.make_aware(datetime.combine(day, time(hour))))
        day += timedelta(days=1)
    return starts[:count]


def _appointments(admin, fleet, services) -> int:
    for vehicle, start in zip(fleet, _next_open_slots(len(fleet)), strict=True):
        appointment = appointments.appointment_book(
            actor=admin,
            customer=vehicle.customer,
            vehicle=vehicle,
            start=start,
            services=services[:2],
            notes="Demande faite par téléphone.",
        )
        if vehicle.pk % 2:
            appointments.appointment_confirm(actor=admin, appointment=appointment)
    return len(fleet)


def _orders(admin, technicians, work, services, parts: list[Part], rng) -> int:
    """One order per (vehicle, status, job): the job's service and the parts it takes."""
    services_by_code = {service.code: service for service in services}
    parts_by_sku = {part.sku: part for part in parts}
    for index, (vehicle, status, (code, job_parts)) in enumerate(work):
        order = orders.service_order_create(
            actor=admin,
            vehicle=vehicle,
            complaint=rng.choice(COMPLAINTS),
            odometer_in=rng.randint(20_000, 180_000),
        )
        orders.service_order_assign(
            actor=admin, order=order, technician_ids=[technicians[index % len(technicians)].pk]
        )
        orders.service_order_labour_line_add(
            actor=admin, order=order, service=services_by_code[code], hours=Decimal("1.50")
        )
        for sku, quantity in job_parts:
            orders.service_order_part_line_add(
                actor=admin, order=order, part=parts_by_sku[sku], quantity=quantity
            )
        _advance(admin, order, status)
    return len(work)


_PATH = [
    (ServiceOrder.Status.ESTIMATE_SENT, orders.service_order_send_estimate),
    (ServiceOrder.Status.APPROVED, orders.service_order_approve),
    (ServiceOrder.Status.IN_PROGRESS, orders.service_order_start),
    (ServiceOrder.Status.COMPLETED, orders.service_order_complete),
    (ServiceOrder.Status.DELIVERED, orders.service_order_deliver),
]


def _advance(admin, order, status) -> ServiceOrder:
    """Walk an order along the workflow to `status` (approval recorded as verbal, by staff)."""
    if status == ServiceOrder.Status.CANCELLED:
        return orders.service_order_cancel(actor=admin, order=order)
    if status == ServiceOrder.Status.WAITING_PARTS:
        order = _advance(admin, order, ServiceOrder.Status.IN_PROGRESS)
        return orders.service_order_wait_parts(actor=admin, order=order)
    for _reached, step in _PATH:
        if order.status == status:
            break
        order = step(actor=admin, order=order)
    return order
