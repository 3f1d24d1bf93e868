"""`run_submission_smtp`: the submission server for other applications (Pronote…)."""

import time

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from mailing.management.serving import wait_for_stop
from mailing.submission.server import submission_controllers


class Command(BaseCommand):
    help = ("Run the SMTP submission server of the integrated sending service: other "
            "applications (Pronote, a scanner…) send through it with an application access "
            "created on the account's page, and their mail is tracked like Eduka's own.")

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.SUBMISSION_SMTP_HOST)
        parser.add_argument("--port", type=int, default=settings.SUBMISSION_SMTP_PORT)
        parser.add_argument("--tls-port", type=int, default=settings.SUBMISSION_SMTPS_PORT,
                            help="Also listen with implicit TLS on this port (e.g. 465).")

    def handle(self, *args, host, port, tls_port, **options):
        try:
            handler, controllers = submission_controllers(host=host, port=port,
                                                          tls_port=tls_port)
        except (ImproperlyConfigured, OSError) as error:
            raise CommandError(str(error)) from error
        started = []
        try:
            for controller in controllers:
                controller.start()
                started.append(controller)
        except (OSError, RuntimeError) as error:
            for controller in started:
                controller.stop()
            raise CommandError(f"Cannot listen on {host}: {error}") from error
        ports = f"{port} (STARTTLS)" + (f" and {tls_port} (TLS)" if tls_port else "")
        self.stdout.write(f"Submission SMTP listening on {host}:{ports}")
        self.stdout.flush()
        wait_for_stop(lambda: self._drain(handler, controllers))

    def _drain(self, handler, controllers) -> None:
        """Stop listening, let the messages being stored finish (their clients get their
        250), then stop. A client still sending its message got no 250: it retries."""
        for controller in controllers:
            if controller.server is not None:
                controller.loop.call_soon_threadsafe(controller.server.close)
        deadline = time.monotonic() + settings.SUBMISSION_DRAIN_SECONDS
        while handler.storing and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)  # the 250 of the last one stored reaches its client
        for controller in controllers:
            controller.stop()
        handler.db.close()
        self.stdout.write("Submission SMTP stopped")
