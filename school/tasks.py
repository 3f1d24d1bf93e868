"""Celery adapters of the school app (enrolment decisions mailed to parents)."""

from celery import shared_task


@shared_task(name="school.tasks.enrolment_decision_notify")
def enrolment_decision_notify(enrolment_id: int) -> None:
    """Tell the requesting parent that their enrolment request was accepted or refused."""
    from django.conf import settings
    from django.urls import reverse

    from mailing.automated.services import system_mail_to_user

    from .models import EnrolmentRequest

    enrolment = (EnrolmentRequest.objects
                 .select_related("guardian__user", "student__school_class")
                 .filter(pk=enrolment_id).exclude(status=EnrolmentRequest.Status.PENDING)
                 .first())
    if enrolment is None or enrolment.guardian.user is None:
        return
    accepted = enrolment.status == EnrolmentRequest.Status.ACCEPTED
    school_class = enrolment.student.school_class if accepted and enrolment.student else None
    system_mail_to_user(
        "enrolment_accepted" if accepted else "enrolment_refused", enrolment.guardian.user,
        context={"enfant": {"prenom": enrolment.first_name, "nom": enrolment.last_name,
                            "classe": school_class.name if school_class else ""},
                 "motif": enrolment.refusal_reason,
                 "lien": settings.SITE_URL + reverse("portal:home")})
