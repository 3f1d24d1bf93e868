"""Automated mail from the System account: the one entry point other apps call.

It goes through the same engine as mailings (queued after commit, tracked, retried, visible in
the System account's history), ahead of bulk mailings, with Auto-Submitted: auto-generated. If
the System account is not configured yet, the mail waits in the queue instead of being lost.
"""

from django.db import transaction

from .audience import Plan, PlannedMessage, PlannedRecipient
from .models import Mailing
from .selectors import system_account
from .submission import mailing_submit


@transaction.atomic
def system_mail_send(*, to_email: str, to_name: str = "", subject: str, text: str,
                     html: str = "", reply_to: str = "") -> Mailing:
    mailing = Mailing.objects.create(
        account=system_account(), mode=Mailing.Mode.PER_GUARDIAN, subject=subject,
        body_text=text, body_html=html, reply_to=reply_to, is_automated=True,
        audience={"addresses": [to_email]})
    plan = Plan(messages=[PlannedMessage(
        recipients=[PlannedRecipient(email=to_email, name=to_name)], context={})],
        excluded=[], duplicates=0)
    return mailing_submit(mailing=mailing, plan=plan)
