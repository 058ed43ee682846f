"""Parts and stock: super-admins maintain parts and enter movements; stock never goes negative."""

import threading
from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from config.exceptions import ApplicationError
from garage.models import Part, StockMovement
from garage.services.catalogue import part_create, part_stock_move
from garage.tests.factories import PartFactory, customer_user

URL = "/api/parts/"
LOW_STOCK = "/api/parts/low-stock/"

ON_SQLITE = settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")


def detail(pk) -> str:
    return f"{URL}{pk}/"


def movements(pk) -> str:
    return f"{URL}{pk}/movements/"


def skus(response) -> list[str]:
    return [row["sku"] for row in response.json()["results"]]


def stocked_part(*, stock: int, actor, sku="FLT-001", reorder_level=2, **extra) -> Part:
    """A part created and stocked through the services, as the API would."""
    part = part_create(
        sku=sku,
        name=extra.pop("name", f"Part {sku}"),
        unit_price=extra.pop("unit_price", Decimal("12.500")),
        reorder_level=reorder_level,
        **extra,
    )
    if stock:
        part_stock_move(part=part, kind="in", quantity=stock, reason="Initial stock", actor=actor)
    part.refresh_from_db()
    return part


@pytest.fixture
def part(super_admin):
    return stocked_part(stock=10, actor=super_admin)


VALID = {
    "sku": "plq-207",
    "name": "Plaquettes avant 207",
    "unit_price": "64.900",
    "tva_rate": "19",
    "reorder_level": 4,
}

pytestmark = pytest.mark.django_db


# --- list and retrieve --------------------------------------------------------------------------


def test_super_admin_lists_parts_with_prices(auth_client, super_admin, part):
    PartFactory(sku="OLD-1", is_active=False)

    response = auth_client(super_admin).get(URL)

    assert response.status_code == 200
    assert skus(response) == ["FLT-001", "OLD-1"]
    assert response.json()["results"][0] == {
        "id": part.pk,
        "sku": "FLT-001",
        "name": "Part FLT-001",
        "unit_price": "12.500",
        "tva_rate": "19.00",
        "stock": 10,
        "reorder_level": 2,
        "is_active": True,
    }


def test_technicians_list_active_parts_without_prices(auth_client, technician, part):
    PartFactory(sku="OLD-1", is_active=False)

    response = auth_client(technician).get(URL)

    assert response.status_code == 200
    assert skus(response) == ["FLT-001"]
    assert response.json()["results"][0] == {
        "id": part.pk,
        "sku": "FLT-001",
        "name": "Part FLT-001",
        "stock": 10,
        "reorder_level": 2,
        "is_active": True,
    }


def test_technicians_cannot_rank_parts_by_price(auth_client, technician, super_admin):
    stocked_part(stock=1, actor=super_admin, sku="A", unit_price=Decimal("900.000"))
    stocked_part(stock=1, actor=super_admin, sku="B", unit_price=Decimal("1.000"))

    response = auth_client(technician).get(URL, {"ordering": "-unit_price"})

    assert skus(response) == ["A", "B"]  # the unknown ordering field is ignored


def test_technician_retrieves_a_part_without_price(auth_client, technician, part):
    response = auth_client(technician).get(detail(part.pk))

    assert response.status_code == 200
    assert "unit_price" not in response.json()
    assert response.json()["stock"] == 10


def test_technician_cannot_see_an_inactive_part(auth_client, technician):
    old = PartFactory(is_active=False)

    assert auth_client(technician).get(detail(old.pk)).status_code == 404


def test_customers_have_no_access_to_parts(auth_client, part):
    client = auth_client(customer_user("client1"))

    assert client.get(URL).status_code == 403
    assert client.get(detail(part.pk)).status_code == 403
    assert client.get(LOW_STOCK).status_code == 403


def test_parts_require_authentication(api_client, part):
    assert api_client.get(URL).status_code == 401
    assert api_client.get(detail(part.pk)).status_code == 401


def test_search_and_ordering(auth_client, super_admin):
    stocked_part(stock=5, actor=super_admin, sku="AAA", name="Filtre à huile")
    stocked_part(stock=1, actor=super_admin, sku="BBB", name="Bougie")
    client = auth_client(super_admin)

    assert skus(client.get(URL, {"search": "huile"})) == ["AAA"]
    assert skus(client.get(URL, {"search": "bbb"})) == ["BBB"]
    assert skus(client.get(URL, {"ordering": "stock"})) == ["BBB", "AAA"]


@pytest.mark.parametrize("role", [Role.SUPER_ADMIN, Role.TECHNICIAN])
def test_list_query_count_does_not_grow_with_rows(auth_client, make_user, role):
    client = auth_client(make_user("staff", role))
    PartFactory()
    with CaptureQueriesContext(connection) as one:
        assert len(client.get(URL, {"page_size": 100}).json()["results"]) == 1
    PartFactory.create_batch(49)
    with CaptureQueriesContext(connection) as fifty:
        assert len(client.get(URL, {"page_size": 100}).json()["results"]) == 50

    assert len(fifty) == len(one)


# --- create and update --------------------------------------------------------------------------


def test_super_admin_creates_a_part_with_no_stock(auth_client, super_admin):
    response = auth_client(super_admin).post(URL, VALID, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["sku"], body["unit_price"], body["stock"]) == ("PLQ-207", "64.900", 0)
    part = Part.objects.get(pk=body["id"])
    assert (part.stock, part.reorder_level) == (0, 4)
    entry = LogEntry.objects.get_for_object(part).get(action=LogEntry.Action.CREATE)
    assert entry.actor == super_admin


def test_stock_cannot_be_written_on_create(auth_client, super_admin):
    response = auth_client(super_admin).post(URL, {**VALID, "stock": 50}, format="json")

    assert response.status_code == 400
    assert "stock" in response.json()["errors"]
    assert not Part.objects.exists()


def test_stock_cannot_be_written_on_update(auth_client, super_admin, part):
    response = auth_client(super_admin).patch(detail(part.pk), {"stock": 500}, format="json")

    assert response.status_code == 400
    assert "stock" in response.json()["errors"]
    part.refresh_from_db()
    assert part.stock == 10


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"unit_price": "1.2345"}, "unit_price"),
        ({"unit_price": "-0.001"}, "unit_price"),
        ({"tva_rate": "101"}, "tva_rate"),
        ({"reorder_level": -1}, "reorder_level"),
        ({"sku": ""}, "sku"),
        ({"name": ""}, "name"),
    ],
)
def test_invalid_part_is_refused_with_a_field_error(auth_client, super_admin, change, field):
    response = auth_client(super_admin).post(URL, {**VALID, **change}, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert not Part.objects.exists()


def test_a_duplicate_sku_is_refused(auth_client, super_admin, part):
    response = auth_client(super_admin).post(URL, {**VALID, "sku": "flt-001"}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "duplicate"
    assert "sku" in response.json()["errors"]


def test_super_admin_updates_a_part(auth_client, super_admin, part):
    response = auth_client(super_admin).patch(
        detail(part.pk), {"unit_price": "13.000", "reorder_level": 5}, format="json"
    )

    assert response.status_code == 200, response.content
    part.refresh_from_db()
    assert (part.unit_price, part.reorder_level, part.stock) == (Decimal("13.000"), 5, 10)
    entry = LogEntry.objects.get_for_object(part).get(action=LogEntry.Action.UPDATE)
    assert entry.actor == super_admin


@pytest.mark.parametrize("role", ["customer", "technician"])
def test_only_super_admin_writes_parts(auth_client, technician, part, role):
    user = customer_user("client1") if role == "customer" else technician
    client = auth_client(user)

    assert client.post(URL, VALID, format="json").status_code == 403
    assert client.patch(detail(part.pk), {"unit_price": "0"}, format="json").status_code == 403
    part.refresh_from_db()
    assert part.unit_price == Decimal("12.500")


def test_parts_are_never_deleted(auth_client, super_admin, part):
    assert auth_client(super_admin).delete(detail(part.pk)).status_code == 405
    assert Part.objects.filter(pk=part.pk).exists()


def test_update_unknown_part_is_404(auth_client, super_admin):
    assert auth_client(super_admin).patch(detail(99999), {"name": "x"}).status_code == 404


# --- low stock ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.SUPER_ADMIN, Role.TECHNICIAN])
def test_low_stock_lists_active_parts_at_or_below_reorder_level(auth_client, make_user, role):
    admin = make_user("boss2", Role.SUPER_ADMIN)
    stocked_part(stock=3, actor=admin, sku="AT-LEVEL", reorder_level=3)
    stocked_part(stock=0, actor=admin, sku="EMPTY", reorder_level=1)
    stocked_part(stock=4, actor=admin, sku="ABOVE", reorder_level=3)
    stocked_part(stock=0, actor=admin, sku="RETIRED", reorder_level=3, is_active=False)
    client = auth_client(admin if role == Role.SUPER_ADMIN else make_user("tech", role))

    response = client.get(LOW_STOCK)

    assert response.status_code == 200
    assert skus(response) == ["EMPTY", "AT-LEVEL"]
    assert ("unit_price" in response.json()["results"][0]) is (role == Role.SUPER_ADMIN)


def test_low_stock_requires_authentication(api_client):
    assert api_client.get(LOW_STOCK).status_code == 401


def test_low_stock_query_count_does_not_grow_with_rows(auth_client, super_admin):
    client = auth_client(super_admin)
    PartFactory(stock=0)
    with CaptureQueriesContext(connection) as one:
        assert len(client.get(LOW_STOCK, {"page_size": 100}).json()["results"]) == 1
    PartFactory.create_batch(49, stock=0)
    with CaptureQueriesContext(connection) as fifty:
        assert len(client.get(LOW_STOCK, {"page_size": 100}).json()["results"]) == 50

    assert len(fifty) == len(one)


# --- stock movements ----------------------------------------------------------------------------


def test_receiving_goods_adds_stock_and_records_who(auth_client, super_admin, part):
    response = auth_client(super_admin).post(
        movements(part.pk), {"kind": "in", "quantity": 5, "reason": "Livraison BL-42"}
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "in"
    assert (body["quantity"], body["stock_after"], body["actor"]) == (5, 15, "boss")
    part.refresh_from_db()
    assert part.stock == 15
    movement = StockMovement.objects.get(pk=body["id"])
    assert (movement.actor, movement.reason) == (super_admin, "Livraison BL-42")
    entry = LogEntry.objects.get_for_object(movement).get(action=LogEntry.Action.CREATE)
    assert entry.actor == super_admin


def test_an_adjustment_can_lower_the_stock(auth_client, super_admin, part):
    response = auth_client(super_admin).post(
        movements(part.pk), {"kind": "adjustment", "quantity": -4, "reason": "Inventaire"}
    )

    assert response.status_code == 201, response.content
    part.refresh_from_db()
    assert part.stock == 6
    assert response.json()["stock_after"] == 6


def test_stock_never_goes_negative(auth_client, super_admin, part):
    before = StockMovement.objects.count()

    response = auth_client(super_admin).post(
        movements(part.pk), {"kind": "adjustment", "quantity": -11, "reason": "Inventaire"}
    )

    assert response.status_code == 400
    assert response.json()["code"] == "insufficient_stock"
    assert response.json()["errors"]["quantity"] == ["Only 10 in stock."]
    part.refresh_from_db()
    assert part.stock == 10
    assert StockMovement.objects.count() == before


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kind": "used", "quantity": -1, "reason": "x"}, "kind"),
        ({"kind": "stolen", "quantity": -1, "reason": "x"}, "kind"),
        ({"kind": "in", "quantity": -2, "reason": "x"}, "quantity"),
        ({"kind": "in", "quantity": 0, "reason": "x"}, "quantity"),
        ({"kind": "adjustment", "quantity": 0, "reason": "x"}, "quantity"),
        ({"kind": "in", "quantity": "two", "reason": "x"}, "quantity"),
        ({"kind": "in", "quantity": 2}, "reason"),
        ({"kind": "in", "quantity": 2, "reason": "   "}, "reason"),
    ],
)
def test_invalid_movement_is_refused(auth_client, super_admin, part, payload, field):
    before = StockMovement.objects.count()

    response = auth_client(super_admin).post(movements(part.pk), payload, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    part.refresh_from_db()
    assert part.stock == 10
    assert StockMovement.objects.count() == before


@pytest.mark.parametrize("role", ["customer", "technician"])
def test_only_super_admin_enters_or_reads_movements(auth_client, technician, part, role):
    user = customer_user("client1") if role == "customer" else technician
    client = auth_client(user)

    posted = client.post(movements(part.pk), {"kind": "in", "quantity": 1, "reason": "x"})

    assert posted.status_code == 403
    assert client.get(movements(part.pk)).status_code == 403
    part.refresh_from_db()
    assert part.stock == 10


def test_movements_require_authentication(api_client, part):
    assert api_client.get(movements(part.pk)).status_code == 401
    assert api_client.post(movements(part.pk), {}).status_code == 401


def test_movements_of_an_unknown_part_are_404(auth_client, super_admin):
    client = auth_client(super_admin)

    assert client.get(movements(99999)).status_code == 404
    assert (
        client.post(movements(99999), {"kind": "in", "quantity": 1, "reason": "x"}).status_code
        == 404
    )


def test_movement_history_names_the_actor_and_kind(auth_client, super_admin, technician, part):
    part_stock_move(part=part, kind="used", quantity=-2, reason="OR 17", actor=technician)

    response = auth_client(super_admin).get(movements(part.pk))

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(r["kind"], r["quantity"], r["actor"], r["stock_after"]) for r in rows] == [
        ("used", -2, "tech1", 8),
        ("in", 10, "boss", 10),
    ]


def test_movement_history_is_per_part(auth_client, super_admin, part):
    other = stocked_part(stock=3, actor=super_admin, sku="OTHER")

    rows = auth_client(super_admin).get(movements(other.pk)).json()["results"]

    assert [r["part"] for r in rows] == [other.pk]


def test_movement_list_query_count_does_not_grow_with_rows(
    auth_client, super_admin, make_user, part
):
    client = auth_client(super_admin)
    with CaptureQueriesContext(connection) as one:
        assert len(client.get(movements(part.pk), {"page_size": 100}).json()["results"]) == 1
    for n in range(49):
        part_stock_move(
            part=part, kind="in", quantity=1, reason="x", actor=make_user(f"storekeeper{n}")
        )
    with CaptureQueriesContext(connection) as fifty:
        assert len(client.get(movements(part.pk), {"page_size": 100}).json()["results"]) == 50

    assert len(fifty) == len(one)


# --- the last unit, taken by two technicians at once --------------------------------------------


def _take_last_unit_concurrently(part_pk: int, technicians) -> list:
    """Each technician consumes one unit of the part, all released at the same instant."""
    barrier = threading.Barrier(len(technicians))
    outcomes = []
    lock = threading.Lock()

    def take(technician):
        try:
            barrier.wait(timeout=10)
            movement = part_stock_move(
                part=Part.objects.get(pk=part_pk),
                kind="used",
                quantity=-1,
                reason="Service order",
                actor=technician,
            )
            outcome = ("ok", movement.stock_after)
        except ApplicationError as exc:
            outcome = ("refused", exc.code)
        except Exception as exc:  # noqa: BLE001 - reported by the caller's assertions
            outcome = ("error", repr(exc))
        finally:
            connection.close()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=take, args=(t,)) for t in technicians]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


@pytest.mark.skipif(
    ON_SQLITE,
    reason="SQLite's shared-cache test database raises 'database table is locked' on the "
    "second writer instead of waiting: the race is only meaningful on PostgreSQL",
)
@pytest.mark.django_db(transaction=True)
def test_two_technicians_taking_the_last_unit_exactly_one_succeeds(make_user):
    admin = make_user("boss", Role.SUPER_ADMIN)
    technicians = [make_user(f"tech{n}", Role.TECHNICIAN) for n in range(2)]
    for attempt in range(5):
        part = stocked_part(stock=1, actor=admin, sku=f"LAST-{attempt}")

        outcomes = _take_last_unit_concurrently(part.pk, technicians)

        assert sorted(outcomes) == [("ok", 0), ("refused", "insufficient_stock")], outcomes
        part.refresh_from_db()
        assert part.stock == 0
        assert StockMovement.objects.filter(part=part, kind="used").count() == 1
