"""Running an aiosmtpd server from a management command, until Ctrl-C or SIGTERM."""

import signal
import time

from django.core.management.base import CommandError


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def serve(controller, *, host: str, port: int, started, announce: str) -> None:
    """Start `controller`, print `announce`, and serve until interrupted; honcho (make run)
    and docker stop with SIGTERM, which leaves through the same clean path as Ctrl-C."""
    try:
        controller.start()
    except started as error:
        raise CommandError(f"Cannot listen on {host}:{port}: {error}") from error
    print(announce, flush=True)
    wait_for_stop(controller.stop)


def wait_for_stop(stop) -> None:
    """Sleep until Ctrl-C or SIGTERM, then call `stop`."""
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        stop()
