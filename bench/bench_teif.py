"""Benchmark of El Fatoora exports: TEIF generation + XAdES signature per invoice, and the
streamed bulk export of 1,000 invoices (time and memory).

Run with `make bench` or `.venv/bin/python bench/bench_teif.py`. It builds a throw-away database
(in-memory SQLite, or a scratch PostgreSQL database when DATABASE_URL points at PostgreSQL), a
test certificate, 1,000 issued invoices, prints the measurements and removes everything. Not a
test: the numbers depend on the machine.
"""

from __future__ import annotations

import copy
import os
import shutil
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

INVOICES = 1_000
SIGNED_ONE_BY_ONE = 200

from bench_privacy import machine, setup_django  # noqa: E402


def make_invoices(count: int) -> list[int]:
    """One invoice issued through the services, then `count` issued copies of it."""
    from django.contrib.auth import get_user_model

    from invoices.models import Invoice, InvoiceLine
    from invoices.tests.helpers import issued_invoice

    admin = get_user_model().objects.create_user(
        username="bench-admin", password="Bench-Pass#2026", role="super_admin"
    )
    model = issued_invoice(
        admin,
        labour=[("1.50", "45.000", "19.00", "approved"), ("0.50", "35.000", "7.00", "approved")],
        parts=[(1, "89.500", "13.00", "approved"), (2, "18.900", "19.00", "approved")],
    )
    lines = list(model.lines.all())
    copies = []
    for index in range(count):
        invoice = copy.copy(model)
        invoice.pk = invoice.id = None
        invoice.status = Invoice.Status.DRAFT
        invoice.number = f"{model.issue_date.year}-B{index:06d}"
        copies.append(invoice)
    copies = Invoice.objects.bulk_create(copies, batch_size=500)
    InvoiceLine.objects.bulk_create(
        [
            InvoiceLine(
                invoice=invoice,
                **{
                    f.attname: getattr(line, f.attname)
                    for f in InvoiceLine._meta.concrete_fields
                    if f.attname not in ("id", "invoice_id")
                },
            )
            for invoice in copies
            for line in lines
        ],
        batch_size=2000,
    )
    ids = [invoice.pk for invoice in copies]
    Invoice.objects.filter(pk__in=ids).update(status=Invoice.Status.ISSUED)
    return ids


def bench_sign(ids: list[int], identity) -> list[str]:
    from invoices.models import Invoice
    from invoices.services import einvoicing
    from invoices.teif.signing import sign_teif

    invoices = list(
        Invoice.objects.filter(pk__in=ids[:SIGNED_ONE_BY_ONE]).prefetch_related("lines")
    )
    start = time.perf_counter()
    trees = [einvoicing.teif_tree(invoice) for invoice in invoices]
    generated = time.perf_counter() - start
    start = time.perf_counter()
    sizes = [len(sign_teif(tree, identity)) for tree in trees]
    signed = time.perf_counter() - start
    per = 1000 / len(invoices)
    return [
        f"Generate + sign, {len(invoices)} invoices (4 lines at 3 TVA rates each):",
        f"   generate + validate TEIF:   {generated * per:8.2f} ms per invoice",
        f"   XAdES-B signature (RSA-2048): {signed * per:6.2f} ms per invoice",
        f"   total:                      {(generated + signed) * per:8.2f} ms per invoice",
        f"   signed file:                {sum(sizes) / len(sizes) / 1024:8.1f} KiB on average",
    ]


def _export(*, traced: bool) -> tuple[float, int, int, list[int]]:
    import datetime

    from invoices.services import einvoicing

    today = datetime.date.today()
    streamed = files = 0
    held = []  # traced memory after each file: flat means it does not grow with the count
    if traced:
        tracemalloc.start()
    start = time.perf_counter()
    for chunk in einvoicing.teif_export_stream(start=today - datetime.timedelta(days=1), end=today):
        streamed += len(chunk)
        files += 1
        if traced:
            held.append(tracemalloc.get_traced_memory()[0])
    elapsed = time.perf_counter() - start
    if traced:
        tracemalloc.stop()
    return elapsed, streamed, files - 1, held


def bench_export() -> list[str]:
    """The bulk export of every issued invoice, consumed chunk by chunk like a client would:
    timed once, then run again under tracemalloc for the memory it holds."""
    elapsed, streamed, files, _ = _export(traced=False)
    _, _, _, held = _export(traced=True)
    mib = 1024 * 1024
    return [
        f"Bulk export (zip, streamed) of {files} invoices:",
        f"   {elapsed:.1f} s: {elapsed / files * 1000:.1f} ms per invoice (generate, sign, zip)",
        f"   zip: {streamed / mib:.1f} MiB",
        f"   memory held after {files // 5:>4} invoices: {max(held[: files // 5]) / mib:6.1f} MiB",
        f"   memory held after {files:>4} invoices: {max(held) / mib:6.1f} MiB",
    ]


def main() -> None:
    started = time.perf_counter()
    setup_django()
    from django.conf import settings
    from django.db import connection

    from invoices.tests import teif_helpers

    folder = Path(tempfile.mkdtemp(prefix="ecar-bench-teif-"))
    ca = teif_helpers.make_ca()
    key, cert = teif_helpers.make_signing_cert(ca)
    p12, secret = teif_helpers.write_pkcs12(folder, key, cert, ca[1])
    settings.DEBUG = False  # no query log growing with the number of invoices
    settings.TEIF_ENABLED = True
    settings.TEIF_SIGNING_CERT, settings.TEIF_SIGNING_PASSPHRASE_FILE = str(p12), str(secret)
    connection.settings_dict.setdefault("TEST", {})["NAME"] = (
        f"ecar_bench_teif_{os.getpid()}" if connection.vendor == "postgresql" else None
    )
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        from invoices.services import einvoicing

        print("ECAR El Fatoora (TEIF) benchmark")
        print("\n".join(machine()))
        print(f"database:     {connection.vendor} (scratch, deleted afterwards)")
        print()
        ids = make_invoices(INVOICES - 1)
        print("\n".join(bench_sign(ids, einvoicing.signing_identity())), flush=True)
        print()
        print("\n".join(bench_export()))
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        shutil.rmtree(settings.MEDIA_ROOT, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)
    print(f"total time: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
