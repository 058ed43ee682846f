"""Tamper evidence for auth events, access records and audit entries.

Each record, once sealed, has an entry holding HMAC-SHA256(AUDIT_SEAL_KEY) over its stream, its
position (`seq`, gapless per stream), its id and its whole content. The stream's head holds the
range of positions and the time up to which every record was sealed, under the same key. Without
the key nobody can change a record (its MAC breaks), remove one (its position is left without a
record, or missing), or add one dated before the last seal (a record the head says was sealed but
has no entry). Positions are bound individually instead of chaining each MAC to the previous
one, so that erasure and retention can re-seal the rows they rewrite or delete on purpose
without rewriting every later seal.

Sealing reads the tables themselves (a pass every few minutes), not model signals: rows written
by bulk_create or by queryset updates are sealed like any other.
"""

import hmac
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from hashlib import sha256

from auditlog.models import LogEntry
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import AuthEvent
from incidents.keys import seal_key
from incidents.models import SealEntry, SealEvent, SealHead, Stream
from privacy.models import AccessRecord

BATCH = 2000
# Passes run every few minutes: a record left unsealed this long means sealing stopped, or the
# seals themselves were deleted.
UNSEALED_LIMIT = timedelta(days=1)


@dataclass(frozen=True)
class Source:
    model: type
    time_field: str

    @property
    def fields(self) -> list[str]:
        return [f.attname for f in self.model._meta.concrete_fields]


SOURCES = {
    Stream.AUTH_EVENTS: Source(AuthEvent, "created_at"),
    Stream.ACCESS_RECORDS: Source(AccessRecord, "created_at"),
    Stream.AUDIT_LOG: Source(LogEntry, "timestamp"),
}


def stream_of(model) -> str | None:
    for stream, source in SOURCES.items():
        if source.model is model:
            return stream
    return None


def _plain(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date | Decimal):
        return str(value)
    return value


def canonical(row: tuple) -> str:
    """A record's content as one stable string (column order, UTC times, sorted JSON keys)."""
    return json.dumps(
        [_plain(value) for value in row], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def _mac(*parts) -> str:
    message = "\x1f".join(str(part) for part in parts).encode()
    return hmac.new(seal_key(), message, sha256).hexdigest()


def entry_mac(stream: str, seq: int, record_id: int, content: str | None) -> str:
    """The seal of one record (content None: retired on purpose)."""
    if content is None:
        return _mac("retired", stream, seq, record_id)
    return _mac("record", stream, seq, record_id, content)


def head_mac(head: SealHead) -> str:
    until = head.sealed_until.astimezone(UTC).isoformat() if head.sealed_until else ""
    return _mac("head", head.stream, head.first_seq, head.next_seq, until)


def _lock_head(stream: str) -> SealHead:
    head, created = SealHead.objects.get_or_create(stream=stream)
    if created:
        _save_head(head)
    return SealHead.objects.select_for_update().get(stream=stream)


def _head_ok(head: SealHead) -> bool:
    return hmac.compare_digest(head.mac, head_mac(head))


def _save_head(head: SealHead) -> None:
    head.mac = head_mac(head)
    head.save()


def _rows(source: Source, queryset):
    """(pk, time, canonical content) of a queryset's records, in primary-key order."""
    fields = source.fields
    pk_index, time_index = (
        fields.index(source.model._meta.pk.attname),
        fields.index(source.model._meta.get_field(source.time_field).attname),
    )
    for row in queryset.order_by("pk").values_list(*fields).iterator(chunk_size=BATCH):
        yield row[pk_index], row[time_index], canonical(row)


def seal_pending(*, now: datetime | None = None) -> dict[str, int]:
    """Seal every record older than the grace period that no pass has sealed yet."""
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.SECURITY_RECORD_GRACE_SECONDS)
    return {stream: _seal_stream(stream, cutoff) for stream in SOURCES}


@transaction.atomic
def _seal_stream(stream: str, cutoff: datetime) -> int:
    source = SOURCES[stream]
    head = _lock_head(stream)
    if not _head_ok(head):
        return 0  # a forged head is verify_audit's to report: never build on it
    if head.sealed_until is not None and cutoff <= head.sealed_until:
        return 0
    queryset = source.model._base_manager.filter(**{f"{source.time_field}__lt": cutoff})
    if head.sealed_until is not None:
        queryset = queryset.filter(**{f"{source.time_field}__gte": head.sealed_until})
    sealed = 0
    batch = []
    # Positions follow time order, so retention (which removes the oldest) retires a prefix.
    fields = source.fields
    pk_index = fields.index(source.model._meta.pk.attname)
    ordered = queryset.order_by(source.time_field, "pk").values_list(*fields)
    for row in ordered.iterator(chunk_size=BATCH):
        seq = head.next_seq + sealed
        record_id = row[pk_index]
        batch.append(
            SealEntry(
                stream=stream,
                seq=seq,
                record_id=record_id,
                mac=entry_mac(stream, seq, record_id, canonical(row)),
            )
        )
        sealed += 1
        if len(batch) >= BATCH:
            SealEntry.objects.bulk_create(batch)
            batch = []
    SealEntry.objects.bulk_create(batch)
    head.next_seq += sealed
    head.sealed_until = cutoff
    _save_head(head)
    return sealed


@transaction.atomic
def seal_refresh(*, model, pks, kind: str, reason: str = "", actor=None) -> int:
    """Re-seal records rewritten or deleted on purpose, and record that it was done."""
    stream = stream_of(model)
    if stream is None or not pks:
        return 0
    source = SOURCES[stream]
    head = _lock_head(stream)
    pks = sorted(set(pks))
    count = 0
    for start in range(0, len(pks), BATCH):
        chunk = pks[start : start + BATCH]
        entries = {
            e.record_id: e for e in SealEntry.objects.filter(stream=stream, record_id__in=chunk)
        }
        if not entries:
            continue
        present = {
            pk: content
            for pk, _, content in _rows(source, source.model._base_manager.filter(pk__in=chunk))
        }
        for record_id, entry in entries.items():
            content = present.get(record_id)
            entry.retired = content is None
            entry.mac = entry_mac(stream, entry.seq, record_id, content)
        SealEntry.objects.bulk_update(entries.values(), ["retired", "mac"])
        count += len(entries)
    if _head_ok(head):  # a forged head stays forged: verify_audit reports it
        _retire_prefix(head)
        _save_head(head)
    if count:
        SealEvent.objects.create(kind=kind, stream=stream, count=count, reason=reason, actor=actor)
    return count


def _retire_prefix(head: SealHead) -> None:
    """Forget retired entries at the start of the stream: the head's range starts after them."""
    live = (
        SealEntry.objects.filter(stream=head.stream, retired=False, seq__gte=head.first_seq)
        .order_by("seq")
        .values_list("seq", flat=True)
        .first()
    )
    new_first = live if live is not None else head.next_seq
    if new_first > head.first_seq:
        SealEntry.objects.filter(stream=head.stream, seq__lt=new_first).delete()
        head.first_seq = new_first


@dataclass
class Break:
    """A record that is not as it was sealed."""

    stream: str
    what: str  # changed, removed, inserted, unsealed, head
    record_id: int | None
    seq: int | None = None

    def __str__(self):
        if self.what == "head":
            return f"{self.stream}: the seal head was altered"
        where = f" (seal position {self.seq})" if self.seq is not None else ""
        if self.record_id is None:
            return f"{self.stream}: the record at seal position {self.seq} was {self.what}"
        if self.what == "unsealed":
            return f"{self.stream} record {self.record_id} was never sealed (older than a day)"
        return f"{self.stream} record {self.record_id} was {self.what}{where}"


@dataclass
class Verification:
    checked: dict[str, int] = field(default_factory=dict)
    breaks: list[Break] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks


def verify(*, limit: int = 1000) -> Verification:
    """Compare every record with its seal; collect up to `limit` breaks per stream."""
    result = Verification()
    for stream, source in SOURCES.items():
        breaks, checked = _verify_stream(stream, source, limit)
        result.checked[stream] = checked
        result.breaks.extend(breaks)
    return result


def _verify_stream(stream: str, source: Source, limit: int) -> tuple[list[Break], int]:
    head = SealHead.objects.filter(stream=stream).first()
    if head is None:
        head = SealHead(stream=stream)
        head.mac = head_mac(head)
    breaks: list[Break] = []
    if not _head_ok(head):
        breaks.append(Break(stream, "head", None))
    entries = (
        SealEntry.objects.filter(stream=stream)
        .order_by("record_id")
        .values_list("record_id", "seq", "retired", "mac")
        .iterator(chunk_size=BATCH)
    )
    records = _rows(source, source.model._base_manager.all())
    stale = timezone.now() - UNSEALED_LIMIT
    entry, record = next(entries, None), next(records, None)
    checked = 0
    seqs = 0
    while (entry is not None or record is not None) and len(breaks) < limit:
        if record is None or (entry is not None and entry[0] < record[0]):
            record_id, seq, retired, mac = entry
            seqs += 1
            if not (retired and hmac.compare_digest(mac, entry_mac(stream, seq, record_id, None))):
                breaks.append(Break(stream, "removed", record_id, seq))
            entry = next(entries, None)
        elif entry is None or record[0] < entry[0]:
            record_id, at, _ = record
            checked += 1
            if head.sealed_until is not None and at < head.sealed_until:
                breaks.append(Break(stream, "inserted", record_id))
            elif at < stale:
                breaks.append(Break(stream, "unsealed", record_id))
            record = next(records, None)
        else:
            record_id, seq, retired, mac = entry
            seqs += 1
            checked += 1
            expected = entry_mac(stream, seq, record_id, None if retired else record[2])
            if retired or not hmac.compare_digest(mac, expected):
                breaks.append(Break(stream, "changed", record_id, seq))
            entry, record = next(entries, None), next(records, None)
    if len(breaks) < limit and seqs != head.next_seq - head.first_seq:
        breaks.extend(_missing_positions(head, limit - len(breaks)))
    return breaks, checked


def _missing_positions(head: SealHead, limit: int) -> list[Break]:
    """Positions in the head's range without an entry (a record and its seal both deleted)."""
    missing = []
    expected = head.first_seq
    seqs = (
        SealEntry.objects.filter(stream=head.stream)
        .order_by("seq")
        .values_list("seq", flat=True)
        .iterator(chunk_size=BATCH)
    )
    for seq in seqs:
        while expected < seq and len(missing) < limit:
            missing.append(Break(head.stream, "removed", None, expected))
            expected += 1
        if seq < head.first_seq or seq >= head.next_seq:
            missing.append(Break(head.stream, "inserted", None, seq))
        expected = max(expected, seq + 1)
    while expected < head.next_seq and len(missing) < limit:
        missing.append(Break(head.stream, "removed", None, expected))
        expected += 1
    return missing[:limit]


@transaction.atomic
def seal_accept_current(*, reason: str, actor=None) -> dict[str, int]:
    """After an investigated break: re-seal every record as it is now, recording why."""
    counts = {}
    for stream, source in SOURCES.items():
        head = _lock_head(stream)
        SealEntry.objects.filter(stream=stream).delete()
        head.first_seq = head.next_seq
        _save_head(head)
        records = source.model._base_manager.all()
        if head.sealed_until is not None:
            records = records.filter(**{f"{source.time_field}__lt": head.sealed_until})
        else:
            records = records.none()
        batch = []
        for offset, (record_id, _, content) in enumerate(_rows(source, records)):
            seq = head.next_seq + offset
            mac = entry_mac(stream, seq, record_id, content)
            batch.append(SealEntry(stream=stream, seq=seq, record_id=record_id, mac=mac))
        SealEntry.objects.bulk_create(batch, batch_size=BATCH)
        head.next_seq += len(batch)
        _save_head(head)
        SealEvent.objects.create(
            kind=SealEvent.Kind.MANUAL, stream=stream, count=len(batch), reason=reason, actor=actor
        )
        counts[stream] = len(batch)
    return counts
