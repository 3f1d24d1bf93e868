"""Forms of subscriptions to data changes and of the public contact form."""

from django import forms
from django.utils.translation import gettext_lazy as _

from eduka.antibot import AntiBotMixin
from eduka.validators import single_line


class ContactForm(AntiBotMixin, forms.Form):
    rate_scope = "contact"

    name = forms.CharField(label=_("Your name"), max_length=150, validators=[single_line])
    email = forms.EmailField(label=_("Your e-mail address"))
    subject = forms.CharField(label=_("Subject"), max_length=200, validators=[single_line])
    message = forms.CharField(label=_("Message"), max_length=5000,
                              widget=forms.Textarea(attrs={"rows": 8}))
    field_order = ["name", "email", "subject", "message", "website", "started"]


class SubscriptionForm(forms.ModelForm):
    """Subscribe oneself (or, for an administrator, any staff member) to a kind of change."""

    class Meta:
        from .models import Subscription

        model = Subscription
        fields = ["user", "event", "school_class", "level", "include_own_changes"]
        help_texts = {
            "school_class": _("Leave empty to hear about every class."),
            "level": _("For example: 6e, CM2. Leave empty for every level."),
            "include_own_changes": _("By default you are not told about changes you make "
                                     "yourself."),
        }

    def __init__(self, *args, user, **kwargs):
        from accounts.models import User
        from school.models import SchoolClass

        from .alerts import events_for

        super().__init__(*args, **kwargs)
        self.author = user
        self.fields["event"].choices = events_for(user)
        self.fields["school_class"].queryset = SchoolClass.objects.order_by("level", "name")
        self.fields["school_class"].empty_label = _("Every class")
        levels = sorted(set(SchoolClass.objects.exclude(level="").values_list(
            "level", flat=True)))
        self.fields["level"] = forms.ChoiceField(
            label=self.fields["level"].label, required=False,
            help_text=self.fields["level"].help_text,
            choices=[("", _("Every level")), *[(level, level) for level in levels]])
        if user.has_perm("notifications.manage_subscriptions"):
            self.fields["user"].queryset = User.objects.filter(
                is_active=True, profile__is_staff_profile=True).order_by(
                "last_name", "first_name")
            self.fields["user"].initial = user.pk
        else:
            del self.fields["user"]

    def clean(self):
        from .alerts import EVENT_PERMISSIONS
        from .models import Subscription

        cleaned = super().clean()
        subscriber = cleaned.get("user", self.author)
        event = cleaned.get("event")
        if cleaned.get("school_class") and cleaned.get("level"):
            self.add_error("level", _("Choose a class or a level, not both."))
        if subscriber and event:
            if not subscriber.has_perm("notifications.subscribe_to_changes"):
                self.add_error("user" if "user" in self.fields else None,
                               _("This user's profile does not allow subscriptions."))
            elif not subscriber.has_perm(EVENT_PERMISSIONS[event]):
                self.add_error("event", _("This user's profile may not see these changes."))
            elif Subscription.objects.filter(
                    user=subscriber, event=event, school_class=cleaned.get("school_class"),
                    level=cleaned.get("level") or "").exists():
                self.add_error(None, _("This subscription already exists."))
        return cleaned

    def save(self, commit=True):
        subscription = super().save(commit=False)
        if "user" not in self.fields:
            subscription.user = self.author
        subscription.created_by = self.author
        if commit:
            subscription.save()
        return subscription
