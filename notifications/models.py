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
