"""What personal data each app holds, how to export it and how to erase it.

Apps declare their sources in their own `personal_data.py` (imported by their AppConfig.ready);
the privacy app only ever sees this registry, never the other apps' models directly.
"""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from privacy.signals import records_changed


@dataclass(frozen=True)
class ErasureResult:
    """What one source did with a person's data: erased (deleted or anonymised) or retained."""

    erased: int = 0
    retained: int = 0
    reason: str = ""


@dataclass(frozen=True)
class PersonalDataSource:
    """One category of personal data about a user."""

    name: str
    models: tuple = ()
    # Rows about `user`, JSON-ready, produced lazily (exports are streamed); None: not exported.
    export: Callable[[object], Iterable[dict]] | None = None
    # Erase or anonymise the data of `user`; called inside the erasure transaction, in order.
    erase: Callable[[object], ErasureResult] | None = None
    # Files of `user` for the zip export: (archive name, iterator of bytes chunks).
    files: Callable[[object], Iterable[tuple[str, Iterator[bytes]]]] | None = None
    # Exports list sources by ascending order; erasure runs them in the reverse order.
    order: int = 100


def older_than(days: int):
    """The cut-off time of a retention period of `days` days."""
    return timezone.now() - timedelta(days=days)


def purge(queryset, dry_run: bool) -> int:
    """Delete a queryset's rows (or only count them on a dry run); how many rows."""
    if dry_run:
        return queryset.count()
    with transaction.atomic():
        pks = list(queryset.values_list("pk", flat=True))
        # The model's own rows, not the rows deleted with them by cascade.
        deleted = queryset.filter(pk__in=pks).delete()[1]
        records_changed(queryset.model, pks, reason="retention")
    return deleted.get(queryset.model._meta.label, 0)


@dataclass(frozen=True)
class RetentionRule:
    """Something removed when its retention ends: `purge(dry_run)` returns how many rows."""

    name: str
    purge: Callable[[bool], int]


class Registry:
    def __init__(self):
        self._sources: dict[str, PersonalDataSource] = {}
        self._retention: dict[str, RetentionRule] = {}

    def register_retention(self, rule: RetentionRule) -> None:
        if rule.name in self._retention:
            raise ValueError(f"Retention rule {rule.name!r} is registered twice.")
        self._retention[rule.name] = rule

    def retention_rules(self) -> list[RetentionRule]:
        return [self._retention[name] for name in sorted(self._retention)]

    def register(self, source: PersonalDataSource) -> None:
        if source.name in self._sources:
            raise ValueError(f"Personal data source {source.name!r} is registered twice.")
        self._sources[source.name] = source

    def sources(self) -> list[PersonalDataSource]:
        return sorted(self._sources.values(), key=lambda s: (s.order, s.name))

    def declared_models(self) -> set:
        return {model for source in self._sources.values() for model in source.models}


registry = Registry()
