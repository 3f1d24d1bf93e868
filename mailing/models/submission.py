"""The integrated service for other applications (Pronote, accounting, a scanner…): their
credentials on the submission server, and the messages they hand in, kept as received."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .mailings import Mailing
from .sending_accounts import SendingAccount


class ApplicationAccess(models.Model):
    """A credential one application submits mail with (`manage.py run_submission_smtp`), on
    behalf of one integrated account. The password is generated, shown once, and stored only
    as a salted hash (mailing.submission.credentials): nobody can read it back."""

    account = models.ForeignKey(SendingAccount, on_delete=models.CASCADE,
                                related_name="application_accesses",
                                verbose_name=_("sending account"))
    name = models.CharField(_("application"), max_length=100,
                            help_text=_("For instance “Pronote” or “Photocopier, 1st floor”."))
    username = models.CharField(_("user name"), max_length=64, unique=True)
    password_hash = models.CharField(max_length=200, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    last_used_from = models.CharField(_("last used from"), max_length=64, blank=True)

    class Meta:
        ordering = ["revoked_at", "name", "pk"]
        verbose_name = _("application access")
        verbose_name_plural = _("application accesses")

    def __str__(self):
        return self.name

    def __repr__(self):
        return f"<ApplicationAccess {self.pk} {self.name!r}>"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class SubmittedMessage(models.Model):
    """A message an application handed to the submission server, as it was received (minus
    the Bcc and Return-Path headers a relay must drop, plus a Message-ID when it had none).
    Its Mailing, Message and Recipients are written in the same transaction, before the
    server answers 250."""

    mailing = models.OneToOneField(Mailing, on_delete=models.CASCADE, primary_key=True,
                                   related_name="submitted")
    application = models.ForeignKey(ApplicationAccess, on_delete=models.PROTECT,
                                    related_name="messages")
    raw = models.BinaryField()
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    mail_from = models.CharField(max_length=254)
    peer = models.CharField(max_length=64, blank=True)
    recipient_count = models.PositiveIntegerField()
    received_at = models.DateTimeField(auto_now_add=True)
    # When `raw` was emptied, SUBMISSION_RETENTION_DAYS after the message could no longer
    # leave (personal data kept no longer than needed); the recipients' fates stay.
    purged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["application", "received_at"])]

    def __str__(self):
        return f"{self.application} #{self.mailing_id}"
