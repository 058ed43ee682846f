"""The service-order workflow through the API: who may make each step, and when."""

import threading
from datetime import timedelta

import pytest
from auditlog.models import LogEntry
from django.db import connection
from django.utils import timezone

from config.exceptions import ApplicationError
from garage.models import LineApproval, Part, ServiceOrder, StockMovement
from garage.services import orders as services
from garage.tests.factories import PartFactory, customer_user
from garage.tests.order_helpers import (
    order_in,
    order_open,
    order_with_lines,
    owner_vehicle,
    technician_user,
)

pytestmark = pytest.mark.django_db
Status = ServiceOrder.Status


def act(client, order, step, data=None, **extra):
    return client.post(f"/api/service-orders/{order.pk}/{step}/", data or {}, **extra)


def status_of(order) -> str:
    return ServiceOrder.objects.get(pk=order.pk).status


def status_changes(order):
    """(actor, [old, new]) for every status change django-auditlog recorded on the order."""
    return [
        (entry.actor, entry.changes["status"])
        for entry in LogEntry.objects.get_for_object(order).order_by("id")
        if entry.action == LogEntry.Action.UPDATE and "status" in (entry.changes or {})
    ]


@pytest.fixture
def owner(db):
    return customer_user("alice")


@pytest.fixture
def stranger(db):
    return customer_user("bob")


@pytest.fixture
def tech2(db):
    return technician_user("tech2")


# --- The whole path ------------------------------------------------------------------------------


def test_an_order_goes_from_draft_to_delivered_each_step_by_its_actor(
    auth_client, super_admin, technician, owner
):
    part = PartFactory(stock=5)
    order = order_with_lines(super_admin, owner=owner, part=part, quantity=2, odometer_in=40000)
    services.service_order_assign(actor=super_admin, order=order, technician_ids=[technician.pk])
    admin, tech, customer = (auth_client(u) for u in (super_admin, technician, owner))

    steps = [
        (admin, "send-estimate", "estimate_sent"),
        (customer, "approve", "approved"),
        (tech, "start", "in_progress"),
        (tech, "wait-parts", "waiting_parts"),
        (tech, "resume", "in_progress"),
        (tech, "complete", "completed"),
        (admin, "deliver", "delivered"),
    ]
    for client, step, expected in steps:
        response = act(client, order, step)
        assert response.status_code == 200, (step, response.content)
        assert response.json()["status"] == expected
        assert status_of(order) == expected

    assert status_changes(order) == [
        (super_admin, ["draft", "estimate_sent"]),
        (owner, ["estimate_sent", "approved"]),
        (technician, ["approved", "in_progress"]),
        (technician, ["in_progress", "waiting_parts"]),
        (technician, ["waiting_parts", "in_progress"]),
        (technician, ["in_progress", "completed"]),
        (super_admin, ["completed", "delivered"]),
    ]
    part.refresh_from_db()
    assert part.stock == 3


def test_transitions_need_authentication(api_client, super_admin):
    order = order_with_lines(super_admin)
    assert act(api_client, order, "send-estimate").status_code == 401
    assert status_of(order) == Status.DRAFT


# --- Sending the estimate ------------------------------------------------------------------------


def test_an_empty_estimate_cannot_be_sent(auth_client, super_admin):
    order = order_open(super_admin)

    response = act(auth_client(super_admin), order, "send-estimate")

    assert response.status_code == 400
    assert response.json()["code"] == "estimate_empty"
    assert status_of(order) == Status.DRAFT


def test_only_super_admins_send_estimates(auth_client, super_admin, technician, owner):
    order = order_with_lines(super_admin, owner=owner)
    services.service_order_assign(actor=super_admin, order=order, technician_ids=[technician.pk])

    for user in (technician, owner):
        response = act(auth_client(user), order, "send-estimate")
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"
    assert status_of(order) == Status.DRAFT


# --- Approval ------------------------------------------------------------------------------------


def test_customer_approval_in_the_app_records_time_ip_and_method(auth_client, super_admin, owner):
    order = order_in(Status.ESTIMATE_SENT, super_admin, owner=owner)
    before = timezone.now()

    response = act(auth_client(owner), order, "approve", REMOTE_ADDR="203.0.113.9")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["approval_method"] == "app"
    order.refresh_from_db()
    assert order.status == Status.APPROVED
    assert order.approval_method == ServiceOrder.ApprovalMethod.APP
    assert order.approved_ip == "203.0.113.9"
    assert order.approved_by == owner
    assert before <= order.approved_at <= timezone.now()
    assert not order.labour_lines.exclude(approval=LineApproval.APPROVED).exists()
    assert not order.part_lines.exclude(approval=LineApproval.APPROVED).exists()


def test_approval_ip_is_the_resolved_client_ip(auth_client, super_admin, owner, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    trusted = order_in(Status.ESTIMATE_SENT, super_admin, owner=owner)
    untrusted = order_in(Status.ESTIMATE_SENT, super_admin, owner=owner)
    client = auth_client(owner)

    act(client, trusted, "approve", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.7")
    # A header from a peer that is not a trusted proxy is written by the client: ignored.
    act(client, untrusted, "approve", REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="1.2.3.4")

    trusted.refresh_from_db()
    untrusted.refresh_from_db()
    assert trusted.approved_ip == "198.51.100.7"
    assert untrusted.approved_ip == "203.0.113.5"


def test_super_admin_records_a_verbal_approval(auth_client, super_admin, owner):
    order = order_in(Status.ESTIMATE_SENT, super_admin, owner=owner)

    response = act(auth_client(super_admin), order, "approve")

    assert response.status_code == 200
    order.refresh_from_db()
    assert (order.status, order.approval_method) == (Status.APPROVED, "verbal")
    assert (order.approved_by, order.approved_ip) == (super_admin, None)
    assert order.approved_at is not None
    assert response.json()["approved_by"] == super_admin.username


def test_approval_is_refused_to_technicians_strangers_and_before_the_estimate(
    auth_client, super_admin, technician, owner, stranger
):
    sent = order_in(Status.ESTIMATE_SENT, super_admin, owner=owner, technicians=[technician])
    draft = order_with_lines(super_admin, owner=owner)

    assert act(auth_client(technician), sent, "approve").status_code == 403
    assert act(auth_client(stranger), sent, "approve").status_code == 404
    early = act(auth_client(owner), draft, "approve")
    assert early.status_code == 400
    assert early.json()["code"] == "invalid_transition"
    assert (status_of(sent), status_of(draft)) == (Status.ESTIMATE_SENT, Status.DRAFT)
    sent.refresh_from_db()
    assert sent.approved_at is None


# --- Deciding lines one by one -------------------------------------------------------------------


def decide(client, order, labour=None, parts=None):
    return client.post(
        f"/api/service-orders/{order.pk}/lines/decide/",
        {"labour": labour or {}, "parts": parts or {}},
        format="json",
    )


def test_customer_declines_a_line_and_approves_the_rest(auth_client, super_admin, owner):
    part = PartFactory(stock=10)
    order = order_in(Status.ESTIMATE_SENT, super_admin, owner=owner, part=part, quantity=2)
    labour = order.labour_lines.get()
    part_line = order.part_lines.get()
    client = auth_client(owner)

    response = decide(
        client, order, labour={str(labour.pk): "approved"}, parts={str(part_line.pk): "declined"}
    )

    assert response.status_code == 200, response.content
    assert [line["approval"] for line in response.json()["part_lines"]] == ["declined"]
    assert response.json()["totals"]["parts"] == "0.000"
    part_line.refresh_from_db()
    assert part_line.approval == LineApproval.DECLINED

    # Approving the estimate keeps the declined line declined; starting never consumes it.
    assert act(client, order, "approve").status_code == 200
    part_line.refresh_from_db()
    assert part_line.approval == LineApproval.DECLINED
    services.service_order_start(actor=super_admin, order=order)
    part_line.refresh_from_db()
    assert part_line.consumed is False
    part.refresh_from_db()
    assert part.stock == 10
    assert not StockMovement.objects.filter(part=part).exists()


def test_an_estimate_with_every_line_declined_cannot_be_approved(auth_client, super_admin, owner):
    order = order_in(Status.ESTIMATE_SENT, super_admin, owner=owner)
    client = auth_client(owner)
    decide(
        client,
        order,
        labour={str(order.labour_lines.get().pk): "declined"},
        parts={str(order.part_lines.get().pk): "declined"},
    )

    response = act(client, order, "approve")

    assert response.status_code == 400
    assert response.json()["code"] == "estimate_empty"
    assert status_of(order) == Status.ESTIMATE_SENT


def test_deciding_lines_refuses_bad_input_other_orders_and_the_wrong_time(
    auth_client, super_admin, technician, owner, stranger
):
    order = order_in(Status.ESTIMATE_SENT, super_admin, owner=owner, technicians=[technician])
    other = order_in(Status.ESTIMATE_SENT, super_admin, owner=owner)
    draft = order_with_lines(super_admin, owner=owner)
    line = str(order.labour_lines.get().pk)
    client = auth_client(owner)

    bad_value = decide(client, order, labour={line: "maybe"})
    assert bad_value.status_code == 400
    assert "labour" in bad_value.json()["errors"]
    assert decide(client, order, labour={"abc": "approved"}).status_code == 400
    assert decide(client, order).status_code == 400  # nothing to decide
    foreign = decide(client, order, parts={str(other.part_lines.get().pk): "declined"})
    assert foreign.status_code == 400
    assert "parts" in foreign.json()["errors"]
    early = decide(client, draft, labour={str(draft.labour_lines.get().pk): "declined"})
    assert early.status_code == 400
    assert early.json()["code"] == "invalid_state"
    assert decide(auth_client(technician), order, labour={line: "declined"}).status_code == 403
    assert decide(auth_client(stranger), order, labour={line: "declined"}).status_code == 404
    assert other.part_lines.get().approval == LineApproval.PENDING
    assert order.labour_lines.get().approval == LineApproval.PENDING


# --- Declining the estimate ----------------------------------------------------------------------


def test_customer_declines_the_estimate_and_the_order_is_cancelled(auth_client, super_admin, owner):
    order = order_in(Status.ESTIMATE_SENT, super_admin, owner=owner)

    response = act(auth_client(owner), order, "decline")

    assert response.status_code == 200
    assert status_of(order) == Status.CANCELLED
    assert status_changes(order)[-1] == (owner, ["estimate_sent", "cancelled"])


def test_decline_is_the_customers_alone(auth_client, super_admin, stranger, owner):
    order = order_in(Status.ESTIMATE_SENT, super_admin, owner=owner)

    assert act(auth_client(super_admin), order, "decline").status_code == 403
    assert act(auth_client(stranger), order, "decline").status_code == 404
    assert status_of(order) == Status.ESTIMATE_SENT


# --- Starting the work ---------------------------------------------------------------------------


def test_starting_takes_the_estimates_parts_from_stock(auth_client, super_admin, technician):
    part = PartFactory(stock=4)
    order = order_in(Status.APPROVED, super_admin, part=part, quantity=3, technicians=[technician])

    response = act(auth_client(technician), order, "start")

    assert response.status_code == 200, response.content
    assert [line["consumed"] for line in response.json()["part_lines"]] == [True]
    part.refresh_from_db()
    assert part.stock == 1
    movement = StockMovement.objects.get(part=part)
    assert (movement.quantity, movement.actor, movement.service_order_id) == (
        -3,
        technician,
        order.pk,
    )


def test_starting_without_enough_stock_changes_nothing(auth_client, super_admin):
    plenty = PartFactory(stock=10)
    short = PartFactory(stock=1)
    order = order_in(Status.ESTIMATE_SENT, super_admin, part=plenty, quantity=2)
    services.service_order_part_line_add(actor=super_admin, order=order, part=short, quantity=2)
    services.service_order_approve(actor=super_admin, order=order)

    response = act(auth_client(super_admin), order, "start")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "insufficient_stock"
    assert "part_lines" in body["errors"]
    assert status_of(order) == Status.APPROVED
    assert [p.stock for p in Part.objects.filter(pk__in=[plenty.pk, short.pk]).order_by("pk")] == [
        10,
        1,
    ]
    assert not order.part_lines.filter(consumed=True).exists()
    assert not StockMovement.objects.filter(service_order=order).exists()


def test_start_is_refused_to_customers_strangers_and_unapproved_orders(
    auth_client, super_admin, technician, tech2, owner
):
    approved = order_in(Status.APPROVED, super_admin, owner=owner, technicians=[technician])
    draft = order_with_lines(super_admin, owner=owner)

    customer = act(auth_client(owner), approved, "start")
    assert customer.status_code == 403
    assert act(auth_client(tech2), approved, "start").status_code == 404
    early = act(auth_client(super_admin), draft, "start")
    assert early.status_code == 400
    assert early.json()["code"] == "invalid_transition"
    assert (status_of(approved), status_of(draft)) == (Status.APPROVED, Status.DRAFT)


# --- Waiting for parts ---------------------------------------------------------------------------


def test_waiting_parts_and_resuming_follow_the_status(auth_client, super_admin, technician, owner):
    approved = order_in(Status.APPROVED, super_admin, owner=owner, technicians=[technician])
    waiting = order_in(Status.WAITING_PARTS, super_admin, owner=owner, technicians=[technician])
    client = auth_client(technician)

    assert act(client, approved, "wait-parts").json()["code"] == "invalid_transition"
    assert act(client, approved, "resume").json()["code"] == "invalid_transition"
    assert act(client, waiting, "wait-parts").status_code == 400
    assert act(auth_client(owner), waiting, "resume").status_code == 403
    assert act(client, waiting, "resume").status_code == 200
    assert status_of(waiting) == Status.IN_PROGRESS
    assert status_of(approved) == Status.APPROVED


# --- Completing ----------------------------------------------------------------------------------


def test_completing_sets_the_next_service_reminder(auth_client, super_admin, technician, settings):
    settings.GARAGE_SERVICE_INTERVAL_DAYS = 180
    settings.GARAGE_SERVICE_INTERVAL_KM = 15000
    order = order_in(Status.IN_PROGRESS, super_admin, technicians=[technician], odometer_in=72500)
    before = timezone.now()

    response = act(auth_client(technician), order, "complete")

    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == Status.COMPLETED
    assert before <= order.completed_at <= timezone.now()
    vehicle = order.vehicle
    vehicle.refresh_from_db()
    assert vehicle.next_service_date == timezone.localdate() + timedelta(days=180)
    assert vehicle.next_service_km == 87500


def test_completing_without_an_odometer_sets_the_date_only(auth_client, super_admin):
    order = order_in(Status.IN_PROGRESS, super_admin)

    assert act(auth_client(super_admin), order, "complete").status_code == 200

    order.vehicle.refresh_from_db()
    assert order.vehicle.next_service_date == timezone.localdate() + timedelta(days=365)
    assert order.vehicle.next_service_km is None


def test_a_draft_cannot_be_completed(auth_client, super_admin, technician, owner):
    draft = order_with_lines(super_admin, owner=owner)
    services.service_order_assign(actor=super_admin, order=draft, technician_ids=[technician.pk])

    for user in (super_admin, technician):
        response = act(auth_client(user), draft, "complete")
        assert response.status_code == 400
        assert response.json()["code"] == "invalid_transition"
    assert act(auth_client(owner), draft, "complete").status_code == 403
    draft.refresh_from_db()
    assert (draft.status, draft.completed_at) == (Status.DRAFT, None)


# --- Delivering ----------------------------------------------------------------------------------


def test_super_admin_delivers_a_completed_order(auth_client, super_admin):
    order = order_in(Status.COMPLETED, super_admin)

    response = act(auth_client(super_admin), order, "deliver")

    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == Status.DELIVERED
    assert order.delivered_at is not None


def test_a_technician_cannot_deliver_and_nothing_is_delivered_before_completion(
    auth_client, super_admin, technician, owner
):
    completed = order_in(Status.COMPLETED, super_admin, owner=owner, technicians=[technician])
    working = order_in(Status.IN_PROGRESS, super_admin, owner=owner)

    refused = act(auth_client(technician), completed, "deliver")
    assert refused.status_code == 403
    assert refused.json()["code"] == "permission_denied"
    assert act(auth_client(owner), completed, "deliver").status_code == 403
    early = act(auth_client(super_admin), working, "deliver")
    assert early.status_code == 400
    assert early.json()["code"] == "invalid_transition"
    assert (status_of(completed), status_of(working)) == (Status.COMPLETED, Status.IN_PROGRESS)


# --- Cancelling ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status",
    [
        Status.DRAFT,
        Status.ESTIMATE_SENT,
        Status.APPROVED,
        Status.IN_PROGRESS,
        Status.WAITING_PARTS,
    ],
)
def test_super_admin_cancels_before_completion(auth_client, super_admin, status):
    order = order_in(status, super_admin)

    response = act(auth_client(super_admin), order, "cancel")

    assert response.status_code == 200
    assert status_of(order) == Status.CANCELLED
    assert status_changes(order)[-1] == (super_admin, [status.value, "cancelled"])


@pytest.mark.parametrize("status", [Status.COMPLETED, Status.DELIVERED, Status.CANCELLED])
def test_completed_delivered_or_cancelled_orders_cannot_be_cancelled(
    auth_client, super_admin, status
):
    order = order_in(status, super_admin)

    response = act(auth_client(super_admin), order, "cancel")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_transition"
    assert status_of(order) == status


def test_only_super_admins_cancel(auth_client, super_admin, technician, owner):
    order = order_in(Status.IN_PROGRESS, super_admin, owner=owner, technicians=[technician])

    assert act(auth_client(technician), order, "cancel").status_code == 403
    assert act(auth_client(owner), order, "cancel").status_code == 403
    assert status_of(order) == Status.IN_PROGRESS


# --- Services called directly keep the same rules ------------------------------------------------


def test_services_refuse_an_unassigned_technician_and_a_stranger(
    super_admin, technician, stranger, owner
):
    order = order_in(Status.APPROVED, super_admin, owner=owner)
    vehicle = owner_vehicle(owner)

    with pytest.raises(ApplicationError) as unassigned:
        services.service_order_start(actor=technician, order=order)
    assert unassigned.value.status_code == 404
    with pytest.raises(ApplicationError) as foreign:
        services.service_order_decline(actor=stranger, order=order)
    assert foreign.value.status_code == 404
    with pytest.raises(ApplicationError) as role:
        services.service_order_create(actor=technician, vehicle=vehicle)
    assert role.value.status_code == 403
    assert status_of(order) == Status.APPROVED


# --- Concurrency ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_transitions_cannot_both_apply(auth_client, super_admin, technician):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite's shared in-memory test database raises 'database table is locked'.")
    order = order_in(Status.IN_PROGRESS, super_admin, technicians=[technician])
    calls = [(auth_client(technician), "complete"), (auth_client(super_admin), "cancel")]
    barrier = threading.Barrier(len(calls))
    results = {}

    def run(client, step):
        try:
            barrier.wait(timeout=10)
            response = act(client, order, step)
            results[step] = (response.status_code, response.json().get("code"))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=call) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(code for code, _ in results.values()) == [200, 400]
    winner = next(step for step, (code, _) in results.items() if code == 200)
    loser = next(step for step, (code, _) in results.items() if code == 400)
    assert results[loser][1] == "invalid_transition"
    expected = {"complete": Status.COMPLETED, "cancel": Status.CANCELLED}[winner]
    assert status_of(order) == expected
    assert len([c for c in status_changes(order) if c[1][0] == "in_progress"]) == 1
