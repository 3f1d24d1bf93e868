"""Writes on school data. Every change goes through here (or the Django admin), which is what
change subscriptions will watch."""

from django.db import transaction
from django.forms import ModelForm


@transaction.atomic
def school_object_save(*, form: ModelForm):
    """Save a validated school-data form (student, guardian, class, school) atomically."""
    return form.save()


@transaction.atomic
def students_move(*, students, target) -> int:
    """Move students to another class in one transaction (one alert digest for subscribers).

    Each student is saved (not updated in bulk) so that change detection sees every move."""
    moved = 0
    for student in students.select_for_update().exclude(school_class=target):
        student.school_class = target
        student.save(update_fields=["school_class"])
        moved += 1
    return moved
