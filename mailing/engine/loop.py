"""The sending engine: what a Celery worker does for one sending account.

Work is leased in the database, never held only in the broker:
- an account slot (AccountSlot) is leased by the worker sending through it: one slot for an
  account with a delay between sends (so consecutive transactions are at least `send_delay`
  apart, whatever the number of workers), `max_connections` slots otherwise;
- due messages are claimed (status SENDING, owner, lease expiry), renewed while the worker
  works, and each result is committed right after its SMTP transaction;
- just before DATA a message is marked in flight. If the worker dies, its claims are freed: at
  once by the other workers when its heartbeat stops (`reap_dead_workers`, see
  mailing/heartbeat.py), or by beat when the leases expire (`recover_expired`, the safety
  net). Claimed messages that never started go back to the queue; the one that was in flight
  is marked UNCERTAIN: it may or may not have left, so a person decides. The same holds when
  the server drops the connection, or never answers, after the final dot (RFC 1047);
- a cancelled mailing stops at once: whatever was not handed to a server — queued, deferred,
  or claimed by a worker at that moment — ends cancelled (`cancel_unstarted`).

The loop reads top to bottom in `_AccountRun`: claim a batch → pace → connect → send → record.
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
from django.db.models import F, Q
from django.utils import timezone

from mailing.mailings.rendering import MailingRenderer, envelope_sender
from mailing.mailings.templating import RenderLimitExceeded, TemplateProblem
from mailing.models import AccountSlot, Mailing, Message, Recipient, SendingAccount, WorkerProcess
from mailing.models.mailings import DUE_STATUSES
from mailing.sending_accounts.services import account_connection_settings
from mailing.sending_accounts.smtp import ErrorKind, SMTPConnection, SMTPFailure

logger = logging.getLogger(__name__)
S = Message.Status
M = Mailing.Status
ACTIVE_MAILING = [M.QUEUED, M.SENDING]
# Errors that mean the account's settings are wrong: retrying would only hammer the server.
ACCOUNT_ERRORS = {ErrorKind.AUTHENTICATION, ErrorKind.TLS, ErrorKind.CERTIFICATE,
                  ErrorKind.POLICY}
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


# --- the statements made for every message ---------------------------------------------------

# Written in SQL: building them through the ORM costs more than the SMTP transaction itself
# (see the benchmark in the README). Table names come from the models; every value is a query
# parameter, except statuses, written as literals (constants of the models) so that the planner
# can walk the partial index `mailing_message_due` in order: SQLite cannot match a bound
# parameter against an index's condition.
_MESSAGE = Message._meta.db_table
_RECIPIENT = Recipient._meta.db_table
_MAILING = Mailing._meta.db_table
_DUE_LITERALS = ", ".join(f"'{status.value}'" for status in DUE_STATUSES)

# MAILING_RUNS: a message may leave while its mailing runs, or after its mailing was cancelled
# when a person asked for it again. Part of every statement that hands a message to a worker,
# so that a pause or a cancel is seen by the very statement that would start a message.
_MAILING_RUNS = (
    f"EXISTS (SELECT 1 FROM {_MAILING} WHERE {_MAILING}.id = {_MESSAGE}.mailing_id AND "  # noqa: S608
    f"({_MAILING}.status IN ('{M.QUEUED.value}', '{M.SENDING.value}') OR "
    f"({_MAILING}.status = '{M.CANCELLED.value}' AND {_MESSAGE}.requested_after_cancel)))"
)
# DUE: the account's next messages in sending order, walking the partial index.
_DUE = (
    f"SELECT id FROM {_MESSAGE} WHERE account_id = %s AND status IN ({_DUE_LITERALS}) "  # noqa: S608, E501
    f"AND (next_attempt_at IS NULL OR next_attempt_at <= %s) AND {_MAILING_RUNS} "
    f"ORDER BY priority, id LIMIT %s"
)
# CLAIM_*: lease the chosen messages, their recipients, and show their mailings as sending.
_CLAIM_MESSAGES = (f"UPDATE {_MESSAGE} SET status = %s, lease_owner = %s, "  # noqa: S608
                   f"lease_expires_at = %s WHERE id IN ({{ids}})")
_CLAIM_RECIPIENTS = (f"UPDATE {_RECIPIENT} SET status = %s "  # noqa: S608
                     f"WHERE message_id IN ({{ids}}) AND status IN ({_DUE_LITERALS})")
_CLAIM_MAILINGS = (f"UPDATE {_MAILING} SET status = %s WHERE status = %s AND id IN "  # noqa: S608
                   f"(SELECT mailing_id FROM {_MESSAGE} WHERE id IN ({{ids}}))")
# MARK_IN_FLIGHT: just before DATA, only if this worker still holds the message and it may
# still leave.
_MARK_IN_FLIGHT = (
    f"UPDATE {_MESSAGE} SET in_flight_at = %s, lease_expires_at = %s "  # noqa: S608
    f"WHERE id = %s AND lease_owner = %s AND status = %s AND {_MAILING_RUNS}"
)
# MESSAGE_SENT / RECIPIENTS_SENT: the server accepted the message (every recipient).
_MESSAGE_SENT = (
    f"UPDATE {_MESSAGE} SET status = %s, sent_at = %s, in_flight_at = NULL, lease_owner = '', "  # noqa: S608, E501
    f"lease_expires_at = NULL, attempts = attempts + 1, smtp_code = %s, smtp_text = %s "
    f"WHERE id = %s"
)
_RECIPIENTS_SENT = (
    f"UPDATE {_RECIPIENT} SET status = %s, smtp_code = %s, smtp_text = %s, updated_at = %s "  # noqa: S608, E501
    f"WHERE message_id = %s AND status = %s"
)
# MESSAGE_SENT_NEXT_IN_FLIGHT: MESSAGE_SENT for one message and MARK_IN_FLIGHT for the next, in
# one statement (one commit per message). The WHERE takes the sent message, and the next one
# only on MARK_IN_FLIGHT's conditions; each CASE gives a column the value it gets on the sent
# row (first) or on the next one (ELSE).
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
    f"WHERE id = %s OR (id = %s AND lease_owner = %s AND status = %s AND {_MAILING_RUNS})"
)


def _may_leave() -> Q:
    """_MAILING_RUNS for the ORM."""
    return (Q(mailing__status__in=ACTIVE_MAILING)
            | Q(mailing__status=M.CANCELLED, requested_after_cancel=True))


def _db_time(value):
    return db_connection.ops.adapt_datetimefield_value(value)


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
        sql = _DUE
        if db_connection.features.has_select_for_update_skip_locked:
            sql += " FOR UPDATE SKIP LOCKED"
        cursor.execute(sql, [account.pk, _db_time(_now()), size])
        ids = [row[0] for row in cursor.fetchall()]
        if not ids:
            return []
        in_ids = ", ".join(["%s"] * len(ids))
        cursor.execute(_CLAIM_MESSAGES.format(ids=in_ids),
                       [S.SENDING, owner, _db_time(_lease_until()), *ids])
        cursor.execute(_CLAIM_RECIPIENTS.format(ids=in_ids), [S.SENDING, *ids])
        cursor.execute(_CLAIM_MAILINGS.format(ids=in_ids), [M.SENDING, M.QUEUED, *ids])
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
        cursor.execute(_MARK_IN_FLIGHT, [_db_time(_now()), _db_time(_lease_until()),
                                         message_pk, owner, S.SENDING])
        return cursor.rowcount


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
                    done, start_next, owner, S.SENDING])
                started = cursor.rowcount == 2
            cursor.execute(_RECIPIENTS_SENT, [S.SENT, smtp_code, text, _db_time(now), done,
                                              S.SENDING])
        return start_next is not None and started
    _record_partial(message, result, now, smtp_code, text)
    return False


def _record_partial(message: Message, result, now, smtp_code, text) -> None:
    """Some recipients refused: the accepted ones are sent, 5xx fail, 4xx are retried alone."""
    with transaction.atomic():
        Message.objects.filter(pk=message.pk).update(
            status=S.SENT if result.accepted else S.FAILED, sent_at=now, in_flight_at=None,
            lease_owner="", lease_expires_at=None, attempts=message.attempts + 1,
            smtp_code=smtp_code, smtp_text=text)
        Recipient.objects.filter(message=message, email__in=result.accepted).update(
            status=S.SENT, smtp_code=smtp_code, smtp_text=text)
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


def _record_failure(message: Message, failure: SMTPFailure, now) -> None:
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
    with transaction.atomic():
        Message.objects.filter(pk=message.pk, status=S.SENDING).update(**fields)
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
                status=M.DONE, finished_at=_now())


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
    run = _AccountRun(account, slot, owner, time_budget or settings.MAILING_TASK_BUDGET)
    try:
        return run.send()
    finally:
        run.close()


class _AccountRun:
    """One worker's turn on one account: its slot, its SMTP connection, its leases."""

    def __init__(self, account: SendingAccount, slot: AccountSlot, owner: str, budget: float):
        self.account, self.slot, self.owner = account, slot, owner
        self.deadline = time.monotonic() + budget
        self.delay = float(account.send_delay)
        self.last_transaction = slot.last_transaction_at
        self.connection: SMTPConnection | None = None
        self.last_used = time.monotonic()
        self.renew_at = time.monotonic() + settings.MAILING_LEASE_SECONDS / 3
        self.renderers: dict[int, MailingRenderer] = {}
        self.touched: set[int] = set()
        # With a delay, claim no more than can be sent well within a lease.
        self.batch_size = settings.MAILING_BATCH_SIZE if not self.delay else max(
            1, min(settings.MAILING_BATCH_SIZE, int(settings.MAILING_LEASE_SECONDS / 2
                                                    / self.delay)))

    def send(self) -> bool:
        while time.monotonic() < self.deadline:
            batch = claim(self.account, self.owner, self.batch_size)
            if not batch:
                return False
            stop = self.send_batch(batch)
            if stop is not None:
                return stop
        return True

    def send_batch(self, batch: list[Message]) -> bool | None:
        """Send a claimed batch. None: go on with the next batch; otherwise stop the run and
        return whether work remains."""
        started_pk = None  # marked in flight by the previous message's result
        prepared: dict[int, bytes] = {}  # built while the server queued the previous one
        last_index = {message.mailing_id: index for index, message in enumerate(batch)}
        for index, message in enumerate(batch):
            if message.pk != started_pk:
                if time.monotonic() > self.deadline:
                    return True  # hand over; what was claimed and not started is released
                self.pace()
                if not self.connect(batch[index:]):
                    return False
                if _mark_in_flight(message.pk, self.owner) != 1:
                    continue  # lease lost, or the mailing was paused or cancelled meanwhile
            self.touched.add(message.mailing_id)
            self.renew_leases()
            following = batch[index + 1] if index + 1 < len(batch) else None
            started_pk, paused = self.transmit(message, following, prepared)
            if last_index[message.mailing_id] == index:
                # Its last message of this batch is recorded: the mailing may be done now,
                # not only when this run ends.
                refresh_mailing_status([message.mailing_id])
            if paused:
                return False
        return None

    def pace(self) -> None:
        if self.delay and self.last_transaction:
            wait = self.delay - (_now() - self.last_transaction).total_seconds()
            if wait > 0:
                time.sleep(wait)

    def connect(self, remaining: list[Message]) -> bool:
        """An open connection, or False after recording why there is none."""
        if self.connection is not None and time.monotonic() - self.last_used > 20 \
                and not self.connection.is_alive():
            # Idle for a while (a paced account): the server may have dropped it.
            self.drop_connection()
        if self.connection is not None:
            return True
        try:
            # Inside: even building the connection's settings (an unreadable password) ends
            # as a recorded, classified failure.
            connection = SMTPConnection(account_connection_settings(self.account))
            connection.open()
        except SMTPFailure as failure:
            if failure.kind in ACCOUNT_ERRORS:
                _pause_account(self.account, failure)
                return False
            # The server is unreachable: defer the whole batch with back-off rather than
            # knocking again for every message.
            for pending in remaining:
                _record_failure(pending, failure, _now())
            return False
        self.connection = connection
        return True

    def renew_leases(self) -> None:
        """Leases are renewed well before they expire, not on every message."""
        if time.monotonic() <= self.renew_at:
            return
        Message.objects.filter(lease_owner=self.owner, status=S.SENDING).update(
            lease_expires_at=_lease_until())
        AccountSlot.objects.filter(pk=self.slot.pk, owner=self.owner).update(
            lease_expires_at=_lease_until())
        self.renew_at = time.monotonic() + settings.MAILING_LEASE_SECONDS / 3

    def transmit(self, message: Message, following: Message | None,
                 prepared: dict[int, bytes]) -> tuple[int | None, bool]:
        """One SMTP transaction and its result. Returns the message marked in flight with the
        result (if any) and whether the account was paused."""
        try:
            renderer = self.renderers.get(message.mailing_id)
            if renderer is None:
                renderer = self.renderers[message.mailing_id] = MailingRenderer(message.mailing)
            payload = prepared.pop(message.pk, None) or renderer.build(message, message.envelope)
        except (RenderLimitExceeded, TemplateProblem) as problem:
            # This recipient's message is too big or too slow to fill in (or its template,
            # saved before a stricter rule, is now refused): a permanent failure of this
            # message only, with the reason; the others go out.
            _record_failure(message, SMTPFailure(ErrorKind.PERMANENT, str(problem)), _now())
            return None, False
        try:
            result = self.connection.send(
                payload, envelope_sender(self.account, message.pk),
                [r.email for r in message.envelope],
                while_waiting=None if self.delay else _preparer(following, self.renderers,
                                                                prepared))
        except SMTPFailure as failure:
            self.drop_connection()
            if failure.kind in ACCOUNT_ERRORS:
                _record_release_in_flight(message)
                _pause_account(self.account, failure)
                return None, True
            _record_failure(message, failure, _now())
            return None, False
        finally:
            self.transaction_done()
        # Without a delay the next message starts at once: mark it in flight in the result's
        # transaction. With a delay it is marked after the wait, just before its DATA, so that
        # a worker killed while waiting leaves nothing uncertain.
        start_next = (following.pk if following is not None and not self.delay
                      and time.monotonic() <= self.deadline else None)
        started = _record_sent(message, result, self.last_transaction, start_next=start_next,
                               owner=self.owner)
        return (start_next if started else None), False

    def transaction_done(self) -> None:
        self.last_used = time.monotonic()
        self.last_transaction = _now()
        if self.delay:
            # Shared with the next worker that takes this account's only slot.
            AccountSlot.objects.filter(pk=self.slot.pk).update(
                last_transaction_at=self.last_transaction)

    def drop_connection(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def close(self) -> None:
        self.drop_connection()
        release(self.owner)
        slot_release(self.slot, self.owner)
        refresh_mailing_status(self.touched)


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


# --- recovery --------------------------------------------------------------------------------

def _free_claims(claims, slots, text: str) -> None:
    """A dead worker's claims: the message in flight is uncertain, the others go back to the
    queue (or end cancelled), and its slots are free."""
    claims = claims.filter(status=S.SENDING)
    with transaction.atomic():
        _record_uncertain(list(claims.filter(in_flight_at__isnull=False)
                               .values_list("pk", flat=True)), text)
        _requeue(list(claims.filter(in_flight_at__isnull=True).values_list("pk", flat=True)))
        slots.update(owner="", lease_expires_at=None)


def accounts_with_due_work() -> list[int]:
    return sorted(set(
        Message.objects.filter(_may_leave(), status__in=DUE_STATUSES,
                               account__paused_reason="")
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=_now()))
        .order_by().values_list("account_id", flat=True).distinct()
    ))


def recover_expired() -> list[int]:
    """Run by beat, the safety net: recover work whose lease expired; return the accounts
    with due work."""
    now = _now()
    _free_claims(Message.objects.filter(lease_expires_at__lt=now),
                 AccountSlot.objects.filter(lease_expires_at__lt=now), WORKER_STOPPED)
    return accounts_with_due_work()


def reap_dead_workers() -> list[int]:
    """Free the claims and slots of every process whose heartbeat stopped more than
    MAILING_WORKER_DEAD_SECONDS ago; return the accounts with due work (none if no process
    died). Safe to run from several processes at once."""
    cutoff = _now() - timedelta(seconds=settings.MAILING_WORKER_DEAD_SECONDS)
    dead = list(WorkerProcess.objects.filter(beat_at__lt=cutoff).values_list("key", flat=True))
    for key in dead:
        logger.warning("Worker process %s stopped beating: its claims are freed.", key)
        _free_claims(Message.objects.filter(lease_owner__startswith=key + "/"),
                     AccountSlot.objects.filter(owner__startswith=key + "/"), WORKER_STOPPED)
        WorkerProcess.objects.filter(key=key, beat_at__lt=cutoff).delete()
    return accounts_with_due_work() if dead else []
