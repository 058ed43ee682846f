"""Use cases of the privacy app: access records, consent, export and erasure."""

import io
import json
import zipfile
from collections.abc import Iterator

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from accounts.network import client_ip
from accounts.throttling import password_check_throttle_hit
from config.exceptions import ApplicationError, Throttled
from privacy.erasure import ledger_append
from privacy.models import AccessRecord, Consent, ErasureLedgerEntry, PrivacyNotice
from privacy.registry import registry

EXPORT_FORMAT = "ecar-personal-data/1"


def access_record_create(
    *, request, subject, action: str, subject_user_id: int | None = None
) -> AccessRecord:
    """Record that the requesting user read personal data of `subject` (a model instance).

    `subject_user_id`: the account of the person whose data it is, when they have one.
    """
    actor = request.user if request.user.is_authenticated else None
    return AccessRecord.objects.create(
        actor=actor,
        actor_role=getattr(actor, "role", ""),
        subject_user_id=subject_user_id,
        subject_type=ContentType.objects.get_for_model(subject),
        subject_id=str(subject.pk),
        action=action,
        ip=client_ip(request),
    )


def consent_record(*, request, user, purpose: str, granted: bool) -> Consent:
    """Record a consent decision (given or withdrawn), with the notice version, time and IP."""
    notice = PrivacyNotice.objects.order_by("-published_at", "-id").first()
    if purpose == Consent.Purpose.PRIVACY_NOTICE and notice is None:
        raise ApplicationError("No privacy notice is published yet.", code="no_notice")
    return Consent.objects.create(
        user=user,
        purpose=purpose,
        granted=granted,
        notice_version=notice.version if notice else "",
        ip=client_ip(request),
    )


def export_stream(*, user) -> Iterator[bytes]:
    """Everything held about `user`, as one JSON document produced piece by piece."""
    head = {
        "format": EXPORT_FORMAT,
        "generated_at": timezone.now().isoformat(),
        "user_id": user.pk,
    }
    yield json.dumps(head, cls=DjangoJSONEncoder)[:-1].encode() + b', "sections": {'
    exported = [source for source in registry.sources() if source.export is not None]
    for position, source in enumerate(exported):
        prefix = ", " if position else ""
        yield f"{prefix}{json.dumps(source.name)}: [".encode()
        for index, row in enumerate(source.export(user)):
            yield (", " if index else "").encode() + json.dumps(row, cls=DjangoJSONEncoder).encode()
        yield b"]"
    yield b"}}"


class _Sink(io.RawIOBase):
    """A write-only, unseekable file that hands back what was written since the last drain."""

    def __init__(self):
        self._chunks: list[bytes] = []
        self._position = 0

    def writable(self):
        return True

    def write(self, data):
        self._chunks.append(bytes(data))
        self._position += len(data)
        return len(data)

    def tell(self):
        return self._position

    def drain(self) -> bytes:
        data, self._chunks = b"".join(self._chunks), []
        return data


def export_zip_stream(*, user) -> Iterator[bytes]:
    """The export as a zip: data.json and the person's documents, decrypted, streamed."""
    sink = _Sink()
    stamp = timezone.localtime().timetuple()[:6]

    def entry(name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        return info

    with zipfile.ZipFile(sink, "w") as archive:
        with archive.open(entry("data.json"), "w", force_zip64=True) as member:
            for piece in export_stream(user=user):
                member.write(piece)
                yield sink.drain()
        for source in registry.sources():
            for name, chunks in source.files(user) if source.files else ():
                with archive.open(entry(f"documents/{name}"), "w", force_zip64=True) as member:
                    for chunk in chunks:
                        member.write(chunk)
                        yield sink.drain()
    yield sink.drain()


def fresh_authentication(*, request, password: str | None) -> bool:
    """True when the caller just signed in (a recent access token) or proved their password.

    Password attempts are throttled per user: an older, stolen token cannot guess it here.
    """
    if password:
        retry_after = password_check_throttle_hit(request, request.user)
        if retry_after is not None:
            raise Throttled(retry_after)
        return request.user.check_password(password)
    issued_at = request.auth.get("iat") if request.auth is not None else None
    if issued_at is None:
        return False
    age = timezone.now().timestamp() - float(issued_at)
    return age <= settings.ERASURE_FRESH_TOKEN_SECONDS


def person_erase(*, request, user) -> dict:
    """Erase or anonymise everything held about `user`; retained data is listed with its reason.

    Idempotent: erasing an erased person changes nothing and returns the same kind of summary.
    """
    User = get_user_model()
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if user.role == "super_admin" and not (
            User.objects.filter(role="super_admin", is_active=True).exclude(pk=user.pk).exists()
        ):
            raise ApplicationError(
                "The last active super-admin cannot be erased.", code="last_super_admin"
            )
        already = ErasureLedgerEntry.objects.filter(user_id=user.pk).exists()
        summary = _erase_everything(user)
        if not already:
            # The account's creation time tells it apart from a later account that is given
            # the same id after a restore rewinds the id sequence.
            identity = {"user": user.pk, "joined": user.date_joined.isoformat()}
            entry = ErasureLedgerEntry.objects.create(
                user_id=user.pk,
                subject_ids=identity,
                requested_by_role=getattr(request.user, "role", ""),
            )
            ledger = {
                "user_id": user.pk,
                "joined": identity["joined"],
                "erased_at": entry.erased_at.isoformat(),
            }
            transaction.on_commit(lambda: ledger_append(ledger))
    return {"already_erased": already, **summary}


def _erase_everything(user) -> dict:
    erased, retained = {}, {}
    for source in reversed(registry.sources()):
        if source.erase is None:
            continue
        result = source.erase(user)
        if result.erased:
            erased[source.name] = result.erased
        if result.retained:
            retained[source.name] = {"count": result.retained, "reason": result.reason}
    return {"erased": erased, "retained": retained}


def ledger_reapply(*, entries) -> int:
    """Erase again everyone in the ledger entries (after restoring an older backup)."""
    User = get_user_model()
    count = 0
    for entry in entries:
        user = User.objects.filter(pk=entry["user_id"]).first()
        if user is None or user.date_joined.isoformat() != entry.get("joined"):
            continue  # gone, or the id now belongs to someone else
        with transaction.atomic():
            _erase_everything(user)
            ErasureLedgerEntry.objects.get_or_create(
                user_id=user.pk,
                defaults={"subject_ids": {"user": user.pk, "joined": entry["joined"]}},
            )
        count += 1
    return count
