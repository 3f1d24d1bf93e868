"""The sending engine: what a Celery worker does for one sending account.

Work is leased in the database, never held only in the broker:
- an account slot (AccountSlot) is leased by the worker sending through it: one slot for an
  account with a delay between sends (so consecutive transactions are at least `send_delay`
  apart, whatever the number of workers), `max_connections` slots otherwise;
- due messages are claimed (status SENDING, owner, lease expiry), renewed while the worker
  works, and each result is committed right after its SMTP transaction;
- just before DATA a message is marked in flight. If the worker dies, `recover_expired()`
  (run by beat) puts claimed messages that never started back in the queue, and marks the
  one that was in flight UNCERTAIN: it may or may not have left, so a person decides.
"""

import contextlib
import logging
import os
import socket
import time
import uuid
from datetime import timedelta
from typing import NamedTuple

from django.conf import settings
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .models import AccountSlot, Mailing, Message, Recipient, SendingAccount
from .models.mailings import DUE_STATUSES
from .rendering import MailingRenderer, envelope_sender
from .services import account_connection_settings
from .smtp import ErrorKind, SMTPConnection, SMTPFailure
from .templating import RenderLimitExceeded, TemplateProblem

logger = logging.getLogger(__name__)
S = Message.Status
ACTIVE_MAILING = [Mailing.Status.QUEUED, Mailing.Status.SENDING]
# Errors that mean the account's settings are wrong: retrying would only hammer the server.
ACCOUNT_ERRORS = {ErrorKind.AUTHENTICATION, ErrorKind.TLS, ErrorKind.CERTIFICATE,
                  ErrorKind.POLICY}


def _now():
    return timezone.now()


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _lease_until():
    return _now() + timedelta(seconds=settings.MAILING_LEASE_SECONDS)


def retry_delay(attempts: int) -> timedelta:
    schedule = settings.MAILING_RETRY_SCHEDULE
    return timedelta(seconds=schedule[min(attempts, len(schedule)) - 1])


# --- slots -----------------------------------------------------------------------------------

def slot_acquire(account: SendingAccount, owner: str) -> AccountSlot | None:
    wanted = 1 if account.send_delay > 0 else account.max_connections
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

# The statements made for every message, and the claim's search, are written in SQL: building
# them through the ORM costs more than the SMTP transaction itself (see the benchmark in the
# README). Table names come from the models; every value is a query parameter, except the due
# statuses, written as literals (constants of the model) so that the planner can walk the
# partial index `mailing_message_due` in order: SQLite cannot match a bound parameter against
# an index's condition.
_MESSAGE = Message._meta.db_table
_RECIPIENT = Recipient._meta.db_table
_MAILING = Mailing._meta.db_table
_DUE_LITERALS = ", ".join(f"'{status}'" for status in DUE_STATUSES)
_DUE = (
    f"SELECT id FROM {_MESSAGE} WHERE account_id = %s AND status IN ({_DUE_LITERALS}) "  # noqa: S608, E501
    f"AND (next_attempt_at IS NULL OR next_attempt_at <= %s) "
    f"AND EXISTS (SELECT 1 FROM {_MAILING} WHERE {_MAILING}.id = {_MESSAGE}.mailing_id "
    f"AND {_MAILING}.status IN (%s, %s)) ORDER BY priority, id LIMIT %s"
)

_CLAIM_MESSAGES = (f"UPDATE {_MESSAGE} SET status = %s, lease_owner = %s, "  # noqa: S608
                   f"lease_expires_at = %s WHERE id IN ({{ids}})")
_CLAIM_RECIPIENTS = (f"UPDATE {_RECIPIENT} SET status = %s "  # noqa: S608
                     f"WHERE message_id IN ({{ids}}) AND status IN ({_DUE_LITERALS})")
_CLAIM_MAILINGS = (f"UPDATE {_MAILING} SET status = %s WHERE status = %s AND id IN "  # noqa: S608
                   f"(SELECT mailing_id FROM {_MESSAGE} WHERE id IN ({{ids}}))")


class Envelope(NamedTuple):
    """A recipient of a claimed message that is still to be sent to."""

    email: str
    name: str


def _db_time(value):
    return db_connection.ops.adapt_datetimefield_value(value)


def claim(account: SendingAccount, owner: str, size: int) -> list[Message]:
    """Lease up to `size` due messages of the account to this worker, in sending order.

    Each returned message carries `envelope`: its recipients still to send to, read for the
    whole batch in one query, as plain tuples (no model per recipient, no prefetching)."""
    # In SQL too: on SQLite this transaction holds the database's only write lock, which the
    # other connections of the account wait for; building these statements through the ORM
    # made it several times longer.
    with transaction.atomic(), db_connection.cursor() as cursor:
        sql = _DUE
        if db_connection.features.has_select_for_update_skip_locked:
            sql += " FOR UPDATE SKIP LOCKED"
        cursor.execute(sql, [account.pk, _db_time(_now()), *ACTIVE_MAILING, size])
        ids = [row[0] for row in cursor.fetchall()]
        if not ids:
            return []
        in_ids = ", ".join(["%s"] * len(ids))
        cursor.execute(_CLAIM_MESSAGES.format(ids=in_ids),
                       [S.SENDING, owner, _db_time(_lease_until()), *ids])
        cursor.execute(_CLAIM_RECIPIENTS.format(ids=in_ids), [S.SENDING, *ids])
        cursor.execute(_CLAIM_MAILINGS.format(ids=in_ids),
                       [Mailing.Status.SENDING, Mailing.Status.QUEUED, *ids])
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
    with transaction.atomic():
        ids = list(Message.objects.filter(lease_owner=owner, status=S.SENDING,
                                          in_flight_at__isnull=True).values_list("pk", flat=True))
        Message.objects.filter(pk__in=ids).update(status=S.QUEUED, lease_owner="",
                                                  lease_expires_at=None)
        Recipient.objects.filter(message_id__in=ids, status=S.SENDING).update(status=S.QUEUED)


# --- results ---------------------------------------------------------------------------------

_MARK_IN_FLIGHT = (
    f"UPDATE {_MESSAGE} SET in_flight_at = %s, lease_expires_at = %s "  # noqa: S608
    f"WHERE id = %s AND lease_owner = %s AND status = %s AND EXISTS (SELECT 1 FROM "
    f"{_MAILING} WHERE {_MAILING}.id = {_MESSAGE}.mailing_id AND {_MAILING}.status IN (%s, %s))"
)
_MESSAGE_SENT = (
    f"UPDATE {_MESSAGE} SET status = %s, sent_at = %s, in_flight_at = NULL, lease_owner = '', "  # noqa: S608, E501
    f"lease_expires_at = NULL, attempts = attempts + 1, smtp_code = %s, smtp_text = %s "
    f"WHERE id = %s"
)
_RECIPIENTS_SENT = (
    f"UPDATE {_RECIPIENT} SET status = %s, smtp_code = %s, smtp_text = %s, updated_at = %s "  # noqa: S608, E501
    f"WHERE message_id = %s AND status = %s"
)
# _MESSAGE_SENT for one message and _MARK_IN_FLIGHT for the next, in one statement: the
# WHERE takes the sent message, and the next one only on _MARK_IN_FLIGHT's conditions; each
# CASE gives a column the value it gets on the sent row (first) or on the next one (ELSE).
_MESSAGE_SENT_NEXT_IN_FLIGHT = (
    f"UPDATE {_MESSAGE} SET "  # noqa: S608
    f"status = CASE WHEN id = %s THEN %s ELSE status END, "
    f"sent_at = CASE WHEN id = %s THEN %s ELSE sent_at END, "
    f"in_flight_at = CASE WHEN id = %s THEN NULL ELSE %s END, "
    f"lease_owner = CASE WHEN id = %s THEN '' ELSE lease_owner END, "
    f"lease_expires_at = CASE WHEN id = %s THEN NULL ELSE %s END, "
    f"attempts = CASE WHEN id = %s THEN attempts + 1 ELSE attempts END, "
    f"smtp_code = CASE WHEN id = %s THEN %s ELSE smtp_code END, "
    f"smtp_text = CASE WHEN id = %s THEN %s ELSE smtp_text END "
    f"WHERE id = %s OR (id = %s AND lease_owner = %s AND status = %s AND EXISTS (SELECT 1 "
    f"FROM {_MAILING} WHERE {_MAILING}.id = {_MESSAGE}.mailing_id "
    f"AND {_MAILING}.status IN (%s, %s)))"
)


def _execute_mark_in_flight(cursor, message_pk: int, owner: str) -> int:
    cursor.execute(_MARK_IN_FLIGHT, [_db_time(_now()), _db_time(_lease_until()), message_pk,
                                     owner, S.SENDING, *ACTIVE_MAILING])
    return cursor.rowcount


def _mark_in_flight(message_pk: int, owner: str) -> int:
    """Just before DATA: only if this worker still holds the message and its mailing still
    runs (it may have been paused or cancelled meanwhile)."""
    with db_connection.cursor() as cursor:
        return _execute_mark_in_flight(cursor, message_pk, owner)


def _record_sent(message: Message, result, now, *, start_next: int | None = None,
                 owner: str = "") -> bool:
    """Commit the result of one SMTP transaction.

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
        with transaction.atomic(), db_connection.cursor() as cursor:
            if start_next is None:
                cursor.execute(_MESSAGE_SENT, [S.SENT, _db_time(now), smtp_code, text, done])
            else:
                cursor.execute(_MESSAGE_SENT_NEXT_IN_FLIGHT, [
                    done, S.SENT, done, _db_time(now), done, _db_time(_now()), done,
                    done, _db_time(_lease_until()), done, done, smtp_code, done, text,
                    done, start_next, owner, S.SENDING, *ACTIVE_MAILING])
                started = cursor.rowcount == 2
            cursor.execute(_RECIPIENTS_SENT, [S.SENT, smtp_code, text, _db_time(now), done,
                                              S.SENDING])
        return start_next is not None and started
    with transaction.atomic():
        Message.objects.filter(pk=message.pk).update(
            status=S.SENT if result.accepted else S.FAILED, sent_at=now, in_flight_at=None,
            lease_owner="", lease_expires_at=None, attempts=message.attempts + 1,
            smtp_code=int(code) if code.isdigit() else None, smtp_text=text)
        Recipient.objects.filter(message=message, email__in=result.accepted).update(
            status=S.SENT, smtp_code=int(code) if code.isdigit() else None, smtp_text=text)
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
                attempts=message.attempts + 1, next_attempt_at=now + retry_delay(1))
            Recipient.objects.filter(message=message, email__in=temporary).update(message=retry)
        elif temporary:
            Message.objects.filter(pk=message.pk).update(
                status=S.DEFERRED, next_attempt_at=now + retry_delay(message.attempts + 1),
                sent_at=None)
    return False


def _record_failure(message: Message, failure: SMTPFailure, now) -> None:
    attempts = message.attempts + 1
    expired = now - message.created_at > timedelta(seconds=settings.MAILING_MAX_LIFETIME)
    status = S.DEFERRED if failure.transient and not expired else S.FAILED
    fields = {"status": status, "in_flight_at": None, "lease_owner": "",
              "lease_expires_at": None, "attempts": attempts, "smtp_code": failure.code,
              "smtp_text": failure.text}
    if status == S.DEFERRED:
        fields["next_attempt_at"] = now + retry_delay(attempts)
    with transaction.atomic():
        Message.objects.filter(pk=message.pk).update(**fields)
        Recipient.objects.filter(message=message, status=S.SENDING).update(
            status=status, smtp_code=failure.code, smtp_text=failure.text)


def _pause_account(account: SendingAccount, failure: SMTPFailure) -> None:
    SendingAccount.objects.filter(pk=account.pk).update(paused_reason=failure.server_reply,
                                                        paused_at=_now())
    logger.warning("Sending from account %s paused: %s", account.pk, failure.server_reply)


def refresh_mailing_status(mailing_ids) -> None:
    """A mailing is done when none of its messages can still leave."""
    pending = [S.QUEUED, S.DEFERRED, S.SENDING]
    for mailing_id in set(mailing_ids):
        if not Message.objects.filter(mailing_id=mailing_id, status__in=pending).exists():
            Mailing.objects.filter(pk=mailing_id, status__in=ACTIVE_MAILING).update(
                status=Mailing.Status.DONE, finished_at=_now())


# --- the loop --------------------------------------------------------------------------------

def send_account_work(account_id: int, *, owner: str | None = None,
                      time_budget: float | None = None) -> bool:
    """Send due messages of one account until none is left or the time budget is spent.
    Returns True when due work remains (the caller enqueues another run)."""
    owner = owner or worker_identity()
    account = SendingAccount.objects.filter(pk=account_id).first()
    if (account is None or account.paused_reason or not account.is_active
            or not account.is_configured):
        return False
    slot = slot_acquire(account, owner)
    if slot is None:
        return False  # every connection of this account is busy elsewhere
    deadline = time.monotonic() + (time_budget or settings.MAILING_TASK_BUDGET)
    delay = float(account.send_delay)
    last_transaction = slot.last_transaction_at
    renderers: dict[int, MailingRenderer] = {}
    touched: set[int] = set()
    connection = None
    last_used = time.monotonic()
    renew_at = time.monotonic() + settings.MAILING_LEASE_SECONDS / 3
    batch_size = settings.MAILING_BATCH_SIZE if delay == 0 else max(
        1, min(settings.MAILING_BATCH_SIZE, int(settings.MAILING_LEASE_SECONDS / 2 / delay)))
    try:
        while time.monotonic() < deadline:
            batch = claim(account, owner, batch_size)
            if not batch:
                return False
            started_pk = None  # marked in flight by the previous message's result
            prepared: dict[int, bytes] = {}  # built while the server queued the previous one
            for index, message in enumerate(batch):
                if message.pk != started_pk:
                    if time.monotonic() > deadline:
                        return True  # hand over; what was claimed and not started is released
                    if delay and last_transaction:
                        wait = delay - (_now() - last_transaction).total_seconds()
                        if wait > 0:
                            time.sleep(wait)
                    if connection is not None and time.monotonic() - last_used > 20 \
                            and not connection.is_alive():
                        # Idle for a while (a paced account): the server may have dropped it.
                        connection.close()
                        connection = None
                    if connection is None:
                        connection = SMTPConnection(account_connection_settings(account))
                        try:
                            connection.open()
                        except SMTPFailure as failure:
                            connection = None
                            if failure.kind in ACCOUNT_ERRORS:
                                _pause_account(account, failure)
                                return False
                            # The server is unreachable: defer the whole batch with back-off
                            # rather than knocking again for every message.
                            for pending in batch[index:]:
                                _record_failure(pending, failure, _now())
                            return False
                    if _mark_in_flight(message.pk, owner) != 1:
                        continue  # lease lost, or the mailing was paused or cancelled meanwhile
                touched.add(message.mailing_id)
                if time.monotonic() > renew_at:
                    # Leases are renewed well before they expire, not on every message.
                    Message.objects.filter(lease_owner=owner, status=S.SENDING).update(
                        lease_expires_at=_lease_until())
                    AccountSlot.objects.filter(pk=slot.pk, owner=owner).update(
                        lease_expires_at=_lease_until())
                    renew_at = time.monotonic() + settings.MAILING_LEASE_SECONDS / 3
                try:
                    renderer = renderers.get(message.mailing_id)
                    if renderer is None:
                        renderer = renderers[message.mailing_id] = MailingRenderer(
                            message.mailing)
                    payload = prepared.pop(message.pk, None) or renderer.build(
                        message, message.envelope)
                except (RenderLimitExceeded, TemplateProblem) as problem:
                    # This recipient's message is too big or too slow to fill in (or its
                    # template, saved before a stricter rule, is now refused): record why, as
                    # a permanent failure of this message only; the others go out.
                    _record_failure(message, SMTPFailure(ErrorKind.PERMANENT, str(problem)),
                                    _now())
                    continue
                following = batch[index + 1] if index + 1 < len(batch) else None
                try:
                    result = connection.send(
                        payload, envelope_sender(account, message.pk),
                        [r.email for r in message.envelope],
                        while_waiting=None if delay else _preparer(following, renderers,
                                                                   prepared))
                except SMTPFailure as failure:
                    connection.close()
                    connection = None
                    if failure.kind in ACCOUNT_ERRORS:
                        _record_release_in_flight(message)
                        _pause_account(account, failure)
                        return False
                    _record_failure(message, failure, _now())
                    continue
                finally:
                    last_used = time.monotonic()
                    last_transaction = _now()
                    if delay:
                        # Shared with the next worker that takes this account's only slot.
                        AccountSlot.objects.filter(pk=slot.pk).update(
                            last_transaction_at=last_transaction)
                # Without a delay the next message starts at once: mark it in flight in the
                # result's transaction. With a delay it is marked after the wait, just before
                # its DATA, so that a worker killed while waiting leaves nothing uncertain.
                start_next = (following.pk if following is not None and not delay
                              and time.monotonic() <= deadline else None)
                started_pk = start_next if _record_sent(
                    message, result, last_transaction, start_next=start_next,
                    owner=owner) else None
        return True
    finally:
        if connection is not None:
            connection.close()
        release(owner)
        slot_release(slot, owner)
        refresh_mailing_status(touched)


def _preparer(following: Message | None, renderers: dict[int, MailingRenderer],
              prepared: dict[int, bytes]):
    """What to do while the server queues a message: build the next one, so that its
    rendering takes none of the connection's time. Only with its mailing's renderer at hand
    (nothing read from storage then); an error is left to happen again, and be raised, when
    the message is built in its turn."""
    if following is None or following.mailing_id not in renderers:
        return None
    renderer = renderers[following.mailing_id]

    def prepare() -> None:
        with contextlib.suppress(Exception):
            prepared[following.pk] = renderer.build(following, following.envelope)

    return prepare


def _record_release_in_flight(message: Message) -> None:
    """The server refused the account before accepting anything: the message did not leave."""
    Message.objects.filter(pk=message.pk).update(status=S.QUEUED, in_flight_at=None,
                                                 lease_owner="", lease_expires_at=None)
    Recipient.objects.filter(message=message, status=S.SENDING).update(status=S.QUEUED)


def recover_expired() -> list[int]:
    """Run by beat: recover work of dead workers; return the accounts with due work."""
    now = _now()
    with transaction.atomic():
        expired = Message.objects.filter(status=S.SENDING, lease_expires_at__lt=now)
        uncertain = list(expired.filter(in_flight_at__isnull=False).values_list("pk", flat=True))
        text = "The worker stopped while sending: it is not known whether this message left."
        Message.objects.filter(pk__in=uncertain).update(
            status=S.UNCERTAIN, lease_owner="", lease_expires_at=None, smtp_text=text)
        Recipient.objects.filter(message_id__in=uncertain, status=S.SENDING).update(
            status=S.UNCERTAIN, smtp_text=text)
        requeue = list(expired.filter(in_flight_at__isnull=True).values_list("pk", flat=True))
        Message.objects.filter(pk__in=requeue).update(status=S.QUEUED, lease_owner="",
                                                      lease_expires_at=None)
        Recipient.objects.filter(message_id__in=requeue, status=S.SENDING).update(
            status=S.QUEUED)
        AccountSlot.objects.filter(lease_expires_at__lt=now).update(owner="",
                                                                    lease_expires_at=None)
    mailing_ids = Message.objects.filter(pk__in=uncertain).values_list("mailing_id", flat=True)
    refresh_mailing_status(list(mailing_ids))
    return sorted(set(
        Message.objects.filter(status__in=DUE_STATUSES, mailing__status__in=ACTIVE_MAILING,
                               account__paused_reason="")
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by().values_list("account_id", flat=True).distinct()
    ))
