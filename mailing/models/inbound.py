"""What the inbound SMTP server received: kept before it is processed, so nothing is lost."""

from django.db import models

from .mailings import Message
from .sending_accounts import SendingAccount


class InboundMessage(models.Model):
    """One message accepted by `run_inbound_smtp`, with the bytes exactly as received and
    what was done with it (delivery report applied, reply forwarded, or why not)."""

    class Outcome(models.TextChoices):
        RECEIVED = "received", "received"  # stored, not processed yet (or processing crashed)
        TRACKED = "tracked", "delivery report applied"
        UNMATCHED = "unmatched", "delivery report for no known message"
        FORWARDED = "forwarded", "reply forwarded"
        # Over the account's hourly forwarding cap: kept for the school to read, not sent on.
        HELD = "held", "reply held (hourly forwarding cap)"
        NOT_FORWARDED = "not_forwarded", "automatic message, not forwarded"
        IGNORED = "ignored", "not a delivery report"
        FAILED = "failed", "processing failed"

    received_at = models.DateTimeField(auto_now_add=True)
    mail_from = models.TextField(blank=True)
    rcpt_tos = models.JSONField(default=list)
    peer = models.CharField(max_length=100, blank=True)
    raw = models.BinaryField()
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.RECEIVED)
    details = models.TextField(blank=True)
    message = models.ForeignKey(Message, on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="inbound_reports")
    account = models.ForeignKey(SendingAccount, on_delete=models.SET_NULL, null=True,
                                blank=True, related_name="+")
    # The received message's Message-ID (or a digest of its bytes) and the accounts it was
    # forwarded for, saved after each forward: a sender retrying after a 451 must not make
    # the school receive a reply twice.
    original_id = models.CharField(max_length=300, blank=True, db_index=True)
    forwarded_accounts = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        indexes = [models.Index(fields=["outcome", "received_at"])]

    def __str__(self):
        return f"{self.received_at:%Y-%m-%d %H:%M} {self.mail_from or '<>'}"
