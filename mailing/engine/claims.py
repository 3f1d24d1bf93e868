"""Claims and leases: who is working, account slots, claiming messages, recording each
result, and stopping what a cancel stopped."""

import logging
import os
import socket
import uuid
from datetime import timedelta
from typing import NamedTuple

from django.conf import settings
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from mailing.models import AccountSlot, Mailing, Message, Recipient, SendingAccount
from mailing.models.mailings import DUE_STATUSES

from .channel import DeliveryFailure
from .statements import (
    CLAIM_MAILINGS,
    CLAIM_MESSAGES,
    CLAIM_RECIPIENTS,
    DUE,
    MARK_IN_FLIGHT,
    MESSAGE_SENT,
    MESSAGE_SENT_NEXT_IN_FLIGHT,
    RECIPIENTS_SENT,
    SENT_AND_NEXT_ONE_STATEMENT,
    _db_time,
    execute_prepared,
)

logger = logging.getLogger(__name__)
S = Message.Status
M = Mailing.Status
ACTIVE_MAILING = [M.QUEUED, M.SENDING]
WORKER_STOPPED = "The worker stopped while sending: it is not known whether this message left."
LOST_AFTER_DATA = ("The connection was lost after the whole message was sent and before the "
                   "server confirmed it (RFC 1047): it may have arrived. Not resent "
                   "automatically. Server side: ")


def _now():
    return timezone.now()


# --- who is working --------------------------------------------------------------------------

_process = (0, "")


def process_key() -> str:
    """This process's name in claims, slots and heartbeats: host, pid and a random boot id
    (made again after a fork, so that a pool child never shares its parent's)."""
    global _process
    pid = os.getpid()
    if _process[0] != pid:
        _process = (pid, f"{socket.gethostname()[:120]}:{pid}:{uuid.uuid4().hex[:8]}")
    return _process[1]


def worker_identity() -> str:
    """The owner of one run's claims: the process's key, then the run's own id."""
    return f"{process_key()}/{uuid.uuid4().hex[:8]}"


def _lease_until():
    return _now() + timedelta(seconds=settings.MAILING_LEASE_SECONDS)


def retry_delay(attempts: int) -> timedelta:
    schedule = settings.MAILING_RETRY_SCHEDULE
    return timedelta(seconds=schedule[min(attempts, len(schedule)) - 1])


# --- slots -----------------------------------------------------------------------------------

def slot_acquire(account: SendingAccount, owner: str) -> AccountSlot | None:
    wanted = account.parallel_connections
    for number in range(wanted):
        AccountSlot.objects.get_or_create(account=account, number=number)
    now = _now()
    free = Q(owner="") | Q(lease_expires_at__lt=now)
    for slot in AccountSlot.objects.filter(free, account=account, number__lt=wanted):
        taken = AccountSlot.objects.filter(free, pk=slot.pk).update(
            owner=owner, lease_expires_at=_lease_until())
        if taken == 1:
            slot.refresh_from_db()
            return slot
    return None


def slot_release(slot: AccountSlot, owner: str) -> None:
    AccountSlot.objects.filter(pk=slot.pk, owner=owner).update(owner="", lease_expires_at=None)


# --- claims ----------------------------------------------------------------------------------

class Envelope(NamedTuple):
    """A recipient of a claimed message that is still to be sent to."""

    email: str
    name: str


def claim(account: SendingAccount, owner: str, size: int) -> list[Message]:
    """Lease up to `size` due messages of the account to this worker, in sending order.

    Each returned message carries `envelope`: its recipients still to send to, read for the
    whole batch in one query, as plain tuples (no model per recipient, no prefetching)."""
    # In SQL too: on SQLite this transaction holds the database's only write lock, which the
    # other connections of the account wait for; building these statements through the ORM
    # made it several times longer.
    with transaction.atomic(), db_connection.cursor() as cursor:
        sql = DUE
        if db_connection.features.has_select_for_update_skip_locked:
            sql += " FOR UPDATE SKIP LOCKED"
        cursor.execute(sql, [account.pk, _db_time(_now()), size])
        ids = [row[0] for row in cursor.fetchall()]
        if not ids:
            return []
        in_ids = ", ".join(["%s"] * len(ids))
        cursor.execute(CLAIM_MESSAGES.format(ids=in_ids),
                       [S.SENDING, owner, _db_time(_lease_until()), *ids])
        cursor.execute(CLAIM_RECIPIENTS.format(ids=in_ids), [S.SENDING, *ids])
        cursor.execute(CLAIM_MAILINGS.format(ids=in_ids), [M.SENDING, M.QUEUED, *ids])
    messages = list(Message.objects.filter(pk__in=ids, lease_owner=owner)
                    .order_by("priority", "pk"))
    envelopes: dict[int, list[Envelope]] = {message.pk: [] for message in messages}
    for message_pk, email, name in (Recipient.objects.filter(message_id__in=ids,
                                                             status=S.SENDING)
                                    .order_by("pk").values_list("message_id", "email", "name")):
        envelopes[message_pk].append(Envelope(email, name))
    for message in messages:
        message.envelope = envelopes[message.pk]
    return messages


def release(owner: str) -> None:
    """Give back what this worker claimed but did not start."""
    _requeue(list(Message.objects.filter(lease_owner=owner, status=S.SENDING,
                                         in_flight_at__isnull=True).values_list("pk", flat=True)))


def _requeue(message_ids: list[int]) -> None:
    """Claimed messages that never started go back to the queue — or end cancelled when
    their mailing was cancelled meanwhile. Each statement re-checks the message's state, so
    that a message a cancel or another worker took meanwhile is left as it is."""
    if not message_ids:
        return
    with transaction.atomic():
        Message.objects.filter(pk__in=message_ids, status=S.SENDING,
                               in_flight_at__isnull=True).update(
            status=S.QUEUED, lease_owner="", lease_expires_at=None)
        Recipient.objects.filter(message_id__in=message_ids, message__status=S.QUEUED,
                                 status=S.SENDING).update(status=S.QUEUED)
        cancel_unstarted(mailing_ids=_mailings_of(message_ids))


def _mailings_of(message_ids) -> set[int]:
    return set(Message.objects.filter(pk__in=message_ids).values_list("mailing_id", flat=True))


def cancel_unstarted(*, mailing_ids, requested_too: bool = False) -> int:
    """For those of these mailings that are cancelled: every message not handed to a server —
    due, or claimed but not in flight — ends cancelled with its recipients. Messages a person
    asked for again after the cancel are left to leave, unless `requested_too`. Returns how
    many messages were cancelled."""
    unstarted = Q(status__in=DUE_STATUSES) | Q(status=S.SENDING, in_flight_at__isnull=True)
    messages = Message.objects.filter(unstarted, mailing_id__in=list(mailing_ids),
                                      mailing__status=M.CANCELLED)
    if not requested_too:
        messages = messages.filter(requested_after_cancel=False)
    ids = list(messages.values_list("pk", flat=True))
    if not ids:
        return 0
    with transaction.atomic():
        cancelled = Message.objects.filter(unstarted, pk__in=ids).update(
            status=S.CANCELLED, lease_owner="", lease_expires_at=None, next_attempt_at=None,
            requested_after_cancel=False)
        Recipient.objects.filter(message_id__in=ids, message__status=S.CANCELLED,
                                 status__in=[*DUE_STATUSES, S.SENDING]).update(
            status=S.CANCELLED)
    return cancelled


# --- results ---------------------------------------------------------------------------------

def _mark_in_flight(message_pk: int, owner: str) -> int:
    """Just before DATA: only if this worker still holds the message and its mailing still
    runs (it may have been paused or cancelled meanwhile)."""
    with db_connection.cursor() as cursor:
        cursor.execute(MARK_IN_FLIGHT, [_db_time(_now()), _db_time(_lease_until()),
                                         message_pk, owner, S.SENDING])
        return cursor.rowcount


def _record_sent(message: Message, result, now, *, start_next: int | None = None,
                 owner: str = "") -> bool:
    """Commit the result of one transaction.

    With `start_next` (a message of this worker's batch), that message is marked in flight in
    the same transaction: one commit per message instead of two, and on this connection the
    in-flight mark still passes from one message to the next without a moment where two are
    set. Returns whether `start_next` was marked (False when the lease was lost or the mailing
    paused or cancelled meanwhile, or when the result was partial: the caller then marks it
    alone)."""
    code, _, text = result.reply.partition(" ")
    smtp_code = int(code) if code.isdigit() else None
    if result.accepted and not result.refused:
        done = message.pk
        if (db_connection.vendor == "postgresql" and not result.references
                and not db_connection.in_atomic_block):
            started, _ = execute_prepared(SENT_AND_NEXT_ONE_STATEMENT, [
                S.SENT, _db_time(now), smtp_code, text, done,
                _db_time(_now()), _db_time(_lease_until()), start_next or 0, owner,
                S.SENDING, S.SENT, smtp_code, text, _db_time(now), done, S.SENDING])
            return start_next is not None and started == 1
        with transaction.atomic(), db_connection.cursor() as cursor:
            if start_next is None:
                cursor.execute(MESSAGE_SENT, [S.SENT, _db_time(now), smtp_code, text, done])
            else:
                cursor.execute(MESSAGE_SENT_NEXT_IN_FLIGHT, [
                    done, S.SENT, done, _db_time(now), done, _db_time(_now()), done,
                    done, _db_time(_lease_until()), done, done, smtp_code, done, text,
                    done, start_next, owner, S.SENDING])
                started = cursor.rowcount == 2
            cursor.execute(RECIPIENTS_SENT, [S.SENT, smtp_code, text, _db_time(now), done,
                                              S.SENDING])
            _record_references(message, result.references)
        return start_next is not None and started
    _record_partial(message, result, now, smtp_code, text)
    return False


def _record_references(message: Message, references: dict[str, str]) -> None:
    """The remote side's ids of what it accepted, which its receipts will name (SMS)."""
    for address, reference in references.items():
        Recipient.objects.filter(message=message, email=address).update(
            provider_ref=reference[:100])


def _record_partial(message: Message, result, now, smtp_code, text) -> None:
    """Some recipients refused: the accepted ones are sent, 5xx fail, 4xx are retried alone."""
    with transaction.atomic():
        Message.objects.filter(pk=message.pk).update(
            status=S.SENT if result.accepted else S.FAILED, sent_at=now, in_flight_at=None,
            lease_owner="", lease_expires_at=None, attempts=message.attempts + 1,
            smtp_code=smtp_code, smtp_text=text)
        Recipient.objects.filter(message=message, email__in=result.accepted).update(
            status=S.SENT, smtp_code=smtp_code, smtp_text=text)
        _record_references(message, result.references)
        temporary = []
        for email, (rcode, rtext) in result.refused.items():
            if 400 <= rcode < 500:
                temporary.append(email)
            Recipient.objects.filter(message=message, email=email).update(
                status=S.DEFERRED if 400 <= rcode < 500 else S.FAILED, smtp_code=rcode,
                smtp_text=rtext)
        if temporary and result.accepted:
            # Retry the temporarily refused alone, without resending to the accepted ones.
            retry = Message.objects.create(
                mailing_id=message.mailing_id, account_id=message.account_id,
                priority=message.priority, status=S.DEFERRED, context=message.context,
                message_id=message.message_id.replace("<", "<r" + uuid.uuid4().hex[:6] + ".", 1),
                attempts=message.attempts + 1, next_attempt_at=now + retry_delay(1),
                requested_after_cancel=message.requested_after_cancel)
            Recipient.objects.filter(message=message, email__in=temporary).update(message=retry)
        elif temporary:
            Message.objects.filter(pk=message.pk).update(
                status=S.DEFERRED, next_attempt_at=now + retry_delay(message.attempts + 1),
                sent_at=None)
        if temporary:
            cancel_unstarted(mailing_ids=[message.mailing_id])


def _record_failure(message: Message, failure: DeliveryFailure, now, *,
                    owner: str | None = None) -> None:
    """A failed attempt: deferred with back-off, or failed for good. With `owner`, only while
    that worker still holds the message (another may have taken it since its lease ran out)."""
    if failure.after_final_dot:
        _record_uncertain([message.pk], LOST_AFTER_DATA + failure.server_reply)
        return
    attempts = message.attempts + 1
    expired = now - message.created_at > timedelta(seconds=settings.MAILING_MAX_LIFETIME)
    status = S.DEFERRED if failure.transient and not expired else S.FAILED
    fields = {"status": status, "in_flight_at": None, "lease_owner": "",
              "lease_expires_at": None, "attempts": attempts, "smtp_code": failure.code,
              "smtp_text": failure.text}
    if status == S.DEFERRED:
        fields["next_attempt_at"] = now + retry_delay(attempts)
    held = Message.objects.filter(pk=message.pk, status=S.SENDING)
    if owner is not None:
        held = held.filter(lease_owner=owner)
    with transaction.atomic():
        if not held.update(**fields):
            return
        Recipient.objects.filter(message=message, status=S.SENDING).update(
            status=status, smtp_code=failure.code, smtp_text=failure.text)
        if status == S.DEFERRED:
            cancel_unstarted(mailing_ids=[message.mailing_id])


def _record_uncertain(message_ids: list[int], text: str) -> None:
    """Messages whose fate nobody can know: a person decides whether to resend them."""
    with transaction.atomic():
        Message.objects.filter(pk__in=message_ids, status=S.SENDING).update(
            status=S.UNCERTAIN, lease_owner="", lease_expires_at=None, smtp_text=text,
            attempts=F("attempts") + 1)
        Recipient.objects.filter(message_id__in=message_ids, status=S.SENDING).update(
            status=S.UNCERTAIN, smtp_text=text)
    refresh_mailing_status(_mailings_of(message_ids))


def _record_release_in_flight(message: Message) -> None:
    """The server refused the account before accepting anything: the message did not leave."""
    Message.objects.filter(pk=message.pk, status=S.SENDING).update(in_flight_at=None)
    _requeue([message.pk])


def _pause_account(account: SendingAccount, failure: DeliveryFailure) -> bool:
    """Pause sending from the account with the server's words — unless an administrator saved
    it (reconnected, a new password) since this run read it: the failure was then about
    credentials that are no longer the account's, and pausing would undo the fix (a token
    refresh with the old grant failing just after "Reconnecter"). The next run, or beat's
    sweep, tries the new ones. Returns whether it paused."""
    paused = SendingAccount.objects.filter(pk=account.pk, updated_at=account.updated_at).update(
        paused_reason=failure.server_reply, paused_at=_now())
    if paused:
        logger.warning("Sending from account %s paused: %s", account.pk, failure.server_reply)
    else:
        logger.info("Account %s was changed since this run read it; not paused for: %s",
                    account.pk, failure.server_reply)
    return bool(paused)


def refresh_mailing_status(mailing_ids) -> None:
    """A mailing is done when none of its messages can still leave."""
    pending = [S.QUEUED, S.DEFERRED, S.SENDING]
    for mailing_id in set(mailing_ids):
        # Under the mailing's lock, which a resend or a retry also takes: one queued between
        # this check and the update would otherwise be left in a mailing marked done.
        with transaction.atomic():
            if not Mailing.objects.select_for_update().filter(
                    pk=mailing_id, status__in=ACTIVE_MAILING).exists():
                continue
            if not Message.objects.filter(mailing_id=mailing_id, status__in=pending).exists():
                Mailing.objects.filter(pk=mailing_id).update(status=M.DONE, finished_at=_now())

