"""Asking workers to send for an account: one task per connection it may use at once, sent to
the broker by name (so that nothing here imports the task modules)."""

import logging

from django.conf import settings

logger = logging.getLogger(__name__)


def enqueue_account(account_id: int, *, is_system: bool = False, connections: int = 1) -> bool:
    """Ask workers to send for this account, one task per connection it may use at once.
    If the broker is unreachable the work is still safe in the database: beat's sweep
    enqueues it again once the broker is back. Returns whether the broker took the tasks."""
    from celery import current_app as app

    try:
        queue = settings.MAILING_QUEUE_SYSTEM if is_system else settings.MAILING_QUEUE_BULK
        for _ in range(connections):
            app.send_task("mailing.tasks.send_account", args=[account_id], queue=queue)
    except Exception:  # noqa: BLE001 (any broker error: the database keeps the work)
        logger.warning("Broker unavailable: account %s will be picked up by the sweep.",
                       account_id, exc_info=True)
        return False
    return True
