"""What SMS providers tell us after sending: delivery receipts and replies, at one URL per
account (`/sms/<account>/<secret>/receipts/`, given to the provider with every SMS).

Neither OVHcloud's `callBack` nor Brevo's `webUrl` signs its calls, so the URL itself is the
credential: a secret derived from the site's key and the account (SendingAccount.
sms_webhook_token), compared in constant time; anything else is a 404 that changes nothing.
A receipt names the provider's own id of an SMS, looked up among this account's recipients
only. Receipts go through the same rules as e-mail delivery reports
(mailing.tracking.reports.delivery_report_apply): applying one twice changes nothing, and a
late "sent" never overwrites "delivered" or "failed". A reply "STOP" takes the number out of
the school's SMS mailings."""

import json
import logging
from dataclasses import dataclass

from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from mailing.models import Recipient, SendingAccount, SuppressedAddress
from mailing.tracking.dsn import DeliveryReport, RecipientReport
from mailing.tracking.reports import delivery_report_apply
from school import phones
from school.models import Guardian

logger = logging.getLogger(__name__)

# OVHcloud's delivery codes (`dlr`): 1 delivered to the phone, 2 and 16 not delivered; the
# others (4 waiting at the operator, 8 handed to the operator) are on the way.
OVH_ACTIONS = {"1": "delivered", "2": "failed", "16": "failed"}
# Brevo's SMS events: delivered, or failed for good; the others are notes on the way.
BREVO_ACTIONS = {"delivered": "delivered", "hardBounce": "failed", "softBounce": "failed",
                 "rejected": "failed", "blacklisted": "failed", "skip": "failed"}
STOP_WORDS = {"STOP", "ARRET", "ARRÊT", "STOPSMS"}


@dataclass(frozen=True)
class Receipt:
    reference: str  # the provider's id of the SMS
    action: str  # delivered, failed, or delayed (still on its way: a note)
    status: str  # the provider's or operator's status, as given
    description: str = ""


@dataclass(frozen=True)
class Reply:
    number: str
    text: str


def _params(request) -> dict:
    """A provider's call as one dict: its query string, form fields or JSON body."""
    data = dict(request.GET.items())
    if request.method == "POST":
        if request.content_type == "application/json":
            body = json.loads(request.body or b"{}")
            if not isinstance(body, dict):
                raise ValueError("a JSON object was expected")
            data.update(body)
        else:
            data.update(request.POST.items())
    return data


def read_ovh(data: dict) -> list:
    if data.get("message") and (data.get("senderid") or data.get("sender")):
        return [Reply(str(data.get("senderid") or data.get("sender")), str(data["message"]))]
    reference, dlr = str(data.get("id", "")), str(data.get("dlr", ""))
    if not reference or not dlr:
        raise ValueError("id and dlr are required")
    return [Receipt(reference, OVH_ACTIONS.get(dlr, "delayed"), dlr,
                    str(data.get("description", "")))]


def read_brevo(data: dict) -> list:
    event = str(data.get("msg_status") or data.get("event") or "")
    if event in ("replied", "reply") or (data.get("reply") and not data.get("messageId")):
        return [Reply(str(data.get("to") or data.get("from") or ""), str(data.get("reply", "")))]
    reference = str(data.get("messageId") or data.get("message_id") or "")
    if not reference or not event:
        raise ValueError("messageId and msg_status are required")
    return [Receipt(reference, BREVO_ACTIONS.get(event, "delayed"), event,
                    str(data.get("description") or data.get("reason") or ""))]


READERS = {"ovh": read_ovh, "brevo": read_brevo}


def receipt_apply(*, account: SendingAccount, receipt: Receipt) -> bool:
    """Apply one receipt to the recipient it names among this account's; False when none is."""
    recipient = (Recipient.objects.filter(provider_ref=receipt.reference,
                                          message__account=account)
                 .select_related("message").first())
    if recipient is None:
        logger.info("SMS receipt for unknown id %r on account %s", receipt.reference, account.pk)
        return False
    report = DeliveryReport(recipients=[RecipientReport(
        final_recipient=recipient.email, action=receipt.action, status=receipt.status,
        diagnostic=receipt.description)])
    return any(applied.changed for applied in
               delivery_report_apply(message=recipient.message, report=report))


@transaction.atomic
def reply_apply(*, account: SendingAccount, reply: Reply) -> bool:
    """A "STOP" reply: the number's guardians are marked "no SMS" (as if they had ticked it on
    the portal); a number no guardian has goes on the suppression list. Other replies are
    only logged. Returns whether the number was taken out."""
    words = reply.text.strip().upper().split()
    if not words or words[0].rstrip(".!") not in STOP_WORDS:
        logger.info("SMS reply on account %s, not a STOP: kept out of the product", account.pk)
        return False
    number = phones.parse(reply.number if reply.number.startswith("+")
                          else "+" + reply.number.lstrip("0")).e164 or reply.number
    now = timezone.now()
    marked = Guardian.objects.filter(phone=number).update(sms_opt_out=True,
                                                          sms_opt_out_at=now)
    if not marked and not SuppressedAddress.objects.filter(email=number).exists():
        SuppressedAddress.objects.create(email=number, reason=_(
            "Replied STOP to an SMS on %(date)s") % {"date": now.date().isoformat()})
    logger.info("SMS STOP from a number on account %s: %s guardian(s) marked", account.pk,
                marked)
    return True


@csrf_exempt  # called by the provider, authenticated by the secret in its URL
@require_http_methods(["GET", "POST"])
def sms_receipts(request, account_id: int, token: str):
    account = SendingAccount.objects.filter(pk=account_id,
                                            kind=SendingAccount.Kind.SMS).first()
    if account is None or not account.sms_webhook_salt or not constant_time_compare(
            token, account.sms_webhook_token()):
        raise Http404
    reader = READERS.get(account.sms_provider)
    try:
        items = reader(_params(request)) if reader else []
    except (ValueError, TypeError) as error:
        return HttpResponseBadRequest(f"Unreadable receipt: {error}")
    for item in items:
        if isinstance(item, Receipt):
            receipt_apply(account=account, receipt=item)
        else:
            reply_apply(account=account, reply=item)
    # Known or not, the call is answered 200: a provider retries anything else for hours.
    return HttpResponse("OK", content_type="text/plain")
