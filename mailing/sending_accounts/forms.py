"""Forms of the sending-account screens: the account, its test, its users."""

import re

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from accounts.models import Profile, User
from eduka.validators import has_line_break
from mailing.models import SendingAccount
from mailing.sending_accounts.certificates import pinned_certificate_problem
from mailing.sending_accounts.hosts import host_policy_problem, host_syntax_problem, port_problem
from mailing.sending_accounts.presets import (
    PRESETS,
    preset_choices,
    preset_fields,
    preset_for_host,
)

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
HEADER_FIELDS = ["name", "sender_name", "from_email", "reply_to", "username",
                 "integrated_local_part", "forward_to", "smtp_host"]
UNUSUAL_PORTS = {("ssl", 587), ("ssl", 25), ("tls", 465), ("none", 465), ("none", 587)}


class SendingAccountForm(forms.ModelForm):
    """Both account types in one form; `clean` requires what the chosen type needs."""

    password = forms.CharField(
        label=_("Password"), required=False, strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Password used to log in to the SMTP server. Careful when pasting: spaces "
                    "at the start or the end are kept, not ignored."),
    )

    preset = forms.ChoiceField(
        label=_("Provider"), required=False, choices=preset_choices,
        help_text=_("Fills in the server, its security, a delay suited to the provider's "
                    "limits and the BCC batch size; you can still change them. Its known "
                    "limits and requirements are shown on the account's page."),
    )

    field_order = ["name", "kind", "preset", "sender_name", "integrated_local_part", "forward_to",
                   "from_email", "smtp_host", "security", "smtp_port", "username", "password"]

    class Meta:
        model = SendingAccount
        # The password is not a model field of this form: the stored one must survive a blank
        # entry, so services.account_save decides (see field_order for where it is shown).
        fields = ["name", "kind", "sender_name", "integrated_local_part", "forward_to",
                  "from_email", "smtp_host", "security", "smtp_port", "username",
                  "reply_to", "max_bcc_recipients", "send_delay", "max_connections",
                  "quota_messages_per_minute", "quota_recipients_per_day",
                  "allow_plain_auth",
                  "pinned_certificate", "is_active", "history_profiles"]
        widgets = {
            "kind": forms.RadioSelect,
            "security": forms.RadioSelect,
            "pinned_certificate": forms.Textarea(attrs={"rows": 4}),
            "history_profiles": forms.CheckboxSelectMultiple,
            "send_delay": forms.NumberInput(attrs={"step": "0.1", "min": "0"}),
        }
        help_texts = {
            "kind": _("The Eduka integrated service is designed for mass mailing; an external "
                      "service is your own SMTP account (Gmail, Office 365…)."),
            "smtp_host": _("Address of the mail server Eduka connects to in order to send. If "
                           "you do not know it, ask your IT technician."),
            "smtp_port": _("Network port of the server (default: 25 without encryption, 465 "
                           "for SSL, 587 for TLS). Left empty, the default for the chosen "
                           "security is used."),
            "security": _("Encryption level: none, SSL or TLS."),
            "sender_name": _("Name shown in the “From:” field: the sender's name recipients "
                             "will see."),
            "from_email": _("Address shown in the “From:” field: the sender's address "
                            "recipients will see."),
            "integrated_local_part": _("For example “inscriptions” gives "
                                       "inscriptions@%(domain)s."),
            "forward_to": _("Replies to the integrated address are forwarded here, e.g. "
                            "inscriptions@ecole.org."),
            "username": _("Login for the SMTP server, usually the same as the e-mail address."),
            "reply_to": _("When recipients press “Reply”, their answer goes to this address."),
            "max_bcc_recipients": _("Some services limit the number of BCC recipients: a BCC "
                                    "mailing is cut into batches of at most this many (400 "
                                    "recipients with 100 gives 4 sends)."),
            "send_delay": _("Seconds between two sends from this account (decimals allowed, "
                            "0 for none). For Google Mail, 1 second is recommended."),
            "quota_messages_per_minute": _("The provider's limit, if it has one (Microsoft 365: "
                                           "30). Eduka never goes past it and waits instead, "
                                           "whatever the number of workers."),
            "quota_recipients_per_day": _("Over the last 24 hours (Gmail: 500; Google "
                                          "Workspace: 2,000 messages; Microsoft 365: 10,000). "
                                          "A mailing that goes past it waits and resumes by "
                                          "itself."),
            "allow_plain_auth": _("Only for a server on a trusted network that offers no "
                                  "encryption: the password would otherwise travel in clear."),
            "pinned_certificate": _("Only for a server with a self-signed certificate: paste "
                                    "its certificate (PEM) and Eduka will trust exactly that "
                                    "one. Leave empty for normal servers."),
            "history_profiles": _("Users of these profiles may read the mails sent from this "
                                  "account. Users allowed to send from it always can."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["integrated_local_part"].help_text = (
            self.fields["integrated_local_part"].help_text
            % {"domain": settings.INTEGRATED_MAIL_DOMAIN}
        )
        self.fields["kind"].required = True
        self.fields["kind"].choices = [
            (value, label) for value, label in SendingAccount.Kind.choices
            if value != SendingAccount.Kind.SMS]  # SMS accounts have a form of their own
        self.fields["history_profiles"].queryset = Profile.objects.filter(is_staff_profile=True)
        known = preset_for_host(self.instance.smtp_host)
        if known is not None:
            self.fields["preset"].initial = next(
                key for key, preset in PRESETS.items() if preset is known)
        if self.instance.is_system:
            self.fields["name"].disabled = True
        if self.instance.password_unreadable:
            self.fields["password"].help_text = _(
                "Password unreadable — enter it again: the encryption key that protected it "
                "is no longer configured.")
        elif self.instance.has_password:
            self.fields["password"].help_text = _(
                "A password is stored. Leave empty to keep it; type a new one to replace it."
            )
        self.warnings: list[str] = []

    def clean(self):
        cleaned = super().clean()
        for name in HEADER_FIELDS:
            value = cleaned.get(name)
            if isinstance(value, str) and has_line_break(value):
                self.add_error(name, forms.ValidationError(
                    _("Line breaks and control characters are not allowed here."),
                    code="control_character"))
        password = cleaned.get("password") or ""
        if _CONTROL.search(password.replace("\t", "")):
            self.add_error("password", forms.ValidationError(
                _("Line breaks and control characters are not allowed here."),
                code="control_character"))
        kind = cleaned.get("kind")
        if kind == SendingAccount.Kind.EXTERNAL:
            self._clean_external(cleaned)
        elif kind == SendingAccount.Kind.INTEGRATED:
            self._clean_integrated(cleaned)
        # An account signed in with Microsoft or Google authenticates with a token instead.
        if cleaned.get("username") and not (password or self.instance.has_password
                                            or self.instance.uses_oauth):
            self.add_error("password", forms.ValidationError(
                _("Enter the password that goes with this user name."), code="required"))
        return cleaned

    def _require(self, cleaned, *names):
        for name in names:
            if not cleaned.get(name) and name not in self.errors:
                self.add_error(name, forms.ValidationError(
                    _("This field is required for this type of account."), code="required"))

    def clean_pinned_certificate(self):
        pem = (self.cleaned_data.get("pinned_certificate") or "").strip()
        problem = pinned_certificate_problem(pem) if pem else None
        if problem:
            raise forms.ValidationError(problem, code="pinned_certificate")
        return pem + "\n" if pem else ""

    def _apply_preset(self, cleaned):
        """Without the page's script, a preset chosen with the server left empty fills the
        settings (with the script they are already filled, and stay as the user left them)."""
        key = cleaned.get("preset")
        if not key or (cleaned.get("smtp_host") or "").strip():
            return
        for name, value in preset_fields(key).items():
            cleaned[name] = self.fields[name].clean(value)
            self.errors.pop(name, None)

    def _clean_external(self, cleaned):
        self._apply_preset(cleaned)
        self._require(cleaned, "smtp_host", "from_email", "security")
        security, port = cleaned.get("security"), cleaned.get("smtp_port")
        problem = port_problem(port)
        if problem and "smtp_port" not in self.errors:
            self.add_error("smtp_port", forms.ValidationError(problem, code="port"))
        host = (cleaned.get("smtp_host") or "").strip()
        if host and "smtp_host" not in self.errors:
            problem = host_syntax_problem(host) or host_policy_problem(
                host, port or SendingAccount.DEFAULT_PORTS.get(security, 25))
            if problem:
                self.add_error("smtp_host", forms.ValidationError(problem, code="host"))
            cleaned["smtp_host"] = host
        if (security, port) in UNUSUAL_PORTS:
            self.warnings.append(str(_(
                "Port %(port)s is unusual with the security “%(security)s”: if the test fails, "
                "try 465 for SSL or 587 for TLS.") % {
                    "port": port, "security": SendingAccount.Security(security).label}))

    def _clean_integrated(self, cleaned):
        self._require(cleaned, "integrated_local_part", "username")
        local = (cleaned.get("integrated_local_part") or "").strip().lower()
        if local and not re.fullmatch(r"[a-z0-9](?:[a-z0-9._+-]{0,62}[a-z0-9])?", local):
            self.add_error("integrated_local_part", forms.ValidationError(
                _("Use letters, digits, dots, hyphens or underscores only (e.g. inscriptions)."),
                code="invalid"))
        cleaned["integrated_local_part"] = local


class AccountUsersForm(forms.Form):
    users = forms.ModelMultipleChoiceField(
        label=_("Users allowed to send from this account"), required=False,
        queryset=User.objects.filter(is_active=True, profile__is_staff_profile=True),
        widget=forms.CheckboxSelectMultiple,
    )


class UserAccountsForm(forms.Form):
    accounts = forms.ModelMultipleChoiceField(
        label=_("Sending accounts this user may send from"), required=False,
        queryset=SendingAccount.objects.filter(is_system=False),
        widget=forms.CheckboxSelectMultiple,
    )


class AccountTestForm(forms.Form):
    to_email = forms.EmailField(label=_("Send the test message to"))
