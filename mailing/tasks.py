"""Thin Celery adapters: ids in, one engine call each (see mailing/engine/)."""

import logging

from celery import shared_task
from django.conf import settings

from mailing.engine.queue import enqueue_account

logger = logging.getLogger(__name__)


@shared_task(name="mailing.tasks.send_account", acks_late=True)
def send_account(account_id: int) -> None:
    from mailing.engine import send_account_work
    from mailing.models import SendingAccount

    if send_account_work(account_id):
        enqueue_account(account_id, is_system=SendingAccount.objects.filter(
            pk=account_id, is_system=True).exists())


@shared_task(name="mailing.tasks.sweep")
def sweep() -> None:
    from mailing.engine import heartbeat, reap_dead_workers, recover_expired
    from mailing.models import SendingAccount

    system_ids = set(SendingAccount.objects.filter(is_system=True).values_list("pk", flat=True))
    # Dead workers judged only from a process whose own heartbeat is current (not just back
    # from a database outage, when every other process is as late as itself).
    dead = reap_dead_workers() if heartbeat.may_judge() else []
    for account_id in sorted(set(dead) | set(recover_expired())):
        enqueue_account(account_id, is_system=account_id in system_ids)


@shared_task(name="mailing.tasks.purge_inbound")
def purge_inbound() -> int:
    """Scheduled by beat: what the inbound server received (whole messages, personal data)
    is kept INBOUND_RETENTION_DAYS for ops, then deleted; its effects stay recorded."""
    from datetime import timedelta

    from django.utils import timezone

    from mailing.models import InboundMessage

    cutoff = timezone.now() - timedelta(days=settings.INBOUND_RETENTION_DAYS)
    deleted, _ = InboundMessage.objects.filter(received_at__lt=cutoff).delete()
    return deleted


@shared_task(name="mailing.tasks.purge_submitted")
def purge_submitted() -> int:
    """Scheduled by beat: the content of what other applications submitted is deleted
    SUBMISSION_RETENTION_DAYS after it arrived, once nothing of it can still leave."""
    from mailing.submission.accept import submitted_purge

    return submitted_purge()


@shared_task(name="mailing.tasks.start_scheduled")
def start_scheduled() -> int:
    """Scheduled by beat: submit the mailings whose time has come."""
    from mailing.mailings.scheduling import mailings_start_due

    return len(mailings_start_due())
