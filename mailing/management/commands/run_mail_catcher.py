import signal
import time

from aiosmtpd.controller import Controller
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from mailing.catcher import CatcherHandler


def _interrupt(signum, frame):
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Run the local SMTP mail catcher (development only); read its mail at /dev/mail/."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=getattr(settings, "MAIL_CATCHER_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int,
                            default=getattr(settings, "MAIL_CATCHER_PORT", 1025))

    def handle(self, *args, host, port, **options):
        folder = settings.MAIL_CATCHER_DIR
        if not folder:
            raise CommandError("MAIL_CATCHER_DIR is not set: the mail catcher is for "
                               "development settings only.")
        controller = Controller(CatcherHandler(folder), hostname=host, port=port,
                                server_hostname="mail-catcher.local")
        try:
            controller.start()
        except OSError as error:
            raise CommandError(f"Cannot listen on {host}:{port}: {error}") from error
        self.stdout.write(f"Mail catcher listening on {host}:{port}, storing in {folder}")
        # honcho (make run) stops its processes with SIGTERM: leave through the same clean path.
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            controller.stop()
