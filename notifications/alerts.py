"""From recorded changes to alert e-mails.

After a transaction that recorded changes commits, one dispatch task runs (after
``CHANGE_ALERT_DELAY_SECONDS``, so that changes made together travel together). It takes every
pending change, finds the subscriptions they match — same event, in the subscription's class or
level, an object the subscriber's profile may see, not the subscriber's own change unless they
asked — and queues, per subscription, one message from the System account listing all its
changes (so 30 students moved at once make one digest, not 30 mails). Queuing the alerts and
marking the changes dispatched happen in one transaction: a crash sends nothing twice. Beat's
sweep dispatches what a broker outage left behind.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import Change, Event, Subscription

logger = logging.getLogger(__name__)

SUBSCRIBE = "notifications.subscribe_to_changes"

#: What a subscriber's profile must allow to hear of each kind of change.
EVENT_PERMISSIONS = {
    Event.STUDENT_CLASS_CHANGED: "school.view_student",
    Event.STUDENT_CREATED: "school.view_student",
    Event.ENROLMENT_REQUESTED: "school.view_enrolmentrequest",
    Event.GUARDIAN_CONTACT_CHANGED: "school.view_guardian",
    Event.PARENT_REGISTERED: "school.view_guardian",
}

FIELD_LABELS = {
    "school_class": gettext_lazy("class"),
    "created": gettext_lazy("new student, in class"),
    "phone": gettext_lazy("phone"),
    "email": gettext_lazy("e-mail address"),
    "address": gettext_lazy("address"),
    "registered": gettext_lazy("parent account activated"),
    "enrolment": gettext_lazy("enrolment requested, for the class"),
}


def events_for(user) -> list[tuple[str, str]]:
    """The events ``user``'s profile lets them hear of, as form choices."""
    return [(event.value, event.label) for event in Event
            if user.has_perm(EVENT_PERMISSIONS[event])]


def _dispatch_later() -> None:
    from celery import current_app as app

    try:
        # By name: the task module imports this one, never the reverse.
        app.send_task("notifications.tasks.dispatch_changes",
                      queue=settings.MAILING_QUEUE_SYSTEM,
                      countdown=settings.CHANGE_ALERT_DELAY_SECONDS)
    except Exception:  # The broker is down: beat's sweep will dispatch them.
        logger.exception("Could not queue the dispatch of change alerts; the sweep will.")


def schedule_dispatch() -> None:
    """Once per transaction: dispatch alerts after it commits (nothing if it rolls back)."""
    if any(callback is _dispatch_later for _sids, callback, _robust in connection.run_on_commit):
        return
    transaction.on_commit(_dispatch_later)


def _matches(subscription: Subscription, change: Change, levels: dict[int, str]) -> bool:
    if not subscription.include_own_changes and change.author_id == subscription.user_id:
        return False
    if subscription.school_class_id and subscription.school_class_id not in change.class_ids:
        return False
    return not subscription.level or any(levels.get(pk) == subscription.level
                                         for pk in change.class_ids)


def _change_values(change: Change) -> dict:
    return {
        "objet": change.object_repr,
        "champ": str(FIELD_LABELS.get(change.field, change.field)),
        "avant": change.old_value,
        "apres": change.new_value,
        "auteur": change.author_repr or _("an automatic process"),
        "date": formats.date_format(timezone.localtime(change.created_at),
                                    "SHORT_DATETIME_FORMAT"),
        "lien": settings.SITE_URL + change.object_url if change.object_url else "",
    }


def unsubscribe_url(subscription: Subscription) -> str:
    return settings.SITE_URL + reverse("notifications:unsubscribe",
                                       kwargs={"token": subscription.token})


def _send_alert(subscription: Subscription, changes: list[Change]) -> None:
    from mailing.automated.services import system_mail_to_user

    values = [_change_values(change) for change in changes]
    unsubscribe = unsubscribe_url(subscription)
    system_mail_to_user("change_alert", subscription.user, context={
        "abonnement": {"nom": subscription.describe(), "desabonnement": unsubscribe,
                       "gestion": settings.SITE_URL + reverse(
                           "notifications:subscription_list")},
        "nombre": len(values), "premier": values[0], "changements": values,
    }, headers={"List-Unsubscribe": f"<{unsubscribe}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"})


def dispatch_changes(*, limit: int = 1000, older_than: timedelta | None = None) -> int:
    """Queue the alerts of pending changes; returns how many alert e-mails were queued."""
    alerts = 0
    while True:
        taken, queued = _dispatch_batch(limit=limit, older_than=older_than)
        alerts += queued
        if taken < limit:
            return alerts


def _dispatch_batch(*, limit: int, older_than: timedelta | None) -> tuple[int, int]:
    from school.models import SchoolClass

    with transaction.atomic(), translation.override(settings.LANGUAGE_CODE):
        pending = Change.objects.select_for_update(skip_locked=True).filter(
            dispatched_at__isnull=True)
        if older_than is not None:
            pending = pending.filter(created_at__lte=timezone.now() - older_than)
        changes = list(pending.order_by("pk")[:limit])
        if not changes:
            return 0, 0
        subscriptions = list(Subscription.objects.filter(
            event__in={change.event for change in changes}, user__is_active=True,
        ).select_related("user", "school_class").order_by("user_id", "pk"))
        levels = dict(SchoolClass.objects.filter(
            pk__in={pk for change in changes for pk in change.class_ids}
        ).values_list("pk", "level"))
        by_subscription: dict[Subscription, list[Change]] = defaultdict(list)
        told: set[tuple[int, int]] = set()  # (user, change): one alert per change per user
        users = {}  # one instance per user, so that its permission cache serves every event
        for subscription in subscriptions:
            user = users.setdefault(subscription.user_id, subscription.user)
            # Checked now, not when subscribing: a profile may have changed since.
            allowed = (user.has_perm(SUBSCRIBE)
                       and user.has_perm(EVENT_PERMISSIONS[subscription.event]))
            for change in changes:
                if (change.event == subscription.event and allowed
                        and (user.pk, change.pk) not in told
                        and _matches(subscription, change, levels)):
                    told.add((user.pk, change.pk))
                    by_subscription[subscription].append(change)
        sent = 0
        for subscription, matched in by_subscription.items():
            try:
                with transaction.atomic():  # one subscription's failure spoils no other's
                    _send_alert(subscription, matched)
                sent += 1
            except Exception:
                logger.exception("Change alert for subscription %s could not be queued; "
                                 "its changes are not retried.", subscription.pk)
        Change.objects.filter(pk__in=[change.pk for change in changes]).update(
            dispatched_at=timezone.now())
    return len(changes), sent
