"""Automated mail from the System account: the one entry point other apps call.

It goes through the same engine as mailings (queued after commit, tracked, retried, visible in
the System account's history), ahead of bulk mailings, with Auto-Submitted: auto-generated. If
the System account is not configured yet, the mail waits in the queue instead of being lost.

Other apps call :func:`system_mail` with the key of a message declared in
:mod:`mailing.automated.catalogue` and the values its template may use; the wording is the
administrators' (or the shipped default).
"""

import re

from django.conf import settings
from django.db import transaction

from mailing.automated.catalogue import render_system_mail
from mailing.mailings.audience import Plan, PlannedMessage, PlannedRecipient
from mailing.mailings.services import mailing_submit
from mailing.models import Mailing
from mailing.sending_accounts.selectors import system_account

# Headers other apps may add to automated mail (RFC 8058 one-click unsubscribe).
ALLOWED_HEADERS = {"List-Unsubscribe", "List-Unsubscribe-Post", "List-Id"}
SUBJECT_MAX = Mailing._meta.get_field("subject").max_length
_HEADER_VALUE = re.compile(r"[\x20-\x7e]{1,900}")


def _checked_headers(headers: dict | None) -> dict:
    headers = dict(headers or {})
    for name, value in headers.items():
        if name not in ALLOWED_HEADERS or not _HEADER_VALUE.fullmatch(value):
            raise ValueError(f"Header {name!r} is not allowed in automated mail: {value!r}")
    return headers


@transaction.atomic
def system_mail_send(*, to_email: str, to_name: str = "", subject: str, text: str,
                     html: str = "", reply_to: str = "", headers: dict | None = None
                     ) -> Mailing:
    if len(subject) > SUBJECT_MAX:  # an administrator's wording, a long school name…
        subject = subject[:SUBJECT_MAX - 1] + "…"
    mailing = Mailing.objects.create(
        account=system_account(), mode=Mailing.Mode.PER_GUARDIAN, subject=subject,
        body_text=text, body_html=html, reply_to=reply_to, is_automated=True,
        headers=_checked_headers(headers), audience={"addresses": [to_email]})
    plan = Plan(messages=[PlannedMessage(
        recipients=[PlannedRecipient(email=to_email, name=to_name)], context={})],
        excluded=[], duplicates=0)
    return mailing_submit(mailing=mailing, plan=plan)


def base_context(*, first_name: str = "", last_name: str = "", email: str = "") -> dict:
    """The variables every automated e-mail offers: recipient, school, site."""
    from school.models import School

    school = School.current()
    return {
        "destinataire": {"prenom": first_name, "nom": last_name, "email": email},
        "ecole": {"nom": school.name, "adresse": school.address, "telephone": school.phone},
        "site": {"url": settings.SITE_URL},
    }


def system_mail(key: str, *, to_email: str, to_name: str = "", first_name: str = "",
                last_name: str = "", context: dict | None = None, reply_to: str = "",
                headers: dict | None = None) -> Mailing:
    """Render automated e-mail ``key`` (see mailing/automated/catalogue.py) and queue it."""
    values = base_context(first_name=first_name, last_name=last_name, email=to_email)
    values.update(context or {})
    subject, text = render_system_mail(key, values)
    return system_mail_send(to_email=to_email, to_name=to_name, subject=subject, text=text,
                            reply_to=reply_to, headers=headers)


def system_mail_to_user(key: str, user, *, context: dict | None = None,
                        headers: dict | None = None) -> Mailing:
    return system_mail(key, to_email=user.email, to_name=user.get_full_name(),
                       first_name=user.first_name, last_name=user.last_name, context=context,
                       headers=headers)
