"""`mailing_status MAILING [--json]`: every recipient's fate, for ops."""

import json

from django.core.management.base import BaseCommand, CommandError

from mailing.mailings.selectors import mailing_counts
from mailing.models import Mailing


class Command(BaseCommand):
    help = ("Every recipient's fate in a mailing: status, attempts, server code and text, "
            "Message-ID, delivery report — the same truth the screens show.")

    def add_arguments(self, parser):
        parser.add_argument("mailing", type=int)
        parser.add_argument("--json", action="store_true", help="machine-readable output")

    def handle(self, *args, mailing, **options):
        try:
            found = Mailing.objects.select_related("account", "submitted__application").get(
                pk=mailing)
        except Mailing.DoesNotExist:
            raise CommandError(f"No mailing {mailing}.") from None
        recipients = [
            # For an SMS mailing, "email" holds the mobile number (E.164) and "provider_ref"
            # the provider's id of the SMS, which its receipts name.
            {"email": r.email, "name": r.name, "status": r.status,
             "provider_ref": r.provider_ref,
             "attempts": r.message.attempts if r.message else 0,
             "smtp_code": r.smtp_code, "smtp_text": r.smtp_text,
             "message_id": r.message.message_id if r.message else None,
             "sent_at": r.message.sent_at.isoformat() if r.message and r.message.sent_at
             else None,
             # What delivery tracking learned (DSN / bounce), apart from the server's reply.
             "delivery": {"action": r.delivery_action, "status": r.delivery_status,
                          "diagnostic": r.delivery_diagnostic,
                          "reported_at": r.delivery_reported_at.isoformat()
                          if r.delivery_reported_at else None}}
            for r in found.recipients.select_related("message").order_by("pk").iterator()
        ]
        data = {"mailing": found.pk, "subject": found.subject, "status": found.status,
                "account": str(found.account), "mode": found.mode,
                "channel": "sms" if found.account.is_sms else "email",
                # Who handed it in, for a message another application submitted (Pronote…).
                "application": found.submitted.application.name
                if found.mode == Mailing.Mode.RELAYED else None,
                "counts": mailing_counts(found), "recipients": recipients}
        if options["json"]:
            self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2))
            return
        self.stdout.write(f"{'SMS mailing' if found.account.is_sms else 'Mailing'} {found.pk} "
                          f"“{found.subject}”: {found.status}")
        if data["application"]:
            self.stdout.write(f"  sent by the application “{data['application']}”")
        for key, value in data["counts"].items():
            if value:
                self.stdout.write(f"  {key}: {value}")
        for r in recipients:
            line = (f"  {r['status']:<10} {r['email']:<40} {r['smtp_code'] or ''} "
                    f"{r['smtp_text']}")
            if r["delivery"]["action"]:
                line += (f" | {r['delivery']['action']} {r['delivery']['status']} "
                         f"{r['delivery']['diagnostic']}")
            self.stdout.write(line)
