"""Forms of the account screens: login, users, sign-up, e-mail change."""

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from eduka.antibot import AntiBotMixin
from eduka.validators import add_single_line, single_line

from .models import Profile, User


class LoginForm(AuthenticationForm):
    username = forms.EmailField(
        label=_("E-mail address"),
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )
    error_messages = {
        # The same message whether the address exists or not: no user enumeration.
        "invalid_login": _("Incorrect e-mail address or password."),
        "inactive": _("This account is inactive."),
    }


class UserSearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False,
                        widget=forms.TextInput(attrs={"type": "search",
                                                      "placeholder": _("Name or e-mail")}))
    profile = forms.ModelChoiceField(label=_("Profile"), queryset=Profile.objects.all(),
                                     required=False, empty_label=_("All profiles"))
    active = forms.TypedChoiceField(
        label=_("Status"), required=False, empty_value=None,
        choices=[("", _("All")), ("1", _("Active")), ("0", _("Inactive"))],
        coerce=lambda value: value == "1",
    )


class UserForm(forms.ModelForm):
    """Create or edit a user. Uniqueness of the e-mail is case-insensitive."""

    class Meta:
        model = User
        fields = ["first_name", "last_name", "email", "profile", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["profile"].required = True
        self.fields["profile"].empty_label = None
        self.fields["email"].widget.attrs["autocomplete"] = "off"
        add_single_line(self, "first_name", "last_name")

    def clean_email(self):
        email = User.objects.normalize_email(self.cleaned_data["email"].strip())
        clashes = User.objects.filter(email__iexact=email)
        if self.instance.pk:
            clashes = clashes.exclude(pk=self.instance.pk)
        if clashes.exists():
            raise forms.ValidationError(
                _("A user with this e-mail address already exists."), code="duplicate_email"
            )
        return email


class PasswordPairMixin:
    """Two password fields checked against Django's validators, spaces kept as typed."""

    def clean_password2(self):
        password1 = self.cleaned_data.get("password1")
        password2 = self.cleaned_data.get("password2")
        if password1 and password2 and password1 != password2:
            raise forms.ValidationError(_("The two passwords do not match."),
                                        code="password_mismatch")
        return password2

    def check_password_strength(self, user):
        password = self.cleaned_data.get("password2")
        if password:
            try:
                password_validation.validate_password(password, user)
            except forms.ValidationError as error:
                self.add_error("password2", error)


def _password_field(label, help_text=""):
    return forms.CharField(
        label=label, strip=False, help_text=help_text,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class UserCreateForm(PasswordPairMixin, UserForm):
    password1 = _password_field(_("Password"),
                                password_validation.password_validators_help_text_html())
    password2 = _password_field(_("Password (again)"))

    def clean(self):
        cleaned = super().clean()
        candidate = User(email=cleaned.get("email", ""), first_name=cleaned.get("first_name", ""),
                         last_name=cleaned.get("last_name", ""))
        self.check_password_strength(candidate)
        return cleaned


class UserSetPasswordForm(PasswordPairMixin, forms.Form):
    password1 = _password_field(_("New password"),
                                password_validation.password_validators_help_text_html())
    password2 = _password_field(_("New password (again)"))

    def __init__(self, user, *args, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        self.check_password_strength(self.user)
        return cleaned


class PasswordResetRequestForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"), max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "email"}))

    def __init__(self, *args, ip: str = "", **kwargs):
        self.ip = ip
        super().__init__(*args, **kwargs)

    def clean(self):
        from eduka.ratelimit import too_many

        cleaned = super().clean()
        email = cleaned.get("email")
        # The same limits whether the address is known or not: they reveal nothing.
        if too_many("reset-ip", self.ip, limit=10, window=3600) or (
                email and too_many("reset-email", email, limit=3, window=3600)):
            raise forms.ValidationError(
                _("Too many requests: please wait a while before trying again."),
                code="rate_limited")
        return cleaned


class ParentSignupForm(PasswordPairMixin, AntiBotMixin):
    rate_scope = "signup"

    first_name = forms.CharField(label=_("First name"), max_length=150,
                                 validators=[single_line])
    last_name = forms.CharField(label=_("Last name"), max_length=150, validators=[single_line])
    email = forms.EmailField(label=_("E-mail address"), max_length=254)
    phone = forms.CharField(label=_("Phone"), max_length=40)
    password1 = _password_field(_("Password"),
                                password_validation.password_validators_help_text_html())
    password2 = _password_field(_("Password (again)"))
    consent = forms.BooleanField(
        label=_("I agree that the school processes these details to manage my children's "
                "enrolment."))
    field_order = ["first_name", "last_name", "email", "phone", "password1", "password2",
                   "consent", "website", "started"]

    def clean_phone(self):
        """Read in the school's country and kept in E.164, as on the guardian's record."""
        from school import phones
        from school.models import School

        phone = phones.parse(self.cleaned_data["phone"], School.current().country)
        if not phone.e164:
            raise forms.ValidationError(
                _("Enter a valid phone number, such as 06 12 34 56 78 or +32 470 12 34 56."),
                code="invalid_phone")
        return phone.e164

    def clean(self):
        cleaned = super().clean()
        candidate = User(email=cleaned.get("email", ""), first_name=cleaned.get("first_name", ""),
                         last_name=cleaned.get("last_name", ""))
        self.check_password_strength(candidate)
        return cleaned


class ResendValidationForm(AntiBotMixin):
    rate_scope = "resend"
    rate_limit = 3

    email = forms.EmailField(label=_("E-mail address"), max_length=254)
    field_order = ["email", "website", "started"]


class EmailChangeForm(forms.Form):
    """A new address and the current password. Says nothing about whether the address has an
    account: the mail sent to it does."""

    new_email = forms.EmailField(label=_("New e-mail address"), max_length=254,
                                 widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = forms.CharField(label=_("Current password"), strip=False,
                               widget=forms.PasswordInput(
                                   attrs={"autocomplete": "current-password"}))

    def __init__(self, user, *args, ip: str = "", **kwargs):
        self.user = user
        self.ip = ip
        super().__init__(*args, **kwargs)

    def clean_new_email(self):
        email = User.objects.normalize_email(self.cleaned_data["new_email"].strip())
        if email.lower() == self.user.email.lower():
            raise forms.ValidationError(_("This is already the address of your account."),
                                        code="unchanged")
        return email

    def clean(self):
        from eduka.ratelimit import too_many

        cleaned = super().clean()
        # Counted before the password is checked, so the limit also bounds password guessing.
        if too_many("email-change-user", str(self.user.pk), limit=5, window=3600) or \
                too_many("email-change-ip", self.ip, limit=10, window=3600):
            raise forms.ValidationError(
                _("Too many requests: please wait a while before trying again."),
                code="rate_limited")
        password = cleaned.get("password")
        if password is not None and not self.user.check_password(password):
            self.add_error("password", forms.ValidationError(
                _("Your password was entered incorrectly."), code="password_incorrect"))
        return cleaned
