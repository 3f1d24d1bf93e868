"""SMS accounts (Configuration > Comptes e-mail et SMS > "Ajouter un compte SMS"): the form,
with the chosen provider's credentials write-only like an SMTP password, and "Tester", which
sends one SMS to a number the administrator types and keeps the provider's answer verbatim."""

import json
from dataclasses import dataclass

import requests
from django import forms
from django.conf import settings
from django.utils import timezone, translation
from django.utils.crypto import get_random_string
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Profile
from mailing.engine.channel import DeliveryFailure
from mailing.models import SendingAccount
from mailing.sms.providers import PROVIDERS, provider
from school import phones
from school.models import School


def credential_field(code: str, key: str) -> str:
    return f"credential_{code}_{key}"


def stored_credentials(account: SendingAccount) -> dict:
    try:
        return json.loads(account.sms_credentials or "{}")
    except ValueError:  # unreadable (its key is gone) or damaged: asked again
        return {}


class SmsAccountForm(forms.ModelForm):
    """The provider and its credentials, the sender name, the pace. A credential left empty
    keeps the stored one; the secret ones are never shown back."""

    class Meta:
        model = SendingAccount
        fields = ["name", "sms_provider", "sms_sender_id", "send_delay", "max_connections",
                  "is_active", "history_profiles"]
        widgets = {"sms_provider": forms.RadioSelect,
                   "history_profiles": forms.CheckboxSelectMultiple,
                   "send_delay": forms.NumberInput(attrs={"step": "0.1", "min": "0"})}
        labels = {"send_delay": _("delay between two SMS (seconds)"),
                  "max_connections": _("SMS sent at once at most")}
        help_texts = {
            "sms_provider": _("The service that carries the school's SMS. Its credentials "
                              "come from the provider's own console."),
            "history_profiles": _("Users of these profiles may read the SMS sent from this "
                                  "account. Users allowed to send from it always can."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sms_provider"].required = True
        self.fields["sms_sender_id"].required = True
        self.fields["history_profiles"].queryset = Profile.objects.filter(is_staff_profile=True)
        stored = stored_credentials(self.instance) if self.instance.pk else {}
        for code in PROVIDERS:
            for key, label, secret in provider(code).fields:
                field = forms.CharField(label=format_lazy("{} : {}", provider(code).label,
                                                          label),
                                        required=False, strip=True, max_length=500)
                if secret:
                    field.widget = forms.PasswordInput(render_value=False,
                                                       attrs={"autocomplete": "new-password"})
                    if code == self.instance.sms_provider and stored.get(key):
                        field.help_text = _("Stored. Leave empty to keep it; type a new one "
                                            "to replace it.")
                elif code == self.instance.sms_provider:
                    field.initial = stored.get(key, "")
                field.widget.attrs["data-provider"] = code
                self.fields[credential_field(code, key)] = field

    def clean(self):
        cleaned = super().clean()
        code = cleaned.get("sms_provider")
        if not code:
            return cleaned
        kept = stored_credentials(self.instance) if code == self.instance.sms_provider else {}
        credentials = {}
        for key, _label, _secret in provider(code).fields:
            name = credential_field(code, key)
            credentials[key] = cleaned.get(name) or kept.get(key, "")
            if not credentials[key]:
                self.add_error(name, forms.ValidationError(
                    _("This field is required for this provider."), code="required"))
        self.credentials = credentials
        return cleaned

    def save(self, commit=True):
        account = super().save(commit=False)
        account.kind = SendingAccount.Kind.SMS
        account.sms_credentials = json.dumps(self.credentials)
        if not account.sms_webhook_salt:
            account.sms_webhook_salt = get_random_string(32)
        if commit:
            account.save()
            self.save_m2m()
        return account


class SmsTestForm(forms.Form):
    to_number = forms.CharField(label=_("Send the test SMS to"), max_length=40,
                                help_text=_("A mobile number, e.g. 06 12 34 56 78."))

    def clean_to_number(self):
        phone = phones.parse(self.cleaned_data["to_number"], School.current().country)
        if not phone.is_mobile:
            raise forms.ValidationError(
                _("Enter a mobile number (%(reason)s)."), code="not_mobile",
                params={"reason": phone.reason})
        return phone.e164


@dataclass
class SmsTestOutcome:
    ok: bool
    reply: str  # the provider's answer, or its refusal, verbatim


def send_one_sms(*, account: SendingAccount, to_number: str, text: str) -> SmsTestOutcome:
    """One SMS through the account's provider, at once and outside the engine (a test to one
    person): the provider's answer, or its refusal, verbatim."""
    try:
        sent = provider(account.sms_provider).send(
            requests.Session(), stored_credentials(account), account.sms_sender_id,
            [to_number], text)
    except DeliveryFailure as failure:
        return SmsTestOutcome(False, failure.server_reply)
    return SmsTestOutcome(not sent.refused, sent.reply)


def sms_account_test(*, account: SendingAccount, to_number: str) -> SmsTestOutcome:
    """Send one real SMS through the account and record the outcome on it."""
    with translation.override(settings.LANGUAGE_CODE):
        text = gettext("Eduka: test SMS from the account “%(name)s”. It works.") % {
            "name": account.name}
    outcome = send_one_sms(account=account, to_number=to_number, text=text)
    account.last_test_at = timezone.now()
    account.last_test_ok = outcome.ok
    account.last_test_message = outcome.reply
    account.save(update_fields=["last_test_at", "last_test_ok", "last_test_message"])
    return outcome
