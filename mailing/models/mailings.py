"""Mailings and what they become: SMTP messages and their envelope recipients.

A Mailing is what staff compose. Submitting it writes one Message per SMTP transaction
(one per recipient in mail-merge modes, one per chunk of at most `max_bcc_recipients` in BCC
mode) and one Recipient per envelope recipient. Every Recipient always has a status that
says what happened to it; nothing is ever dropped silently.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from accounts.models import Profile

from .sending_accounts import SendingAccount


class MailingTemplate(models.Model):
    """A predefined template staff start a mailing from."""

    name = models.CharField(_("name"), max_length=150)
    subject = models.CharField(_("subject"), max_length=250)
    body_text = models.TextField(_("text"))
    body_html = models.TextField(_("HTML version"), blank=True)
    profiles = models.ManyToManyField(
        Profile, blank=True, related_name="mailing_templates",
        verbose_name=_("available to profiles"),
        help_text=_("Leave empty to offer it to everyone who sends mailings."),
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("template")
        verbose_name_plural = _("templates")

    def __str__(self):
        return self.name


class Mailing(models.Model):
    class Mode(models.TextChoices):
        PER_STUDENT = "per_student", _("Mail merge per student")
        PER_GUARDIAN = "per_guardian", _("Mail merge per guardian")
        BCC = "bcc", _("BCC (one message, no mail merge)")
        # Handed in by another application through the submission server: sent as received.
        RELAYED = "relayed", _("Sent by another application")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        # Waiting for its time (scheduled_at): beat submits it then, as "Send" would.
        SCHEDULED = "scheduled", _("Scheduled")
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        PAUSED = "paused", _("Paused")
        CANCELLED = "cancelled", _("Cancelled")
        DONE = "done", _("Done")

    account = models.ForeignKey(SendingAccount, on_delete=models.PROTECT,
                                related_name="mailings", verbose_name=_("sending account"))
    # Empty for automated mail (sign-up, password reset…), which no person wrote.
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                   related_name="mailings", verbose_name=_("author"),
                                   null=True, blank=True)
    mode = models.CharField(_("sending mode"), max_length=20, choices=Mode.choices,
                            default=Mode.PER_STUDENT)
    subject = models.CharField(_("subject"), max_length=250)
    body_text = models.TextField(_("text"))
    body_html = models.TextField(_("HTML version"), blank=True)
    # The audience as chosen (ids and typed addresses), kept for the record and for re-use.
    audience = models.JSONField(default=dict)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices,
                              default=Status.DRAFT)
    # Automated mail is written by the platform: its subject and bodies are final text, not
    # templates, and it carries Auto-Submitted: auto-generated.
    is_automated = models.BooleanField(default=False)
    reply_to = models.EmailField(_("reply-to address"), blank=True)
    # Automated mail only: extra headers such as List-Unsubscribe (validated when sent).
    headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    scheduled_at = models.DateTimeField(_("send at"), null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Set by the compose page when the draft is first saved: a second submission of the same
    # page (a double click on "Continuer") finds this draft instead of creating another.
    compose_token = models.UUIDField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("mailing")
        verbose_name_plural = _("mailings")
        indexes = [models.Index(fields=["account", "-created_at"]),
                   models.Index(fields=["status", "scheduled_at"])]
        constraints = [models.UniqueConstraint(fields=["created_by", "compose_token"],
                                               name="mailing_compose_token_unique")]
        permissions = [("send_mailings", _("Can compose and send mailings")),
                       ("manage_templates", _("Can manage mailing templates"))]

    def __str__(self):
        return self.subject

    @property
    def is_sms(self) -> bool:
        return self.account.kind == SendingAccount.Kind.SMS


def attachment_path(instance, filename):
    return f"mailings/{instance.mailing_id}/{filename}"


class Attachment(models.Model):
    mailing = models.ForeignKey(Mailing, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, max_length=300)
    filename = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return self.filename


class Status(models.TextChoices):
    """The fate of a message and of each of its recipients."""

    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    DEFERRED = "deferred", _("Deferred (will retry)")
    FAILED = "failed", _("Failed")
    UNCERTAIN = "uncertain", _("Uncertain (to check)")
    SKIPPED = "skipped", _("Not sent")
    CANCELLED = "cancelled", _("Cancelled")
    DELIVERED = "delivered", _("Delivered")
    BOUNCED = "bounced", _("Bounced")


DUE_STATUSES = [Status.QUEUED, Status.DEFERRED]


class Message(models.Model):
    """One SMTP transaction to make (or made)."""

    Status = Status

    mailing = models.ForeignKey(Mailing, on_delete=models.CASCADE, related_name="messages")
    account = models.ForeignKey(SendingAccount, on_delete=models.PROTECT, related_name="+")
    # Lower sends first: automated mail from the System account goes ahead of bulk mailings.
    priority = models.PositiveSmallIntegerField(default=5)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    # Merge values for this message (plain strings), rendered with the mailing's templates.
    context = models.JSONField(default=dict)
    message_id = models.CharField(max_length=250, unique=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=200, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # Set just before DATA and cleared with the result: a message found with it set after a
    # worker died may or may not have left, and is marked uncertain rather than re-sent.
    in_flight_at = models.DateTimeField(null=True, blank=True)
    # A person asked for this message again after its mailing was cancelled ("retry failed",
    # "resend"): it leaves although the mailing stays cancelled for everyone else.
    requested_after_cancel = models.BooleanField(default=False)
    smtp_code = models.PositiveSmallIntegerField(null=True, blank=True)
    smtp_text = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        indexes = [
            # The claim walks this in order instead of sorting every due message.
            models.Index(fields=["account", "priority", "id"], name="mailing_message_due",
                         condition=models.Q(status__in=["queued", "deferred"])),
            models.Index(fields=["account", "status", "priority", "next_attempt_at"]),
            models.Index(fields=["status", "lease_expires_at"]),
            models.Index(fields=["mailing", "status"]),
            # The sliding windows of the accounts' sending quotas (mailing.engine.quotas).
            models.Index(fields=["account", "sent_at"]),
        ]

    def __str__(self):
        return self.message_id


class Recipient(models.Model):
    """One envelope recipient of a message, with its own fate."""

    Status = Status

    mailing = models.ForeignKey(Mailing, on_delete=models.CASCADE, related_name="recipients")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="recipients",
                                null=True, blank=True)
    # The address on the mailing's channel: an e-mail address, or for an SMS mailing the
    # mobile number in E.164 ("+33612345678").
    # (An EmailField as first made: validation happens before, where addresses are typed, and
    # changing the field would make SQLite rebuild the table and drop the count triggers.)
    email = models.EmailField(max_length=254)
    name = models.CharField(max_length=300, blank=True)
    student_name = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    smtp_code = models.PositiveSmallIntegerField(null=True, blank=True)
    smtp_text = models.TextField(blank=True)
    # What delivery tracking last learned from a delivery report (DSN or bounce), kept apart
    # from the sending server's reply above: the report's action (failed, delayed, delivered,
    # relayed, expanded), its status code (5.1.1…) and its diagnostic text verbatim.
    delivery_action = models.CharField(max_length=20, blank=True)
    delivery_status = models.CharField(max_length=20, blank=True)
    delivery_diagnostic = models.TextField(blank=True)
    delivery_reported_at = models.DateTimeField(null=True, blank=True)
    # The provider's id of an SMS, which its delivery receipts name. NULL rather than "" for
    # e-mail: a nullable column is added in place, where a default would make SQLite rebuild
    # the table (and drop the triggers that keep RecipientCount).
    provider_ref = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pk"]
        # The mailing page lists a mailing's recipients in order, all or of one status, 50 at
        # a time: these indexes give its rows in that order, where walking the primary key
        # skipped every recipient of the earlier mailings.
        indexes = [models.Index(fields=["mailing", "id"], name="mailing_recipient_list"),
                   models.Index(fields=["mailing", "status", "id"],
                                name="mailing_recipient_status_list"),
                   models.Index(Lower("email"), name="mailing_recipient_email_ci"),
                   models.Index(fields=["provider_ref"], name="mailing_recipient_sms_ref",
                                condition=Q(provider_ref__isnull=False))]

    def __str__(self):
        return self.email


class SuppressedAddress(models.Model):
    """An address that hard-bounced or asked not to receive mail: skipped, with the reason."""

    email = models.EmailField(max_length=254)
    reason = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"),
                                               name="mailing_suppressed_email_ci_unique")]

    def __str__(self):
        return self.email


class RecipientCount(models.Model):
    """How many recipients of a mailing have a status, for the mailing page and the progress
    endpoint, which read these few rows instead of counting every recipient.

    Kept by database triggers on the recipient table (migration 0012), in the transaction of
    every statement that inserts, moves or deletes recipients, whatever its path (submission,
    engine, delivery reports, retries, the submission server…), so the counts are always
    exact. The number for a status is the sum of the mailing's rows for it: on PostgreSQL
    each connection adds to a `shard` row of its own, so that workers recording results at
    the same moment do not queue behind one row lock; a single row may be negative.

    Django's SQLite schema editor remakes a table to alter it and loses its triggers: a
    migration that alters the recipient table must create them again (a test checks them).
    """

    # Deleting a mailing deletes these rows and its recipients in any order: the triggers only
    # ever decrement rows that still exist when a recipient is deleted.
    mailing = models.ForeignKey(Mailing, on_delete=models.CASCADE, related_name="+",
                                db_index=False)  # the unique constraint's index leads with it
    status = models.CharField(max_length=20, choices=Status.choices)
    shard = models.SmallIntegerField(default=0)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["mailing", "status", "shard"],
                                               name="mailing_recipient_count_unique")]

    def __str__(self):
        return f"{self.mailing_id} {self.status}: {self.count}"
