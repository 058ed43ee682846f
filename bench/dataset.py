"""The rows both sides of the HTTP benchmark serve: the same values, generated from one seed."""

import random
from datetime import date, timedelta
from decimal import Decimal

CUSTOMERS = 121
VEHICLES = 130
ORDERS = 60
SEED = 2026

FIRST = ["Zeineb", "Mohamed", "Amira", "Youssef", "Sana", "Karim", "Leila", "Hedi", "Ines", "Omar"]
LAST = ["Khemiri", "Ben Salah", "Trabelsi", "Gharbi", "Jaziri", "Mansour", "Haddad", "Ayari"]
MAKES = [("Renault", "Clio"), ("Peugeot", "208"), ("Volkswagen", "Polo"), ("Kia", "Picanto")]
FUELS = ["petrol", "diesel", "hybrid"]
STATUSES = ["draft", "estimate_sent", "approved", "in_progress", "completed", "delivered"]
SERVICES = [("VID", "Vidange", "45.000"), ("FRN", "Plaquettes de frein", "60.000")]
PARTS = [("FLT-01", "Filtre à huile", "18.500"), ("PLQ-02", "Plaquettes avant", "95.000")]
VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


def build() -> dict:
    """Every row as plain values; foreign keys are positions in the parent list."""
    rng = random.Random(SEED)
    customers = [
        {
            "kind": "individual",
            "full_name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            "company_name": "",
            "phone": f"+2162{n:07d}",
            "phone_secondary": f"+2169{n:07d}",
            "email": f"client{n}@example.tn",
            "national_id": f"{10000000 + n}",
            "tax_id": None,
            "address": f"{rng.randint(1, 99)} rue de Marseille, 1001 Tunis",
            "preferred_contact": "phone",
        }
        for n in range(CUSTOMERS)
    ]
    vehicles = []
    for n in range(VEHICLES):
        make, model = rng.choice(MAKES)
        vehicles.append(
            {
                "customer": n % CUSTOMERS,
                "plate": f"{100 + n % 800} TU {1000 + n}",
                "vin": "VF1" + "".join(rng.choice(VIN_CHARS) for _ in range(14)),
                "make": make,
                "model": model,
                "year": rng.randint(2005, 2025),
                "fuel": rng.choice(FUELS),
                "colour": "Blanc",
                "readings": [
                    {"km": 10000 * (r + 1) + n, "recorded_on": date(2026, 1, 1) + timedelta(r * 90)}
                    for r in range(2)
                ],
            }
        )
    orders = []
    for n in range(ORDERS):
        vehicle = n % VEHICLES
        orders.append(
            {
                "vehicle": vehicle,
                "customer": vehicles[vehicle]["customer"],
                "status": STATUSES[n % len(STATUSES)],
                "complaint": "Bruit au freinage à l'arrière, voyant allumé",
                "odometer_in": 25000 + n,
                "labour": [
                    {"service": s, "hours": Decimal("1.50"), "price": Decimal(SERVICES[s][2])}
                    for s in range(len(SERVICES))
                ],
                "parts": [{"part": 0, "quantity": 1 + n % 3, "price": Decimal(PARTS[0][2])}],
            }
        )
    return {"customers": customers, "vehicles": vehicles, "orders": orders}
