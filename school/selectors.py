from django.db.models import Count, Q, QuerySet

from .models import Guardian, SchoolClass, Student


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


def guardian_children(*, user) -> list[Student]:
    """The students linked to a parent's own guardian record (empty for staff)."""
    if not user.is_authenticated:
        return []
    return list(Student.objects.filter(guardians__user=user).select_related("school_class"))
