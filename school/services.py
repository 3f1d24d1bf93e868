"""Writes on school data. Every change goes through here (or the Django admin), which is what
change subscriptions will watch: writes use the model's save(), never queryset.update(), so
that save signals fire."""

import datetime

from django.conf import settings
from django.db import transaction
from django.forms import ModelForm
from django.utils import timezone

from .models import EnrolmentRequest, Guardian, SchoolClass, Student


@transaction.atomic
def school_object_save(*, form: ModelForm):
    """Save a validated school-data form (student, guardian, class, school) atomically."""
    return form.save()


@transaction.atomic
def guardian_update_contact(*, guardian: Guardian, civility: str, phone: str,
                            address: str, sms_opt_out: bool = False) -> Guardian:
    """A parent updates their own contact details (the portal passes request.user.guardian),
    and says whether the school may text them."""
    guardian.civility = civility
    guardian.phone = phone
    guardian.address = address
    if sms_opt_out != guardian.sms_opt_out:
        guardian.sms_opt_out = sms_opt_out
        guardian.sms_opt_out_at = timezone.now() if sms_opt_out else None
    guardian.save(update_fields=["civility", "phone", "address", "sms_opt_out",
                                 "sms_opt_out_at"])
    return guardian


def guardian_set_email(*, guardian: Guardian, email: str) -> Guardian:
    """Part of a validated change of a parent's address (accounts.email_change), which holds
    the transaction."""
    guardian.email = email
    guardian.save(update_fields=["email"])
    return guardian


@transaction.atomic
def enrolment_request_create(*, guardian: Guardian, first_name: str, last_name: str,
                             birth_date: datetime.date, requested_class: SchoolClass | None,
                             note: str = "") -> EnrolmentRequest:
    enrolment = EnrolmentRequest(guardian=guardian, first_name=first_name, last_name=last_name,
                                 birth_date=birth_date, requested_class=requested_class,
                                 note=note)
    enrolment.save()
    return enrolment


def _decision_notify(enrolment: EnrolmentRequest) -> None:
    from .tasks import enrolment_decision_notify

    # Automated mail waits for the commit and goes on the System queue, like every other.
    transaction.on_commit(lambda: enrolment_decision_notify.apply_async(
        args=[enrolment.pk], queue=settings.MAILING_QUEUE_SYSTEM))


def _claim(enrolment_id: int) -> EnrolmentRequest | None:
    """Lock the request; None when someone already decided it. On PostgreSQL the row lock makes
    a concurrent decision wait and then see the new status; SQLite runs write transactions one
    at a time (IMMEDIATE mode), which gives the same outcome."""
    enrolment = (EnrolmentRequest.objects.select_for_update()
                 .select_related("guardian").get(pk=enrolment_id))
    return enrolment if enrolment.is_pending else None


@transaction.atomic
def enrolment_request_accept(*, enrolment_id: int, decided_by,
                             school_class: SchoolClass | None) -> EnrolmentRequest | None:
    """Create the student in `school_class`, linked to the requesting guardian. Returns None,
    and does nothing, if the request was already decided (double click, two staff members)."""
    enrolment = _claim(enrolment_id)
    if enrolment is None:
        return None
    student = Student(first_name=enrolment.first_name, last_name=enrolment.last_name,
                      birth_date=enrolment.birth_date, school_class=school_class)
    student.save()
    student.guardians.add(enrolment.guardian)
    enrolment.student = student
    return _decide(enrolment, EnrolmentRequest.Status.ACCEPTED, decided_by)


@transaction.atomic
def enrolment_request_refuse(*, enrolment_id: int, decided_by,
                             reason: str) -> EnrolmentRequest | None:
    """Refuse with a reason the parent will read. None, and nothing done, if already decided."""
    enrolment = _claim(enrolment_id)
    if enrolment is None:
        return None
    enrolment.refusal_reason = reason
    return _decide(enrolment, EnrolmentRequest.Status.REFUSED, decided_by)


def _decide(enrolment: EnrolmentRequest, status: str, decided_by) -> EnrolmentRequest:
    enrolment.status = status
    enrolment.decided_at = timezone.now()
    enrolment.decided_by = decided_by
    enrolment.save()
    _decision_notify(enrolment)
    return enrolment


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
