"""Administrators' wording of the automated e-mails, per language."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SystemMailTemplate(models.Model):
    """An administrator's version of one automated e-mail in one language.

    Without a row, the default shipped with the application (mailing/system_mail/) is used;
    deleting the row restores it."""

    key = models.CharField(max_length=60)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES)
    subject = models.CharField(_("subject"), max_length=250)
    body_text = models.TextField(_("text"))
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("automated e-mail template")
        verbose_name_plural = _("automated e-mail templates")
        constraints = [models.UniqueConstraint(fields=["key", "language"],
                                               name="system_mail_template_unique")]

    def __str__(self):
        return f"{self.key} ({self.language})"
