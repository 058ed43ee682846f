"""Signals for apps that watch security records (auth events, access records, audit entries)."""

from django.dispatch import Signal

# Sent inside the transaction that deliberately rewrote or deleted rows of security records:
# sender is the model, `pks` the primary keys, `reason` "erasure" or "retention". Rows still
# present were anonymised, rows gone were purged. Listeners (the audit seals) re-seal them.
security_records_changed = Signal()


def records_changed(model, pks, *, reason: str) -> None:
    """Announce that rows of `model` were rewritten or deleted on purpose."""
    if pks:
        security_records_changed.send(sender=model, pks=list(pks), reason=reason)
