"""Reads for super-admins: alerts, incidents, the people an incident affected, its timeline."""

import ipaddress
import logging
import time
from dataclasses import dataclass, field

from auditlog.models import LogEntry
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.utils import timezone

from accounts.models import Profile, Role, User
from garage.models import Customer
from incidents.models import BlockedNetwork, Incident, SecurityAlert
from privacy.models import AccessRecord
from privacy.registry import registry

BLOCKS_CACHE_KEY = "incidents:blocked-networks"
logger = logging.getLogger("ecar.security")

# Whose data a row of each model is: the account itself, or a customer (who may have one).
OWNERS = {
    "accounts.user": ("user", "pk"),
    "accounts.profile": ("user", "user_id"),
    "garage.customer": ("customer", "pk"),
    "garage.vehicle": ("customer", "customer_id"),
    "garage.odometerreading": ("customer", "vehicle__customer_id"),
    "garage.vehicledocument": ("customer", "vehicle__customer_id"),
    "garage.appointment": ("customer", "customer_id"),
    "garage.serviceorder": ("customer", "customer_id"),
    "invoices.invoice": ("customer", "customer_id"),
    "invoices.creditnote": ("customer", "customer_id"),
}


def alert_list(*, filters: dict | None = None):
    filters = filters or {}
    queryset = SecurityAlert.objects.select_related("incident").order_by("-created_at", "-id")
    for name in ("status", "severity", "detector"):
        if filters.get(name):
            queryset = queryset.filter(**{name: filters[name]})
    return queryset


def incident_list(*, filters: dict | None = None):
    filters = filters or {}
    queryset = Incident.objects.order_by("-created_at", "-id")
    if filters.get("status"):
        queryset = queryset.filter(status=filters["status"])
    return queryset


def blocked_networks_load() -> list[tuple]:
    """(network, expires_at) of the blocks in force, from the table."""
    return [
        (ipaddress.ip_network(network), expires_at)
        for network, expires_at in BlockedNetwork.objects.filter(
            expires_at__gt=timezone.now()
        ).values_list("network", "expires_at")
    ]


# This worker's copy of the published blocks: (monotonic time it was read, blocks).
_blocks_read: tuple[float, list] | None = None


def blocked_networks_forget() -> None:
    """Drop this worker's copy: the next request reads the shared cache again."""
    global _blocks_read
    _blocks_read = None


def blocked_networks_active() -> list[tuple]:
    """The blocks in force as published in the shared cache (no database query per request).

    Published when a block is made and again by every detectors pass, so a restarted cache
    holds them again within minutes. Each worker keeps what it read for
    NETWORK_BLOCKS_REFRESH_SECONDS: one cache round trip per interval, not one per request.
    A cache that cannot be read blocks nothing rather than failing every request (the health
    check reports it).
    """
    global _blocks_read
    now = time.monotonic()
    if _blocks_read is not None and now - _blocks_read[0] < settings.NETWORK_BLOCKS_REFRESH_SECONDS:
        return _blocks_read[1]
    try:
        blocks = cache.get(BLOCKS_CACHE_KEY) or []
    except Exception:  # noqa: BLE001 - any cache client error: fail open, never a 500
        logger.warning("Blocked networks: the cache cannot be read")
        return []
    _blocks_read = (now, blocks)
    return blocks


@dataclass
class Person:
    """Someone whose data the incident exposed: an account holder or a walk-in customer."""

    key: str
    user_id: int | None = None
    customer_id: int | None = None
    categories: set = field(default_factory=set)
    reads: int = 0


def _category(model) -> str:
    for source in registry.sources():
        if model in source.models:
            return source.name
    return model._meta.model_name


def _in_networks(ip, networks) -> bool:
    if not ip or not networks:
        return False
    address = ipaddress.ip_address(ip)
    return any(address.version == n.version and address in n for n in networks)


def _resolve(touched: dict[tuple, list]) -> dict[str, Person]:
    """{(content type id, object id): [count, account id if known]} → whose rows they are."""
    by_type: dict[int, dict[str, list]] = {}
    for (type_id, object_id), value in touched.items():
        by_type.setdefault(type_id, {})[str(object_id)] = value
    people: dict[str, Person] = {}
    customers: dict[int, list] = {}

    def add(key: str, category: str, count: int, **ids) -> None:
        person = people.setdefault(key, Person(key=key, **ids))
        person.categories.add(category)
        person.reads += count

    for type_id, objects in by_type.items():
        model = ContentType.objects.get_for_id(type_id).model_class()
        if model is None:
            continue
        category = _category(model)
        unknown = {}
        for object_id, (count, user_id) in objects.items():
            if user_id:
                add(f"user:{user_id}", category, count, user_id=user_id)
            else:
                unknown[object_id] = count
        owner = OWNERS.get(model._meta.label_lower)
        if owner is None or not unknown:
            continue
        kind, path = owner
        pks = [pk for pk in unknown if pk.isdigit()]
        for pk, owner_id in model._base_manager.filter(pk__in=pks).values_list("pk", path):
            if owner_id is None:
                continue
            if kind == "user":
                add(f"user:{owner_id}", category, unknown[str(pk)], user_id=owner_id)
            else:
                customers.setdefault(owner_id, []).append((category, unknown[str(pk)]))
    accounts = dict(Customer.objects.filter(pk__in=customers).values_list("pk", "user_id"))
    for customer_id, touches in customers.items():
        user_id = accounts.get(customer_id)
        for category, count in touches:
            if user_id:
                add(f"user:{user_id}", category, count, user_id=user_id)
            else:
                add(f"customer:{customer_id}", category, count, customer_id=customer_id)
    return people


def _touch(touched: dict, key: tuple, user_id=None) -> None:
    entry = touched.setdefault(key, [0, None])
    entry[0] += 1
    entry[1] = entry[1] or user_id


def incident_affected(*, incident: Incident) -> dict[str, Person]:
    """Whose data was read or changed in the incident's window, within its scope.

    Scope: what the suspected accounts did, and what was done from the attacker's networks,
    as access records (reads) and audit entries (changes) show it; a person's own actions on
    their own data do not count. With `scope_everyone`, every person the system holds data on.
    """
    if incident.scope_everyone:
        return _everyone()
    until = incident.occurred_to or timezone.now()
    actors = set(incident.scope_user_ids)
    networks = [ipaddress.ip_network(n) for n in incident.scope_networks]
    touched: dict[tuple, list] = {}
    records = AccessRecord.objects.filter(
        created_at__gte=incident.occurred_from, created_at__lte=until
    ).values_list("actor_id", "ip", "subject_type_id", "subject_id", "subject_user_id")
    for actor_id, ip, type_id, subject_id, subject_user_id in records.iterator(chunk_size=2000):
        in_scope = actor_id in actors or _in_networks(ip, networks)
        if in_scope and not (subject_user_id and subject_user_id == actor_id):
            _touch(touched, (type_id, subject_id), subject_user_id)
    entries = LogEntry.objects.filter(
        timestamp__gte=incident.occurred_from, timestamp__lte=until
    ).values_list("actor_id", "remote_addr", "content_type_id", "object_pk")
    for actor_id, ip, type_id, object_pk in entries.iterator(chunk_size=2000):
        if actor_id in actors or _in_networks(ip, networks):
            _touch(touched, (type_id, object_pk))
    people = _resolve(touched)
    for actor in actors:
        people.pop(f"user:{actor}", None)  # the suspected account is not its own victim
    return people


def _everyone() -> dict[str, Person]:
    people: dict[str, Person] = {}
    categories = {s.name for s in registry.sources() if s.export is not None}
    for user_id in (
        User.objects.filter(role=Role.CUSTOMER)
        .exclude(username__startswith="erased-")
        .values_list("pk", flat=True)
    ):
        people[f"user:{user_id}"] = Person(
            f"user:{user_id}", user_id=user_id, categories=set(categories)
        )
    for customer_id in Customer.objects.filter(user__isnull=True).values_list("pk", flat=True):
        people[f"customer:{customer_id}"] = Person(
            f"customer:{customer_id}", customer_id=customer_id, categories=set(categories)
        )
    return people


@dataclass
class Contact:
    email: str | None
    phone: str | None
    language: str
    prefers_sms: bool


def person_contact(person: Person) -> Contact:
    """How to reach someone (decrypted in memory only): their profile, else the customer record."""
    email = phone = None
    language = "fr"
    prefers_sms = False
    if person.user_id:
        profile = Profile.objects.filter(user_id=person.user_id).first()
        if profile is not None:
            email, phone, language = profile.email, profile.phone, profile.language
        customer = Customer.objects.filter(user_id=person.user_id).first()
    else:
        customer = Customer.objects.filter(pk=person.customer_id).first()
    if customer is not None:
        email, phone = email or customer.email, phone or customer.phone
        prefers_sms = customer.preferred_contact == Customer.ContactMethod.SMS
    return Contact(email=email, phone=phone, language=language, prefers_sms=prefers_sms)


def incident_timeline(*, incident: Incident) -> list[dict]:
    """What happened, oldest first: the window, the alerts, every recorded step."""
    items = [
        {"at": incident.occurred_from, "kind": "window_start", "details": {}, "actor_id": None}
    ]
    for alert in incident.alerts.order_by("first_seen"):
        items.append(
            {
                "at": alert.first_seen,
                "kind": "alert",
                "details": {"alert_id": alert.pk, "detector": alert.detector},
                "actor_id": None,
            }
        )
    for event in incident.events.order_by("created_at", "id"):
        items.append(
            {
                "at": event.created_at,
                "kind": event.kind,
                "details": event.details,
                "actor_id": event.actor_id,
            }
        )
    if incident.occurred_to:
        items.append(
            {"at": incident.occurred_to, "kind": "window_end", "details": {}, "actor_id": None}
        )
    return sorted(items, key=lambda item: item["at"])
