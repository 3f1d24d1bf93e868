from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Guardian, School, SchoolClass, Student


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False,
                        widget=forms.TextInput(attrs={"type": "search"}))


class StudentSearchForm(SearchForm):
    school_class = forms.ModelChoiceField(label=_("Class"), queryset=SchoolClass.objects.all(),
                                          required=False, empty_label=_("All classes"))


class SchoolForm(forms.ModelForm):
    class Meta:
        model = School
        fields = ["name", "address", "phone", "contact_email"]


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


class GuardianForm(forms.ModelForm):
    class Meta:
        model = Guardian
        fields = ["civility", "first_name", "last_name", "email", "phone", "address"]
        widgets = {"address": forms.Textarea(attrs={"rows": 3})}

    def clean_phone(self):
        phone = self.cleaned_data["phone"].strip()
        allowed = set("0123456789+ .()-")
        if phone and (not set(phone) <= allowed or sum(c.isdigit() for c in phone) < 6):
            raise forms.ValidationError(
                _("Enter a phone number made of digits, spaces and + . ( ) -."),
                code="invalid_phone",
            )
        return phone


class MoveStudentsForm(forms.Form):
    students = forms.ModelMultipleChoiceField(queryset=None, label=_("Students"),
                                              widget=forms.CheckboxSelectMultiple)
    target = forms.ModelChoiceField(queryset=None, label=_("Move to the class"))

    def __init__(self, *args, school_class, **kwargs):
        from .models import SchoolClass, Student

        super().__init__(*args, **kwargs)
        self.fields["students"].queryset = Student.objects.filter(school_class=school_class)
        self.fields["target"].queryset = SchoolClass.objects.exclude(pk=school_class.pk)
