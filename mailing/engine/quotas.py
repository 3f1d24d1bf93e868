"""Sending quotas: an account's own limits (messages per minute, recipients per day) counted
over sliding windows in the database, and the provider's quota refusals. Either way sending
waits — nothing fails, nothing is sent twice — and resumes by itself.

A limited account sends through one connection slot at a time (SendingAccount
.parallel_connections), so the worker holding the slot counts and sends with no other worker
sending for the account meanwhile: the windows stay exact across workers and machines.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from mailing.models import Message, Recipient, SendingAccount

logger = logging.getLogger(__name__)


def _minute() -> timedelta:
    return timedelta(seconds=settings.MAILING_QUOTA_MINUTE_SECONDS)


def _day() -> timedelta:
    return timedelta(seconds=settings.MAILING_QUOTA_DAY_SECONDS)


def quota_resume_at(account: SendingAccount, recipients: int) -> datetime | None:
    """None if one more message to `recipients` recipients fits the account's limits now;
    otherwise when it will (the moment enough of the window's sends have aged out)."""
    now = timezone.now()
    sent = Message.objects.filter(account=account, sent_at__isnull=False)
    per_minute = account.quota_messages_per_minute
    if per_minute:
        recent = list(sent.filter(sent_at__gt=now - _minute()).order_by("-sent_at")
                      .values_list("sent_at", flat=True)[:per_minute])
        if len(recent) >= per_minute:
            return recent[-1] + _minute()
    per_day = account.quota_recipients_per_day
    if per_day:
        window = Recipient.objects.filter(message__account=account,
                                          message__sent_at__gt=now - _day())
        if window.count() + recipients > per_day:
            oldest = sent.filter(sent_at__gt=now - _day()).order_by("sent_at").values_list(
                "sent_at", flat=True).first()
            return (oldest or now) + _day()
    return None


def quota_wait(account: SendingAccount, until: datetime, reason: str) -> None:
    """Sending from the account waits until `until` (shown on its mailings), then resumes."""
    SendingAccount.objects.filter(pk=account.pk).update(quota_until=until, quota_reason=reason)
    logger.info("Account %s waits for its quota until %s: %s", account.pk, until, reason)


def own_limit_reason(account: SendingAccount) -> str:
    limits = []
    if account.quota_messages_per_minute:
        limits.append(_("%(count)d messages per minute") % {
            "count": account.quota_messages_per_minute})
    if account.quota_recipients_per_day:
        limits.append(_("%(count)d recipients per day") % {
            "count": account.quota_recipients_per_day})
    return _("The account's sending limit is reached (%(limits)s).") % {
        "limits": ", ".join(limits)}


def provider_quota_until(text: str) -> datetime:
    """When to try again after a provider's quota refusal: a daily quota after the day's
    window, a rate limit after the minute's."""
    daily = "daily" in text.lower() or "jour" in text.lower()
    return timezone.now() + (_day() if daily else _minute())


def quota_forecast(account: SendingAccount, *, messages: int, recipients: int) -> list[str]:
    """What the account's limits mean for a mailing about to be sent, in words for the
    compose page: whether it can finish within today's quota, and when it will."""
    notes = []
    per_day = account.quota_recipients_per_day
    if per_day:
        used = Recipient.objects.filter(message__account=account,
                                        message__sent_at__gt=timezone.now() - _day()).count()
        left = max(per_day - used, 0)
        if recipients > left:
            days = -(-(recipients - left) // per_day)  # whole windows still needed
            finish = timezone.localtime(timezone.now() + days * _day())
            notes.append(_(
                "This account may send to %(limit)d recipients a day and %(left)d remain "
                "today: this mailing cannot finish today. It will go out as the quota allows "
                "and finish around %(when)s.") % {
                    "limit": per_day, "left": left,
                    "when": date_format(finish, "DATETIME_FORMAT")})
    per_minute = account.quota_messages_per_minute
    if per_minute and messages > per_minute:
        notes.append(_("At %(limit)d messages a minute, sending will take about %(minutes)d "
                       "minutes.") % {"limit": per_minute,
                                      "minutes": -(-messages // per_minute)})
    return notes


def waiting_for_quota(account: SendingAccount) -> bool:
    return account.quota_until is not None and account.quota_until > timezone.now()


def quota_free() -> Q:
    """Accounts not waiting for a quota (for the sweep's search for due work)."""
    return Q(account__quota_until__isnull=True) | Q(account__quota_until__lte=timezone.now())


__all__ = ["own_limit_reason", "provider_quota_until", "quota_forecast", "quota_free",
           "quota_resume_at", "quota_wait", "waiting_for_quota"]
