"""Detectors: patterns in the security records that are new since the last pass.

Each detector gets the new rows of its source and looks back in the tables only as far as its
window needs, so a pass costs what is new, not what is stored. A finding names what it is about
(account, IP, staff member) by ids, keyed username digests, counts and IPs: never by name.
"""

import ipaddress
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from auditlog.models import LogEntry
from django.conf import settings

from accounts.models import AuthEvent, Role, User
from accounts.permissions import STAFF
from incidents.models import SecurityAlert, Severity
from privacy.models import AccessRecord, ErasureLedgerEntry

Detector = SecurityAlert.Detector
FAILED = (AuthEvent.Kind.LOGIN_FAILED, AuthEvent.Kind.LOGIN_THROTTLED)
# Auth events a person causes themselves (a revocation's user is its target, not its actor).
OWN_ACTIVITY = frozenset(
    {
        AuthEvent.Kind.LOGIN_SUCCEEDED,
        AuthEvent.Kind.TOKEN_REFRESHED,
        AuthEvent.Kind.LOGGED_OUT,
        AuthEvent.Kind.PASSWORD_CHANGED,
    }
)
EXPORT_ACTION = "personal_data.export"
MAX_LISTED = 20


@dataclass(frozen=True)
class Finding:
    detector: str
    severity: str
    key: str
    at: datetime
    evidence: dict


@dataclass
class NewRecords:
    """What a pass reads: the rows added to each source since the previous pass."""

    auth_events: list
    access_records: list
    audit_log: list
    erasures: list


def _minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


def _peak(rows: list[tuple], window: timedelta) -> tuple[int, list[tuple]]:
    """Most distinct values within any window of (time, value, ...) rows sorted by time."""
    best, best_rows, start, counts = 0, [], 0, Counter()
    for end, row in enumerate(rows):
        counts[row[1]] += 1
        while row[0] - rows[start][0] > window:
            counts[rows[start][1]] -= 1
            if not counts[rows[start][1]]:
                del counts[rows[start][1]]
            start += 1
        if len(counts) > best:
            best, best_rows = len(counts), rows[start : end + 1]
    return best, best_rows


def _span(new: list, attribute: str, window: timedelta) -> tuple[datetime, datetime]:
    times = [getattr(row, attribute) for row in new]
    return min(times) - window, max(times)


def _ips(rows, index: int) -> list[str]:
    return sorted({str(row[index]) for row in rows if row[index]})[:MAX_LISTED]


def _roles(user_ids) -> dict[int, str]:
    ids = {uid for uid in user_ids if uid}
    return dict(User.objects.filter(pk__in=ids).values_list("pk", "role")) if ids else {}


def brute_force(new: NewRecords):
    """Many failed logins against one account (by keyed username digest) within the window."""
    window = _minutes(settings.DETECT_BRUTE_FORCE_MINUTES)
    by_digest: dict[str, list] = {}
    for event in new.auth_events:
        if event.kind in FAILED and event.username_digest:
            by_digest.setdefault(event.username_digest, []).append(event)
    for digest, events in by_digest.items():
        since, until = _span(events, "created_at", window)
        rows = list(
            AuthEvent.objects.filter(
                kind__in=FAILED,
                username_digest=digest,
                created_at__gte=since,
                created_at__lte=until,
            )
            .order_by("created_at", "id")
            .values_list("created_at", "id", "ip", "user_id")
        )
        count, peak = _peak(rows, window)
        if count < settings.DETECT_BRUTE_FORCE_FAILURES:
            continue
        user_ids = sorted({row[3] for row in peak if row[3]})
        staff = any(role in STAFF for role in _roles(user_ids).values())
        yield Finding(
            Detector.BRUTE_FORCE,
            Severity.HIGH if staff else Severity.MEDIUM,
            f"brute_force:{digest}",
            peak[-1][0],
            {
                "username_digest": digest,
                "user_ids": user_ids,
                "attempts": count,
                "ips": _ips(peak, 2),
                "window_minutes": settings.DETECT_BRUTE_FORCE_MINUTES,
                "first_event_id": peak[0][1],
                "last_event_id": peak[-1][1],
            },
        )


def credential_stuffing(new: NewRecords):
    """Failed logins for many different accounts from one IP within the window."""
    window = _minutes(settings.DETECT_STUFFING_MINUTES)
    by_ip: dict[str, list] = {}
    for event in new.auth_events:
        if event.kind in FAILED and event.ip and event.username_digest:
            by_ip.setdefault(event.ip, []).append(event)
    for ip, events in by_ip.items():
        since, until = _span(events, "created_at", window)
        rows = list(
            AuthEvent.objects.filter(
                kind__in=FAILED, ip=ip, created_at__gte=since, created_at__lte=until
            )
            .exclude(username_digest="")
            .order_by("created_at", "id")
            .values_list("created_at", "username_digest", "id")
        )
        count, peak = _peak(rows, window)
        if count < settings.DETECT_STUFFING_ACCOUNTS:
            continue
        yield Finding(
            Detector.CREDENTIAL_STUFFING,
            Severity.HIGH,
            f"credential_stuffing:{ip}",
            peak[-1][0],
            {
                "ip": ip,
                "accounts": count,
                "attempts": len(peak),
                "username_digests": sorted({row[1] for row in peak})[:MAX_LISTED],
                "window_minutes": settings.DETECT_STUFFING_MINUTES,
                "first_event_id": peak[0][2],
                "last_event_id": peak[-1][2],
            },
        )


def refresh_reuse(new: NewRecords):
    """A rotated refresh token presented again: it was copied (the account was signed out)."""
    for event in new.auth_events:
        if event.kind == AuthEvent.Kind.REFRESH_REUSED:
            yield Finding(
                Detector.REFRESH_REUSE,
                Severity.HIGH,
                f"refresh_reuse:{event.user_id}",
                event.created_at,
                {"user_id": event.user_id, "ip": event.ip, "event_id": event.pk},
            )


def _person(subject_user_id, subject_type_id, subject_id) -> str:
    if subject_user_id:
        return f"user:{subject_user_id}"
    return f"{subject_type_id}:{subject_id}"


def staff_mass_read(new: NewRecords):
    """A staff member reading the records or documents of many different people in a short time."""
    window = _minutes(settings.DETECT_MASS_READ_MINUTES)
    by_actor: dict[int, list] = {}
    for record in new.access_records:
        if record.actor_id and record.actor_role in STAFF:
            by_actor.setdefault(record.actor_id, []).append(record)
    for actor_id, records in by_actor.items():
        since, until = _span(records, "created_at", window)
        rows = [
            (at, _person(user_id, type_id, subject_id), pk, action, ip)
            for at, user_id, type_id, subject_id, pk, action, ip in AccessRecord.objects.filter(
                actor_id=actor_id, created_at__gte=since, created_at__lte=until
            )
            .exclude(subject_user_id=actor_id)
            .order_by("created_at", "id")
            .values_list(
                "created_at",
                "subject_user_id",
                "subject_type_id",
                "subject_id",
                "id",
                "action",
                "ip",
            )
        ]
        count, peak = _peak(rows, window)
        if count < settings.DETECT_MASS_READ_PEOPLE:
            continue
        yield Finding(
            Detector.STAFF_MASS_READ,
            Severity.HIGH,
            f"staff_mass_read:{actor_id}",
            peak[-1][0],
            {
                "actor_id": actor_id,
                "actor_role": records[0].actor_role,
                "people": count,
                "reads": len(peak),
                "actions": dict(Counter(row[3] for row in peak)),
                "ips": _ips(peak, 4),
                "window_minutes": settings.DETECT_MASS_READ_MINUTES,
                "first_record_id": peak[0][2],
                "last_record_id": peak[-1][2],
            },
        )


def export_burst(new: NewRecords):
    """One requester exporting personal data many times within the window."""
    window = _minutes(settings.DETECT_BURST_MINUTES)
    by_actor: dict[int, list] = {}
    for record in new.access_records:
        if record.action == EXPORT_ACTION and record.actor_id:
            by_actor.setdefault(record.actor_id, []).append(record)
    for actor_id, records in by_actor.items():
        since, until = _span(records, "created_at", window)
        rows = list(
            AccessRecord.objects.filter(
                actor_id=actor_id,
                action=EXPORT_ACTION,
                created_at__gte=since,
                created_at__lte=until,
            )
            .order_by("created_at", "id")
            .values_list("created_at", "id", "subject_user_id", "ip")
        )
        count, peak = _peak(rows, window)
        if count < settings.DETECT_EXPORT_BURST:
            continue
        yield Finding(
            Detector.EXPORT_BURST,
            Severity.HIGH,
            f"export_burst:{actor_id}",
            peak[-1][0],
            {
                "actor_id": actor_id,
                "exports": count,
                "people": len({row[2] for row in peak if row[2]}),
                "ips": _ips(peak, 3),
                "window_minutes": settings.DETECT_BURST_MINUTES,
                "record_ids": [row[1] for row in peak][:MAX_LISTED],
            },
        )


def erasure_burst(new: NewRecords):
    """Many erasures within the window (an attacker destroying data through the rights API)."""
    if not new.erasures:
        return
    window = _minutes(settings.DETECT_BURST_MINUTES)
    since, until = _span(new.erasures, "erased_at", window)
    rows = list(
        ErasureLedgerEntry.objects.filter(erased_at__gte=since, erased_at__lte=until)
        .order_by("erased_at", "id")
        .values_list("erased_at", "id", "requested_by_role")
    )
    count, peak = _peak(rows, window)
    if count >= settings.DETECT_ERASURE_BURST:
        yield Finding(
            Detector.ERASURE_BURST,
            Severity.HIGH,
            "erasure_burst",
            peak[-1][0],
            {
                "erasures": count,
                "by_role": dict(Counter(row[2] for row in peak)),
                "window_minutes": settings.DETECT_BURST_MINUTES,
                "ledger_ids": [row[1] for row in peak][:MAX_LISTED],
            },
        )


def _network(ip: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    address = ipaddress.ip_address(ip)
    prefix = (
        settings.DETECT_ADMIN_NETWORK_PREFIX_V4
        if address.version == 4
        else settings.DETECT_ADMIN_NETWORK_PREFIX_V6
    )
    return ipaddress.ip_network(f"{address}/{prefix}", strict=False)


def admin_new_network(new: NewRecords):
    """A super-admin signing in from a network none of their recent logins came from."""
    logins = [
        e
        for e in new.auth_events
        if e.kind == AuthEvent.Kind.LOGIN_SUCCEEDED and e.user_id and e.ip
    ]
    roles = _roles(e.user_id for e in logins)
    history = timedelta(days=settings.DETECT_ADMIN_NETWORK_HISTORY_DAYS)
    for event in logins:
        if roles.get(event.user_id) != Role.SUPER_ADMIN:
            continue
        network = _network(event.ip)
        earlier = AuthEvent.objects.filter(
            user_id=event.user_id,
            kind=AuthEvent.Kind.LOGIN_SUCCEEDED,
            created_at__lt=event.created_at,
            created_at__gte=event.created_at - history,
        ).exclude(ip=None)
        known = {_network(ip) for ip in earlier.values_list("ip", flat=True)}
        if known and network not in known:
            yield Finding(
                Detector.ADMIN_NEW_NETWORK,
                Severity.HIGH,
                f"admin_new_network:{event.user_id}:{network}",
                event.created_at,
                {
                    "user_id": event.user_id,
                    "ip": event.ip,
                    "network": str(network),
                    "known_networks": len(known),
                    "event_id": event.pk,
                },
            )


def inactive_login(new: NewRecords):
    """A login after a long time without one (or the first, long after the account was made)."""
    threshold = timedelta(days=settings.DETECT_INACTIVE_DAYS)
    logins = [e for e in new.auth_events if e.kind == AuthEvent.Kind.LOGIN_SUCCEEDED and e.user_id]
    joined = dict(
        User.objects.filter(pk__in={e.user_id for e in logins}).values_list("pk", "date_joined")
    )
    roles = _roles(e.user_id for e in logins)
    for event in logins:
        previous = (
            AuthEvent.objects.filter(
                user_id=event.user_id,
                kind=AuthEvent.Kind.LOGIN_SUCCEEDED,
                created_at__lt=event.created_at,
            )
            .order_by("-created_at")
            .values_list("created_at", flat=True)
            .first()
        )
        reference = previous or joined.get(event.user_id)
        if reference is None or event.created_at - reference < threshold:
            continue
        yield Finding(
            Detector.INACTIVE_LOGIN,
            Severity.HIGH if roles.get(event.user_id) in STAFF else Severity.MEDIUM,
            f"inactive_login:{event.user_id}",
            event.created_at,
            {
                "user_id": event.user_id,
                "days_inactive": (event.created_at - reference).days,
                "first_login": previous is None,
                "ip": event.ip,
                "event_id": event.pk,
            },
        )


def _opening_hours() -> tuple[time, time]:
    start, end = settings.DETECT_STAFF_HOURS.split("-")
    return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())


def staff_off_hours(new: NewRecords):
    """Staff signing in, reading personal data or changing records outside opening hours."""
    zone = ZoneInfo(settings.TIME_ZONE)
    opens, closes = _opening_hours()
    activity = [
        (e.user_id, e.created_at, "auth_events")
        for e in new.auth_events
        if e.user_id and e.kind in OWN_ACTIVITY
    ]
    activity += [(r.actor_id, r.created_at, "access_records") for r in new.access_records]
    activity += [(e.actor_id, e.timestamp, "audit_log") for e in new.audit_log]
    roles = _roles(actor for actor, _, _ in activity)
    found: dict[tuple, dict] = {}
    for actor, at, source in activity:
        if roles.get(actor) not in STAFF:
            continue
        local = at.astimezone(zone)
        if local.weekday() in settings.DETECT_STAFF_WEEKDAYS and opens <= local.time() < closes:
            continue
        day = local.date().isoformat()
        entry = found.setdefault(
            (actor, day), {"first": at, "last": at, "sources": Counter(), "role": roles[actor]}
        )
        entry["first"], entry["last"] = min(entry["first"], at), max(entry["last"], at)
        entry["sources"][source] += 1
    for (actor, day), entry in found.items():
        yield Finding(
            Detector.STAFF_OFF_HOURS,
            Severity.MEDIUM,
            f"staff_off_hours:{actor}:{day}",
            entry["last"],
            {
                "user_id": actor,
                "role": entry["role"],
                "local_date": day,
                "first_at": entry["first"].isoformat(),
                "last_at": entry["last"].isoformat(),
                "activities": dict(entry["sources"]),
                "opening_hours": settings.DETECT_STAFF_HOURS,
            },
        )


DETECTORS = (
    brute_force,
    credential_stuffing,
    refresh_reuse,
    staff_mass_read,
    export_burst,
    erasure_burst,
    admin_new_network,
    inactive_login,
    staff_off_hours,
)

# What each source of a pass is read from, and its time column (for the grace period).
SOURCES = {
    "auth_events": (AuthEvent, "created_at"),
    "access_records": (AccessRecord, "created_at"),
    "audit_log": (LogEntry, "timestamp"),
    "erasures": (ErasureLedgerEntry, "erased_at"),
}
