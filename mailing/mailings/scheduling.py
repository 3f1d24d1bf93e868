"""Scheduled sending: a mailing saved with a time to leave, started by beat when it comes
(mailing.tasks.start_scheduled), even after a restart since the time is in the database.
Its audience is resolved when it starts, as "Send" would; while its account is paused it
waits, and its page says so."""

import logging
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mailing.mailings.services import mailing_submit
from mailing.models import Mailing

logger = logging.getLogger(__name__)
MAX_AHEAD = timedelta(days=366)


@transaction.atomic
def mailing_schedule(*, mailing: Mailing, at: datetime) -> Mailing:
    mailing = Mailing.objects.select_for_update().get(pk=mailing.pk)
    if mailing.status not in (Mailing.Status.DRAFT, Mailing.Status.SCHEDULED):
        raise ValidationError(_("This mailing has already been sent."), code="not_draft")
    now = timezone.now()
    if at <= now:
        raise ValidationError(_("Choose a time in the future."), code="past")
    if at > now + MAX_AHEAD:
        raise ValidationError(_("Choose a time within a year."), code="too_far")
    mailing.status, mailing.scheduled_at = Mailing.Status.SCHEDULED, at
    mailing.save(update_fields=["status", "scheduled_at"])
    return mailing


def mailing_unschedule(*, mailing: Mailing) -> bool:
    """Back to a draft, if it has not started yet."""
    return bool(Mailing.objects.filter(pk=mailing.pk, status=Mailing.Status.SCHEDULED).update(
        status=Mailing.Status.DRAFT, scheduled_at=None))


def mailings_start_due() -> list[int]:
    """Submit every scheduled mailing whose time has come and whose account may send;
    returns their ids. Safe from two beats at once: mailing_submit locks the row and starts
    only a mailing still waiting."""
    due = (Mailing.objects.filter(status=Mailing.Status.SCHEDULED,
                                  scheduled_at__lte=timezone.now(), account__paused_reason="",
                                  account__is_active=True)
           .order_by("scheduled_at").values_list("pk", flat=True))
    started = []
    for pk in due:
        try:
            mailing_submit(mailing=Mailing(pk=pk), scheduled=True)
        except ValidationError as error:
            logger.warning("Scheduled mailing %s not started: %s", pk, error.messages[0])
            continue
        started.append(pk)
    return started
