"""The sending loop: one worker's turn on one account, reading top to bottom in `_AccountRun` —
claim a batch → pace → connect → send → record. Channel-neutral: payloads, connections and
outcomes come from the account's channel (mailing/engine/channel.py)."""

import contextlib
import logging
import time

from django.conf import settings
from django.utils.translation import gettext as _

from mailing.mailings.templating import RenderLimitExceeded, TemplateProblem
from mailing.models import AccountSlot, Message, SendingAccount

from .channel import (
    ACCOUNT_ERRORS,
    Builder,
    BuildFailure,
    Connection,
    DeliveryFailure,
    ErrorKind,
    account_channel,
)
from .claims import (
    S,
    _lease_until,
    _mark_in_flight,
    _now,
    _pause_account,
    _record_failure,
    _record_release_in_flight,
    _record_sent,
    claim,
    refresh_mailing_status,
    release,
    slot_acquire,
    slot_release,
    worker_identity,
)
from .quotas import (
    own_limit_reason,
    provider_quota_until,
    quota_resume_at,
    quota_wait,
    waiting_for_quota,
)

logger = logging.getLogger(__name__)

def send_account_work(account_id: int, *, owner: str | None = None,
                      time_budget: float | None = None) -> bool:
    """Send due messages of one account until none is left or the time budget is spent.
    Returns True when due work remains (the caller enqueues another run)."""
    owner = owner or worker_identity()
    account = SendingAccount.objects.filter(pk=account_id).first()
    if (account is None or account.paused_reason or not account.is_active
            or not account.is_configured or waiting_for_quota(account)):
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
        self.channel = account_channel(account)
        self.connection: Connection | None = None
        self.last_used = time.monotonic()
        self.renew_at = time.monotonic() + settings.MAILING_LEASE_SECONDS / 3
        self.renderers: dict[int, Builder] = {}
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
                if self.account.has_quota and not self.within_quota(message):
                    return False  # handed back: the sweep resumes it when the quota allows
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

    def within_quota(self, message: Message) -> bool:
        """Wait for the account's own limits: a short wait here, a longer one by handing the
        work back until the quota allows (shown on the account's mailings)."""
        while True:
            resume = quota_resume_at(self.account, len(message.envelope))
            if resume is None:
                return True
            wait = (resume - _now()).total_seconds()
            if wait <= settings.MAILING_QUOTA_MAX_SLEEP and time.monotonic() + wait < self.deadline:
                time.sleep(max(wait, 0.01))
                continue
            quota_wait(self.account, resume, own_limit_reason(self.account))
            return False

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
            connection = self.channel.connect(self.account)
        except DeliveryFailure as failure:
            if failure.kind in ACCOUNT_ERRORS:
                _pause_account(self.account, failure)
                return False
            if failure.kind == ErrorKind.QUOTA:
                quota_wait(self.account, provider_quota_until(failure.text),
                           failure.server_reply)
                return False
            # The server is unreachable: defer the whole batch with back-off rather than
            # knocking again for every message.
            for pending in remaining:
                _record_failure(pending, failure, _now(), owner=self.owner)
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
        """One transaction (SMTP, or an SMS provider's API call) and its result. Returns the
        message marked in flight with the result (if any) and whether the account was
        paused."""
        try:
            renderer = self.renderers.get(message.mailing_id)
            if renderer is None:
                renderer = self.channel.builder(message.mailing)
                self.renderers[message.mailing_id] = renderer
            payload = prepared.pop(message.pk, None) or renderer.build(message, message.envelope)
        except (RenderLimitExceeded, TemplateProblem, BuildFailure) as problem:
            # This recipient's message is too big or too slow to fill in (or its template,
            # saved before a stricter rule, is now refused): a permanent failure of this
            # message only, with the reason; the others go out.
            _record_failure(message, DeliveryFailure(ErrorKind.PERMANENT, str(problem)), _now(),
                            owner=self.owner)
            return None, False
        except Exception as error:  # noqa: BLE001 (recorded: nothing left in flight)
            # Anything else while building (an attachment file gone missing…): it never left,
            # so it must not end "uncertain" when the task dies; fail it with the reason.
            logger.exception("Could not build message %s", message.pk)
            _record_failure(message, DeliveryFailure(ErrorKind.PERMANENT, _(
                "The message could not be built: %(error)s") % {
                    # The kind of error, never a server path or other internals.
                    "error": getattr(error, "strerror", None) or type(error).__name__}), _now(),
                owner=self.owner)
            return None, False
        try:
            result = self.connection.send(
                payload, self.channel.sender(self.account, message.pk),
                [r.email for r in message.envelope],
                while_waiting=None if self.delay else _preparer(following, self.renderers,
                                                                prepared))
        except DeliveryFailure as failure:
            self.drop_connection()
            if failure.kind in ACCOUNT_ERRORS or failure.kind == ErrorKind.QUOTA:
                # Refused before it was accepted: it did not leave, and waits (its attempt
                # not counted) until the account is fixed or the quota allows.
                _record_release_in_flight(message)
                if failure.kind == ErrorKind.QUOTA:
                    quota_wait(self.account, provider_quota_until(failure.text),
                               failure.server_reply)
                else:
                    _pause_account(self.account, failure)
                return None, True
            _record_failure(message, failure, _now(), owner=self.owner)
            return None, False
        finally:
            self.transaction_done()
        # Without a delay the next message starts at once: mark it in flight in the result's
        # transaction. With a delay it is marked after the wait, just before its DATA, so that
        # a worker killed while waiting leaves nothing uncertain.
        start_next = (following.pk if following is not None and not self.delay
                      and not self.account.has_quota  # each message checks the quota first
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


def _preparer(following: Message | None, renderers: dict[int, Builder],
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

