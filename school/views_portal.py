"""The parent portal: a parent's own details, children and enrolment requests.

Every view works on request.user's own guardian record, never on an id from the URL, so a
parent cannot reach another family's data by guessing.
"""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from . import phones, selectors, services
from .forms import EnrolmentRequestForm, GuardianContactForm
from .models import School


def is_parent(user) -> bool:
    from accounts.models import Profile

    return (user.is_authenticated and user.profile_id is not None
            and user.profile.code == Profile.PARENT)


def parent_required(view):
    """Parents only (403 for staff); the view receives the parent's guardian record. A parent
    account not linked to one yet is sent to the portal's home, which explains."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not is_parent(request.user):
            raise PermissionDenied
        guardian = selectors.portal_guardian(user=request.user)
        if guardian is None:
            return redirect("portal:home")
        return view(request, guardian, *args, **kwargs)

    return login_required(wrapped)


def _data(request):
    # Bound on any POST, even an empty one, so that it shows the required-field errors.
    return request.POST if request.method == "POST" else None


@login_required
def portal_home(request):
    if not is_parent(request.user):
        raise PermissionDenied
    guardian = selectors.portal_guardian(user=request.user)
    context = {"guardian": guardian}
    if guardian is not None:
        region = School.current().country
        context["phone_display"] = phones.display(guardian.phone, region)
        context["phone"] = guardian.phone_status(region)
        context["children"] = guardian.students.select_related("school_class")
        context["enrolments"] = selectors.guardian_enrolment_requests(guardian=guardian)
    return render(request, "school/portal/home.html", context)


@parent_required
def portal_details(request, guardian):
    form = GuardianContactForm(_data(request), instance=guardian)
    if request.method == "POST" and form.is_valid():
        services.guardian_update_contact(guardian=guardian, **form.cleaned_data)
        messages.success(request, _("Changes saved."))
        return redirect("portal:home")
    return render(request, "school/portal/details_form.html", {"form": form,
                                                              "guardian": guardian})


@parent_required
def portal_enrolment_create(request, guardian):
    form = EnrolmentRequestForm(_data(request), guardian=guardian)
    if request.method == "POST" and form.is_valid():
        enrolment = services.enrolment_request_create(guardian=guardian, **form.cleaned_data)
        messages.success(request, _("Your enrolment request for %(name)s was sent to the "
                                    "school.") % {"name": enrolment})
        return redirect("portal:home")
    return render(request, "school/portal/enrolment_form.html", {"form": form})
