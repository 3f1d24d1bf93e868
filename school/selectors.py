"""Reads on school data, filtered by what the user may see."""

from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Value, When

from .models import EnrolmentRequest, Guardian, SchoolClass, Student


def class_list() -> QuerySet[SchoolClass]:
    return SchoolClass.objects.annotate(student_count=Count("students"))


def student_list(*, search: str = "", school_class: SchoolClass | None = None
                 ) -> QuerySet[Student]:
    students = Student.objects.select_related("school_class")
    for word in search.split():
        students = students.filter(Q(first_name__icontains=word) | Q(last_name__icontains=word))
    if school_class is not None:
        students = students.filter(school_class=school_class)
    return students


def student_detail_queryset() -> QuerySet[Student]:
    return Student.objects.select_related("school_class").prefetch_related("guardians")


def guardian_list(*, search: str = "") -> QuerySet[Guardian]:
    guardians = Guardian.objects.prefetch_related("students")
    for word in search.split():
        guardians = guardians.filter(
            Q(first_name__icontains=word) | Q(last_name__icontains=word)
            | Q(email__icontains=word) | Q(phone__icontains=word)
        )
    return guardians


def guardian_detail_queryset() -> QuerySet[Guardian]:
    return Guardian.objects.select_related("user").prefetch_related("students__school_class")


def portal_guardian(*, user) -> Guardian | None:
    """A parent's own guardian record: the portal never takes a guardian id from the URL."""
    if not user.is_authenticated:
        return None
    return Guardian.objects.filter(user=user).first()


def guardian_enrolment_requests(*, guardian: Guardian) -> QuerySet[EnrolmentRequest]:
    return guardian.enrolment_requests.select_related("requested_class", "student__school_class")


def enrolment_request_list(*, status: str = "") -> QuerySet[EnrolmentRequest]:
    """Staff list: pending requests first (oldest first, the next to handle), then decided ones,
    most recent decision first."""
    requests = EnrolmentRequest.objects.select_related(
        "guardian", "requested_class", "student__school_class", "decided_by")
    if status:
        requests = requests.filter(status=status)
    pending_first = Case(When(status=EnrolmentRequest.Status.PENDING, then=Value(0)),
                         default=Value(1), output_field=IntegerField())
    # Pending ones have no decision date: among them, the oldest request comes first.
    return requests.order_by(pending_first, F("decided_at").desc(nulls_first=True),
                             "created_at", "pk")


def enrolment_request_detail_queryset() -> QuerySet[EnrolmentRequest]:
    return EnrolmentRequest.objects.select_related(
        "guardian__user", "requested_class", "student__school_class", "decided_by"
    ).prefetch_related("guardian__students__school_class")


def pending_enrolment_count() -> int:
    return EnrolmentRequest.objects.filter(status=EnrolmentRequest.Status.PENDING).count()
