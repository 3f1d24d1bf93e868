"""Thin views of the school screens and of the parent portal."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from eduka.decorators import permission_required

from . import phones, selectors, services
from .forms import (
    EnrolmentAcceptForm,
    EnrolmentFilterForm,
    EnrolmentRefuseForm,
    GuardianForm,
    MoveStudentsForm,
    SchoolClassForm,
    SchoolForm,
    SearchForm,
    StudentForm,
    StudentSearchForm,
)
from .models import EnrolmentRequest, School, SchoolClass, Student


def _page(request, queryset):
    query = request.GET.copy()
    query.pop("page", None)
    return Paginator(queryset, 25).get_page(request.GET.get("page")), query.urlencode()


def _edit(request, form, *, template, context=None):
    """Validate and save a school-data form; on success go back to the object's page."""
    if request.method == "POST" and form.is_valid():
        obj = services.school_object_save(form=form)
        messages.success(request, _("Changes saved."))
        return redirect(obj)
    return render(request, template, {"form": form, **(context or {})})


@permission_required("school.view_schoolclass")
def class_list(request):
    return render(request, "school/class_list.html", {"classes": selectors.class_list()})


@permission_required("school.view_schoolclass", "school.view_student")
def class_detail(request, pk):
    school_class = get_object_or_404(SchoolClass, pk=pk)
    students = selectors.student_list(school_class=school_class)
    move_form = None
    if request.user.has_perm("school.change_student"):
        move_form = MoveStudentsForm(school_class=school_class)
    return render(request, "school/class_detail.html",
                  {"school_class": school_class, "students": students, "move_form": move_form})


@require_POST
@permission_required("school.change_student")
def class_move_students(request, pk):
    school_class = get_object_or_404(SchoolClass, pk=pk)
    form = MoveStudentsForm(request.POST, school_class=school_class)
    if form.is_valid():
        target = form.cleaned_data["target"]
        moved = services.students_move(
            students=Student.objects.filter(pk__in=[s.pk for s in form.cleaned_data["students"]]),
            target=target)
        messages.success(request, ngettext(
            "%(count)d student moved to %(class)s.", "%(count)d students moved to %(class)s.",
            moved) % {"count": moved, "class": target})
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return redirect("school:class_detail", school_class.pk)


@permission_required("school.add_schoolclass")
def class_create(request):
    form = SchoolClassForm(request.POST or None)
    return _edit(request, form, template="school/class_form.html")


@permission_required("school.change_schoolclass")
def class_edit(request, pk):
    school_class = get_object_or_404(SchoolClass, pk=pk)
    form = SchoolClassForm(request.POST or None, instance=school_class)
    return _edit(request, form, template="school/class_form.html",
                 context={"edited": school_class})


@permission_required("school.view_student")
def student_list(request):
    search = StudentSearchForm(request.GET or None)
    filters = search.cleaned_data if search.is_valid() else {}
    students = selectors.student_list(search=filters.get("q") or "",
                                      school_class=filters.get("school_class"))
    page, query = _page(request, students)
    return render(request, "school/student_list.html",
                  {"page": page, "search": search, "query": query})


@permission_required("school.view_student")
def student_detail(request, pk):
    student = get_object_or_404(selectors.student_detail_queryset(), pk=pk)
    return render(request, "school/student_detail.html", {"student": student})


@permission_required("school.add_student")
def student_create(request):
    form = StudentForm(request.POST or None, initial={"school_class": request.GET.get("class")})
    return _edit(request, form, template="school/student_form.html")


@permission_required("school.change_student")
def student_edit(request, pk):
    student = get_object_or_404(selectors.student_detail_queryset(), pk=pk)
    form = StudentForm(request.POST or None, instance=student)
    return _edit(request, form, template="school/student_form.html", context={"edited": student})


@permission_required("school.view_guardian")
def guardian_list(request):
    search = SearchForm(request.GET or None)
    filters = search.cleaned_data if search.is_valid() else {}
    page, query = _page(request, selectors.guardian_list(search=filters.get("q") or ""))
    return render(request, "school/guardian_list.html",
                  {"page": page, "search": search, "query": query})


@permission_required("school.view_guardian")
def guardian_detail(request, pk):
    guardian = get_object_or_404(selectors.guardian_detail_queryset(), pk=pk)
    region = School.current().country
    return render(request, "school/guardian_detail.html", {
        "guardian": guardian, "phone": guardian.phone_status(region),
        "phone_display": phones.display(guardian.phone, region)})


@permission_required("school.add_guardian")
def guardian_create(request):
    form = GuardianForm(request.POST or None)
    return _edit(request, form, template="school/guardian_form.html")


@permission_required("school.change_guardian")
def guardian_edit(request, pk):
    guardian = get_object_or_404(selectors.guardian_detail_queryset(), pk=pk)
    form = GuardianForm(request.POST or None, instance=guardian)
    return _edit(request, form, template="school/guardian_form.html",
                 context={"edited": guardian})


@permission_required("school.change_school")
def school_edit(request):
    school = School.objects.order_by("pk").first() or School()
    form = SchoolForm(request.POST or None, instance=school)
    if request.method == "POST" and form.is_valid():
        services.school_object_save(form=form)
        messages.success(request, _("Changes saved."))
        return redirect("school:school_edit")
    return render(request, "school/school_form.html", {"form": form})


@permission_required("school.view_enrolmentrequest")
def enrolment_list(request):
    search = EnrolmentFilterForm(request.GET or None)
    status = search.cleaned_data.get("status", "") if search.is_valid() else ""
    page, query = _page(request, selectors.enrolment_request_list(status=status))
    return render(request, "school/enrolment_list.html",
                  {"page": page, "search": search, "query": query})


@permission_required("school.view_enrolmentrequest")
def enrolment_detail(request, pk, accept_form=None, refuse_form=None):
    enrolment = get_object_or_404(selectors.enrolment_request_detail_queryset(), pk=pk)
    context = {"enrolment": enrolment}
    if enrolment.is_pending and request.user.has_perm("school.process_enrolmentrequest"):
        context["accept_form"] = accept_form or EnrolmentAcceptForm(
            initial={"school_class": enrolment.requested_class_id})
        context["refuse_form"] = refuse_form or EnrolmentRefuseForm()
    return render(request, "school/enrolment_detail.html", context)


@require_POST
@permission_required("school.process_enrolmentrequest")
def enrolment_accept(request, pk):
    enrolment = get_object_or_404(EnrolmentRequest, pk=pk)
    form = EnrolmentAcceptForm(request.POST)
    if not form.is_valid():
        return enrolment_detail(request, pk, accept_form=form)
    accepted = services.enrolment_request_accept(
        enrolment_id=enrolment.pk, decided_by=request.user,
        school_class=form.cleaned_data["school_class"])
    if accepted is None:
        messages.error(request, _("This request was already decided."))
        return redirect(enrolment)
    messages.success(request, _("%(name)s is enrolled in %(class)s.")
                     % {"name": accepted.student, "class": accepted.student.school_class})
    return redirect(accepted.student)


@require_POST
@permission_required("school.process_enrolmentrequest")
def enrolment_refuse(request, pk):
    enrolment = get_object_or_404(EnrolmentRequest, pk=pk)
    form = EnrolmentRefuseForm(request.POST)
    if not form.is_valid():
        return enrolment_detail(request, pk, refuse_form=form)
    refused = services.enrolment_request_refuse(
        enrolment_id=enrolment.pk, decided_by=request.user, reason=form.cleaned_data["reason"])
    if refused is None:
        messages.error(request, _("This request was already decided."))
    else:
        messages.success(request, _("The request was refused; the parent is being told."))
    return redirect(enrolment)
