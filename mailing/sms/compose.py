"""Composing an SMS mailing, in the same "E-mails et SMS" module as e-mail: the same audience
picker and live count (resolved to mobile numbers), mail merge per student or per guardian
with the same variables, plain text with its characters and parts counted as it is typed
(static/js/sms-counter.js, the rules of mailing.sms.segments). The next page is the mailing's
confirm page, as for e-mail: the SMS of each recipient, a test to oneself, then Send."""

import re
import uuid

from django import forms
from django.conf import settings
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from eduka.decorators import permission_required
from mailing.mailings import audience_search, services
from mailing.mailings.forms import AudienceForm
from mailing.mailings.templating import VARIABLES, template_errors
from mailing.models import Mailing
from mailing.sending_accounts.selectors import accounts_user_may_text_from
from mailing.sms import segments
from mailing.sms.accounts import SmsTestOutcome, send_one_sms
from mailing.sms.channel import SmsBuilder, sms_text
from school import phones
from school.models import School

SEND = "mailing.send_mailings"
# The variables of e-mail that mean something in an SMS (no e-mail address, no loop).
SMS_VARIABLES = [(name, label) for name, label in VARIABLES
                 if "email" not in name and name != "enfants"]
SMS_MODES = [(Mailing.Mode.PER_STUDENT, _("One SMS per student, to each of their guardians")),
             (Mailing.Mode.PER_GUARDIAN, _("One SMS per guardian, their children named"))]


def sms_subject(text: str) -> str:
    """What lists show for an SMS mailing, which has no subject: its first words."""
    line = " ".join(text.split())
    return line if len(line) <= 60 else line[:59].rstrip() + "…"


class SmsMailingForm(AudienceForm):
    field_order = ["account", "mode", "classes", "students", "guardians", "addresses",
                   "body_text"]
    account = forms.ModelChoiceField(label=_("Send from"), queryset=None, empty_label=None)
    body_text = forms.CharField(
        label=_("Text of the SMS"), max_length=1000,
        widget=forms.Textarea(attrs={"rows": 5, "data-sms-counter": "sms-count"}),
        help_text=_("Plain text. Variables such as {{ eleve.prenom }} are filled in for each "
                    "recipient. An accented “é” keeps 160 characters per SMS; “œ”, “ê” or an "
                    "emoji bring it down to 70."))
    compose_token = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["mode"].choices = SMS_MODES
        self.fields["mode"].help_text = ""
        self.fields["addresses"].label = _("Other mobile numbers")
        self.fields["addresses"].help_text = _("One per line, or separated by commas.")
        for name in ("users", "profiles"):  # staff accounts hold no phone number
            del self.fields[name]
        self.fields["account"].queryset = accounts_user_may_text_from(user)
        if not self.is_bound:
            self.initial.setdefault("compose_token", uuid.uuid4())

    def clean_addresses(self):
        """Typed numbers are read in the school's country; one that is not a mobile is an
        error here, where it can be fixed (the audience's guardians are counted instead)."""
        typed = [part.strip() for part in re.split(r"[\n,;]+", self.cleaned_data["addresses"])
                 if part.strip()]  # not at spaces: "06 12 34 56 78" is one number
        region = School.current().country
        for number in typed:
            phone = phones.parse(number, region)
            if not phone.is_mobile:
                raise forms.ValidationError(
                    _("“%(number)s”: %(reason)s."), code="not_mobile",
                    params={"number": number, "reason": phone.reason})
        return typed

    def clean_body_text(self):
        text = sms_text(self.cleaned_data["body_text"])
        for message in template_errors(text):
            raise forms.ValidationError(message, code="template")
        parts = segments.count(text).segments
        if parts > settings.SMS_MAX_PARTS:
            raise forms.ValidationError(
                _("This text takes %(parts)s SMS; at most %(max)s are sent per recipient."),
                code="too_long", params={"parts": parts, "max": settings.SMS_MAX_PARTS})
        return text

    def audience(self) -> dict:
        data = self.cleaned_data
        return {"class_ids": [c.pk for c in data["classes"]],
                "student_ids": [s.pk for s in data["students"]],
                "guardian_ids": [g.pk for g in data["guardians"]],
                "profile_codes": [], "addresses": data["addresses"], "user_ids": []}

    def chosen(self) -> list[dict]:
        ids = {name: [str(value) for value in (self[name].value() or [])
                      if str(value).isdigit()] for name in ("classes", "students", "guardians")}
        return audience_search.chosen(class_ids=ids["classes"], student_ids=ids["students"],
                                      guardian_ids=ids["guardians"], user_ids=[])

    def clean(self):
        cleaned = super().clean()
        self.require_someone(cleaned)
        return cleaned

    @staticmethod
    def initial_from(mailing: Mailing) -> dict:
        return {**AudienceForm.audience_initial(mailing), "body_text": mailing.body_text}


@permission_required(SEND)
def sms_compose(request, mailing: Mailing | None = None):
    """The SMS composer; a draft SMS mailing is edited here (mailing_compose hands it over)."""
    initial = SmsMailingForm.initial_from(mailing) if mailing else {}
    form = SmsMailingForm(request.POST or None, initial=initial, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        mailing = services.mailing_save_draft(
            mailing=mailing, user=request.user, account=data["account"], mode=data["mode"],
            subject=sms_subject(data["body_text"]), body_text=data["body_text"], body_html="",
            audience=form.audience(), compose_token=data["compose_token"])
        return redirect("mailings:mailing_detail", mailing.pk)
    return render(request, "mailing/sms_compose.html", {
        "form": form, "mailing": mailing, "variables": SMS_VARIABLES,
        "max_parts": settings.SMS_MAX_PARTS,
        "audience_errors": [error for name in ("classes", "students", "guardians")
                            for error in form[name].errors]})


def sms_preview(mailing: Mailing, context: dict) -> dict:
    """One recipient's SMS as it will leave, with what it costs (the worker's own filling-in
    and caps: a text that would be refused there says so here)."""
    text = SmsBuilder(mailing).text_for(context)
    return {"text": text, "count": segments.count(text)}


def sms_mailing_test_send(*, mailing: Mailing, to_number: str, index: int = 0):
    """The SMS of one recipient of the audience, sent to the author's own number only (marked
    as a test) through the mailing's account; the provider's answer kept verbatim."""
    plan = services.mailing_plan(mailing)
    if not plan.messages:
        return SmsTestOutcome(False, gettext("This mailing has no recipient yet."))
    planned = plan.messages[min(index, len(plan.messages) - 1)]
    text = "[" + gettext("TEST") + "] " + sms_preview(mailing, planned.context)["text"]
    return send_one_sms(account=mailing.account, to_number=to_number, text=text)
