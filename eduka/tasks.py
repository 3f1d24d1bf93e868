"""Platform-level Celery tasks (a ping for ops checks)."""

from celery import shared_task


@shared_task(name="eduka.ping", ignore_result=False)
def ping(payload: str) -> str:
    """Round-trip check for ops and tests: proves a worker consumes from the broker."""
    return f"pong:{payload}"
