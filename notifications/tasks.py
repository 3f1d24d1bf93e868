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
