"""Thin views of the account screens: login, reset, sign-up, e-mail change, users."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from eduka.decorators import permission_required

from . import selectors, services
from .forms import (
    LoginForm,
    PasswordResetRequestForm,
    UserCreateForm,
    UserForm,
    UserSearchForm,
    UserSetPasswordForm,
)
from .models import User
from .profiles import profile_permission_labels

MANAGE_USERS = "accounts.manage_users"


def login_locked(request, original_response=None, credentials=None):
    """What django-axes answers while logins are suspended for an account or an address: the
    same page either way, so it tells nothing about whether the account exists."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(request, "accounts/login_locked.html", {"lockout_minutes": minutes},
                  status=429)


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("home")

    def form_valid(self, form):
        messages.success(self.request, _("Your password has been changed."))
        return super().form_valid(form)


def password_reset(request):
    """Same answer, same work, whether the address has an account or not."""
    from eduka.ratelimit import client_ip

    form = PasswordResetRequestForm(request.POST or None, ip=client_ip(request))
    if request.method == "POST" and form.is_valid():
        services.password_reset_request(email=form.cleaned_data["email"])
        return redirect("accounts:password_reset_done")
    return render(request, "accounts/password_reset.html", {"form": form})


@sensitive_post_parameters("password1", "password2")
def signup(request):
    from eduka.ratelimit import client_ip

    from . import signup as signup_service
    from .forms import ParentSignupForm

    form = ParentSignupForm(request.POST or None, ip=client_ip(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        signup_service.parent_register(first_name=data["first_name"],
                                       last_name=data["last_name"], email=data["email"],
                                       phone=data["phone"], password=data["password1"])
        # The same page whether the address was new or already had an account.
        return redirect("accounts:signup_sent")
    return render(request, "accounts/signup.html", {"form": form})


def signup_sent(request):
    return render(request, "accounts/signup_sent.html")


SIGNUP_TOKEN_SESSION_KEY = "_signup_validation_token"  # noqa: S105 (a session key name)


def _token_into_session(request, token: str, *, valid: bool, session_key: str,
                        confirm: str, invalid: str):
    """A link from a mail: the token moves into the session and out of the address bar at
    once, like Django's reset links; the response whose URL holds it sends no Referer."""
    if valid:
        request.session[session_key] = token
    response = redirect(confirm if valid else invalid)
    response["Referrer-Policy"] = "no-referrer"
    return response


def signup_validate(request, token):
    from . import signup as signup_service

    return _token_into_session(
        request, token, valid=signup_service.user_for_token(token) is not None,
        session_key=SIGNUP_TOKEN_SESSION_KEY, confirm="accounts:signup_confirm",
        invalid="accounts:signup_invalid")


def signup_confirm(request):
    """GET shows a button; only the POST activates (mail scanners open links too)."""
    from django.contrib.auth import login

    from . import signup as signup_service

    user = signup_service.user_for_token(request.session.get(SIGNUP_TOKEN_SESSION_KEY, ""))
    if user is None:
        return redirect("accounts:signup_invalid")
    if request.method == "POST":
        user = signup_service.parent_activate(user=user)
        request.session.pop(SIGNUP_TOKEN_SESSION_KEY, None)
        login(request, user, backend="accounts.backends.ProfileBackend")
        messages.success(request, _("Your account is active. Welcome!"))
        return redirect("home")
    return render(request, "accounts/signup_confirm.html", {"account": user})


def signup_invalid(request):
    """Expired, used or tampered links: a clear page and a rate-limited "send me a new link"."""
    from eduka.ratelimit import client_ip

    from . import signup as signup_service
    from .forms import ResendValidationForm

    form = ResendValidationForm(request.POST or None, ip=client_ip(request))
    if request.method == "POST" and form.is_valid():
        signup_service.validation_resend(email=form.cleaned_data["email"])
        return redirect("accounts:signup_sent")
    return render(request, "accounts/signup_invalid.html", {"form": form})


def password_reset_done(request):
    return render(request, "accounts/password_reset_done.html")


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's view: the token leaves the URL after the first request, the link dies once
    used, the validators check the new password, other sessions end with the old hash."""

    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:login")

    def dispatch(self, *args, **kwargs):
        response = super().dispatch(*args, **kwargs)
        if kwargs.get("token") != self.reset_url_token:
            # This response's URL holds the token: it must not leak through a Referer header.
            # (The form page that follows has the token out of its URL; "no-referrer" there
            # would make browsers send "Origin: null" with the form and fail the CSRF check.)
            response["Referrer-Policy"] = "no-referrer"
        return response

    def form_valid(self, form):
        response = super().form_valid(form)
        services.password_reset_notify(user=form.user)
        messages.success(self.request, _("Your password has been changed: you can log in."))
        return response


@require_POST
@permission_required(MANAGE_USERS)
def user_send_reset(request, pk):
    user = get_object_or_404(User, pk=pk)
    services.password_reset_request(email=user.email)
    messages.success(request, _("A password reset link is being sent to %(email)s.")
                     % {"email": user.email})
    return redirect("accounts:user_edit", user.pk)


@login_required
def home(request):
    from school.views_portal import is_parent

    # Parents land on their portal (after login, after activating their account).
    if is_parent(request.user):
        return redirect("portal:home")
    return render(request, "home.html")


@permission_required(MANAGE_USERS)
def user_list(request):
    search = UserSearchForm(request.GET or None)
    filters = search.cleaned_data if search.is_valid() else {}
    users = selectors.user_list(
        search=filters.get("q") or "", profile=filters.get("profile"),
        active=filters.get("active"),
    )
    page = Paginator(users, 25).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "accounts/user_list.html",
                  {"page": page, "search": search, "query": query.urlencode()})


@sensitive_post_parameters("password1", "password2")
@permission_required(MANAGE_USERS)
def user_create(request):
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        user = services.user_create(
            email=data["email"], first_name=data["first_name"], last_name=data["last_name"],
            profile=data["profile"], is_active=data["is_active"], password=data["password1"],
        )
        messages.success(request, _("User %(name)s created.") % {"name": user})
        return redirect("accounts:user_edit", user.pk)
    return render(request, "accounts/user_form.html", {"form": form})


@permission_required(MANAGE_USERS)
def user_edit(request, pk):
    user = get_object_or_404(User.objects.select_related("profile"), pk=pk)
    form = UserForm(request.POST or None, instance=user)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_update(user=user, **form.cleaned_data)
        except services.LastAdministratorError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("accounts:user_edit", user.pk)
    return render(request, "accounts/user_form.html", {"form": form, "edited": user})


@sensitive_post_parameters("password1", "password2")
@permission_required(MANAGE_USERS)
def user_set_password(request, pk):
    user = get_object_or_404(User, pk=pk)
    form = UserSetPasswordForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.user_set_password(user=user, password=form.cleaned_data["password1"])
        messages.success(request, _("The password of %(name)s has been changed.") % {"name": user})
        return redirect("accounts:user_edit", user.pk)
    return render(request, "accounts/user_set_password.html", {"form": form, "edited": user})


@require_POST
@permission_required(MANAGE_USERS)
def user_set_active(request, pk):
    user = get_object_or_404(User.objects.select_related("profile"), pk=pk)
    active = request.POST.get("active") == "1"
    try:
        services.user_set_active(user=user, active=active)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        if active:
            messages.success(request, _("%(name)s can log in again.") % {"name": user})
        else:
            messages.success(request, _("%(name)s has been deactivated.") % {"name": user})
    return redirect("accounts:user_edit", user.pk)


@permission_required(MANAGE_USERS)
def profile_list(request):
    profiles = [(profile, profile_permission_labels(profile))
                for profile in selectors.profile_list()]
    return render(request, "accounts/profile_list.html", {"profiles": profiles})


EMAIL_CHANGE_SESSION_KEY = "_email_change_token"


@sensitive_post_parameters("password")
@login_required
def email_change(request):
    """Ask for a new address. Free or already used, the answer is the same page."""
    from eduka.ratelimit import client_ip

    from .email_change import email_change_request
    from .forms import EmailChangeForm

    form = EmailChangeForm(request.user, request.POST or None, ip=client_ip(request))
    if request.method == "POST" and form.is_valid():
        email_change_request(user=request.user, new_email=form.cleaned_data["new_email"])
        return redirect("accounts:email_change_sent")
    return render(request, "accounts/email_change.html", {"form": form})


@login_required
def email_change_sent(request):
    return render(request, "accounts/email_change_sent.html")


def email_change_validate(request, token):
    from .email_change import change_for_token

    return _token_into_session(
        request, token, valid=change_for_token(token) is not None,
        session_key=EMAIL_CHANGE_SESSION_KEY, confirm="accounts:email_change_confirm",
        invalid="accounts:email_change_invalid")


def email_change_confirm(request):
    """GET shows a button; only the POST changes the address (mail scanners open links too).
    Works without being logged in: the link may be opened on another device."""
    from .email_change import AddressTakenError, change_for_token
    from .email_change import email_change_confirm as confirm

    change = change_for_token(request.session.get(EMAIL_CHANGE_SESSION_KEY, ""))
    if change is None:
        return redirect("accounts:email_change_invalid")
    user, new_email = change
    if request.method == "POST":
        request.session.pop(EMAIL_CHANGE_SESSION_KEY, None)
        try:
            confirm(user=user, new_email=new_email)
        except AddressTakenError:
            return redirect("accounts:email_change_invalid")
        messages.success(request, _("Your e-mail address is now %(email)s.")
                         % {"email": new_email})
        return redirect("home" if request.user.is_authenticated else "accounts:login")
    return render(request, "accounts/email_change_confirm.html",
                  {"account": user, "new_email": new_email})


def email_change_invalid(request):
    return render(request, "accounts/email_change_invalid.html")
