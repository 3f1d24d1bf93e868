"""`run_inbound_smtp`: the inbound SMTP server (bounces, DSNs, replies)."""

from django.conf import settings
from django.core.management.base import BaseCommand

from mailing.management.serving import serve
from mailing.tracking.inbound import inbound_controller


class Command(BaseCommand):
    help = ("Run the inbound SMTP server of the integrated domain: delivery reports (bounces, "
            "DSNs) to the VERP addresses, replies forwarded to the schools' addresses.")

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.INBOUND_SMTP_HOST)
        parser.add_argument("--port", type=int, default=settings.INBOUND_SMTP_PORT)

    def handle(self, *args, host, port, **options):
        controller = inbound_controller(host=host, port=port)
        serve(controller, host=host, port=port, started=(OSError, RuntimeError),
              announce=f"Inbound SMTP for @{settings.INTEGRATED_MAIL_DOMAIN} listening on "
                       f"{host}:{port}")
