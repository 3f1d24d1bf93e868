"""The form an administrator creates an application access with: a name, and a one-time
token so that a resubmitted page (reload, back button) does not create a second access."""

import uuid

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from eduka.validators import single_line

# Session key of the tokens of the forms that already created an access.
USED_TOKENS = "application_access_tokens"
KEPT_TOKENS = 20


class ApplicationAccessForm(forms.Form):
    name = forms.CharField(
        label=_("Application"), max_length=100, validators=[single_line],
        help_text=_("For instance “Pronote” or “Photocopier, 1st floor”."))
    token = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4)

    def __init__(self, *args, session=None, **kwargs):
        # Shown on the account's page, beside the account's own form and its "name" field.
        kwargs.setdefault("auto_id", "id_access_%s")
        super().__init__(*args, **kwargs)
        self.session = session if session is not None else {}

    def clean_token(self):
        token = str(self.cleaned_data["token"])
        if token in self.session.get(USED_TOKENS, []):
            raise ValidationError(_("This access was already created; its password is shown "
                                    "only once. If it was lost, revoke the access and create "
                                    "another."), code="resubmitted")
        return token

    def is_resubmitted(self) -> bool:
        return self.has_error("token", code="resubmitted")

    def remember(self) -> None:
        """Mark this form's token as used (after the access was created)."""
        used = [*self.session.get(USED_TOKENS, []), self.cleaned_data["token"]]
        self.session[USED_TOKENS] = used[-KEPT_TOKENS:]
