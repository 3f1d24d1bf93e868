"""Forms of the school screens and of the parent portal."""

import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from eduka.validators import add_single_line

from . import phones
from .models import EnrolmentRequest, Guardian, School, SchoolClass, Student


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False,
                        widget=forms.TextInput(attrs={"type": "search"}))


class StudentSearchForm(SearchForm):
    school_class = forms.ModelChoiceField(label=_("Class"), queryset=SchoolClass.objects.all(),
                                          required=False, empty_label=_("All classes"))


class SchoolForm(forms.ModelForm):
    class Meta:
        model = School
        fields = ["name", "address", "phone", "contact_email", "country"]


class SchoolClassForm(forms.ModelForm):
    class Meta:
        model = SchoolClass
        fields = ["name", "level"]


class StudentForm(forms.ModelForm):
    class Meta:
        model = Student
        fields = ["first_name", "last_name", "birth_date", "school_class", "guardians"]
        widgets = {
            "birth_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "guardians": forms.SelectMultiple(attrs={"size": 8}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["school_class"].empty_label = _("(no class)")
        add_single_line(self, "first_name", "last_name")


class PhoneMixin:
    """A phone number read in the school's country and kept in E.164; a landline is accepted
    (the guardian's page says SMS cannot reach it), anything that is not a number is not."""

    def clean_phone(self):
        typed = self.cleaned_data["phone"].strip()
        if not typed:
            return ""
        phone = phones.parse(typed, School.current().country)
        if not phone.e164:
            raise forms.ValidationError(
                _("Enter a valid phone number, such as 06 12 34 56 78 or +32 470 12 34 56."),
                code="invalid_phone",
            )
        return phone.e164

    def clean_sms_opt_out(self):
        refused = self.cleaned_data["sms_opt_out"]
        if refused and not self.instance.sms_opt_out:
            self.instance.sms_opt_out_at = timezone.now()
        elif not refused:
            self.instance.sms_opt_out_at = None
        return refused

    def _show_phone_as_typed_locally(self):
        if self.instance.pk and self.instance.phone and not self.is_bound:
            self.initial["phone"] = phones.display(self.instance.phone, School.current().country)


class GuardianForm(PhoneMixin, forms.ModelForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        add_single_line(self, "first_name", "last_name")
        self._show_phone_as_typed_locally()

    class Meta:
        model = Guardian
        fields = ["civility", "first_name", "last_name", "email", "phone", "sms_opt_out",
                  "address"]
        widgets = {"address": forms.Textarea(attrs={"rows": 3})}


class GuardianContactForm(PhoneMixin, forms.ModelForm):
    """What a parent may change on their own record. Names identify the legal guardian: the
    school corrects them; the e-mail address changes through a validated link."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._show_phone_as_typed_locally()
        self.fields["sms_opt_out"].label = _("I do not want to receive the school's SMS")
        self.fields["sms_opt_out"].help_text = _(
            "The school then keeps writing to you by e-mail only.")

    class Meta:
        model = Guardian
        fields = ["civility", "phone", "sms_opt_out", "address"]
        widgets = {"address": forms.Textarea(attrs={"rows": 3})}


# A student is at least this old when first enrolled, and younger than the other bound.
ENROLMENT_MIN_AGE, ENROLMENT_MAX_AGE = 2, 21


def _years_before(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


class EnrolmentRequestForm(forms.ModelForm):
    class Meta:
        model = EnrolmentRequest
        fields = ["first_name", "last_name", "birth_date", "requested_class", "note"]
        widgets = {
            "birth_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "note": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {"note": _("Anything the school should know (optional).")}

    def __init__(self, *args, guardian: Guardian, **kwargs):
        self.guardian = guardian
        super().__init__(*args, **kwargs)
        add_single_line(self, "first_name", "last_name")
        self.fields["requested_class"].empty_label = _("(no preference)")

    def clean_birth_date(self):
        birth_date = self.cleaned_data["birth_date"]
        today = timezone.localdate()
        if birth_date >= today:
            raise forms.ValidationError(_("The birth date must be in the past."),
                                        code="future_birth_date")
        if not (_years_before(today, ENROLMENT_MAX_AGE) < birth_date
                <= _years_before(today, ENROLMENT_MIN_AGE)):
            raise forms.ValidationError(
                _("Please check the birth date: the child must be between %(min)d and %(max)d "
                  "years old."), code="implausible_birth_date",
                params={"min": ENROLMENT_MIN_AGE, "max": ENROLMENT_MAX_AGE})
        return birth_date

    def clean(self):
        from eduka.ratelimit import too_many

        cleaned = super().clean()
        first, last, born = (cleaned.get("first_name"), cleaned.get("last_name"),
                             cleaned.get("birth_date"))
        if first and last and born and self.guardian.enrolment_requests.filter(
                status=EnrolmentRequest.Status.PENDING, first_name__iexact=first,
                last_name__iexact=last, birth_date=born).exists():
            raise forms.ValidationError(
                _("You already sent a request for this child: it is waiting for the school's "
                  "answer."), code="duplicate")
        if too_many("enrolment-request", str(self.guardian.pk), limit=10, window=24 * 3600):
            raise forms.ValidationError(
                _("Too many requests: please wait a while before trying again."),
                code="rate_limited")
        return cleaned


class EnrolmentFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("All")), *EnrolmentRequest.Status.choices])


class EnrolmentAcceptForm(forms.Form):
    school_class = forms.ModelChoiceField(label=_("Class"), queryset=SchoolClass.objects.all(),
                                          empty_label=None)


class EnrolmentRefuseForm(forms.Form):
    reason = forms.CharField(label=_("Reason given to the parent"), max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 3}))


class MoveStudentsForm(forms.Form):
    students = forms.ModelMultipleChoiceField(queryset=None, label=_("Students"),
                                              widget=forms.CheckboxSelectMultiple)
    target = forms.ModelChoiceField(queryset=None, label=_("Move to the class"))

    def __init__(self, *args, school_class, **kwargs):
        from .models import SchoolClass, Student

        super().__init__(*args, **kwargs)
        self.fields["students"].queryset = Student.objects.filter(school_class=school_class)
        self.fields["target"].queryset = SchoolClass.objects.exclude(pk=school_class.pk)
