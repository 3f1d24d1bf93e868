import time

from django import forms
from django.core import signing
from django.utils.translation import gettext_lazy as _

from eduka.ratelimit import too_many

MIN_FILL_SECONDS = 3


class ContactForm(forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=150)
    email = forms.EmailField(label=_("Your e-mail address"))
    subject = forms.CharField(label=_("Subject"), max_length=200)
    message = forms.CharField(label=_("Message"), max_length=5000,
                              widget=forms.Textarea(attrs={"rows": 8}))
    # Anti-automation: a field people don't see (robots fill it) and a signed start time
    # (robots submit at once).
    website = forms.CharField(label=_("Leave this field empty"), required=False,
                              widget=forms.TextInput(attrs={"autocomplete": "off",
                                                            "tabindex": "-1"}))
    started = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, ip: str = "", **kwargs):
        self.ip = ip
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["started"] = signing.dumps(time.time(), salt="contact-form")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("website"):
            raise forms.ValidationError(_("Your message could not be sent."), code="honeypot")
        try:
            started = signing.loads(cleaned.get("started", ""), salt="contact-form",
                                    max_age=24 * 3600)
        except signing.BadSignature:
            raise forms.ValidationError(_("The form expired: please send it again."),
                                        code="expired") from None
        if time.time() - started < MIN_FILL_SECONDS:
            raise forms.ValidationError(
                _("That was very fast: please check your message and send it again."),
                code="too_fast")
        if too_many("contact-ip", self.ip, limit=5, window=3600) or (
                cleaned.get("email") and too_many("contact-email", cleaned["email"], limit=5,
                                                  window=3600)):
            raise forms.ValidationError(
                _("Too many messages: please wait a while before writing again."),
                code="rate_limited")
        return cleaned
