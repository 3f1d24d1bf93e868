"""A submitted message made durable: checked, then written as a Mailing of its account (one
Message, one Recipient per envelope recipient, the bytes kept) in one transaction. The server
answers 250 only once that transaction has committed; any failure before is a 4xx or 5xx and
nothing is kept.

What the relay changes in the message, and nothing more: line endings made CRLF, the Bcc and
Return-Path headers dropped (RFC 6409 §8; the receiving server writes its own Return-Path), a
Message-ID and a Date added when missing; the DKIM signature is added when it leaves.
"""

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from email.policy import compat32
from email.utils import format_datetime, getaddresses

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import Lower
from django.utils import timezone

from mailing.mailings.rendering import new_message_id
from mailing.models import (
    ApplicationAccess,
    Mailing,
    Message,
    Recipient,
    SubmittedMessage,
    SuppressedAddress,
)

S = Message.Status
_LONE_LF = re.compile(rb"(?<!\r)\n")
_HEADER_END = b"\r\n\r\n"
DROPPED_HEADERS = {b"bcc", b"resent-bcc", b"return-path"}


class Refused(Exception):
    """The message is not accepted; `reply` is the SMTP answer, code and text."""

    def __init__(self, reply: str):
        super().__init__(reply)
        self.reply = reply


@dataclass
class Accepted:
    mailing_id: int
    account_id: int
    recipients: int
    skipped: int
    duplicate: bool = False


# --- checks made while the client speaks -----------------------------------------------------

def sender_refusal(access: ApplicationAccess, address: str) -> str | None:
    """The envelope sender must be the account's own address: never an open relay."""
    own = access.account.envelope_from
    if address.lower() != own.lower():
        return f"550 5.7.1 Sender address rejected: this access sends only as <{own}>"
    return None


def recipient_refusal(address: str, already: int) -> str | None:
    if already >= settings.SUBMISSION_MAX_RECIPIENTS:
        return (f"452 4.5.3 Too many recipients (at most {settings.SUBMISSION_MAX_RECIPIENTS} "
                "per message): send the rest in another message")
    try:
        validate_email(address)
    except ValidationError:
        return "553 5.1.3 Invalid recipient address"
    return None


@dataclass
class Usage:
    """What an access submitted lately, read once per transaction (at MAIL)."""

    messages_last_minute: int
    recipients_last_hour: int

    def message_refusal(self) -> str | None:
        per_minute = settings.SUBMISSION_MESSAGES_PER_MINUTE
        if self.messages_last_minute >= per_minute:
            return (f"451 4.7.1 Rate limit: at most {per_minute} messages a minute for this "
                    "access, try again shortly")
        return self.recipient_refusal(0)

    def recipient_refusal(self, recipients: int) -> str | None:
        """Refusal if `recipients` more would pass the hourly limit (451 4.7.1: the
        application retries later)."""
        per_hour = settings.SUBMISSION_RECIPIENTS_PER_HOUR
        if self.recipients_last_hour + recipients > per_hour:
            return (f"451 4.7.1 Rate limit: at most {per_hour} recipients an hour for this "
                    "access, try again later")
        return None


def access_usage(access_pk: int) -> Usage:
    now = timezone.now()
    row = SubmittedMessage.objects.filter(
        application_id=access_pk, received_at__gte=now - timedelta(hours=1)).aggregate(
        messages=Count("pk", filter=Q(received_at__gte=now - timedelta(minutes=1))),
        recipients=Sum("recipient_count"))
    return Usage(row["messages"] or 0, row["recipients"] or 0)


# --- the message itself ----------------------------------------------------------------------

def _split(raw: bytes) -> tuple[bytes, bytes]:
    """Header block (ending with its CRLF) and body (after the blank line)."""
    head, found, body = raw.partition(_HEADER_END)
    if not found:
        return raw if raw.endswith(b"\r\n") else raw + b"\r\n", b""
    return head + b"\r\n", body


def _without(head: bytes, names: set[bytes]) -> bytes:
    kept, dropping = [], False
    for line in head.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t"):  # a folded continuation of the previous header
            if not dropping:
                kept.append(line)
            continue
        dropping = line.split(b":", 1)[0].strip().lower() in names
        if not dropping:
            kept.append(line)
    return b"".join(kept)


def _decoded(value) -> str:
    try:
        return str(make_header(decode_header(str(value))))
    except (LookupError, ValueError, UnicodeError):
        return str(value)


def _check_author(parsed, own: str) -> None:
    authors = getaddresses(parsed.get_all("From", []))
    senders = getaddresses(parsed.get_all("Sender", []))
    if len(authors) != 1 or authors[0][1].lower() != own.lower() or any(
            address.lower() != own.lower() for _, address in senders):
        raise Refused(f"550 5.7.1 From header rejected: this access sends only as <{own}>")


def _names(parsed) -> dict[str, str]:
    """Display names of the recipients written in To and Cc, by address."""
    pairs = getaddresses([*parsed.get_all("To", []), *parsed.get_all("Cc", [])])
    return {address.lower(): _decoded(name)[:300] for name, address in pairs if name}


def _message_id(parsed, account) -> tuple[str, bytes]:
    """The message's own Message-ID, or a new one and the header lines to add."""
    message_id = " ".join(str(parsed.get("Message-ID", "")).split())
    added = b""
    if not (message_id.startswith("<") and message_id.endswith(">") and "@" in message_id):
        message_id = new_message_id(account, uuid.uuid4().hex)
        added += f"Message-ID: {message_id}\r\n".encode()
    if parsed.get("Date") is None:
        added += f"Date: {format_datetime(timezone.now())}\r\n".encode()
    return message_id[:250], added


def _earlier(message_id: str) -> tuple[int, int, str] | None:
    """(mailing, account, digest of the bytes) of the message already recorded with this
    Message-ID, if any."""
    return (Message.objects.filter(message_id=message_id)
            .values_list("mailing_id", "account_id", "mailing__submitted__sha256").first())


def submission_accept(*, access_pk: int, mail_from: str, rcpt_tos: list[str], raw: bytes,
                      peer: str = "") -> Accepted:
    """Check and store a submitted message; raises Refused with the SMTP answer."""
    raw = _LONE_LF.sub(b"\r\n", raw)
    digest = hashlib.sha256(raw).hexdigest()
    with transaction.atomic():
        access = (ApplicationAccess.objects.select_related("account")
                  .filter(pk=access_pk, revoked_at__isnull=True).first())
        if access is None or not access.account.is_active:
            raise Refused("535 5.7.8 This access was revoked")
        account = access.account
        refusal = sender_refusal(access, mail_from)
        if refusal:
            raise Refused(refusal)
        head, body = _split(raw)
        parsed = message_from_bytes(head, policy=compat32)
        _check_author(parsed, account.envelope_from)
        message_id, added = _message_id(parsed, account)
        earlier = _earlier(message_id)
        if earlier is not None:
            if earlier[1:] == (account.pk, digest):
                # The same message again: an application that never saw our 250 (the
                # connection lost just after it) sends it again; it must not leave twice.
                return Accepted(earlier[0], account.pk, 0, 0, duplicate=True)
            # The Message-ID reused for another message: the header stays as the application
            # wrote it; our own record needs a unique key.
            message_id = new_message_id(account, uuid.uuid4().hex)
        stored = added + _without(head, DROPPED_HEADERS) + b"\r\n" + body
        return _store(access, parsed, message_id, rcpt_tos, stored, digest, mail_from, peer)


def _store(access, parsed, message_id, rcpt_tos, stored, digest, mail_from, peer) -> Accepted:
    account, now = access.account, timezone.now()
    unique = list(dict.fromkeys(address.lower() for address in rcpt_tos))
    suppressed = dict(SuppressedAddress.objects.annotate(address=Lower("email"))
                      .filter(address__in=unique).values_list("address", "reason"))
    deliverable = [address for address in unique if address not in suppressed]
    mailing = Mailing.objects.create(
        account=account, mode=Mailing.Mode.RELAYED, body_text="",
        subject=" ".join(_decoded(parsed.get("Subject", "")).split())[:250],
        status=Mailing.Status.QUEUED if deliverable else Mailing.Status.DONE,
        submitted_at=now, finished_at=None if deliverable else now)
    message = None
    if deliverable:
        message = Message.objects.create(mailing=mailing, account=account, priority=5,
                                         message_id=message_id)
    names = _names(parsed)
    Recipient.objects.bulk_create(
        [Recipient(mailing=mailing, message=message, email=address,
                   name=names.get(address, ""), status=S.QUEUED) for address in deliverable]
        + [Recipient(mailing=mailing, email=address, name=names.get(address, ""),
                     status=S.SKIPPED, smtp_text=reason)
           for address, reason in suppressed.items()])
    SubmittedMessage.objects.create(
        mailing=mailing, application=access, raw=stored, size=len(stored), sha256=digest,
        mail_from=mail_from, peer=peer[:64], recipient_count=len(unique))
    return Accepted(mailing.pk, account.pk, len(deliverable), len(suppressed))


def submitted_purge() -> int:
    """Empty the content of submitted messages older than SUBMISSION_RETENTION_DAYS whose
    message can no longer leave; returns how many."""
    cutoff = timezone.now() - timedelta(days=settings.SUBMISSION_RETENTION_DAYS)
    pending = Message.objects.filter(status__in=[S.QUEUED, S.DEFERRED, S.SENDING])
    return (SubmittedMessage.objects.filter(received_at__lt=cutoff, purged_at__isnull=True)
            .exclude(mailing__messages__in=pending)
            .update(raw=b"", purged_at=timezone.now()))
