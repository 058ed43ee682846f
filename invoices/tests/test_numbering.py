"""Numbering: per calendar year, gapless, unique under concurrent issue; credit notes apart."""

import datetime
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from config.exceptions import ApplicationError
from invoices import services
from invoices.models import DocumentSequence, Invoice, InvoiceEvent
from invoices.services import invoices as issuing
from invoices.tests.helpers import draft_invoice, issued_invoice, seller

concurrent = pytest.mark.skipif(
    "connection.vendor != 'postgresql'",
    reason="SQLite's shared in-memory test database serialises writers with 'database table is "
    "locked' errors instead of row locks: concurrency is tested on PostgreSQL.",
)


def year() -> int:
    return timezone.localdate().year


@pytest.mark.django_db
def test_invoices_are_numbered_in_sequence_within_the_year(super_admin):
    numbers = [issued_invoice(super_admin).number for _ in range(3)]

    assert numbers == [f"{year()}-000001", f"{year()}-000002", f"{year()}-000003"]
    assert DocumentSequence.objects.get(kind="invoice", year=year()).last_number == 3


@pytest.mark.django_db
def test_drafts_take_no_number_and_deleting_one_leaves_no_gap(super_admin):
    seller()
    first = services.invoice_issue(actor=super_admin, invoice=draft_invoice(super_admin))
    services.invoice_delete(actor=super_admin, invoice=draft_invoice(super_admin))
    second = services.invoice_issue(actor=super_admin, invoice=draft_invoice(super_admin))

    assert [first.number, second.number] == [f"{year()}-000001", f"{year()}-000002"]


@pytest.mark.django_db
def test_numbering_starts_again_each_calendar_year(super_admin, monkeypatch):
    this_year = year()
    december = issued_invoice(super_admin)
    new_year = datetime.date(this_year + 1, 1, 1)
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: new_year)

    first_of_year = issued_invoice(super_admin)

    assert december.number == f"{this_year}-000001"
    assert first_of_year.number == f"{new_year.year}-000001"
    assert first_of_year.issue_date == new_year


@pytest.mark.django_db
def test_credit_notes_have_their_own_sequence(super_admin):
    invoices = [issued_invoice(super_admin) for _ in range(3)]

    note = services.credit_note_issue(
        actor=super_admin,
        credit_note=services.credit_note_create(
            actor=super_admin, invoice=invoices[1], reason="Annulation"
        ),
    )

    assert note.number == f"AV-{year()}-000001"
    assert issued_invoice(super_admin).number == f"{year()}-000004"


@pytest.mark.django_db
def test_a_failed_issue_consumes_no_number(super_admin, monkeypatch):
    seller()
    invoice = draft_invoice(super_admin)
    real_event = issuing.record_event

    def failing_event(invoice, kind, actor, **data):
        if kind == InvoiceEvent.Kind.ISSUED:
            raise RuntimeError("disk full")
        return real_event(invoice, kind, actor, **data)

    monkeypatch.setattr(issuing, "record_event", failing_event)
    with pytest.raises(RuntimeError):
        services.invoice_issue(actor=super_admin, invoice=invoice)  # after numbering
    monkeypatch.setattr(issuing, "record_event", real_event)

    invoice.refresh_from_db()
    assert (invoice.status, invoice.number) == ("draft", None)
    assert not DocumentSequence.objects.filter(last_number__gt=0).exists()
    assert services.invoice_issue(actor=super_admin, invoice=invoice).number == f"{year()}-000001"


@pytest.mark.django_db
def test_a_refused_issue_consumes_no_number(super_admin):
    invoice = draft_invoice(super_admin)  # no seller identity yet

    with pytest.raises(ApplicationError):
        services.invoice_issue(actor=super_admin, invoice=invoice)
    seller()

    assert services.invoice_issue(actor=super_admin, invoice=invoice).number == f"{year()}-000001"


def _in_threads(count: int, work) -> tuple[list, list]:
    """Run work(i) in `count` threads released together; (results, errors)."""
    barrier = threading.Barrier(count)
    results, errors = [None] * count, []

    def run(i):
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - collected for the assertions
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results, errors


@concurrent
@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_issues_get_exactly_numbers_1_to_50(super_admin):
    seller()
    drafts = [draft_invoice(super_admin) for _ in range(50)]

    results, errors = _in_threads(
        50, lambda i: services.invoice_issue(actor=super_admin, invoice=drafts[i]).number
    )

    assert errors == []
    expected = [f"{year()}-{n:06d}" for n in range(1, 51)]
    assert sorted(results) == expected
    stored = Invoice.objects.exclude(status="draft").values_list("number", flat=True)
    assert sorted(stored) == expected
    assert DocumentSequence.objects.get(kind="invoice", year=year()).last_number == 50


@concurrent
@pytest.mark.django_db(transaction=True)
def test_one_draft_issued_twice_at_once_is_numbered_once(super_admin):
    seller()
    draft = draft_invoice(super_admin)

    results, errors = _in_threads(
        2, lambda i: services.invoice_issue(actor=super_admin, invoice=draft).number
    )

    assert [r for r in results if r] == [f"{year()}-000001"]
    assert [e.code for e in errors] == ["not_draft"]
    assert DocumentSequence.objects.get(kind="invoice", year=year()).last_number == 1


@concurrent
@pytest.mark.django_db(transaction=True)
def test_concurrent_payments_never_overpay(super_admin):
    invoice = issued_invoice(super_admin)  # 102.150 due

    results, errors = _in_threads(
        4,
        lambda i: services.payment_record(
            actor=super_admin, invoice=invoice, method="cash", amount=Decimal("60.000")
        ),
    )

    assert len([r for r in results if r]) == 1
    assert [e.code for e in errors] == ["overpayment"] * 3
    invoice.refresh_from_db()
    assert invoice.paid_total == Decimal("60.000")
