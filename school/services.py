"""Writes on school data. Every change goes through here (or the Django admin), which is what
change subscriptions will watch: writes use the model's save(), never queryset.update(), so
that save signals fire."""

from django.db import transaction
from django.forms import ModelForm

from .models import Guardian


@transaction.atomic
def school_object_save(*, form: ModelForm):
    """Save a validated school-data form (student, guardian, class, school) atomically."""
    return form.save()


def guardian_set_email(*, guardian: Guardian, email: str) -> Guardian:
    """Part of a validated change of a parent's address (accounts.email_change), which holds
    the transaction."""
    guardian.email = email
    guardian.save(update_fields=["email"])
    return guardian
