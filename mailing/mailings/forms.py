"""Forms of the E-mails module: compose (audience, attachments), templates, filters."""

import re
import uuid
from pathlib import PurePath

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.text import get_valid_filename
from django.utils.translation import gettext_lazy as _

from accounts.models import Profile
from eduka.validators import add_single_line, single_line
from mailing.mailings import audience_search, office_files
from mailing.mailings.audience_search import staff_users
from mailing.mailings.charts import REASONS
from mailing.mailings.editor import BodyEditor, editable_body, has_content
from mailing.mailings.rendering import sanitize_html_template, shorten_filename
from mailing.mailings.templating import template_errors
from mailing.models import Mailing, MailingTemplate
from mailing.models.mailings import Status
from mailing.sending_accounts.selectors import accounts_user_may_send_from
from school.models import Guardian, SchoolClass, Student

# Binary signatures of the allowed types: the extension alone is not trusted.
SIGNATURES = {
    ".pdf": [b"%PDF"], ".png": [b"\x89PNG"], ".gif": [b"GIF8"], ".jpg": [b"\xff\xd8\xff"],
    ".jpeg": [b"\xff\xd8\xff"], ".docx": [b"PK\x03\x04"], ".xlsx": [b"PK\x03\x04"],
    ".odt": [b"PK\x03\x04"], ".ods": [b"PK\x03\x04"],
    ".doc": [b"\xd0\xcf\x11\xe0"], ".xls": [b"\xd0\xcf\x11\xe0"],
}
MERGE_ROOTS = re.compile(r"\b(eleve|parent|enfants?|destinataire)\b")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)] if data else []


def _addresses(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[\s,;]+", text or "") if part.strip()]


AUDIENCE_FIELDS = ("classes", "students", "guardians", "users", "profiles", "addresses")
# What staff choose from; RELAYED is what other applications submit, never composed here.
COMPOSABLE_MODES = [(value, label) for value, label in Mailing.Mode.choices
                    if value != Mailing.Mode.RELAYED]


class AudienceForm(forms.Form):
    """Who a mailing goes to, and how: the compose page's audience, also counted live while
    it is being chosen (mailing_audience_count)."""

    mode = forms.ChoiceField(label=_("Sending mode"), choices=COMPOSABLE_MODES,
                             widget=forms.RadioSelect, initial=Mailing.Mode.PER_STUDENT,
                             help_text=_("Mail merge per student: one message per student to "
                                         "each of their guardians. Per guardian: one message "
                                         "per guardian, siblings listed. BCC: one message, "
                                         "recipients hidden, no mail merge."))
    # Chosen with the audience picker (audience_search): hidden inputs, one per chip.
    classes = forms.ModelMultipleChoiceField(label=_("Whole classes (their guardians)"),
                                             queryset=SchoolClass.objects.all(), required=False,
                                             widget=forms.MultipleHiddenInput)
    students = forms.ModelMultipleChoiceField(
        label=_("Chosen students (their guardians)"), required=False,
        queryset=Student.objects.all(), widget=forms.MultipleHiddenInput)
    guardians = forms.ModelMultipleChoiceField(label=_("Chosen guardians"), required=False,
                                               queryset=Guardian.objects.all(),
                                               widget=forms.MultipleHiddenInput)
    users = forms.ModelMultipleChoiceField(label=_("Chosen staff"), required=False,
                                           queryset=staff_users(),
                                           widget=forms.MultipleHiddenInput)
    profiles = forms.ModelMultipleChoiceField(
        label=_("Staff, by profile"), required=False,
        queryset=Profile.objects.filter(is_staff_profile=True),
        widget=forms.CheckboxSelectMultiple)
    addresses = forms.CharField(label=_("Other addresses"), required=False,
                                widget=forms.Textarea(attrs={"rows": 2}),
                                help_text=_("One per line, or separated by commas."))

    def clean_addresses(self):
        return _addresses(self.cleaned_data["addresses"])

    def audience(self) -> dict:
        data = self.cleaned_data
        return {"class_ids": [c.pk for c in data["classes"]],
                "student_ids": [s.pk for s in data["students"]],
                "guardian_ids": [g.pk for g in data["guardians"]],
                "profile_codes": [p.code for p in data["profiles"]],
                "addresses": data["addresses"], "user_ids": [u.pk for u in data["users"]]}

    def require_someone(self, cleaned: dict) -> None:
        """The form's error when none of its audience fields names anyone (a composer's rule;
        the live count counts an empty audience as 0)."""
        if not any(cleaned.get(name) for name in AUDIENCE_FIELDS if name in self.fields):
            self.add_error(None, forms.ValidationError(_("Choose at least one recipient."),
                                                       code="no_audience"))

    @staticmethod
    def audience_initial(mailing: Mailing) -> dict:
        """A saved mailing's account, mode and audience, as the composer's initial values."""
        audience = mailing.audience
        return {"account": mailing.account_id, "mode": mailing.mode,
                "classes": audience.get("class_ids", []),
                "students": audience.get("student_ids", []),
                "guardians": audience.get("guardian_ids", []),
                "users": audience.get("user_ids", []),
                "profiles": Profile.objects.filter(code__in=audience.get("profile_codes", [])),
                "addresses": "\n".join(audience.get("addresses", []))}

    def chosen(self) -> list[dict]:
        """The picker's chips for what the form holds (bound or initial)."""
        ids = {name: [str(value) for value in (
            self[name].value() or []) if str(value).isdigit()]
            for name in ("classes", "students", "guardians", "users")}
        return audience_search.chosen(class_ids=ids["classes"], student_ids=ids["students"],
                                      guardian_ids=ids["guardians"], user_ids=ids["users"])


class MailingForm(AudienceForm):
    field_order = ["account", "mode", "classes", "students", "guardians", "users", "profiles",
                   "addresses"]
    account = forms.ModelChoiceField(label=_("Send from"), queryset=None, empty_label=None)
    subject = forms.CharField(label=_("Subject"), max_length=250, validators=[single_line])
    body_html = forms.CharField(label=_("Message"), widget=BodyEditor(), help_text=_(
        "Ctrl+B bold, Ctrl+I italic, Ctrl+K link. Pasted text keeps only what mail clients "
        "show (no colours or fonts); a plain-text version is sent with it."))
    attachments = MultipleFileField(label=_("Attachments"), required=False)
    # One per compose page: submitting the page twice (a double click) saves one draft.
    compose_token = forms.UUIDField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        if not self.is_bound:
            self.initial.setdefault("compose_token", uuid.uuid4())
        self.fields["account"].queryset = accounts_user_may_send_from(user)
        self.fields["attachments"].help_text = _(
            "At most %(each)s per file and %(total)s in all: PDF, images, office documents, "
            "text.") % {"each": filesizeformat(settings.MAILING_ATTACHMENT_MAX_BYTES),
                        "total": filesizeformat(settings.MAILING_ATTACHMENTS_MAX_TOTAL)}

    def clean_body_html(self):
        return clean_body(self.cleaned_data["body_html"])

    def _check_template(self, name):
        for message in template_errors(self.cleaned_data.get(name) or ""):
            self.add_error(name, forms.ValidationError(message, code="template"))

    def clean_attachments(self):
        files = self.cleaned_data["attachments"]
        total = 0
        for upload in files:
            # At most FILENAME_MAX_CHARS, extension kept (cut blindly, a long name lost its
            # extension and was refused as the wrong type).
            name = shorten_filename(get_valid_filename(PurePath(upload.name).name))
            extension = PurePath(name).suffix.lower()
            if extension not in settings.MAILING_ATTACHMENT_TYPES:
                raise forms.ValidationError(
                    _("“%(name)s”: this type of file cannot be attached."),
                    params={"name": name}, code="type")
            head = upload.read(8)
            upload.seek(0)
            signatures = SIGNATURES.get(extension)
            if signatures and not any(head.startswith(s) for s in signatures):
                raise forms.ValidationError(
                    _("“%(name)s” is not really a %(ext)s file."),
                    params={"name": name, "ext": extension}, code="content")
            if upload.size > settings.MAILING_ATTACHMENT_MAX_BYTES:
                raise forms.ValidationError(
                    _("“%(name)s” is too large (%(size)s, at most %(max)s)."),
                    params={"name": name, "size": filesizeformat(upload.size),
                            "max": filesizeformat(settings.MAILING_ATTACHMENT_MAX_BYTES)},
                    code="size")
            if extension in office_files.EXTENSIONS and (
                    problem := office_files.office_file_problem(upload, name, extension)):
                raise problem
            total += upload.size
            upload.clean_name = name
            upload.clean_type = settings.MAILING_ATTACHMENT_TYPES[extension]
        if total > settings.MAILING_ATTACHMENTS_MAX_TOTAL:
            raise forms.ValidationError(
                _("The attachments are too large together (%(size)s, at most %(max)s)."),
                params={"size": filesizeformat(total),
                        "max": filesizeformat(settings.MAILING_ATTACHMENTS_MAX_TOTAL)},
                code="total")
        return files

    def clean(self):
        cleaned = super().clean()
        for name in ("subject", "body_html"):
            self._check_template(name)
        if cleaned.get("mode") == Mailing.Mode.BCC:
            for name in ("subject", "body_html"):
                if MERGE_ROOTS.search(cleaned.get(name) or "") and "{" in (cleaned.get(name)
                                                                            or ""):
                    self.add_error(name, forms.ValidationError(
                        _("BCC mode sends one message to everyone: per-person variables "
                          "cannot be used."), code="bcc_merge"))
        self.require_someone(cleaned)
        return cleaned

    @staticmethod
    def initial_from(mailing: Mailing) -> dict:
        return {**AudienceForm.audience_initial(mailing), "subject": mailing.subject,
                "body_html": editable_body(mailing.body_text, mailing.body_html)}


def clean_body(body: str) -> str:
    """A body from the editor, as it is saved: sanitised (its template code intact); the
    editor's empty paragraph is no message."""
    if not has_content(body):
        raise forms.ValidationError(_("Write the message."), code="required")
    return sanitize_html_template(body)[0]


class MailingTemplateForm(forms.ModelForm):
    class Meta:
        model = MailingTemplate
        fields = ["name", "subject", "profiles", "body_html"]
        labels = {"body_html": _("Message")}
        widgets = {"profiles": forms.CheckboxSelectMultiple, "body_html": BodyEditor()}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["profiles"].queryset = Profile.objects.filter(is_staff_profile=True)
        self.fields["body_html"].required = True
        if self.instance.pk and not self.is_bound:
            self.initial["body_html"] = editable_body(self.instance.body_text,
                                                      self.instance.body_html)
        add_single_line(self, "subject")

    def clean_body_html(self):
        return clean_body(self.cleaned_data["body_html"])

    def save(self, commit=True):
        self.instance.body_text = ""  # made from the HTML of each message (MailingRenderer)
        return super().save(commit)

    def clean(self):
        cleaned = super().clean()
        for name in ("subject", "body_html"):
            for message in template_errors(cleaned.get(name) or ""):
                self.add_error(name, forms.ValidationError(message, code="template"))
        return cleaned


class ScheduleForm(forms.Form):
    """"Send at": a date and time in the school's time zone (TIME_ZONE)."""

    send_at = forms.DateTimeField(
        label=_("Send at"), input_formats=["%Y-%m-%dT%H:%M", "%d/%m/%Y %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("The mailing leaves by itself at this time; until then you can change it "
                    "or cancel the schedule."))


class RecipientFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("All")), *Status.choices])
    q = forms.CharField(label=_("Search"), required=False,
                        widget=forms.TextInput(attrs={"type": "search"}))
    reason = forms.ChoiceField(label=_("Reason of the failure"), required=False,
                               choices=[("", _("All")), *[(key, label) for key, label, _p
                                                          in REASONS]])
