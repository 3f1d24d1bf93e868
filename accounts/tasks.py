from celery import shared_task


@shared_task(name="accounts.tasks.clear_expired_sessions")
def clear_expired_sessions() -> None:
    """Scheduled by beat: database sessions otherwise pile up for ever."""
    from django.core.management import call_command

    call_command("clearsessions")
