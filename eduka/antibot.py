"""Anti-automation for public forms: a honeypot field, a signed minimum fill time, and rate
limits per IP and per address. Refusals are worded for the human who may meet them."""

import time

from django import forms
from django.core import signing
from django.utils.translation import gettext_lazy as _

from .ratelimit import too_many

MIN_FILL_SECONDS = 3


class AntiBotMixin(forms.Form):
    website = forms.CharField(label=_("Leave this field empty"), required=False,
                              widget=forms.TextInput(attrs={"autocomplete": "off",
                                                            "tabindex": "-1"}))
    started = forms.CharField(widget=forms.HiddenInput)

    rate_scope = "form"
    rate_limit = 5

    def __init__(self, *args, ip: str = "", **kwargs):
        self.ip = ip
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["started"] = signing.dumps(time.time(), salt=f"{self.rate_scope}-form")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("website"):
            raise forms.ValidationError(_("Your message could not be sent."), code="honeypot")
        try:
            started = signing.loads(cleaned.get("started", ""), salt=f"{self.rate_scope}-form",
                                    max_age=24 * 3600)
        except signing.BadSignature:
            raise forms.ValidationError(_("The form expired: please send it again."),
                                        code="expired") from None
        if time.time() - started < MIN_FILL_SECONDS:
            raise forms.ValidationError(
                _("That was very fast: please check your message and send it again."),
                code="too_fast")
        email = cleaned.get("email")
        if too_many(f"{self.rate_scope}-ip", self.ip, limit=self.rate_limit, window=3600) or (
                email and too_many(f"{self.rate_scope}-email", email, limit=self.rate_limit,
                                   window=3600)):
            raise forms.ValidationError(
                _("Too many attempts: please wait a while before trying again."),
                code="rate_limited")
        return cleaned
