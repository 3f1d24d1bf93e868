"""Thin Celery adapters: ids in, one engine call each (see mailing/engine/)."""

import logging

from celery import shared_task
from django.conf import settings

logger = logging.getLogger(__name__)


def enqueue_account(account_id: int, *, is_system: bool = False, connections: int = 1) -> bool:
    """Ask workers to send for this account, one task per connection it may use at once.
    If the broker is unreachable the work is still safe in the database: beat's sweep
    enqueues it again once the broker is back. Returns whether the broker took the tasks."""
    try:
        queue = settings.MAILING_QUEUE_SYSTEM if is_system else settings.MAILING_QUEUE_BULK
        for _ in range(connections):
            send_account.apply_async(args=[account_id], queue=queue)
    except Exception:  # noqa: BLE001 (any broker error: the database keeps the work)
        logger.warning("Broker unavailable: account %s will be picked up by the sweep.",
                       account_id, exc_info=True)
        return False
    return True


@shared_task(name="mailing.tasks.send_account", acks_late=True)
def send_account(account_id: int) -> None:
    from mailing.engine import send_account_work
    from mailing.models import SendingAccount

    if send_account_work(account_id):
        enqueue_account(account_id, is_system=SendingAccount.objects.filter(
            pk=account_id, is_system=True).exists())


@shared_task(name="mailing.tasks.sweep")
def sweep() -> None:
    from mailing.engine import reap_dead_workers, recover_expired
    from mailing.models import SendingAccount

    system_ids = set(SendingAccount.objects.filter(is_system=True).values_list("pk", flat=True))
    for account_id in sorted(set(reap_dead_workers()) | set(recover_expired())):
        enqueue_account(account_id, is_system=account_id in system_ids)


@shared_task(name="mailing.tasks.purge_inbound")
def purge_inbound() -> int:
    """Scheduled by beat: what the inbound server received (whole messages, personal data)
    is kept INBOUND_RETENTION_DAYS for ops, then deleted; its effects stay recorded."""
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    from mailing.models import InboundMessage

    cutoff = timezone.now() - timedelta(days=settings.INBOUND_RETENTION_DAYS)
    deleted, _ = InboundMessage.objects.filter(received_at__lt=cutoff).delete()
    return deleted
