"""Worker heartbeats: each sending process says it is alive, and notices dead peers in seconds.

Every Celery pool process runs a daemon thread (started by eduka/celery.py when the process
starts) that, every MAILING_HEARTBEAT_SECONDS, refreshes the process's WorkerProcess row and
frees the claims and slots of processes whose heartbeat is older than
MAILING_WORKER_DEAD_SECONDS (engine.reap_dead_workers), then asks for their due work to be sent.
A process killed with SIGKILL — a whole worker or one pool child — is thus noticed within
MAILING_WORKER_DEAD_SECONDS + MAILING_HEARTBEAT_SECONDS by any live worker; beat's sweep does
the same, and leases remain the safety net when no worker is left.
"""

import logging
import threading
import time

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from mailing.engine.claims import process_key
from mailing.engine.queue import enqueue_account
from mailing.engine.recovery import reap_dead_workers
from mailing.models import SendingAccount, WorkerProcess

logger = logging.getLogger(__name__)
_stop = threading.Event()
_thread: threading.Thread | None = None


def beat() -> None:
    """Say this process is alive."""
    now = timezone.now()
    if not WorkerProcess.objects.filter(key=process_key()).update(beat_at=now):
        WorkerProcess.objects.get_or_create(key=process_key(), defaults={"beat_at": now})


_last_beat = 0.0  # time.monotonic() of this process's last successful beat


def may_judge() -> bool:
    """Whether this process beat recently enough to judge others dead (it beats itself, and
    was not cut off from the database a moment ago)."""
    return 0 < time.monotonic() - _last_beat <= settings.MAILING_WORKER_DEAD_SECONDS


def beat_and_reap() -> None:
    global _last_beat
    silent_for = time.monotonic() - _last_beat
    beat()
    _last_beat = time.monotonic()
    if silent_for > settings.MAILING_WORKER_DEAD_SECONDS:
        # This process could not beat for a while either (the database was unreachable, the
        # machine stalled): the others are probably alive and just as late. Let them beat once
        # before judging anyone dead.
        return
    accounts = reap_dead_workers()
    if accounts:
        system = set(SendingAccount.objects.filter(pk__in=accounts, is_system=True)
                     .values_list("pk", flat=True))
        for account_id in accounts:
            enqueue_account(account_id, is_system=account_id in system)


def _loop() -> None:
    while not _stop.wait(settings.MAILING_HEARTBEAT_SECONDS):
        try:
            close_old_connections()
            beat_and_reap()
        except Exception:  # noqa: BLE001 (a database hiccup must not end the heartbeat)
            logger.warning("Heartbeat failed; trying again.", exc_info=True)
        finally:
            close_old_connections()


def start() -> None:
    """Start this process's heartbeat (once per process)."""
    global _thread
    if _thread is not None and _thread.is_alive():
        return
    _stop.clear()
    global _last_beat
    try:
        beat()
        _last_beat = time.monotonic()
    except Exception:  # noqa: BLE001 (the thread tries again)
        logger.warning("First heartbeat failed.", exc_info=True)
    _thread = threading.Thread(target=_loop, name="eduka-heartbeat", daemon=True)
    _thread.start()


def stop() -> None:
    """A clean exit: stop beating and say so, so that nobody waits for this process."""
    _stop.set()
    try:
        WorkerProcess.objects.filter(key=process_key()).delete()
    except Exception:  # noqa: BLE001 (the row then simply goes stale and is reaped)
        logger.debug("Could not remove the heartbeat row.", exc_info=True)
