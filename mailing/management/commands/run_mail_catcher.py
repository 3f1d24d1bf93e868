"""`run_mail_catcher`: the local SMTP catcher used in development."""

from aiosmtpd.controller import Controller
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from mailing.devtools.catcher import CatcherHandler
from mailing.management.serving import serve


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
        serve(controller, host=host, port=port, started=OSError,
              announce=f"Mail catcher listening on {host}:{port}, storing in {folder}")
