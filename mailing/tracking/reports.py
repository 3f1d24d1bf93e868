"""Delivery tracking: which message a delivery report is about, and what it changes.

Status transitions of a recipient (the rules, in one place):

- A report only concerns recipients whose message left: sent, uncertain (the report proves
  it left), delivered or bounced. Queued, failed (refused at RCPT by our own server), skipped
  or cancelled recipients never change through a report.
- `delivered` (Action delivered or expanded — expanded means it reached the address, which is
  a list or an alias): sent / uncertain -> delivered. A later "delivered" never overwrites
  "bounced": failure evidence wins, since "delivered" reports come from intermediate hops
  (a mailbox that forwards, an alias) while the failure is what the person did not get.
- `bounced` (Action failed): sent / uncertain / delivered -> bounced, with the report's status
  and diagnostic kept verbatim (when the report's Status is a generic X.0.0 and its diagnostic
  carries the remote server's enhanced code of the same class, that code is the status used,
  and the report's own Status is kept before the diagnostic). A failure with a 5.x.x status in
  the hard-bounce classes (bad mailbox, bad domain, disabled mailbox…) also puts the address
  on the suppression list; a failure with 4.x.x (the remote server gave up retrying) or a
  policy / mailbox-full 5.x.x is a bounce for this message but says nothing certain about the
  address. A bounce in prose without any code (see `mailing.tracking.dsn`) counts as 5.2.2 when
  it says
  the mailbox is full (soft) and 5.1.1 when it says the address does not exist (hard).
- `relayed` (handed on to a system that does not report: no confirmation will come) and
  `delayed` (still trying) change no final status: the note is recorded on a recipient still
  sent / uncertain, so staff can read it (an uncertain one becomes sent: it left).
- Any report about an uncertain message proves that it left: the message becomes sent, so
  nobody resends it.
- Applying the same report twice changes nothing (every update is conditional on the status
  it moves from, and the suppression list is keyed on the address).
"""

import hmac
import logging
import re
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from mailing.mailings.rendering import verp_address
from mailing.models import Message, Recipient, SuppressedAddress
from mailing.tracking.dsn import DeliveryReport, RecipientReport

logger = logging.getLogger(__name__)
S = Recipient.Status
LEFT = [S.SENT, S.UNCERTAIN, S.DELIVERED, S.BOUNCED]
_VERP = re.compile(r"^bounces\+(\d{1,18})-([0-9a-f]{12})$", re.IGNORECASE)
# Enhanced status codes (RFC 3463) that say the address itself is bad. 5.1.7 / 5.1.8 are
# about the sender, 5.2.2 (mailbox full) and 5.7.x (policy, spam) about circumstances.
HARD_BOUNCE = re.compile(r"^5\.(1\.(1|2|3|6|10)|2\.1|4\.4)$")


def verp_message_pk(address: str) -> int | None:
    """The message a VERP address names, if its signature is ours (constant-time compare);
    None for any other address, forged or not."""
    local, _, domain = address.rpartition("@")
    if domain.lower() != settings.INTEGRATED_MAIL_DOMAIN.lower():
        return None
    match = _VERP.match(local)
    if not match:
        return None
    pk = int(match.group(1))
    if not hmac.compare_digest(verp_address(pk).lower().encode(), address.lower().encode()):
        return None
    return pk


def is_hard_bounce(report: RecipientReport) -> bool:
    return report.action == "failed" and bool(HARD_BOUNCE.match(report.status))


def message_for_report(report: DeliveryReport) -> Message | None:
    """Without a VERP address: the original's Message-ID (or the envelope id we gave, which
    is the Message-ID too)."""
    for candidate in (report.original_message_id, report.envelope_id):
        candidate = candidate.strip()
        if candidate:
            found = Message.objects.filter(message_id=candidate).first()
            if found:
                return found
    return None


@dataclass
class Applied:
    email: str
    action: str
    changed: bool
    suppressed: bool = False

    def __str__(self):
        note = " (changed)" if self.changed else ""
        return f"{self.email}: {self.action}{note}{' suppressed' if self.suppressed else ''}"


def _recipient_for(recipients: list[Recipient], item: RecipientReport) -> Recipient | None:
    """In a BCC chunk the report's Original-Recipient (our ORCPT) or Final-Recipient says
    which envelope recipient it is about; a message to one person needs no name."""
    for address in (item.original_recipient, item.final_recipient):
        if address:
            for recipient in recipients:
                if recipient.email.lower() == address.lower():
                    return recipient
    if len(recipients) == 1 and not item.original_recipient:
        # A forwarding mailbox reports its own final address: still the only recipient.
        return recipients[0]
    return None


def _suppress(email: str, reason: str) -> bool:
    if SuppressedAddress.objects.filter(email__iexact=email).exists():
        return False
    SuppressedAddress.objects.create(email=email, reason=reason[:300])
    return True


@transaction.atomic
def delivery_report_apply(*, message: Message, report: DeliveryReport,
                          verified: bool = True) -> list[Applied]:
    """Apply a report to the recipients of `message` (see the module's rules).

    ``verified=False`` (the report reached us without a signed VERP address, so anyone who
    knows the Message-ID could have written it): the report is recorded on the recipient as a
    note, but changes no status and suppresses no address."""
    now = timezone.now()
    # All the message's recipients, so that "a message to one person" means one person.
    recipients = list(Recipient.objects.filter(message=message))
    applied = []
    for item in report.recipients:
        recipient = _recipient_for(recipients, item)
        if recipient is None or recipient.status not in LEFT:
            applied.append(Applied(item.final_recipient, "no matching recipient", False))
            continue
        fields = {"delivery_action": item.action, "delivery_status": item.status,
                  "delivery_diagnostic": item.reason, "delivery_reported_at": now}
        rows = Recipient.objects.filter(pk=recipient.pk)
        suppressed = False
        if not verified:
            changed = rows.update(**fields)
            applied.append(Applied(recipient.email, f"{item.action} (unverified, noted)",
                                   bool(changed)))
            continue
        if item.action == "failed":
            changed = rows.filter(status__in=[S.SENT, S.UNCERTAIN, S.DELIVERED]).update(
                status=S.BOUNCED, **fields)
            # Only on the transition: a duplicate of an old report must not put back an
            # address an administrator removed from the list since.
            if changed and is_hard_bounce(item):
                suppressed = _suppress(recipient.email,
                                       f"{item.status} {item.reason}".strip())
        elif item.action in ("delivered", "expanded"):
            changed = rows.filter(status__in=[S.SENT, S.UNCERTAIN]).update(
                status=S.DELIVERED, **fields)
        else:  # delayed, relayed: a note on a recipient whose fate is not known yet
            changed = rows.filter(status__in=[S.SENT, S.UNCERTAIN]).exclude(
                Q(delivery_action=item.action) & Q(delivery_status=item.status)
                & Q(delivery_diagnostic=item.reason)).update(**fields)
            rows.filter(status=S.UNCERTAIN).update(status=S.SENT)
        # A verified report proves that an uncertain message left: there is nothing to
        # resend, for any of its recipients (a BCC chunk).
        if Message.objects.filter(pk=message.pk, status=S.UNCERTAIN).update(status=S.SENT):
            Recipient.objects.filter(message=message, status=S.UNCERTAIN).update(
                status=S.SENT)
        applied.append(Applied(recipient.email, item.action, bool(changed), suppressed))
    logger.info("Delivery report for message %s: %s", message.pk,
                "; ".join(str(a) for a in applied))
    return applied


@transaction.atomic
def suppressed_address_remove(*, suppressed: SuppressedAddress) -> None:
    """An administrator says the address works again: future mailings include it."""
    SuppressedAddress.objects.filter(pk=suppressed.pk).delete()
