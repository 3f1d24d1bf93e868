"""Anti-automation for public forms: a honeypot field, a signed minimum fill time, and rate
limits per IP and per address. Refusals are worded for the human who may meet them."""

import hashlib
import secrets
import time

from django import forms
from django.core import signing
from django.core.cache import cache
from django.utils.translation import gettext_lazy as _

from .ratelimit import too_many

MIN_FILL_SECONDS = 3
MAX_AGE = 24 * 3600


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

    def full_clean(self):
        super().full_clean()
        started = getattr(self, "_started", None)
        if self._errors and self.is_bound:
            # A spent, replayed or expired token starts the clock again.
            started = time.time() if started is None else started
            # The token was used by this submission: the page shown again (to fix a field)
            # carries a fresh one, with the same start time.
            self.data = self.data.copy()
            self.data[self.add_prefix("started")] = signing.dumps(
                {"t": started, "n": secrets.token_hex(4)}, salt=f"{self.rate_scope}-form")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("website"):
            raise forms.ValidationError(_("Your message could not be sent."), code="honeypot")
        token = cleaned.get("started", "")
        try:
            started = signing.loads(token, salt=f"{self.rate_scope}-form", max_age=MAX_AGE)
            if isinstance(started, dict):  # a token made again for a page shown again
                started = float(started["t"])
        except (signing.BadSignature, KeyError, TypeError, ValueError):
            raise forms.ValidationError(_("The form expired: please send it again."),
                                        code="expired") from None
        # Single use: a replayed submission (a script re-posting one captured form) is refused.
        digest = hashlib.sha256(token.encode("utf-8")).hexdigest()[:32]
        if not cache.add(f"antibot-used:{self.rate_scope}:{digest}", 1, timeout=MAX_AGE):
            raise forms.ValidationError(_("This form was already sent: please check it and "
                                          "send it again."), code="replayed")
        self._started = started
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
