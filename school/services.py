"""Writes on school data. Every change goes through here (or the Django admin), which is what
change subscriptions will watch."""

from django.db import transaction
from django.forms import ModelForm


@transaction.atomic
def school_object_save(*, form: ModelForm):
    """Save a validated school-data form (student, guardian, class, school) atomically."""
    return form.save()
