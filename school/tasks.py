from celery import shared_task


@shared_task(name="school.tasks.enrolment_decision_notify")
def enrolment_decision_notify(enrolment_id: int) -> None:
    """Tell the requesting parent that their enrolment request was accepted or refused."""
    from accounts.tasks import _system_mail

    from .models import EnrolmentRequest

    enrolment = (EnrolmentRequest.objects
                 .select_related("guardian__user", "student__school_class")
                 .filter(pk=enrolment_id).exclude(status=EnrolmentRequest.Status.PENDING)
                 .first())
    if enrolment is None or enrolment.guardian.user is None:
        return
    name = ("enrolment_accepted" if enrolment.status == EnrolmentRequest.Status.ACCEPTED
            else "enrolment_refused")
    _system_mail(enrolment.guardian.user,
                 subject_template=f"accounts/email/{name}_subject.txt",
                 body_template=f"accounts/email/{name}.txt",
                 context={"enrolment": enrolment})
