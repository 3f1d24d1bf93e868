"""Celery adapters of the notifications app: dispatch, sweep and purge of change alerts."""

from datetime import timedelta

from celery import shared_task


@shared_task(name="notifications.tasks.dispatch_changes")
def dispatch_changes() -> int:
    from .alerts import dispatch_changes as dispatch

    return dispatch()


@shared_task(name="notifications.tasks.sweep_changes")
def sweep_changes() -> int:
    """Scheduled by beat: alerts a broker outage kept from being dispatched after commit."""
    from .alerts import dispatch_changes as dispatch

    return dispatch(older_than=timedelta(minutes=1))


@shared_task(name="notifications.tasks.purge_changes")
def purge_changes() -> int:
    """Scheduled by beat: recorded changes hold personal data (old and new phone numbers,
    addresses); once alerted, they are kept CHANGE_RETENTION_DAYS, then deleted."""
    from django.conf import settings
    from django.utils import timezone

    from .models import Change

    cutoff = timezone.now() - timedelta(days=settings.CHANGE_RETENTION_DAYS)
    deleted, _ = Change.objects.filter(dispatched_at__lt=cutoff).delete()
    return deleted
