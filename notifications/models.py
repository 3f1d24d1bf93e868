"""Subscriptions to data changes, detected changes, and contact-form messages."""

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ContactMessage(models.Model):
    """A message from the public contact form: stored first, so that nothing is lost if mail
    is down, then sent on to the school by the System account."""

    name = models.CharField(_("name"), max_length=150)
    email = models.EmailField(_("e-mail address"))
    subject = models.CharField(_("subject"), max_length=200)
    message = models.TextField(_("message"), max_length=5000)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    mailing = models.ForeignKey("mailing.Mailing", on_delete=models.SET_NULL, null=True,
                                blank=True, related_name="+")

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("contact message")
        verbose_name_plural = _("contact messages")
        permissions = [("view_contact_messages", _("Can read the contact form's messages"))]

    def __str__(self):
        return f"{self.name}: {self.subject}"


def _new_token() -> str:
    return secrets.token_urlsafe(24)


class Event(models.TextChoices):
    """The catalogue of watchable changes (detected in notifications/changes.py)."""

    STUDENT_CLASS_CHANGED = "student_class_changed", _("A student changes class")
    STUDENT_CREATED = "student_created", _("A student is created")
    ENROLMENT_REQUESTED = "enrolment_requested", _("A parent asks to enrol a student")
    GUARDIAN_CONTACT_CHANGED = "guardian_contact_changed", _(
        "A guardian's phone, e-mail or address changes")
    PARENT_REGISTERED = "parent_registered", _("A parent registers")


class Subscription(models.Model):
    """A staff member's wish to be told by e-mail when some school data changes."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="subscriptions", verbose_name=_("user"))
    event = models.CharField(_("change"), max_length=40, choices=Event.choices)
    school_class = models.ForeignKey(
        "school.SchoolClass", on_delete=models.CASCADE, null=True, blank=True,
        related_name="+", verbose_name=_("only for the class"))
    level = models.CharField(_("only for the level"), max_length=60, blank=True)
    include_own_changes = models.BooleanField(
        _("also alert me about my own changes"), default=False)
    # The secret of the one-click unsubscribe link carried by every alert (RFC 8058).
    token = models.CharField(max_length=64, unique=True, default=_new_token, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["user_id", "event", "pk"]
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        permissions = [
            ("subscribe_to_changes", _("Can subscribe to data-change alerts")),
            ("manage_subscriptions", _("Can manage everyone's subscriptions")),
        ]
        constraints = [models.UniqueConstraint(
            fields=["user", "event", "school_class", "level"],
            name="notifications_subscription_unique")]

    def __str__(self):
        return self.describe()

    def describe(self) -> str:
        label = str(self.get_event_display())
        if self.school_class_id:
            return _("%(event)s (class %(class)s)") % {"event": label,
                                                       "class": self.school_class}
        if self.level:
            return _("%(event)s (level %(level)s)") % {"event": label, "level": self.level}
        return label


class Change(models.Model):
    """One watched change, written in the same transaction as the change itself (so a rolled
    back change leaves none) and turned into alerts after commit."""

    event = models.CharField(max_length=40, choices=Event.choices)
    object_type = models.CharField(max_length=60)  # "school.student"…
    object_id = models.PositiveBigIntegerField()
    object_repr = models.CharField(max_length=300)
    object_url = models.CharField(max_length=300, blank=True)
    field = models.CharField(max_length=60)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)
    # The classes the object belongs to (before and after), for scoped subscriptions.
    class_ids = models.JSONField(default=list)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                               blank=True, related_name="+")
    author_repr = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["id"], name="notifications_change_pending",
                                condition=models.Q(dispatched_at__isnull=True))]

    def __str__(self):
        return f"{self.event} {self.object_repr}: {self.field}"
