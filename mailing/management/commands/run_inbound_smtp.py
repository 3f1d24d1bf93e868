import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from mailing.inbound import inbound_controller


def _interrupt(signum, frame):
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = ("Run the inbound SMTP server of the integrated domain: delivery reports (bounces, "
            "DSNs) to the VERP addresses, replies forwarded to the schools' addresses.")

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.INBOUND_SMTP_HOST)
        parser.add_argument("--port", type=int, default=settings.INBOUND_SMTP_PORT)

    def handle(self, *args, host, port, **options):
        controller = inbound_controller(host=host, port=port)
        try:
            controller.start()
        except (OSError, RuntimeError) as error:
            raise CommandError(f"Cannot listen on {host}:{port}: {error}") from error
        self.stdout.write(f"Inbound SMTP for @{settings.INTEGRATED_MAIL_DOMAIN} listening on "
                          f"{host}:{port}")
        # honcho (make run) and docker stop with SIGTERM: leave through the same clean path.
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            controller.stop()
