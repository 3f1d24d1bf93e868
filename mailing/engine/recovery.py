"""Recovery: the claims and slots of dead workers freed — at once when a heartbeat stops,
by beat when a lease expires — and the accounts with due work found again."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from mailing.models import AccountSlot, Message, WorkerProcess
from mailing.models.mailings import DUE_STATUSES

from .claims import WORKER_STOPPED, S, _now, _record_uncertain, _requeue
from .quotas import quota_free
from .statements import _may_leave

logger = logging.getLogger(__name__)

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
        Message.objects.filter(_may_leave(), quota_free(), status__in=DUE_STATUSES,
                               account__paused_reason="")
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=_now()))
        .order_by().values_list("account_id", flat=True).distinct()
    ))


def recover_expired() -> list[int]:
    """Run by beat, the safety net: recover work whose lease expired; return the accounts
    with due work."""
    now = _now()
    claims = Message.objects.filter(lease_expires_at__lt=now)
    slots = AccountSlot.objects.filter(lease_expires_at__lt=now)
    # A process that still beats is alive, however long one SMTP step takes (a slow server):
    # its work is not taken from it. Leases are for processes without a heartbeat.
    cutoff = now - timedelta(seconds=settings.MAILING_WORKER_DEAD_SECONDS)
    for key in WorkerProcess.objects.filter(beat_at__gte=cutoff).values_list("key", flat=True):
        claims = claims.exclude(lease_owner__startswith=key + "/")
        slots = slots.exclude(owner__startswith=key + "/")
    _free_claims(claims, slots, WORKER_STOPPED)
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

